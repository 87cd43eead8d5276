//! Sessions, login, CSRF and the public routes.

use crate::app::{csrf_token, TestApp, BOARD, PASSWORD};
use gigaops_store::testing::BACKENDS;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_need_a_session_but_health_and_static_do_not() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.client();

        let home = app.get(&c, "/").await;
        assert_eq!(home.status, StatusCode::SEE_OTHER, "[{backend:?}]");
        assert_eq!(home.location(), "/login");
        let list = app.get(&c, "/fleet/devices?q=TMOMO").await;
        assert_eq!(list.status, StatusCode::SEE_OTHER, "[{backend:?}]");
        assert_eq!(list.location(), "/login?next=%2Ffleet%2Fdevices%3Fq%3DTMOMO");
        for path in ["/fleet/report", "/fleet/report.csv", "/schools", "/fleet/devices/TMOMO0001"] {
            let r = app.get(&c, path).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "[{backend:?}] {path}");
            assert!(r.location().starts_with("/login?next="), "[{backend:?}] {path} → {}", r.location());
        }

        let health = app.get(&c, "/health").await;
        assert_eq!((health.status, health.body.as_str()), (StatusCode::OK, "ok"), "[{backend:?}]");

        let css = app.get(&c, "/static/app.css").await;
        assert_eq!(css.status, StatusCode::OK);
        assert_eq!(css.header("content-type"), "text/css; charset=utf-8");
        assert!(css.header("cache-control").contains("max-age="));
        assert!(css.body.contains("@media print") && css.body.contains("A4 landscape"));

        let login = app.get(&c, "/login").await;
        assert_eq!(login.status, StatusCode::OK);
        assert!(login.body.contains("<html lang=\"ja\">") && login.body.contains("ログイン"));
        assert!(login.body.contains("/static/app.css?v="), "stylesheet linked with its hash");
        csrf_token(&login.body);
        assert!(login.header("set-cookie").starts_with("gigaops_login_csrf="), "the form's token cookie, no session");
        let cookie = login.header("set-cookie").to_ascii_lowercase();
        assert!(cookie.contains("httponly") && cookie.contains("samesite=strict"), "{cookie}");
        assert!(!cookie.contains("secure"), "not Secure without an https public URL: {cookie}");
        assert_eq!(login.header("x-frame-options"), "DENY");
        assert!(login.header("content-security-policy").contains("default-src 'self'"));

        let missing = app.get(&c, "/no/such/page").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(missing.body.contains("見つかりません"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_stays_on_the_login_form() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.client();
        let token = csrf_token(&app.get(&c, "/login").await.body);
        let r =
            app.post(&c, "/login", &[("email", BOARD), ("password", "wrong-password!"), ("csrf_token", &token)]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "[{backend:?}]");
        assert!(r.body.contains("メールアドレスまたはパスワードが正しくありません"), "[{backend:?}]");
        assert!(r.body.contains(&format!("value=\"{BOARD}\"")), "the e-mail is kept");
        assert!(!r.body.contains("wrong-password!"), "the password is never echoed");
        assert_eq!(app.get(&c, "/").await.status, StatusCode::SEE_OTHER, "still signed out");

        let unknown = app
            .post(&c, "/login", &[("email", "nobody@test.gigaops.jp"), ("password", PASSWORD), ("csrf_token", &token)])
            .await;
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
        assert!(unknown.body.contains("メールアドレスまたはパスワードが正しくありません"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_goes_to_next_and_logout_ends_the_session() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.client();
        let page = app.get(&c, "/login?next=%2Ffleet%2Fdevices%3Fstatus%3Dspare").await;
        assert!(page.body.contains("value=\"/fleet/devices?status=spare\""), "[{backend:?}] next kept in the form");
        let token = csrf_token(&page.body);
        let r = app
            .post(
                &c,
                "/login",
                &[
                    ("email", BOARD),
                    ("password", PASSWORD),
                    ("next", "/fleet/devices?status=spare"),
                    ("csrf_token", &token),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{backend:?}] {}", r.body);
        assert_eq!(r.location(), "/fleet/devices?status=spare");

        let home = app.get(&c, "/").await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(home.body.contains("教委 花子") && home.body.contains("教育委員会"), "name and role");
        assert!(home.body.contains("前橋市教育委員会（テスト）"));
        let new_token = csrf_token(&home.body);
        assert_ne!(new_token, token, "the CSRF token is replaced at login");

        let out = app.post(&c, "/logout", &[("csrf_token", &new_token)]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        assert_eq!(out.location(), "/login");
        assert_eq!(app.get(&c, "/").await.status, StatusCode::SEE_OTHER, "[{backend:?}] signed out");

        // an outside `next` is ignored
        let c2 = app.client();
        let token = csrf_token(&app.get(&c2, "/login").await.body);
        let r = app
            .post(
                &c2,
                "/login",
                &[("email", BOARD), ("password", PASSWORD), ("next", "//evil.example/"), ("csrf_token", &token)],
            )
            .await;
        assert_eq!(r.location(), "/", "[{backend:?}]");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_the_csrf_token_are_forbidden() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;

        // the login form itself
        let c = app.client();
        app.get(&c, "/login").await;
        let r = app.post(&c, "/login", &[("email", BOARD), ("password", PASSWORD)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "[{backend:?}] login without token");
        assert!(r.body.contains("権限がありません"));
        let r =
            app.post(&c, "/login", &[("email", BOARD), ("password", PASSWORD), ("csrf_token", &"0".repeat(64))]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "[{backend:?}] login with a wrong token");
        assert_eq!(app.get(&c, "/").await.status, StatusCode::SEE_OTHER, "not signed in");

        // a signed-in form post
        let c = app.login(BOARD).await;
        let form = [("kind", "damage"), ("occurred_on", "2022-07-15"), ("cause", "画面割れ")];
        let r = app.post(&c, "/fleet/devices/TMOMO0001/incidents", &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "[{backend:?}] incident without token");
        let wrong = "f".repeat(64);
        let mut with_wrong = form.to_vec();
        with_wrong.push(("csrf_token", &wrong));
        let r = app.post(&c, "/fleet/devices/TMOMO0001/incidents", &with_wrong).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "[{backend:?}] incident with a wrong token");
        let r = app.post(&c, "/logout", &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "[{backend:?}] logout without token");

        // nothing changed
        let device = app.get(&c, "/fleet/devices/TMOMO0001").await;
        assert!(device.body.contains("id=\"device-status\">配置済<"), "[{backend:?}] still deployed");
        assert!(device.body.contains("事故の記録はありません"));

        // the token in a header works too (for scripts)
        let token = app.token(&c).await;
        let r = c
            .post(app.url("/fleet/devices/TMOMO0001/incidents"))
            .header("x-csrf-token", token)
            .form(&form)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "[{backend:?}] header token accepted");
    }
}
