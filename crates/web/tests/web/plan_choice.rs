//! Two plans in one municipality (Sendai's R5–R9 資料4-1 and Chuo's R7–R11 schedule, both through
//! the import pipeline): `/plan` offers a chooser of the plans, carried as `plan=` in the query,
//! defaults to the plan that has the year (else the latest), and never shows a CLI option.

use crate::app::{TestApp, VIEWER};
use gigaops_ingest::ImportKind;
use gigaops_store::imports::ImportOptions;
use gigaops_store::municipalities;
use gigaops_store::testing::{self, BACKENDS};
use reqwest::StatusCode;
use std::path::Path;

const SENDAI: &str = "仙台市学校教育情報化推進計画";
const CHUO: &str = "中央市ICT推進計画";

async fn load_two_plans(app: &TestApp) {
    let m = municipalities::find(&app.store, "maebashi").await.unwrap().unwrap().id;
    for f in ["sendai-r5/plan-r5.csv", "chuo-r7-r11/schedule-r7-r11.csv"] {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(f);
        testing::import(&app.store, m, ImportKind::Plan, &p, ImportOptions::default()).await.unwrap();
    }
}

fn selected(body: &str) -> Option<String> {
    let marker = "\" selected>";
    let end = body.find(marker)?;
    let start = body[..end].rfind("value=\"")? + "value=\"".len();
    Some(body[start..end].to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_page_offers_a_chooser_of_the_plans() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        load_two_plans(&app).await;
        let c = app.login(VIEWER).await;
        for (query, want) in [
            ("?fiscal_year=R5", SENDAI),                                    // only Sendai's covers R5
            ("?fiscal_year=R8", CHUO),                                      // both: the latest
            ("?fiscal_year=R12", CHUO),                                     // neither: the latest
            ("?fiscal_year=R8&plan=%E4%BB%99%E5%8F%B0%E5%B8%82%E5%AD%A6%E6%A0%A1%E6%95%99%E8%82%B2%E6%83%85%E5%A0%B1%E5%8C%96%E6%8E%A8%E9%80%B2%E8%A8%88%E7%94%BB", SENDAI),
            ("", SENDAI), // no year: the latest year with entries, 令和5年度 of Sendai's (opens on data)
        ] {
            let r = app.get(&c, &format!("/plan{query}")).await;
            assert_eq!(r.status, StatusCode::OK, "[{b:?}] /plan{query}: {}", r.body);
            assert!(r.body.contains("<select id=\"plan\" name=\"plan\">"), "[{b:?}] a chooser");
            assert!(r.body.contains(&format!("<option value=\"{SENDAI}\"")) && r.body.contains(&format!("<option value=\"{CHUO}\"")));
            assert_eq!(selected(&r.body).as_deref(), Some(want), "[{b:?}] /plan{query}");
            assert!(!r.body.contains("--plan") && !r.body.contains("--"), "[{b:?}] no CLI wording");
        }
        let latest = app.get(&c, "/plan").await;
        assert!(latest.body.contains("<h1>仙台市") && latest.body.contains("令和5年度"), "[{b:?}] {}", latest.body);
        assert!(latest.body.contains("id=\"goal-1-(1)-①-A\""), "[{b:?}] the goals are listed");
        // a schedule-only plan has no year's entries: one sentence and its schedule, no empty table
        let chuo = app.get(&c, "/plan?fiscal_year=R8").await;
        assert!(
            chuo.body.contains(&format!("{CHUO}には年度ごとの進捗・評価の記録がありません")),
            "[{b:?}] {}",
            chuo.body
        );
        assert!(chuo.body.contains("/plan/schedule?plan=") && !chuo.body.contains("plan-goals"), "[{b:?}]");
        // a year without entries of a plan that has some: the nearest year, linked
        let sendai_r8 = app.get(&c, "/plan?fiscal_year=R8&plan=%E4%BB%99%E5%8F%B0%E5%B8%82%E5%AD%A6%E6%A0%A1%E6%95%99%E8%82%B2%E6%83%85%E5%A0%B1%E5%8C%96%E6%8E%A8%E9%80%B2%E8%A8%88%E7%94%BB").await;
        assert!(
            sendai_r8.body.contains(
                "令和8年度の進捗・評価の記録はありません。進捗・評価の記録のある最も近い期間は令和5年度です。"
            ),
            "[{b:?}] {}",
            sendai_r8.body
        );
        let r = app.get(&c, "/plan?fiscal_year=R5").await;
        let link = r.body.lines().find(|l| l.contains("report.csv")).unwrap_or_default().to_string();
        assert!(link.contains("plan"), "[{b:?}] downloads carry the plan: {link}");
        let csv = app.get(&c, "/plan/report.csv?fiscal_year=R5").await;
        assert_eq!(csv.status, StatusCode::OK, "[{b:?}] the download chooses the same way");
        let schedule = app.get(&c, "/plan/schedule").await;
        assert_eq!(schedule.status, StatusCode::OK, "[{b:?}] {}", schedule.body);
        assert!(!schedule.body.contains("--plan"), "[{b:?}]");
        let unknown = app.get(&c, "/plan?plan=%E3%81%AA%E3%81%84").await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND, "[{b:?}]");
    }
}
