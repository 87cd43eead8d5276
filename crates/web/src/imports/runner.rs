//! Running import jobs in the background: a preview (dry run) after an upload, the import after a
//! confirm. The job's state lives in `import_run` ([`gigaops_store::imports::jobs`]); this process
//! also keeps the live progress of the jobs it runs, so that its own pages show it fresh.
//!
//! On PostgreSQL the worker writes a heartbeat (rows read, phase) to the job's row every second,
//! so another app instance shows the progress too and can tell a stopped worker. On SQLite there is
//! one instance, and a write beside an import's transaction would only contend for the database's
//! single write lock: progress comes from this process, and at start every job left active by an
//! earlier process is marked interrupted.

use crate::AppState;
use chrono::Utc;
use gigaops_ingest::ImportKind;
use gigaops_store::imports::jobs::{self, STALE_AFTER_SECONDS};
use gigaops_store::imports::{self, ImportRequest, Progress};
use sea_orm::DbBackend;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Default largest upload: 200 MiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 200 * 1024 * 1024;
/// Default days an uploaded file is kept after its upload.
pub const DEFAULT_KEEP_DAYS: u32 = 7;

/// Where uploads go, how big they may be, how long they are kept, and the live progress of the
/// jobs this process runs.
#[derive(Debug)]
pub struct ImportJobs {
    /// Folder of the stored uploads (`<dir>/<job id>/<file name>`). Several app instances on one
    /// PostgreSQL database must share it.
    pub upload_dir: PathBuf,
    /// Largest upload, bytes (413 beyond).
    pub max_upload_bytes: usize,
    /// Uploaded files are removed this many days after their upload.
    pub keep_days: u32,
    live: Mutex<HashMap<i64, Arc<Progress>>>,
}

impl ImportJobs {
    /// Settings for the upload folder `upload_dir`.
    pub fn new(upload_dir: PathBuf, max_upload_bytes: usize, keep_days: u32) -> Self {
        ImportJobs { upload_dir, max_upload_bytes, keep_days, live: Mutex::new(HashMap::new()) }
    }

    /// The live progress of job `id`, when this process runs it.
    pub fn live(&self, id: i64) -> Option<Arc<Progress>> {
        self.live.lock().ok().and_then(|m| m.get(&id).cloned())
    }

    fn track(&self, id: i64) -> Arc<Progress> {
        let p = Arc::new(Progress::default());
        if let Ok(mut m) = self.live.lock() {
            m.insert(id, p.clone());
        }
        p
    }

    fn untrack(&self, id: i64) {
        if let Ok(mut m) = self.live.lock() {
            m.remove(&id);
        }
    }
}

/// What a job run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Read and check the file, count what would change; write nothing.
    Preview,
    /// Import the file (after confirm).
    Commit,
}

/// Starts job `id` in the background and returns at once. The job reads its file and options
/// from its row; the outcome goes to its row ([`jobs::preview_done`], or the pipeline's commit /
/// [`jobs::import_failed`]).
pub fn spawn(state: &AppState, municipality_id: i64, id: i64, mode: Mode) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = run(&state, municipality_id, id, mode).await {
            tracing::error!(job = id, error = %e, "取り込みジョブが失敗しました");
        }
        state.imports.untrack(id);
    });
}

async fn run(state: &AppState, municipality_id: i64, id: i64, mode: Mode) -> gigaops_store::Result<()> {
    let store = &state.store;
    let Some(job) = jobs::get(store, municipality_id, id).await? else {
        return Ok(());
    };
    let progress = state.imports.track(id);
    let beat = (store.backend() == DbBackend::Postgres).then(|| {
        let (store, progress) = (store.clone(), progress.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                if let Err(e) = jobs::heartbeat(&store, id, progress.rows(), &progress.phase()).await {
                    tracing::warn!(job = id, error = %e, "進み具合を記録できませんでした");
                }
            }
        })
    });
    let kind = ImportKind::parse(&job.kind);
    let path = job.stored_path.clone().map(PathBuf::from);
    let (preview, result) = match (kind, &path) {
        (Some(kind), Some(path)) => {
            let request = ImportRequest {
                kind,
                path,
                display_name: Some(&job.file_name),
                options: jobs::options(&job),
                imported_by: job.imported_by.clone(),
                dry_run: mode == Mode::Preview,
                run_id: (mode == Mode::Commit).then_some(id),
                progress: &progress,
            };
            imports::run(store, municipality_id, request).await
        }
        _ => (
            Default::default(),
            Err(gigaops_store::StoreError::Rows(vec![format!(
                "{}: アップロードされたファイルが残っていません（保存期間を過ぎました）。もう一度アップロードしてください",
                job.file_name
            )])),
        ),
    };
    if let Some(b) = beat {
        b.abort();
    }
    match mode {
        Mode::Preview => jobs::preview_done(store, id, &preview, progress.rows(), &result).await?,
        Mode::Commit => match &result {
            Ok(out) => tracing::info!(job = id, kind = %job.kind, rows = out.rows, inserted = out.inserted,
                updated = out.updated, "取り込みました"),
            Err(e) => jobs::import_failed(store, id, e).await?,
        },
    }
    Ok(())
}

/// At start and every hour: marks jobs whose worker stopped as interrupted (SQLite: every active
/// job, there is no other instance; PostgreSQL: jobs without a heartbeat for
/// [`STALE_AFTER_SECONDS`]) and removes uploads older than the keep days.
pub async fn housekeeping(state: &AppState, at_start: bool) {
    let store = &state.store;
    let before = if at_start && store.backend() == DbBackend::Sqlite {
        Utc::now()
    } else {
        Utc::now() - chrono::Duration::seconds(STALE_AFTER_SECONDS)
    };
    match jobs::interrupt_stale(store, before).await {
        Ok(n) if n > 0 => tracing::warn!(jobs = n, "止まっていた取り込みジョブを「中断」にしました"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "取り込みジョブの状態を確認できませんでした"),
    }
    let keep = chrono::Duration::days(i64::from(state.imports.keep_days));
    match jobs::expire_files(store, Utc::now() - keep).await {
        Ok(paths) => {
            for p in paths {
                remove_upload(std::path::Path::new(&p));
            }
        }
        Err(e) => tracing::warn!(error = %e, "古いアップロードを削除できませんでした"),
    }
}

/// Removes a stored upload and its job folder.
pub fn remove_upload(path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir(dir);
    }
}
