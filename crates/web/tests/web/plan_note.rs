//! A plan's note (計画の注記) on both backends: the board sets it on the plan page, and it shows on
//! the page, the schedule and the printed document; a blank note clears it; one over 500
//! characters is refused with the reason, the stored note kept; roles without the right get 403.

use crate::app::{TestApp, BOARD, SCHOOL, VIEWER};
use gigaops_store::testing::BACKENDS;
use reqwest::StatusCode;

const PLAN: &str = "仙台市学校教育情報化推進計画";
const NOTE: &str = "仙台市の公開資料を例示のために掲載しています。本市の計画ではありません。";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_sets_a_plans_note_and_every_plan_page_shows_it() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        crate::plan::load_sendai(&app).await;
        let board = app.login(BOARD).await;
        let page = app.get(&board, "/plan").await;
        assert!(!page.body.contains("id=\"plan-note\""), "{b:?}: no note yet");
        assert!(page.body.contains("id=\"plan-note-form\""), "{b:?}: the board may add one");

        let token = app.token(&board).await;
        let form = [("csrf_token", token.as_str()), ("plan", PLAN), ("fiscal_year", "R5"), ("note", NOTE)];
        let r = app.post(&board, "/plan/note", &form).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b:?}: {}", r.body);
        let page = app.follow(&board, r).await;
        assert!(page.body.contains("計画の注記を保存しました。"), "{b:?}");
        assert!(page.body.contains(&format!("<p class=\"plan-note\" id=\"plan-note\">{NOTE}</p>")), "{b:?}");
        let schedule = app.get(&board, "/plan/schedule").await;
        assert!(schedule.body.contains(NOTE), "{b:?}: the schedule shows it");
        let print = app.get(&board, "/plan/print?fiscal_year=R5").await;
        assert!(print.body.contains(&format!("<p class=\"plan-note\">{NOTE}</p>")), "{b:?}: the document shows it");

        // too long: refused with the reason, the note kept
        let long = "あ".repeat(501);
        let form = [("csrf_token", token.as_str()), ("plan", PLAN), ("fiscal_year", "R5"), ("note", long.as_str())];
        let page = app.follow(&board, app.post(&board, "/plan/note", &form).await).await;
        assert!(page.body.contains("計画の注記を保存できませんでした") && page.body.contains("500文字以内"), "{b:?}");
        assert!(page.body.contains(NOTE), "{b:?}: the stored note stays");

        // others read it but may not change it
        for who in [SCHOOL, VIEWER] {
            let c = app.login(who).await;
            let page = app.get(&c, "/plan").await;
            assert!(page.body.contains(NOTE) && !page.body.contains("plan-note-form"), "{b:?} {who}");
            let t = app.token(&c).await;
            let r = app.post(&c, "/plan/note", &[("csrf_token", t.as_str()), ("plan", PLAN), ("note", "x")]).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{b:?} {who}");
        }
        // an unknown plan is 404
        let r = app
            .post(&board, "/plan/note", &[("csrf_token", token.as_str()), ("plan", "ない計画"), ("note", "x")])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{b:?}");

        // blank clears it
        let form = [("csrf_token", token.as_str()), ("plan", PLAN), ("fiscal_year", "R5"), ("note", "  ")];
        let page = app.follow(&board, app.post(&board, "/plan/note", &form).await).await;
        assert!(page.body.contains("計画の注記を消しました。") && !page.body.contains("id=\"plan-note\""), "{b:?}");
    }
}
