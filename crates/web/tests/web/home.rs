//! The home dashboard on both databases, with the fixture (`testdata/`, see `app.rs`): what the
//! board sees (spares left and their run-out month, the escalation work still open by step, the
//! usage ratio, the last imports; a sentence for each panel without data) and what a school user
//! sees — their own school only.
//!
//! Expected figures come from the fixture files: 3 iPad spares and 1 Chromebook spare on
//! 2021-04-01; TNAKA0003 (中川小) broken on 2022-06-10, swapped for TSPARE003, not repaired; in
//! September and October 2022 one heavy user at 桃井小 and one at 中川小 (250 and 210 GB) and a
//! light one at 桃井小 (3 GB), three lines of 5 GB.

use crate::app::{TestApp, BOARD, NAKAGAWA, PASSWORD, SCHOOL, VIEWER};
use gigaops_store::testing::BACKENDS;
use gigaops_store::users::{self, Role};
use reqwest::StatusCode;

const NAKAGAWA_USER: &str = "nakagawa@test.gigaops.jp";

/// The text of the panel `<section id="{id}">` (its HTML up to the section's end).
fn panel<'a>(body: &'a str, id: &str) -> &'a str {
    let start =
        body.find(&format!("<section class=\"panel dash\" id=\"{id}\">")).unwrap_or_else(|| panic!("no panel {id}"));
    let end = body[start..].find("</section>").map_or(body.len(), |e| start + e);
    &body[start..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_sees_where_things_stand_and_a_sentence_where_nothing_is_recorded() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        let board = app.login(BOARD).await;
        let home = app.get(&board, "/").await;
        assert_eq!(home.status, StatusCode::OK, "{b:?}");

        // spares: the fleet report's year (the latest with a record, R4) at its latest month (June):
        // iPad 3 − 1 swap = 2; the projection falls 1 in 3 months → 2 × 3 = 6 months after June
        let spares = panel(&home.body, "home-spares");
        assert!(spares.contains("令和4年度・令和4年6月末"), "{b:?}: {spares}");
        let ipad = &spares[spares.find("iPad（小中）").expect("iPad group")..];
        assert!(ipad.contains(">2 台<") && ipad.contains("令和4年12月に尽きる見込み"), "{b:?}: {ipad}");
        let cb = &spares[spares.find("Chromebook（高）").expect("Chromebook group")..];
        assert!(cb.contains(">1 台<") && cb.contains("尽きる見込みなし"), "{b:?}: {cb}");
        assert!(spares.contains("href=\"/fleet/report?fiscal_year=R4\""), "{b:?}: links to the report's year");

        // nothing yet: one sentence each, no figures
        for (id, sentence) in [
            ("home-work", "段階的な対応の判定はまだありません。"),
            ("home-plan", "推進計画はまだ登録されていません。"),
            ("home-usage", "通信量の記録はまだありません。"),
        ] {
            let p = panel(&home.body, id);
            assert!(p.contains(sentence) && !p.contains("dash-figures"), "{b:?} {id}: {p}");
        }
        // the last imports, newest first, each linking to its job
        let imports = panel(&home.body, "home-imports");
        let (inc, inv, sch) =
            (imports.find("incidents.csv"), imports.find("inventory.csv"), imports.find("schools.csv"));
        assert!(inc < inv && inv < sch && sch.is_some(), "{b:?}: {imports}");
        assert!(imports.contains("href=\"/imports/"), "{b:?}");
        // the navigation stays
        for href in ["/fleet/devices", "/fleet/report", "/plan", "/usage/report", "/schools", "/imports"] {
            assert!(home.body.contains(&format!("<a href=\"{href}\">")), "{b:?}: link to {href}");
        }

        // with two months of usage evaluated: October's ② notices (桃井小, 中川小) open; the ratio
        crate::usage::load_usage_to_october(&app.store).await;
        let home = app.get(&board, "/").await;
        let work = panel(&home.body, "home-work");
        assert!(
            work.contains("令和4年10月") && work.contains("残り 2 件") && work.contains("全 2 件のうち"),
            "{b:?}: {work}"
        );
        assert!(work.contains("href=\"/usage/work?month=2022-10\""), "{b:?}");
        let usage = panel(&home.body, "home-usage");
        // 250 + 210 + 3 = 463 GB of 3 × 5 GB
        assert!(usage.contains("令和4年10月") && usage.contains("463 GB ／ 契約 15 GB（3 回線）"), "{b:?}: {usage}");
        assert!(usage.contains("href=\"/usage/report?from=2021-11&#38;to=2022-10\""), "{b:?}: {usage}");

        // committee viewers: the aggregate panels only
        let viewer = app.login(VIEWER).await;
        let home = app.get(&viewer, "/").await;
        assert!(home.body.contains("id=\"home-spares\"") && home.body.contains("id=\"home-usage\""), "{b:?}");
        assert!(!home.body.contains("id=\"home-work\"") && !home.body.contains("id=\"home-imports\""), "{b:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_school_users_home_shows_only_their_own_school() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        crate::usage::load_usage_to_october(&app.store).await;
        let m = gigaops_store::municipalities::find(&app.store, "maebashi").await.unwrap().unwrap();
        users::add(&app.store, m.id, NAKAGAWA_USER, "中川 校長", PASSWORD, Role::School, &[NAKAGAWA.to_string()])
            .await
            .unwrap();

        // 桃井小: 55 deployed, no incident, October's notice to act on
        let momoi = app.login(SCHOOL).await;
        let home = app.get(&momoi, "/").await;
        assert_eq!(home.status, StatusCode::OK, "{b:?}");
        assert!(home.body.contains("前橋市立桃井小学校"), "{b:?}");
        let devices = panel(&home.body, "home-school-devices");
        assert!(devices.contains("配置済") && devices.contains(">55 台<"), "{b:?}: {devices}");
        let incidents = panel(&home.body, "home-school-incidents");
        assert!(incidents.contains("対応中の事故") && incidents.contains(">0 件<"), "{b:?}: {incidents}");
        let notices = panel(&home.body, "home-school-notices");
        assert!(notices.contains("令和4年10月") && notices.contains(">1 件<"), "{b:?}: {notices}");
        assert!(notices.contains("href=\"/usage/work?month=2022-10\""), "{b:?}");
        // nothing of the other school, nothing of the board's panels
        for other in ["中川", "TNAKA", "home-spares", "home-imports", "home-work\"", "home-usage"] {
            assert!(!home.body.contains(other), "{b:?}: {other} on 桃井小's home");
        }

        // 中川小: 2 + the swapped-in spare deployed, TNAKA0003 broken and in repair
        let nakagawa = app.login(NAKAGAWA_USER).await;
        let home = app.get(&nakagawa, "/").await;
        let devices = panel(&home.body, "home-school-devices");
        assert!(devices.contains(">3 台<"), "{b:?}: {devices}");
        let incidents = panel(&home.body, "home-school-incidents");
        assert!(
            incidents.contains("破損　TNAKA0003")
                && incidents.contains("修理中")
                && incidents.contains("令和4年6月10日"),
            "{b:?}: {incidents}"
        );
        assert!(!home.body.contains("桃井") && !home.body.contains("TMOMO"), "{b:?}: nothing of 桃井小");

        // once 桃井小's notice is done, nothing is left to act on
        let token = app.token(&momoi).await;
        let done = app
            .post(&momoi, "/usage/work/done", &[("csrf_token", &token), ("all", "month"), ("month", "2022-10")])
            .await;
        assert!(done.status.is_redirection(), "{b:?}: {}", done.body);
        let home = app.get(&momoi, "/").await;
        let notices = panel(&home.body, "home-school-notices");
        assert!(notices.contains("未完了の通知") && notices.contains(">0 件<"), "{b:?}: {notices}");
        assert!(notices.contains("令和4年10月まで") && notices.contains("href=\"/usage/work?month=2022-10\""), "{b:?}");
    }
}
