//! Upload of a plan file (資料4-1 evaluation or schedule layout, CSV or Excel): the form, and the
//! import through the one import pipeline ([`gigaops_store::imports::run`], kind `plan`) — the same
//! path as `gigaops import plan` and `/imports`; here it runs within the request (plan files are small). The
//! upload is saved under its own file name in a temporary folder (so messages name the user's file),
//! read, checked and imported in one transaction; with 「確認のみ」 nothing is written. The page shows
//! the counts (新規・更新・変更なし) or every error as `file:row:column: value — expected`.

use crate::auth::{Capability, SignedIn};
use crate::csrf::MAX_UPLOAD_BYTES;
use crate::errors::{AppError, AppResult};
use crate::page::{render_with, Layout, Section};
use crate::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use gigaops_ingest::ImportKind;
use gigaops_store::imports::{self, ImportOptions, ImportOutcome, ImportRequest, Progress};
use gigaops_store::StoreError;

const TITLE: &str = "推進計画ファイルの取り込み";

#[derive(Template)]
#[template(path = "plan/import.html")]
struct ImportPage {
    layout: Layout,
    /// The form as sent (kept after an error).
    plan: String,
    sheet: String,
    dry_run: bool,
    /// What the import did (or, with 確認のみ, would do).
    outcome: Option<ImportOutcome>,
    /// Every problem, as `file:row:column: value — expected` (or one message for the whole file).
    errors: Vec<String>,
    max_mib: usize,
}

/// The fields of the upload form.
#[derive(Debug, Default)]
struct UploadForm {
    plan: String,
    sheet: String,
    dry_run: bool,
    /// The file's name as the browser sent it, and its bytes.
    file: Option<(String, Bytes)>,
}

async fn page(
    me: &SignedIn,
    status: StatusCode,
    form: &UploadForm,
    outcome: Option<ImportOutcome>,
    errors: Vec<String>,
) -> AppResult<Response> {
    render_with(
        status,
        &ImportPage {
            layout: me.layout(TITLE, Section::Plan).await?,
            plan: form.plan.clone(),
            sheet: form.sheet.clone(),
            dry_run: form.dry_run,
            outcome,
            errors,
            max_mib: MAX_UPLOAD_BYTES / (1024 * 1024),
        },
    )
}

/// `GET /plan/import`: the empty form.
pub(super) async fn form(me: SignedIn) -> AppResult<Response> {
    me.access.require(Capability::ImportPlan)?;
    page(&me, StatusCode::OK, &UploadForm::default(), None, Vec::new()).await
}

fn multipart_error(e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge { limit: MAX_UPLOAD_BYTES }
    } else {
        AppError::BadRequest(
            "送信されたフォームを読み取れません。ページを読み込み直して、もう一度送ってください。".into(),
        )
    }
}

async fn read_form(mut multipart: Multipart) -> AppResult<UploadForm> {
    let mut f = UploadForm::default();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name().unwrap_or_default() {
            "plan" => f.plan = field.text().await.map_err(multipart_error)?.trim().to_string(),
            "sheet" => f.sheet = field.text().await.map_err(multipart_error)?.trim().to_string(),
            "dry_run" => f.dry_run = !field.text().await.map_err(multipart_error)?.is_empty(),
            "file" => {
                let name = field.file_name().unwrap_or_default().to_string();
                let bytes = field.bytes().await.map_err(multipart_error)?;
                if !name.is_empty() || !bytes.is_empty() {
                    f.file = Some((name, bytes));
                }
            }
            _ => {}
        }
    }
    Ok(f)
}

/// `POST /plan/import` (multipart: `csrf_token`, `file`, `plan`, `sheet`, `dry_run`).
pub(super) async fn upload(
    State(state): State<AppState>,
    me: SignedIn,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<Response> {
    me.access.require(Capability::ImportPlan)?;
    let multipart = multipart
        .map_err(|_| AppError::BadRequest("ファイルはフォーム（multipart/form-data）で送ってください".into()))?;
    let form = read_form(multipart).await?;
    let Some((sent_name, bytes)) = &form.file else {
        let msg = "取り込むファイルを選んでください（.csv または .xlsx）".to_string();
        return page(&me, StatusCode::UNPROCESSABLE_ENTITY, &form, None, vec![msg]).await;
    };
    let name = crate::http::upload_name(sent_name);
    let dir = tempfile::tempdir().map_err(AppError::internal)?;
    let path = dir.path().join(crate::http::stored_upload_name(&name));
    tokio::fs::write(&path, bytes).await.map_err(AppError::internal)?;
    let options = ImportOptions {
        sheet: Some(form.sheet.clone()).filter(|s| !s.is_empty()),
        plan: Some(form.plan.clone()).filter(|s| !s.is_empty()),
        ..Default::default()
    };
    let progress = Progress::default();
    let request = ImportRequest {
        kind: ImportKind::Plan,
        path: &path,
        display_name: Some(name.as_str()),
        options,
        imported_by: Some(me.user().email.clone()),
        dry_run: form.dry_run,
        run_id: None,
        progress: &progress,
    };
    let (_, result) = imports::run(&state.store, me.access.municipality_id(), request).await;
    drop(dir);
    match result {
        Ok(out) => {
            tracing::info!(file = %name, rows = out.rows, inserted = out.inserted, updated = out.updated,
                dry_run = out.dry_run, user.id = me.user().id, "推進計画ファイルを取り込みました");
            page(&me, StatusCode::OK, &form, Some(out), Vec::new()).await
        }
        Err(StoreError::Rows(errors)) => page(&me, StatusCode::UNPROCESSABLE_ENTITY, &form, None, errors).await,
        Err(StoreError::Rule(msg) | StoreError::NotFound(msg) | StoreError::Conflict(msg)) => {
            page(&me, StatusCode::UNPROCESSABLE_ENTITY, &form, None, vec![msg]).await
        }
        Err(e) => Err(e.into()),
    }
}
