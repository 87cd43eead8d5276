//! Hostile input: files built to cost a naive reader far more memory than their size (a workbook
//! whose used range spans the whole sheet, a shared-strings bomb, zip bombs, endless CSV cells),
//! duplicated headers, and arbitrary bytes fed to `open_table` and every reader. Each must end in
//! a clear error or a result, never a panic or an abort.
//!
//! The workbooks are committed under `tests/fixtures/` (written by `fixtures/make_hostile.py`).

use gigaops_domain::calendar::YearMonth;
use gigaops_ingest::{
    devices, incidents, movements, open_table, open_table_with, plan, schools, usage, FileError, ReadLimits, RowError,
    Table,
};
use proptest::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn rows(t: &mut Table) -> Vec<Result<(usize, Vec<String>), RowError>> {
    t.rows().map(|r| r.map(|r| (r.row, r.cells))).collect()
}

#[test]
fn a_workbook_stating_a_used_range_to_xfd1048576_is_refused_before_any_allocation() {
    let path = fixture("far-cell.xlsx");
    assert!(std::fs::metadata(&path).unwrap().len() < 4096, "the fixture is tiny on disk");
    let err = open_table(&path, None).unwrap_err();
    let FileError::RangeTooLarge { cell, max_rows, max_columns, .. } = &err else { panic!("{err}") };
    assert_eq!((cell.as_str(), *max_rows, *max_columns), ("XFD1048576", 1_048_576, 512));
    assert_eq!(
        err.to_string(),
        "far-cell.xlsx[Sheet1]: シートの使用範囲が大きすぎます（セル XFD1048576。読み込めるのは 1048576 行 × 512 列（SR 列）までです。不要な行・列を削除して保存し直してください）"
    );
}

#[test]
fn a_far_cell_without_a_stated_range_ends_the_rows_with_an_error_about_the_whole_file() {
    let mut t = open_table(&fixture("far-cell-undeclared.xlsx"), None).unwrap();
    assert_eq!(t.headers, ["学校コード", "学校名"]);
    let got = rows(&mut t);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].as_ref().unwrap(), &(2, vec!["B110210000017".to_string(), "前橋市立桃井小学校".to_string()]));
    assert_eq!(got[1].as_ref().unwrap().0, 3);
    let err = got[2].as_ref().unwrap_err();
    assert_eq!((err.row, err.column.as_str()), (0, ""));
    assert!(
        err.to_string()
            .starts_with("far-cell-undeclared.xlsx[Sheet1]: シートの使用範囲が大きすぎます（セル XFD1048576。"),
        "{err}"
    );

    // the schools reader passes the error on: the import fails, naming the file
    let mut t = open_table(&fixture("far-cell-undeclared.xlsx"), None).unwrap();
    let (records, errors) = gigaops_ingest::collect_rows(schools::read(&mut t).unwrap());
    assert_eq!(records.len(), 2);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].expected.contains("XFD1048576"));

    // the same cell right after the header is a FileError
    let limits = ReadLimits { max_rows: 1, ..ReadLimits::default() };
    let err = open_table_with(&fixture("far-cell-undeclared.xlsx"), None, &limits).unwrap_err();
    assert!(matches!(&err, FileError::RangeTooLarge { cell, .. } if cell == "A2"), "{err}");
}

#[test]
fn a_shared_strings_bomb_is_refused_by_its_stated_size() {
    let path = fixture("shared-strings-bomb.xlsx");
    assert!(std::fs::metadata(&path).unwrap().len() < 256 * 1024, "small on disk");
    let err = open_table(&path, None).unwrap_err();
    let FileError::SharedStringsTooLarge { part, bytes, limit, .. } = &err else { panic!("{err}") };
    assert_eq!(part, "xl/sharedStrings.xml");
    assert!(*bytes > 80 * 1024 * 1024 - 100, "{bytes}");
    assert_eq!(*limit, 64 * 1024 * 1024);
    assert!(err
        .to_string()
        .starts_with("shared-strings-bomb.xlsx: 共有文字列（xl/sharedStrings.xml）が大きすぎます（"));
    assert!(err.to_string().ends_with("上限 64 MiB）"), "{err}");
}

#[test]
fn zip_bombs_are_refused_by_stated_and_by_real_sizes() {
    let err = open_table(&fixture("zip-bomb.xlsx"), None).unwrap_err();
    let FileError::UnpackedTooLarge { bytes, limit, .. } = &err else { panic!("{err}") };
    assert!(*bytes >= 3 * 1024 * 1024 * 1024 && *limit == 512 * 1024 * 1024);
    assert!(err.to_string().starts_with("zip-bomb.xlsx: 展開後の大きさが上限を超えています（"), "{err}");

    // a directory that understates a part: the real decompression is cut just past the stated size
    let err = open_table(&fixture("lying-sizes.xlsx"), None).unwrap_err();
    assert!(matches!(err, FileError::Unreadable { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "lying-sizes.xlsx: Excel ファイルを読み取れません（xl/worksheets/sheet1.xml: 展開した大きさが ZIP の記載より大きくなっています）"
    );
}

/// A real workbook (shared strings, styles) of `rows` data rows.
fn workbook(path: &Path, rows: u32) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let s = book.add_worksheet();
    s.write_string(0, 0, "学校コード").unwrap();
    s.write_string(0, 1, "学校名").unwrap();
    for r in 1..=rows {
        s.write_string(r, 0, "B110210000017").unwrap();
        s.write_string(r, 1, format!("学校{r}")).unwrap();
    }
    book.save(path).unwrap();
}

#[test]
fn workbook_limits_are_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.xlsx");
    workbook(&path, 20);
    assert_eq!(rows(&mut open_table(&path, None).unwrap()).len(), 20);

    let err =
        open_table_with(&path, None, &ReadLimits { max_unpacked_bytes: 2000, ..ReadLimits::default() }).unwrap_err();
    assert!(matches!(err, FileError::UnpackedTooLarge { limit: 2000, .. }), "{err}");
    let err = open_table_with(&path, None, &ReadLimits { max_shared_strings_bytes: 100, ..ReadLimits::default() })
        .unwrap_err();
    assert!(matches!(err, FileError::SharedStringsTooLarge { limit: 100, .. }), "{err}");
    let err = open_table_with(&path, None, &ReadLimits { max_zip_entries: 3, ..ReadLimits::default() }).unwrap_err();
    assert!(matches!(err, FileError::TooManyParts { limit: 3, .. }), "{err}");
    assert!(err.to_string().starts_with("book.xlsx: Excel ファイルの部品が多すぎます（"), "{err}");
    let err = open_table_with(&path, None, &ReadLimits { max_columns: 1, ..ReadLimits::default() }).unwrap_err();
    assert!(matches!(&err, FileError::RangeTooLarge { cell, .. } if cell == "B21"), "{err}");

    // a cell over the cell limit is an error of its row, quoted in at most 100 characters
    let long = "長".repeat(300);
    let mut book = rust_xlsxwriter::Workbook::new();
    let s = book.add_worksheet();
    s.write_string(0, 0, "学校コード").unwrap();
    s.write_string(1, 0, &long).unwrap();
    s.write_string(2, 0, "C110210000131").unwrap();
    book.save(&path).unwrap();
    let mut t = open_table_with(&path, None, &ReadLimits { max_cell_bytes: 600, ..ReadLimits::default() }).unwrap();
    let got = rows(&mut t);
    let err = got[0].as_ref().unwrap_err();
    assert_eq!((err.row, err.column.as_str()), (2, "学校コード"));
    assert_eq!(err.value, format!("{}…（全300文字）", "長".repeat(100)));
    assert_eq!(err.expected, "600 バイト 以内のセル（このセルは 900 バイト あります）");
    assert_eq!(got[1].as_ref().unwrap().0, 3, "the next row is read");
}

#[test]
fn dropping_a_workbook_table_early_stops_its_reading_thread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.xlsx");
    workbook(&path, 5000);
    for _ in 0..20 {
        let mut t = open_table(&path, None).unwrap();
        assert_eq!(t.rows().next().unwrap().unwrap().row, 2);
    }
    let mut t = open_table(&path, None).unwrap();
    assert_eq!(rows(&mut t).len(), 5000);
}

#[test]
fn xls_and_ods_are_refused_with_a_way_forward() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["old.xls", "calc.ods"] {
        let err = open_table(&write(dir.path(), name, b"anything"), None).unwrap_err();
        assert!(matches!(err, FileError::UnsupportedFormat { .. }), "{err}");
        assert!(err.to_string().contains("Excel で .xlsx 形式に保存し直してください"), "{err}");
    }
}

#[test]
fn a_200_mb_csv_cell_is_cut_off_at_the_line_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    f.write_all("シリアル番号,機種名\nDMP1,iPad\nDMP2,\"".as_bytes()).unwrap();
    let chunk = vec![b'a'; 1024 * 1024];
    for _ in 0..200 {
        f.write_all(&chunk).unwrap();
    }
    f.write_all(b"\"\nDMP3,iPad\n").unwrap();
    drop(f);

    let started = std::time::Instant::now();
    let mut t = open_table(&path, None).unwrap();
    let got = rows(&mut t);
    assert_eq!(got.len(), 2, "the long record ends the rows");
    assert_eq!(got[0].as_ref().unwrap().0, 2);
    let err = got[1].as_ref().unwrap_err();
    assert_eq!((err.row, err.column.as_str(), err.value.as_str()), (3, "（行全体）", ""));
    assert_eq!(
        err.to_string(),
        "huge.csv:3:（行全体）:  — 64 KiB 以内の行（この行は長すぎるため読み取りをやめました。1つのセルに大量の文字や改行が入っていないか確かめてください）"
    );
    // the reader stopped at the limit instead of reading 200 MB into one record
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn an_over_long_csv_header_is_a_file_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("シリアル番号,{}\nDMP1,x\n", "見".repeat(30_000));
    let err = open_table(&write(dir.path(), "header.csv", text.as_bytes()), None).unwrap_err();
    assert!(matches!(err, FileError::Io { .. }), "{err}");
    assert_eq!(err.to_string(), "header.csv: ファイルを読み取れません（見出し行が長すぎます（64 KiB まで））");
    let text = format!("{}\n1\n", ["a"; 513].join(","));
    let err = open_table(&write(dir.path(), "wide.csv", text.as_bytes()), None).unwrap_err();
    assert!(matches!(&err, FileError::RangeTooLarge { cell, .. } if cell == "SS1"), "{err}");
}

#[test]
fn a_quoted_cell_of_many_short_lines_is_one_long_record() {
    let dir = tempfile::tempdir().unwrap();
    let cell = "ab\n".repeat(40_000);
    let text = format!("シリアル番号,備考\nDMP1,\"{cell}\"\nDMP2,x\n");
    let mut t = open_table(&write(dir.path(), "lines.csv", text.as_bytes()), None).unwrap();
    let got = rows(&mut t);
    assert_eq!(got.len(), 1);
    let err = got[0].as_ref().unwrap_err();
    assert_eq!((err.row, err.column.as_str()), (2, "（行全体）"));
}

#[test]
fn csv_cells_and_columns_over_their_limits_are_row_errors() {
    let dir = tempfile::tempdir().unwrap();
    let long = "x".repeat(70 * 1024);
    let text = format!("シリアル番号,機種名\nDMP1,{long}\nDMP2,iPad\n{}\nDMP4,iPad\n", ["a"; 600].join(","));
    let path = write(dir.path(), "cells.csv", text.as_bytes());
    let limits = ReadLimits { max_line_bytes: 1024 * 1024, ..ReadLimits::default() };
    let mut t = open_table_with(&path, None, &limits).unwrap();
    let got = rows(&mut t);
    assert_eq!(got.len(), 4, "{got:?}");
    let err = got[0].as_ref().unwrap_err();
    assert_eq!((err.row, err.column.as_str()), (2, "機種名"));
    assert_eq!(err.value, format!("{}…（全71680文字）", "x".repeat(100)));
    assert_eq!(err.expected, "64 KiB 以内のセル（このセルは 70 KiB あります）");
    assert_eq!(got[1].as_ref().unwrap().1, ["DMP2", "iPad"]);
    let err = got[2].as_ref().unwrap_err();
    assert_eq!((err.row, err.column.as_str(), err.value.as_str()), (4, "513列目", "a"));
    assert_eq!(err.expected, "512 列以内の行（この行は 600 列あります）");
    assert_eq!(got[3].as_ref().unwrap().0, 5);

    // the default line limit catches the same long cell as a long line
    let mut t = open_table(&path, None).unwrap();
    let err = t.rows().next().unwrap().unwrap_err();
    assert_eq!((err.row, err.column.as_str()), (2, "（行全体）"));
}

#[test]
fn every_row_error_quotes_at_most_100_characters() {
    let dir = tempfile::tempdir().unwrap();
    let code = "B".repeat(150);
    let text = format!("学校コード,学校名\n{code},桃井小学校\n");
    let mut t = open_table(&write(dir.path(), "schools.csv", text.as_bytes()), None).unwrap();
    let (_, errors) = gigaops_ingest::collect_rows(schools::read(&mut t).unwrap());
    assert_eq!(errors[0].value, format!("{}…（全150文字）", "B".repeat(100)));
    assert_eq!(gigaops_ingest::quote_value("短い"), "短い");
    assert_eq!(gigaops_ingest::quote_value(&"あ".repeat(100)), "あ".repeat(100), "exactly 100 stay whole");
}

#[test]
fn duplicated_headers_and_two_aliases_of_one_field_are_errors_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let open = |name: &str, text: &str| open_table(&write(dir.path(), name, text.as_bytes()), None).unwrap();

    let mut t = open("devices.csv", "serial_number,機種名,シリアル番号\nDMP1,iPad,DMP2\n");
    let err = devices::read(&mut t).err().expect("duplicate");
    let FileError::DuplicateColumn { first, second, .. } = &err else { panic!("{err}") };
    assert_eq!((first.as_str(), second.as_str()), ("serial_number（1列目）", "シリアル番号（3列目）"));
    assert_eq!(
        err.to_string(),
        "devices.csv:1: 列「serial_number（1列目）」と列「シリアル番号（3列目）」が同じ項目を表しています（見出しの重複です。どちらか一方の列だけにしてください）"
    );

    let mut t = open("schools.csv", "学校コード,学校名,学校コード\nB110210000017,桃井小,B110210000017\n");
    let err = schools::read(&mut t).err().expect("duplicate");
    assert!(
        matches!(&err, FileError::DuplicateColumn { first, second, .. }
        if first == "学校コード（1列目）" && second == "学校コード（3列目）"),
        "{err}"
    );

    let mut t = open("incidents.csv", "serial_number,occurred_on,kind,発生日\nDMP1,2024-05-01,破損,2024-05-01\n");
    assert!(matches!(incidents::read(&mut t).err(), Some(FileError::DuplicateColumn { .. })));
    let mut t = open("movements.csv", "serial_number,moved_on,to_status,状態,移動日\nA,2024-05-01,deployed,x,y\n");
    assert!(matches!(movements::read(&mut t).err(), Some(FileError::DuplicateColumn { .. })));
    let mut t = open("lines.csv", "line_id,school_code,active_from,学校コード\n1,2,3,4\n");
    assert!(matches!(usage::read_lines(&mut t).err(), Some(FileError::DuplicateColumn { .. })));
    let mut t = open("usage.csv", "line_id,month,usage_gb,usage_mb\n09012345678,2024-05,1,2\n");
    let latest = YearMonth::new(2024, 12).unwrap();
    let err = usage::read_usage(&mut t, None, latest).err().expect("duplicate");
    assert!(
        matches!(&err, FileError::DuplicateColumn { first, second, .. }
        if first == "usage_gb（3列目）" && second == "usage_mb（4列目）"),
        "{err}"
    );

    // a Table built in memory checks the same way
    let t = Table::from_rows("t.csv", vec!["Serial Number".into(), "serialNumber".into()], vec![vec!["a".into()]]);
    assert!(matches!(t.column_checked(&["serial_number"]), Err(FileError::DuplicateColumn { .. })));
    assert_eq!(t.column(&["serial_number"]), Some(0), "the unchecked lookup still takes the first");
    assert_eq!(t.column_checked(&["model"]).unwrap(), None);
}

/// Opens `path` afresh for `open_table` and each reader, consuming everything; any panic fails.
fn exercise(path: &Path) {
    if let Ok(mut t) = open_table(path, None) {
        for r in t.rows() {
            let _ = r;
        }
    }
    let latest = YearMonth::new(2024, 12).unwrap();
    let mapping = usage::UsageMapping {
        line_id: "回線".into(),
        month: Some("月".into()),
        date: None,
        usage: "通信量".into(),
        unit: Some("GB".into()),
    };
    type Run = Box<dyn Fn(&mut Table)>;
    let readers: Vec<Run> = vec![
        Box::new(|t| {
            if let Ok(rows) = schools::read(t) {
                rows.for_each(drop)
            }
        }),
        Box::new(|t| {
            if let Ok(rows) = devices::read(t) {
                rows.for_each(drop)
            }
        }),
        Box::new(|t| {
            if let Ok(rows) = incidents::read(t) {
                rows.for_each(drop)
            }
        }),
        Box::new(|t| {
            if let Ok(rows) = movements::read(t) {
                rows.for_each(drop)
            }
        }),
        Box::new(|t| {
            let _ = plan::read(t);
        }),
        Box::new(|t| {
            if let Ok(rows) = usage::read_lines(t) {
                rows.for_each(drop)
            }
        }),
        Box::new(move |t| {
            if let Ok((_, rows)) = usage::read_usage(t, None, latest) {
                rows.for_each(drop)
            }
        }),
        Box::new(move |t| {
            if let Ok((_, rows)) = usage::read_usage(t, Some(&mapping), latest) {
                rows.for_each(drop)
            }
        }),
    ];
    for run in &readers {
        if let Ok(mut t) = open_table(path, None) {
            run(&mut t);
        }
    }
}

/// A valid workbook's bytes, for mutation.
fn sample_xlsx() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let mut book = rust_xlsxwriter::Workbook::new();
        let s = book.add_worksheet();
        for (c, h) in ["serial_number", "学校コード", "line_id", "month", "usage_gb", "active_from"].iter().enumerate()
        {
            s.write_string(0, c as u16, *h).unwrap();
        }
        s.write_string(1, 0, "DMP1").unwrap();
        s.write_string(1, 1, "B110210000017").unwrap();
        s.write_number(1, 4, 1.5).unwrap();
        book.save_to_buffer().unwrap()
    })
}

/// The sample workbook rebuilt as a valid zip after `edit` changed the bytes of its part number
/// `part` (so the damage reaches calamine's XML parsing, not only the zip's checksums).
fn rezip_with(part: usize, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    use std::io::{Cursor, Read};
    let mut archive = zip::ZipArchive::new(Cursor::new(sample_xlsx())).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let target = part % archive.len();
    let mut edit = Some(edit);
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if i == target {
            (edit.take().unwrap())(&mut bytes);
        }
        out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn arbitrary_bytes_reach_every_reader_without_panicking(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        header in prop::sample::select(vec![
            "", "serial_number,学校コード,occurred_on,kind\n", "学校コード,学校名\n",
            "line_id,school_code,active_from,month,usage_gb\n", "施策,評価,年度\n", "回線,月,通信量\n",
        ]),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut content = header.as_bytes().to_vec();
        content.extend(&bytes);
        exercise(&write(dir.path(), "any.csv", &content));
        exercise(&write(dir.path(), "any.xlsx", &bytes));
    }

    #[test]
    fn damaged_workbooks_reach_every_reader_without_panicking(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = sample_xlsx().to_vec();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        exercise(&write(dir.path(), "damaged.xlsx", &bytes));
    }

    #[test]
    fn workbooks_with_damaged_xml_reach_every_reader_without_panicking(
        part in any::<usize>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        insert in proptest::collection::vec(any::<u8>(), 0..40),
        at in any::<prop::sample::Index>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = rezip_with(part, |xml| {
            for (i, b) in &edits {
                if !xml.is_empty() {
                    let i = i.index(xml.len());
                    xml[i] = *b;
                }
            }
            let i = at.index(xml.len() + 1);
            xml.splice(i..i, insert.iter().copied());
        });
        exercise(&write(dir.path(), "xml.xlsx", &bytes));
    }
}
