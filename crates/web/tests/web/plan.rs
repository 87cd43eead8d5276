//! The plan pages (issue 4) on both backends: the year's table, role and division checks, the admin's
//! open/lock, editing with optimistic locking (the second save of the same version is refused with a
//! clear message and the user's input kept), the history diff, comments and the printable document.

use crate::app::{csrf_token, TestApp, ADMIN, BOARD, SUPPORT, VIEWER};
use gigaops_store::imports::ImportSource;
use gigaops_store::testing::BACKENDS;
use gigaops_store::{municipalities, plan, users};
use reqwest::StatusCode;
use std::path::Path;

/// Imports Sendai's 資料4-1 (examples/sendai-r5) and puts the board user in 教育指導課.
pub async fn load_sendai(app: &TestApp) {
    let m = municipalities::list(&app.store).await.expect("municipalities")[0].id;
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sendai-r5/plan-r5.csv");
    let mut t = gigaops_ingest::open_table(&p, None).expect("open");
    let f = gigaops_ingest::plan::read(&mut t).expect("read");
    let src = ImportSource {
        file_name: "plan-r5.csv".into(),
        file_sha256: gigaops_ingest::file_sha256(&p).expect("hash"),
        imported_by: Some("test".into()),
        dry_run: false,
    };
    plan::import(&app.store, m, &src, f, None).await.expect("import plan");
    let board = users::list(&app.store, m).await.expect("users").into_iter().find(|u| u.email == BOARD).expect("board");
    plan::add_division_member(&app.store, m, "教育指導課", board.id).await.expect("division");
}

/// The id of goal `code`'s entry in FY2023.
pub async fn entry_id(app: &TestApp, code: &str) -> i64 {
    let m = municipalities::list(&app.store).await.expect("municipalities")[0].id;
    let pl = plan::find_plan(&app.store, m, None, None).await.expect("plan");
    plan::entries(&app.store, pl.id, gigaops_domain::FiscalYear(2023))
        .await
        .expect("entries")
        .into_iter()
        .find(|e| e.goal == code)
        .expect("entry")
        .id
}

fn edit_form<'a>(token: &'a str, version: &'a str, result: &'a str, grade: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf_token", token),
        ("version", version),
        ("action", "モデルカリキュラムの内容を適宜見直し、各学校に周知"),
        ("status", "continued"),
        ("due", "年内"),
        ("result", result),
        ("grade", grade),
        ("next_action", "年間指導計画例の提示"),
        ("next_status", "expanded"),
        ("school_actions", "□情報活用能力育成の年間計画の自校化"),
    ]
}

#[tokio::test]
async fn plan_pages_edit_lock_and_print_on_both_backends() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        load_sendai(&app).await;
        let a = entry_id(&app, "1-(1)-①-A").await;
        let health = entry_id(&app, "1-(2)-⑥-A").await; // 健康教育課: not the board user's division

        // everyone reads; the table has the 53 goals; the year is not open: no edit links
        let viewer = app.login(VIEWER).await;
        let page = app.get(&viewer, "/plan?fiscal_year=R5").await;
        assert_eq!(page.status, StatusCode::OK, "[{b:?}]");
        assert_eq!(page.body.matches("<tr class=\"goal\">").count(), 53);
        assert!(page.body.contains("未受付") && !page.body.contains("edit-link"));
        assert_eq!(app.get(&viewer, &format!("/plan/entries/{a}/edit")).await.status, StatusCode::FORBIDDEN);
        let support = app.login(SUPPORT).await;
        assert_eq!(app.get(&support, "/plan/report.json?fiscal_year=2023").await.status, StatusCode::OK);

        // only the admin opens a year
        let board = app.login(BOARD).await;
        let token = app.token(&board).await;
        let form = [("csrf_token", token.as_str()), ("plan", ""), ("fiscal_year", "R5"), ("action", "open")];
        assert_eq!(app.post(&board, "/plan/years", &form).await.status, StatusCode::FORBIDDEN);
        let admin = app.login(ADMIN).await;
        let at = app.token(&admin).await;
        let r = app
            .post(&admin, "/plan/years", &[("csrf_token", at.as_str()), ("fiscal_year", "R5"), ("action", "open")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{b:?}] {}", r.body);

        // the board user sees edit links only for 教育指導課's goals
        let page = app.get(&board, "/plan?fiscal_year=R5").await;
        assert!(page.body.contains(&format!("/plan/entries/{a}/edit")), "[{b:?}]");
        assert!(!page.body.contains(&format!("/plan/entries/{health}/edit")));
        let r = app.post(&board, &format!("/plan/entries/{health}"), &edit_form(&token, "1", "x", "good")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body.contains("担当課（健康教育課）に所属していない"), "{}", r.body);

        // two people open version 1; the first save wins, the second is refused and keeps its input
        let edit = app.get(&board, &format!("/plan/entries/{a}/edit")).await;
        assert!(edit.body.contains(r#"name="version" value="1""#));
        let r = app
            .post(&board, &format!("/plan/entries/{a}"), &edit_form(&token, "1", "見直しを完了した。", "excellent"))
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{b:?}] {}", r.body);
        let r = app
            .post(&admin, &format!("/plan/entries/{a}"), &edit_form(&at, "1", "管理者の別の入力", "insufficient"))
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "[{b:?}]");
        assert!(r.body.contains("あなたの変更はまだ保存されていません") && r.body.contains(BOARD), "{}", r.body);
        assert!(r.body.contains("管理者の別の入力"), "the user's input is kept");
        assert!(r.body.contains("見直しを完了した。"), "the latest saved text is shown");
        assert!(r.body.contains(r#"name="version" value="2""#));

        // the history shows the diff; comments
        let h = app.get(&board, &format!("/plan/entries/{a}/history")).await;
        assert!(h.body.contains("<del>生成AIの位置付けも含め、現在見直し中である。</del>"), "{}", h.body);
        assert!(h.body.contains("<ins>見直しを完了した。</ins>") && h.body.contains("<ins>◎</ins>"));
        let t = csrf_token(&h.body);
        let r =
            app.post(&viewer, &format!("/plan/entries/{a}/comments"), &[("csrf_token", "x"), ("body", "確認")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "CSRF");
        let r = app
            .post(
                &board,
                &format!("/plan/entries/{a}/comments"),
                &[("csrf_token", t.as_str()), ("body", "校長会で報告済み")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(app.get(&board, &format!("/plan/entries/{a}/history")).await.body.contains("校長会で報告済み"));

        // lock: no edit links, saving is refused
        let r = app
            .post(&admin, "/plan/years", &[("csrf_token", at.as_str()), ("fiscal_year", "R5"), ("action", "lock")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let page = app.get(&board, "/plan?fiscal_year=R5").await;
        assert!(page.body.contains("確定（ロック）") && !page.body.contains("edit-link"));
        let r = app.post(&board, &format!("/plan/entries/{a}"), &edit_form(&token, "2", "y", "good")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        // the printable document and the downloads
        let print = app.get(&viewer, "/plan/print?fiscal_year=R5").await;
        assert_eq!(print.status, StatusCode::OK);
        assert!(print.body.contains("@page { size: A4 landscape") && print.body.contains("<thead>"));
        assert!(print.body.contains("見直しを完了した。"));
        let x = app.get(&viewer, "/plan/report.xlsx?fiscal_year=R5").await;
        assert_eq!(&x.bytes[..2], b"PK");
    }
}
