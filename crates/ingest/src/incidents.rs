//! Incident lists (破損・故障・紛失・盗難) → [`IncidentRecord`]s.
//!
//! Layout `serial_number,occurred_on,kind,cause,replacement_serial,repaired_on,written_off_on`, or
//! the Japanese labels シリアル番号, 発生日, 種別, 原因, 代替機シリアル, 修理完了日, 廃棄日. The kinds
//! are those of the monthly report 「学習者用端末の運用状況」 (Maebashi, seed 003).

use crate::cell::{self, Cells, SERIAL_ALIASES};
use crate::table::{FileError, RowError, Table};
use chrono::NaiveDate;
use gigaops_domain::fleet::IncidentKind;
use std::collections::HashMap;

/// Header aliases (compared after [`crate::table::normalize_header`]).
pub(crate) const OCCURRED_ON: &[&str] = &["occurred_on", "発生日", "発生年月日", "date", "日付"];
pub(crate) const KIND: &[&str] = &["kind", "incident_kind", "種別", "区分", "事象"];
pub(crate) const CAUSE: &[&str] = &["cause", "原因", "発生原因", "状況"];
pub(crate) const REPLACEMENT: &[&str] =
    &["replacement_serial", "代替機シリアル", "交換機シリアル", "代替機シリアル番号", "交換機シリアル番号"];
pub(crate) const REPAIRED_ON: &[&str] = &["repaired_on", "修理完了日", "修理日"];
pub(crate) const WRITTEN_OFF_ON: &[&str] = &["written_off_on", "廃棄日"];

const KIND_EXPECTED: &str = "破損・故障・紛失・盗難 のいずれか（damage/fault/loss/theft）";

/// One incident of a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRecord {
    /// Row number in the file (header = 1).
    pub row: usize,
    /// The affected device; trimmed, upper case.
    pub serial_number: String,
    /// 発生日.
    pub occurred_on: NaiveDate,
    /// 破損 / 故障 / 紛失 / 盗難.
    pub kind: IncidentKind,
    /// 原因 as written (free text).
    pub cause: Option<String>,
    /// The device handed out instead (a spare); never the same serial.
    pub replacement_serial: Option<String>,
    /// Repair finished; not before `occurred_on`.
    pub repaired_on: Option<NaiveDate>,
    /// Written off (廃棄); not before `occurred_on`, never together with `repaired_on`.
    pub written_off_on: Option<NaiveDate>,
}

/// Reads an incident list. Requires the serial, date and kind columns (else
/// [`FileError::MissingColumns`]).
///
/// Each item is one data row: a record, or every error of that row (missing or malformed cells,
/// repair or write-off before the incident, both repaired and written off, replacement equal to
/// the device, the same serial, date and kind as an earlier row).
pub fn read(table: &mut Table) -> Result<impl Iterator<Item = Result<IncidentRecord, Vec<RowError>>> + '_, FileError> {
    let col = |aliases: &[&str]| table.column_checked(aliases);
    let (Some(serial), Some(occurred_on), Some(kind)) = (col(SERIAL_ALIASES)?, col(OCCURRED_ON)?, col(KIND)?) else {
        let missing: Vec<&[&str]> =
            [SERIAL_ALIASES, OCCURRED_ON, KIND].into_iter().filter(|a| table.column(a).is_none()).collect();
        return Err(table.missing_columns(&missing));
    };
    let cols = Columns {
        serial,
        occurred_on,
        kind,
        cause: col(CAUSE)?,
        replacement: col(REPLACEMENT)?,
        repaired_on: col(REPAIRED_ON)?,
        written_off_on: col(WRITTEN_OFF_ON)?,
    };
    let (file, headers) = (table.file.clone(), table.headers.clone());
    let mut seen: HashMap<(String, NaiveDate, IncidentKind), usize> = HashMap::new();
    Ok(table.rows().map(move |raw| {
        let raw = raw.map_err(|e| vec![e])?;
        parse_row(&mut Cells::new(&file, &headers, &raw), &cols, &mut seen)
    }))
}

struct Columns {
    serial: usize,
    occurred_on: usize,
    kind: usize,
    cause: Option<usize>,
    replacement: Option<usize>,
    repaired_on: Option<usize>,
    written_off_on: Option<usize>,
}

fn parse_row(
    c: &mut Cells<'_>,
    cols: &Columns,
    seen: &mut HashMap<(String, NaiveDate, IncidentKind), usize>,
) -> Result<IncidentRecord, Vec<RowError>> {
    let serial_number = c.required(cols.serial, "シリアル番号", cell::serial);
    let occurred_on = c.required(cols.occurred_on, cell::DATE_EXPECTED, cell::date);
    let kind =
        c.required(cols.kind, KIND_EXPECTED, |s| IncidentKind::parse(s).ok_or_else(|| KIND_EXPECTED.to_string()));
    let replacement_serial = c.optional(cols.replacement, cell::serial);
    let repaired_on = c.optional(cols.repaired_on, cell::date);
    let written_off_on = c.optional(cols.written_off_on, cell::date);

    if let Some(occurred) = occurred_on {
        for (col, date, what) in
            [(cols.repaired_on, repaired_on, "修理完了日"), (cols.written_off_on, written_off_on, "廃棄日")]
        {
            if date.is_some_and(|d| d < occurred) {
                c.error(col, "", format!("{what}は発生日（{occurred}）以降の日付"));
            }
        }
    }
    if repaired_on.is_some() && written_off_on.is_some() {
        c.error(cols.written_off_on, "", "修理完了日と廃棄日のどちらか一方（両方は指定できません）");
    }
    if replacement_serial.is_some() && replacement_serial == serial_number {
        c.error(cols.replacement, "", "代替機のシリアル番号（元の端末と別の番号）");
    }
    if let (Some(s), Some(d), Some(k)) = (&serial_number, occurred_on, kind) {
        let key = (s.clone(), d, k);
        if let Some(first) = seen.get(&key) {
            c.error(
                Some(cols.serial),
                "",
                format!("同じ端末・発生日・種別の行は1つだけ（{first}行目と重複しています）"),
            );
        } else {
            seen.insert(key, c.raw.row);
        }
    }

    match (serial_number, occurred_on, kind) {
        (Some(serial_number), Some(occurred_on), Some(kind)) if c.errors.is_empty() => Ok(IncidentRecord {
            row: c.raw.row,
            serial_number,
            occurred_on,
            kind,
            cause: cell::text(c.get(cols.cause)),
            replacement_serial,
            repaired_on,
            written_off_on,
        }),
        _ => Err(std::mem::take(&mut c.errors)),
    }
}

impl crate::kind::PreviewRow for IncidentRecord {
    fn preview(&self) -> Vec<(&'static str, String)> {
        use crate::kind::opt;
        vec![
            ("serial_number", self.serial_number.clone()),
            ("occurred_on", self.occurred_on.to_string()),
            ("kind", self.kind.label_ja().to_string()),
            ("cause", opt(&self.cause)),
            ("replacement_serial", opt(&self.replacement_serial)),
            ("repaired_on", opt(&self.repaired_on)),
            ("written_off_on", opt(&self.written_off_on)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEADERS: [&str; 7] =
        ["serial_number", "occurred_on", "kind", "cause", "replacement_serial", "repaired_on", "written_off_on"];

    fn table(headers: &[&str], rows: &[&[&str]]) -> Table {
        Table::from_rows(
            "incidents.csv",
            headers.iter().map(|s| s.to_string()).collect(),
            rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect(),
        )
    }

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }

    #[test]
    fn reads_english_and_japanese_layouts() {
        let mut t = table(&HEADERS, &[&["dmp1", "2022-09-05", "damage", "落下", "spare9", "2022-09-20", ""]]);
        let r = read(&mut t).unwrap().next().unwrap().unwrap();
        assert_eq!(r.serial_number, "DMP1");
        assert_eq!((r.occurred_on, r.kind), (d(2022, 9, 5), IncidentKind::Damage));
        assert_eq!(r.cause.as_deref(), Some("落下"));
        assert_eq!(r.replacement_serial.as_deref(), Some("SPARE9"));
        assert_eq!(r.repaired_on, Some(d(2022, 9, 20)));

        let mut t = table(
            &["シリアル番号", "発生日", "種別", "原因", "交換機シリアル", "修理完了日", "廃棄日"],
            &[&["DMP2", "2022/10/1", "盗難", "", "", "", "2022/12/1"]],
        );
        let r = read(&mut t).unwrap().next().unwrap().unwrap();
        assert_eq!(r.kind, IncidentKind::Theft);
        assert_eq!(r.written_off_on, Some(d(2022, 12, 1)));
        assert_eq!(r.cause, None);
    }

    #[test]
    fn row_checks() {
        let mut t = table(
            &HEADERS,
            &[
                &["A1", "2022-09-05", "broken", "", "", "", ""],
                &["A2", "2022-09-05", "fault", "", "A2", "2022-09-01", "2022-09-02"],
                &["A3", "", "", "", "", "", ""],
                &["A4", "2022-09-05", "loss", "", "", "", ""],
                &["a4", "2022/9/5", "紛失", "", "", "", ""],
                &["A4", "2022-09-05", "theft", "", "", "", ""],
            ],
        );
        let rows: Vec<_> = read(&mut t).unwrap().collect();
        let errs: Vec<String> =
            rows.iter().filter_map(|r| r.as_ref().err()).flatten().map(ToString::to_string).collect();
        assert_eq!(
            errs,
            [
                "incidents.csv:2:kind: broken — 破損・故障・紛失・盗難 のいずれか（damage/fault/loss/theft）",
                "incidents.csv:3:repaired_on: 2022-09-01 — 修理完了日は発生日（2022-09-05）以降の日付",
                "incidents.csv:3:written_off_on: 2022-09-02 — 廃棄日は発生日（2022-09-05）以降の日付",
                "incidents.csv:3:written_off_on: 2022-09-02 — 修理完了日と廃棄日のどちらか一方（両方は指定できません）",
                "incidents.csv:3:replacement_serial: A2 — 代替機のシリアル番号（元の端末と別の番号）",
                "incidents.csv:4:occurred_on:  — 必須: 日付（YYYY-MM-DD、例: 2024-05-01）",
                "incidents.csv:4:kind:  — 必須: 破損・故障・紛失・盗難 のいずれか（damage/fault/loss/theft）",
                "incidents.csv:6:serial_number: a4 — 同じ端末・発生日・種別の行は1つだけ（5行目と重複しています）",
            ]
        );
        assert!(rows[3].is_ok() && rows[5].is_ok(), "a different kind on the same day is another incident");
    }

    #[test]
    fn missing_columns_are_all_named() {
        let mut t = table(&["serial_number", "cause"], &[&["A", "B"]]);
        let Err(FileError::MissingColumns { missing, .. }) = read(&mut t) else { panic!("expected MissingColumns") };
        assert_eq!(missing.len(), 2);
        assert!(missing[0].contains("発生日") && missing[1].contains("種別"));
    }

    proptest! {
        #[test]
        fn arbitrary_cells_never_panic(cells in proptest::collection::vec("\\PC{0,16}", 7)) {
            let mut t = Table::from_rows("x.csv", HEADERS.iter().map(|s| s.to_string()).collect(), vec![cells]);
            for r in read(&mut t).unwrap() {
                if let Err(errs) = r { prop_assert!(!errs.is_empty()); }
            }
        }
    }
}
