//! Every `gigaops report …` and `escalation work` export with hostile text (a school name, a plan
//! entry, a model group, a device serial and a pupil id imported as `=HYPERLINK(…)`, `+1+cmd|…`,
//! `-2+3`, `@SUM(1)`), on SQLite and PostgreSQL: CSV text cells start with `'`, numbers stay
//! numbers, XLSX cells are strings and never formulas, and the plan's CSV still imports back to
//! the same bytes.

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use gigaops_store::testing::{fresh_url, BACKENDS};
use std::io::Cursor;
use std::path::Path;
mod common;

use common::{ok, root};

const HYPERLINK: &str = r#"=HYPERLINK("http://x","y")"#;
const CMD: &str = "+1+cmd|' /C calc'!A0";
const SUM: &str = "-2+3";
const AT: &str = "@SUM(1)";
const SCHOOL: &str = "B110210000017";

/// The cell as it must appear in a CSV line: `'` first, quoted when it needs quotes.
fn neutralised(s: &str) -> String {
    let guarded = format!("'{s}");
    if guarded.contains(['"', ',']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// A value written as a CSV field.
fn field(s: &str) -> String {
    if s.contains(['"', ',']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The text cells of every sheet; panics when any cell holds a formula.
fn xlsx_strings(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).expect("xlsx");
    let mut out = Vec::new();
    for name in wb.sheet_names() {
        let formulas = wb.worksheet_formula(&name).expect("formulas");
        assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "sheet {name} has a formula");
        let range = wb.worksheet_range(&name).expect("sheet");
        out.extend(range.used_cells().filter_map(|(_, _, c)| match c {
            Data::String(s) => Some(s.clone()),
            _ => None,
        }));
    }
    out
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

#[tokio::test]
async fn every_cli_export_neutralises_formulas() {
    let sendai = std::fs::read_to_string(root().join("examples/sendai-r5/plan-r5.csv")).unwrap();
    let plan = sendai
        .replacen(
            "市立学校が、情報活用能力に関する意識調査の結果をもとに、情報活用能力育成の年間指導計画を作成。",
            CMD,
            1,
        )
        .replacen("モデルカリキュラムの内容を適宜見直し、各学校に周知", SUM, 1)
        .replacen("生成AIの位置付けも含め、現在見直し中である。", &field(HYPERLINK), 1);
    for b in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let db = fresh_url(b).await;
        ok(&db, &["municipality", "add", "maebashi", "前橋市教育委員会"]);
        let schools = format!("学校コード,学校種,学校名\n{SCHOOL},B1(小学校),{}\n", field(HYPERLINK));
        ok(&db, &["import", "schools", &write(d, "schools.csv", &schools)]);
        let devices = format!(
            "serial_number,model,model_group,device_class,status,school_code,asset_tag\n\
             {SUM},m,{},learner,deployed,{SCHOOL},A1\n",
            field(CMD)
        );
        ok(&db, &["import", "devices", &write(d, "devices.csv", &devices), "--as-of", "2022-04-01"]);
        let lines = format!(
            "line_id,school_code,device_serial,pupil_id,active_from\n07000000001,{SCHOOL},{SUM},{AT},2021-04-01\n"
        );
        ok(&db, &["import", "lines", &write(d, "lines.csv", &lines)]);
        for m in ["2022-09", "2022-10"] {
            let usage = format!("line_id,month,usage_gb\n07000000001,{m},250\n");
            ok(&db, &["import", "usage", &write(d, &format!("{m}.csv"), &usage)]);
            ok(&db, &["escalation", "run", "--month", m]);
        }
        ok(&db, &["import", "plan", &write(d, "plan.csv", &plan)]);

        // plan: CSV, XLSX, and export → import → export
        let csv = ok(&db, &["report", "plan", "--fiscal-year", "R5", "--format", "csv"]);
        for h in [HYPERLINK, CMD, SUM] {
            assert!(csv.contains(&format!(",{},", neutralised(h))), "{b:?} plan CSV {h}:\n{csv}");
        }
        let exported = write(d, "exported.csv", &csv);
        assert!(ok(&db, &["import", "plan", &exported]).contains("変更なし 53"), "{b:?} the export imports unchanged");
        assert_eq!(ok(&db, &["report", "plan", "--fiscal-year", "R5", "--format", "csv"]), csv, "{b:?}");
        let x = d.join("plan.xlsx");
        ok(&db, &["report", "plan", "--fiscal-year", "R5", "--format", "xlsx", "--out", x.to_str().unwrap()]);
        let cells = xlsx_strings(&x);
        assert!([HYPERLINK, CMD, SUM].iter().all(|h| cells.iter().any(|c| c == h)), "{b:?} plan XLSX strings");

        // fleet: the model group
        let csv = ok(&db, &["report", "fleet", "--fiscal-year", "R4", "--format", "csv"]);
        assert!(csv.contains(&format!("\r\n{},4月,0,0,0,0,0,0\r\n", neutralised(CMD))), "{b:?} fleet CSV:\n{csv}");
        let x = d.join("fleet.xlsx");
        ok(&db, &["report", "fleet", "--fiscal-year", "R4", "--format", "xlsx", "--out", x.to_str().unwrap()]);
        assert!(xlsx_strings(&x).iter().any(|c| c == CMD), "{b:?} fleet XLSX");

        // usage: the school name; numbers stay numbers
        let csv = ok(&db, &["report", "usage", "--from", "2022-09", "--to", "2022-10", "--format", "csv"]);
        assert!(
            csv.contains(&format!("{SCHOOL},{},2022年9月,250.00,", neutralised(HYPERLINK))),
            "{b:?} usage CSV:\n{csv}"
        );
        let x = d.join("usage.xlsx");
        ok(
            &db,
            &[
                "report",
                "usage",
                "--from",
                "2022-09",
                "--to",
                "2022-10",
                "--format",
                "xlsx",
                "--out",
                x.to_str().unwrap(),
            ],
        );
        assert!(
            xlsx_strings(&x).iter().any(|c| c.starts_with(HYPERLINK)),
            "{b:?} usage XLSX: the school's sheet title"
        );
        let x = d.join("escalation.xlsx");
        ok(
            &db,
            &[
                "report",
                "escalation",
                "--from",
                "2022-09",
                "--to",
                "2022-10",
                "--format",
                "xlsx",
                "--out",
                x.to_str().unwrap(),
            ],
        );
        xlsx_strings(&x);

        // escalation work: the device serial (MDM list) and the pupil id and school name (notices)
        let mdm = ok(&db, &["escalation", "work", "--month", "2022-09", "--format", "mdm"]);
        assert!(mdm.contains(&format!("\r\n{},07000000001,{SCHOOL},1,", neutralised(SUM))), "{b:?} MDM:\n{mdm}");
        let notices = ok(&db, &["escalation", "work", "--month", "2022-10", "--format", "schools"]);
        let line = format!("\r\n{SCHOOL},{},{},07000000001,2022-10,", neutralised(HYPERLINK), neutralised(AT));
        assert!(notices.contains(&line), "{b:?} notices:\n{notices}");
    }
}
