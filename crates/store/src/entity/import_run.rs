use sea_orm::entity::prelude::*;

/// One import: a committed import of the CLI or the demo, or a job of the web upload (preview,
/// then import on confirm) with its state, progress and preview. Who, when, which file (SHA-256)
/// and what changed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_run")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    /// The kind: `schools` / `devices` / … (`gigaops_ingest::ImportKind::as_str`).
    pub kind: String,
    pub file_name: String,
    pub file_sha256: String,
    pub imported_by: Option<String>,
    /// When the import (or the job) started.
    pub imported_at: DateTimeUtc,
    pub rows: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    /// `crate::imports::JobStatus::as_str`: previewing, ready, failed, running, committed,
    /// cancelled, interrupted.
    pub status: String,
    /// What the job is doing now (Japanese, for the progress display).
    pub phase: Option<String>,
    /// Rows read so far (progress).
    pub rows_read: i64,
    /// Rows the file is estimated to have (CSV: its line count less the header).
    pub rows_total: Option<i64>,
    pub error_count: i64,
    /// The kind's options as JSON (`crate::imports::ImportOptions`).
    pub options: Option<String>,
    /// Where the uploaded file is kept until it is imported or removed.
    pub stored_path: Option<String>,
    /// Size of the file, bytes.
    pub file_size: Option<i64>,
    /// The preview as JSON (`crate::imports::Preview`).
    pub preview: Option<String>,
    /// The uploader's schools (comma-separated `school.id`s) when a school user uploaded it: the
    /// school users who see the import.
    pub school_ids: Option<String>,
    /// A problem with the whole file or job (Japanese).
    pub message: Option<String>,
    /// Last sign of life of the job's worker.
    pub heartbeat_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
