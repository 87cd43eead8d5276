//! Every web download with hostile text (a plan entry, a model group, an upload's file name and
//! values imported as `=HYPERLINK(…)`, `+1+cmd|…`, `-2+3`, `@SUM(1)`): CSV text cells start with
//! `'` so a spreadsheet shows them as text, numbers stay numbers, and XLSX cells are strings,
//! never formulas.

use crate::app::{TestApp, BOARD, MOMOI, VIEWER};
use crate::imports::{job_id, settled, upload};
use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use gigaops_ingest::ImportKind;
use gigaops_store::imports::ImportOptions;
use gigaops_store::testing::{self, BACKENDS};
use gigaops_store::{municipalities, Store};
use reqwest::StatusCode;
use std::io::Cursor;
use std::path::Path;

const HYPERLINK: &str = r#"=HYPERLINK("http://x","y")"#;
const CMD: &str = "+1+cmd|' /C calc'!A0";
const SUM: &str = "-2+3";
const AT: &str = "@SUM(1)";

/// The cell as it must appear in a CSV line: `'` first, quoted when it needs quotes.
fn neutralised(s: &str) -> String {
    let guarded = format!("'{s}");
    if guarded.contains(['"', ',']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// Every cell of every sheet: (sheet, text cells); panics when any cell holds a formula.
fn xlsx_strings(bytes: &[u8]) -> Vec<String> {
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("xlsx");
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

/// Sendai's 資料4-1 with hostile text in the first goal: 目標内容, 取組, 実績・課題, 次年度の取組.
fn hostile_plan_csv() -> String {
    let sendai =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sendai-r5/plan-r5.csv"))
            .expect("sendai");
    let quoted = format!("\"{}\"", HYPERLINK.replace('"', "\"\""));
    sendai
        .replacen(
            "市立学校が、情報活用能力に関する意識調査の結果をもとに、情報活用能力育成の年間指導計画を作成。",
            CMD,
            1,
        )
        .replacen("モデルカリキュラムの内容を適宜見直し、各学校に周知", SUM, 1)
        .replacen("生成AIの位置付けも含め、現在見直し中である。", &quoted, 1)
        .replacen(
            "情報活用能力に関する意識調査結果を学校へ展開し、それに基づいた情報活用能力育成の年間指導計画例の提示",
            AT,
            1,
        )
}

async fn load_hostile(store: &Store, dir: &Path) {
    let m = municipalities::find(store, "maebashi").await.unwrap().unwrap().id;
    let plan = dir.join("plan.csv");
    std::fs::write(&plan, hostile_plan_csv()).unwrap();
    testing::import(store, m, ImportKind::Plan, &plan, ImportOptions::default()).await.unwrap();
    let devices = dir.join("devices.csv");
    let group = format!("\"{}\"", HYPERLINK.replace('"', "\"\""));
    std::fs::write(
        &devices,
        format!(
            "serial_number,model,model_group,device_class,status,school_code,asset_tag\n\
             TEVIL0001,{SUM},{group},learner,deployed,{MOMOI},EVIL-1\nTEVIL0002,{SUM},{group},learner,spare,,EVIL-2\n"
        ),
    )
    .unwrap();
    let as_of = chrono::NaiveDate::from_ymd_opt(2021, 4, 1);
    testing::import(store, m, ImportKind::Devices, &devices, ImportOptions { as_of, ..Default::default() })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_never_hand_a_spreadsheet_a_formula() {
    for b in BACKENDS {
        let app = TestApp::spawn(b).await;
        let dir = tempfile::tempdir().unwrap();
        load_hostile(&app.store, dir.path()).await;
        let viewer = app.login(VIEWER).await;

        let csv = app.get(&viewer, "/plan/report.csv?fiscal_year=R5").await;
        assert_eq!(csv.status, StatusCode::OK, "[{b:?}] {}", csv.body);
        for hostile in [HYPERLINK, CMD, SUM, AT] {
            assert!(
                csv.body.contains(&format!(",{},", neutralised(hostile))),
                "[{b:?}] plan CSV {hostile}:\n{}",
                csv.body
            );
        }
        // an ungraded goal's 評価 is written as '- and imports back as ungraded
        assert!(csv.body.contains(",'-,"), "[{b:?}] ungraded");
        let xlsx = app.get(&viewer, "/plan/report.xlsx?fiscal_year=R5").await;
        assert_eq!(xlsx.status, StatusCode::OK);
        let cells = xlsx_strings(&xlsx.bytes);
        for hostile in [HYPERLINK, CMD, SUM, AT] {
            assert!(cells.iter().any(|c| c == hostile), "[{b:?}] plan XLSX string {hostile}");
        }

        let csv = app.get(&viewer, "/fleet/report.csv?fiscal_year=R4").await;
        assert_eq!(csv.status, StatusCode::OK);
        let line = format!("\r\n{},4月,0,0,0,0,0,1\r\n", neutralised(HYPERLINK));
        assert!(csv.body.contains(&line), "[{b:?}] fleet CSV:\n{}", csv.body);
        let xlsx = app.get(&viewer, "/fleet/report.xlsx?fiscal_year=R4").await;
        assert!(xlsx_strings(&xlsx.bytes).iter().any(|c| c == HYPERLINK), "[{b:?}] fleet XLSX title");

        // an upload named like a formula, with a formula as a bad value: its errors.csv
        let board = app.login(BOARD).await;
        let bad = format!("serial_number,model,model_group,device_class,status,school_code,asset_tag\nX1,m,g,learner,deployed,{AT},a\n");
        let r = upload(&app, &board, "devices", &[], ("=cmd.csv", bad.as_bytes())).await;
        let id = job_id(&r);
        settled(&app, &board, id).await;
        let csv = app.get(&board, &format!("/imports/{id}/errors.csv")).await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(csv.body.contains("\r\n'=cmd.csv,2,"), "[{b:?}] file name:\n{}", csv.body);
        assert!(csv.body.contains(&format!(",{},", neutralised(AT))), "[{b:?}] value:\n{}", csv.body);
    }
}
