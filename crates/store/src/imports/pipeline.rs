//! The one entry point of every import — CLI, web upload, demo and tests: [`run`].
//!
//! Adding a kind means a reader in `gigaops_ingest` (its records implement
//! `gigaops_ingest::PreviewRow`), a store function that ends in [`super::finish`], and one arm in
//! [`run`]'s match.

use super::{ImportOutcome, ImportSource};
use crate::{fleet, plan, schools, usage, Result, Store, StoreError};
use chrono::NaiveDate;
use gigaops_domain::YearMonth;
use gigaops_ingest::{ColumnUse, ImportKind, PreviewRow, RowError, Table};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Records shown in a preview.
pub const SAMPLE_ROWS: usize = 10;

/// The options a kind takes, named as the CLI's options (`--as-of` → `as_of`). Options a kind
/// does not take are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportOptions {
    /// The workbook sheet to read (`None` = the first).
    pub sheet: Option<String>,
    /// `schools`: keep only schools whose name starts with this (e.g. `前橋市立`).
    pub name_prefix: Option<String>,
    /// `devices`: the inventory's date (default: today in Japan).
    pub as_of: Option<NaiveDate>,
    /// `usage`: a carrier mapping file (TOML text) and its file name.
    pub mapping: Option<(String, String)>,
    /// `usage`: replace months already imported with different values.
    pub replace: bool,
    /// `plan`: the plan's name (default: the file's 計画 column).
    pub plan: Option<String>,
}

/// One import to run.
pub struct ImportRequest<'a> {
    pub kind: ImportKind,
    /// The file to read. Its file name is the one in messages unless `display_name` is given.
    pub path: &'a Path,
    /// The file's name as the user gave it, for messages and `import_run.file_name`, when the
    /// file is stored under another name (web uploads are stored under a generated name);
    /// `None` = the name of `path`.
    pub display_name: Option<&'a str>,
    pub options: ImportOptions,
    /// E-mail of the user, or `cli` / `demo`.
    pub imported_by: Option<String>,
    /// Check and count only (a preview); nothing is written and no `import_run` row is added.
    pub dry_run: bool,
    /// The web job this import completes (see [`super::jobs`]).
    pub run_id: Option<i64>,
    /// Where the import reports its progress (rows read, phase).
    pub progress: &'a Progress,
}

/// The progress of a running import, shared with whoever shows it.
#[derive(Debug, Default)]
pub struct Progress {
    rows: AtomicU64,
    phase: Mutex<String>,
}

impl Progress {
    /// Rows read so far.
    pub fn rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }
    /// What the import is doing now (Japanese).
    pub fn phase(&self) -> String {
        self.phase.lock().map(|p| p.clone()).unwrap_or_default()
    }
    fn set_phase(&self, p: &str) {
        if let Ok(mut g) = self.phase.lock() {
            *g = p.to_string();
        }
    }
    fn set_rows(&self, n: u64) {
        self.rows.store(n, Ordering::Relaxed);
    }
}

/// What a preview shows of a file: how it was read, which column is which field, and the first
/// records as they will be stored. Stored as JSON with a web job.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Preview {
    /// The detected format, e.g. `Microsoft Intune のエクスポート`, `通信事業者の明細（月ごと、単位 KB）`.
    pub format: Option<String>,
    /// `UTF-8`, `UTF-8（BOM付き）`, `Shift_JIS(CP932)` or `Excel ブック`.
    pub encoding: Option<String>,
    /// The sheet read, and every sheet of the workbook (empty for CSV).
    pub sheet: Option<String>,
    pub sheets: Vec<String>,
    /// Each header column and the field it is read as.
    pub columns: Vec<ColumnUse>,
    /// The fields of [`Preview::sample`]'s rows.
    pub sample_fields: Vec<String>,
    /// The first [`SAMPLE_ROWS`] records, as they will be stored.
    pub sample: Vec<Vec<String>>,
    /// Data rows the file is estimated to hold (CSV: lines less the header; workbooks: unknown).
    pub rows_total: Option<i64>,
    /// The import's warnings (`file:row:column: value — note`), e.g. a check-digit mismatch.
    pub warnings: Vec<String>,
}

/// Runs one import: opens the file, maps its headers, reads and checks every row with the kind's
/// reader, and hands the records to the kind's store function, which writes in one transaction and
/// ends in [`super::finish`] (dry run, or commit with one `import_run` row).
///
/// Returns the preview (as far as the file could be read) and the outcome. Errors:
/// [`StoreError::Rows`] with every problem as `file:row:column: value — expected` — the file cannot
/// be opened or read, columns are missing, rows are bad, or the database refuses them; nothing is
/// written then. [`StoreError::Db`] when the database fails.
///
/// An import that is not a web job (`run_id` is `None`) and writes (not `dry_run`) is registered
/// first as a running job ([`super::jobs::claim`]), so that it runs alone in its municipality and
/// the history shows it while it runs; [`StoreError::Rule`] names the other import when one is
/// running. On PostgreSQL it beats every few seconds, like a web job.
pub async fn run(store: &Store, municipality_id: i64, mut req: ImportRequest<'_>) -> (Preview, Result<ImportOutcome>) {
    let mut preview = Preview::default();
    let claimed = if req.run_id.is_none() && !req.dry_run {
        let file_name = req.display_name.map(str::to_string).unwrap_or_else(|| {
            req.path.file_name().map_or_else(|| req.path.display().to_string(), |n| n.to_string_lossy().into_owned())
        });
        match super::jobs::claim(store, municipality_id, req.kind, &file_name, req.imported_by.as_deref()).await {
            Ok(id) => Some(id),
            Err(e) => return (preview, Err(e)),
        }
    } else {
        None
    };
    req.run_id = req.run_id.or(claimed);
    let out = {
        let work = run_inner(store, municipality_id, &req, &mut preview);
        let beats = claimed.filter(|_| store.backend() == sea_orm::DbBackend::Postgres);
        let progress = req.progress;
        // Beats beside the import, never instead of it: a heartbeat waiting for the job row that
        // the import's transaction has just updated must not stop that transaction's commit.
        let beating = async move {
            if let Some(id) = beats {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    if let Err(e) = super::jobs::heartbeat(store, id, progress.rows(), &progress.phase()).await {
                        tracing::warn!(error = %e, "取り込みの進み具合を記録できませんでした");
                    }
                }
            }
            std::future::pending::<std::convert::Infallible>().await
        };
        tokio::select! {
            r = work => r,
            never = beating => match never {},
        }
    };
    if let (Some(id), Err(_)) = (claimed, &out) {
        if let Err(e) = super::jobs::release(store, id).await {
            tracing::warn!(error = %e, id, "失敗した取り込みの記録を消せませんでした");
        }
    }
    if let Ok(o) = &out {
        preview.warnings = o.warnings.clone();
    }
    (preview, out)
}

fn file_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Rows(vec![e.to_string()])
}

fn row_errors(es: &[RowError]) -> StoreError {
    StoreError::Rows(es.iter().map(ToString::to_string).collect())
}

/// Lines of a text file less one (the header): the estimate of its data rows.
fn count_rows(path: &Path) -> Option<i64> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut lines, mut last) = (0i64, b'\n');
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as i64;
        last = buf[n - 1];
    }
    if last != b'\n' {
        lines += 1;
    }
    Some((lines - 1).max(0))
}

/// Today in Japan.
fn today_jst() -> NaiveDate {
    gigaops_domain::calendar::jst_date(chrono::Utc::now())
}

/// Wraps a reader's items so that the first [`SAMPLE_ROWS`] records are kept for the preview and
/// the row count goes to `progress`.
fn watched<'a, T: PreviewRow + Send + 'a>(
    items: impl Iterator<Item = std::result::Result<T, Vec<RowError>>> + Send + 'a,
    sample: &'a Mutex<Vec<Vec<(&'static str, String)>>>,
    progress: &'a Progress,
) -> impl Iterator<Item = std::result::Result<T, Vec<RowError>>> + Send + 'a {
    let mut n = 0u64;
    items.inspect(move |r| {
        n += 1;
        if n.is_multiple_of(4096) {
            progress.set_rows(n);
        }
        if let Ok(rec) = r {
            if let Ok(mut s) = sample.lock() {
                if s.len() < SAMPLE_ROWS {
                    s.push(rec.preview());
                }
            }
        }
    })
}

/// Runs the async store call `$call` on the records `$r`. On a multi-threaded runtime the records
/// are read on a second thread, so that reading and writing overlap (the big kinds); on a
/// current-thread runtime (where blocking in place is not allowed) they are read in turn.
macro_rules! overlapped {
    ($items:expr, |$r:ident| $call:expr) => {{
        let items = $items;
        if tokio::runtime::Handle::current().runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            gigaops_ingest::read_ahead(items, |$r| {
                let fut = $call;
                tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(fut))
            })
        } else {
            let mut items = items;
            let $r = &mut items;
            $call.await
        }
    }};
}

async fn run_inner(
    store: &Store,
    municipality_id: i64,
    req: &ImportRequest<'_>,
    preview: &mut Preview,
) -> Result<ImportOutcome> {
    let progress = req.progress;
    progress.set_phase("ファイルを確認しています");
    let path = req.path.to_path_buf();
    let stored_name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    let file_name = req.display_name.map_or_else(|| stored_name.clone(), str::to_string);
    // messages of the reader name the stored file: show the user's name instead
    let shown = |msg: String| match msg.strip_prefix(stored_name.as_str()) {
        Some(rest) if file_name != stored_name => format!("{file_name}{rest}"),
        _ => msg,
    };
    let sheet = req.options.sheet.clone();
    // hashing, counting and opening a big file take a while: off the async workers
    let opened = tokio::task::spawn_blocking(move || {
        let sha = gigaops_ingest::file_sha256(&path);
        let is_text = matches!(
            path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).as_deref(),
            Some("csv" | "txt")
        );
        let total = if is_text { count_rows(&path) } else { None };
        (sha, total, gigaops_ingest::open_table(&path, sheet.as_deref()))
    })
    .await
    .map_err(|e| file_error(format!("{file_name}: ファイルを読み取れませんでした（{e}）")))?;
    let (sha, total, table) = opened;
    let sha = sha.map_err(|e| file_error(format!("{file_name}: ファイルを読み取れません（{e}）")))?;
    preview.rows_total = total;
    let mut table = table.map_err(|e| file_error(shown(e.to_string())))?;
    table.file = shown(std::mem::take(&mut table.file));
    preview.encoding = Some(table.encoding.to_string());
    preview.sheet = table.sheet.clone();
    preview.sheets = table.sheets.clone();
    let src = ImportSource {
        file_name,
        file_sha256: sha,
        imported_by: req.imported_by.clone(),
        dry_run: req.dry_run,
        run_id: req.run_id,
    };
    let sample = Mutex::new(Vec::new());
    let on_rows = |n: u64| progress.set_rows(n);
    progress.set_phase("行を読み込み、検査しています");
    let m = municipality_id;
    let kind = req.kind;
    preview.columns = kind.column_map(&table, &[]);
    let out = match kind {
        ImportKind::Schools => {
            preview.format = Some(schools_format(&table).into());
            let reader = gigaops_ingest::schools::read(&mut table).map_err(file_error)?;
            let (records, errors) = gigaops_ingest::collect_rows(watched(reader, &sample, progress));
            if !errors.is_empty() {
                return Err(row_errors(&errors));
            }
            schools::import(store, m, &src, records, req.options.name_prefix.as_deref()).await
        }
        ImportKind::Devices => {
            let as_of = req.options.as_of.unwrap_or_else(today_jst);
            let reader = gigaops_ingest::devices::read(&mut table).map_err(file_error)?;
            preview.format = Some(reader.format().label_ja().into());
            let items = watched(reader, &sample, progress);
            overlapped!(items, |records| fleet::devices::import(store, m, &src, records, as_of, on_rows))
        }
        ImportKind::Incidents => {
            preview.format = Some("gigaops 標準形式（破損・故障・紛失の記録）".into());
            let reader = gigaops_ingest::incidents::read(&mut table).map_err(file_error)?;
            fleet::events::import_incidents(store, m, &src, watched(reader, &sample, progress)).await
        }
        ImportKind::Movements => {
            preview.format = Some("gigaops 標準形式（端末の移動）".into());
            let reader = gigaops_ingest::movements::read(&mut table).map_err(file_error)?;
            fleet::events::import_movements(store, m, &src, watched(reader, &sample, progress)).await
        }
        ImportKind::Lines => {
            preview.format = Some("gigaops 標準形式（LTE 回線）".into());
            let reader = gigaops_ingest::usage::read_lines(&mut table).map_err(file_error)?;
            let items = watched(reader, &sample, progress);
            overlapped!(items, |records| usage::import_lines(store, m, &src, records, on_rows))
        }
        ImportKind::Usage => {
            let mapping = match &req.options.mapping {
                Some((name, text)) => Some(gigaops_ingest::usage::UsageMapping::parse(name, text).map_err(file_error)?),
                None => None,
            };
            if let Some(mp) = &mapping {
                let mut named = vec![(mp.line_id.clone(), "line_id"), (mp.usage.clone(), "usage_volume")];
                named.extend(mp.month.clone().map(|c| (c, "month")));
                named.extend(mp.date.clone().map(|c| (c, "date")));
                preview.columns = kind.column_map(&table, &named);
            }
            let line_label = preview
                .columns
                .iter()
                .find(|c| c.field.as_deref() == Some("line_id"))
                .map_or_else(|| "line_id".to_string(), |c| c.header.clone());
            let latest = YearMonth::of(today_jst());
            let (layout, reader) =
                gigaops_ingest::usage::read_usage(&mut table, mapping.as_ref(), latest).map_err(file_error)?;
            preview.format = Some(format!(
                "通信事業者の明細（{}ごと、単位 {}、列「{}」{}）",
                if layout.daily { "日" } else { "月" },
                layout.unit.label(),
                layout.usage_column,
                req.options.mapping.as_ref().map(|(n, _)| format!("、対応表 {n}")).unwrap_or_default()
            ));
            let cols = usage::UsageColumns { line: line_label, month: String::new(), usage: layout.usage_column };
            let replace = req.options.replace;
            let items = watched(reader, &sample, progress);
            overlapped!(items, |records| usage::import_usage(store, m, &src, &cols, records, replace, on_rows))
        }
        ImportKind::Plan => {
            let file = gigaops_ingest::plan::read(&mut table).map_err(|e| match e {
                gigaops_ingest::plan::ReadError::Rows(es) => row_errors(&es),
                gigaops_ingest::plan::ReadError::File(f) => file_error(f),
            })?;
            preview.format = Some(
                match file.layout {
                    gigaops_ingest::plan::Layout::Evaluation => "資料4-1（年度ごとの評価）",
                    gigaops_ingest::plan::Layout::Schedule => "計画のスケジュール（線表）",
                }
                .into(),
            );
            if let Ok(mut s) = sample.lock() {
                s.extend(file.entries.iter().take(SAMPLE_ROWS).map(PreviewRow::preview));
                let room = SAMPLE_ROWS.saturating_sub(s.len());
                s.extend(file.bars.iter().take(room).map(PreviewRow::preview));
            }
            progress.set_rows((file.entries.len() + file.bars.len()) as u64);
            plan::import(store, m, &src, file, req.options.plan.as_deref()).await
        }
    };
    let sample = sample.into_inner().unwrap_or_default();
    if let Some(first) = sample.first() {
        preview.sample_fields = first.iter().map(|(f, _)| f.to_string()).collect();
    }
    preview.sample = sample.into_iter().map(|r| r.into_iter().map(|(_, v)| v).collect()).collect();
    progress.set_phase(if out.is_ok() { "完了" } else { "エラー" });
    out
}

/// The label of a school list: MEXT's 学校コード list or gigaops' simple list.
fn schools_format(table: &Table) -> &'static str {
    if table.column(&["本分校", "都道府県番号", "学校所在地"]).is_some() {
        "文部科学省 学校コード一覧"
    } else {
        "gigaops 標準形式（school_code,name,kind）"
    }
}
