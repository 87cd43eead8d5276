//! Fresh databases for tests, on both backends (every storage test runs on SQLite
//! and PostgreSQL). PostgreSQL is `GIGAOPS_TEST_POSTGRES_URL` or
//! `postgres://postgres@127.0.0.1:5432/postgres`; if it cannot be reached the test fails — it never skips.

use crate::Store;
use sea_orm::{ConnectionTrait, Database};
use std::sync::atomic::{AtomicU32, Ordering};

/// The two backends every storage test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

fn admin_url() -> String {
    std::env::var("GIGAOPS_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database URL for a new, empty database on `backend`: a temp-dir SQLite file, or a freshly
/// created PostgreSQL database named `gigaops_test_<pid>_<n>_<nanos>`.
///
/// Panics (tests only) when PostgreSQL cannot be reached.
pub async fn fresh_url(backend: Backend) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let name = format!("gigaops_test_{}_{}_{}", std::process::id(), n, nanos);
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("gigaops-tests");
            std::fs::create_dir_all(&dir).expect("temp dir");
            format!("sqlite://{}?mode=rwc", dir.join(format!("{name}.db")).display())
        }
        Backend::Postgres => {
            let admin = admin_url();
            let db = Database::connect(&admin).await.unwrap_or_else(|e| {
                panic!("PostgreSQL に接続できません ({admin}): {e}. Tests need PostgreSQL on 127.0.0.1:5432.")
            });
            db.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
            db.close().await.ok();
            let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(admin);
            format!("{base}/{name}")
        }
    }
}

/// A connected, migrated, empty store on `backend`.
pub async fn fresh_store(backend: Backend) -> Store {
    Store::connect(&fresh_url(backend).await).await.expect("connect test store")
}

/// The import source of a test file: its name and SHA-256, imported by `test`, not a dry run.
///
/// Panics when the file cannot be read (tests only).
pub fn source(p: &std::path::Path) -> crate::imports::ImportSource {
    crate::imports::ImportSource {
        file_name: p.file_name().expect("a file").to_string_lossy().into(),
        file_sha256: gigaops_ingest::file_sha256(p).expect("a readable file"),
        imported_by: Some("test".into()),
        dry_run: false,
    }
}

/// Creates the municipality `maebashi` (前橋市教育委員会) with its 73 schools from the MEXT rows in
/// `examples/maebashi-fy2022/schools-maebashi.csv` (names prefixed 前橋市立); returns its id.
///
/// Panics on any error (tests only).
pub async fn maebashi_with_schools(store: &Store) -> i64 {
    let m = crate::municipalities::ensure(store, "maebashi", "前橋市教育委員会").await.expect("municipality").id;
    let p = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/maebashi-fy2022/schools-maebashi.csv"
    ));
    let mut t = gigaops_ingest::open_table(&p, None).expect("the MEXT rows");
    let recs: Vec<_> =
        gigaops_ingest::schools::read(&mut t).expect("school columns").map(|r| r.expect("a school row")).collect();
    crate::schools::import(store, m, &source(&p), recs, Some("前橋市立")).await.expect("schools imported");
    m
}
