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
