//! `gigaops model alias add|remove` and `model list` through the binary, and an Intune export of
//! registered devices that imports with warnings instead of failing (SQLite and PostgreSQL).

use gigaops_store::testing::{fresh_url, BACKENDS};
mod common;

use common::{gigaops, ok};

const FIXTURES: &str = "crates/store/tests/fixtures/mdm";

#[tokio::test]
async fn model_aliases_from_the_command_line() {
    for b in BACKENDS {
        let db = fresh_url(b).await;
        let dir = tempfile::tempdir().unwrap();
        ok(&db, &["municipality", "add", "maebashi", "前橋市教育委員会"]);
        ok(&db, &["import", "schools", "examples/maebashi-fy2022/schools-maebashi.csv"]);
        let register = dir.path().join("register.csv");
        std::fs::write(
            &register,
            "serial_number,model,model_group,device_class,status,school_code,asset_tag\n\
             DMP000000001,iPad（第8世代）,iPad（小中）,learner,deployed,B110210000017,\n\
             DMP000000002,iPad（第8世代）,iPad（小中）,learner,deployed,B110210000017,\n\
             DMP000000003,iPad（第9世代）,iPad（小中）,learner,spare,,\n",
        )
        .unwrap();
        ok(&db, &["import", "devices", register.to_str().unwrap(), "--as-of", "2024-04-01"]);

        let out = ok(&db, &["model", "alias", "add", "--model", "iPad（第8世代）", "iPad (8th generation)"]);
        assert_eq!(out, "「iPad (8th generation)」を機種「iPad（第8世代）」の別名として登録しました\n", "{b:?}");
        ok(&db, &["model", "alias", "add", "--model", "iPad（第9世代）", "iPad (9th generation)"]);
        let o = gigaops(&db, &["model", "alias", "add", "--model", "iPad（第10世代）", "iPad (10th generation)"]);
        assert!(!o.status.success(), "{b:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("機種「iPad（第10世代）」は登録されていません"));

        let list = ok(&db, &["model", "list"]);
        assert_eq!(
            list,
            "機種グループ\t機種\t台数\t別名\n\
             iPad（小中）\tiPad（第8世代）\t2\tiPad (8th generation)\n\
             iPad（小中）\tiPad（第9世代）\t1\tiPad (9th generation)\n",
            "{b:?}"
        );

        // the real Intune export: one row names another registered model, one an unknown model
        let o = gigaops(&db, &["import", "devices", &format!("{FIXTURES}/intune-all-devices.csv")]);
        assert!(o.status.success(), "{b:?}: {}", String::from_utf8_lossy(&o.stderr));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("警告: intune-all-devices.csv:3:model: iPad (9th generation) — 台帳の機種「iPad（第8世代）」と異なります"), "{err}");
        assert!(err.contains("警告: intune-all-devices.csv:4:model: iPad Air (5th generation) — "), "{err}");
        assert!(String::from_utf8_lossy(&o.stdout).contains("3 行（新規 0・更新 3・変更なし 0）"));

        let out = ok(&db, &["model", "alias", "remove", "ipad (8TH generation)"]);
        assert_eq!(out, "機種「iPad（第8世代）」の別名「iPad (8th generation)」を削除しました\n");
        let o = gigaops(&db, &["model", "alias", "remove", "iPad (8th generation)"]);
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains("別名「iPad (8th generation)」は登録されていません"));
    }
}
