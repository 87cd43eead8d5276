//! MDM exports of devices already in the register (fixtures in `tests/fixtures/mdm/`, real header
//! layouts): with model aliases they sync device name, OS version and last check-in, keep the
//! register's model, and warn about a model that differs. Model alias functions. Both backends.

use super::*;
use gigaops_ingest::devices::DeviceFormat;
use gigaops_store::fleet::models;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mdm")).join(name)
}

const REGISTER: &str = "serial_number,model,model_group,device_class,status,school_code,asset_tag
DMP000000001,iPad（第8世代）,iPad（小中）,learner,deployed,B110210000017,T-1
DMP000000002,iPad（第8世代）,iPad（小中）,learner,deployed,B110210000017,T-2
DMP000000003,iPad（第9世代）,iPad（小中）,learner,spare,,T-3
PF000001,Lenovo 300e Chromebook（第2世代）,Chromebook（小中）,learner,deployed,B110210000026,C-1
";

/// A store with the Maebashi schools and the four devices of [`REGISTER`] (as of 2024-04-01).
async fn register(b: testing::Backend, dir: &tempfile::TempDir) -> (Store, i64) {
    let store = fresh_store(b).await;
    let m = municipalities::ensure(&store, "maebashi", "前橋市").await.unwrap().id;
    import_schools(&store, m, &maebashi_csv(), None).await;
    let p = write(dir, "register.csv", REGISTER);
    import_devices(&store, m, &p, "2024-04-01").await.unwrap();
    (store, m)
}

async fn device(store: &Store, serial: &str) -> (device::Model, String) {
    let dv =
        device::Entity::find().filter(device::Column::SerialNumber.eq(serial)).one(&store.db).await.unwrap().unwrap();
    let model = gigaops_store::entity::device_model::Entity::find_by_id(dv.model_id)
        .one(&store.db)
        .await
        .unwrap()
        .unwrap()
        .name;
    (dv, model)
}

fn format_of(name: &str) -> DeviceFormat {
    let mut t = gigaops_ingest::open_table(&fixture(name), None).unwrap();
    let rows = gigaops_ingest::devices::read(&mut t).unwrap();
    rows.format()
}

#[test]
fn fixtures_are_detected_as_their_vendor() {
    assert_eq!(format_of("intune-all-devices.csv"), DeviceFormat::Intune);
    assert_eq!(format_of("graph-managed-devices.csv"), DeviceFormat::IntuneGraph);
    assert_eq!(format_of("jamf-school-devices.csv"), DeviceFormat::JamfSchool);
    assert_eq!(format_of("jamf-pro-mobile-devices.csv"), DeviceFormat::JamfPro);
    assert_eq!(format_of("gam-chromeos.csv"), DeviceFormat::GoogleAdmin);
}

#[tokio::test]
async fn mdm_exports_sync_name_os_and_check_in_and_keep_the_register_model() {
    for b in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let (store, m) = register(b, &dir).await;

        // Without aliases the Intune export no longer fails: every row's model is only a warning.
        let intune = fixture("intune-all-devices.csv");
        let options = ImportOptions { as_of: Some(d("2024-05-10")), ..Default::default() };
        let before = testing::import_dry(&store, m, ImportKind::Devices, &intune, options).await.unwrap();
        assert_eq!((before.rows, before.inserted, before.updated), (3, 0, 3), "{b:?}");
        assert_eq!(before.warnings.len(), 3, "{b:?}: {:?}", before.warnings);
        assert!(
            before.warnings[0].starts_with(
                "intune-all-devices.csv:2:model: iPad (8th generation) — 登録済みの機種名・機種の別名ではありません"
            ),
            "{:?}",
            before.warnings
        );

        for (model, alias) in [
            ("iPad（第8世代）", "iPad (8th generation)"),
            ("iPad（第9世代）", "iPad (9th generation)"),
            ("iPad（第8世代）", "iPad 8th Gen (WiFi)"),
            ("ipad(第8世代)", "iPad 8th Generation (Wi-Fi)"),
            ("Lenovo 300e Chromebook（第2世代）", "Lenovo 300e Chromebook 2nd Gen (AST)"),
        ] {
            let added = models::add_alias(&store, m, model, alias, Some("test")).await.unwrap();
            assert!(added.changed, "{b:?} {alias}");
        }

        // Intune admin centre export, all 53 columns
        let out = import_devices(&store, m, &intune, "2024-05-10").await.unwrap();
        assert_eq!((out.rows, out.inserted, out.updated, out.unchanged), (3, 0, 3, 0), "{b:?}");
        assert_eq!(
            out.warnings,
            [
                "intune-all-devices.csv:3:model: iPad (9th generation) — 台帳の機種「iPad（第8世代）」と異なります（登録済みの機種「iPad（第9世代）」）。機種は台帳のまま、ほかの項目を取り込みます",
                "intune-all-devices.csv:4:model: iPad Air (5th generation) — 登録済みの機種名・機種の別名ではありません。機種は台帳のまま、ほかの項目を取り込みます（登録済みの機種のことなら別名として登録してください: gigaops model alias add --model 機種名 \"iPad Air (5th generation)\"）",
            ],
            "{b:?}"
        );
        let (d1, model1) = device(&store, "DMP000000001").await;
        assert_eq!(
            (d1.device_name.as_deref(), d1.os_version.as_deref(), d1.last_check_in, model1.as_str()),
            (Some("MAE-B1-0001"), Some("17.5.1"), Some(d("2024-05-01")), "iPad（第8世代）"),
            "{b:?}"
        );
        let (d2, model2) = device(&store, "DMP000000002").await;
        assert_eq!((d2.os_version.as_deref(), model2.as_str()), (Some("17.4"), "iPad（第8世代）"), "{b:?}: model kept");
        let (d3, model3) = device(&store, "DMP000000003").await;
        assert_eq!(
            (d3.device_name.as_deref(), d3.last_check_in, model3.as_str(), d3.status.as_str()),
            (Some("MAE-SP-0003"), Some(d("2024-04-20")), "iPad（第9世代）", "spare"),
            "{b:?}: unknown model warned, other columns taken, status unchanged"
        );
        assert_eq!((d1.status.as_str(), d1.school_id), ("deployed", status_of(&store, "DMP000000001").await.1));
        let again = import_devices(&store, m, &intune, "2024-05-10").await.unwrap();
        assert_eq!((again.updated, again.unchanged), (0, 3), "{b:?}: idempotent");

        // Microsoft Graph PowerShell export
        let graph = fixture("graph-managed-devices.csv");
        let out = import_devices(&store, m, &graph, "2024-06-10").await.unwrap();
        assert_eq!((out.updated, out.warnings.len()), (2, 0), "{b:?}: {:?}", out.warnings);
        let (d1, _) = device(&store, "DMP000000001").await;
        assert_eq!(
            (d1.device_name.as_deref(), d1.os_version.as_deref(), d1.last_check_in),
            (Some("MAE-B1-0001G"), Some("17.6"), Some(d("2024-06-03"))),
            "{b:?}"
        );
        let (d3, model3) = device(&store, "DMP000000003").await;
        assert_eq!((d3.device_name.as_deref(), model3.as_str()), (Some("MAE-SP-0003G"), "iPad（第9世代）"));

        // Jamf School (API field names)
        let out = import_devices(&store, m, &fixture("jamf-school-devices.csv"), "2024-07-10").await.unwrap();
        assert_eq!((out.updated, out.warnings.len()), (2, 0), "{b:?}: {:?}", out.warnings);
        let (d2, model2) = device(&store, "DMP000000002").await;
        assert_eq!(
            (d2.device_name.as_deref(), d2.os_version.as_deref(), d2.last_check_in, model2.as_str()),
            (Some("桃井小-002"), Some("17.7"), Some(d("2024-07-01")), "iPad（第8世代）"),
            "{b:?}"
        );

        // Jamf Pro (mobile-device inventory)
        let out = import_devices(&store, m, &fixture("jamf-pro-mobile-devices.csv"), "2024-08-10").await.unwrap();
        assert_eq!((out.updated, out.warnings.len()), (1, 0), "{b:?}: {:?}", out.warnings);
        let (d1, _) = device(&store, "DMP000000001").await;
        assert_eq!(
            (d1.device_name.as_deref(), d1.os_version.as_deref(), d1.last_check_in),
            (Some("前橋桃井-01"), Some("17.7.1"), Some(d("2024-08-01"))),
            "{b:?}"
        );

        // GAM ChromeOS device list: ACTIVE at the school it is deployed at, so no state change
        let out = import_devices(&store, m, &fixture("gam-chromeos.csv"), "2024-05-10").await.unwrap();
        assert_eq!((out.updated, out.warnings.len()), (1, 0), "{b:?}: {:?}", out.warnings);
        let (c1, cmodel) = device(&store, "PF000001").await;
        assert_eq!(
            (c1.os_version.as_deref(), c1.last_check_in, cmodel.as_str(), c1.status.as_str()),
            (Some("124.0.6367.225"), Some(d("2024-05-01")), "Lenovo 300e Chromebook（第2世代）", "deployed"),
            "{b:?}"
        );
        let states = device_state::Entity::find().count(&store.db).await.unwrap();
        assert_eq!(states, 4, "{b:?}: syncing attributes records no state change");
    }
}

#[tokio::test]
async fn a_new_device_with_an_unknown_model_is_an_error_that_suggests_an_alias() {
    for b in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let (store, m) = register(b, &dir).await;
        let p = write(
            &dir,
            "intune-new.csv",
            "Device name,Serial number,Model,OS version,Azure AD Device ID
MAE-B1-0001,DMP000000001,iPad (8th generation),17.5.1,x
MAE-NEW-0009,DMP000000009,iPad (8th generation),17.5.1,y
",
        );
        let err = import_devices(&store, m, &p, "2024-05-10").await.unwrap_err();
        let StoreError::Rows(lines) = err else { panic!("row errors expected") };
        assert_eq!(lines.len(), 1, "{b:?}: only the new device is an error: {lines:?}");
        assert!(
            lines[0].starts_with("intune-new.csv:3:model: iPad (8th generation) — 登録済みの機種名または機種の別名")
        );
        assert!(lines[0].contains("gigaops model alias add --model 機種名 \"iPad (8th generation)\""), "{lines:?}");
        assert_eq!(device_count(&store).await, 4, "{b:?}: nothing written");
        assert_eq!(device(&store, "DMP000000001").await.0.device_name, None, "{b:?}: not even the known row");

        // with the alias, the new device gets the register's model
        models::add_alias(&store, m, "iPad（第8世代）", "ipad (8TH generation)", None).await.unwrap();
        let out = import_devices(&store, m, &p, "2024-05-10").await.unwrap();
        assert_eq!((out.inserted, out.updated), (1, 1), "{b:?}");
        assert_eq!(device(&store, "DMP000000009").await.1, "iPad（第8世代）");
    }
}

#[tokio::test]
async fn model_aliases_are_listed_checked_and_removed() {
    for b in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let (store, m) = register(b, &dir).await;
        let add = |model: &'static str, alias: &'static str| {
            let store = store.clone();
            async move { models::add_alias(&store, m, model, alias, Some("board@example.jp")).await }
        };
        let a = add("iPad（第8世代）", " iPad (8th generation) ").await.unwrap();
        assert_eq!(
            (a.alias.as_str(), a.model_name.as_str(), a.changed),
            ("iPad (8th generation)", "iPad（第8世代）", true)
        );
        // the same alias up to width, case and spaces: nothing to do
        let again = add("iPad（第8世代）", "ＩＰＡＤ　(8th Generation)").await.unwrap();
        assert_eq!((again.alias.as_str(), again.changed), ("iPad (8th generation)", false), "{b:?}");

        let msg = |r: Result<models::AliasChange, StoreError>| r.unwrap_err().to_string();
        assert_eq!(
            msg(add("iPad（第9世代）", "ipad (8th generation)").await),
            "別名「ipad (8th generation)」は機種「iPad（第8世代）」の別名として登録済みです（付け替えるには先にその別名を削除してください）"
        );
        assert!(msg(add("iPad（第9世代）", "iPad(第8世代)").await).contains("別の機種「iPad（第8世代）」の名前です"));
        assert!(msg(add("iPad（第8世代）", "ipad（第８世代）").await).contains("名前そのもの"));
        let unknown = msg(add("iPad（第10世代）", "iPad (10th generation)").await);
        assert!(unknown.starts_with("機種「iPad（第10世代）」は登録されていません（登録済みの機種: "), "{unknown}");
        assert!(matches!(add("iPad（第8世代）", "  ").await, Err(StoreError::Rule(_))));
        // a model named by one of its aliases
        let by_alias = add("iPad (8th generation)", "iPad11,6").await.unwrap();
        assert_eq!(by_alias.model_name, "iPad（第8世代）");
        // a new model cannot take an alias's name
        let e = fleet::queries::upsert_model(&store, m, "iPad11,6", "iPad（小中）").await.unwrap_err();
        assert!(e.to_string().contains("機種「iPad（第8世代）」の別名として登録済み"), "{b:?}: {e}");

        let list = models::list(&store, m).await.unwrap();
        let names: Vec<(&str, &str, i64, Vec<&str>)> = list
            .iter()
            .map(|x| {
                (
                    x.name.as_str(),
                    x.model_group.as_str(),
                    x.devices,
                    x.aliases.iter().map(|a| a.alias.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("Lenovo 300e Chromebook（第2世代）", "Chromebook（小中）", 1, vec![]),
                ("iPad（第8世代）", "iPad（小中）", 2, vec!["iPad (8th generation)", "iPad11,6"]),
                ("iPad（第9世代）", "iPad（小中）", 1, vec![]),
            ],
            "{b:?}"
        );
        assert_eq!(list[1].aliases[0].created_by.as_deref(), Some("board@example.jp"));
        assert_eq!(models::resolve(&store, m, "IPAD11,6").await.unwrap().unwrap().name, "iPad（第8世代）");

        let removed = models::remove_alias(&store, m, "ipad (8th generation)").await.unwrap();
        assert_eq!((removed.alias.as_str(), removed.model_name.as_str()), ("iPad (8th generation)", "iPad（第8世代）"));
        let e = models::remove_alias(&store, m, "iPad (8th generation)").await.unwrap_err();
        assert!(
            matches!(&e, StoreError::NotFound(t) if t == "別名「iPad (8th generation)」は登録されていません"),
            "{e}"
        );
        assert!(models::resolve(&store, m, "iPad (8th generation)").await.unwrap().is_none(), "{b:?}");
        // aliases belong to one municipality
        let other = municipalities::ensure(&store, "takasaki", "高崎市").await.unwrap().id;
        assert!(models::resolve(&store, other, "iPad11,6").await.unwrap().is_none());
    }
}
