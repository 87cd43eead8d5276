//! Real input end to end: Sendai's 資料4-1 (seed 000) and Chuo's R7–R11 schedule (seed 004)
//! go through the `gigaops` binary on SQLite and PostgreSQL. Expected counts are the documents',
//! typed in here (see the examples' READMEs).

use gigaops_store::testing::{fresh_url, BACKENDS};
use serde_json::Value;
mod common;

use common::{gigaops, ok, root};

const SENDAI: &str = "examples/sendai-r5/plan-r5.csv";
const CHUO: &str = "examples/chuo-r7-r11/schedule-r7-r11.csv";

/// Seed 000 per policy: (measures, initiatives, goals, ◎, ○, △, ungraded).
const SENDAI_POLICIES: [(usize, usize, usize, u64, u64, u64, u64); 4] =
    [(3, 12, 27, 1, 23, 0, 3), (1, 3, 11, 3, 5, 0, 3), (1, 5, 8, 3, 4, 0, 1), (2, 5, 7, 4, 2, 0, 1)];

#[tokio::test]
async fn both_examples_import_and_render_through_the_cli() {
    for b in BACKENDS {
        let db = fresh_url(b).await;
        ok(&db, &["municipality", "add", "sendai", "仙台市教育委員会"]);
        let dry = ok(&db, &["import", "plan", SENDAI, "--dry-run"]);
        assert!(dry.contains("53 行（新規 53・更新 0・変更なし 0） ※ 確認のみのため書き込んでいません"), "{dry}");
        let out = ok(&db, &["import", "plan", SENDAI]);
        assert!(out.contains("53 行（新規 53・更新 0・変更なし 0）"), "{out}");
        let again = ok(&db, &["import", "plan", SENDAI]);
        assert!(again.contains("新規 0・更新 0・変更なし 53"), "{again}");
        let out = ok(&db, &["import", "plan", CHUO]);
        assert!(out.contains("78 行（新規 78"), "{out}");
        let plans = ok(&db, &["plan", "list"]);
        assert!(
            plans.contains("仙台市学校教育情報化推進計画\tR5-R9") && plans.contains("中央市ICT推進計画\tR7-R11"),
            "{plans}"
        );

        let json: Value = serde_json::from_str(&ok(&db, &["report", "plan", "--fiscal-year", "R5"])).unwrap();
        assert_eq!(json["fiscal_year"], 2023);
        let policies = json["policies"].as_array().unwrap();
        assert_eq!(policies.len(), 4, "{b:?}");
        for (p, want) in policies.iter().zip(SENDAI_POLICIES) {
            let measures = p["measures"].as_array().unwrap();
            let initiatives: Vec<&Value> = measures.iter().flat_map(|m| m["initiatives"].as_array().unwrap()).collect();
            let goals = initiatives.iter().map(|i| i["goals"].as_array().unwrap().len()).sum::<usize>();
            let c = &p["grade_counts"];
            let got = (
                measures.len(),
                initiatives.len(),
                goals,
                c["excellent"].as_u64().unwrap(),
                c["good"].as_u64().unwrap(),
                c["insufficient"].as_u64().unwrap(),
                c["ungraded"].as_u64().unwrap(),
            );
            assert_eq!(got, want, "policy {} on {b:?}", p["code"]);
        }
        let total = &json["grade_counts"];
        assert_eq!(
            (total["excellent"].as_u64(), total["good"].as_u64(), total["ungraded"].as_u64()),
            (Some(11), Some(34), Some(8))
        );

        // CSV export → import → export through the binary
        let dir = tempfile::tempdir().unwrap();
        let csv1 = dir.path().join("r5.csv");
        ok(&db, &["report", "plan", "--fiscal-year", "2023", "--format", "csv", "--out", csv1.to_str().unwrap()]);
        let db2 = fresh_url(b).await;
        ok(&db2, &["import", "plan", csv1.to_str().unwrap()]);
        let csv2 = dir.path().join("r5-again.csv");
        ok(&db2, &["report", "plan", "--fiscal-year", "2023", "--format", "csv", "--out", csv2.to_str().unwrap()]);
        assert_eq!(std::fs::read(&csv1).unwrap(), std::fs::read(&csv2).unwrap(), "round trip on {b:?}");
        for f in ["xlsx", "html"] {
            let p = dir.path().join(format!("r5.{f}"));
            ok(&db, &["report", "plan", "--fiscal-year", "2023", "--format", f, "--out", p.to_str().unwrap()]);
            assert!(std::fs::metadata(&p).unwrap().len() > 10_000, "{f}");
        }

        // Chuo: the schedule
        let s: Value =
            serde_json::from_str(&ok(&db, &["report", "plan", "--schedule", "--plan", "中央市ICT推進計画"])).unwrap();
        let goals = s["goals"].as_array().unwrap();
        assert_eq!(goals.len(), 19);
        assert_eq!(goals.iter().map(|g| g["bars"].as_array().unwrap().len()).sum::<usize>(), 78);
        let dirs: Vec<&str> = goals.iter().filter_map(|g| g["kpi_direction"].as_str()).collect();
        let n = |d: &str| dirs.iter().filter(|x| **x == d).count();
        assert_eq!((n("increase"), n("maintain"), n("milestone"), n("reference")), (1, 4, 1, 1), "{b:?}");

        // years: open, lock; a locked year refuses imports and nothing changes
        ok(&db, &["plan", "year", "open", "--fiscal-year", "2023", "--plan", "仙台市学校教育情報化推進計画"]);
        let locked = ok(&db, &["plan", "year", "lock", "--fiscal-year", "R5"]);
        assert!(locked.contains("令和5年度を「確定（ロック）」にしました"), "{locked}");
        let refused = gigaops(&db, &["import", "plan", SENDAI]);
        assert!(!refused.status.success());
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(
            err.contains("53 件のエラー") && err.contains("plan-r5.csv:2:年度: 2023 — 確定（ロック）されていない年度"),
            "{err}"
        );
        let out_of_period =
            gigaops(&db, &["plan", "year", "open", "--fiscal-year", "2030", "--plan", "仙台市学校教育情報化推進計画"]);
        assert!(!out_of_period.status.success());
    }
}

#[tokio::test]
async fn bad_files_name_row_and_column_and_write_nothing() {
    let db = fresh_url(BACKENDS[0]).await;
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join(SENDAI)).unwrap();
    // an unknown grade on the second goal, an unknown status on the third (the first goal spans lines 2–3:
    // its 学校 cell has a line break, and rows are numbered by file line)
    let bad = text
        .replacen(
            "年内,今年度の取組を基に年間指導計画の自校化を教育課程訪問で指導している。,○",
            "年内,今年度の取組を基に年間指導計画の自校化を教育課程訪問で指導している。,×",
            1,
        )
        .replacen("継続,年度内,教育センターで作成中。", "廃止,年度内,教育センターで作成中。", 1);
    let p = dir.path().join("bad.csv");
    std::fs::write(&p, bad).unwrap();
    let o = gigaops(&db, &["import", "plan", p.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.csv:4:評価: × — 評価（◎、○、△"), "{err}");
    assert!(err.contains("bad.csv:5:区分: 廃止 — 新規・継続・拡充"), "{err}");
    let list = ok(&db, &["plan", "list"]);
    assert!(list.trim().is_empty(), "nothing may be written: {list}");

    // a workbook without the 評価 column
    let x = dir.path().join("missing.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["年度", "目標", "目標内容"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "2023").unwrap();
    wb.save(&x).unwrap();
    let o = gigaops(&db, &["import", "plan", x.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("missing.xlsx[Sheet1]: 必要な列がありません") && err.contains("評価 / grade"), "{err}");
}

#[tokio::test]
async fn plan_note_sets_shows_and_clears_a_plans_note() {
    for b in BACKENDS {
        let db = fresh_url(b).await;
        ok(&db, &["municipality", "add", "chuo", "中央市教育委員会"]);
        ok(&db, &["import", "plan", CHUO]);
        let out = ok(&db, &["plan", "note", "  中央市の計画を例示のために掲載しています。 "]);
        assert!(
            out.contains("中央市ICT推進計画 の注記を設定しました: 中央市の計画を例示のために掲載しています。"),
            "{out}"
        );
        let plans = ok(&db, &["plan", "list"]);
        assert!(
            plans.contains("中央市ICT推進計画\tR7-R11\t中央市の計画を例示のために掲載しています。\n"),
            "{b:?}: {plans}"
        );
        // the schedule document shows it
        let html = ok(&db, &["report", "plan", "--schedule", "--format", "html"]);
        assert!(html.contains("中央市の計画を例示のために掲載しています。"), "{b:?}");

        let long = "あ".repeat(501);
        let refused = gigaops(&db, &["plan", "note", &long]);
        assert!(!refused.status.success(), "{b:?}");
        assert!(String::from_utf8_lossy(&refused.stderr).contains("500文字以内"), "{b:?}");
        let unknown = gigaops(&db, &["plan", "note", "x", "--plan", "ない計画"]);
        assert!(String::from_utf8_lossy(&unknown.stderr).contains("計画「ない計画」は登録されていません"), "{b:?}");

        let out = ok(&db, &["plan", "note", ""]);
        assert!(out.contains("中央市ICT推進計画 の注記を消しました"), "{out}");
        assert!(ok(&db, &["plan", "list"]).ends_with("中央市ICT推進計画\tR7-R11\n"), "{b:?}");
    }
}
