//! The report page and its downloads.

use crate::app::{month, TestApp, BOARD, VIEWER};
use gigaops_store::testing::BACKENDS;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_page_has_a_picker_the_fragment_and_download_links() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.login(VIEWER).await;
        let r = app.get(&c, "/fleet/report?fiscal_year=%E4%BB%A4%E5%92%8C4%E5%B9%B4%E5%BA%A6").await; // 令和4年度
        assert_eq!(r.status, StatusCode::OK, "[{backend:?}]");
        assert!(r.body.contains("<h1>学習者用端末の運用状況（令和4年度）</h1>"), "[{backend:?}]");
        assert!(r.body.contains("<option value=\"R4\" selected>令和4年度（2022）</option>"), "picker");
        assert!(r.body.contains("対象期間：令和4年4月1日〜令和5年3月31日"), "the report fragment");
        assert!(r.body.contains("<h2>iPad（小中）</h2>") && r.body.contains("<h2>Chromebook（高）</h2>"));
        // June 2022: the fixture's one incident (TNAKA0003, swapped with TSPARE003)
        assert!(
            r.body.contains("<tr><th scope=\"row\">6月</th><td class=\"num\">1</td><td class=\"num\">0</td><td class=\"num\">0</td><td class=\"num\">0</td><td class=\"num\">1</td><td class=\"num\">2</td></tr>"),
            "[{backend:?}] June row:\n{}",
            r.body
        );
        assert!(r.body.contains("<svg") && !r.body.contains("<script"), "inline SVG, no script");
        for ext in ["csv", "xlsx", "json"] {
            assert!(r.body.contains(&format!("href=\"/fleet/report.{ext}?fiscal_year=R4\"")), "{ext} link");
        }

        let bad = app.get(&c, "/fleet/report?fiscal_year=R%E3%81%82").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "[{backend:?}]");
        assert!(bad.body.contains("年度ではありません"), "[{backend:?}] {}", bad.body);

        // without a year: the latest year with a recorded day (the June 2022 incident: 令和4年度)
        let latest = app.get(&c, "/fleet/report").await;
        assert_eq!(latest.status, StatusCode::OK);
        assert!(latest.body.contains("<h1>学習者用端末の運用状況（令和4年度）</h1>"), "[{backend:?}] {}", latest.body);
        assert!(latest.body.contains("対象期間：令和4年4月1日"), "[{backend:?}] the report");
        assert!(!latest.body.contains("id=\"no-data\""), "[{backend:?}]");

        // a year with nothing recorded: one sentence and a link to the nearest year with records,
        // no table of zeros
        let empty = app.get(&c, "/fleet/report?fiscal_year=R12").await;
        assert_eq!(empty.status, StatusCode::OK);
        assert!(
            empty.body.contains("令和12年度の記録はありません。記録のある最も近い期間は令和4年度です。 <a href=\"/fleet/report?fiscal_year=R4\">令和4年度を表示</a>"),
            "[{backend:?}] {}",
            empty.body
        );
        assert!(!empty.body.contains("対象期間") && !empty.body.contains("<table"), "[{backend:?}] no table");
        // before the inventory (令和3年度, 2021-04-01): the nearest is that year
        let before = app.get(&c, "/fleet/report?fiscal_year=R1").await;
        assert!(before.body.contains("記録のある最も近い期間は令和3年度です。"), "[{backend:?}] {}", before.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_are_csv_with_bom_xlsx_and_json() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.login(BOARD).await;

        let csv = app.get(&c, "/fleet/report.csv?fiscal_year=R4").await;
        assert_eq!(csv.status, StatusCode::OK, "[{backend:?}]");
        assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
        let cd = csv.header("content-disposition");
        assert!(cd.starts_with("attachment;"), "{cd}");
        assert!(cd.contains("filename=\"fleet-report-2022.csv\""), "{cd}");
        // 学習者用端末の運用状況（令和4年度）.csv, RFC 5987
        assert!(cd.contains("filename*=UTF-8''%E5%AD%A6%E7%BF%92%E8%80%85%E7%94%A8"), "{cd}");
        assert!(cd.ends_with(".csv"), "{cd}");
        assert_eq!(&csv.bytes[..3], b"\xEF\xBB\xBF", "[{backend:?}] UTF-8 BOM for Excel");
        let text = csv.body.trim_start_matches('\u{feff}');
        assert!(text.starts_with("区分,時期,破損,故障,紛失,盗難,計,保守残数\r\n"), "{text}");
        assert!(text.contains("iPad（小中）,6月,1,0,0,0,1,2\r\n"), "[{backend:?}] {text}");

        let xlsx = app.get(&c, "/fleet/report.xlsx?fiscal_year=R4").await;
        assert_eq!(xlsx.status, StatusCode::OK);
        assert_eq!(xlsx.header("content-type"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
        assert!(xlsx.header("content-disposition").contains(".xlsx"));
        assert_eq!(&xlsx.bytes[..4], b"PK\x03\x04", "[{backend:?}] a zip (OOXML)");

        let json = app.get(&c, "/fleet/report.json?fiscal_year=2022").await;
        assert_eq!(json.status, StatusCode::OK);
        assert!(json.header("content-type").starts_with("application/json"));
        let v: serde_json::Value = serde_json::from_str(&json.body).expect("JSON");
        assert_eq!(v["fiscal_year"], 2022);
        assert_eq!(month(&v, "iPad（小中）", "2022-06"), (1, 2), "[{backend:?}]");
        assert_eq!(month(&v, "Chromebook（高）", "2022-06"), (0, 1), "[{backend:?}]");

        let bad = app.get(&c, "/fleet/report.xlsx?fiscal_year=1900").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "[{backend:?}]");
    }
}
