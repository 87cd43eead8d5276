//! 学校コード lists → [`SchoolRecord`]s.
//!
//! Two layouts, told apart only by their headers (one alias table covers both):
//! - the MEXT official list 「学校コード一覧」 (<https://www.mext.go.jp/b_menu/toukei/mext_01087.html>):
//!   `学校コード,学校種,都道府県番号,設置区分,本分校,学校名,学校所在地,郵便番号,属性情報設定年月日,
//!   属性情報廃止年月日,旧学校調査番号,移行後の学校コード` (設置区分, 設定年月日 and 旧学校調査番号 are ignored);
//! - a simple list `school_code,name,kind` (kind `B1` or `小学校`; status defaults to main).

use crate::cell::{self, Cells};
use crate::table::{FileError, RowError, Table};
use chrono::NaiveDate;
use gigaops_domain::calendar::fullwidth_to_ascii;
use gigaops_domain::school::{school_kind_from_text, SchoolStatus};
use gigaops_domain::SchoolCode;
use std::collections::HashMap;

/// Header aliases (compared after [`crate::table::normalize_header`]).
pub(crate) const CODE: &[&str] = &["学校コード", "school_code", "code"];
pub(crate) const NAME: &[&str] = &["学校名", "name", "school_name", "名称"];
pub(crate) const KIND: &[&str] = &["学校種", "kind", "school_kind", "学校種別", "校種"];
pub(crate) const PREFECTURE: &[&str] = &["都道府県番号", "prefecture_code", "都道府県コード"];
pub(crate) const STATUS: &[&str] = &["本分校", "status", "本分校区分"];
pub(crate) const ADDRESS: &[&str] = &["学校所在地", "address", "所在地", "住所"];
pub(crate) const POSTAL: &[&str] = &["郵便番号", "postal_code", "zip"];
pub(crate) const CLOSED_ON: &[&str] = &["属性情報廃止年月日", "closed_on", "廃止年月日", "廃止日"];
pub(crate) const SUCCESSOR: &[&str] = &["移行後の学校コード", "successor_code", "移行先学校コード"];

const KIND_EXPECTED: &str =
    "学校種（B1 などのコード、または 小学校・中学校・義務教育学校・高等学校・特別支援学校 などの名称）";
const STATUS_EXPECTED: &str = "本分校（1(本)・2(分)・9(廃)、または main/branch/closed）";
const PREFECTURE_EXPECTED: &str = "都道府県番号（01〜47、例: 10(群馬)）";
const POSTAL_EXPECTED: &str = "郵便番号（7桁の数字、例: 3710026 または 371-0026）";

/// One school of a 学校コード list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolRecord {
    /// Row number in the file (header = 1).
    pub row: usize,
    /// 学校コード, normalised (upper case, ASCII).
    pub code: SchoolCode,
    /// 学校名 as written (full-width digits kept).
    pub name: String,
    /// 学校種 code, e.g. `B1`; from the kind column, or from the code when the column is absent or empty.
    pub kind: String,
    /// 本分校; `Main` when the file has no such column or the cell is empty.
    pub status: SchoolStatus,
    /// 都道府県番号, two digits (`10`); from the column, else from the code.
    pub prefecture_code: Option<String>,
    /// 学校所在地 as written.
    pub address: Option<String>,
    /// 郵便番号 as 7 ASCII digits without hyphen (`3710026`); 5–6 digits are zero-padded (Excel drops
    /// the leading zeros of 北海道 codes stored as numbers).
    pub postal_code: Option<String>,
    /// 属性情報廃止年月日: the day the code stopped (closed schools).
    pub closed_on: Option<NaiveDate>,
    /// 移行後の学校コード: the school that took over (closed or merged schools).
    pub successor_code: Option<SchoolCode>,
    /// Whether the code's check digit verifies. A mismatch is not an error (real MEXT codes fail
    /// it); the caller warns.
    pub check_digit_ok: bool,
}

/// Reads a school list. Requires the code and name columns (else [`FileError::MissingColumns`]).
///
/// Each item is one data row: a record, or every error of that row (bad or duplicate code,
/// unknown kind or a kind that contradicts the code, bad status, bad prefecture number, bad postal
/// code, bad date, bad successor code, empty name).
pub fn read(table: &mut Table) -> Result<impl Iterator<Item = Result<SchoolRecord, Vec<RowError>>> + '_, FileError> {
    let col = |aliases: &[&str]| table.column_checked(aliases);
    let (Some(code), Some(name)) = (col(CODE)?, col(NAME)?) else {
        let missing: Vec<&[&str]> = [CODE, NAME].into_iter().filter(|a| table.column(a).is_none()).collect();
        return Err(table.missing_columns(&missing));
    };
    let cols = Columns {
        code,
        name,
        kind: col(KIND)?,
        prefecture: col(PREFECTURE)?,
        status: col(STATUS)?,
        address: col(ADDRESS)?,
        postal: col(POSTAL)?,
        closed_on: col(CLOSED_ON)?,
        successor: col(SUCCESSOR)?,
    };
    let (file, headers) = (table.file.clone(), table.headers.clone());
    let mut seen: HashMap<SchoolCode, usize> = HashMap::new();
    Ok(table.rows().map(move |raw| {
        let raw = raw.map_err(|e| vec![e])?;
        parse_row(&mut Cells::new(&file, &headers, &raw), &cols, &mut seen)
    }))
}

struct Columns {
    code: usize,
    name: usize,
    kind: Option<usize>,
    prefecture: Option<usize>,
    status: Option<usize>,
    address: Option<usize>,
    postal: Option<usize>,
    closed_on: Option<usize>,
    successor: Option<usize>,
}

fn parse_row(
    c: &mut Cells<'_>,
    cols: &Columns,
    seen: &mut HashMap<SchoolCode, usize>,
) -> Result<SchoolRecord, Vec<RowError>> {
    let code = c.required(cols.code, "学校コード", cell::school_code);
    if let Some(code) = &code {
        if let Some(first) = seen.get(code) {
            c.error(Some(cols.code), "", format!("重複しない学校コード（{first}行目と同じです）"));
        } else {
            seen.insert(code.clone(), c.raw.row);
        }
    }
    let name = c.required(cols.name, "学校名", |s| Ok(s.to_string()));
    let kind = match (c.optional(cols.kind, kind), &code) {
        (Some(k), Some(code)) if k != code.kind_code() => {
            c.error(cols.kind, "", format!("学校種（学校コードの先頭2文字 {} と一致すること）", code.kind_code()));
            None
        }
        (Some(k), _) => Some(k),
        (None, Some(code)) if c.get(cols.kind).is_empty() => match school_kind_from_text(code.kind_code()) {
            Some(k) => Some(k),
            None => {
                c.error(cols.kind, "学校種", KIND_EXPECTED);
                None
            }
        },
        (None, _) => None,
    };
    let status = c.optional(cols.status, |s| SchoolStatus::parse(s).ok_or_else(|| STATUS_EXPECTED.to_string()));
    let prefecture_code = c.optional(cols.prefecture, prefecture);
    let address = cell::text(c.get(cols.address));
    let postal_code = c.optional(cols.postal, postal);
    let closed_on = c.optional(cols.closed_on, cell::date);
    let successor_code = c.optional(cols.successor, cell::school_code);

    match (code, name, kind) {
        (Some(code), Some(name), Some(kind)) if c.errors.is_empty() => Ok(SchoolRecord {
            row: c.raw.row,
            check_digit_ok: code.check_digit_ok(),
            prefecture_code: prefecture_code.or_else(|| Some(code.prefecture_code().to_string())),
            code,
            name,
            kind: kind.to_string(),
            status: status.unwrap_or(SchoolStatus::Main),
            address,
            postal_code,
            closed_on,
            successor_code,
        }),
        _ => Err(std::mem::take(&mut c.errors)),
    }
}

fn kind(s: &str) -> Result<&'static str, String> {
    let norm: String = s.chars().map(fullwidth_to_ascii).collect();
    school_kind_from_text(&norm).ok_or_else(|| KIND_EXPECTED.to_string())
}

/// `10(群馬)`, `10`, `１０` → `10`; `1` → `01`.
fn prefecture(s: &str) -> Result<String, String> {
    let digits: String = s.chars().map(fullwidth_to_ascii).take_while(char::is_ascii_digit).collect();
    match digits.parse::<u32>() {
        Ok(n @ 1..=47) if digits.len() <= 2 => Ok(format!("{n:02}")),
        _ => Err(PREFECTURE_EXPECTED.to_string()),
    }
}

/// `371-0026`, `〒3710026`, `３７１－００２６` → `3710026`; `10012` → `0010012`.
fn postal(s: &str) -> Result<String, String> {
    let norm: String = s
        .chars()
        .map(fullwidth_to_ascii)
        .filter(|c| !matches!(c, '-' | '〒' | 'ー' | '‐') && !c.is_whitespace())
        .collect();
    if !(5..=7).contains(&norm.len()) || !norm.bytes().all(|b| b.is_ascii_digit()) {
        return Err(POSTAL_EXPECTED.to_string());
    }
    Ok(format!("{norm:0>7}"))
}

/// For each record, the index (into `records`) of its main school when the record is a branch
/// (分校): the `Main` or `Closed` record whose name is the longest proper prefix of the branch's
/// name (前橋市立滝窪小学校金丸分校 → 前橋市立滝窪小学校); on equal names a `Main` record wins.
/// `None` for non-branch records and for branches without such a record. Same length as `records`.
pub fn link_branches(records: &[SchoolRecord]) -> Vec<Option<usize>> {
    records
        .iter()
        .map(|branch| {
            if branch.status != SchoolStatus::Branch {
                return None;
            }
            records
                .iter()
                .enumerate()
                .filter(|(_, main)| {
                    matches!(main.status, SchoolStatus::Main | SchoolStatus::Closed)
                        && main.name.len() < branch.name.len()
                        && branch.name.starts_with(&main.name)
                })
                .max_by_key(|(i, main)| (main.name.len(), main.status == SchoolStatus::Main, std::cmp::Reverse(*i)))
                .map(|(i, _)| i)
        })
        .collect()
}

impl crate::kind::PreviewRow for SchoolRecord {
    fn preview(&self) -> Vec<(&'static str, String)> {
        use crate::kind::opt;
        vec![
            ("school_code", self.code.to_string()),
            ("name", self.name.clone()),
            ("kind", self.kind.clone()),
            ("status", self.status.label_ja().to_string()),
            ("prefecture_code", opt(&self.prefecture_code)),
            ("address", opt(&self.address)),
            ("postal_code", opt(&self.postal_code)),
            ("closed_on", opt(&self.closed_on)),
            ("successor_code", opt(&self.successor_code)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::open_table;
    use proptest::prelude::*;
    use std::path::Path;

    /// A MEXT school-code list committed under `data/mext-school-codes/`.
    fn mext(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mext-school-codes").join(name)
    }

    fn read_all(table: &mut Table) -> (Vec<SchoolRecord>, Vec<RowError>) {
        crate::collect_rows(read(table).unwrap())
    }

    #[test]
    fn reads_every_maebashi_row_and_links_branches() {
        let mut t = open_table(&mext("maebashi.csv"), None).unwrap();
        let (recs, errs) = read_all(&mut t);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(recs.len(), 73);
        assert!(recs.iter().all(|r| r.check_digit_ok));
        assert_eq!(recs[0].row, 2);
        assert_eq!(recs[0].code.as_str(), "B110210000017");
        assert_eq!(recs[0].kind, "B1");
        assert_eq!(recs[0].prefecture_code.as_deref(), Some("10"));
        assert_eq!(recs[0].postal_code.as_deref(), Some("3710026"));
        assert_eq!(recs[0].address.as_deref(), Some("群馬県前橋市大手町２－１６－４"));

        let closed: Vec<_> = recs.iter().filter(|r| r.status == SchoolStatus::Closed).collect();
        assert_eq!(closed.len(), 2);
        for r in &closed {
            assert_eq!(r.closed_on, NaiveDate::from_ymd_opt(2021, 5, 27));
            assert_eq!(r.successor_code.as_ref().unwrap().as_str(), "C110210001620");
            assert_eq!(r.kind, "C1");
        }

        let links = link_branches(&recs);
        let pairs: Vec<(&str, &str)> = recs
            .iter()
            .zip(&links)
            .filter(|(r, _)| r.status == SchoolStatus::Branch)
            .map(|(r, l)| (r.name.as_str(), l.map_or("", |i| recs[i].name.as_str())))
            .collect();
        assert_eq!(
            pairs,
            [
                ("前橋市立滝窪小学校金丸分校", "前橋市立滝窪小学校"),
                ("前橋市立荒牧小学校みやま分校", "前橋市立荒牧小学校"),
                ("前橋市立南橘中学校みやま分校", "前橋市立南橘中学校"),
            ]
        );
        assert_eq!(links.iter().filter(|l| l.is_some()).count(), 3);
    }

    #[test]
    fn reads_sendai_and_chuo() {
        for (f, n) in [("sendai.csv", 192), ("chuo_yamanashi.csv", 10)] {
            let mut t = open_table(&mext(f), None).unwrap();
            let (recs, errs) = read_all(&mut t);
            assert!(errs.is_empty(), "{f}: {errs:?}");
            assert_eq!(recs.len(), n);
            let links = link_branches(&recs);
            for (r, l) in recs.iter().zip(&links) {
                assert_eq!(r.status == SchoolStatus::Branch, l.is_some(), "{f}: {}", r.name);
            }
        }
    }

    fn table(headers: &[&str], rows: &[&[&str]]) -> Table {
        Table::from_rows(
            "schools.csv",
            headers.iter().map(|s| s.to_string()).collect(),
            rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect(),
        )
    }

    #[test]
    fn simple_format_with_kind_names_and_defaults() {
        let mut t = table(
            &["school_code", "name", "kind"],
            &[
                &["B110210000017", "前橋市立桃井小学校", "小学校"],
                &["c110210000131", "前橋市立春日中学校", "C1"],
                &["B110210000026", "前橋市立中川小学校", ""],
            ],
        );
        let (recs, errs) = read_all(&mut t);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(recs.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(), ["B1", "C1", "B1"]);
        assert!(recs.iter().all(|r| r.status == SchoolStatus::Main));
        assert_eq!(recs[1].code.as_str(), "C110210000131");
        assert_eq!(recs[1].prefecture_code.as_deref(), Some("10"));
    }

    #[test]
    fn every_bad_cell_of_a_row_is_reported() {
        let mut t = table(
            &["学校コード", "学校種", "本分校", "学校名", "郵便番号", "属性情報廃止年月日", "移行後の学校コード"],
            &[
                &["B11021000001", "大学院", "3(?)", "", "12", "2021-02-30", "X1"],
                &["B110210000017", "C1", "1(本)", "桃井小", "", "", ""],
                &["B110210000018", "B1", "1(本)", "桃井小", "001-0012", "", ""],
                &["B110210000018", "B1", "1(本)", "桃井小", "", "", ""],
            ],
        );
        let (recs, errs) = read_all(&mut t);
        assert_eq!(recs.len(), 1);
        assert!(!recs[0].check_digit_ok);
        assert_eq!(recs[0].postal_code.as_deref(), Some("0010012"));
        let cols: Vec<(usize, &str)> = errs.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(
            cols,
            [
                (2, "学校コード"),
                (2, "学校名"),
                (2, "学校種"),
                (2, "本分校"),
                (2, "郵便番号"),
                (2, "属性情報廃止年月日"),
                (2, "移行後の学校コード"),
                (3, "学校種"),
                (5, "学校コード"),
            ]
        );
        assert_eq!(errs[1].expected, "必須: 学校名");
        assert!(errs[7].expected.contains("B1"), "{}", errs[7]);
        assert!(errs[8].expected.contains("4行目"), "{}", errs[8]);
    }

    #[test]
    fn missing_columns_name_the_aliases() {
        let mut t = table(&["code_of_school", "学校名"], &[&["x", "y"]]);
        let err = read(&mut t).err().unwrap();
        let FileError::MissingColumns { missing, found, .. } = &err else { panic!("{err}") };
        assert_eq!(missing.len(), 1);
        assert!(missing[0].contains("学校コード") && missing[0].contains("school_code"));
        assert_eq!(found, &["code_of_school", "学校名"]);
        assert!(err.to_string().starts_with("schools.csv: 必要な列がありません: 学校コード / school_code"));
    }

    #[test]
    fn branch_links_prefer_the_longest_main_name() {
        let rec = |name: &str, status| SchoolRecord {
            row: 2,
            code: SchoolCode::parse("B110210000017").unwrap(),
            name: name.into(),
            kind: "B1".into(),
            status,
            prefecture_code: None,
            address: None,
            postal_code: None,
            closed_on: None,
            successor_code: None,
            check_digit_ok: true,
        };
        let recs = [
            rec("前橋市立", SchoolStatus::Main),
            rec("前橋市立滝窪小学校", SchoolStatus::Closed),
            rec("前橋市立滝窪小学校", SchoolStatus::Main),
            rec("前橋市立滝窪小学校金丸分校", SchoolStatus::Branch),
            rec("前橋市立滝窪小学校金丸分校第二", SchoolStatus::Branch),
            rec("高崎市立某分校", SchoolStatus::Branch),
        ];
        assert_eq!(link_branches(&recs), [None, None, None, Some(2), Some(2), None]);
    }

    proptest! {
        #[test]
        fn arbitrary_cells_never_panic(cells in proptest::collection::vec("\\PC{0,16}", 12)) {
            let mut t = Table::from_rows(
                "x.csv",
                ["学校コード","学校種","都道府県番号","設置区分","本分校","学校名","学校所在地","郵便番号",
                 "属性情報設定年月日","属性情報廃止年月日","旧学校調査番号","移行後の学校コード"]
                    .iter().map(|s| s.to_string()).collect(),
                vec![cells],
            );
            for r in read(&mut t).unwrap() {
                if let Err(errs) = r { prop_assert!(!errs.is_empty()); }
            }
        }

        #[test]
        fn valid_codes_always_read(letter in 0u8..11, body in "[0-9]{12}", name in "[ぁ-ん]{1,10}") {
            let code = format!("{}{body}", (b'A' + letter) as char);
            let kind = &code[..2];
            let mut t = table(&["school_code", "name"], &[&[&code, &name]]);
            let rows: Vec<_> = read(&mut t).unwrap().collect();
            match school_kind_from_text(kind) {
                Some(_) => prop_assert_eq!(rows[0].as_ref().map(|r| r.kind.clone()).ok(), Some(kind.to_string())),
                None => prop_assert!(rows[0].is_err()),
            }
        }
    }
}
