//! Limits on what a request may ask for, on both backends: the length of a plan entry's comment
//! and the span of months of the usage reports.

use crate::app::{csrf_token, TestApp, BOARD};
use crate::plan::{entry_id, load_sendai};
use gigaops_domain::plan::MAX_COMMENT_CHARS;
use gigaops_store::testing::BACKENDS;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_may_have_up_to_the_limit_of_characters() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        load_sendai(&app).await;
        let a = entry_id(&app, "1-(1)-①-A").await;
        let board = app.login(BOARD).await;
        let history = format!("/plan/entries/{a}/history");
        let t = csrf_token(&app.get(&board, &history).await.body);
        let post = |body: String| {
            let (app, board, t, url) = (&app, &board, t.clone(), format!("/plan/entries/{a}/comments"));
            async move { app.post(board, &url, &[("csrf_token", t.as_str()), ("body", body.as_str())]).await }
        };
        let just = format!("上限{}", "字".repeat(MAX_COMMENT_CHARS - 2));
        assert_eq!(post(just.clone()).await.status, StatusCode::SEE_OTHER, "[{b:?}] {MAX_COMMENT_CHARS} characters");
        assert!(app.get(&board, &history).await.body.contains(&just), "[{b:?}] stored whole");
        let over = format!("超過{}", "字".repeat(MAX_COMMENT_CHARS - 1));
        let r = post(over).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "[{b:?}]");
        assert!(r.body.contains("コメントは2000文字以内で入力してください（2001文字あります）"), "[{b:?}] {}", r.body);
        assert!(!app.get(&board, &history).await.body.contains("超過"), "[{b:?}] nothing stored");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_reports_cover_at_most_24_months() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        let board = app.login(BOARD).await;
        for page in ["/usage/report", "/usage/escalation"] {
            let r = app.get(&board, &format!("{page}?from=1990-01&to=2100-12")).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "[{b:?}] {page}");
            assert!(
                r.body.contains("期間は24か月以内にしてください（1990-01〜2100-12 は1332か月です）"),
                "[{b:?}] {page}: {}",
                r.body
            );
            let r = app.get(&board, &format!("{page}?from=2021-01&to=2022-12")).await;
            assert_eq!(r.status, StatusCode::OK, "[{b:?}] {page}: 24 months");
            let r = app.get(&board, &format!("{page}?from=2021-01&to=2023-01")).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "[{b:?}] {page}: 25 months");
        }
    }
}
