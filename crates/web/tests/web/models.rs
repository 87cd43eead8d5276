//! 機種と別名 (`/fleet/models`): the list, the pre-filled alias, adding and removing an alias with
//! CSRF, refused aliases beside the field, and who may read or change it.

use crate::app::{TestApp, BOARD, SCHOOL, SUPPORT, VIEWER};
use gigaops_store::testing::BACKENDS;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_adds_and_removes_model_aliases() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let c = app.login(BOARD).await;

        let list = app.get(&c, "/fleet/devices").await;
        assert!(list.body.contains("<a href=\"/fleet/models\">機種と別名</a>"), "[{backend:?}] linked from the list");

        let page = app.get(&c, "/fleet/models?alias=iPad%20(8th%20generation)").await;
        assert_eq!(page.status, StatusCode::OK, "[{backend:?}]");
        assert!(
            page.body.contains("<td>iPad（小中）</td><td>iPad（第8世代）</td><td class=\"num\">61</td>"),
            "{}",
            page.body
        );
        assert!(page.body.contains("Lenovo 300e Chromebook Gen 2"));
        assert!(page
            .body
            .contains("id=\"alias\" name=\"alias\" type=\"text\" maxlength=\"200\" value=\"iPad (8th generation)\""));
        assert!(!page.body.contains("id=\"alias-resolves\""), "not yet an alias");

        let token = crate::app::csrf_token(&page.body);
        let r = app
            .post(
                &c,
                "/fleet/models/aliases",
                &[("model", "iPad（第8世代）"), ("alias", "iPad (8th generation)"), ("csrf_token", &token)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{backend:?}] {}", r.body);
        assert_eq!(r.location(), "/fleet/models");
        let shown = app.follow(&c, r).await;
        assert!(shown.body.contains("「iPad (8th generation)」を機種「iPad（第8世代）」の別名として登録しました。"));
        assert!(shown.body.contains("<span class=\"alias\">iPad (8th generation)</span>"), "[{backend:?}]");
        assert!(shown.body.contains(crate::app::BOARD), "who added it");
        let m = gigaops_store::municipalities::find(&app.store, "maebashi").await.expect("db").expect("municipality");
        let model = gigaops_store::fleet::models::resolve(&app.store, m.id, "IPAD (8TH GENERATION)").await.expect("db");
        assert_eq!(model.map(|x| x.name).as_deref(), Some("iPad（第8世代）"), "[{backend:?}] stored");

        // the pre-filled alias says what it already means
        let again = app.get(&c, "/fleet/models?alias=ipad%20(8th%20generation)").await;
        assert!(again.body.contains(
            "id=\"alias-resolves\">「ipad (8th generation)」はすでに機種「iPad（第8世代）」として扱われます。"
        ));

        // another model's alias is refused beside the field, typed values kept
        let r = app
            .post(
                &c,
                "/fleet/models/aliases",
                &[
                    ("model", "Lenovo 300e Chromebook Gen 2"),
                    ("alias", "iPad (8th Generation)"),
                    ("csrf_token", &token),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "[{backend:?}]");
        assert!(
            r.body.contains(
                "id=\"alias-error\">別名「iPad (8th Generation)」は機種「iPad（第8世代）」の別名として登録済みです"
            ),
            "{}",
            r.body
        );
        assert!(r.body.contains("<option value=\"Lenovo 300e Chromebook Gen 2\" selected>"), "the chosen model kept");
        let r = app.post(&c, "/fleet/models/aliases", &[("model", ""), ("alias", " "), ("csrf_token", &token)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("id=\"model-error\"") && r.body.contains("id=\"alias-error\""), "[{backend:?}]");

        // without the token nothing happens
        let r = app.post(&c, "/fleet/models/aliases/remove", &[("alias", "iPad (8th generation)")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "[{backend:?}]");
        let r = app
            .post(&c, "/fleet/models/aliases/remove", &[("alias", "iPad (8th generation)"), ("csrf_token", &token)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{backend:?}] {}", r.body);
        let shown = app.follow(&c, r).await;
        assert!(shown.body.contains("機種「iPad（第8世代）」の別名「iPad (8th generation)」を削除しました。"));
        assert!(!shown.body.contains("<span class=\"alias\">"), "[{backend:?}] no alias left");
        let r = app
            .post(&c, "/fleet/models/aliases/remove", &[("alias", "iPad (8th generation)"), ("csrf_token", &token)])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("id=\"models-error\">別名「iPad (8th generation)」は登録されていません"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_reads_models_and_schools_and_viewers_do_not() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let support = app.login(SUPPORT).await;
        let page = app.get(&support, "/fleet/models").await;
        assert_eq!(page.status, StatusCode::OK, "[{backend:?}]");
        assert!(page.body.contains("iPad（第8世代）") && !page.body.contains("id=\"alias-form\""), "read only");
        let token = app.token(&support).await;
        let r = app
            .post(
                &support,
                "/fleet/models/aliases",
                &[("model", "iPad（第8世代）"), ("alias", "x"), ("csrf_token", &token)],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "[{backend:?}]");
        for who in [SCHOOL, VIEWER] {
            let c = app.login(who).await;
            assert_eq!(app.get(&c, "/fleet/models").await.status, StatusCode::FORBIDDEN, "[{backend:?}] {who}");
        }
        let school = app.login(SCHOOL).await;
        assert!(!app.get(&school, "/fleet/devices").await.body.contains("/fleet/models"), "no link for schools");
    }
}
