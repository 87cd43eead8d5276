//! Device movements (配置・回収・予備機への戻し・廃棄) → [`MovementRecord`]s.
//!
//! Layout `serial_number,moved_on,to_status,to_school_code`, or the Japanese labels シリアル番号,
//! 移動日, 移動後の状態, 移動先学校コード.

use crate::cell::{self, Cells, SERIAL_ALIASES};
use crate::table::{FileError, RowError, Table};
use chrono::NaiveDate;
use gigaops_domain::fleet::DeviceStatus;
use gigaops_domain::SchoolCode;
use std::collections::HashMap;

/// Header aliases (compared after [`crate::table::normalize_header`]).
pub(crate) const MOVED_ON: &[&str] = &["moved_on", "移動日", "date", "日付"];
pub(crate) const TO_STATUS: &[&str] = &["to_status", "移動後の状態", "status", "状態"];
pub(crate) const TO_SCHOOL: &[&str] = &["to_school_code", "移動先学校コード", "school_code", "学校コード"];

const STATUS_EXPECTED: &str =
    "状態（配置済・予備機・修理中・紛失・廃棄、または deployed/spare/in_repair/lost/retired）";

/// One change of a device's status and place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementRecord {
    /// Row number in the file (header = 1).
    pub row: usize,
    /// Trimmed, upper case.
    pub serial_number: String,
    /// The day the device changed hands.
    pub moved_on: NaiveDate,
    /// The device's status from that day.
    pub to_status: DeviceStatus,
    /// The school the device goes to; always present when `to_status` is deployed.
    pub to_school_code: Option<SchoolCode>,
}

/// Reads a movement list. Requires the serial, date and status columns (else
/// [`FileError::MissingColumns`]); the school column is needed only by rows that deploy.
///
/// Each item is one data row: a record, or every error of that row (missing or malformed cells,
/// deployed without a school, the same serial and date as an earlier row).
pub fn read(table: &mut Table) -> Result<impl Iterator<Item = Result<MovementRecord, Vec<RowError>>> + '_, FileError> {
    let col = |aliases: &[&str]| table.column_checked(aliases);
    let (Some(serial), Some(moved_on), Some(to_status)) = (col(SERIAL_ALIASES)?, col(MOVED_ON)?, col(TO_STATUS)?)
    else {
        let missing: Vec<&[&str]> =
            [SERIAL_ALIASES, MOVED_ON, TO_STATUS].into_iter().filter(|a| table.column(a).is_none()).collect();
        return Err(table.missing_columns(&missing));
    };
    let cols = Columns { serial, moved_on, to_status, to_school: col(TO_SCHOOL)? };
    let (file, headers) = (table.file.clone(), table.headers.clone());
    let mut seen: HashMap<(String, NaiveDate), usize> = HashMap::new();
    Ok(table.rows().map(move |raw| {
        let raw = raw.map_err(|e| vec![e])?;
        parse_row(&mut Cells::new(&file, &headers, &raw), &cols, &mut seen)
    }))
}

struct Columns {
    serial: usize,
    moved_on: usize,
    to_status: usize,
    to_school: Option<usize>,
}

fn parse_row(
    c: &mut Cells<'_>,
    cols: &Columns,
    seen: &mut HashMap<(String, NaiveDate), usize>,
) -> Result<MovementRecord, Vec<RowError>> {
    let serial_number = c.required(cols.serial, "シリアル番号", cell::serial);
    let moved_on = c.required(cols.moved_on, cell::DATE_EXPECTED, cell::date);
    let to_status = c.required(cols.to_status, STATUS_EXPECTED, |s| {
        DeviceStatus::parse(s).ok_or_else(|| STATUS_EXPECTED.to_string())
    });
    let to_school_code = c.optional(cols.to_school, cell::school_code);
    if to_status == Some(DeviceStatus::Deployed) && c.get(cols.to_school).is_empty() {
        c.error(
            cols.to_school,
            "移動先学校コード",
            format!("必須（配置済にするときは配置先の{}）", cell::SCHOOL_CODE_EXPECTED),
        );
    }
    if let (Some(s), Some(d)) = (&serial_number, moved_on) {
        if let Some(first) = seen.get(&(s.clone(), d)) {
            c.error(Some(cols.serial), "", format!("同じ端末・移動日の行は1つだけ（{first}行目と重複しています）"));
        } else {
            seen.insert((s.clone(), d), c.raw.row);
        }
    }
    match (serial_number, moved_on, to_status) {
        (Some(serial_number), Some(moved_on), Some(to_status)) if c.errors.is_empty() => {
            Ok(MovementRecord { row: c.raw.row, serial_number, moved_on, to_status, to_school_code })
        }
        _ => Err(std::mem::take(&mut c.errors)),
    }
}

impl crate::kind::PreviewRow for MovementRecord {
    fn preview(&self) -> Vec<(&'static str, String)> {
        vec![
            ("serial_number", self.serial_number.clone()),
            ("moved_on", self.moved_on.to_string()),
            ("to_status", self.to_status.label_ja().to_string()),
            ("to_school_code", crate::kind::opt(&self.to_school_code)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn table(headers: &[&str], rows: &[&[&str]]) -> Table {
        Table::from_rows(
            "movements.csv",
            headers.iter().map(|s| s.to_string()).collect(),
            rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect(),
        )
    }

    #[test]
    fn reads_japanese_layout() {
        let mut t = table(
            &["シリアル番号", "移動日", "移動後の状態", "移動先学校コード"],
            &[&["dmp1", "2023-04-01", "配置済", "B110210000017"], &["DMP2", "2023-04-01", "予備機", ""]],
        );
        let rows: Vec<_> = read(&mut t).unwrap().map(Result::unwrap).collect();
        assert_eq!(rows[0].to_status, DeviceStatus::Deployed);
        assert_eq!(rows[0].to_school_code.as_ref().unwrap().as_str(), "B110210000017");
        assert_eq!(rows[0].moved_on, NaiveDate::from_ymd_opt(2023, 4, 1).unwrap());
        assert_eq!((rows[1].to_status, rows[1].to_school_code.clone()), (DeviceStatus::Spare, None));
    }

    #[test]
    fn row_checks() {
        let mut t = table(
            &["serial_number", "moved_on", "to_status"],
            &[
                &["A1", "2023-04-01", "deployed"],
                &["A2", "2023-04-01", "broken"],
                &["A3", "2023-04-01", "spare"],
                &["a3", "2023/4/1", "retired"],
            ],
        );
        let errs: Vec<String> =
            read(&mut t).unwrap().filter_map(Result::err).flatten().map(|e| e.to_string()).collect();
        assert_eq!(errs.len(), 3, "{errs:#?}");
        assert!(errs[0].starts_with("movements.csv:2:移動先学校コード:  — 必須（配置済にするときは"), "{}", errs[0]);
        assert!(errs[1].starts_with("movements.csv:3:to_status: broken — 状態（"), "{}", errs[1]);
        assert!(errs[2].ends_with("（4行目と重複しています）"), "{}", errs[2]);
    }

    #[test]
    fn missing_status_column() {
        let mut t = table(&["serial_number", "moved_on"], &[&["A", "2023-04-01"]]);
        let Err(FileError::MissingColumns { missing, .. }) = read(&mut t) else { panic!("expected MissingColumns") };
        assert_eq!(missing.len(), 1);
        assert!(missing[0].contains("移動後の状態"));
    }

    proptest! {
        #[test]
        fn arbitrary_cells_never_panic(cells in proptest::collection::vec("\\PC{0,16}", 4)) {
            let mut t = Table::from_rows(
                "x.csv",
                ["serial_number", "moved_on", "to_status", "to_school_code"].iter().map(|s| s.to_string()).collect(),
                vec![cells],
            );
            for r in read(&mut t).unwrap() {
                if let Err(errs) = r { prop_assert!(!errs.is_empty()); }
            }
        }
    }
}
