//! Opening real files: encodings, empty files, workbooks, streaming, hashes, and the readers on
//! top of them.

use gigaops_ingest::{devices, file_sha256, open_table, schools, FileError, RowError, Table};
use proptest::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn all_rows(t: &mut Table) -> Vec<(usize, Vec<String>)> {
    t.rows().map(|r| r.map(|r| (r.row, r.cells)).unwrap()).collect()
}

const DEVICES_JA: &str = "シリアル番号,機種名,学校コード\nDMP1,アイパッド①,B110210000017\n髙橋-2,iPad,\n";

#[test]
fn utf8_with_and_without_bom() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("plain.csv", DEVICES_JA.as_bytes().to_vec()),
        ("bom.csv", [b"\xEF\xBB\xBF".as_slice(), DEVICES_JA.as_bytes()].concat()),
    ] {
        let mut t = open_table(&write(dir.path(), name, &bytes), None).unwrap();
        assert_eq!(t.file, name);
        assert_eq!(t.headers, ["シリアル番号", "機種名", "学校コード"], "{name}");
        assert_eq!(t.column(&["serial_number", "シリアル番号"]), Some(0), "{name}");
        let rows = all_rows(&mut t);
        assert_eq!(rows[0], (2, vec!["DMP1".into(), "アイパッド①".into(), "B110210000017".into()]));
        assert_eq!(rows[1].0, 3);
    }
}

#[test]
fn cp932_files_are_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(DEVICES_JA);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&bytes).is_err(), "the test file really is not UTF-8");
    let mut t = open_table(&write(dir.path(), "sjis.csv", &bytes), None).unwrap();
    assert_eq!(t.headers[0], "シリアル番号");
    let rows = all_rows(&mut t);
    assert_eq!(rows[0].1[1], "アイパッド①", "NEC special character (CP932)");
    assert_eq!(rows[1].1[0], "髙橋-2", "IBM extension character (CP932)");

    let mut t = open_table(&dir.path().join("sjis.csv"), None).unwrap();
    let rows: Vec<_> = devices::read(&mut t).unwrap().collect();
    let first = rows[0].as_ref().unwrap();
    assert_eq!((first.serial_number.as_str(), first.model.as_deref()), ("DMP1", Some("アイパッド①")));
    assert_eq!(first.school_code.as_ref().unwrap().as_str(), "B110210000017");
    let errs = rows[1].as_ref().unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        "sjis.csv:3:シリアル番号: 髙橋-2 — シリアル番号（英数字と記号、空白なし、64文字以内）"
    );
}

#[test]
fn encoding_is_decided_even_when_64k_cuts_a_character() {
    let dir = tempfile::tempdir().unwrap();
    // UTF-8: 'あ' (3 bytes) starts at byte 65535, so the first 64 KiB end inside it.
    let mut text = String::from("name,note\n");
    while text.len() < 65535 - 2 {
        text.push_str("x,\n");
    }
    while text.len() < 65535 {
        text.push('y');
    }
    text.push_str("あ,z\n");
    let bytes = text.as_bytes();
    assert_eq!(&bytes[65535..65538], "あ".as_bytes());
    let mut t = open_table(&write(dir.path(), "u8.csv", bytes), None).unwrap();
    assert!(all_rows(&mut t).last().unwrap().1[0].ends_with("yyあ"));

    // Shift_JIS: the lead byte of 'あ' is the 65536th byte, its trail byte the 65537th.
    let mut text = String::from("name,note\n");
    while text.len() < 65535 - 2 {
        text.push_str("x,\n");
    }
    while text.len() < 65535 {
        text.push('y');
    }
    text.push_str("あ,z\n");
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
    let mut t = open_table(&write(dir.path(), "sj.csv", &bytes), None).unwrap();
    assert!(all_rows(&mut t).last().unwrap().1[0].ends_with("yyあ"));
}

#[test]
fn unknown_encodings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let utf16: Vec<u8> = "serial_number,model\nA1,iPad\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let random = [0x82u8, 0xFF, 0xFD, 0xA0, 0x41, 0xFE, 0x80, 0xFC, 0x0A];
    for (name, bytes) in [("devices.csv", utf16.as_slice()), ("random.csv", random.as_slice())] {
        let err = open_table(&write(dir.path(), name, bytes), None).unwrap_err();
        assert!(matches!(err, FileError::UnknownEncoding { .. }), "{name}: {err}");
        if name == "devices.csv" {
            assert_eq!(
                err.to_string(),
                "devices.csv: 文字コードを判別できません（UTF-8 または Shift_JIS(CP932) で保存してください）"
            );
        }
    }
}

#[test]
fn empty_and_header_only_files() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("empty.csv", b"".as_slice()),
        ("bom_only.csv", b"\xEF\xBB\xBF".as_slice()),
        ("blank_lines.csv", b"\n\n,,\n".as_slice()),
        ("header_only.csv", b"serial_number,model\n".as_slice()),
        ("header_and_blanks.csv", b"serial_number,model\n,\n\n , \n".as_slice()),
    ] {
        let err = open_table(&write(dir.path(), name, bytes), None).unwrap_err();
        assert!(matches!(&err, FileError::Empty { file } if file == name), "{name}: {err}");
    }
    let err = open_table(&write(dir.path(), "x.csv", b""), None).unwrap_err();
    assert_eq!(err.to_string(), "x.csv: データ行がありません（空のファイル、または見出し行だけです）");
}

#[test]
fn row_numbers_are_file_lines() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\na,b\n\n 1 , 2 \n,\n\"x\ny\",3\nz\n";
    let mut t = open_table(&write(dir.path(), "lines.csv", text.as_bytes()), None).unwrap();
    assert_eq!(t.headers, ["a", "b"]);
    let rows = all_rows(&mut t);
    assert_eq!(
        rows,
        [
            (4, vec!["1".to_string(), "2".to_string()]),
            (6, vec!["x\ny".to_string(), "3".to_string()]),
            (8, vec!["z".to_string()]),
        ]
    );
}

#[test]
fn a_bad_byte_after_the_first_64k_is_a_row_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"serial_number,model\n".to_vec();
    let mut n = 1;
    while bytes.len() < 70_000 {
        bytes.extend(format!("S{n},iPad\n").as_bytes());
        n += 1;
    }
    bytes.extend(b"BAD,\xFF\xFE\n");
    bytes.extend(b"LAST,iPad\n");
    let mut t = open_table(&write(dir.path(), "late.csv", &bytes), None).unwrap();
    let results: Vec<_> = t.rows().collect();
    let errors: Vec<&RowError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].row, n + 1);
    assert_eq!(errors[0].column, "model");
    assert!(errors[0].expected.contains("UTF-8"), "{}", errors[0]);
    assert_eq!(results.last().unwrap().as_ref().unwrap().cells[0], "LAST");
}

#[test]
fn csv_is_streamed_not_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(f, "serial_number,model").unwrap();
    for i in 0..100_000 {
        writeln!(f, "S{i:06},iPad").unwrap();
    }
    drop(f);
    let mut t = open_table(&path, None).unwrap();
    assert_eq!(t.rows().next().unwrap().unwrap().cells[0], "S000000");
    // A row appended after opening is still read: the table did not load the file when opened.
    std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"APPENDED,iPad\n").unwrap();
    let rest: Vec<_> = t.rows().map(Result::unwrap).collect();
    assert_eq!(rest.len(), 100_000);
    assert_eq!(rest.last().unwrap().cells[0], "APPENDED");
    assert_eq!(rest.last().unwrap().row, 100_002);
}

fn write_xlsx(path: &Path) {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut book = Workbook::new();
    let notes = book.add_worksheet();
    notes.set_name("説明").unwrap();
    notes.write_string(0, 0, "このシートは説明です").unwrap();
    notes.write_string(1, 0, "学校シートに入力してください").unwrap();
    let s = book.add_worksheet();
    s.set_name("学校").unwrap();
    let date = Format::new().set_num_format("yyyy/mm/dd");
    // The table starts at B3: the sheet row numbers must still be reported.
    for (c, h) in ["学校コード", "学校名", "学校種", "郵便番号", "属性情報廃止年月日"].iter().enumerate()
    {
        s.write_string(2, 1 + c as u16, *h).unwrap();
    }
    s.write_string(3, 1, "C110210000131").unwrap();
    s.write_string(3, 2, "前橋市立春日中学校").unwrap();
    s.write_string(3, 3, "C1(中学校)").unwrap();
    s.write_number(3, 4, 3710816.0).unwrap();
    s.write_datetime_with_format(3, 5, ExcelDateTime::from_ymd(2021, 5, 27).unwrap(), &date).unwrap();
    s.write_string(5, 1, "B110210000017").unwrap();
    s.write_string(5, 2, "前橋市立桃井小学校").unwrap();
    s.write_number(5, 3, 12.5).unwrap();
    s.write_number(5, 4, 10012.0).unwrap();
    let empty = book.add_worksheet();
    empty.set_name("見出しだけ").unwrap();
    empty.write_string(0, 0, "学校コード").unwrap();
    book.save(path).unwrap();
}

#[test]
fn xlsx_sheets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schools.xlsx");
    write_xlsx(&path);

    let mut t = open_table(&path, Some("学校")).unwrap();
    assert_eq!(t.file, "schools.xlsx[学校]");
    assert_eq!(t.headers[0], "学校コード");
    let rows = all_rows(&mut t);
    assert_eq!(rows[0].0, 4, "sheet row number");
    assert_eq!(rows[0].1, ["C110210000131", "前橋市立春日中学校", "C1(中学校)", "3710816", "2021-05-27"]);
    assert_eq!(rows[1].0, 6, "the blank sheet row 5 is skipped");

    let mut t = open_table(&path, Some("学校")).unwrap();
    let (recs, errs) = gigaops_ingest::collect_rows(schools::read(&mut t).unwrap());
    assert_eq!(recs[0].closed_on, chrono::NaiveDate::from_ymd_opt(2021, 5, 27));
    assert_eq!(recs[0].postal_code.as_deref(), Some("3710816"));
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].to_string().split(" — ").next().unwrap(), "schools.xlsx[学校]:6:学校種: 12.5");

    let first = open_table(&path, None).unwrap();
    assert_eq!(
        (first.file.as_str(), first.headers.as_slice()),
        ("schools.xlsx[説明]", ["このシートは説明です".to_string()].as_slice())
    );

    let err = open_table(&path, Some("児童")).unwrap_err();
    let FileError::MissingSheet { sheet, available, .. } = &err else { panic!("{err}") };
    assert_eq!(sheet, "児童");
    assert_eq!(available, &["説明", "学校", "見出しだけ"]);
    assert_eq!(err.to_string(), "schools.xlsx: シート「児童」がありません（あるシート: 説明、学校、見出しだけ）");

    assert!(matches!(open_table(&path, Some("見出しだけ")), Err(FileError::Empty { .. })));
}

#[test]
fn unreadable_unsupported_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let err = open_table(&write(dir.path(), "broken.xlsx", b"PK\x03\x04 not really a zip"), None).unwrap_err();
    assert!(matches!(err, FileError::Unreadable { .. }), "{err}");
    assert!(err.to_string().starts_with("broken.xlsx: Excel ファイルを読み取れません"));
    let err = open_table(&write(dir.path(), "notes.pdf", b"%PDF"), None).unwrap_err();
    assert!(matches!(err, FileError::UnsupportedFormat { .. }), "{err}");
    let err = open_table(&dir.path().join("nowhere.csv"), None).unwrap_err();
    assert!(matches!(err, FileError::Io { .. }), "{err}");
    assert!(err.to_string().starts_with("nowhere.csv: "));
}

#[test]
fn sha256_of_the_file_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "abc.csv", b"abc");
    assert_eq!(file_sha256(&path).unwrap(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert!(file_sha256(&dir.path().join("none.csv")).is_err());
}

#[test]
fn row_error_display_is_exact() {
    let e = RowError {
        file: "devices.csv".into(),
        row: 12,
        column: "シリアル番号".into(),
        value: "1.23E+11".into(),
        expected: "シリアル番号（英数字）".into(),
    };
    assert_eq!(e.to_string(), "devices.csv:12:シリアル番号: 1.23E+11 — シリアル番号（英数字）");
}

#[test]
fn header_aliases_are_normalised() {
    let t = Table::from_rows(
        "h.csv",
        vec![
            " Serial Number ".into(),
            "ＯＳ　バージョン".into(),
            "学校コード（13桁）".into(),
            "".into(),
            "Last check-in".into(),
        ],
        vec![vec!["a".into()]],
    );
    assert_eq!(t.column(&["serial_number"]), Some(0));
    assert_eq!(t.column(&["serialNumber"]), Some(0));
    assert_eq!(t.column(&["OSバージョン"]), Some(1));
    assert_eq!(t.column(&["os_version", "学校コード13桁"]), Some(2));
    assert_eq!(t.column(&["lastcheckin"]), Some(4));
    assert_eq!(t.column(&[""]), None, "an empty header never matches");
    assert_eq!(t.column(&["model"]), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), header in "[a-z_,]{0,40}") {
        let dir = tempfile::tempdir().unwrap();
        let mut content = header.into_bytes();
        content.push(b'\n');
        content.extend(bytes);
        let path = write(dir.path(), "any.csv", &content);
        if let Ok(mut t) = open_table(&path, None) {
            prop_assert!(!t.headers.is_empty());
            for r in t.rows() { let _ = r; }
        }
        if let Ok(mut t) = open_table(&path, None) {
            if let Ok(rows) = devices::read(&mut t) { for r in rows { let _ = r; } }
        }
        let xlsx = write(dir.path(), "any.xlsx", &content);
        prop_assert!(open_table(&xlsx, None).is_err());
    }
}

#[test]
fn tables_and_reader_items_can_move_between_threads() {
    fn is_send<T: Send>(_: &T) -> bool {
        true
    }
    let t = Table::from_rows("t.csv", vec!["serial_number".into()], vec![vec!["A".into()]]);
    assert!(is_send(&t));
    let handle = std::thread::spawn(move || {
        let mut t = t;
        devices::read(&mut t).unwrap().map(|r| r.unwrap().serial_number).collect::<Vec<_>>()
    });
    assert_eq!(handle.join().unwrap(), ["A"]);
}
