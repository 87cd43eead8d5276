//! Renderers of the fleet report 「学習者用端末の運用状況」 on a small hand-made report built from
//! Maebashi's 令和4年度 figures (seed 003): snapshots of the HTML fragment, the SVG chart, the CSV
//! and an XLSX cell dump, plus the JSON contract and escaping.

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use gigaops_report::{FleetReport, GroupReport, MonthRow};
use std::io::Cursor;

const MONTHS: [&str; 12] = [
    "2022-04", "2022-05", "2022-06", "2022-07", "2022-08", "2022-09", "2022-10", "2022-11", "2022-12", "2023-01",
    "2023-02", "2023-03",
];

/// (damage, fault, loss, theft, spare_remaining) per month, April … March.
fn group(
    label: &str,
    deployed: i64,
    spares_start: i64,
    months: [(i64, i64, i64, i64, i64); 12],
    previous_year_total: i64,
    spares_exhausted_in: Option<&str>,
) -> GroupReport {
    let months: Vec<MonthRow> = MONTHS
        .iter()
        .zip(months)
        .map(|(m, (damage, fault, loss, theft, spare_remaining))| MonthRow {
            month: m.to_string(),
            damage,
            fault,
            loss,
            theft,
            total: damage + fault + loss + theft,
            spare_remaining,
        })
        .collect();
    let total = months.iter().map(|m| m.total).sum();
    GroupReport {
        model_group: label.to_string(),
        deployed,
        spares_start,
        months,
        total,
        previous_year_total,
        incident_rate: (deployed > 0).then(|| total as f64 / deployed as f64),
        spares_exhausted_in: spares_exhausted_in.map(String::from),
    }
}

/// Maebashi, 令和4年度 up to December: iPad breakage and Chromebook faults as in seed 003; January
/// to March not yet reported (no incidents, stock unchanged). For the Chromebooks, one September
/// and one November fault became a 紛失 and a 盗難 to fill those columns, and the spares are made up.
fn sample() -> FleetReport {
    let ipad = group(
        "iPad（小中）",
        24213,
        534,
        [
            (16, 0, 0, 0, 518),
            (22, 0, 0, 0, 496),
            (23, 0, 0, 0, 473),
            (20, 0, 0, 0, 453),
            (12, 0, 0, 0, 441),
            (35, 0, 0, 0, 406),
            (26, 0, 0, 0, 380),
            (44, 0, 0, 0, 336),
            (21, 0, 0, 0, 315),
            (0, 0, 0, 0, 315),
            (0, 0, 0, 0, 315),
            (0, 0, 0, 0, 315),
        ],
        215,
        Some("2023-12"),
    );
    let chromebook = group(
        "Chromebook（高）",
        720,
        21,
        [
            (0, 0, 0, 0, 21),
            (0, 0, 0, 0, 21),
            (0, 9, 0, 0, 19),
            (0, 2, 0, 0, 19),
            (0, 0, 0, 0, 21),
            (0, 4, 1, 0, 20),
            (0, 2, 0, 0, 21),
            (0, 5, 0, 1, 19),
            (0, 0, 0, 0, 21),
            (0, 0, 0, 0, 21),
            (0, 0, 0, 0, 21),
            (0, 0, 0, 0, 21),
        ],
        2,
        None,
    );
    FleetReport { fiscal_year: 2022, groups: vec![ipad, chromebook] }
}

#[test]
fn json_contract() {
    let report = sample();
    let json = report.to_json();
    assert!(json.contains('\n'), "pretty-printed");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value, serde_json::to_value(&report).unwrap(), "to_json is the serde shape, pretty-printed");
    // The contract in field order, compact.
    let compact = serde_json::to_string(&report).unwrap();
    assert_eq!(compact, json.lines().map(str::trim).collect::<String>().replace("\": ", "\":"));
    assert!(compact.starts_with(r#"{"fiscal_year":2022,"groups":[{"model_group":"iPad（小中）","deployed":24213,"spares_start":534,"months":[{"month":"2022-04","damage":16,"fault":0,"loss":0,"theft":0,"total":16,"spare_remaining":518},"#), "{compact}");
    assert!(
        compact.contains(
            r#""total":219,"previous_year_total":215,"incident_rate":0.009,"spares_exhausted_in":"2023-12"}"#
        ),
        "{compact}"
    );
    assert!(
        compact.contains(r#""total":24,"previous_year_total":2,"incident_rate":0.033,"spares_exhausted_in":null}"#),
        "{compact}"
    );

    let group = &value["groups"][0];
    let keys: Vec<&str> = group.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = vec![
        "model_group",
        "deployed",
        "spares_start",
        "months",
        "total",
        "previous_year_total",
        "incident_rate",
        "spares_exhausted_in",
    ];
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected);
    let month_keys: Vec<&str> = group["months"][0].as_object().unwrap().keys().map(String::as_str).collect();
    let mut month_keys = month_keys;
    month_keys.sort_unstable();
    assert_eq!(month_keys, ["damage", "fault", "loss", "month", "spare_remaining", "theft", "total"]);

    // Nothing deployed: the rate is null, not NaN or 0.
    let mut empty = sample();
    empty.groups[0].deployed = 0;
    empty.groups[0].incident_rate = None;
    assert!(empty.to_json().contains(r#""incident_rate": null"#));
}

#[test]
fn tables_mirror_maebashi() {
    let tables = sample().tables();
    assert_eq!(tables.len(), 2);
    let t = &tables[0];
    assert_eq!(t.title, "iPad（小中）");
    assert_eq!(t.columns, ["時期", "破損", "故障", "紛失", "盗難", "計", "保守残数"]);
    assert_eq!(t.rows.len(), 14);
    let labels: Vec<String> = t.rows.iter().map(|r| r[0].display()).collect();
    assert_eq!(labels[0], "4月");
    assert_eq!(labels[11], "3月");
    assert_eq!(labels[12], "合計");
    assert_eq!(labels[13], "前年度（令和3年度）");
    let summary: Vec<(String, String)> = t.summary.iter().map(|(l, v)| (l.clone(), v.display())).collect();
    assert_eq!(
        summary,
        [
            ("配置済台数".to_string(), "24,213".to_string()),
            ("年度当初の予備機".to_string(), "534".to_string()),
            ("発生率".to_string(), "0.90%".to_string()),
            ("予備機が尽きる見込み".to_string(), "2023年12月".to_string()),
        ]
    );
    assert_eq!(tables[1].summary[3].1.display(), "見込みなし");
}

#[test]
fn html_fragment_snapshot() {
    let html = sample().to_html_fragment();
    assert!(!html.contains("<html"), "a fragment, not a page");
    insta::assert_snapshot!("fleet_fragment", html);
}

#[test]
fn html_document_is_a_self_contained_japanese_page() {
    let html = sample().to_html_document();
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"ja\">"));
    assert!(html.contains("<title>学習者用端末の運用状況（令和4年度）</title>"));
    assert!(html.contains("<h1>学習者用端末の運用状況（令和4年度）</h1>"));
    assert!(html.contains("@page { size: A4 landscape"));
    assert!(html.contains("対象期間：令和4年4月1日〜令和5年3月31日"));
    assert_eq!(html.matches("<svg ").count(), 2, "one inline chart per group");
    assert_eq!(html.matches("<table class=\"report\">").count(), 2);
    assert!(html.contains(&sample().to_html_fragment()), "the page embeds the fragment unchanged");
    for external in ["<script", "<link", "src=", "url(", "@import", "http://", "https://"] {
        let allowed = external == "http://"
            && html.matches("http://").count() == html.matches("http://www.w3.org/2000/svg").count();
        assert!(allowed || !html.contains(external), "external resource: {external}");
    }
}

#[test]
fn svg_snapshot() {
    let report = sample();
    let svg = report.chart_svg(&report.groups[0]);
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.contains("font-family=\"IPAexGothic, 'Noto Sans CJK JP', sans-serif\""));
    assert_eq!(svg, report.chart_svg(&report.groups[0]), "deterministic");
    insta::assert_snapshot!("fleet_chart_ipad", svg);
}

#[test]
fn csv_snapshot() {
    let bytes = sample().to_csv();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM for Excel");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.ends_with("\r\n"));
    assert_eq!(text.matches("\r\n").count(), text.matches('\n').count(), "CRLF line ends only");
    assert_eq!(text.lines().count(), 1 + 2 * 14, "header, then 14 rows per group");
    insta::assert_snapshot!("fleet_csv", text.replace("\r\n", "\n"));
}

fn sheet_dump(bytes: &[u8]) -> (Vec<String>, String) {
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).unwrap();
    let names = book.sheet_names();
    let mut dump = String::new();
    for name in &names {
        let range = book.worksheet_range(name).unwrap();
        dump.push_str(&format!("== {name} ({:?} .. {:?})\n", range.start(), range.end()));
        for row in range.rows() {
            let cells: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::String(s) => s.clone(),
                    Data::Float(f) => format!("{f}"),
                    other => format!("{other:?}"),
                })
                .collect();
            dump.push_str(&cells.join("\t"));
            dump.push('\n');
        }
    }
    (names, dump)
}

#[test]
fn xlsx_cells() {
    let bytes = sample().to_xlsx().unwrap();
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.clone())).unwrap();
    assert_eq!(book.sheet_names(), ["iPad（小中）", "Chromebook（高）"]);
    let sheet = book.worksheet_range("iPad（小中）").unwrap();
    let at = |r: u32, c: u32| sheet.get_value((r, c)).cloned().unwrap_or(Data::Empty);
    let s = |v: &str| Data::String(v.to_string());

    // title, summary
    assert_eq!(at(0, 0), s("iPad（小中）"));
    assert_eq!(at(1, 0), s("配置済台数"));
    assert_eq!(at(1, 1), Data::Float(24213.0));
    assert_eq!(at(2, 0), s("年度当初の予備機"));
    assert_eq!(at(2, 1), Data::Float(534.0));
    assert_eq!(at(3, 0), s("発生率"));
    match at(3, 1) {
        Data::Float(r) => assert!((r - 219.0 / 24213.0).abs() < 1e-12, "the ratio itself, shown as a percentage"),
        other => panic!("発生率 should be a number, got {other:?}"),
    }
    assert_eq!(at(4, 1), s("2023年12月"));

    // header row (row 6), then 4月 … 3月, 合計, 前年度
    let header: Vec<Data> = (0..7).map(|c| at(6, c)).collect();
    assert_eq!(header, ["時期", "破損", "故障", "紛失", "盗難", "計", "保守残数"].map(s));
    let april: Vec<Data> = (0..7).map(|c| at(7, c)).collect();
    assert_eq!(
        april,
        [
            s("4月"),
            Data::Float(16.0),
            Data::Float(0.0),
            Data::Float(0.0),
            Data::Float(0.0),
            Data::Float(16.0),
            Data::Float(518.0)
        ]
    );
    let november: Vec<Data> = (0..7).map(|c| at(14, c)).collect();
    assert_eq!(november[0], s("11月"));
    assert_eq!(november[1], Data::Float(44.0));
    assert_eq!(november[6], Data::Float(336.0));
    let total: Vec<Data> = (0..7).map(|c| at(19, c)).collect();
    assert_eq!(
        total,
        [
            s("合計"),
            Data::Float(219.0),
            Data::Float(0.0),
            Data::Float(0.0),
            Data::Float(0.0),
            Data::Float(219.0),
            Data::Empty
        ]
    );
    assert_eq!(at(20, 0), s("前年度（令和3年度）"));
    assert_eq!(at(20, 5), Data::Float(215.0));

    let (_, dump) = sheet_dump(&bytes);
    insta::assert_snapshot!("fleet_xlsx_cells", dump);
}

#[test]
fn text_is_escaped_in_html_and_svg() {
    let mut report = sample();
    report.groups[0].model_group = r#"<script>alert("x")</script> & 'q'"#.to_string();
    let html = report.to_html_document();
    assert!(!html.contains("<script"), "raw tag in HTML");
    assert!(!html.contains(r#"alert("x")"#), "raw quote in HTML");
    assert!(html.contains("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;q&#39;"), "askama escaping");

    let svg = report.chart_svg(&report.groups[0]);
    assert!(!svg.contains("<script"), "raw tag in SVG");
    assert!(svg.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;"), "{svg}");

    let mut table = gigaops_report::Table::new("a<b", ["\"c\"", "d&e"]);
    table.rows.push(vec![gigaops_report::Cell::text("<td>")]);
    let t = gigaops_report::render::to_html(&table);
    assert!(!t.contains("<td>&") && !t.contains("<th scope=\"row\"><td>"), "{t}");
    assert!(t.contains("<caption>a&#60;b</caption>"), "{t}");
    assert!(t.contains("&#34;c&#34;") && t.contains("d&#38;e"), "{t}");
}

#[test]
fn empty_report_renders() {
    let report = FleetReport { fiscal_year: 2019, groups: vec![] };
    assert!(report.to_html_document().contains("<title>学習者用端末の運用状況（令和元年度）</title>"));
    assert!(report.to_html_fragment().contains("対象となる学習者用端末がありません。"));
    assert_eq!(report.to_csv(), "\u{feff}区分,時期,破損,故障,紛失,盗難,計,保守残数\r\n".as_bytes());
    assert!(report.to_xlsx().is_ok());
    assert_eq!(report.to_json(), "{\n  \"fiscal_year\": 2019,\n  \"groups\": []\n}");
}
