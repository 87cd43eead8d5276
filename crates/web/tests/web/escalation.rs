//! Acting on the escalation from the web, on both backends: the policy settings page (admin edits,
//! board reads, field errors, the store's rule after runs), marking work done (a school user only
//! their own school's notices; staff a whole step), the case history, and the e-mail button
//! against a local SMTP sink.

use crate::app::{csrf_token, TestApp, ADMIN, BOARD, SCHOOL, SUPPORT, VIEWER};
use crate::usage::{load_usage, load_usage_to_october};
use gigaops_domain::usage::{gb, EscalationPolicy};
use gigaops_mail::testing::SmtpSink;
use gigaops_store::testing::BACKENDS;
use gigaops_store::usage::{escalation, queries};
use gigaops_store::{municipalities, Store};
use reqwest::StatusCode;

async fn muni(store: &Store) -> i64 {
    municipalities::find(store, "maebashi").await.unwrap().unwrap().id
}

/// The Maebashi policy as form fields, with `over` replacing some.
fn policy_fields(token: &str, over: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = [
        ("csrf_token", token),
        ("op", "save"),
        ("effective_from", "2022-09"),
        ("single_gb", "200"),
        ("consecutive_gb", "100"),
        ("consecutive_months", "2"),
        ("step_count", "4"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (i, s) in EscalationPolicy::maebashi().steps.iter().enumerate() {
        let n = i + 1;
        f.push((format!("step{n}_name"), s.name.clone()));
        f.push((format!("step{n}_action"), s.action.clone()));
        f.push((format!("step{n}_notify"), s.notify.as_str().into()));
    }
    for (k, v) in over {
        match f.iter_mut().find(|(fk, _)| fk == k) {
            Some(slot) => slot.1 = v.to_string(),
            None => f.push((k.to_string(), v.to_string())),
        }
    }
    f
}

async fn post_fields(app: &TestApp, c: &reqwest::Client, path: &str, f: &[(String, String)]) -> crate::app::Page {
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.post(c, path, &pairs).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_page_is_edited_by_the_admin_and_read_by_the_board() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        let m = muni(&app.store).await;

        let board = app.login(BOARD).await;
        let page = app.get(&board, "/usage/policy").await;
        assert_eq!(page.status, StatusCode::OK, "{b:?}");
        assert!(page.body.contains("1か月の通信量が 200 GB 以上、または 2 か月連続で 100 GB 以上"), "{b:?}");
        assert!(page.body.contains("スクリーンタイムの案内") && !page.body.contains("name=\"single_gb\""), "{b:?}");
        let t = csrf_token(&page.body);
        let r = post_fields(&app, &board, "/usage/policy", &policy_fields(&t, &[("single_gb", "150")])).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b:?} board may not change it");
        assert!(app.get(&board, "/usage/report").await.body.contains("href=\"/usage/policy\""), "{b:?} link shown");
        for who in [SCHOOL, VIEWER] {
            let c = app.login(who).await;
            assert_eq!(app.get(&c, "/usage/policy").await.status, StatusCode::FORBIDDEN, "{b:?} {who}");
            let report = app.get(&c, "/usage/report").await;
            assert!(!report.body.contains("/usage/policy"), "{b:?} {who}: no link to a page they may not see");
        }

        let admin = app.login(ADMIN).await;
        let page = app.get(&admin, "/usage/policy").await;
        assert!(page.body.contains("name=\"single_gb\"") && page.body.contains("変更なし"), "{b:?}");
        let t = csrf_token(&page.body);
        // without the token: refused
        let mut no_token = policy_fields(&t, &[]);
        no_token.remove(0);
        assert_eq!(post_fields(&app, &admin, "/usage/policy", &no_token).await.status, StatusCode::FORBIDDEN);
        // bad values: each message beside its field, typed values kept, nothing saved
        let bad = policy_fields(&t, &[("effective_from", "2022/13"), ("single_gb", "-5"), ("step2_name", "")]);
        let r = post_fields(&app, &admin, "/usage/policy", &bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}");
        assert!(r.body.contains("id=\"effective_from-error\"") && r.body.contains("value=\"2022/13\""), "{b:?}");
        assert!(r.body.contains("id=\"single_gb-error\"") && r.body.contains("value=\"-5\""), "{b:?}");
        assert!(r.body.contains("id=\"step2-error\"") && !r.body.contains("id=\"step1-error\""), "{b:?}");
        assert_eq!(escalation::policy(&app.store, m).await.unwrap(), EscalationPolicy::maebashi());
        // 「段階の数を反映」: five step rows, nothing saved
        let resize = policy_fields(&t, &[("op", "resize"), ("step_count", "5"), ("single_gb", "180")]);
        let r = post_fields(&app, &admin, "/usage/policy", &resize).await;
        assert_eq!(r.status, StatusCode::OK, "{b:?}");
        assert!(r.body.contains("name=\"step5_name\"") && r.body.contains("value=\"180\""), "{b:?}");
        // a valid change is saved, with who and when
        let good = policy_fields(&t, &[("single_gb", "150"), ("consecutive_gb", "80.5"), ("consecutive_months", "3")]);
        let r = post_fields(&app, &admin, "/usage/policy", &good).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b:?} {}", r.body);
        let p = escalation::policy(&app.store, m).await.unwrap();
        assert_eq!((p.single_month_bytes, p.consecutive_bytes, p.consecutive_months), (gb(150), 80_500_000_000, 3));
        let page = app.follow(&admin, r).await;
        assert!(page.body.contains("保存しました") && page.body.contains(ADMIN), "{b:?}");
        assert!(page.body.contains("3 か月連続で 80.5 GB 以上"), "{b:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_run_the_thresholds_are_fixed_and_the_error_keeps_the_typed_values() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        load_usage(&app.store).await;
        let m = muni(&app.store).await;
        let admin = app.login(ADMIN).await;
        let page = app.get(&admin, "/usage/policy").await;
        assert!(page.body.contains("2022-09〜2022-09"), "{b:?} the evaluated months are shown");
        let t = csrf_token(&page.body);
        let r = post_fields(&app, &admin, "/usage/policy", &policy_fields(&t, &[("single_gb", "150")])).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b:?}");
        assert!(r.body.contains("id=\"policy-error\"") && r.body.contains("判定済み"), "{b:?}");
        assert!(r.body.contains("value=\"150\""), "{b:?} the typed value is kept");
        assert_eq!(escalation::policy(&app.store, m).await.unwrap().single_month_bytes, gb(200));
        // a step's wording may still change
        let r =
            post_fields(&app, &admin, "/usage/policy", &policy_fields(&t, &[("step1_name", "注意のメッセージ")])).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b:?} {}", r.body);
        assert_eq!(escalation::policy(&app.store, m).await.unwrap().steps[0].name, "注意のメッセージ");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_school_user_marks_only_their_own_schools_notices_done() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        load_usage_to_october(&app.store).await;
        let m = muni(&app.store).await;
        let items = |month: &str| {
            let store = app.store.clone();
            let month = month.parse().unwrap();
            async move { queries::work_items(&store, m, month, None).await.unwrap() }
        };
        let oct = items("2022-10").await;
        let own = oct.iter().find(|w| w.pupil_id.as_deref() == Some("P-MOMOI")).unwrap().clone();
        let other = oct.iter().find(|w| w.pupil_id.as_deref() == Some("P-NAKA")).unwrap().clone();
        assert_eq!((own.audience.as_str(), own.step), ("school", 2));
        let sep_own = items("2022-09").await.into_iter().find(|w| w.pupil_id.as_deref() == Some("P-MOMOI")).unwrap();
        assert_eq!(sep_own.audience, "device");

        let school = app.login(SCHOOL).await;
        let page = app.get(&school, "/usage/work?month=2022-10").await;
        assert_eq!(page.status, StatusCode::OK, "{b:?}");
        assert!(page.body.contains("P-MOMOI") && !page.body.contains("P-NAKA"), "{b:?} own school only");
        assert!(page.body.contains(&format!("name=\"id\" value=\"{}\"", own.id)), "{b:?}");
        assert!(!page.body.contains("学校への通知メール"), "{b:?} no e-mail button for schools");
        let t = csrf_token(&page.body);
        let (own_id, other_id, sep_id) = (own.id.to_string(), other.id.to_string(), sep_own.id.to_string());
        // another school's item: as if it did not exist
        let r =
            app.post(&school, "/usage/work/done", &[("csrf_token", &t), ("month", "2022-10"), ("id", &other_id)]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{b:?}");
        // their own pupil's MDM message is the board's work
        let r =
            app.post(&school, "/usage/work/done", &[("csrf_token", &t), ("month", "2022-09"), ("id", &sep_id)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b:?}");
        assert!(items("2022-09").await.iter().all(|w| w.done_at.is_none()), "{b:?} nothing marked");
        // their own notice
        let r =
            app.post(&school, "/usage/work/done", &[("csrf_token", &t), ("month", "2022-10"), ("id", &own_id)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b:?} {}", r.body);
        let page = app.follow(&school, r).await;
        assert!(page.body.contains("1 件の作業を完了にしました"), "{b:?}");
        let oct = items("2022-10").await;
        let done = oct.iter().find(|w| w.id == own.id).unwrap();
        assert_eq!(done.done_by.as_deref(), Some(SCHOOL), "{b:?}");
        assert!(done.done_at.is_some() && oct.iter().find(|w| w.id == other.id).unwrap().done_at.is_none());

        // the case history shows it; another school's case is hidden
        let history = app.get(&school, &format!("/usage/cases/{}", own.case_id)).await;
        assert_eq!(history.status, StatusCode::OK, "{b:?}");
        assert!(history.body.contains("新規対象者") && history.body.contains("改善されず（次の段階へ）"), "{b:?}");
        assert!(history.body.contains("完了 ") && history.body.contains(SCHOOL), "{b:?}");
        assert_eq!(app.get(&school, &format!("/usage/cases/{}", other.case_id)).await.status, StatusCode::NOT_FOUND);
        let viewer = app.login(VIEWER).await;
        assert_eq!(app.get(&viewer, &format!("/usage/cases/{}", own.case_id)).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get(&viewer, "/usage/work?month=2022-10").await.status, StatusCode::FORBIDDEN);
        let cases = app.get(&school, "/usage/cases?month=2022-10").await;
        assert!(cases.body.contains(&format!("href=\"/usage/cases/{}\"", own.case_id)), "{b:?} linked from the list");

        // staff: all of step ② at once (the one left), then all of September's
        let support = app.login(SUPPORT).await;
        let page = app.get(&support, "/usage/work?month=2022-09").await;
        assert!(page.body.contains("name=\"all\" value=\"month\"") && page.body.contains("value=\"step:1\""), "{b:?}");
        let t = csrf_token(&page.body);
        let r = app
            .post(&support, "/usage/work/done", &[("csrf_token", &t), ("month", "2022-10"), ("all", "step:2")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b:?}");
        assert!(app.follow(&support, r).await.body.contains("1 件の作業を完了にしました"), "{b:?}");
        let oct = items("2022-10").await;
        assert_eq!(oct.iter().find(|w| w.id == other.id).unwrap().done_by.as_deref(), Some(SUPPORT));
        assert_eq!(oct.iter().find(|w| w.id == own.id).unwrap().done_by.as_deref(), Some(SCHOOL), "first mark kept");
        let r =
            app.post(&support, "/usage/work/done", &[("csrf_token", &t), ("month", "2022-09"), ("all", "month")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(items("2022-09").await.iter().all(|w| w.done_by.as_deref() == Some(SUPPORT)), "{b:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_e_mails_the_schools_from_the_work_page_once_unless_resent() {
    for b in BACKENDS {
        let sink = SmtpSink::start().await;
        let app =
            TestApp::spawn_with(b, gigaops_web::Settings { smtp: Some(sink.config()), ..Default::default() }).await;
        load_usage_to_october(&app.store).await;
        let board = app.login(BOARD).await;
        let page = app.get(&board, "/usage/work?month=2022-10").await;
        assert!(page.body.contains("id=\"send-mail\"") && page.body.contains(SCHOOL), "{b:?}");
        assert!(page.body.contains("学校ユーザーのアカウントがありません"), "{b:?} 中川小 has none");
        let t = csrf_token(&page.body);

        let school = app.login(SCHOOL).await;
        let st = app.token(&school).await;
        let r = app.post(&school, "/usage/work/notify", &[("csrf_token", &st), ("month", "2022-10")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b:?}");

        let r = app.post(&board, "/usage/work/notify", &[("csrf_token", &t), ("month", "2022-10")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b:?} {}", r.body);
        let page = app.follow(&board, r).await;
        assert!(page.body.contains("送信しました") && page.body.contains("学校ユーザーのアカウントがない"), "{b:?}");
        let got = sink.received();
        assert_eq!(got.len(), 1, "{b:?}");
        assert_eq!(got[0].to, vec![SCHOOL.to_string()], "{b:?} only 桃井小's user");
        let msg = mail_parser::MessageParser::default().parse(got[0].data.as_bytes()).unwrap();
        let body = msg.body_text(0).unwrap().into_owned();
        assert!(body.contains("P-MOMOI") && !body.contains("P-NAKA"), "{b:?} {body}");
        assert!(msg.subject().unwrap().contains("桃井小学校"), "{b:?}");
        assert!(page.body.contains("送信済み") && page.body.contains("id=\"resend\""), "{b:?}");

        // again without 再送信: nothing sent, says so
        let r = app.post(&board, "/usage/work/notify", &[("csrf_token", &t), ("month", "2022-10")]).await;
        assert!(app.follow(&board, r).await.body.contains("送信済みです"), "{b:?}");
        assert_eq!(sink.received().len(), 1, "{b:?}");
        let r =
            app.post(&board, "/usage/work/notify", &[("csrf_token", &t), ("month", "2022-10"), ("resend", "1")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(sink.received().len(), 2, "{b:?} sent again when asked");

        // the case history shows the e-mails
        let m = muni(&app.store).await;
        let case = queries::case_rows(&app.store, m, "2022-10".parse().unwrap(), None)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.pupil_id.as_deref() == Some("P-MOMOI"))
            .unwrap()
            .case_id;
        let history = app.get(&school, &format!("/usage/cases/{case}")).await;
        assert_eq!(history.body.matches(&format!("<td>{SCHOOL}</td>")).count(), 2, "{b:?} {}", history.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_smtp_settings_the_page_says_so() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        load_usage_to_october(&app.store).await;
        let admin = app.login(ADMIN).await;
        let page = app.get(&admin, "/usage/work?month=2022-10").await;
        assert!(page.body.contains("id=\"smtp-missing\"") && !page.body.contains("id=\"send-mail\""), "{b:?}");
        let t = csrf_token(&page.body);
        let r = app.post(&admin, "/usage/work/notify", &[("csrf_token", &t), ("month", "2022-10")]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b:?}");
        assert!(r.body.contains("SMTP が設定されていません"), "{b:?} {}", r.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_work_list_and_the_cases_open_on_the_latest_evaluated_month() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        let board = app.login(BOARD).await;
        // nothing evaluated yet: one sentence pointing to the imports, no table
        let none = app.get(&board, "/usage/work").await;
        assert_eq!(none.status, StatusCode::OK, "[{b:?}]");
        assert!(none.body.contains("まだ段階的な対応の判定がありません。"), "[{b:?}] {}", none.body);
        assert!(!none.body.contains("id=\"work\""), "[{b:?}] no table");

        load_usage_to_october(&app.store).await;
        for (page, title) in [("/usage/work", "作業一覧（2022年10月）"), ("/usage/cases", "対象者一覧（2022年10月）")]
        {
            let latest = app.get(&board, page).await;
            assert!(latest.body.contains(&format!("<h1>{title}</h1>")), "[{b:?}] {page}: {}", latest.body);
            assert!(!latest.body.contains("id=\"no-data\""), "[{b:?}] {page}");
            // a month that was not evaluated: the nearest evaluated month, linked
            let empty = app.get(&board, &format!("{page}?month=2026-11")).await;
            assert!(
                empty.body.contains(&format!(
                    "2026年11月の段階的な対応の判定はありません。段階的な対応の判定のある最も近い期間は2022年10月です。 <a href=\"{page}?month=2022-10\">"
                )),
                "[{b:?}] {page}: {}",
                empty.body
            );
            assert!(!empty.body.contains("<table class=\"data\""), "[{b:?}] {page}: no table");
        }
    }
}
