//! Real input end to end: the Maebashi 2022 usage files go through the `gigaops` binary
//! on SQLite and PostgreSQL; the capacity report reproduces the published ratios and the
//! escalation runs for September–December reproduce the published results (seed 003,
//! 「３ 報告（１）イ 学習者用端末の運用状況（通信量）」). Expected figures are the seed's, typed in here.

use gigaops_store::testing::{fresh_url, BACKENDS};
use serde_json::{json, Value};
mod common;

use common::{gigaops, ok, root};

fn fails(db: &str, args: &[&str]) -> String {
    let o = gigaops(db, args);
    assert!(!o.status.success(), "gigaops {args:?} should fail");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const EX: &str = "examples/maebashi-2022-usage";

// Seed 003: 通信量（GB） and 使用率, January–December 2022.
const USAGE_GB: [f64; 12] =
    [57563.0, 62360.0, 55760.0, 53018.0, 60931.0, 64119.0, 62209.0, 45761.0, 68216.0, 66144.0, 64107.0, 65752.0];
const PERCENT: [f64; 12] = [46.0, 50.0, 45.0, 43.0, 49.0, 52.0, 50.0, 37.0, 55.0, 53.0, 52.0, 53.0];

#[tokio::test]
async fn maebashi_2022_usage_and_escalation_are_reproduced_through_the_cli() {
    for b in BACKENDS {
        let db = fresh_url(b).await;
        ok(&db, &["municipality", "add", "maebashi", "前橋市教育委員会"]);
        ok(&db, &["import", "schools", "examples/maebashi-fy2022/schools-maebashi.csv", "--name-prefix", "前橋市立"]);
        let out = ok(&db, &["import", "lines", &format!("{EX}/lines.csv")]);
        assert!(out.contains("24933 行（新規 24933"), "{out}");
        for m in 1..=11 {
            ok(&db, &["import", "usage", &format!("{EX}/usage-2022-{m:02}.csv")]);
        }
        let mapping = format!("{EX}/carrier-mapping.toml");
        let out = ok(&db, &["import", "usage", &format!("{EX}/carrier-2022-12.csv"), "--mapping", &mapping]);
        assert!(out.contains("24888 行（新規 24888"), "{out}");
        // importing the same file again changes nothing
        let again = ok(&db, &["import", "usage", &format!("{EX}/usage-2022-09.csv")]);
        assert!(again.contains("新規 0・更新 0・変更なし 24888"), "{again}");

        let json: Value =
            serde_json::from_str(&ok(&db, &["report", "usage", "--from", "2022-01", "--to", "2022-12"])).unwrap();
        let months = json["months"].as_array().unwrap();
        assert_eq!(months.len(), 12);
        assert_eq!(
            months[0],
            json!({"month":"2022-01","usage_gb":57563.0,"capacity_gb":124665.0,"active_lines":24933,"ratio":0.4617}),
            "{b:?}"
        );
        for (i, m) in months.iter().enumerate() {
            assert_eq!(m["usage_gb"], USAGE_GB[i], "{b:?} month {i}");
            let (cap, lines) = if i < 4 { (124665.0, 24933) } else { (124440.0, 24888) };
            assert_eq!((m["capacity_gb"].as_f64().unwrap(), m["active_lines"].as_i64().unwrap()), (cap, lines));
            let pct = (m["ratio"].as_f64().unwrap() * 100.0).round();
            assert_eq!(pct, PERCENT[i], "{b:?} month {i}: published whole percent");
        }
        let schools = json["schools"].as_array().unwrap();
        assert!(schools.len() > 60, "{b:?} by school");
        let sum: f64 = schools.iter().map(|s| s["months"][8]["usage_gb"].as_f64().unwrap()).sum();
        assert!((sum - 68216.0).abs() < 1e-6, "{b:?} schools add up to the city: {sum}");

        // escalation: before the policy, out of order, then September–December in order
        assert!(fails(&db, &["escalation", "run", "--month", "2022-08"]).contains("適用開始月（2022-09）より前"));
        assert!(fails(&db, &["escalation", "run", "--month", "2022-10"]).contains("2022-09 がまだ判定されていません"));
        for m in ["2022-09", "2022-10", "2022-11", "2022-12"] {
            ok(&db, &["escalation", "run", "--month", m]);
        }
        let again = ok(&db, &["escalation", "run", "--month", "2022-12"]);
        assert!(again.contains("新規 14") && again.contains("前回と同じ結果"), "{again}");

        let r: Value =
            serde_json::from_str(&ok(&db, &["report", "escalation", "--from", "2022-09", "--to", "2022-12"])).unwrap();
        let expected_months = json!([
            {"month":"2022-09","new_cases":16,"steps":{"1":16,"2":0,"3":0,"4":0},"improved":0,"continued":0,"missing_data":0},
            {"month":"2022-10","new_cases":5,"steps":{"1":5,"2":11,"3":0,"4":0},"improved":5,"continued":0,"missing_data":0},
            {"month":"2022-11","new_cases":18,"steps":{"1":18,"2":4,"3":3,"4":0},"improved":9,"continued":0,"missing_data":0},
            {"month":"2022-12","new_cases":14,"steps":{"1":14,"2":5,"3":2,"4":2},"improved":16,"continued":0,"missing_data":0},
        ]);
        assert_eq!(r["months"], expected_months, "{b:?}");
        let expected_cohorts = json!([
            {"cohort":"2022-09","entered":16,"reached":{"2":11,"3":3,"4":2},"improved_after":{"1":5,"2":8,"3":1,"4":0}},
            {"cohort":"2022-10","entered":5,"reached":{"2":4,"3":2,"4":0},"improved_after":{"1":1,"2":2,"3":0,"4":0}},
            {"cohort":"2022-11","entered":18,"reached":{"2":5,"3":0,"4":0},"improved_after":{"1":13,"2":0,"3":0,"4":0}},
            {"cohort":"2022-12","entered":14,"reached":{"2":0,"3":0,"4":0},"improved_after":{"1":0,"2":0,"3":0,"4":0}},
        ]);
        assert_eq!(r["cohorts"], expected_cohorts, "{b:?}");
        assert_eq!(r["stale_months"], json!([]));

        // the other formats
        let html = ok(&db, &["report", "escalation", "--from", "2022-09", "--to", "2022-12", "--format", "html"]);
        assert!(html.contains("class=\"chart funnel\"") && html.contains("2022年9月の新規対象者"), "{html:.300}");
        let csv = ok(&db, &["report", "usage", "--from", "2022-01", "--to", "2022-12", "--format", "csv"]);
        assert!(csv.contains("市全体,,2022年8月,45761.00,124440.00,24888,36.77%"), "{csv:.500}");

        // work items of December: 14 + 2 MDM messages (steps ① and ③), 5 school notices, 2 letters
        let mdm = ok(&db, &["escalation", "work", "--month", "2022-12", "--format", "mdm"]);
        assert_eq!(mdm.lines().count(), 1 + 14 + 2, "{mdm}");
        let schools_csv = ok(&db, &["escalation", "work", "--month", "2022-12", "--format", "schools"]);
        assert_eq!(schools_csv.lines().count(), 1 + 5);
        let letters = ok(&db, &["escalation", "work", "--month", "2022-12", "--step", "4", "--format", "letters"]);
        assert_eq!(letters.matches("<section class=\"letter\">").count(), 2);
        let items: Value =
            serde_json::from_str(&ok(&db, &["escalation", "work", "--month", "2022-12", "--step", "4"])).unwrap();
        let id = items[0]["id"].as_i64().unwrap().to_string();
        let case = items[0]["case_id"].as_i64().unwrap().to_string();
        ok(&db, &["escalation", "done", &id, "--by", "kyoiku@city.maebashi.example"]);
        let hist = ok(&db, &["escalation", "history", "--case", &case]);
        assert_eq!(hist.lines().count(), 4, "{hist}");
        assert!(hist.lines().last().unwrap().contains("完了") && hist.contains("kyoiku@city.maebashi.example"));

        // a correction of November's usage is noticed: November and December must be re-run
        let dir = tempfile::tempdir().unwrap();
        let fix = dir.path().join("fix-2022-11.csv");
        let nov = std::fs::read_to_string(root().join(format!("{EX}/usage-2022-11.csv"))).unwrap();
        let first = nov.lines().nth(1).unwrap().split(',').next().unwrap().to_string();
        std::fs::write(&fix, format!("line_id,month,usage_gb\n{first},2022-11,1.234\n")).unwrap();
        assert!(fails(&db, &["import", "usage", fix.to_str().unwrap()]).contains("--replace"));
        ok(&db, &["import", "usage", fix.to_str().unwrap(), "--replace"]);
        let err = fails(&db, &["escalation", "run", "--month", "2022-12"]);
        assert!(err.contains("2022-11 の判定後に通信量が訂正されています"), "{err}");
        ok(&db, &["escalation", "run", "--month", "2022-11"]);
        let dec = ok(&db, &["escalation", "run", "--month", "2022-12"]);
        assert!(dec.contains("新規 14"), "{dec}");
    }
}

#[tokio::test]
async fn bad_usage_input_names_file_row_and_column_and_writes_nothing() {
    for b in BACKENDS {
        let db = fresh_url(b).await;
        let dir = tempfile::tempdir().unwrap();
        ok(&db, &["import", "schools", "examples/maebashi-fy2022/schools-maebashi.csv"]);
        let w = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.to_str().unwrap().to_string()
        };
        let lines = w(
            "lines.csv",
            "line_id,school_code,active_from,active_to\n07000000001,B110210000017,2022-04-01,\n\
             07000000002,B110210000017,2022-05-01,2022-04-30\n",
        );
        let err = fails(&db, &["import", "lines", &lines]);
        assert!(err.contains("lines.csv:3:active_to: 2022-04-30 — 利用開始日（2022-05-01）以降の日付"), "{b:?} {err}");
        let lines = w("lines2.csv", "line_id,school_code,active_from\n07000000001,B110210000017,2022-04-01\n");
        ok(&db, &["import", "lines", &lines]);

        let usage = w(
            "usage.csv",
            "line_id,month,usage_gb\n07000000001,2022-09,-3\n07000000001,2022-10,abc\n07000000001,2999-01,1\n",
        );
        let err = fails(&db, &["import", "usage", &usage]);
        assert!(err.contains("usage.csv:2:usage_gb: -3 — "), "{b:?} {err}");
        assert!(err.contains("usage.csv:3:usage_gb: abc — "), "{b:?} {err}");
        assert!(err.contains("usage.csv:4:month: 2999-01 — "), "{b:?} {err}");
        let unknown = w("unknown.csv", "line_id,month,usage_gb\n07000000009,2022-09,1\n");
        assert!(
            fails(&db, &["import", "usage", &unknown]).contains("unknown.csv:2:line_id: 07000000009 — 登録済みの回線")
        );
        let dup = w("dup.csv", "line_id,month,usage_gb\n07000000001,2022-09,1\n07000000001,2022-09,2\n");
        assert!(fails(&db, &["import", "usage", &dup]).contains("dup.csv:3:line_id: 07000000001 — 同じ回線・同じ月"));
        let no_unit = w("nounit.csv", "line_id,month,通信量\n07000000001,2022-09,1\n");
        assert!(fails(&db, &["import", "usage", &no_unit]).contains("nounit.csv:1:通信量"));
        let json: Value =
            serde_json::from_str(&ok(&db, &["report", "usage", "--from", "2022-09", "--to", "2022-10"])).unwrap();
        assert_eq!(json["months"][0]["usage_gb"], 0.0, "{b:?} nothing written");
        assert_eq!(json["months"][0]["active_lines"], 1);

        // the policy from the CLI
        let show = ok(&db, &["escalation", "policy", "show"]);
        assert!(
            show.contains("2022-09") && show.contains("200 GB 以上") && show.contains("2 か月連続で 100 GB"),
            "{show}"
        );
        let set = ok(
            &db,
            &[
                "escalation",
                "policy",
                "set",
                "--effective-from",
                "2022-10",
                "--single-gb",
                "150",
                "--consecutive-gb",
                "80",
            ],
        );
        assert!(set.contains("2022-10") && set.contains("150 GB 以上"), "{set}");
        ok(&db, &["escalation", "policy", "set", "--file", &format!("{EX}/escalation-policy.toml")]);
        assert!(ok(&db, &["escalation", "policy", "show"]).contains("200 GB 以上"));
    }
}
