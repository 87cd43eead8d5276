//! The device pages and the counter operations (incident with a spare swap, return from repair).

use crate::app::{month, TestApp, BOARD, MOMOI, SCHOOL, SUPPORT};
use gigaops_store::testing::BACKENDS;
use reqwest::StatusCode;

const IPAD: &str = "iPad（小中）";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_an_incident_with_a_spare_swap_updates_devices_and_report() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.login(BOARD).await;
        let before = app.report_json(&c, "R4").await;
        let (july, spares_july) = month(&before, IPAD, "2022-07");
        assert_eq!(spares_july, 2, "[{backend:?}] TSPARE001 and TSPARE002 left after June's swap");

        let page = app.get(&c, "/fleet/devices/TMOMO0001").await;
        assert_eq!(page.status, StatusCode::OK, "[{backend:?}]");
        assert!(page.body.contains("事故を登録") && page.body.contains("<option value=\"damage\">破損</option>"));
        assert!(page.body.contains("<option value=\"TSPARE001\">"), "spares offered as suggestions");
        let token = crate::app::csrf_token(&page.body);
        let r = app
            .post(
                &c,
                "/fleet/devices/TMOMO0001/incidents",
                &[
                    ("kind", "damage"),
                    ("occurred_on", "2022-07-15"),
                    ("cause", "画面割れ（落下）"),
                    ("replacement_serial", "tspare001"),
                    ("csrf_token", &token),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{backend:?}] {}", r.body);
        assert_eq!(r.location(), "/fleet/devices/TMOMO0001");
        let shown = app.follow(&c, r).await;
        assert!(shown.body.contains("登録しました"), "[{backend:?}] flash message");
        assert!(shown.body.contains("id=\"device-status\">修理中<"), "[{backend:?}] device in repair");
        assert!(shown.body.contains("画面割れ（落下）") && shown.body.contains(">TSPARE001</a>"));
        assert!(shown.body.contains("修理完了（予備機に戻す）"), "repair form while in repair");
        let again = app.get(&c, "/fleet/devices/TMOMO0001").await;
        assert!(!again.body.contains("登録しました"), "the flash shows once");

        let spare = app.get(&c, "/fleet/devices/TSPARE001").await;
        assert!(spare.body.contains("id=\"device-status\">配置済<"), "[{backend:?}] the spare is deployed");
        assert!(spare.body.contains("前橋市立桃井小学校（B110210000017）"), "at the broken device's school");
        assert!(spare.body.contains("代替機として配置"), "history reason in Japanese");

        // the register itself, read through the store
        let m = gigaops_store::municipalities::find(&app.store, "maebashi").await.expect("db").expect("municipality");
        let status = |serial: &'static str| {
            let store = app.store.clone();
            async move {
                gigaops_store::fleet::queries::device_detail(&store, m.id, serial, None)
                    .await
                    .expect("db")
                    .expect("device")
                    .device
                    .status
            }
        };
        assert_eq!(status("TMOMO0001").await, "in_repair", "[{backend:?}]");
        assert_eq!(status("TSPARE001").await, "deployed", "[{backend:?}]");

        let after = app.report_json(&c, "R4").await;
        let (july_after, spares_after) = month(&after, IPAD, "2022-07");
        assert_eq!(july_after, july + 1, "[{backend:?}] July count up by one");
        assert_eq!(spares_after, spares_july - 1, "[{backend:?}] one spare fewer");
        let html = app.get(&c, "/fleet/report?fiscal_year=R4").await;
        assert!(html.body.contains("<svg"), "the chart is inline");

        // return from repair: a date before the incident is refused beside the field …
        let token = app.token(&c).await;
        let r = app
            .post(&c, "/fleet/devices/TMOMO0001/repair", &[("repaired_on", "2022-07-01"), ("csrf_token", &token)])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "[{backend:?}]");
        assert!(r.body.contains("id=\"repaired_on-error\""), "[{backend:?}] {}", r.body);
        assert!(r.body.contains("value=\"2022-07-01\""), "typed date kept");
        let r = app
            .post(&c, "/fleet/devices/TMOMO0001/repair", &[("repaired_on", "2022/08/01"), ("csrf_token", &token)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{backend:?}] {}", r.body);
        let shown = app.follow(&c, r).await;
        assert!(shown.body.contains("修理完了を登録しました"), "[{backend:?}]");
        assert!(shown.body.contains("id=\"device-status\">予備機<"), "[{backend:?}] back in the spare pool");
        let (_, spares_aug) = month(&app.report_json(&c, "R4").await, IPAD, "2022-08");
        assert_eq!(spares_aug, spares_july, "[{backend:?}] the repaired device is a spare again");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_incident_form_keeps_the_typed_values_and_names_the_field() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.login(SUPPORT).await;
        let token = app.token(&c).await;
        let post = |kind: &'static str, date: &'static str, rep: &'static str| {
            let token = token.clone();
            let app = &app;
            let c = &c;
            async move {
                app.post(
                    c,
                    "/fleet/devices/TMOMO0002/incidents",
                    &[
                        ("kind", kind),
                        ("occurred_on", date),
                        ("cause", "水濡れ <b>"),
                        ("replacement_serial", rep),
                        ("csrf_token", &token),
                    ],
                )
                .await
            }
        };

        // a replacement that is not a spare
        let r = post("fault", "2022-09-01", "TMOMO0003").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "[{backend:?}]");
        assert!(r.body.contains("id=\"replacement_serial-error\""), "[{backend:?}] message beside the field");
        assert!(r.body.contains("予備機ではありません"), "[{backend:?}]");
        assert!(r.body.contains("value=\"TMOMO0003\""), "replacement kept");
        assert!(r.body.contains("value=\"2022-09-01\""), "date kept");
        assert!(
            r.body.contains("value=\"水濡れ &#60;b&#62;\"") || r.body.contains("value=\"水濡れ &lt;b&gt;\""),
            "cause kept, escaped"
        );
        assert!(r.body.contains("<option value=\"fault\" selected>故障</option>"), "kind kept");

        // a spare of another model group, an unknown one, the device itself
        let r = post("fault", "2022-09-01", "TCBSP001").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("機種グループ"), "[{backend:?}] group mismatch");
        let r = post("fault", "2022-09-01", "NOSUCH999").await;
        assert!(r.body.contains("台帳にありません") && r.body.contains("value=\"NOSUCH999\""), "[{backend:?}]");
        let r = post("fault", "2022-09-01", "TMOMO0002").await;
        assert!(r.body.contains("id=\"replacement_serial-error\""), "[{backend:?}] self replacement");

        // bad kind and date: validated in the handler, never a panic
        let r = post("explosion", "2022-13-45", "").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("id=\"kind-error\"") && r.body.contains("id=\"occurred_on-error\""), "[{backend:?}]");
        assert!(r.body.contains("value=\"2022-13-45\""), "bad date kept for correction");
        let r = post("damage", "", "").await;
        assert!(r.body.contains("発生日を入力してください"), "[{backend:?}]");
        let r = post("damage", "2150-01-01", "").await;
        assert!(r.body.contains("未来の日付"), "[{backend:?}]");
        // before the inventory: the store's rule, placed beside the date
        let r = post("damage", "2020-01-01", "").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("id=\"occurred_on-error\"") && r.body.contains("基準日"), "[{backend:?}] {}", r.body);

        // nothing was written
        let d = app.get(&c, "/fleet/devices/TMOMO0002").await;
        assert!(d.body.contains("id=\"device-status\">配置済<") && d.body.contains("事故の記録はありません"));
        let s = app.get(&c, "/fleet/devices/TMOMO0003").await;
        assert!(s.body.contains("id=\"device-status\">配置済<"), "[{backend:?}]");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_school_user_registers_an_incident_and_follows_the_replacement() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.login(SCHOOL).await;
        let token = app.token(&c).await;
        let r = app
            .post(
                &c,
                "/fleet/devices/TMOMO0010/incidents",
                &[
                    ("kind", "loss"),
                    ("occurred_on", "2022-10-03"),
                    ("replacement_serial", "MBS-IP-700002"),
                    ("csrf_token", &token),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{backend:?}] {}", r.body);
        // the lost device left the school: the user is taken to the replacement, now theirs
        assert_eq!(r.location(), "/fleet/devices/TSPARE002", "[{backend:?}]");
        let shown = app.follow(&c, r).await;
        assert!(shown.body.contains("登録しました") && shown.body.contains("id=\"device-status\">配置済<"));
        assert_eq!(app.get(&c, "/fleet/devices/TMOMO0010").await.status, StatusCode::NOT_FOUND);
        let board = app.login(BOARD).await;
        let lost = app.get(&board, "/fleet/devices/TMOMO0010").await;
        assert!(lost.body.contains("id=\"device-status\">紛失<"), "[{backend:?}]");
        assert!(lost.body.contains(SCHOOL), "recorded by the school user");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_list_filters_pages_and_searches() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.login(BOARD).await;

        let p1 = app.get(&c, "/fleet/devices").await;
        assert_eq!(p1.status, StatusCode::OK, "[{backend:?}]");
        assert!(p1.body.contains("全 <strong>63</strong> 台（1〜50 台目を表示）"), "[{backend:?}]");
        assert_eq!(p1.body.matches("<tr><td class=\"code\"><a href=\"/fleet/devices/").count(), 50);
        for h in ["シリアル番号", "資産管理番号", "機種", "区分", "状態", "学校", "状態の日付"]
        {
            assert!(p1.body.contains(&format!("<th scope=\"col\">{h}</th>")), "column {h}");
        }
        assert!(p1.body.contains("1 / 2 ページ") && p1.body.contains("href=\"/fleet/devices?page=2\""));
        let p2 = app.get(&c, "/fleet/devices?page=2").await;
        assert!(p2.body.contains("51〜63 台目") && p2.body.contains("TSPARE002"), "[{backend:?}]");

        let spares = app.get(&c, "/fleet/devices?status=spare").await;
        assert!(spares.body.contains("全 <strong>3</strong> 台"), "[{backend:?}] 2 iPads + 1 Chromebook");
        assert!(spares.body.contains("<option value=\"spare\" selected>予備機</option>"));
        assert!(spares.body.contains(">予備機</span>"), "status in Japanese");
        let ipads =
            app.get(&c, "/fleet/devices?status=spare&model_group=iPad%EF%BC%88%E5%B0%8F%E4%B8%AD%EF%BC%89").await;
        assert!(ipads.body.contains("全 <strong>2</strong> 台"), "[{backend:?}]");
        let repair = app.get(&c, "/fleet/devices?status=in_repair").await;
        assert!(repair.body.contains("TNAKA0003") && repair.body.contains("修理中"), "[{backend:?}]");
        let prefix = app.get(&c, "/fleet/devices?q=tnaka").await;
        assert!(prefix.body.contains("全 <strong>3</strong> 台"), "[{backend:?}] serial prefix, any case");
        let by_tag = app.get(&c, "/fleet/devices?q=MBS-IP-90000").await;
        assert!(by_tag.body.contains("全 <strong>9</strong> 台"), "[{backend:?}] asset tag prefix 900001–900009");
        let school = app.get(&c, &format!("/fleet/devices?school={MOMOI}&page=2")).await;
        assert!(school.body.contains("全 <strong>55</strong> 台（51〜55 台目を表示）"), "[{backend:?}]");
        assert!(school.body.contains(&format!("href=\"/fleet/devices?school={MOMOI}\"")), "prev link keeps the filter");
        let bad = app.get(&c, "/fleet/devices?status=broken").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.body.contains("状態「broken」は不明です"));

        let exact = app.get(&c, "/fleet/search?q=tmomo0042").await;
        assert_eq!((exact.status, exact.location()), (StatusCode::SEE_OTHER, "/fleet/devices/TMOMO0042"));
        let tag = app.get(&c, "/fleet/search?q=MBS-CB-900001").await;
        assert_eq!(tag.location(), "/fleet/devices/TCB0001", "[{backend:?}]");
        let partial = app.get(&c, "/fleet/search?q=TMOMO00").await;
        assert_eq!(partial.location(), "/fleet/devices?q=TMOMO00");

        let detail = app.get(&c, "/fleet/devices/TNAKA0003").await;
        for text in [
            "台帳登録（棚卸）",
            "事故（破損・故障・紛失・盗難）",
            "画面割れ",
            ">TSPARE003</a>",
            "2022-06-10",
            "令和4年6月10日",
        ] {
            assert!(detail.body.contains(text), "[{backend:?}] detail shows {text}");
        }
        assert!(detail.body.contains("この端末は修理中のため、事故を登録できません"));
        assert_eq!(app.get(&c, "/fleet/devices/NOSUCH").await.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_search_takes_like_wildcards_literally() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let m = gigaops_store::municipalities::find(&app.store, "maebashi").await.unwrap().unwrap().id;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd.csv");
        std::fs::write(
            &path,
            format!(
                "serial_number,model,model_group,device_class,status,school_code,asset_tag\n\
                 %A0001,iPad（第8世代）,iPad（小中）,learner,deployed,{MOMOI},ODD-1\n\
                 _A0001,iPad（第8世代）,iPad（小中）,learner,deployed,{MOMOI},ODD-2\n\
                 \\A0001,iPad（第8世代）,iPad（小中）,learner,deployed,{MOMOI},ODD-3\n"
            ),
        )
        .unwrap();
        let options = gigaops_store::imports::ImportOptions {
            as_of: chrono::NaiveDate::from_ymd_opt(2021, 4, 1),
            ..Default::default()
        };
        gigaops_store::testing::import(&app.store, m, gigaops_ingest::ImportKind::Devices, &path, options)
            .await
            .unwrap();
        let c = app.login(BOARD).await;
        let all = app.get(&c, "/fleet/devices").await;
        assert!(all.body.contains("全 <strong>66</strong> 台"), "[{backend:?}]");
        for (q, serial) in [("%25", "%A0001"), ("_", "_A0001"), ("%5C", "\\A0001")] {
            let r = app.get(&c, &format!("/fleet/devices?q={q}")).await;
            assert_eq!(r.status, StatusCode::OK, "[{backend:?}] q={q}");
            assert!(r.body.contains("全 <strong>1</strong> 台") && r.body.contains(serial), "[{backend:?}] q={q}");
        }
        let none = app.get(&c, "/fleet/devices?q=T%25").await;
        assert!(none.body.contains("全 <strong>0</strong> 台"), "[{backend:?}] T% is not a wildcard");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_school_user_learns_nothing_about_another_schools_device_from_the_replacement_field() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.login(SCHOOL).await;
        let token = app.token(&c).await;
        let post = |rep: &'static str| {
            let (app, c, token) = (&app, &c, token.clone());
            async move {
                let form = [
                    ("kind", "damage"),
                    ("occurred_on", "2022-07-15"),
                    ("replacement_serial", rep),
                    ("csrf_token", token.as_str()),
                ];
                app.post(c, "/fleet/devices/TMOMO0001/incidents", &form).await
            }
        };
        // TNAKA0001 is deployed at 中川小, not the user's school; NOPE0001 does not exist
        let other = post("TNAKA0001").await;
        let missing = post("NOPE0001").await;
        assert_eq!(
            (other.status, missing.status),
            (StatusCode::UNPROCESSABLE_ENTITY, StatusCode::UNPROCESSABLE_ENTITY)
        );
        assert!(
            other.body.contains("代替機のシリアル番号「TNAKA0001」の端末は台帳にありません。"),
            "[{backend:?}] {}",
            other.body
        );
        assert!(missing.body.contains("代替機のシリアル番号「NOPE0001」の端末は台帳にありません。"), "[{backend:?}]");
        assert!(!other.body.contains("予備機ではありません"), "[{backend:?}] no status");
        // by asset tag (MBS-IP-800001 = TNAKA0001) the same
        let by_tag = post("MBS-IP-800001").await;
        assert!(by_tag.body.contains("「MBS-IP-800001」の端末は台帳にありません"), "[{backend:?}]");
        // the user's own device that is not a spare: the rule's message, as before
        let own = post("TMOMO0002").await;
        assert!(own.body.contains("代替機 TMOMO0002 は予備機ではありません"), "[{backend:?}] {}", own.body);
        // a spare (shared pool) is still accepted
        assert_eq!(post("TSPARE001").await.status, StatusCode::SEE_OTHER, "[{backend:?}]");
    }
}
