//! Every page of the demo opens on data, in headless Chromium: the app holds exactly the demo of
//! `gigaops demo` ([`TestApp::spawn_demo`]); a board user and the demo's school user (桃井小) each
//! visit every GET page their role may open — the list is the router's own
//! ([`gigaops_web::route_table`]), downloads left out, path parameters filled from the demo's
//! records — and each page must render without an error and show data: no error page, no "no data"
//! sentence, no table without rows, no empty dashboard panel. A user of another school of the city
//! sees their open incidents on their home; the 桃井小 user sees none of them.
//!
//! SQLite only: the storage behind these pages is tested on both databases by the other tests
//! (`home.rs` for the dashboard's queries).

use crate::app::TestApp;
use crate::browser::in_browser;
use fantoccini::{Client, Locator};
use gigaops_domain::YearMonth;
use gigaops_store::testing::Backend;
use gigaops_store::users::Role;
use gigaops_web::access_routes::{expected, Caller, Outcome, Rule};
use reqwest::Method;
use std::time::Duration;

/// Records of the demo that fill the routes' path parameters, as a role may see them.
struct Samples {
    /// A device deployed at 桃井小 (the school user's school).
    serial: String,
    /// A case of a pupil of 桃井小.
    case_id: i64,
    /// The latest import (the demo's, by `demo`).
    import_id: Option<i64>,
    /// The latest import a 桃井小 user sees (their own schools' uploads): none in the demo.
    school_import_id: Option<i64>,
    /// An entry of Sendai's plan (FY2023).
    entry_id: i64,
}

async fn samples(app: &TestApp) -> Samples {
    let store = &app.store;
    let m = gigaops_store::municipalities::find(store, gigaops_store::demo::CODE).await.unwrap().unwrap().id;
    let momoi = gigaops_store::schools::find_by_code(store, m, gigaops_store::demo::SCHOOL).await.unwrap().unwrap();
    let filter = gigaops_store::fleet::DeviceFilter {
        school_id: Some(momoi.id),
        status: Some("deployed".into()),
        ..Default::default()
    };
    let (devices, _) = gigaops_store::fleet::queries::list_devices(store, m, &filter, 1, 1).await.unwrap();
    let mut case_id = None;
    for month in (9..=12).rev() {
        let month = YearMonth::new(2022, month).unwrap();
        let rows = gigaops_store::usage::queries::case_rows(store, m, month, Some(&[momoi.id])).await.unwrap();
        if let Some(r) = rows.first() {
            case_id = Some(r.case_id);
            break;
        }
    }
    let jobs = gigaops_store::imports::jobs::history(store, m, 1000).await.unwrap();
    let import_id = jobs.first().map(|j| j.id);
    let school_import_id =
        jobs.iter().find(|j| gigaops_store::imports::jobs::school_ids(j).contains(&momoi.id)).map(|j| j.id);
    let plan = gigaops_store::plan::find_plan(store, m, Some("仙台市学校教育情報化推進計画"), None).await.unwrap();
    let entries = gigaops_store::plan::entries(store, plan.id, gigaops_domain::FiscalYear(2023)).await.unwrap();
    Samples {
        serial: devices.first().expect("a deployed device at 桃井小").serial_number.clone(),
        case_id: case_id.expect("a case at 桃井小 in 2022-09…12"),
        import_id,
        school_import_id,
        entry_id: entries.first().expect("an entry").id,
    }
}

/// The pages (GET routes that render HTML for a signed-in user) `role` may open, with their path
/// parameters filled — and the routes left out because the role has no record to fill them with.
fn pages(role: Role, s: &Samples) -> (Vec<String>, Vec<&'static str>) {
    let mut pages = Vec::new();
    let mut skipped = Vec::new();
    for r in gigaops_web::route_table() {
        let is_download = r.path.rsplit('/').next().is_some_and(|last| last.contains('.'));
        if r.method != Method::GET
            || matches!(r.rule, Rule::Public | Rule::LoginForm)
            || is_download
            || expected(r.rule, &Method::GET, Caller::Role(role)) != Outcome::Allowed
        {
            continue;
        }
        let id = if r.path.starts_with("/usage/cases/") {
            Some(s.case_id)
        } else if r.path.starts_with("/imports/") {
            if role == Role::School {
                s.school_import_id
            } else {
                s.import_id
            }
        } else if r.path.starts_with("/plan/entries/") {
            Some(s.entry_id)
        } else {
            assert!(!r.path.contains("{id}"), "{}: which record fills {{id}}? add it to `pages`", r.path);
            None
        };
        // 桃井小: the school user's school, one of the board's
        let mut path = r.path.replace("{serial}", &s.serial).replace("{code}", gigaops_store::demo::SCHOOL);
        if path.contains("{id}") {
            match id {
                Some(id) => path = path.replace("{id}", &id.to_string()),
                None => {
                    skipped.push(r.path);
                    continue;
                }
            }
        }
        assert!(!path.contains('{'), "{}: a path parameter this test does not fill", r.path);
        if path == "/fleet/search" {
            path = format!("/fleet/search?q={}", s.serial);
        }
        pages.push(path);
    }
    (pages, skipped)
}

/// What is wrong with the page shown, if anything: an error page, a "no data" sentence, a table
/// without body rows, an empty dashboard panel, or no main content.
async fn problems(b: &Client) -> Result<Vec<String>, fantoccini::error::CmdError> {
    let found = b
        .execute(
            "const p = [];
             if (document.querySelector('.error-page')) p.push('error page: ' + document.title);
             const nd = document.querySelector('#no-data'); if (nd) p.push('no data: ' + nd.textContent.trim());
             document.querySelectorAll('.dash-empty').forEach(e => p.push('empty panel: ' + e.textContent.trim()));
             document.querySelectorAll('table').forEach((t, i) => {
               const rows = Array.from(t.querySelectorAll('tr')).filter(r => !r.closest('thead'));
               if (rows.length === 0) p.push('table ' + (t.id || t.className || i) + ' has no rows');
             });
             const main = document.querySelector('main') || document.body;
             if (main.textContent.trim().length < 20) p.push('no content');
             return p;",
            vec![],
        )
        .await?;
    Ok(found.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect()).unwrap_or_default())
}

async fn sign_in(b: &Client, base: &str, email: &str) -> Result<(), fantoccini::error::CmdError> {
    b.goto(&format!("{base}/login")).await?;
    b.find(Locator::Id("email")).await?.send_keys(email).await?;
    b.find(Locator::Id("password")).await?.send_keys(gigaops_store::demo::PASSWORD).await?;
    b.find(Locator::Css(".login-box button[type=submit]")).await?.click().await?;
    b.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("who")).await?;
    Ok(())
}

async fn sign_out(b: &Client) -> Result<(), fantoccini::error::CmdError> {
    b.find(Locator::Css(".logout button")).await?.click().await?;
    for _ in 0..100 {
        if b.current_url().await?.path() == "/login" && b.find(Locator::Id("email")).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not signed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_the_demo_opens_on_data_for_the_board_and_a_school() {
    let app = TestApp::spawn_demo(Backend::Sqlite).await;
    let s = samples(&app).await;
    let (board_pages, board_skipped) = pages(Role::Board, &s);
    let (school_pages, school_skipped) = pages(Role::School, &s);
    assert!(board_skipped.is_empty(), "every board page has a record: {board_skipped:?}");
    assert_eq!(school_skipped, ["/imports/{id}"], "a school user has no upload of their own in the demo");
    assert!(board_pages.len() >= 18 && school_pages.len() >= 14, "{board_pages:?} {school_pages:?}");
    let board_email = gigaops_store::demo::ACCOUNTS.iter().find(|a| a.2 == Role::Board).unwrap().0;
    let school_email = gigaops_store::demo::ACCOUNTS.iter().find(|a| a.2 == Role::School).unwrap().0;
    a_school_sees_nothing_of_another(&app, school_email).await;
    in_browser(&app, async |b: &Client, base: &str| {
        let mut wrong = Vec::new();
        for (email, pages) in [(board_email, &board_pages), (school_email, &school_pages)] {
            sign_in(b, base, email).await?;
            for page in pages.iter() {
                b.goto(&format!("{base}{page}")).await?;
                for p in problems(b).await? {
                    wrong.push(format!("{email} {page}: {p}"));
                }
            }
            // the board's home shows the demo's published figures (examples/maebashi-2022-usage/
            // README.md: December 2022 65,752 GB of 124,440 GB = 0.5284, ① 14 ② 5 ③ 2 ④ 2;
            // Sendai's R5 evaluation: 45 of 53 goals graded, ◎ 11 ○ 34 △ 0)
            if email == board_email {
                b.goto(&format!("{base}/")).await?;
                let usage = b.find(Locator::Id("home-usage")).await?.text().await?;
                assert!(usage.contains("令和4年12月") && usage.contains("52.84%"), "{usage}");
                assert!(usage.contains("65,752 GB ／ 契約 124,440 GB"), "{usage}");
                let work = b.find(Locator::Id("home-work")).await?.text().await?;
                for (step, n) in [(1, 14), (2, 5), (3, 2), (4, 2)] {
                    assert!(work.contains(&format!("段階 {step} ")), "{work}");
                    assert!(work.contains(&format!("残り {n} 件")), "step {step}: {work}");
                }
                let plan = b.find(Locator::Id("home-plan")).await?.text().await?;
                assert!(plan.contains("45 / 53 目標") && plan.contains("◎ 11・○ 34・△ 0"), "{plan}");
            }
            // the check sees a page without data: a year the demo has no record of
            if email == board_email {
                b.goto(&format!("{base}/fleet/report?fiscal_year=R8")).await?;
                let found = problems(b).await?;
                assert!(found.iter().any(|p| p.starts_with("no data: 令和8年度の記録はありません。")), "{found:?}");
            }
            // the school user's home names their school and nothing of another
            if email == school_email {
                b.goto(&format!("{base}/")).await?;
                let home = b.find(Locator::Id("main")).await?.text().await?;
                assert!(home.contains("前橋市立桃井小学校"), "{home}");
                assert!(!home.contains("予備機の残り") && !home.contains("最近の取り込み"), "{home}");
            }
            sign_out(b).await?;
        }
        assert!(wrong.is_empty(), "pages without data or with errors:\n{}", wrong.join("\n"));
        Ok(())
    })
    .await;
}

/// With the demo: a user of another school of the city that has open incidents sees them on their
/// home, and the demo's 桃井小 user sees none of them (nor that school's name).
async fn a_school_sees_nothing_of_another(app: &TestApp, momoi_email: &str) {
    use gigaops_store::fleet::at_school::open_incidents;
    let store = &app.store;
    let m = gigaops_store::municipalities::find(store, gigaops_store::demo::CODE).await.unwrap().unwrap().id;
    let mut other = None;
    for s in gigaops_store::schools::list(store, m).await.unwrap() {
        if s.school_code == gigaops_store::demo::SCHOOL {
            continue;
        }
        let (open, total) = open_incidents(store, m, &[s.id], 3).await.unwrap();
        if total > 0 {
            other = Some((s, open));
            break;
        }
    }
    let (school, open) = other.expect("another school of the demo with an open incident");
    let email = "other-school@demo.gigaops.jp";
    gigaops_store::users::add(
        store,
        m,
        email,
        "他校 校長",
        gigaops_store::demo::PASSWORD,
        Role::School,
        std::slice::from_ref(&school.school_code),
    )
    .await
    .unwrap();
    let theirs = app.get(&app.login_with(email, gigaops_store::demo::PASSWORD).await, "/").await.body;
    let mine = app.get(&app.login_with(momoi_email, gigaops_store::demo::PASSWORD).await, "/").await.body;
    assert!(theirs.contains(&school.name), "their school's name on their home");
    assert!(!mine.contains(&school.name), "{} on 桃井小's home", school.name);
    for i in &open {
        assert!(theirs.contains(&i.serial_number), "{} on their home", i.serial_number);
        assert!(!mine.contains(&i.serial_number), "{} (another school's) on 桃井小's home", i.serial_number);
    }
}
