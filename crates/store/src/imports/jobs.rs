//! The web upload's import jobs, kept in `import_run` so that a reload, or another app instance on
//! the same database, sees them: upload → `previewing` → `ready` (or `failed`) → on confirm
//! `running` → `committed` (or `failed`); `cancelled` from `ready`/`failed`; `interrupted` when the
//! worker stopped answering. Errors go to `import_error`, one row each.

use super::{ErrorLine, ImportOptions, ImportOutcome, Preview};
use crate::entity::{import_error, import_run};
use crate::{Result, Store, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};

/// The state of an import job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// The file is being read and checked (a dry run).
    Previewing,
    /// The preview is ready; waiting for confirm or cancel.
    Ready,
    /// The preview or the import found errors; nothing was written.
    Failed,
    /// Confirmed; the import is writing.
    Running,
    /// Imported.
    Committed,
    /// Cancelled by the user before import; nothing was written.
    Cancelled,
    /// The worker stopped (server restart) before it finished; nothing was written.
    Interrupted,
}

impl JobStatus {
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Previewing,
        JobStatus::Ready,
        JobStatus::Failed,
        JobStatus::Running,
        JobStatus::Committed,
        JobStatus::Cancelled,
        JobStatus::Interrupted,
    ];
    /// The stored value: `previewing`, `ready`, `failed`, `running`, `committed`, `cancelled`, `interrupted`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Previewing => "previewing",
            JobStatus::Ready => "ready",
            JobStatus::Failed => "failed",
            JobStatus::Running => "running",
            JobStatus::Committed => "committed",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Interrupted => "interrupted",
        }
    }
    pub fn label_ja(self) -> &'static str {
        match self {
            JobStatus::Previewing => "確認中",
            JobStatus::Ready => "確認済み（取り込み待ち）",
            JobStatus::Failed => "エラー",
            JobStatus::Running => "取り込み中",
            JobStatus::Committed => "取り込み済み",
            JobStatus::Cancelled => "取り消し",
            JobStatus::Interrupted => "中断",
        }
    }
    /// The status stored as `s`; an unknown value reads as `Interrupted`.
    pub fn parse(s: &str) -> JobStatus {
        JobStatus::ALL.into_iter().find(|j| j.as_str() == s).unwrap_or(JobStatus::Interrupted)
    }
    /// A worker is on it.
    pub fn is_active(self) -> bool {
        matches!(self, JobStatus::Previewing | JobStatus::Running)
    }
}

/// A worker that has not shown a sign of life for this long has stopped (PostgreSQL instances
/// beat every second).
pub const STALE_AFTER_SECONDS: i64 = 60;

/// A file uploaded for import.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: gigaops_ingest::ImportKind,
    /// The file name as the user's computer named it.
    pub file_name: String,
    pub file_sha256: String,
    /// Bytes.
    pub file_size: i64,
    /// Where the upload is kept.
    pub stored_path: String,
    pub options: ImportOptions,
    pub imported_by: String,
    /// The uploader's schools (`school.id`), for a school user.
    pub school_ids: Vec<i64>,
}

/// A new `import_run` row of an active job (`status` with its first `phase`), counts at zero, its
/// first sign of life now; the one place both kinds of job start from.
fn active_row(
    municipality_id: i64,
    kind: gigaops_ingest::ImportKind,
    file_name: String,
    file_sha256: String,
    imported_by: Option<String>,
    status: JobStatus,
    phase: &str,
) -> import_run::ActiveModel {
    let now = Utc::now();
    import_run::ActiveModel {
        municipality_id: Set(municipality_id),
        kind: Set(kind.as_str().into()),
        file_name: Set(file_name),
        file_sha256: Set(file_sha256),
        imported_by: Set(imported_by),
        imported_at: Set(now),
        rows: Set(0),
        inserted: Set(0),
        updated: Set(0),
        unchanged: Set(0),
        status: Set(status.as_str().into()),
        phase: Set(Some(phase.into())),
        rows_read: Set(0),
        error_count: Set(0),
        heartbeat_at: Set(Some(now)),
        ..Default::default()
    }
}

/// Creates a job in state `previewing` and returns its id.
///
/// Errors: [`StoreError::Rule`] naming the other import when one is already being previewed or
/// imported in the municipality (one at a time, see [`ensure_none_active`]).
pub async fn create(store: &Store, municipality_id: i64, job: NewJob) -> Result<i64> {
    ensure_none_active(store, municipality_id).await?;
    let school_ids =
        (!job.school_ids.is_empty()).then(|| job.school_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","));
    let m = import_run::ActiveModel {
        options: Set(serde_json::to_string(&job.options).ok()),
        stored_path: Set(Some(job.stored_path)),
        file_size: Set(Some(job.file_size)),
        school_ids: Set(school_ids),
        ..active_row(
            municipality_id,
            job.kind,
            job.file_name,
            job.file_sha256,
            Some(job.imported_by),
            JobStatus::Previewing,
            "待機中",
        )
    }
    .insert(&store.db)
    .await?;
    Ok(m.id)
}

/// Registers an import that runs at once — from the command line, the demo or a test — as a
/// `running` job, so that other imports and the history see it; returns its id, which the
/// pipeline completes at commit (or deletes when the import fails: nothing is written then).
///
/// Errors: [`StoreError::Rule`] naming the other import when one is running (see
/// [`ensure_none_active`]).
pub async fn claim(
    store: &Store,
    municipality_id: i64,
    kind: gigaops_ingest::ImportKind,
    file_name: &str,
    imported_by: Option<&str>,
) -> Result<i64> {
    ensure_none_active(store, municipality_id).await?;
    let row = active_row(
        municipality_id,
        kind,
        file_name.into(),
        String::new(),
        imported_by.map(str::to_string),
        JobStatus::Running,
        "取り込み中",
    );
    Ok(row.insert(&store.db).await?.id)
}

/// Removes a job registered by [`claim`] whose import failed (it wrote nothing).
pub async fn release(store: &Store, id: i64) -> Result<()> {
    import_error::Entity::delete_many().filter(import_error::Column::ImportRunId.eq(id)).exec(&store.db).await?;
    import_run::Entity::delete_many()
        .filter(import_run::Column::Id.eq(id))
        .filter(import_run::Column::Status.eq(JobStatus::Running.as_str()))
        .exec(&store.db)
        .await?;
    Ok(())
}

/// One import at a time per municipality: a second would only wait for the first's write lock
/// (SQLite) or compare against rows the first is changing.
///
/// An active job (`previewing`, `running`) whose worker has not shown a sign of life for
/// [`STALE_AFTER_SECONDS`] is taken for dead and marked `interrupted` — on SQLite only when,
/// besides, nobody holds the database's write lock (an SQLite import writes no heartbeat while it
/// holds that lock; a dead process holds none).
///
/// Errors: [`StoreError::Rule`] in one line naming the live one: when (Japan time), by whom, which
/// file, and what to do.
pub async fn ensure_none_active(store: &Store, municipality_id: i64) -> Result<()> {
    let active = import_run::Entity::find()
        .filter(import_run::Column::MunicipalityId.eq(municipality_id))
        .filter(import_run::Column::Status.is_in([JobStatus::Previewing.as_str(), JobStatus::Running.as_str()]))
        .order_by_asc(import_run::Column::Id)
        .all(&store.db)
        .await?;
    let stale_before = Utc::now() - chrono::Duration::seconds(STALE_AFTER_SECONDS);
    for a in active {
        let beat = a.heartbeat_at.unwrap_or(a.imported_at);
        if beat < stale_before
            && (store.backend() != sea_orm::DbBackend::Sqlite || sqlite_write_lock_free(store).await?)
        {
            import_run::Entity::update_many()
                .col_expr(import_run::Column::Status, Expr::value(JobStatus::Interrupted.as_str()))
                .col_expr(import_run::Column::Phase, Expr::value(None::<String>))
                .col_expr(import_run::Column::FinishedAt, Expr::value(Utc::now()))
                .filter(import_run::Column::Id.eq(a.id))
                .filter(import_run::Column::Status.eq(a.status.clone()))
                .exec(&store.db)
                .await?;
            continue;
        }
        return Err(StoreError::Rule(busy_message(&a)));
    }
    Ok(())
}

/// `別の取り込みが実行中です（13:05 に board@… が開始した「devices.csv」の端末台帳、取り込み中）。…`
fn busy_message(a: &import_run::Model) -> String {
    let started = a.imported_at.with_timezone(&gigaops_domain::calendar::jst());
    let today = gigaops_domain::calendar::jst_date(Utc::now());
    let when = if started.date_naive() == today {
        started.format("%H:%M").to_string()
    } else {
        started.format("%Y-%m-%d %H:%M").to_string()
    };
    let kind = gigaops_ingest::ImportKind::parse(&a.kind).map_or(a.kind.as_str(), |k| k.label_ja());
    format!(
        "別の取り込みが実行中です（{when} に {} が開始した「{}」の{kind}、{}）。終わるまで待つか、あとでもう一度実行してください。",
        a.imported_by.as_deref().unwrap_or("不明な利用者"),
        a.file_name,
        JobStatus::parse(&a.status).label_ja()
    )
}

/// SQLite: whether no connection holds the write lock now (tried without waiting).
async fn sqlite_write_lock_free(store: &Store) -> Result<bool> {
    let mut conn = store.db.get_sqlite_connection_pool().acquire().await?;
    sqlx::query("PRAGMA busy_timeout = 0").execute(&mut *conn).await?;
    let free = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await.is_ok();
    if free {
        sqlx::query("ROLLBACK").execute(&mut *conn).await?;
    }
    sqlx::query(&format!("PRAGMA busy_timeout = {}", crate::SQLITE_BUSY_TIMEOUT.as_millis()))
        .execute(&mut *conn)
        .await?;
    Ok(free)
}

/// Where the job's file is kept (after it was moved into the job's folder).
pub async fn set_stored_path(store: &Store, id: i64, path: &str) -> Result<()> {
    import_run::Entity::update_many()
        .col_expr(import_run::Column::StoredPath, Expr::value(path))
        .filter(import_run::Column::Id.eq(id))
        .exec(&store.db)
        .await?;
    Ok(())
}

/// The job `id` of the municipality.
pub async fn get(store: &Store, municipality_id: i64, id: i64) -> Result<Option<import_run::Model>> {
    Ok(import_run::Entity::find_by_id(id)
        .filter(import_run::Column::MunicipalityId.eq(municipality_id))
        .one(&store.db)
        .await?)
}

/// The options the job was uploaded with.
pub fn options(job: &import_run::Model) -> ImportOptions {
    job.options.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default()
}

/// The schools (`school.id`) of a school user's upload; empty for staff uploads.
pub fn school_ids(job: &import_run::Model) -> Vec<i64> {
    job.school_ids.as_deref().unwrap_or("").split(',').filter_map(|s| s.trim().parse().ok()).collect()
}

/// The job's stored preview.
pub fn preview(job: &import_run::Model) -> Preview {
    job.preview.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default()
}

/// A sign of life of the job's worker: rows read and phase.
pub async fn heartbeat(store: &Store, id: i64, rows_read: u64, phase: &str) -> Result<()> {
    import_run::Entity::update_many()
        .col_expr(import_run::Column::RowsRead, Expr::value(rows_read as i64))
        .col_expr(import_run::Column::Phase, Expr::value(phase))
        .col_expr(import_run::Column::HeartbeatAt, Expr::value(Utc::now()))
        .filter(import_run::Column::Id.eq(id))
        .filter(import_run::Column::Status.is_in([JobStatus::Previewing.as_str(), JobStatus::Running.as_str()]))
        .exec(&store.db)
        .await?;
    Ok(())
}

/// Records the end of a preview (a dry run): `ready` with the counts that would change, or
/// `failed` with every error. Only a job still `previewing` changes.
pub async fn preview_done(
    store: &Store,
    id: i64,
    preview: &Preview,
    rows_read: u64,
    result: &Result<ImportOutcome>,
) -> Result<()> {
    let txn = store.db.begin().await?;
    let mut q = import_run::Entity::update_many()
        .col_expr(import_run::Column::Preview, Expr::value(serde_json::to_string(preview).ok()))
        .col_expr(import_run::Column::RowsRead, Expr::value(rows_read as i64))
        .col_expr(import_run::Column::Phase, Expr::value(None::<String>))
        .col_expr(import_run::Column::HeartbeatAt, Expr::value(Utc::now()));
    let errors = match result {
        Ok(o) => {
            q = q
                .col_expr(import_run::Column::Status, Expr::value(JobStatus::Ready.as_str()))
                .col_expr(import_run::Column::Rows, Expr::value(o.rows))
                .col_expr(import_run::Column::Inserted, Expr::value(o.inserted))
                .col_expr(import_run::Column::Updated, Expr::value(o.updated))
                .col_expr(import_run::Column::Unchanged, Expr::value(o.unchanged));
            Vec::new()
        }
        Err(e) => {
            q = q
                .col_expr(import_run::Column::Status, Expr::value(JobStatus::Failed.as_str()))
                .col_expr(import_run::Column::FinishedAt, Expr::value(Utc::now()));
            error_lines(e)
        }
    };
    let res = q
        .col_expr(import_run::Column::ErrorCount, Expr::value(errors.len() as i64))
        .col_expr(import_run::Column::Message, Expr::value(message(result.as_ref().err())))
        .filter(import_run::Column::Id.eq(id))
        .filter(import_run::Column::Status.eq(JobStatus::Previewing.as_str()))
        .exec(&txn)
        .await?;
    if res.rows_affected == 1 {
        insert_errors(&txn, id, &errors).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The message of an error that is not a list of rows (a database failure), for the job page.
fn message(error: Option<&StoreError>) -> Option<String> {
    match error {
        None | Some(StoreError::Rows(_)) => None,
        Some(e) => Some(e.to_string()),
    }
}

/// The error lines of an error: each row of [`StoreError::Rows`], or the error as one line.
fn error_lines(e: &StoreError) -> Vec<ErrorLine> {
    match e {
        StoreError::Rows(lines) => lines.iter().map(|l| ErrorLine::parse(l)).collect(),
        other => {
            vec![ErrorLine { row: None, column: String::new(), value: String::new(), expected: other.to_string() }]
        }
    }
}

async fn insert_errors(txn: &sea_orm::DatabaseTransaction, id: i64, errors: &[ErrorLine]) -> Result<()> {
    for (chunk_no, chunk) in errors.chunks(500).enumerate() {
        let rows = chunk.iter().enumerate().map(|(i, e)| import_error::ActiveModel {
            import_run_id: Set(id),
            seq: Set((chunk_no * 500 + i) as i64),
            row_no: Set(e.row),
            column_label: Set(e.column.clone()),
            value: Set(e.value.clone()),
            expected: Set(e.expected.clone()),
            ..Default::default()
        });
        import_error::Entity::insert_many(rows).exec(txn).await?;
    }
    Ok(())
}

/// Confirms a ready job: `ready` → `running`. Returns `false` when the job was not ready (already
/// confirmed by another request, cancelled, failed): nothing changes then.
pub async fn start(store: &Store, municipality_id: i64, id: i64) -> Result<bool> {
    let res = import_run::Entity::update_many()
        .col_expr(import_run::Column::Status, Expr::value(JobStatus::Running.as_str()))
        .col_expr(import_run::Column::RowsRead, Expr::value(0i64))
        .col_expr(import_run::Column::Phase, Expr::value("待機中"))
        .col_expr(import_run::Column::HeartbeatAt, Expr::value(Utc::now()))
        .col_expr(import_run::Column::ImportedAt, Expr::value(Utc::now()))
        .filter(import_run::Column::Id.eq(id))
        .filter(import_run::Column::MunicipalityId.eq(municipality_id))
        .filter(import_run::Column::Status.eq(JobStatus::Ready.as_str()))
        .exec(&store.db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Records a failed import of a running job (the commit found errors, e.g. the register changed
/// since the preview): `failed` with every error. A committed job is left alone.
pub async fn import_failed(store: &Store, id: i64, error: &StoreError) -> Result<()> {
    let errors = error_lines(error);
    let txn = store.db.begin().await?;
    let res = import_run::Entity::update_many()
        .col_expr(import_run::Column::Status, Expr::value(JobStatus::Failed.as_str()))
        .col_expr(import_run::Column::Phase, Expr::value(None::<String>))
        .col_expr(import_run::Column::ErrorCount, Expr::value(errors.len() as i64))
        .col_expr(import_run::Column::FinishedAt, Expr::value(Utc::now()))
        .col_expr(import_run::Column::Message, Expr::value(message(Some(error))))
        .filter(import_run::Column::Id.eq(id))
        .filter(import_run::Column::Status.eq(JobStatus::Running.as_str()))
        .exec(&txn)
        .await?;
    if res.rows_affected == 1 {
        import_error::Entity::delete_many().filter(import_error::Column::ImportRunId.eq(id)).exec(&txn).await?;
        insert_errors(&txn, id, &errors).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Cancels a job that has not been imported (`ready` or `failed`). Returns `false` when the job was
/// in another state (nothing changes). The stored file is the caller's to remove.
pub async fn cancel(store: &Store, municipality_id: i64, id: i64) -> Result<bool> {
    let res = import_run::Entity::update_many()
        .col_expr(import_run::Column::Status, Expr::value(JobStatus::Cancelled.as_str()))
        .col_expr(import_run::Column::FinishedAt, Expr::value(Utc::now()))
        .filter(import_run::Column::Id.eq(id))
        .filter(import_run::Column::MunicipalityId.eq(municipality_id))
        .filter(import_run::Column::Status.is_in([JobStatus::Ready.as_str(), JobStatus::Failed.as_str()]))
        .exec(&store.db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Marks as `interrupted` the jobs whose worker has not beaten since `before` (a stopped server;
/// nothing of theirs was committed: their transaction died with it). Returns how many.
pub async fn interrupt_stale(store: &Store, before: DateTime<Utc>) -> Result<u64> {
    let res = import_run::Entity::update_many()
        .col_expr(import_run::Column::Status, Expr::value(JobStatus::Interrupted.as_str()))
        .col_expr(import_run::Column::Phase, Expr::value(None::<String>))
        .col_expr(import_run::Column::FinishedAt, Expr::value(Utc::now()))
        .filter(import_run::Column::Status.is_in([JobStatus::Previewing.as_str(), JobStatus::Running.as_str()]))
        .filter(import_run::Column::HeartbeatAt.lt(before))
        .exec(&store.db)
        .await?;
    Ok(res.rows_affected)
}

/// The municipality's imports, newest first (at most `limit`).
pub async fn history(store: &Store, municipality_id: i64, limit: u64) -> Result<Vec<import_run::Model>> {
    Ok(import_run::Entity::find()
        .filter(import_run::Column::MunicipalityId.eq(municipality_id))
        .order_by_desc(import_run::Column::Id)
        .limit(limit)
        .all(&store.db)
        .await?)
}

/// The errors of a job, in report order; at most `limit` of them (`None` = all).
pub async fn errors(store: &Store, id: i64, limit: Option<u64>) -> Result<Vec<import_error::Model>> {
    Ok(import_error::Entity::find()
        .filter(import_error::Column::ImportRunId.eq(id))
        .order_by_asc(import_error::Column::Seq)
        .limit(limit)
        .all(&store.db)
        .await?)
}

/// How many errors a job has.
pub async fn error_count(store: &Store, id: i64) -> Result<u64> {
    Ok(import_error::Entity::find().filter(import_error::Column::ImportRunId.eq(id)).count(&store.db).await?)
}

/// Forgets the stored files of jobs that started before `before` and are no longer active:
/// returns their paths (for the caller to delete) after clearing `stored_path`.
pub async fn expire_files(store: &Store, before: DateTime<Utc>) -> Result<Vec<String>> {
    let old = import_run::Entity::find()
        .filter(import_run::Column::StoredPath.is_not_null())
        .filter(import_run::Column::ImportedAt.lt(before))
        .filter(import_run::Column::Status.is_not_in([JobStatus::Previewing.as_str(), JobStatus::Running.as_str()]))
        .all(&store.db)
        .await?;
    let ids: Vec<i64> = old.iter().map(|r| r.id).collect();
    if !ids.is_empty() {
        import_run::Entity::update_many()
            .col_expr(import_run::Column::StoredPath, Expr::value(None::<String>))
            .filter(import_run::Column::Id.is_in(ids))
            .exec(&store.db)
            .await?;
    }
    Ok(old.into_iter().filter_map(|r| r.stored_path).collect())
}
