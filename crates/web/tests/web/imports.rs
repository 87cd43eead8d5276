//! `/imports`: upload → preview (format, encoding, column mapping, counts, first rows, errors) →
//! confirm or cancel, the background job's state in the database, the history, roles and the bad
//! inputs of the upload page, on both databases.

use crate::app::{csrf_token, multipart, Page, TestApp, ADMIN, BOARD, MOMOI, SCHOOL, SUPPORT, VIEWER};
use gigaops_store::testing::BACKENDS;
use reqwest::{Client, StatusCode};

/// The job id of a redirect to `/imports/{id}`.
pub(crate) fn job_id(page: &Page) -> i64 {
    page.location()
        .strip_prefix("/imports/")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a job redirect: {} {}", page.status, page.location()))
}

/// The `data-status` of a job page.
fn status(body: &str) -> String {
    let marker = "data-status=\"";
    let start = body.find(marker).map(|i| i + marker.len()).expect("job status");
    body[start..].chars().take_while(|c| *c != '"').collect()
}

/// Uploads `file` as `kind` with extra fields; returns the response (a redirect to the job, or back).
pub(crate) async fn upload(app: &TestApp, c: &Client, kind: &str, extra: &[(&str, &str)], file: (&str, &[u8])) -> Page {
    let token = csrf_token(&app.get(c, "/imports").await.body);
    let mut fields = vec![("csrf_token", token.as_str()), ("kind", kind)];
    fields.extend_from_slice(extra);
    app.post_multipart(c, "/imports", multipart(&fields, Some(file))).await
}

/// Polls the job page until its worker is done; returns the page.
pub(crate) async fn settled(app: &TestApp, c: &Client, id: i64) -> Page {
    for _ in 0..600 {
        let p = app.get(c, &format!("/imports/{id}")).await;
        assert_eq!(p.status, StatusCode::OK, "[{:?}] job page: {}", app.backend, p.body);
        if !matches!(status(&p.body).as_str(), "previewing" | "running") {
            return p;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("[{:?}] job {id} did not finish", app.backend);
}

async fn confirm(app: &TestApp, c: &Client, id: i64) -> Page {
    let page = app.get(c, &format!("/imports/{id}")).await;
    let r = app.post(c, &format!("/imports/{id}/confirm"), &[("csrf_token", &csrf_token(&page.body))]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "[{:?}] confirm", app.backend);
    settled(app, c, id).await
}

async fn device_count(app: &TestApp) -> i64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    gigaops_store::entity::device::Entity::find().count(&app.store.db).await.expect("count") as i64
}

fn devices_csv(n: usize, bad_row: Option<usize>) -> String {
    let mut s = String::from("serial_number,model,model_group,device_class,status,school_code,asset_tag\n");
    for i in 0..n {
        // file row = i + 2 (the header is row 1)
        let school = if bad_row == Some(i + 2) { "B11021000001X" } else { MOMOI };
        s += &format!("UP{i:08},iPad（第9世代）,iPad（小中）,learner,deployed,{school},A{i:08}\n");
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_confirm_history_and_reimport() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.login(BOARD).await;
        let before = device_count(&app).await;
        let csv = devices_csv(30, None);
        let r = upload(&app, &c, "devices", &[("as_of", "2024-04-01")], ("台帳 2024.csv", csv.as_bytes())).await;
        let id = job_id(&r);
        let p = settled(&app, &c, id).await;
        assert_eq!(status(&p.body), "ready", "[{backend:?}] {}", p.body);
        assert!(p.body.contains("gigaops 標準形式"), "[{backend:?}] the detected format");
        assert!(p.body.contains("id=\"job-encoding\">UTF-8<"), "[{backend:?}] the encoding");
        assert!(p.body.contains("<td>serial_number</td><td><code>serial_number</code>"), "[{backend:?}] mapping");
        assert!(p.body.contains("id=\"count-inserted\">30<"), "[{backend:?}] 30 new: {}", p.body);
        assert!(p.body.contains("<td>UP00000000</td>"), "[{backend:?}] the first row as stored");
        assert_eq!(device_count(&app).await, before, "[{backend:?}] a preview writes nothing");

        let done = confirm(&app, &c, id).await;
        assert_eq!(status(&done.body), "committed", "[{backend:?}] {}", done.body);
        assert_eq!(device_count(&app).await, before + 30, "[{backend:?}] imported on confirm");
        // a second confirm does nothing
        let again = app.post(&c, &format!("/imports/{id}/confirm"), &[("csrf_token", &csrf_token(&done.body))]).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER);
        assert_eq!(device_count(&app).await, before + 30, "[{backend:?}] confirmed once only");

        let history = app.get(&c, "/imports").await.body;
        assert!(history.contains("台帳 2024.csv") && history.contains("取り込み済み"), "[{backend:?}] history");
        assert!(history.contains(BOARD), "[{backend:?}] who imported");

        // the same file again: everything unchanged
        let r = upload(&app, &c, "devices", &[("as_of", "2024-04-01")], ("台帳 2024.csv", csv.as_bytes())).await;
        let p = settled(&app, &c, job_id(&r)).await;
        assert!(p.body.contains("id=\"count-unchanged\">30<"), "[{backend:?}] {}", p.body);
        assert!(p.body.contains("id=\"count-inserted\">0<"), "[{backend:?}]");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_write_nothing_and_say_why() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.login(ADMIN).await;
        let before = device_count(&app).await;

        // a usage file chosen as devices
        let usage = "line_id,month,usage_gb\n07040000000,2022-01,7.675\n";
        let r = upload(&app, &c, "devices", &[], ("usage-2022-01.csv", usage.as_bytes())).await;
        let id = job_id(&r);
        let p = settled(&app, &c, id).await;
        assert_eq!(status(&p.body), "failed", "[{backend:?}]");
        assert!(p.body.contains("必要な列がありません"), "[{backend:?}] {}", p.body);
        assert!(p.body.contains("id=\"likely-kind\""), "[{backend:?}] says which kind it looks like");
        let csv = app.get(&c, &format!("/imports/{id}/errors.csv")).await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(csv.bytes.starts_with(b"\xEF\xBB\xBF"), "CSV with BOM");
        assert!(csv.body.contains("必要な列がありません"), "[{backend:?}] the error in the CSV");

        // an empty file
        let r = upload(&app, &c, "devices", &[], ("empty.csv", b"")).await;
        let p = settled(&app, &c, job_id(&r)).await;
        assert_eq!(status(&p.body), "failed");
        assert!(p.body.contains("データ行がありません"), "[{backend:?}] {}", p.body);

        // one bad row among 100,000
        let big = devices_csv(100_000, Some(54_321));
        let r = upload(&app, &c, "devices", &[], ("big.csv", big.as_bytes())).await;
        let p = settled(&app, &c, job_id(&r)).await;
        assert_eq!(status(&p.body), "failed", "[{backend:?}]");
        assert!(p.body.contains("id=\"error-count\">1<"), "[{backend:?}] exactly one error: {}", p.body);
        assert!(p.body.contains("<td class=\"num\">54321</td>"), "[{backend:?}] the bad row's number");
        assert!(p.body.contains("B11021000001X"), "[{backend:?}] the bad value");
        assert_eq!(device_count(&app).await, before, "[{backend:?}] nothing partial");

        // a second upload while another job is being read: refused with a message, nothing stored
        let m = gigaops_store::municipalities::find(&app.store, "maebashi").await.expect("m").expect("maebashi").id;
        let running = gigaops_store::imports::jobs::NewJob {
            kind: gigaops_ingest::ImportKind::Devices,
            file_name: "first.csv".into(),
            file_sha256: String::new(),
            file_size: 0,
            stored_path: String::new(),
            options: Default::default(),
            imported_by: ADMIN.into(),
            school_ids: vec![],
        };
        gigaops_store::imports::jobs::create(&app.store, m, running).await.expect("a running job");
        let r = upload(&app, &c, "devices", &[], ("second.csv", devices_csv(3, None).as_bytes())).await;
        assert_eq!(r.location(), "/imports", "[{backend:?}] back to the form");
        let form = app.follow(&c, r).await;
        assert!(form.body.contains("別の取り込みが実行中です（"), "[{backend:?}] {}", form.body);
        assert!(form.body.contains(&format!("{ADMIN} が開始した「first.csv」の")), "[{backend:?}] {}", form.body);
        assert!(!form.body.contains("second.csv"), "[{backend:?}] the second upload is not recorded");
        gigaops_store::imports::jobs::interrupt_stale(&app.store, chrono::Utc::now()).await.expect("interrupt");

        // cancel a preview: only its import_run row remains, marked cancelled
        let r = upload(&app, &c, "devices", &[], ("cancel-me.csv", devices_csv(2, None).as_bytes())).await;
        let id = job_id(&r);
        let p = settled(&app, &c, id).await;
        assert_eq!(status(&p.body), "ready");
        let r = app.post(&c, &format!("/imports/{id}/cancel"), &[("csrf_token", &csrf_token(&p.body))]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let p = app.get(&c, &format!("/imports/{id}")).await;
        assert_eq!(status(&p.body), "cancelled", "[{backend:?}]");
        let job = gigaops_store::imports::jobs::get(&app.store, m, id).await.expect("job").expect("row");
        assert!(job.stored_path.is_some_and(|p| !std::path::Path::new(&p).exists()), "the file is gone");
        assert_eq!(device_count(&app).await, before, "[{backend:?}] a cancelled preview writes nothing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_over_the_limit_are_refused() {
    let settings = gigaops_web::Settings { max_upload_bytes: 4096, ..Default::default() };
    let app = TestApp::spawn_with(BACKENDS[0], settings).await;
    let c = app.login(BOARD).await;
    let r = upload(&app, &c, "devices", &[], ("big.csv", devices_csv(200, None).as_bytes())).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    let history = app.get(&c, "/imports").await.body;
    assert!(history.contains("id=\"history\"") && !history.contains("big.csv"), "nothing recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_decide_what_may_be_imported() {
    let app = TestApp::spawn(BACKENDS[0]).await;
    let viewer = app.login(VIEWER).await;
    assert_eq!(app.get(&viewer, "/imports").await.status, StatusCode::FORBIDDEN);

    let support = app.login(SUPPORT).await;
    let page = app.get(&support, "/imports").await.body;
    assert!(page.contains("value=\"incidents\"") && !page.contains("value=\"devices\""), "support: incidents only");
    let r = upload(&app, &support, "devices", &[], ("d.csv", devices_csv(1, None).as_bytes())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let board = app.login(BOARD).await;
    let r = upload(&app, &board, "devices", &[], ("d.csv", devices_csv(1, None).as_bytes())).await;
    let id = job_id(&r);
    settled(&app, &board, id).await;

    let school = app.login(SCHOOL).await;
    let page = app.get(&school, "/imports").await.body;
    assert!(page.contains("id=\"no-kinds\""), "school users upload nothing");
    assert!(!page.contains("d.csv"), "a school user does not see the board's imports");
    assert_eq!(app.get(&school, &format!("/imports/{id}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_very_long_file_name_is_stored_under_a_safe_name_and_shown_bounded() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.login(ADMIN).await;
        let long = format!("{}.csv", "漢".repeat(84));
        let r = upload(&app, &c, "devices", &[("as_of", "2024-04-01")], (&long, devices_csv(2, None).as_bytes())).await;
        let id = job_id(&r);
        let p = settled(&app, &c, id).await;
        assert_eq!(status(&p.body), "ready", "[{backend:?}] {}", p.body);
        assert!(p.body.contains("UP00000001"), "[{backend:?}] the preview's rows");
        assert!(p.body.contains(&"漢".repeat(40)), "[{backend:?}] the name, shown");
        let m = gigaops_store::municipalities::find(&app.store, "maebashi").await.unwrap().unwrap().id;
        let stored = gigaops_store::imports::jobs::get(&app.store, m, id).await.unwrap().unwrap();
        let on_disk = std::path::Path::new(stored.stored_path.as_deref().expect("stored"));
        let disk_name = on_disk.file_name().unwrap().to_string_lossy().into_owned();
        assert!(disk_name.is_ascii() && disk_name.ends_with(".csv"), "[{backend:?}] generated name {disk_name}");
        assert!(
            stored.file_name.starts_with("漢") && stored.file_name.len() <= 255,
            "[{backend:?}] {}",
            stored.file_name
        );

        // the plan page's own upload
        let sendai = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sendai-r5/plan-r5.csv"),
        )
        .unwrap();
        let token = csrf_token(&app.get(&c, "/plan/import").await.body);
        let r = app
            .post_multipart(
                &c,
                "/plan/import",
                multipart(&[("csrf_token", &token), ("dry_run", "on")], Some((&long, &sendai))),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "[{backend:?}] {}", r.body);
        assert!(r.body.contains("確認のみ") && r.body.contains(&"漢".repeat(40)), "[{backend:?}] {}", r.body);
    }
}
