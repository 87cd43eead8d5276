//! The web upload's import jobs on both backends: the state machine kept in `import_run`
//! (previewing → ready/failed → running → committed; cancel; interrupted), one active job per
//! municipality, errors taken apart into `import_error`, and the expiry of stored files; imports
//! from the command line registered as running jobs, one at a time, a dead one not blocking the
//! next; SQLite's busy error told apart.

use gigaops_ingest::ImportKind;
use gigaops_store::imports::jobs::{self, JobStatus, NewJob};
use gigaops_store::imports::ImportOptions;
use gigaops_store::imports::{ImportOutcome, Preview};
use gigaops_store::testing::{self, fresh_store, Backend, BACKENDS};
use gigaops_store::{municipalities, Store, StoreError};
use sea_orm::{ConnectionTrait, Statement};

fn job(path: &str) -> NewJob {
    NewJob {
        kind: ImportKind::Devices,
        file_name: "台帳.csv".into(),
        file_sha256: "00".repeat(32),
        file_size: 10,
        stored_path: path.into(),
        options: Default::default(),
        imported_by: "board@example.jp".into(),
        school_ids: vec![],
    }
}

#[tokio::test]
async fn jobs_move_through_their_states_once() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let m = municipalities::ensure(&store, "t", "テスト市").await.unwrap().id;
        let id = jobs::create(&store, m, job("/nowhere/a.csv")).await.unwrap();
        // a second job while the first is previewing is refused, naming the first
        let Err(StoreError::Rule(msg)) = jobs::create(&store, m, job("/nowhere/b.csv")).await else {
            panic!("{b:?}: a second active job")
        };
        assert!(msg.starts_with("別の取り込みが実行中です（"), "{b:?}: {msg}");
        assert!(msg.contains("board@example.jp が開始した「台帳.csv」の"), "{b:?}: {msg}");
        assert!(!msg.contains('\n'), "{b:?}: one line: {msg}");
        // confirm is refused before the preview is ready
        assert!(!jobs::start(&store, m, id).await.unwrap(), "{b:?}");

        let counts = ImportOutcome { rows: 3, inserted: 2, updated: 1, ..Default::default() };
        jobs::preview_done(&store, id, &Preview::default(), 3, &Ok(counts)).await.unwrap();
        let row = jobs::get(&store, m, id).await.unwrap().unwrap();
        assert_eq!(JobStatus::parse(&row.status), JobStatus::Ready, "{b:?}");
        assert_eq!((row.rows, row.inserted, row.updated), (3, 2, 1), "{b:?}");
        // another municipality does not see it
        let other = municipalities::ensure(&store, "u", "別の市").await.unwrap().id;
        assert!(jobs::get(&store, other, id).await.unwrap().is_none(), "{b:?}");
        assert!(!jobs::start(&store, other, id).await.unwrap(), "{b:?}");

        // confirm once: the second confirm changes nothing
        assert!(jobs::start(&store, m, id).await.unwrap(), "{b:?}");
        assert!(!jobs::start(&store, m, id).await.unwrap(), "{b:?}: confirmed twice");
        assert!(!jobs::cancel(&store, m, id).await.unwrap(), "{b:?}: a running job is not cancelled");
        let err = StoreError::Rows(vec!["台帳.csv:7:school_code: X1 — 登録済みの学校コード".into()]);
        jobs::import_failed(&store, id, &err).await.unwrap();
        let row = jobs::get(&store, m, id).await.unwrap().unwrap();
        assert_eq!((JobStatus::parse(&row.status), row.error_count), (JobStatus::Failed, 1), "{b:?}");
        let errors = jobs::errors(&store, id, None).await.unwrap();
        assert_eq!(
            (errors[0].row_no, errors[0].column_label.as_str(), errors[0].value.as_str(), errors[0].expected.as_str()),
            (Some(7), "school_code", "X1", "登録済みの学校コード"),
            "{b:?}"
        );
        assert!(jobs::cancel(&store, m, id).await.unwrap(), "{b:?}: a failed job may be dismissed");

        // a job whose worker stopped is interrupted, and frees the municipality
        let stale = jobs::create(&store, m, job("/nowhere/c.csv")).await.unwrap();
        assert_eq!(jobs::interrupt_stale(&store, chrono::Utc::now()).await.unwrap(), 1, "{b:?}");
        let row = jobs::get(&store, m, stale).await.unwrap().unwrap();
        assert_eq!(JobStatus::parse(&row.status), JobStatus::Interrupted, "{b:?}");

        // stored files of finished jobs are forgotten after the keep days, not before
        assert!(jobs::expire_files(&store, chrono::Utc::now() - chrono::Duration::days(7)).await.unwrap().is_empty());
        let mut gone = jobs::expire_files(&store, chrono::Utc::now() + chrono::Duration::seconds(1)).await.unwrap();
        gone.sort();
        assert_eq!(gone, ["/nowhere/a.csv", "/nowhere/c.csv"], "{b:?}");
        assert!(jobs::get(&store, m, id).await.unwrap().unwrap().stored_path.is_none(), "{b:?}");
    }
}

fn schools_csv(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("学校.csv");
    std::fs::write(&path, "school_code,name,kind\nB110210000017,前橋市立桃井小学校,B1\n").unwrap();
    path
}

async fn count(store: &Store, sql: &str) -> i64 {
    let row = store.db.query_one(Statement::from_string(store.backend(), sql.to_string())).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// Backdates a job's start and last sign of life by `seconds`.
async fn backdate(store: &Store, id: i64, seconds: i64) {
    let t = chrono::Utc::now() - chrono::Duration::seconds(seconds);
    let b = store.backend();
    let sql = if b == sea_orm::DbBackend::Postgres {
        "UPDATE import_run SET heartbeat_at = $1, imported_at = $1 WHERE id = $2"
    } else {
        "UPDATE import_run SET heartbeat_at = ?, imported_at = ? WHERE id = ?"
    };
    let vals: Vec<sea_orm::Value> =
        if b == sea_orm::DbBackend::Postgres { vec![t.into(), id.into()] } else { vec![t.into(), t.into(), id.into()] };
    store.db.execute(Statement::from_sql_and_values(b, sql, vals)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_line_import_runs_alone_and_says_in_one_line_who_started_the_other() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let m = municipalities::ensure(&store, "t", "テスト市").await.unwrap().id;
        let dir = tempfile::tempdir().unwrap();
        let file = schools_csv(dir.path());
        // another import is running: started by the command line a moment ago
        let other = jobs::claim(&store, m, ImportKind::Devices, "inventory.csv", Some("cli")).await.unwrap();
        let Err(StoreError::Rule(msg)) =
            testing::import(&store, m, ImportKind::Schools, &file, ImportOptions::default()).await
        else {
            panic!("{b:?}: the second import ran")
        };
        assert!(msg.starts_with("別の取り込みが実行中です（"), "{b:?}: {msg}");
        assert!(msg.contains(" に cli が開始した「inventory.csv」の"), "{b:?}: {msg}");
        assert!(msg.contains("終わるまで待つか、あとでもう一度実行してください"), "{b:?}: {msg}");
        assert!(!msg.contains('\n'), "{b:?}: one line: {msg}");
        // HH:MM in Japan time
        let hhmm = chrono::Utc::now().with_timezone(&gigaops_domain::calendar::jst()).format("%H:").to_string();
        assert!(msg.contains(&format!("（{hhmm}")), "{b:?}: {msg}");
        assert_eq!(count(&store, "SELECT COUNT(*) FROM school").await, 0, "{b:?}: nothing written");
        // the web upload is refused the same way
        assert!(matches!(jobs::create(&store, m, job("/nowhere/c.csv")).await, Err(StoreError::Rule(_))), "{b:?}");

        // once it has ended, the next import runs, registered while it runs and completed at commit
        jobs::release(&store, other).await.unwrap();
        testing::import(&store, m, ImportKind::Schools, &file, ImportOptions::default()).await.unwrap();
        let runs = jobs::history(&store, m, 10).await.unwrap();
        assert_eq!(runs.len(), 1, "{b:?}: one import_run row per import");
        assert_eq!(JobStatus::parse(&runs[0].status), JobStatus::Committed, "{b:?}");
        assert_eq!(runs[0].file_sha256.len(), 64, "{b:?}: the file's hash is recorded");
        assert_eq!((runs[0].rows, runs[0].inserted), (1, 1), "{b:?}");

        // a failed import leaves no row behind
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "school_code,name,kind\nX,壊れた学校,B1\n").unwrap();
        assert!(testing::import(&store, m, ImportKind::Schools, &bad, ImportOptions::default()).await.is_err());
        assert_eq!(jobs::history(&store, m, 10).await.unwrap().len(), 1, "{b:?}: the failed import left a row");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_whose_process_died_does_not_block_the_next() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let m = municipalities::ensure(&store, "t", "テスト市").await.unwrap().id;
        let dir = tempfile::tempdir().unwrap();
        let file = schools_csv(dir.path());
        let dead = jobs::claim(&store, m, ImportKind::Devices, "inventory.csv", Some("cli")).await.unwrap();
        // silent for two minutes, and (SQLite) holding no write lock: its process is gone
        backdate(&store, dead, 120).await;
        testing::import(&store, m, ImportKind::Schools, &file, ImportOptions::default()).await.unwrap();
        let row = jobs::get(&store, m, dead).await.unwrap().unwrap();
        assert_eq!(JobStatus::parse(&row.status), JobStatus::Interrupted, "{b:?}");
    }
}

/// SQLite only: PostgreSQL has no database-wide write lock, so no busy error to tell apart.
#[tokio::test]
async fn sqlite_busy_is_its_own_error_in_one_line() {
    let store = fresh_store(Backend::Sqlite).await;
    // the store's connection holds the write lock, as an import does
    let pool = store.db.get_sqlite_connection_pool();
    let mut holder = pool.acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *holder).await.unwrap();
    let mut other = pool.acquire().await.unwrap();
    sqlx::query("PRAGMA busy_timeout = 0").execute(&mut *other).await.unwrap();
    let err =
        sqlx::query("INSERT INTO municipality (code, name) VALUES ('x', 'x')").execute(&mut *other).await.unwrap_err();
    let err = StoreError::from(err);
    assert!(matches!(err, StoreError::Busy), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("別の書き込み") && msg.contains("何も書き込んでいません") && !msg.contains('\n'), "{msg}");
    sqlx::query("ROLLBACK").execute(&mut *holder).await.unwrap();
}
