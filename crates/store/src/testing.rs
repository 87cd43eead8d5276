//! Fresh databases for tests, on both backends (every storage test runs on SQLite
//! and PostgreSQL). PostgreSQL is `GIGAOPS_TEST_POSTGRES_URL` or
//! `postgres://postgres@127.0.0.1:5432/postgres`; if it cannot be reached the test fails — it never skips.

use crate::imports::{ImportOptions, ImportOutcome, ImportRequest, Progress};
use crate::Store;
use gigaops_ingest::ImportKind;
use sea_orm::{ConnectionTrait, Database};
use std::path::Path;
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

/// Imports the file `path` as `kind` into `municipality_id` through the one import pipeline
/// ([`crate::imports::run`]), as the CLI and the web upload do: imported by `test`, written
/// (not a dry run), recorded in `import_run`. `options` are the kind's options
/// (`ImportOptions::default()` for none).
///
/// Returns the pipeline's outcome; its errors are the pipeline's: [`crate::StoreError::Rows`]
/// with every problem as `file:row:column: value — expected` (a problem with the whole file, such
/// as missing columns, is one line `file: …`), nothing written.
///
/// On a multi-threaded runtime the big kinds (devices, lines, usage) read and write on two
/// threads, as in the server; on a current-thread runtime they read in turn.
pub async fn import(
    store: &Store,
    municipality_id: i64,
    kind: ImportKind,
    path: &Path,
    options: ImportOptions,
) -> crate::Result<ImportOutcome> {
    run(store, municipality_id, kind, path, options, false).await
}

/// [`import`] as a dry run: checks and counts every row (the outcome says what would change)
/// and writes nothing, not even an `import_run` row.
pub async fn import_dry(
    store: &Store,
    municipality_id: i64,
    kind: ImportKind,
    path: &Path,
    options: ImportOptions,
) -> crate::Result<ImportOutcome> {
    run(store, municipality_id, kind, path, options, true).await
}

async fn run(
    store: &Store,
    municipality_id: i64,
    kind: ImportKind,
    path: &Path,
    options: ImportOptions,
    dry_run: bool,
) -> crate::Result<ImportOutcome> {
    let progress = Progress::default();
    let req = ImportRequest {
        kind,
        path,
        display_name: None,
        options,
        imported_by: Some("test".into()),
        dry_run,
        run_id: None,
        progress: &progress,
    };
    crate::imports::run(store, municipality_id, req).await.1
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
    let options = ImportOptions { name_prefix: Some("前橋市立".into()), ..Default::default() };
    import(store, m, ImportKind::Schools, &p, options).await.expect("schools imported");
    m
}
