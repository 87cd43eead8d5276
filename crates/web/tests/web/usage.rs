//! LTE usage pages on both backends: the capacity and escalation reports, and the case list,
//! where a school user sees only their own school's pupils and a committee viewer none.

use crate::app::{TestApp, BOARD, MOMOI, NAKAGAWA, SCHOOL, VIEWER};
use gigaops_domain::YearMonth;
use gigaops_ingest::ImportKind;
use gigaops_store::imports::ImportOptions;
use gigaops_store::testing::{self, BACKENDS};
use gigaops_store::usage::escalation;
use gigaops_store::{municipalities, Store};
use reqwest::StatusCode;

/// Imports a monthly usage file with `text` (written to `dir/name`).
async fn import_month(store: &Store, m: i64, dir: &tempfile::TempDir, name: &str, text: &str) {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    testing::import(store, m, ImportKind::Usage, &path, ImportOptions::default()).await.unwrap();
}

/// Two heavy users in September 2022: one at 桃井小 (P-MOMOI), one at 中川小 (P-NAKA); the month is run.
pub async fn load_usage(store: &Store) {
    let m = municipalities::find(store, "maebashi").await.unwrap().unwrap().id;
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("lines.csv");
    std::fs::write(
        &lines,
        format!(
            "line_id,school_code,device_serial,pupil_id,active_from\n07000000001,{MOMOI},TMOMO0001,P-MOMOI,2021-04-01\n\
             07000000002,{NAKAGAWA},TNAKA0001,P-NAKA,2021-04-01\n07000000003,{MOMOI},TMOMO0002,P-LIGHT,2021-04-01\n"
        ),
    )
    .unwrap();
    testing::import(store, m, ImportKind::Lines, &lines, ImportOptions::default()).await.unwrap();
    let sep = "line_id,month,usage_gb\n07000000001,2022-09,250\n07000000002,2022-09,210\n07000000003,2022-09,3\n";
    import_month(store, m, &dir, "sep.csv", sep).await;
    escalation::run(store, m, YearMonth::new(2022, 9).unwrap(), Some("test")).await.unwrap();
}

/// [`load_usage`], then October 2022 with the same two heavy users, run: step ② (the notice to
/// the school) for P-MOMOI (桃井小) and P-NAKA (中川小).
pub async fn load_usage_to_october(store: &Store) {
    load_usage(store).await;
    let m = municipalities::find(store, "maebashi").await.unwrap().unwrap().id;
    let dir = tempfile::tempdir().unwrap();
    let oct = "line_id,month,usage_gb\n07000000001,2022-10,250\n07000000002,2022-10,210\n07000000003,2022-10,3\n";
    import_month(store, m, &dir, "oct.csv", oct).await;
    escalation::run(store, m, YearMonth::new(2022, 10).unwrap(), Some("test")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn school_users_see_only_their_own_pupils_and_viewers_none() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        load_usage(&app.store).await;

        let board = app.login(BOARD).await;
        let page = app.get(&board, "/usage/cases?month=2022-09").await;
        assert_eq!(page.status, StatusCode::OK, "{b:?}");
        assert!(page.body.contains("P-MOMOI") && page.body.contains("P-NAKA"), "{b:?} board sees both");
        assert!(!page.body.contains("P-LIGHT"), "{b:?} not a case");

        let school = app.login(SCHOOL).await;
        let page = app.get(&school, "/usage/cases?month=2022-09").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("P-MOMOI"), "{b:?} own pupil");
        assert!(!page.body.contains("P-NAKA"), "{b:?} another school's pupil is hidden");
        assert!(page.body.contains("自校の児童生徒のみ"));

        let viewer = app.login(VIEWER).await;
        assert_eq!(app.get(&viewer, "/usage/cases?month=2022-09").await.status, StatusCode::FORBIDDEN, "{b:?}");
        let report = app.get(&viewer, "/usage/escalation?from=2022-09&to=2022-09").await;
        assert_eq!(report.status, StatusCode::OK);
        assert!(report.body.contains("class=\"chart funnel\"") && !report.body.contains("P-MOMOI"), "{b:?}");
        let cap = app.get(&viewer, "/usage/report?from=2022-09&to=2022-09").await;
        assert!(cap.body.contains("463.00") && cap.body.contains("<svg"), "{b:?} 250+210+3 GB");
        assert_eq!(app.get(&board, "/usage/report?from=2022-13").await.status, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_reports_open_on_the_latest_month_with_usage() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        let board = app.login(BOARD).await;
        // no usage at all: one sentence pointing to the imports, no report
        let none = app.get(&board, "/usage/report").await;
        assert!(none.body.contains("まだ通信量がありません。"), "[{b:?}] {}", none.body);

        load_usage(&app.store).await; // September 2022
        for page in ["/usage/report", "/usage/escalation"] {
            let latest = app.get(&board, page).await;
            assert_eq!(latest.status, StatusCode::OK, "[{b:?}] {page}");
            assert!(
                latest.body.contains("id=\"from\" name=\"from\" type=\"month\" value=\"2021-10\"")
                    && latest.body.contains("id=\"to\" name=\"to\" type=\"month\" value=\"2022-09\""),
                "[{b:?}] {page}: the 12 months up to September 2022: {}",
                latest.body
            );
            assert!(!latest.body.contains("id=\"no-data\""), "[{b:?}] {page}");
            let empty = app.get(&board, &format!("{page}?from=2026-01&to=2026-12")).await;
            assert!(
                empty
                    .body
                    .contains("2026年1月〜2026年12月の通信量はありません。通信量のある最も近い期間は2022年9月です。"),
                "[{b:?}] {page}: {}",
                empty.body
            );
            assert!(
                empty.body.contains("from=2021-10") && empty.body.contains("to=2022-09"),
                "[{b:?}] {page}: the link"
            );
            assert!(!empty.body.contains("<svg"), "[{b:?}] {page}: no chart of zeros");
        }
    }
}

/// Two schools over two months, 5 GB lines: 桃井小 (2 lines) 1 + 1.5 GB in September (25 %), 6 + 6
/// GB in October (120 %), 14.5 ÷ 20 GB = 72.5 % over both; 中川小 (1 line) 4 GB (80 %), then 1 GB
/// (20 %), 5 ÷ 10 GB = 50 %.
async fn load_two_schools(store: &Store) {
    let m = municipalities::find(store, "maebashi").await.unwrap().unwrap().id;
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("lines.csv");
    std::fs::write(
        &lines,
        format!(
            "line_id,school_code,allowance_gb,active_from\n07000000001,{MOMOI},5,2021-04-01\n\
             07000000002,{NAKAGAWA},5,2021-04-01\n07000000003,{MOMOI},5,2021-04-01\n"
        ),
    )
    .unwrap();
    testing::import(store, m, ImportKind::Lines, &lines, ImportOptions::default()).await.unwrap();
    let sep = "line_id,month,usage_gb\n07000000001,2022-09,1\n07000000002,2022-09,4\n07000000003,2022-09,1.5\n";
    import_month(store, m, &dir, "sep.csv", sep).await;
    let oct = "line_id,month,usage_gb\n07000000001,2022-10,6\n07000000002,2022-10,1\n07000000003,2022-10,6\n";
    import_month(store, m, &dir, "oct.csv", oct).await;
}

/// The school names of the school table, top to bottom.
fn school_order(body: &str) -> Vec<&str> {
    let table = &body[body.find("id=\"schools\"").expect("the school table")..];
    ["桃井小学校", "中川小学校"]
        .into_iter()
        .filter_map(|n| table.find(n).map(|i| (i, n)))
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_values()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schools_are_one_table_of_shaded_ratios_sorted_by_any_month_or_the_period() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        load_two_schools(&app.store).await;
        let viewer = app.login(VIEWER).await;
        let range = "/usage/report?from=2022-09&to=2022-10";
        let page = app.get(&viewer, range).await;
        assert_eq!(page.status, StatusCode::OK, "{b:?}");
        let body = &page.body;
        assert_eq!(school_order(body), ["桃井小学校", "中川小学校"], "{b:?} by school code");
        for cell in [
            "<td class=\"num ratio-2\">25.00%</td><td class=\"num ratio-5\">120.00%</td><td class=\"num ratio-3\">72.50%</td>",
            "<td class=\"num ratio-4\">80.00%</td><td class=\"num ratio-1\">20.00%</td><td class=\"num ratio-3\">50.00%</td>",
        ] {
            assert!(body.contains(cell), "{b:?} {cell}: {body}");
        }
        assert_eq!(
            body.matches("<th scope=\"row\"><a href=\"/usage/report/schools/").count(),
            2,
            "{b:?} only schools with lines"
        );
        assert!(body.contains("100%以上（契約通信量を超過）"), "{b:?} the legend");
        assert!(!body.contains("<caption>前橋市立桃井小学校"), "{b:?} no per-school tables");
        // the header of September sorts by it, highest first
        assert!(
            body.contains(
                "<a href=\"/usage/report?from=2022-09&#38;to=2022-10&#38;sort=2022-09&#38;order=desc#schools\">"
            ),
            "{b:?}"
        );

        for (query, order) in [
            ("&sort=2022-09", ["中川小学校", "桃井小学校"]),
            ("&sort=2022-10", ["桃井小学校", "中川小学校"]),
            ("&sort=period", ["桃井小学校", "中川小学校"]),
            ("&sort=period&order=asc", ["中川小学校", "桃井小学校"]),
            ("&sort=school&order=desc", ["中川小学校", "桃井小学校"]),
        ] {
            let sorted = app.get(&viewer, &format!("{range}{query}")).await;
            assert_eq!(school_order(&sorted.body), order, "{b:?} {query}");
        }
        let bad = app.get(&viewer, &format!("{range}&sort=yesterday")).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{b:?}");
        assert!(bad.body.contains("並べ替えの指定「yesterday」は使えません"), "{b:?} {}", bad.body);

        // a school's name opens its months
        let href = format!("/usage/report/schools/{MOMOI}?from=2022-09&#38;to=2022-10");
        assert!(body.contains(&format!("<a href=\"{href}\">前橋市立桃井小学校</a>")), "{b:?}");
        let school = app.get(&viewer, &href.replace("&#38;", "&")).await;
        assert_eq!(school.status, StatusCode::OK, "{b:?}");
        for text in
            ["前橋市立桃井小学校（B110210000017）の通信量", "2.50", "12.00", "10.00", "25.00%", "120.00%", "<svg"]
        {
            assert!(school.body.contains(text), "{b:?} {text}: {}", school.body);
        }
        assert!(!school.body.contains("中川"), "{b:?} only that school");
        assert!(school.body.contains("学校別の使用率に戻る"), "{b:?}");
        let unknown = app.get(&viewer, "/usage/report/schools/B199999999990").await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{b:?}");
    }
}
