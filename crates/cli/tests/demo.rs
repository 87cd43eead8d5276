//! `gigaops demo` on SQLite and PostgreSQL: the demo municipality comes with the Maebashi 2022 LTE
//! usage and its escalation already run, so the usage pages and reports show the published figures
//! (seed 003: January 46 %, December 53 %; December ① 14, ② 5, ③ 2, ④ 2, 16 improved); a second
//! `gigaops demo` changes nothing. It also holds Sendai's and Chuo's plans (for illustration).

use gigaops_store::testing::{fresh_url, BACKENDS};
use serde_json::Value;
mod common;

use common::{gigaops, ok};

#[tokio::test]
async fn demo_includes_the_maebashi_usage_and_its_escalation() {
    for b in BACKENDS {
        let db = fresh_url(b).await;
        let first = gigaops(&db, &["demo"]);
        assert!(first.status.success(), "{b:?} {}", String::from_utf8_lossy(&first.stderr));
        let log = String::from_utf8_lossy(&first.stderr);
        assert!(log.contains("24933 行（新規 24933") && log.contains("2022-09〜2022-12 を判定しました"), "{log}");

        let usage: Value =
            serde_json::from_str(&ok(&db, &["report", "usage", "--from", "2022-01", "--to", "2022-12"])).unwrap();
        let months = usage["months"].as_array().unwrap();
        let pct = |i: usize| (months[i]["ratio"].as_f64().unwrap() * 100.0).round();
        assert_eq!((months.len(), pct(0), pct(11)), (12, 46.0, 53.0), "{b:?}");

        let esc: Value =
            serde_json::from_str(&ok(&db, &["report", "escalation", "--from", "2022-12", "--to", "2022-12"])).unwrap();
        let dec = &esc["months"][0];
        assert_eq!(
            (&dec["new_cases"], &dec["steps"]["2"], &dec["steps"]["3"], &dec["steps"]["4"], &dec["improved"]),
            (&Value::from(14), &Value::from(5), &Value::from(2), &Value::from(2), &Value::from(16)),
            "{b:?}"
        );

        // two other cities' real plans, shown for illustration
        let plans = ok(&db, &["plan", "list"]);
        assert!(
            plans.contains("仙台市学校教育情報化推進計画") && plans.contains("中央市ICT推進計画"),
            "{b:?}: {plans}"
        );
        // each says whose plan it is, and that it is not the demo board's own
        for line in plans.lines() {
            assert!(
                line.contains("（公開資料）を、デモのために例示として掲載したものです。本市の計画ではありません。"),
                "{b:?}: {line}"
            );
        }
        assert!(
            plans.contains("仙台市の「学校教育情報化推進計画」令和5年度の点検・評価")
                && plans.contains("中央市の ICT 推進計画（令和7〜11年度）のスケジュール"),
            "{b:?}: {plans}"
        );

        let again = gigaops(&db, &["demo"]);
        assert!(String::from_utf8_lossy(&again.stderr).contains("デモデータは作成済みです"), "{b:?}");
        let after: Value =
            serde_json::from_str(&ok(&db, &["report", "usage", "--from", "2022-01", "--to", "2022-12"])).unwrap();
        assert_eq!(after, usage, "{b:?} nothing changed");
    }
}
