//! `TestApp`: a fresh database on one backend with the fixture of `testdata/` (or the demo of
//! `gigaops demo`, [`TestApp::spawn_demo`]) loaded through the normal import pipeline, one account
//! per role, and the real server (`gigaops_web::serve`) listening on 127.0.0.1 with a free port.

use gigaops_ingest::ImportKind;
use gigaops_store::imports::ImportOptions;
use gigaops_store::testing::{self, fresh_store, Backend};
use gigaops_store::users::Role;
use gigaops_store::{municipalities, users, Store};
use reqwest::header::HeaderMap;
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use std::path::{Path, PathBuf};

/// Password of every test account.
pub const PASSWORD: &str = "correct-horse-battery-staple";
pub const ADMIN: &str = "admin@test.gigaops.jp";
pub const BOARD: &str = "board@test.gigaops.jp";
pub const SCHOOL: &str = "school@test.gigaops.jp";
pub const SUPPORT: &str = "support@test.gigaops.jp";
pub const VIEWER: &str = "viewer@test.gigaops.jp";

/// 前橋市立桃井小学校: the school user's school.
pub const MOMOI: &str = "B110210000017";
/// 前橋市立中川小学校: another school.
pub const NAKAGAWA: &str = "B110210000026";
/// 前橋市立前橋高等学校.
pub const KOKO: &str = "D110210000610";

pub struct TestApp {
    pub backend: Backend,
    pub store: Store,
    pub base: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name)
}

/// The generated inventory (see `testdata/README.md`).
pub fn inventory_csv() -> String {
    let mut s = String::from("serial_number,model,model_group,device_class,status,school_code,asset_tag\n");
    for i in 1..=55 {
        s += &format!("TMOMO{i:04},iPad（第8世代）,iPad（小中）,learner,deployed,{MOMOI},MBS-IP-9{i:05}\n");
    }
    for i in 1..=3 {
        s += &format!("TNAKA{i:04},iPad（第8世代）,iPad（小中）,learner,deployed,{NAKAGAWA},MBS-IP-8{i:05}\n");
    }
    for i in 1..=3 {
        s += &format!("TSPARE{i:03},iPad（第8世代）,iPad（小中）,learner,spare,,MBS-IP-7{i:05}\n");
    }
    s += &format!("TCB0001,Lenovo 300e Chromebook Gen 2,Chromebook（高）,learner,deployed,{KOKO},MBS-CB-900001\n");
    s += "TCBSP001,Lenovo 300e Chromebook Gen 2,Chromebook（高）,learner,spare,,MBS-CB-900002\n";
    s
}

/// Loads the fixture into a new municipality and creates one user per role.
///
/// The inventory goes through the devices import, which needs a multi-threaded runtime
/// (`#[tokio::test(flavor = "multi_thread")]`).
pub async fn load_fixture(store: &Store) {
    let m = municipalities::ensure(store, "maebashi", "前橋市教育委員会（テスト）").await.expect("municipality");
    let prefixed = ImportOptions { name_prefix: Some("前橋市立".into()), ..Default::default() };
    testing::import(store, m.id, ImportKind::Schools, &testdata("schools.csv"), prefixed)
        .await
        .expect("import schools");

    let dir = tempfile::tempdir().expect("temp dir");
    let inv = dir.path().join("inventory.csv");
    std::fs::write(&inv, inventory_csv()).expect("write inventory");
    let as_of = chrono::NaiveDate::from_ymd_opt(2021, 4, 1).expect("date");
    let options = ImportOptions { as_of: Some(as_of), ..Default::default() };
    testing::import(store, m.id, ImportKind::Devices, &inv, options).await.expect("import devices");

    let incidents = testdata("incidents.csv");
    testing::import(store, m.id, ImportKind::Incidents, &incidents, ImportOptions::default())
        .await
        .expect("import incidents");

    let accounts = [
        (ADMIN, "管理 太郎", Role::Admin, vec![]),
        (BOARD, "教委 花子", Role::Board, vec![]),
        (SCHOOL, "桃井 校長", Role::School, vec![MOMOI.to_string()]),
        (SUPPORT, "支援 次郎", Role::Support, vec![]),
        (VIEWER, "委員 三郎", Role::Viewer, vec![]),
    ];
    for (email, name, role, schools) in accounts {
        users::add(store, m.id, email, name, PASSWORD, role, &schools).await.expect("add user");
    }
}

impl TestApp {
    /// A fresh database on `backend` with the fixture, served on a free port.
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, gigaops_web::Settings::default()).await
    }

    /// [`TestApp::spawn`] with server settings (e.g. SMTP to a test sink).
    pub async fn spawn_with(backend: Backend, settings: gigaops_web::Settings) -> TestApp {
        let store = fresh_store(backend).await;
        load_fixture(&store).await;
        Self::serve(backend, store, settings).await
    }

    /// A fresh database on `backend` with exactly the demo of `gigaops demo`
    /// (`gigaops_store::demo::ensure`: 前橋市's schools, fleet, 2022 usage and escalation, the two
    /// borrowed plans, one account per role — `gigaops_store::demo::ACCOUNTS`, password
    /// `gigaops_store::demo::PASSWORD`), served on a free port. Needs a multi-threaded runtime.
    pub async fn spawn_demo(backend: Backend) -> TestApp {
        let store = fresh_store(backend).await;
        let created = gigaops_store::demo::ensure(&store, &mut |_| {}).await.expect("load the demo");
        assert!(created, "[{backend:?}] a fresh database has no demo yet");
        Self::serve(backend, store, gigaops_web::Settings::default()).await
    }

    /// Serves `store` on a free port once its health check answers. Uploads go to a fresh folder
    /// under the system's temp dir, whatever `settings` says.
    async fn serve(backend: Backend, store: Store, mut settings: gigaops_web::Settings) -> TestApp {
        settings.upload_dir = tempfile::tempdir().expect("upload dir").keep();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let s = store.clone();
        let server = tokio::spawn(async move {
            gigaops_web::serve_with(s, listener, settings).await.expect("serve");
        });
        let app = TestApp { backend, store, base: format!("http://{addr}"), server };
        // the server is ready once the health check answers
        let c = app.client();
        for _ in 0..100 {
            if let Ok(r) = c.get(app.url("/health")).send().await {
                if r.status() == StatusCode::OK {
                    return app;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("[{backend:?}] the server did not become healthy");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A browser-like client: keeps cookies, does not follow redirects (tests look at them), and
    /// gives up on a request after two minutes (a hung exchange fails its test instead of the run).
    pub fn client(&self) -> Client {
        Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .expect("client")
    }

    /// A client signed in as `email` (a fixture account).
    pub async fn login(&self, email: &str) -> Client {
        self.login_with(email, PASSWORD).await
    }

    /// A client signed in as `email` with `password` (e.g. a demo account).
    pub async fn login_with(&self, email: &str, password: &str) -> Client {
        let c = self.client();
        let page = self.get(&c, "/login").await;
        assert_eq!(page.status, StatusCode::OK, "[{:?}] login page", self.backend);
        let token = csrf_token(&page.body);
        let r = self.post(&c, "/login", &[("email", email), ("password", password), ("csrf_token", &token)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{:?}] login as {email}: {}", self.backend, r.body);
        c
    }

    pub async fn get(&self, c: &Client, path: &str) -> Page {
        Page::from(c.get(self.url(path)).send().await.expect("GET")).await
    }

    pub async fn post(&self, c: &Client, path: &str, form: &[(&str, &str)]) -> Page {
        Page::from(c.post(self.url(path)).form(form).send().await.expect("POST")).await
    }

    /// POST a `multipart/form-data` body (a file upload) built by [`multipart`].
    pub async fn post_multipart(&self, c: &Client, path: &str, (content_type, body): (String, Vec<u8>)) -> Page {
        Page::from(c.post(self.url(path)).header("content-type", content_type).body(body).send().await.expect("POST"))
            .await
    }

    /// GET, then follow redirects (same client, so cookies and flash messages carry).
    pub async fn follow(&self, c: &Client, mut page: Page) -> Page {
        for _ in 0..5 {
            if !page.status.is_redirection() {
                return page;
            }
            let to = page.location().to_string();
            page = self.get(c, &to).await;
        }
        panic!("too many redirects");
    }

    /// The CSRF token of the client's session, read from a page with a form.
    pub async fn token(&self, c: &Client) -> String {
        csrf_token(&self.get(c, "/").await.body)
    }

    /// The fleet report as JSON.
    pub async fn report_json(&self, c: &Client, fiscal_year: &str) -> serde_json::Value {
        let r = self.get(c, &format!("/fleet/report.json?fiscal_year={fiscal_year}")).await;
        assert_eq!(r.status, StatusCode::OK, "[{:?}] report.json", self.backend);
        serde_json::from_str(&r.body).expect("report JSON")
    }
}

/// A response, read.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Page {
    async fn from(r: reqwest::Response) -> Page {
        let status = r.status();
        let headers = r.headers().clone();
        let bytes = r.bytes().await.expect("body").to_vec();
        Page { status, headers, body: String::from_utf8_lossy(&bytes).into_owned(), bytes }
    }

    pub fn location(&self) -> &str {
        self.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// A `multipart/form-data` body as a browser sends it: the text `fields` in order, then the `file`
/// field (file name, bytes). Returns the content type (with its boundary) and the body.
pub fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----gigaopsTestBoundary7d1c";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    if let Some((file_name, bytes)) = file {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The value of the first `csrf_token` field of a page.
pub fn csrf_token(html: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker).unwrap_or_else(|| panic!("no csrf_token field in:\n{html}")) + marker.len();
    let token: String = html[start..].chars().take_while(|c| *c != '"').collect();
    assert_eq!(token.len(), 64, "token {token:?}");
    token
}

/// A month's incident total and spares left of a model group in a report JSON.
pub fn month(report: &serde_json::Value, group: &str, month: &str) -> (i64, i64) {
    let g = report["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["model_group"] == group)
        .unwrap_or_else(|| panic!("no group {group} in {report}"));
    let m = g["months"].as_array().expect("months").iter().find(|m| m["month"] == month).expect("month");
    (m["total"].as_i64().expect("total"), m["spare_remaining"].as_i64().expect("spare_remaining"))
}
