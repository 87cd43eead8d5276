//! The plan pages on both backends: the year's table, role and division checks, the admin's
//! open/lock, editing with optimistic locking (the second save of the same version is refused with a
//! clear message and the user's input kept), the history diff, comments and the printable document;
//! the upload of a plan file (counts, 確認のみ, every bad cell by row and column, roles, CSRF, size).

use crate::app::{csrf_token, multipart, TestApp, ADMIN, BOARD, SCHOOL, SUPPORT, VIEWER};
use gigaops_domain::plan::Level;
use gigaops_ingest::ImportKind;
use gigaops_store::imports::ImportOptions;
use gigaops_store::testing::{self, BACKENDS};
use gigaops_store::{municipalities, plan, users};
use reqwest::StatusCode;
use std::path::Path;

/// Imports Sendai's 資料4-1 (examples/sendai-r5) and puts the board user in 教育指導課.
pub async fn load_sendai(app: &TestApp) {
    let m = municipalities::list(&app.store).await.expect("municipalities")[0].id;
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sendai-r5/plan-r5.csv");
    testing::import(&app.store, m, ImportKind::Plan, &p, ImportOptions::default()).await.expect("import plan");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

fn sendai_csv() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sendai-r5/plan-r5.csv")).expect("sendai")
}

/// (policies, measures, initiatives, goals, FY2023 entries) of each stored plan, by name.
async fn stored(app: &TestApp) -> Vec<(String, [usize; 5])> {
    let m = municipalities::list(&app.store).await.expect("municipalities")[0].id;
    let mut out = Vec::new();
    for pl in plan::plans(&app.store, m).await.expect("plans") {
        let items = plan::items(&app.store, pl.id).await.expect("items");
        let n = |l: Level| items.iter().filter(|i| i.fields.code.level() == l).count();
        let entries = plan::entries(&app.store, pl.id, gigaops_domain::FiscalYear(2023)).await.expect("entries").len();
        out.push((pl.name, [n(Level::Policy), n(Level::Measure), n(Level::Initiative), n(Level::Goal), entries]));
    }
    out
}

/// The number shown in the result table's cell `id`.
fn count(body: &str, id: &str) -> i64 {
    let marker = format!(r#"id="{id}">"#);
    let start = body.find(&marker).unwrap_or_else(|| panic!("no {id} in:\n{body}")) + marker.len();
    body[start..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().expect("a count")
}

const EVAL_HEADER: &str = "計画,計画期間,年度,基本方針,基本方針名,施策,施策名,取組項目,取組項目名,概要,目標,目標内容,担当課,取組,区分,達成時期,実績・課題,評価,次年度の取組,次年度の区分,学校の取組,重点";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_upload_imports_the_sendai_file_and_refuses_bad_files_on_both_backends() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        let admin = app.login(ADMIN).await;
        // no plan yet: the plan page sends whoever may import to the upload form
        let r = app.get(&admin, "/plan").await;
        assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/plan/import"), "[{b:?}]");
        let form = app.get(&admin, "/plan/import").await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(
            form.body.contains(r#"enctype="multipart/form-data""#) && form.body.contains("計画が登録されていません")
        );
        let token = csrf_token(&form.body);
        let sendai = sendai_csv();

        // 確認のみ: the counts, nothing written
        let body = multipart(&[("csrf_token", &token), ("dry_run", "on")], Some(("plan-r5.csv", &sendai)));
        let r = app.post_multipart(&admin, "/plan/import", body).await;
        assert_eq!(r.status, StatusCode::OK, "[{b:?}] {}", r.body);
        assert!(r.body.contains("確認のみのため、書き込んでいません"), "{}", r.body);
        assert_eq!((count(&r.body, "count-rows"), count(&r.body, "count-inserted")), (53, 53));
        assert!(stored(&app).await.is_empty(), "[{b:?}] a dry run writes nothing");

        // the import: Sendai's 4 policies, 7 measures, 25 initiatives, 53 goals, 53 entries of R5
        let body = multipart(&[("csrf_token", &token)], Some(("plan-r5.csv", &sendai)));
        let r = app.post_multipart(&admin, "/plan/import", body).await;
        assert_eq!(r.status, StatusCode::OK, "[{b:?}] {}", r.body);
        assert!(r.body.contains("取り込みました") && r.body.contains("plan-r5.csv"));
        assert_eq!(
            [count(&r.body, "count-inserted"), count(&r.body, "count-updated"), count(&r.body, "count-unchanged")],
            [53, 0, 0]
        );
        let sendai_counts = vec![("仙台市学校教育情報化推進計画".to_string(), [4, 7, 25, 53, 53])];
        assert_eq!(stored(&app).await, sendai_counts, "[{b:?}]");
        let page = app.get(&admin, "/plan?fiscal_year=R5").await;
        assert_eq!(page.body.matches("<tr class=\"goal\">").count(), 53);
        assert!(page.body.contains(r#"href="/plan/import""#), "importers get the link");

        // the same file again, and the exported workbook: nothing changes
        let body = multipart(&[("csrf_token", &token)], Some(("plan-r5.csv", &sendai)));
        let r = app.post_multipart(&admin, "/plan/import", body).await;
        assert_eq!((count(&r.body, "count-inserted"), count(&r.body, "count-unchanged")), (0, 53), "[{b:?}]");
        let xlsx = app.get(&admin, "/plan/report.xlsx?fiscal_year=R5").await.bytes;
        let body = multipart(&[("csrf_token", &token)], Some(("資料4-1_令和5年度.xlsx", &xlsx)));
        let r = app.post_multipart(&admin, "/plan/import", body).await;
        assert_eq!(r.status, StatusCode::OK, "[{b:?}] {}", r.body);
        assert!(r.body.contains("資料4-1_令和5年度.xlsx"));
        assert_eq!((count(&r.body, "count-rows"), count(&r.body, "count-unchanged")), (53, 53), "[{b:?}]");

        // a bad file: every error with its row and column, nothing written (not even the new plan)
        let bad = format!(
            "{EVAL_HEADER}\n\
             新計画,R5-R9,2023,1,方針,1-(1),施策,1-(1)-①,取組,概要,1-(1)-①-A,目標A,教育指導課,取組,継続,年内,実績,×,次,継続,,\n\
             新計画,R5-R9,2023,,,,,,,,1-(1)-①-B,目標B,教育指導課,取組,廃止,年内,実績,○,次,継続,,\n\
             新計画,R5-R9,2023,,,,,,,,1-(1)-⑨-A,目標C,教育指導課,取組,継続,年内,実績,○,次,継続,,\n\
             新計画,R5-R9,2023,,,,,,,,1-(1)-①-B,目標B,教育指導課,取組,継続,年内,実績,○,次,継続,,\n\
             新計画,R5-R9,2030,,,,,,,,1-(1)-①-E,目標E,教育指導課,取組,継続,年内,実績,○,次,継続,,\n"
        );
        let body = multipart(&[("csrf_token", &token), ("plan", "")], Some(("plan-bad.csv", bad.as_bytes())));
        let r = app.post_multipart(&admin, "/plan/import", body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "[{b:?}] {}", r.body);
        assert!(r.body.contains("取り込めませんでした（何も書き込んでいません）"), "{}", r.body);
        for want in [
            "plan-bad.csv:2:評価: × — 評価（◎、○、△",
            "plan-bad.csv:3:区分: 廃止 — 新規・継続・拡充",
            "plan-bad.csv:4:取組項目名:  — 取組項目「1-(1)-⑨」の名前",
            "plan-bad.csv:5:目標: 1-(1)-①-B — 同じ年度の同じ目標は1行だけ（3行目",
            "plan-bad.csv:6:年度: 2030 — 計画期間 R5-R9 内の年度",
        ] {
            assert!(r.body.contains(want), "[{b:?}] {want} in:\n{}", r.body);
        }
        assert!(r.body.contains("5 件の誤りがあります"), "{}", r.body);
        assert_eq!(stored(&app).await, sendai_counts, "[{b:?}] nothing written");

        // a workbook without the 評価 column names the missing column
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["年度", "目標", "目標内容"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).expect("header");
        }
        ws.write_string(1, 0, "2023").expect("cell");
        let missing = wb.save_to_buffer().expect("xlsx");
        let body = multipart(&[("csrf_token", &token)], Some(("missing.xlsx", &missing)));
        let r = app.post_multipart(&admin, "/plan/import", body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "[{b:?}]");
        assert!(
            r.body.contains("missing.xlsx[Sheet1]: 必要な列がありません") && r.body.contains("評価 / grade"),
            "{}",
            r.body
        );

        // a locked year refuses the upload (row and column of every entry), nothing changes
        let m = municipalities::list(&app.store).await.expect("municipalities")[0].id;
        let pl = plan::find_plan(&app.store, m, None, None).await.expect("plan");
        let fy = gigaops_domain::FiscalYear(2023);
        plan::set_year_state(&app.store, m, &pl, fy, plan::YearState::Locked, "test").await.expect("lock");
        let body = multipart(&[("csrf_token", &token)], Some(("plan-r5.csv", &sendai)));
        let r = app.post_multipart(&admin, "/plan/import", body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "[{b:?}]");
        assert!(r.body.contains("plan-r5.csv:2:年度: 2023 — 確定（ロック）されていない年度"), "{}", r.body);

        // no file chosen
        let r = app.post_multipart(&admin, "/plan/import", multipart(&[("csrf_token", &token)], Some(("", b"")))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("取り込むファイルを選んでください"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_upload_needs_the_role_the_csrf_token_and_a_sane_size_on_both_backends() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        let sendai = sendai_csv();
        // school, support and viewer users may not upload (403), and nothing is stored
        for who in [SCHOOL, SUPPORT, VIEWER] {
            let c = app.login(who).await;
            assert_eq!(app.get(&c, "/plan/import").await.status, StatusCode::FORBIDDEN, "[{b:?}] {who}");
            let token = app.token(&c).await;
            let body = multipart(&[("csrf_token", &token)], Some(("plan-r5.csv", &sendai)));
            assert_eq!(app.post_multipart(&c, "/plan/import", body).await.status, StatusCode::FORBIDDEN, "{who}");
            assert!(!app.get(&c, "/").await.body.contains(r#"href="/plan/import""#));
        }
        assert!(stored(&app).await.is_empty(), "[{b:?}]");

        // the board user may (the roles that edit the plan); the CSRF token must come with the form
        let board = app.login(BOARD).await;
        let token = app.token(&board).await;
        for fields in [vec![], vec![("csrf_token", "0".repeat(64))]] {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = app.post_multipart(&board, "/plan/import", multipart(&f, Some(("plan-r5.csv", &sendai)))).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "[{b:?}] {f:?}");
            assert!(r.body.contains("フォームの有効期限が切れたか"), "{}", r.body);
        }
        assert!(stored(&app).await.is_empty(), "[{b:?}] refused uploads write nothing");
        // the token may come after the file, or in the X-CSRF-Token header
        let (ct, body) = multipart(&[("dry_run", "on"), ("csrf_token", &token)], Some(("plan-r5.csv", &sendai)));
        let r = app.post_multipart(&board, "/plan/import", (ct.clone(), body.clone())).await;
        assert_eq!(r.status, StatusCode::OK, "[{b:?}] token after the file: {}", r.body);
        let (ct, body) = multipart(&[], Some(("plan-r5.csv", &sendai)));
        let r = board
            .post(app.url("/plan/import"))
            .header("content-type", ct)
            .header("x-csrf-token", &token)
            .body(body)
            .send()
            .await
            .expect("POST");
        assert_eq!(r.status(), StatusCode::OK, "[{b:?}] token in the header");
        assert_eq!(stored(&app).await.len(), 1, "[{b:?}] the board user imported the plan");

        // over 20 MiB: 413 with a Japanese message, nothing read into the store
        let big = vec![b'x'; 21 * 1024 * 1024];
        let r = app
            .post_multipart(&board, "/plan/import", multipart(&[("csrf_token", &token)], Some(("big.csv", &big))))
            .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "[{b:?}]");
        assert!(r.body.contains("送信できるのは 20 MiB までです"), "{}", r.body);
    }
}
