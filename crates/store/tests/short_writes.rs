//! An import holds SQLite's write lock only for its writes: while it reads, checks and stages
//! its file, another connection that waits for no lock at all (`busy_timeout = 0`) still writes —
//! as a web session or an incident form does during a big import. A model that the other
//! connection registers meanwhile is the one the import then uses. PostgreSQL runs the same
//! import in one transaction; the same test holds there.

use chrono::NaiveDate;
use gigaops_ingest::table::Table;
use gigaops_store::entity::{device, device_model, usage_month};
use gigaops_store::imports::ImportSource;
use gigaops_store::testing::{fresh_url, maebashi_with_schools, Backend, BACKENDS};
use gigaops_store::{fleet, Store};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use sqlx::Connection;

const SCHOOL: &str = "B110210000017";
const NEW_MODEL: &str = "Chromebook Z1";

/// On its own thread and runtime, with a new connection that waits for no lock, runs `sql` (no
/// parameters; `$` placeholders are not used) in a transaction and commits. Returns the
/// database's error, if any.
fn write_elsewhere(backend: Backend, url: &str, sql: String) -> Result<(), String> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let e = |e: sqlx::Error| e.to_string();
            match backend {
                Backend::Sqlite => {
                    let mut c = sqlx::SqliteConnection::connect(&url).await.map_err(e)?;
                    sqlx::query("PRAGMA busy_timeout = 0").execute(&mut c).await.map_err(e)?;
                    let mut tx = c.begin_with("BEGIN IMMEDIATE").await.map_err(e)?;
                    sqlx::query(&sql).execute(&mut *tx).await.map_err(e)?;
                    tx.commit().await.map_err(e)
                }
                Backend::Postgres => {
                    let mut c = sqlx::PgConnection::connect(&url).await.map_err(e)?;
                    sqlx::query("SET lock_timeout = '1ms'").execute(&mut c).await.map_err(e)?;
                    sqlx::query(&sql).execute(&mut c).await.map(|_| ()).map_err(e)
                }
            }
        })
    })
    .join()
    .expect("writer thread")
}

/// Registers [`NEW_MODEL`] in `municipality_id` from another connection ([`write_elsewhere`]).
fn add_model_elsewhere(backend: Backend, url: &str, municipality_id: i64) -> Result<(), String> {
    let sql = format!(
        "INSERT INTO device_model (municipality_id, name, model_group) VALUES ({municipality_id}, '{NEW_MODEL}', 'Chromebook')"
    );
    write_elsewhere(backend, url, sql)
}

/// Adds a municipality `code` from another connection ([`write_elsewhere`]): any short write.
fn short_write_elsewhere(backend: Backend, url: &str, code: &str) -> Result<(), String> {
    write_elsewhere(
        backend,
        url,
        format!("INSERT INTO municipality (code, name, created_at) VALUES ('{code}', '{code}', CURRENT_TIMESTAMP)"),
    )
}

fn src(dry_run: bool) -> ImportSource {
    ImportSource {
        file_name: "inventory.csv".into(),
        file_sha256: String::new(),
        imported_by: Some("test".into()),
        dry_run,
        run_id: None,
    }
}

/// 200 devices of [`NEW_MODEL`] (a model the register does not know yet, with its group).
fn inventory() -> Table {
    let headers = ["serial_number", "model", "model_group", "school_code"].map(String::from).to_vec();
    let rows =
        (0..200).map(|i| vec![format!("SN{i:06}"), NEW_MODEL.into(), "Chromebook".into(), SCHOOL.into()]).collect();
    Table::from_rows("inventory.csv", headers, rows)
}

#[tokio::test]
async fn another_connection_writes_while_an_import_reads_its_file_on_both_backends() {
    for b in BACKENDS {
        let url = fresh_url(b).await;
        let store = Store::connect(&url).await.unwrap();
        let m = maebashi_with_schools(&store).await;
        let as_of = NaiveDate::from_ymd_opt(2024, 4, 1).unwrap();

        // a preview: the other connection writes in the middle of the file, and nothing is written
        let mut table = inventory();
        let mut during = Vec::new();
        let records = gigaops_ingest::devices::read(&mut table).unwrap().inspect(|r| {
            if r.as_ref().is_ok_and(|r| r.row == 100) {
                during.push(add_model_elsewhere(b, &url, m));
            }
        });
        let out = fleet::devices::import(&store, m, &src(true), records, as_of, |_| {}).await.unwrap();
        assert_eq!(during, vec![Ok(())], "[{b:?}] a write during a preview");
        assert_eq!(out.inserted, 200, "[{b:?}]");
        assert!(device::Entity::find().all(&store.db).await.unwrap().is_empty(), "[{b:?}] a preview writes nothing");
        let models = device_model::Entity::find().filter(device_model::Column::Name.eq(NEW_MODEL)).all(&store.db);
        assert_eq!(models.await.unwrap().len(), 1, "[{b:?}] the other connection's model is kept");
        device_model::Entity::delete_many().exec(&store.db).await.unwrap();

        // the import: the other connection writes while the file is read; the import then takes
        // the model the other connection registered instead of registering it twice
        let mut table = inventory();
        let mut during = Vec::new();
        let records = gigaops_ingest::devices::read(&mut table).unwrap().inspect(|r| {
            if r.as_ref().is_ok_and(|r| r.row == 100) {
                during.push(add_model_elsewhere(b, &url, m));
            }
        });
        let out = fleet::devices::import(&store, m, &src(false), records, as_of, |_| {}).await.unwrap();
        assert_eq!(during, vec![Ok(())], "[{b:?}] a write during an import's reading");
        assert_eq!(out.inserted, 200, "[{b:?}]");
        let models =
            device_model::Entity::find().filter(device_model::Column::Name.eq(NEW_MODEL)).all(&store.db).await.unwrap();
        assert_eq!(models.len(), 1, "[{b:?}] one model of that name");
        let devices = device::Entity::find().all(&store.db).await.unwrap();
        assert_eq!(devices.len(), 200, "[{b:?}]");
        assert!(devices.iter().all(|d| d.model_id == models[0].id), "[{b:?}] every device has the model");

        // and while the import holds the write lock, the same writer is refused at once (SQLite)
        // — so the writes above really did happen before the import took it
        if b == Backend::Sqlite {
            let mut holder = store.db.get_sqlite_connection_pool().acquire().await.unwrap();
            sqlx::query("BEGIN IMMEDIATE").execute(&mut *holder).await.unwrap();
            let refused = short_write_elsewhere(b, &url, "locked-out");
            assert!(refused.as_ref().is_err_and(|e| e.contains("locked")), "[{b:?}] {refused:?}");
            sqlx::query("ROLLBACK").execute(&mut *holder).await.unwrap();
        }
    }
}

/// `n` lines of the first Maebashi school, `08000000000`, `08000000001`, …
fn lines_file(n: usize) -> Table {
    let headers = ["line_id", "school_code", "active_from", "allowance_gb"].map(String::from).to_vec();
    let rows = (0..n).map(|i| vec![format!("080{i:08}"), SCHOOL.into(), "2022-04-01".into(), "5".into()]).collect();
    Table::from_rows("lines.csv", headers, rows)
}

/// One month of usage of [`lines_file`]'s lines: `i` MB on line `i`.
fn usage_file(n: usize, month: &str) -> Table {
    let headers = ["line_id", "month", "usage_mb"].map(String::from).to_vec();
    let rows = (0..n).map(|i| vec![format!("080{i:08}"), month.into(), i.to_string()]).collect();
    Table::from_rows("usage.csv", headers, rows)
}

#[tokio::test]
async fn another_connection_writes_while_lines_and_usage_are_read_on_both_backends() {
    use gigaops_store::usage::{import_lines, import_usage, UsageColumns};
    let latest: gigaops_domain::YearMonth = "2026-12".parse().unwrap();
    for b in BACKENDS {
        let url = fresh_url(b).await;
        let store = Store::connect(&url).await.unwrap();
        let m = maebashi_with_schools(&store).await;
        let mut during = Vec::new();

        let mut table = lines_file(200);
        let records = gigaops_ingest::usage::read_lines(&mut table).unwrap().inspect(|r| {
            if r.as_ref().is_ok_and(|r| r.row == 100) {
                during.push(short_write_elsewhere(b, &url, "during-lines"));
            }
        });
        let out = import_lines(&store, m, &src(false), records, |_| {}).await.unwrap();
        assert_eq!(out.inserted, 200, "[{b:?}] lines");

        // two usage imports: a fresh month (rows written straight from the file on PostgreSQL,
        // through a temp table on SQLite) and a month already stored (compared, then replaced)
        let cols = UsageColumns { line: "line_id".into(), month: "month".into(), usage: "usage_mb".into() };
        for (i, replace) in [(0, false), (1, true)] {
            let mut table = usage_file(200, "2022-09");
            if replace {
                table = Table::from_rows(
                    "usage.csv",
                    table.headers.clone(),
                    (0..200).map(|i| vec![format!("080{i:08}"), "2022-09".into(), (i * 2).to_string()]).collect(),
                );
            }
            let (_, records) = gigaops_ingest::usage::read_usage(&mut table, None, latest).unwrap();
            let records = records.inspect(|r| {
                if r.as_ref().is_ok_and(|r| r.row == 100) {
                    during.push(short_write_elsewhere(b, &url, &format!("during-usage-{i}")));
                }
            });
            let out = import_usage(&store, m, &src(false), &cols, records, replace, |_| {}).await.unwrap();
            assert_eq!((out.inserted, out.updated), if replace { (0, 199) } else { (200, 0) }, "[{b:?}] usage {i}");
        }
        assert_eq!(during, vec![Ok(()), Ok(()), Ok(())], "[{b:?}] writes while lines and usage were read");
        let stored = usage_month::Entity::find().filter(usage_month::Column::MunicipalityId.eq(m)).all(&store.db);
        let total: i64 = stored.await.unwrap().iter().map(|u| u.bytes).sum();
        // 2 × (0 + 1 + … + 199) MB
        assert_eq!(total, 2 * (199 * 200 / 2) * 1_000_000, "[{b:?}] the replaced month as in the second file");
    }
}
