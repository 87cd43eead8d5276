//! The web upload's import jobs on both backends: the state machine kept in `import_run`
//! (previewing → ready/failed → running → committed; cancel; interrupted), one active job per
//! municipality, errors taken apart into `import_error`, and the expiry of stored files.

use gigaops_ingest::ImportKind;
use gigaops_store::imports::jobs::{self, JobStatus, NewJob};
use gigaops_store::imports::{ImportOutcome, Preview};
use gigaops_store::testing::{fresh_store, BACKENDS};
use gigaops_store::{municipalities, StoreError};

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
        assert!(msg.contains(&format!("#{id} 台帳.csv")), "{b:?}: {msg}");
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
