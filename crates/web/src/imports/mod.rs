//! Imports from the browser: every kind of file through the one import pipeline, with a preview
//! before anything is written, background progress and the import history.
//!
//! | route | what | needs |
//! |---|---|---|
//! | `GET /imports` | the upload form (kinds the user may import) and the history | ViewImports |
//! | `POST /imports` (multipart: `kind`, `file`, `sheet`, the kind's options `as_of`, `name_prefix`, `mapping` (file), `replace`, `plan`, `csrf_token`) | stores the file, starts its preview, redirects to the job | `Access::may_import(kind)` |
//! | `GET /imports/{id}` | the job: progress (reloads itself), preview (format, encoding, column mapping, counts, first rows, errors), confirm / cancel | ViewImports + sees the job |
//! | `POST /imports/{id}/confirm` | imports the previewed file in the background | may import the kind |
//! | `POST /imports/{id}/cancel` | cancels a preview; only its `import_run` row (cancelled) remains | may import the kind |
//! | `POST /imports/{id}/sheet` (`sheet`) | previews another sheet of the same workbook | may import the kind |
//! | `GET /imports/{id}/errors.csv` | every error as row / column / value / expected (CSV, UTF-8 with BOM) | sees the job |
//!
//! Uploads are streamed to `<upload dir>/<job id>/<file name>` up to the configured limit (413
//! beyond) and removed when cancelled or after the configured days.

pub mod runner;

use crate::access_routes::{Routes, Rule};
use crate::auth::{Capability, SignedIn};
use crate::errors::{AppError, AppResult};
use crate::http;
use crate::page::{flash, render, Layout, Section};
use crate::AppState;
use askama::Template;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::Method;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use gigaops_domain::calendar::jst_minute;
use gigaops_ingest::ImportKind;
use gigaops_report::render::{to_csv, Cell, Table};
use gigaops_store::entity::{import_error, import_run};
use gigaops_store::imports::jobs::{self, JobStatus, NewJob};
use gigaops_store::imports::{ImportOptions, Preview};
use runner::Mode;
use tokio::io::AsyncWriteExt;

/// Errors shown on the job page (all are in the CSV).
const ERRORS_SHOWN: u64 = 200;
/// Imports listed in the history.
const HISTORY_ROWS: u64 = 50;
/// Largest mapping file (TOML), bytes.
const MAX_MAPPING_BYTES: usize = 256 * 1024;

pub(crate) fn routes() -> Routes {
    use Capability::ViewImports;
    // which kinds a user may upload and import: `Access::may_import`, checked by the handlers
    Routes::new()
        .get("/imports", index, Rule::Needs(ViewImports))
        // the handler streams the file to disk and enforces the configured limit itself
        .route("/imports", Method::POST, post(upload).layer(DefaultBodyLimit::disable()), Rule::Needs(ViewImports))
        .get("/imports/{id}", show, Rule::Scoped(ViewImports))
        .post("/imports/{id}/confirm", confirm, Rule::Scoped(ViewImports))
        .post("/imports/{id}/cancel", cancel, Rule::Scoped(ViewImports))
        .route(
            "/imports/{id}/sheet",
            Method::POST,
            post(sheet).layer(DefaultBodyLimit::max(64 * 1024)),
            Rule::Scoped(ViewImports),
        )
        .get("/imports/{id}/errors.csv", errors_csv, Rule::Scoped(ViewImports))
}

/// One kind offered by the form.
struct KindOption {
    value: &'static str,
    label: &'static str,
}

/// One line of the history.
struct HistoryRow {
    id: i64,
    kind: &'static str,
    file_name: String,
    imported_by: String,
    at: String,
    status: &'static str,
    status_class: &'static str,
    rows: i64,
    inserted: i64,
    updated: i64,
    unchanged: i64,
    errors: i64,
}

#[derive(Template)]
#[template(path = "imports/index.html")]
struct IndexPage {
    layout: Layout,
    kinds: Vec<KindOption>,
    history: Vec<HistoryRow>,
    max_mib: usize,
    today: String,
}

/// Japanese label of a stored import kind (also the home page's).
pub(crate) fn kind_label(kind: &str) -> &'static str {
    ImportKind::parse(kind).map_or("（不明）", ImportKind::label_ja)
}

fn status_class(s: JobStatus) -> &'static str {
    match s {
        JobStatus::Committed => "ok",
        JobStatus::Failed | JobStatus::Interrupted => "ng",
        _ => "",
    }
}

/// Whether the user sees job `job`: staff every job of their municipality, a school user the
/// uploads of their own schools' users.
fn sees(me: &SignedIn, job: &import_run::Model) -> bool {
    match me.access.school_scope() {
        None => true,
        Some(mine) => jobs::school_ids(job).iter().any(|s| mine.contains(s)),
    }
}

/// `GET /imports`.
pub(crate) async fn index(State(state): State<AppState>, me: SignedIn) -> AppResult<Response> {
    me.access.require(Capability::ViewImports)?;
    let m = me.access.municipality_id();
    let history = jobs::history(&state.store, m, HISTORY_ROWS * 4)
        .await?
        .into_iter()
        .filter(|j| sees(&me, j))
        .take(HISTORY_ROWS as usize)
        .map(|j| {
            let status = JobStatus::parse(&j.status);
            HistoryRow {
                id: j.id,
                kind: kind_label(&j.kind),
                file_name: j.file_name,
                imported_by: j.imported_by.unwrap_or_default(),
                at: jst_minute(j.imported_at),
                status: status.label_ja(),
                status_class: status_class(status),
                rows: j.rows,
                inserted: j.inserted,
                updated: j.updated,
                unchanged: j.unchanged,
                errors: j.error_count,
            }
        })
        .collect();
    let kinds = ImportKind::ALL
        .into_iter()
        .filter(|k| me.access.may_import(*k))
        .map(|k| KindOption { value: k.as_str(), label: k.label_ja() })
        .collect();
    render(&IndexPage {
        layout: me.layout("ファイルの取り込み", Section::Imports).await?,
        kinds,
        history,
        max_mib: state.imports.max_upload_bytes / (1024 * 1024),
        today: crate::page::today_tokyo().to_string(),
    })
}

fn multipart_error(e: MultipartError, limit: usize) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge { limit }
    } else {
        AppError::BadRequest(
            "送信されたフォームを読み取れません。ページを読み込み直して、もう一度送ってください。".into(),
        )
    }
}

/// The upload form's fields; the file is already on disk.
#[derive(Default)]
struct Upload {
    kind: String,
    options: ImportOptions,
    as_of: String,
    mapping: Option<(String, Vec<u8>)>,
    /// (the user's file name, stored path, bytes, SHA-256)
    file: Option<(String, std::path::PathBuf, i64, String)>,
}

/// Reads the form, streaming the file into `dir` (at most `limit` bytes).
async fn read_upload(mut mp: Multipart, dir: &std::path::Path, limit: usize) -> AppResult<Upload> {
    use sha2::Digest;
    let mut u = Upload::default();
    let text = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    while let Some(mut field) = mp.next_field().await.map_err(|e| multipart_error(e, limit))? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => {
                let sent = field.file_name().unwrap_or_default().to_string();
                let shown = http::upload_name(&sent);
                tokio::fs::create_dir_all(dir).await.map_err(AppError::internal)?;
                let path = dir.join(http::stored_upload_name(&shown));
                let mut out = tokio::fs::File::create(&path).await.map_err(AppError::internal)?;
                let (mut size, mut hash) = (0usize, sha2::Sha256::new());
                while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, limit))? {
                    size += chunk.len();
                    if size > limit {
                        return Err(AppError::TooLarge { limit });
                    }
                    hash.update(&chunk);
                    out.write_all(&chunk).await.map_err(AppError::internal)?;
                }
                out.flush().await.map_err(AppError::internal)?;
                if !sent.is_empty() || size > 0 {
                    u.file = Some((shown, path, size as i64, hex::encode(hash.finalize())));
                }
            }
            "mapping" => {
                let sent = field.file_name().unwrap_or_default().to_string();
                let bytes = field.bytes().await.map_err(|e| multipart_error(e, limit))?;
                if bytes.len() > MAX_MAPPING_BYTES {
                    return Err(AppError::TooLarge { limit: MAX_MAPPING_BYTES });
                }
                if !bytes.is_empty() {
                    u.mapping = Some((http::upload_name(&sent), bytes.to_vec()));
                }
            }
            other => {
                let value = field.text().await.map_err(|e| multipart_error(e, limit))?;
                match other {
                    "kind" => u.kind = value.trim().to_string(),
                    "sheet" => u.options.sheet = text(value),
                    "name_prefix" => u.options.name_prefix = text(value),
                    "plan" => u.options.plan = text(value),
                    "replace" => u.options.replace = !value.trim().is_empty(),
                    "as_of" => u.as_of = value.trim().to_string(),
                    _ => {}
                }
            }
        }
    }
    Ok(u)
}

/// The job's folder for an upload not yet numbered: a unique temporary name in the upload dir.
fn staging_dir(state: &AppState) -> std::path::PathBuf {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen();
    state.imports.upload_dir.join(format!("new-{n:016x}"))
}

/// `POST /imports`: stores the file, creates the job and starts its preview.
pub(crate) async fn upload(
    State(state): State<AppState>,
    me: SignedIn,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<Response> {
    me.access.require(Capability::ViewImports)?;
    let mp = multipart
        .map_err(|_| AppError::BadRequest("ファイルはフォーム（multipart/form-data）で送ってください".into()))?;
    let dir = staging_dir(&state);
    let read = read_upload(mp, &dir, state.imports.max_upload_bytes).await;
    let done = |dir: &std::path::Path| {
        let _ = std::fs::remove_dir_all(dir);
    };
    let u = match read {
        Ok(u) => u,
        Err(e) => {
            done(&dir);
            return Err(e);
        }
    };
    let refuse = |msg: String| async {
        done(&dir);
        flash(&me.session, msg).await?;
        Ok::<Response, AppError>(Redirect::to("/imports").into_response())
    };
    let Some(kind) = ImportKind::parse(&u.kind) else {
        return refuse("取り込むファイルの種類を選んでください".into()).await;
    };
    if !me.access.may_import(kind) {
        done(&dir);
        return Err(AppError::Forbidden);
    }
    let Some((file_name, path, size, sha)) = u.file else {
        return refuse("取り込むファイルを選んでください（.csv または .xlsx）".into()).await;
    };
    let mut options = u.options;
    if !u.as_of.is_empty() {
        match gigaops_domain::calendar::parse_date(&u.as_of) {
            Some(d) => options.as_of = Some(d),
            None => return refuse(format!("基準日「{}」は日付ではありません（YYYY-MM-DD）", u.as_of)).await,
        }
    }
    if let Some((name, bytes)) = u.mapping {
        match String::from_utf8(bytes) {
            Ok(text) => options.mapping = Some((name, text)),
            Err(_) => return refuse(format!("{name}: 対応表は UTF-8 の TOML ファイルにしてください")).await,
        }
    }
    let job = NewJob {
        kind,
        file_name,
        file_sha256: sha,
        file_size: size,
        stored_path: String::new(),
        options,
        imported_by: me.user().email.clone(),
        school_ids: me.access.school_scope().unwrap_or_default(),
    };
    start_job(&state, &me, job, &path).await
}

/// Creates the job for the file at `path`, moves the file into the job's folder and starts the
/// preview; redirects to the job page (or back to the form with the reason it was refused).
async fn start_job(state: &AppState, me: &SignedIn, mut job: NewJob, path: &std::path::Path) -> AppResult<Response> {
    let m = me.access.municipality_id();
    let staged = path.to_path_buf();
    let cleanup = || runner::remove_upload(&staged);
    job.stored_path = staged.display().to_string();
    let id = match jobs::create(&state.store, m, job.clone()).await {
        Ok(id) => id,
        Err(gigaops_store::StoreError::Rule(msg)) => {
            cleanup();
            flash(&me.session, msg).await?;
            return Ok(Redirect::to("/imports").into_response());
        }
        Err(e) => {
            cleanup();
            return Err(e.into());
        }
    };
    let dir = state.imports.upload_dir.join(id.to_string());
    let file_name = staged.file_name().map(|n| n.to_owned()).unwrap_or_default();
    let target = dir.join(file_name);
    let moved = async {
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::rename(&staged, &target).await
    }
    .await;
    if let Err(e) = moved {
        cleanup();
        return Err(AppError::internal(e));
    }
    if let Some(parent) = staged.parent() {
        let _ = std::fs::remove_dir(parent);
    }
    jobs::set_stored_path(&state.store, id, &target.display().to_string()).await?;
    tracing::info!(job = id, kind = job.kind.as_str(), file = %job.file_name, bytes = job.file_size,
        user.id = me.user().id, "取り込むファイルを受け付けました");
    runner::spawn(state, m, id, Mode::Preview);
    Ok(Redirect::to(&format!("/imports/{id}")).into_response())
}

/// One error row on the page.
struct ErrorRow {
    row: String,
    column: String,
    value: String,
    expected: String,
}

impl From<import_error::Model> for ErrorRow {
    fn from(e: import_error::Model) -> Self {
        ErrorRow {
            row: e.row_no.map(|r| r.to_string()).unwrap_or_default(),
            column: e.column_label,
            value: e.value,
            expected: e.expected,
        }
    }
}

#[derive(Template)]
#[template(path = "imports/job.html")]
struct JobPage {
    layout: Layout,
    id: i64,
    kind: &'static str,
    file_name: String,
    imported_by: String,
    at: String,
    size_kib: i64,
    status: JobStatus,
    status_label: &'static str,
    /// The page reloads itself while a worker is on the job.
    active: bool,
    phase: String,
    rows_read: u64,
    rows_total: Option<i64>,
    rows_per_second: Option<u64>,
    eta_seconds: Option<u64>,
    preview: Preview,
    rows: i64,
    inserted: i64,
    updated: i64,
    unchanged: i64,
    error_count: i64,
    errors: Vec<ErrorRow>,
    message: Option<String>,
    /// The kind the file's headers look like, when it is not the chosen one.
    likely_kind: Option<&'static str>,
    /// The user may confirm, cancel or choose another sheet.
    may_act: bool,
    /// Model names of the file that the register does not know (a link to add them as aliases).
    unknown_models: Vec<String>,
}

impl JobPage {
    fn percent(&self) -> Option<u64> {
        self.rows_total.filter(|t| *t > 0).map(|t| ((self.rows_read as f64 / t as f64) * 100.0).min(100.0) as u64)
    }
}

async fn job_for(state: &AppState, me: &SignedIn, id: i64) -> AppResult<import_run::Model> {
    me.access.require(Capability::ViewImports)?;
    let job = jobs::get(&state.store, me.access.municipality_id(), id).await?.ok_or(AppError::NotFound)?;
    if !sees(me, &job) {
        return Err(AppError::NotFound);
    }
    Ok(job)
}

/// `GET /imports/{id}`.
pub(crate) async fn show(State(state): State<AppState>, me: SignedIn, Path(id): Path<i64>) -> AppResult<Response> {
    let job = job_for(&state, &me, id).await?;
    let status = JobStatus::parse(&job.status);
    let live = state.imports.live(id);
    let (rows_read, phase) = match &live {
        Some(p) => (p.rows(), p.phase()),
        None => (job.rows_read.max(0) as u64, job.phase.clone().unwrap_or_default()),
    };
    let preview = jobs::preview(&job);
    let rows_total = preview.rows_total.or(job.rows_total);
    let elapsed = (chrono::Utc::now() - job.imported_at).num_milliseconds().max(1) as f64 / 1000.0;
    let rate = (status.is_active() && rows_read > 0).then(|| (rows_read as f64 / elapsed) as u64);
    let eta = match (rate, rows_total) {
        (Some(r), Some(t)) if r > 0 && t as u64 > rows_read => Some((t as u64 - rows_read) / r),
        _ => None,
    };
    let errors = jobs::errors(&state.store, id, Some(ERRORS_SHOWN)).await?.into_iter().map(ErrorRow::from).collect();
    let kind = ImportKind::parse(&job.kind);
    let headers: Vec<String> = preview.columns.iter().map(|c| c.header.clone()).collect();
    let likely_kind = match (kind, ImportKind::guess(&headers)) {
        (Some(k), Some(g)) if k != g && status == JobStatus::Failed => Some(g.label_ja()),
        _ => None,
    };
    let unknown_models = if kind == Some(ImportKind::Devices) {
        jobs::errors(&state.store, id, None)
            .await?
            .into_iter()
            .filter(|e| e.column_label == "model" && e.expected.contains("別名として登録"))
            .map(|e| e.value)
            .chain(preview.warnings.iter().filter_map(|w| model_in_warning(w)))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .take(20)
            .collect()
    } else {
        Vec::new()
    };
    let page = JobPage {
        layout: me.layout(format!("取り込み #{id}"), Section::Imports).await?,
        id,
        kind: kind_label(&job.kind),
        file_name: job.file_name.clone(),
        imported_by: job.imported_by.clone().unwrap_or_default(),
        at: jst_minute(job.imported_at),
        size_kib: (job.file_size.unwrap_or(0) + 1023) / 1024,
        status,
        status_label: status.label_ja(),
        active: status.is_active(),
        phase,
        rows_read,
        rows_total,
        rows_per_second: rate,
        eta_seconds: eta,
        preview,
        rows: job.rows,
        inserted: job.inserted,
        updated: job.updated,
        unchanged: job.unchanged,
        error_count: job.error_count,
        errors,
        message: job.message.clone(),
        likely_kind,
        may_act: kind.is_some_and(|k| me.access.may_import(k)),
        unknown_models,
    };
    let mut resp = render(&page)?;
    resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// The model name of a device import's warning about a model name the register does not know
/// (`file:row:model: NAME — 登録済みの機種名・機種の別名ではありません…`).
fn model_in_warning(w: &str) -> Option<String> {
    let e = gigaops_store::imports::ErrorLine::parse(w);
    (e.column == "model" && !e.value.is_empty() && e.expected.contains("別名ではありません")).then_some(e.value)
}

async fn acting_job(state: &AppState, me: &SignedIn, id: i64) -> AppResult<(import_run::Model, ImportKind)> {
    let job = job_for(state, me, id).await?;
    let kind = ImportKind::parse(&job.kind).ok_or(AppError::NotFound)?;
    if !me.access.may_import(kind) {
        return Err(AppError::Forbidden);
    }
    Ok((job, kind))
}

/// `POST /imports/{id}/confirm`.
pub(crate) async fn confirm(State(state): State<AppState>, me: SignedIn, Path(id): Path<i64>) -> AppResult<Response> {
    acting_job(&state, &me, id).await?;
    let m = me.access.municipality_id();
    if jobs::start(&state.store, m, id).await? {
        runner::spawn(&state, m, id, Mode::Commit);
    } else {
        flash(&me.session, "この取り込みは確認済みの状態ではないため、取り込めません（すでに開始・取り消し済みです）")
            .await?;
    }
    Ok(Redirect::to(&format!("/imports/{id}")).into_response())
}

/// `POST /imports/{id}/cancel`.
pub(crate) async fn cancel(State(state): State<AppState>, me: SignedIn, Path(id): Path<i64>) -> AppResult<Response> {
    let (job, _) = acting_job(&state, &me, id).await?;
    if jobs::cancel(&state.store, me.access.municipality_id(), id).await? {
        if let Some(p) = &job.stored_path {
            runner::remove_upload(std::path::Path::new(p));
        }
        flash(&me.session, format!("取り込み #{id}（{}）を取り消しました。何も書き込んでいません。", job.file_name))
            .await?;
        return Ok(Redirect::to("/imports").into_response());
    }
    flash(&me.session, "取り込み中または取り込み済みのため、取り消せません").await?;
    Ok(Redirect::to(&format!("/imports/{id}")).into_response())
}

/// The form of `POST /imports/{id}/sheet`.
#[derive(serde::Deserialize)]
pub(crate) struct SheetForm {
    sheet: String,
}

/// `POST /imports/{id}/sheet`: previews another sheet of the same workbook as a new job (the
/// current one is cancelled).
pub(crate) async fn sheet(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<SheetForm>,
) -> AppResult<Response> {
    let (job, kind) = acting_job(&state, &me, id).await?;
    let Some(stored) = job.stored_path.clone() else {
        flash(&me.session, "アップロードされたファイルが残っていません。もう一度アップロードしてください").await?;
        return Ok(Redirect::to("/imports").into_response());
    };
    if !jobs::cancel(&state.store, me.access.municipality_id(), id).await? {
        flash(&me.session, "取り込み中または取り込み済みのため、シートを変えられません").await?;
        return Ok(Redirect::to(&format!("/imports/{id}")).into_response());
    }
    let from = std::path::PathBuf::from(&stored);
    let staged = staging_dir(&state).join(from.file_name().unwrap_or_default());
    let copied = async {
        tokio::fs::create_dir_all(staged.parent().unwrap_or(&state.imports.upload_dir)).await?;
        tokio::fs::rename(&from, &staged).await
    }
    .await;
    copied.map_err(AppError::internal)?;
    runner::remove_upload(&from);
    let mut options = jobs::options(&job);
    options.sheet = Some(form.sheet.trim().to_string()).filter(|s| !s.is_empty());
    let new = NewJob {
        kind,
        file_name: job.file_name.clone(),
        file_sha256: job.file_sha256.clone(),
        file_size: job.file_size.unwrap_or(0),
        stored_path: String::new(),
        options,
        imported_by: me.user().email.clone(),
        school_ids: me.access.school_scope().unwrap_or_default(),
    };
    start_job(&state, &me, new, &staged).await
}

/// `GET /imports/{id}/errors.csv`: every error of the job (UTF-8 with BOM).
pub(crate) async fn errors_csv(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let job = job_for(&state, &me, id).await?;
    let mut t = Table::new("取り込みエラー", ["ファイル", "行", "列", "値", "期待される内容"]);
    for e in jobs::errors(&state.store, id, None).await? {
        t.rows.push(vec![
            Cell::text(job.file_name.clone()),
            e.row_no.map_or(Cell::Empty, |r| Cell::text(r.to_string())),
            Cell::text(e.column_label),
            Cell::text(e.value),
            Cell::text(e.expected),
        ]);
    }
    let name = format!("取り込みエラー_{id}_{}.csv", job.file_name);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, http::attachment(&name, &format!("import-errors-{id}.csv"))),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        to_csv(&t),
    )
        .into_response())
}
