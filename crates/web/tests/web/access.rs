//! Role checks (admin, board, school, support, viewer): school scoping, viewers read reports only.

use crate::app::{csrf_token, TestApp, ADMIN, BOARD, NAKAGAWA, SCHOOL, SUPPORT, VIEWER};
use gigaops_store::testing::BACKENDS;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_school_user_sees_only_their_own_schools_devices() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.login(SCHOOL).await;

        let list = app.get(&c, "/fleet/devices").await;
        assert_eq!(list.status, StatusCode::OK, "[{backend:?}]");
        assert!(list.body.contains("全 <strong>55</strong> 台"), "[{backend:?}] only 桃井's 55 devices");
        assert!(list.body.contains("TMOMO0001"));
        for other in ["TNAKA0001", "TSPARE003", "TCB0001", "TSPARE001"] {
            assert!(!list.body.contains(other), "[{backend:?}] {other} is not theirs");
        }
        let spares = app.get(&c, "/fleet/devices?status=spare").await;
        assert!(spares.body.contains("全 <strong>0</strong> 台"), "[{backend:?}] the spare pool is not a school's");
        assert!(!list.body.contains("中川小学校"), "the school filter offers only their school");

        assert_eq!(app.get(&c, "/fleet/devices/TMOMO0001").await.status, StatusCode::OK);
        for other in ["TNAKA0001", "TSPARE003", "MBS-IP-800001", "TCB0001"] {
            let r = app.get(&c, &format!("/fleet/devices/{other}")).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "[{backend:?}] {other}");
            assert!(r.body.contains("見つかりません"));
        }
        let filtered = app.get(&c, &format!("/fleet/devices?school={NAKAGAWA}")).await;
        assert_eq!(filtered.status, StatusCode::BAD_REQUEST, "[{backend:?}] another school as filter");

        // the counter search does not find another school's device either
        let s = app.get(&c, "/fleet/search?q=TNAKA0001").await;
        assert_eq!(s.status, StatusCode::SEE_OTHER);
        assert_eq!(s.location(), "/fleet/devices?q=TNAKA0001");
        let s = app.get(&c, "/fleet/search?q=MBS-IP-900007").await;
        assert_eq!(s.location(), "/fleet/devices/TMOMO0007", "[{backend:?}] own device by asset tag");

        // nor can they register an incident on it
        let token = app.token(&c).await;
        let r = app
            .post(
                &c,
                "/fleet/devices/TNAKA0001/incidents",
                &[("kind", "damage"), ("occurred_on", "2022-07-01"), ("csrf_token", &token)],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "[{backend:?}]");
        let nakagawa = app.login(BOARD).await;
        let d = app.get(&nakagawa, "/fleet/devices/TNAKA0001").await;
        assert!(d.body.contains("id=\"device-status\">配置済<"), "[{backend:?}] unchanged");

        // school users may read the aggregate report
        assert_eq!(app.get(&c, "/fleet/report?fiscal_year=R4").await.status, StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_reads_reports_only() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.login(VIEWER).await;
        for path in ["/fleet/devices", "/fleet/devices/TMOMO0001", "/fleet/search?q=TMOMO0001", "/schools"] {
            let r = app.get(&c, path).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "[{backend:?}] {path}");
            assert!(r.body.contains("権限がありません"), "[{backend:?}] {path}");
        }
        let token = app.token(&c).await;
        let r = app
            .post(
                &c,
                "/fleet/devices/TMOMO0001/incidents",
                &[("kind", "damage"), ("occurred_on", "2022-07-01"), ("csrf_token", &token)],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "[{backend:?}] viewer cannot register");

        let report = app.get(&c, "/fleet/report?fiscal_year=R4").await;
        assert_eq!(report.status, StatusCode::OK, "[{backend:?}]");
        assert!(report.body.contains("学習者用端末の運用状況（令和4年度）"));
        assert_eq!(app.get(&c, "/fleet/report.csv?fiscal_year=R4").await.status, StatusCode::OK);

        let home = app.get(&c, "/").await;
        assert!(home.body.contains("委員（閲覧）"), "[{backend:?}] role shown");
        assert!(!home.body.contains("href=\"/fleet/devices\""), "no link to the device list");
        assert!(!home.body.contains("href=\"/schools\""), "no link to the school list");
        assert!(home.body.contains("href=\"/fleet/report\""));
        assert!(!home.body.contains("action=\"/fleet/search\""), "no device search box");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_support_and_admin_see_every_school() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        for who in [ADMIN, BOARD, SUPPORT] {
            let c = app.login(who).await;
            let list = app.get(&c, "/fleet/devices").await;
            assert_eq!(list.status, StatusCode::OK, "[{backend:?}] {who}");
            assert!(list.body.contains("全 <strong>63</strong> 台"), "[{backend:?}] {who}");
            assert_eq!(app.get(&c, "/fleet/devices/TNAKA0001").await.status, StatusCode::OK, "{who}");
            let home = app.get(&c, "/").await;
            assert!(home.body.contains("href=\"/fleet/devices\"") && home.body.contains("href=\"/schools\""));
            csrf_token(&home.body);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_school_list_shows_kinds_branches_and_main_schools() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.login(SUPPORT).await;
        let r = app.get(&c, "/schools").await;
        assert_eq!(r.status, StatusCode::OK, "[{backend:?}]");
        assert!(r.body.contains("全 5 校"), "[{backend:?}]");
        let branch_row = r
            .body
            .lines()
            .find(|l| l.contains("B110210001739"))
            .unwrap_or_else(|| panic!("branch row missing:\n{}", r.body));
        assert!(branch_row.contains("前橋市立滝窪小学校金丸分校"));
        assert!(branch_row.contains("<td>分校</td>"), "{branch_row}");
        assert!(branch_row.contains("<td>前橋市立滝窪小学校</td>"), "main school of the branch: {branch_row}");
        let koko = r.body.lines().find(|l| l.contains("D110210000610")).expect("high school row");
        assert!(koko.contains("<td>高等学校</td>") && koko.contains("<td>本校</td>"), "{koko}");
    }
}
