//! LTE usage storage on both backends: lines and usage imports (units, daily sums, bad input,
//! idempotency, --replace), the capacity query, and the escalation runs (order, idempotency,
//! stale months after a correction, missing data, work items).

use gigaops_domain::usage::{gb, EscalationPolicy};
use gigaops_domain::YearMonth;
use gigaops_ingest::ImportKind;
use gigaops_store::imports::{ImportOptions, ImportOutcome};
use gigaops_store::testing::{self, fresh_store, BACKENDS};
use gigaops_store::usage::{escalation, queries};
use gigaops_store::{Store, StoreError};
use std::path::{Path, PathBuf};

#[path = "usage/aggregate.rs"]
mod aggregate;

fn ym(s: &str) -> YearMonth {
    s.parse().unwrap()
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

async fn lines(store: &Store, m: i64, p: &Path) -> Result<ImportOutcome, StoreError> {
    testing::import(store, m, ImportKind::Lines, p, ImportOptions::default()).await
}

/// The options of a usage import: a carrier mapping (file name, TOML text) and `--replace`.
fn usage_options(mapping: Option<(&str, &str)>, replace: bool) -> ImportOptions {
    ImportOptions { mapping: mapping.map(|(n, t)| (n.into(), t.into())), replace, ..Default::default() }
}

async fn import(
    store: &Store,
    m: i64,
    p: &Path,
    mapping: Option<(&str, &str)>,
    replace: bool,
) -> Result<ImportOutcome, StoreError> {
    testing::import(store, m, ImportKind::Usage, p, usage_options(mapping, replace)).await
}

async fn import_dry(store: &Store, m: i64, p: &Path) -> Result<ImportOutcome, StoreError> {
    testing::import_dry(store, m, ImportKind::Usage, p, usage_options(None, false)).await
}

const LINES: &str = "line_id,school_code,device_serial,pupil_id,allowance_gb,active_from,active_to
070-0000-0001,B110210000017,SER1,P1,5,2021-04-01,
07000000002,B110210000017,SER2,P2,5,2021-04-01,
07000000003,B110210000026,SER3,P3,5,2021-04-01,2022-08-31
07000000004,B110210000026,SER4,P4,7,2022-09-15,
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_import_is_checked_and_idempotent_and_capacity_counts_active_lines() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let m = testing::maebashi_with_schools(&store).await;
        let dir = tempfile::tempdir().unwrap();
        let bad = write(
            &dir,
            "bad.csv",
            "line_id,school_code,active_from,active_to\n07000000001,B110210000017,2022-05-01,2022-04-30\n\
             07000000002,B199999999990,2022-05-01,\n",
        );
        let e = lines(&store, m, &bad).await.unwrap_err().to_string();
        assert!(e.contains("bad.csv:2:active_to: 2022-04-30 — 利用開始日（2022-05-01）以降の日付"), "{b:?} {e}");
        let bad2 = write(&dir, "bad2.csv", "line_id,school_code,active_from\n07000000002,B110210000999,2022-05-01\n");
        let e = lines(&store, m, &bad2).await.unwrap_err().to_string();
        assert!(e.contains("bad2.csv:2:school_code: B110210000999 — 登録済みの学校コード"), "{b:?} {e}");
        // a line id given twice is found by the store, alone or next to another bad row
        let twice = "line_id,school_code,active_from,active_to\n07000000001,B110210000017,2022-05-01,\n\
                     070-0000-0001,B110210000017,2022-05-01,\n";
        let dup = write(&dir, "dup.csv", twice);
        let e = lines(&store, m, &dup).await.unwrap_err().to_string();
        assert!(e.contains("dup.csv:3:line_id: 07000000001 — 重複しない回線番号（2行目と同じです）"), "{b:?} {e}");
        let dup2 = write(&dir, "dup2.csv", &format!("{twice}07000000002,B110210000017,2022-05-01,2022-04-30\n"));
        let e = lines(&store, m, &dup2).await.unwrap_err().to_string();
        assert!(e.contains("dup2.csv:3:line_id: 07000000001 — 重複しない回線番号（2行目と同じです）"), "{b:?} {e}");
        assert!(e.contains("dup2.csv:4:active_to: 2022-04-30"), "{b:?} {e}");

        let p = write(&dir, "lines.csv", LINES);
        let o = lines(&store, m, &p).await.unwrap();
        assert_eq!((o.rows, o.inserted, o.updated, o.unchanged), (4, 4, 0, 0), "{b:?}");
        let again = lines(&store, m, &p).await.unwrap();
        assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 4), "{b:?} idempotent");
        let changed = write(&dir, "lines2.csv", &LINES.replace("SER2,P2,5", "SER2,P2,6"));
        let o = lines(&store, m, &changed).await.unwrap();
        assert_eq!((o.inserted, o.updated, o.unchanged), (0, 1, 3), "{b:?}");

        let cap = queries::capacity(&store, m, ym("2022-08"), ym("2022-10"), false).await.unwrap();
        // August: lines 1–3 (5+6+5 GB); September: 1, 2 and 4 (from the 15th): 5+6+7; October the same
        assert_eq!(cap[0].active_lines, 3, "{b:?}");
        assert_eq!(cap[0].capacity_bytes, gb(16));
        assert_eq!((cap[1].active_lines, cap[1].capacity_bytes), (3, gb(18)), "{b:?}");
        let by_school = queries::capacity(&store, m, ym("2022-09"), ym("2022-09"), true).await.unwrap();
        assert_eq!(by_school.len(), 2);
        assert_eq!(by_school[0].school_code.as_deref(), Some("B110210000017"));
        assert_eq!(by_school[0].capacity_bytes, gb(11));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_import_units_daily_sums_bad_input_and_replace() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let m = testing::maebashi_with_schools(&store).await;
        let dir = tempfile::tempdir().unwrap();
        lines(&store, m, &write(&dir, "lines.csv", LINES)).await.unwrap();

        // bad rows: every problem reported, nothing written
        let bad = write(
            &dir,
            "bad.csv",
            "line_id,month,usage_gb\n07000000001,2022-09,-1\n07000000009,2022-09,1\n07000000002,2022-09,1\n\
             07000000002,2022-09,2\n",
        );
        let e = import(&store, m, &bad, None, false).await.unwrap_err().to_string();
        assert!(e.contains("bad.csv:2:usage_gb: -1 — "), "{b:?} {e}");
        let bad = write(
            &dir,
            "bad2.csv",
            "line_id,month,usage_gb\n07000000009,2022-09,1\n07000000002,2022-09,1\n07000000002,2022-09,2\n",
        );
        let e = import(&store, m, &bad, None, false).await.unwrap_err().to_string();
        assert!(e.contains("bad2.csv:2:line_id: 07000000009 — 登録済みの回線"), "{b:?} {e}");
        assert!(e.contains("bad2.csv:4:line_id: 07000000002 — 同じ回線・同じ月の行は 1 行だけ（3行目"), "{b:?} {e}");
        let cap = queries::capacity(&store, m, ym("2022-09"), ym("2022-09"), false).await.unwrap();
        assert_eq!(cap[0].usage_bytes, 0, "{b:?} nothing written");

        // monthly in GB, daily in MB summed into the month
        let sep = write(&dir, "sep.csv", "line_id,month,usage_gb\n07000000001,2022-09,1.5\n07000000002,2022-09,0.25\n");
        let o = import(&store, m, &sep, None, false).await.unwrap();
        assert_eq!((o.rows, o.inserted), (2, 2), "{b:?}");
        let daily = write(
            &dir,
            "daily.csv",
            "回線番号,利用日,データ通信量（MB）\n07000000001,2022-10-01,100\n07000000001,2022-10-02,250.5\n\
             07000000002,2022-10-01,1\n",
        );
        let o = import(&store, m, &daily, None, false).await.unwrap();
        assert_eq!((o.rows, o.inserted), (3, 2), "{b:?}");
        let cap = queries::capacity(&store, m, ym("2022-09"), ym("2022-10"), false).await.unwrap();
        assert_eq!(cap[0].usage_bytes, 1_750_000_000, "{b:?}");
        assert_eq!(cap[1].usage_bytes, 351_500_000, "{b:?}");

        // same file again: unchanged; a different value: rejected unless --replace
        let o = import(&store, m, &sep, None, false).await.unwrap();
        assert_eq!((o.inserted, o.updated, o.unchanged), (0, 0, 2), "{b:?}");
        let fix = write(&dir, "fix.csv", "line_id,month,usage_gb\n07000000001,2022-09,2\n");
        let e = import(&store, m, &fix, None, false).await.unwrap_err().to_string();
        assert!(e.contains("fix.csv:2:usage_gb: 2 GB — 取込済みの 2022-09 の値（1.5 GB）"), "{b:?} {e}");
        let o = import(&store, m, &fix, None, true).await.unwrap();
        assert_eq!((o.updated, o.unchanged), (1, 0), "{b:?}");
        let cap = queries::capacity(&store, m, ym("2022-09"), ym("2022-09"), false).await.unwrap();
        assert_eq!(cap[0].usage_bytes, 2_250_000_000, "{b:?}");

        // a carrier file through a mapping
        let mapping = ("map.toml", "line_id = \"電話番号\"\nmonth = \"利用年月\"\nusage = \"通信量\"\nunit = \"kb\"\n");
        let carrier = write(&dir, "carrier.csv", "電話番号,利用年月,通信量\n070-0000-0001,202211,1000\n");
        let o = import(&store, m, &carrier, Some(mapping), false).await.unwrap();
        assert_eq!(o.inserted, 1, "{b:?}");
        let cap = queries::capacity(&store, m, ym("2022-11"), ym("2022-11"), false).await.unwrap();
        assert_eq!(cap[0].usage_bytes, 1_000_000, "{b:?}");

        // one file with a stored month (unchanged) and a new one; a duplicate in the new month
        // names its first row even when the rows of the new month go straight to the register
        let mixed = "line_id,month,usage_gb\n07000000001,2022-09,2\n07000000001,2022-12,3\n07000000002,2022-12,4\n";
        let dup = write(&dir, "dup.csv", &format!("{mixed}07000000002,2022-12,4\n"));
        let e = import(&store, m, &dup, None, false).await.unwrap_err().to_string();
        assert!(e.contains("dup.csv:5:line_id: 07000000002 — 同じ回線・同じ月の行は 1 行だけ（4行目"), "{b:?} {e}");
        let mixed = write(&dir, "mixed.csv", mixed);
        let o = import_dry(&store, m, &mixed).await.unwrap();
        assert_eq!((o.rows, o.inserted, o.unchanged), (3, 2, 1), "{b:?} dry run counts");
        let cap = queries::capacity(&store, m, ym("2022-12"), ym("2022-12"), false).await.unwrap();
        assert_eq!(cap[0].usage_bytes, 0, "{b:?} a dry run writes nothing");
        let o = import(&store, m, &mixed, None, false).await.unwrap();
        assert_eq!((o.rows, o.inserted, o.updated, o.unchanged), (3, 2, 0, 1), "{b:?}");
        let cap = queries::capacity(&store, m, ym("2022-09"), ym("2022-12"), false).await.unwrap();
        assert_eq!((cap[0].usage_bytes, cap[3].usage_bytes), (2_250_000_000, 7_000_000_000), "{b:?}");
        let o = import(&store, m, &mixed, None, false).await.unwrap();
        assert_eq!((o.inserted, o.unchanged), (0, 3), "{b:?} re-import changes nothing");
    }
}

/// Usage file for one month: (line suffix, GB).
fn month_file(dir: &tempfile::TempDir, month: &str, rows: &[(u8, f64)]) -> PathBuf {
    let mut s = String::from("line_id,month,usage_gb\n");
    for (l, g) in rows {
        s.push_str(&format!("0700000000{l},{month},{g}\n"));
    }
    write(dir, &format!("u-{month}.csv"), &s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_runs_in_order_idempotently_and_notices_corrections() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let m = testing::maebashi_with_schools(&store).await;
        let dir = tempfile::tempdir().unwrap();
        lines(&store, m, &write(&dir, "lines.csv", LINES)).await.unwrap();
        assert_eq!(escalation::policy(&store, m).await.unwrap(), EscalationPolicy::maebashi());
        // line 1: 120 in Aug (not evaluated) and 100 in Sep → opens in September (consecutive rule)
        // line 2: 250 in Sep → opens; 10 in Oct → improved
        // line 3: 150 in September alone (5 in August) → nothing
        import(&store, m, &month_file(&dir, "2022-08", &[(1, 120.0), (2, 1.0), (3, 5.0)]), None, false).await.unwrap();
        import(&store, m, &month_file(&dir, "2022-09", &[(1, 100.0), (2, 250.0), (3, 150.0)]), None, false)
            .await
            .unwrap();
        import(&store, m, &month_file(&dir, "2022-10", &[(2, 10.0), (3, 5.0)]), None, false).await.unwrap();

        let e = escalation::run(&store, m, ym("2022-08"), None).await.unwrap_err().to_string();
        assert!(e.contains("適用開始月（2022-09）より前"), "{b:?} {e}");
        let e = escalation::run(&store, m, ym("2022-10"), None).await.unwrap_err().to_string();
        assert!(e.contains("2022-09 がまだ判定されていません"), "{b:?} {e}");
        let e = escalation::run(&store, m, ym("2022-11"), None).await.unwrap_err().to_string();
        assert!(e.contains("2022-10 がまだ判定されていません"), "{b:?} {e}");

        let sep = escalation::run(&store, m, ym("2022-09"), Some("t")).await.unwrap();
        assert_eq!((sep.summary.new_cases, sep.changed), (2, true), "{b:?}");
        let again = escalation::run(&store, m, ym("2022-09"), Some("t")).await.unwrap();
        assert_eq!(again.summary, sep.summary, "{b:?} idempotent");
        assert!(!again.changed);

        // October: line 1 has no row → missing data, its case stays at ①; line 2 improved
        let oct = escalation::run(&store, m, ym("2022-10"), None).await.unwrap();
        assert_eq!((oct.summary.missing_data, oct.summary.improved, oct.summary.new_cases), (1, 1, 0), "{b:?}");
        let e = escalation::run(&store, m, ym("2022-12"), None).await.unwrap_err().to_string();
        assert!(e.contains("2022-11 がまだ判定されていません"), "{b:?} {e}");

        // a correction of September's usage marks September and October stale
        import(&store, m, &month_file(&dir, "2022-09", &[(1, 99.0), (2, 250.0), (3, 150.0)]), None, true)
            .await
            .unwrap();
        assert!(escalation::runs(&store, m).await.unwrap().iter().all(|r| r.stale), "{b:?}");
        let e = escalation::run(&store, m, ym("2022-10"), None).await.unwrap_err().to_string();
        assert!(e.contains("2022-09 の判定後に通信量が訂正されています"), "{b:?} {e}");
        let sep2 = escalation::run(&store, m, ym("2022-09"), None).await.unwrap();
        assert_eq!(sep2.summary.new_cases, 1, "{b:?} line 1 no longer meets the criteria");
        assert_eq!(sep2.invalidated, vec!["2022-10".to_string()], "{b:?}");
        let runs = escalation::runs(&store, m).await.unwrap();
        assert_eq!(runs.len(), 1, "{b:?} October removed");
        assert!(!runs[0].stale);
        let oct2 = escalation::run(&store, m, ym("2022-10"), None).await.unwrap();
        assert_eq!((oct2.summary.missing_data, oct2.summary.improved), (0, 1), "{b:?}");

        // work items: step ① of September is an MDM message for the device
        let items = queries::work_items(&store, m, ym("2022-09"), None).await.unwrap();
        assert_eq!(items.len(), 1, "{b:?}");
        assert_eq!((items[0].audience.as_str(), items[0].device_serial.as_deref()), ("device", Some("SER2")));
        assert_eq!(queries::mark_done(&store, m, &[items[0].id], "staff@example.jp").await.unwrap(), 1);
        assert_eq!(queries::mark_done(&store, m, &[items[0].id], "other@example.jp").await.unwrap(), 0);
        let hist = queries::case_history(&store, m, items[0].case_id).await.unwrap();
        assert_eq!(hist.len(), 2, "{b:?} opened, improved");
        assert_eq!(hist[0].done_by.as_deref(), Some("staff@example.jp"));
        assert_eq!(hist[1].kind, "improved");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_is_stored_and_guarded_once_months_are_run() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let m = testing::maebashi_with_schools(&store).await;
        let dir = tempfile::tempdir().unwrap();
        lines(&store, m, &write(&dir, "lines.csv", LINES)).await.unwrap();
        let mut p = EscalationPolicy::maebashi();
        p.single_month_bytes = gb(150);
        escalation::set_policy(&store, m, &p, Some("admin")).await.unwrap();
        assert_eq!(escalation::policy(&store, m).await.unwrap().single_month_bytes, gb(150), "{b:?}");
        p.consecutive_months = 0;
        assert!(escalation::set_policy(&store, m, &p, None).await.is_err());
        p.consecutive_months = 2;
        import(&store, m, &month_file(&dir, "2022-09", &[(1, 160.0)]), None, false).await.unwrap();
        let r = escalation::run(&store, m, ym("2022-09"), None).await.unwrap();
        assert_eq!(r.summary.new_cases, 1, "{b:?} 160 GB ≥ 150 GB");
        p.single_month_bytes = gb(200);
        let e = escalation::set_policy(&store, m, &p, None).await.unwrap_err().to_string();
        assert!(e.contains("2022-09 から判定済み"), "{b:?} {e}");
        p.single_month_bytes = gb(150);
        p.steps[0].name = "お知らせ".into();
        escalation::set_policy(&store, m, &p, None).await.unwrap();
    }
}

/// The month partitions on PostgreSQL (`usage::partition`, names of the partitions); empty on SQLite.
async fn partitions(store: &Store) -> Vec<String> {
    use sea_orm::ConnectionTrait;
    if store.backend() != sea_orm::DbBackend::Postgres {
        return vec![];
    }
    let sql = "SELECT c.relname::TEXT AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
               WHERE i.inhparent = 'usage_month'::regclass ORDER BY 1";
    let rows = store.db.query_all(sea_orm::Statement::from_string(store.backend(), sql)).await.unwrap();
    rows.iter().map(|r| r.try_get::<String>("", "name").unwrap()).collect()
}

/// Migration m0006 keeps the stored rows; on PostgreSQL a month new to the database gets a
/// partition of its own, which then holds every municipality's rows of that month; a dry run or a
/// file with an error leaves none behind. The figures are the same on SQLite (one table).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn month_partitions_keep_rows_and_take_every_municipality() {
    use sea_orm::ConnectionTrait;
    use sea_orm_migration::MigratorTrait;
    for b in BACKENDS {
        // rows stored before m0006
        let url = testing::fresh_url(b).await;
        let db = sea_orm::Database::connect(&url).await.unwrap();
        gigaops_store::migration::Migrator::up(&db, Some(5)).await.unwrap();
        db.execute_unprepared(
            "INSERT INTO usage_month (municipality_id, month, line_id, bytes) \
             VALUES (99, '2021-01', 1, 10), (99, '2021-02', 1, 20), (98, '2021-01', 2, 30)",
        )
        .await
        .unwrap();
        db.close().await.unwrap();
        let store = Store::connect(&url).await.unwrap();
        let kept = store
            .db
            .query_one(sea_orm::Statement::from_string(
                store.backend(),
                "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(SUM(bytes) AS BIGINT) AS total FROM usage_month",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((kept.try_get::<i64>("", "n").unwrap(), kept.try_get::<i64>("", "total").unwrap()), (3, 60));
        let pg = b == testing::Backend::Postgres;
        let expect = |names: &[&str]| if pg { names.iter().map(|s| s.to_string()).collect() } else { vec![] };
        assert_eq!(partitions(&store).await, expect(&["usage_month_2021_01", "usage_month_2021_02"]), "{b:?}");

        // two municipalities with the same line numbers
        let dir = tempfile::tempdir().unwrap();
        let m = testing::maebashi_with_schools(&store).await;
        let other = gigaops_store::municipalities::ensure(&store, "other", "他市教育委員会").await.unwrap().id;
        let schools =
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/maebashi-fy2022/schools-maebashi.csv"));
        testing::import(&store, other, ImportKind::Schools, &schools, ImportOptions::default()).await.unwrap();
        let lines_csv = write(&dir, "lines.csv", LINES);
        lines(&store, m, &lines_csv).await.unwrap();
        lines(&store, other, &lines_csv).await.unwrap();

        // a month new to the database, then the other municipality's rows of it
        let sep = month_file(&dir, "2022-09", &[(1, 1.0), (2, 2.0)]);
        assert_eq!(import(&store, m, &sep, None, false).await.unwrap().inserted, 2, "{b:?}");
        let sep_other = month_file(&dir, "2022-09", &[(1, 10.0), (2, 20.0), (3, 30.0)]);
        assert_eq!(import(&store, other, &sep_other, None, false).await.unwrap().inserted, 3, "{b:?}");
        let usage = |muni: i64, month: &'static str| {
            let store = &store;
            async move { queries::capacity(store, muni, ym(month), ym(month), false).await.unwrap()[0].usage_bytes }
        };
        assert_eq!((usage(m, "2022-09").await, usage(other, "2022-09").await), (3_000_000_000, 60_000_000_000));
        assert_eq!(
            partitions(&store).await,
            expect(&["usage_month_2021_01", "usage_month_2021_02", "usage_month_2022_09"]),
            "{b:?}"
        );

        // two new months in one file: a dry run or an error leaves no partition, the import makes both
        let two = "line_id,month,usage_gb\n07000000001,2022-10,1\n07000000001,2022-11,2\n07000000002,2022-10,3\n";
        let bad = write(&dir, "bad.csv", &format!("{two}07000000009,2022-11,1\n"));
        let e = import(&store, m, &bad, None, false).await.unwrap_err().to_string();
        assert!(e.contains("bad.csv:5:line_id: 07000000009 — 登録済みの回線"), "{b:?} {e}");
        let two = write(&dir, "two.csv", two);
        assert_eq!(import_dry(&store, m, &two).await.unwrap().inserted, 3, "{b:?}");
        assert_eq!(partitions(&store).await.len(), if pg { 3 } else { 0 }, "{b:?} nothing left behind");
        assert_eq!(import(&store, m, &two, None, false).await.unwrap().inserted, 3, "{b:?}");
        assert_eq!((usage(m, "2022-10").await, usage(m, "2022-11").await), (4_000_000_000, 2_000_000_000));
        assert_eq!(partitions(&store).await.len(), if pg { 5 } else { 0 }, "{b:?}");

        // a new month interrupted by a stored one: the rest of the new month is compared, then stored
        let dec = "line_id,month,usage_gb\n07000000001,2022-12,1\n07000000001,2022-09,1\n07000000002,2022-12,2\n";
        let o = import(&store, m, &write(&dir, "dec.csv", dec), None, false).await.unwrap();
        assert_eq!((o.inserted, o.unchanged), (2, 1), "{b:?}");
        assert_eq!(usage(m, "2022-12").await, 3_000_000_000, "{b:?}");
        let o = import(&store, m, &write(&dir, "dec2.csv", dec), None, false).await.unwrap();
        assert_eq!((o.inserted, o.unchanged), (0, 3), "{b:?} re-import changes nothing");
    }
}
