//! Fleet storage on both backends: imports (schools, devices, incidents, movements), their
//! errors, idempotency, and the state rules of swaps and repairs.

use chrono::NaiveDate;
use gigaops_ingest::ImportKind;
use gigaops_store::entity::{device, device_state, incident, school};
use gigaops_store::fleet::{self, DeviceFilter, IncidentInput};
use gigaops_store::imports::{ImportOptions, ImportOutcome};
use gigaops_store::testing::{self, fresh_store, BACKENDS};
use gigaops_store::{municipalities, schools, Store, StoreError};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::path::{Path, PathBuf};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

async fn import_schools(store: &Store, m: i64, p: &Path, prefix: Option<&str>) -> ImportOutcome {
    let options = ImportOptions { name_prefix: prefix.map(String::from), ..Default::default() };
    testing::import(store, m, ImportKind::Schools, p, options).await.unwrap()
}

async fn import_devices(store: &Store, m: i64, p: &Path, as_of: &str) -> Result<ImportOutcome, StoreError> {
    testing::import(store, m, ImportKind::Devices, p, ImportOptions { as_of: Some(d(as_of)), ..Default::default() })
        .await
}

async fn import_incidents(store: &Store, m: i64, p: &Path) -> Result<ImportOutcome, StoreError> {
    testing::import(store, m, ImportKind::Incidents, p, ImportOptions::default()).await
}

async fn import_movements(store: &Store, m: i64, p: &Path) -> Result<ImportOutcome, StoreError> {
    testing::import(store, m, ImportKind::Movements, p, ImportOptions::default()).await
}

fn maebashi_csv() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/maebashi-fy2022/schools-maebashi.csv"))
}

async fn status_of(store: &Store, serial: &str) -> (String, Option<i64>) {
    let dv =
        device::Entity::find().filter(device::Column::SerialNumber.eq(serial)).one(&store.db).await.unwrap().unwrap();
    (dv.status, dv.school_id)
}

/// Indexes of `table`, its primary key included.
async fn index_count(store: &Store, table: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let sql = match store.backend() {
        sea_orm::DbBackend::Postgres => format!("SELECT COUNT(*) AS n FROM pg_indexes WHERE tablename = '{table}'"),
        // the rowid primary key has no index entry
        _ => format!("SELECT COUNT(*) + 1 AS n FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}'"),
    };
    let row = store.db.query_one(Statement::from_string(store.backend(), sql)).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn device_count(store: &Store) -> u64 {
    device::Entity::find().count(&store.db).await.unwrap()
}

const INVENTORY: &str = "serial_number,model,model_group,device_class,status,school_code,asset_tag
DMP000000001,iPad（第8世代）,iPad（小中）,learner,deployed,B110210000017,T-1
DMP000000002,iPad（第8世代）,iPad（小中）,learner,deployed,B110210000026,T-2
DMP000000003,iPad（第8世代）,iPad（小中）,learner,spare,,T-3
DMP000000004,iPad（第8世代）,iPad（小中）,learner,spare,,T-4
PF000001,Lenovo 300e,Chromebook（高）,learner,spare,,C-1
";

#[tokio::test]
async fn schools_import_links_branches_keeps_closed_and_is_idempotent() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let m = municipalities::ensure(&store, "maebashi", "前橋市教育委員会").await.unwrap().id;
        let first = import_schools(&store, m, &maebashi_csv(), Some("前橋市立")).await;
        assert_eq!((first.rows, first.inserted, first.unchanged), (73, 73, 0), "{b:?}");
        let all = schools::list(&store, m).await.unwrap();
        let by_code = |c: &str| all.iter().find(|s| s.school_code == c).unwrap().clone();
        let branch = by_code("B110210001739"); // 滝窪小学校金丸分校
        assert_eq!(branch.status, "branch");
        let main = all.iter().find(|s| Some(s.id) == branch.branch_of).unwrap();
        assert_eq!(main.name, "前橋市立滝窪小学校");
        let closed = by_code("C110210000131"); // 春日中
        assert_eq!(closed.status, "closed");
        assert_eq!(closed.closed_on, Some(d("2021-05-27")));
        assert_eq!(closed.successor_code.as_deref(), Some("C110210001620"));
        let again = import_schools(&store, m, &maebashi_csv(), Some("前橋市立")).await;
        assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 73), "{b:?}");
        assert_eq!(school::Entity::find().count(&store.db).await.unwrap(), 73);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_import_is_idempotent_and_rejects_bad_rows_without_writing() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let dir = tempfile::tempdir().unwrap();
        let m = municipalities::ensure(&store, "maebashi", "前橋市").await.unwrap().id;
        import_schools(&store, m, &maebashi_csv(), None).await;

        // unknown school, unknown model without group, duplicate serial: all reported, nothing written
        let bad = write(
            &dir,
            "bad.csv",
            "serial_number,model,model_group,device_class,status,school_code,asset_tag
A1,iPad,iPad（小中）,learner,deployed,B110210000017,
A2,iPad,iPad（小中）,learner,deployed,B999999999999,
A3,UnknownPad,,learner,deployed,B110210000017,
A1,iPad,iPad（小中）,learner,deployed,B110210000017,
",
        );
        let err = import_devices(&store, m, &bad, "2021-04-01").await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("bad.csv:5:"), "duplicate serial names its row: {text}");
        assert_eq!(device_count(&store).await, 0, "{b:?}: nothing written");
        let unknown = write(
            &dir,
            "unknown.csv",
            "serial_number,model,model_group,device_class,status,school_code,asset_tag
A2,iPad,iPad（小中）,learner,deployed,B999999999999,
A3,UnknownPad,,learner,deployed,B110210000017,
",
        );
        let err = import_devices(&store, m, &unknown, "2021-04-01").await.unwrap_err();
        let StoreError::Rows(lines) = err else { panic!("row errors expected") };
        assert!(lines[0].starts_with("unknown.csv:2:school_code: B999999999999 — "), "{lines:?}");
        assert!(lines[1].starts_with("unknown.csv:3:model: UnknownPad — "), "{lines:?}");
        assert_eq!(device_count(&store).await, 0);
        // only repeated serials (after a blank row, and a new model in between): their rows are named
        let twice = write(
            &dir,
            "twice.csv",
            "serial_number,model,model_group,device_class,status,school_code,asset_tag
B1,iPad,iPad（小中）,learner,deployed,B110210000017,
B2,iPad,iPad（小中）,learner,deployed,B110210000017,
,,,,,,
B3,Pad2,iPad（小中）,learner,deployed,B110210000017,
B1,iPad,iPad（小中）,learner,spare,,
B3,iPad,iPad（小中）,learner,spare,,
",
        );
        let err = import_devices(&store, m, &twice, "2021-04-01").await.unwrap_err();
        let StoreError::Rows(lines) = err else { panic!("row errors expected") };
        assert_eq!(lines.len(), 2, "{b:?} {lines:?}");
        assert!(lines[0].starts_with("twice.csv:6:serial_number: B1 — 重複しないシリアル番号（2行目"), "{lines:?}");
        assert!(lines[1].starts_with("twice.csv:7:serial_number: B3 — 重複しないシリアル番号（5行目"), "{lines:?}");
        assert_eq!(device_count(&store).await, 0);

        let inv = write(&dir, "inventory.csv", INVENTORY);
        let as_of = ImportOptions { as_of: Some(d("2021-04-01")), ..Default::default() };
        let dry = testing::import_dry(&store, m, ImportKind::Devices, &inv, as_of).await.unwrap();
        assert_eq!(dry.inserted, 5);
        assert_eq!(device_count(&store).await, 0, "dry run writes nothing");
        let first = import_devices(&store, m, &inv, "2021-04-01").await.unwrap();
        assert_eq!((first.rows, first.inserted, first.updated, first.unchanged), (5, 5, 0, 0), "{b:?}");
        // the first inventory is loaded with the indexes dropped: they are all back
        // primary key, serial, asset tag, stock, status + serial, school + serial
        assert_eq!(index_count(&store, "device").await, 6, "{b:?}");
        assert_eq!(index_count(&store, "device_state").await, 3, "{b:?}");
        let again = import_devices(&store, m, &inv, "2021-04-01").await.unwrap();
        assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 5), "{b:?}");
        assert_eq!(device_state::Entity::find().count(&store.db).await.unwrap(), 5, "one inventory state each");
        assert_eq!(status_of(&store, "DMP000000003").await.0, "spare");

        // A later inventory that moves a spare into a school is a state change on its as-of date.
        let moved = write(&dir, "moved.csv", &INVENTORY.replace("spare,,T-3", "deployed,B110210000026,T-3"));
        let o = import_devices(&store, m, &moved, "2022-01-01").await.unwrap();
        assert_eq!((o.inserted, o.updated, o.unchanged), (0, 1, 4), "{b:?}");
        assert_eq!(status_of(&store, "DMP000000003").await.0, "deployed");
        assert_eq!(device_state::Entity::find().count(&store.db).await.unwrap(), 6);
        // …and one dated before that change is refused, naming the row
        let back = write(&dir, "back.csv", INVENTORY);
        let err = import_devices(&store, m, &back, "2021-12-01").await.unwrap_err().to_string();
        assert!(err.contains("back.csv:4:status: 2022-01-01"), "{err}");
        assert_eq!(status_of(&store, "DMP000000003").await.0, "deployed", "nothing written");

        // An Intune export updates attributes of known devices, matched on serial number.
        let intune = write(
            &dir,
            "intune.csv",
            "Device ID,Device name,Enrollment date,Last check-in,OS version,Serial number,Manufacturer,Model
x1,MBS-IPAD-1,2021-04-01,2022-05-01 10:00:00,15.4,DMP000000001,Apple,iPad（第8世代）
",
        );
        let o = import_devices(&store, m, &intune, "2022-05-01").await.unwrap();
        assert_eq!((o.inserted, o.updated), (0, 1), "{b:?}");
        let dv = device::Entity::find()
            .filter(device::Column::SerialNumber.eq("DMP000000001"))
            .one(&store.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(dv.device_name.as_deref(), Some("MBS-IPAD-1"));
        assert_eq!(dv.os_version.as_deref(), Some("15.4"));
        assert_eq!(dv.status, "deployed", "MDM export keeps the status");
        assert_eq!(import_devices(&store, m, &intune, "2022-05-01").await.unwrap().unchanged, 1);

        // list and detail
        let (rows, total) = fleet::queries::list_devices(
            &store,
            m,
            &DeviceFilter { status: Some("spare".into()), ..Default::default() },
            1,
            50,
        )
        .await
        .unwrap();
        assert_eq!(total, 2);
        assert_eq!(rows[0].serial_number, "DMP000000004");
        let det = fleet::queries::device_detail(&store, m, "T-1", None).await.unwrap().unwrap();
        assert_eq!(det.device.serial_number, "DMP000000001");
        assert_eq!(det.device.school_name.as_deref(), Some("前橋市立桃井小学校"));
        let scoped = fleet::queries::device_detail(&store, m, "DMP000000001", Some(vec![-1])).await.unwrap();
        assert!(scoped.is_none(), "another school's device is hidden from a school user");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_swap_spares_repair_and_reject_rule_breaks() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let dir = tempfile::tempdir().unwrap();
        let m = municipalities::ensure(&store, "maebashi", "前橋市").await.unwrap().id;
        import_schools(&store, m, &maebashi_csv(), None).await;
        import_devices(&store, m, &write(&dir, "inv.csv", INVENTORY), "2021-04-01").await.unwrap();
        let momoi = schools::find_by_code(&store, m, "B110210000017").await.unwrap().unwrap().id;

        // a spare that is not a spare, a date before the as-of date, an unknown serial, a swap across groups
        let bad = write(
            &dir,
            "bad.csv",
            "serial_number,occurred_on,kind,cause,replacement_serial,repaired_on,written_off_on
DMP000000001,2022-04-10,damage,画面割れ,DMP000000002,,
DMP000000002,2021-03-01,damage,落下,,,
NOSUCH,2022-04-11,fault,,,,
DMP000000001,2022-04-12,fault,,PF000001,,
",
        );
        let StoreError::Rows(lines) = import_incidents(&store, m, &bad).await.unwrap_err() else { panic!() };
        assert!(lines.iter().any(|l| l.starts_with("bad.csv:2:") && l.contains("予備機ではありません")), "{lines:?}");
        assert!(lines.iter().any(|l| l.starts_with("bad.csv:3:") && l.contains("基準日")), "{lines:?}");
        assert!(lines.iter().any(|l| l.starts_with("bad.csv:4:serial_number: NOSUCH")), "{lines:?}");
        assert!(lines.iter().any(|l| l.starts_with("bad.csv:5:") && l.contains("機種グループ")), "{lines:?}");
        assert_eq!(incident::Entity::find().count(&store.db).await.unwrap(), 0, "{b:?}: nothing written");
        assert_eq!(status_of(&store, "DMP000000001").await.0, "deployed");

        let good = write(
            &dir,
            "good.csv",
            "serial_number,occurred_on,kind,cause,replacement_serial,repaired_on,written_off_on
DMP000000001,2022-04-10,damage,画面割れ,DMP000000003,2022-04-25,
DMP000000002,2022-05-02,theft,,DMP000000001,,
",
        );
        let o = import_incidents(&store, m, &good).await.unwrap();
        assert_eq!((o.inserted, o.unchanged), (2, 0), "{b:?}");
        // DMP..3 replaced ..1 at 桃井小; ..1 was repaired on 04-25 and reused as a spare on 05-02
        assert_eq!(status_of(&store, "DMP000000003").await, ("deployed".into(), Some(momoi)));
        assert_eq!(status_of(&store, "DMP000000002").await.0, "lost");
        let (st, sch) = status_of(&store, "DMP000000001").await;
        assert_eq!(st, "deployed");
        assert_ne!(sch, Some(momoi), "deployed at the stolen device's school");
        let again = import_incidents(&store, m, &good).await.unwrap();
        assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 2), "{b:?}: re-import changes nothing");
        assert_eq!(incident::Entity::find().count(&store.db).await.unwrap(), 2);

        // web counter: register an incident with a swap, then return it from repair
        let input = IncidentInput {
            serial_number: "DMP000000003".into(),
            occurred_on: d("2022-06-01"),
            kind: gigaops_domain::fleet::IncidentKind::Fault,
            cause: None,
            replacement_serial: Some("DMP000000004".into()),
            repaired_on: None,
            written_off_on: None,
        };
        fleet::events::register_incident(&store, m, &input, "support@example.jp").await.unwrap();
        assert_eq!(status_of(&store, "DMP000000003").await.0, "in_repair");
        assert_eq!(status_of(&store, "DMP000000004").await, ("deployed".into(), Some(momoi)));
        let err = fleet::events::return_from_repair(&store, m, "DMP000000003", d("2022-05-01"), "x").await.unwrap_err();
        assert!(err.to_string().contains("より前"), "{err}");
        fleet::events::return_from_repair(&store, m, "DMP000000003", d("2022-06-15"), "x").await.unwrap();
        assert_eq!(status_of(&store, "DMP000000003").await, ("spare".into(), None));

        // movements: deploy a spare at a school; the same file again changes nothing
        let mv = write(
            &dir,
            "mv.csv",
            "serial_number,moved_on,to_status,to_school_code\nDMP000000003,2022-07-01,deployed,B110210000026\n",
        );
        assert_eq!(import_movements(&store, m, &mv).await.unwrap().inserted, 1);
        assert_eq!(import_movements(&store, m, &mv).await.unwrap().unchanged, 1);
        let bad_mv = write(
            &dir,
            "badmv.csv",
            "serial_number,moved_on,to_status,to_school_code\nDMP000000003,2022-06-30,spare,\n",
        );
        let err = import_movements(&store, m, &bad_mv).await.unwrap_err().to_string();
        assert!(err.contains("badmv.csv:2:"), "{err}");
    }
}

#[path = "fleet/mdm.rs"]
mod mdm;
