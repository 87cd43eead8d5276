//! Sign-in back-off, no session row for anonymous visitors, body limits before the CSRF check,
//! and the cookie and cache headers.

use crate::app::{csrf_token, TestApp, BOARD, PASSWORD, VIEWER};
use gigaops_store::testing::{Backend, BACKENDS};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};

async fn sign_in(app: &TestApp, c: &reqwest::Client, email: &str, password: &str) -> crate::app::Page {
    let token = csrf_token(&app.get(c, "/login").await.body);
    app.post(c, "/login", &[("email", email), ("password", password), ("csrf_token", &token)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_are_slowed_down_per_account_and_address() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.client();
        for i in 1..=5 {
            let r = sign_in(&app, &c, BOARD, "wrong-password-123").await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "[{backend:?}] failure {i}");
        }
        // blocked after the fifth failure: even the right password is not checked
        let r = sign_in(&app, &c, BOARD, PASSWORD).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "[{backend:?}] {}", r.body);
        assert!(r.body.contains("ログインの試行が多すぎます") && r.body.contains("以降にもう一度お試しください"));
        assert!(r.header("retry-after").parse::<u64>().is_ok_and(|s| (1..=2).contains(&s)), "[{backend:?}]");
        assert!(r.body.contains(&format!("value=\"{BOARD}\"")), "the e-mail is kept");
        assert_eq!(app.get(&c, "/").await.status, StatusCode::SEE_OTHER, "[{backend:?}] still signed out");

        // after the wait (1 s) the right password works and resets the account's count
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        assert_eq!(sign_in(&app, &c, BOARD, PASSWORD).await.status, StatusCode::SEE_OTHER, "[{backend:?}]");
        let c = app.client();
        for i in 1..=4 {
            let r = sign_in(&app, &c, BOARD, "wrong-password-123").await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "[{backend:?}] counted anew: failure {i}");
        }

        // the address: 9 failures so far; 11 more on unknown accounts block it for every account
        for i in 0..11 {
            let r = sign_in(&app, &c, &format!("nobody{i}@test.gigaops.jp"), "wrong-password-123").await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "[{backend:?}] address failure {i}");
        }
        let r = sign_in(&app, &app.client(), VIEWER, PASSWORD).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "[{backend:?}] the address is blocked");
    }
}

/// Rows of the session table (SQLite `tower_sessions`, PostgreSQL `tower_sessions.session`).
async fn session_rows(app: &TestApp) -> i64 {
    let sql = match app.backend {
        Backend::Sqlite => "SELECT COUNT(*) AS n FROM tower_sessions",
        Backend::Postgres => "SELECT COUNT(*) AS n FROM tower_sessions.session",
    };
    let row = app.store.db.query_one(Statement::from_string(app.store.backend(), sql)).await.expect("count");
    row.expect("a row").try_get("", "n").expect("n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_visitors_store_no_session() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let before = session_rows(&app).await;
        for _ in 0..20 {
            let page = app.get(&app.client(), "/login").await;
            assert_eq!(page.status, StatusCode::OK, "[{backend:?}]");
            assert!(!page.header("set-cookie").contains("gigaops_session"), "[{backend:?}] no session cookie");
            let cookie = page.header("set-cookie").to_ascii_lowercase();
            assert!(cookie.starts_with("gigaops_login_csrf="), "[{backend:?}] {cookie}");
            assert!(cookie.contains("httponly") && cookie.contains("samesite=strict"), "{cookie}");
            assert!(cookie.contains("path=/login") && !cookie.contains("secure"), "{cookie}");
        }
        assert_eq!(session_rows(&app).await, before, "[{backend:?}] 20 anonymous GET /login");
        // a token of another visitor's form does not match this visitor's cookie
        let other = csrf_token(&app.get(&app.client(), "/login").await.body);
        let c = app.client();
        app.get(&c, "/login").await;
        let r = app.post(&c, "/login", &[("email", BOARD), ("password", PASSWORD), ("csrf_token", &other)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "[{backend:?}]");
        assert_eq!(session_rows(&app).await, before, "[{backend:?}] a refused sign-in stores nothing");
        app.login(BOARD).await;
        assert_eq!(session_rows(&app).await, before + 1, "[{backend:?}] the session is created at sign-in");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_of_anonymous_requests_are_refused_before_the_csrf_check() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.client();
        let token = csrf_token(&app.get(&c, "/login").await.body);
        let padding = "x".repeat(20 * 1024);
        let r = app.post(&c, "/login", &[("email", BOARD), ("password", &padding), ("csrf_token", &token)]).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "[{backend:?}]");
        assert!(r.body.contains("16 KiB までです"), "[{backend:?}] {}", r.body);
        let r = app.post(&c, "/imports", &[("padding", &padding)]).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "[{backend:?}] anonymous upload");
        // a signed-in user's form of the same size reaches the handler
        let c = app.login(BOARD).await;
        let token = app.token(&c).await;
        let r = app
            .post(
                &c,
                "/fleet/devices/TMOMO0001/incidents",
                &[("csrf_token", &token), ("kind", "damage"), ("occurred_on", "2022-07-15"), ("cause", &padding)],
            )
            .await;
        assert_ne!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "[{backend:?}]");
        assert_ne!(r.status, StatusCode::FORBIDDEN, "[{backend:?}]");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_not_stored_and_https_makes_cookies_secure() {
    let backend = Backend::Sqlite;
    let app = TestApp::spawn(backend).await;
    let c = app.login(BOARD).await;
    for path in ["/", "/usage/cases", "/fleet/devices/TMOMO0001", "/imports", "/fleet/report.csv", "/schools"] {
        let r = app.get(&c, path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.header("cache-control").contains("no-store"), "{path}: {}", r.header("cache-control"));
        assert_eq!(r.header("strict-transport-security"), "", "no HSTS without an https URL");
    }
    assert_eq!(app.get(&c, "/login").await.header("cache-control"), "no-store");
    assert!(app.get(&c, "/static/app.css").await.header("cache-control").contains("max-age="));

    let settings = gigaops_web::Settings {
        public_url: Some("https://gigaops.example.jp".into()),
        hsts: true,
        ..Default::default()
    };
    let app = TestApp::spawn_with(backend, settings).await;
    // the cookies are Secure: a client over plain http would not send them back, so send them by hand
    let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = app.get(&c, "/login").await;
    assert_eq!(page.header("strict-transport-security"), "max-age=31536000; includeSubDomains");
    let set = page.header("set-cookie").to_string();
    assert!(set.ends_with("; Secure"), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    let form = [("email", BOARD), ("password", PASSWORD), ("csrf_token", &csrf_token(&page.body))];
    let r = c.post(app.url("/login")).header("cookie", cookie).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookies: Vec<String> =
        r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_ascii_lowercase()).collect();
    let session = cookies.iter().find(|c| c.starts_with("gigaops_session=")).expect("session cookie");
    assert!(session.contains("secure") && session.contains("httponly"), "{session}");
    assert!(cookies.iter().any(|c| c.starts_with("gigaops_login_csrf=;") && c.contains("max-age=0")), "{cookies:?}");
}
