//! LTE lines (回線) and the carrier's per-line usage statements (通信量) → [`LineRecord`]s and
//! [`UsageRecord`]s.
//!
//! - Lines: `line_id,school_code,device_serial,pupil_id,allowance_gb,active_from,active_to`
//!   (Japanese headers too: 回線番号/電話番号/ICCID, 学校コード, シリアル番号, 児童生徒ID, 契約容量(GB),
//!   利用開始日, 利用終了日). `allowance_*` defaults to 5 GB; its unit comes from the header.
//! - Usage: one row per line per month (`line_id,month,usage_gb`) or per day
//!   (`line_id,date,usage_mb`); the unit is taken from the usage header (`usage_bytes`,
//!   `usage_mb`, `usage_gb`, `通信量(GB)`, `データ通信量（MB）`, …; GB = 10^9 bytes). A carrier CSV
//!   whose columns or unit cannot be told is read through a [`UsageMapping`] (a small TOML file).
//!   No carrier documents its per-line CSV publicly (docomo, SoftBank and au publish none; MDM exports
//!   carry no usage counter).
//!
//! Line ids are normalised: full-width to ASCII, hyphens and spaces removed, upper case
//! (`070-1234-5678` → `07012345678`). Row checks here: the value rules; checks against the register
//! (unknown line, a month already imported, two rows for one line and month) are the store's.

use crate::cell::{self, Cells};
use crate::table::{normalize_header, FileError, RowError, Table};
use chrono::NaiveDate;
use gigaops_domain::calendar::fullwidth_to_ascii;
use gigaops_domain::usage::{parse_volume, VolumeError, VolumeUnit};
use gigaops_domain::{SchoolCode, YearMonth};

pub(crate) const LINE: &[&str] = &[
    "line_id",
    "line",
    "回線番号",
    "回線ID",
    "電話番号",
    "携帯電話番号",
    "phone_number",
    "msisdn",
    "iccid",
    "ICCID番号",
];
pub(crate) const SCHOOL: &[&str] = &["school_code", "学校コード"];
pub(crate) const SERIAL: &[&str] = &["device_serial", "serial_number", "シリアル番号", "端末シリアル番号", "製造番号"];
pub(crate) const PUPIL: &[&str] = &["pupil_id", "児童生徒ID", "sourcedId", "roster_id", "利用者ID"];
pub(crate) const FROM: &[&str] = &["active_from", "利用開始日", "開通日", "契約開始日"];
pub(crate) const TO: &[&str] = &["active_to", "利用終了日", "解約日", "契約終了日"];
/// Allowance headers without their unit (the unit is read from the header's end).
pub(crate) const ALLOWANCE_BASES: &[&str] = &["allowance", "契約容量", "月間容量", "データ容量"];
pub(crate) const MONTH: &[&str] = &["month", "利用年月", "ご利用年月", "年月", "対象月", "対象年月", "請求年月"];
pub(crate) const DATE: &[&str] = &["date", "day", "利用日", "ご利用日", "日付"];
/// Usage headers without their unit.
pub(crate) const USAGE_BASES: &[&str] = &[
    "usage",
    "data_usage",
    "通信量",
    "データ通信量",
    "パケット通信量",
    "データ量",
    "利用量",
    "データ利用量",
    "通信データ量",
];

const LINE_EXPECTED: &str = "回線番号（電話番号または ICCID: 英数字 8〜24 文字、ハイフン可）";
const VOLUME_EXPECTED: &str = "0 以上の数値（例: 2.345）";
const MONTH_EXPECTED: &str = "年月（例: 2022-09、2022/09、202209、2022年9月）";

/// Default monthly allowance of a line: 5 GB (Maebashi's pooled contract, seed 003).
pub const DEFAULT_ALLOWANCE_BYTES: i64 = 5 * gigaops_domain::usage::BYTES_PER_GB;

/// A line id: full-width to ASCII, without hyphens and spaces, upper case; 8–24 ASCII letters or
/// digits (a phone number has 11 digits, an ICCID 19–20 characters).
pub fn line_id(s: &str) -> Result<String, String> {
    let t: String = s
        .chars()
        .map(fullwidth_to_ascii)
        .filter(|c| !matches!(c, '-' | '‐' | '−' | 'ー' | ' ' | '　'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if (8..=24).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(t)
    } else {
        Err(LINE_EXPECTED.into())
    }
}

/// A normalised line id ([`line_id`]) packed into a number that sorts like the text: 24 base-37
/// digits (`0`–`9` → 1–10, `A`–`Z` → 11–36, padding 0), the first 12 in the high 64 bits and the
/// last 12 in the low 64 (37^12 < 2^64): 16 bytes, for the lookups and duplicate checks of
/// millions of lines. Every normalised line id (8–24 ASCII letters or digits) fits; `None` for
/// anything else.
pub fn line_key(line_no: &str) -> Option<u128> {
    let b = line_no.as_bytes();
    if b.len() > 24 {
        return None;
    }
    let half = |from: usize| {
        let mut v: u64 = 0;
        for i in from..from + 12 {
            let d = match b.get(i) {
                None => 0,
                Some(c @ b'0'..=b'9') => u64::from(c - b'0') + 1,
                Some(c @ b'A'..=b'Z') => u64::from(c - b'A') + 11,
                Some(_) => return None,
            };
            v = v * 37 + d;
        }
        Some(v)
    };
    Some(u128::from(half(0)?) << 64 | u128::from(half(12)?))
}

/// A month: `2022-09`, `2022/09`, `202209`, `2022年9月` (full-width digits allowed).
pub fn month(s: &str) -> Result<YearMonth, String> {
    let t: String = s.trim().chars().map(fullwidth_to_ascii).collect();
    let t = match t.strip_suffix('月').and_then(|r| r.split_once('年')) {
        Some((y, m)) => format!("{}-{}", y.trim(), m.trim()),
        None => t,
    };
    t.parse::<YearMonth>().map_err(|_| MONTH_EXPECTED.into())
}

fn volume(unit: VolumeUnit) -> impl Fn(&str) -> Result<i64, String> {
    move |s| {
        parse_volume(s, unit).map_err(|e| match e {
            VolumeError::Negative => format!("{VOLUME_EXPECTED}（負の値は使えません）"),
            VolumeError::TooLarge => format!("{VOLUME_EXPECTED}（大きすぎます）"),
            VolumeError::NotANumber => format!("{VOLUME_EXPECTED}（{}単位）", unit.label()),
        })
    }
}

/// The unit named at the end of a header (`usage_gb`, `通信量(GB)`, `データ通信量（MB）`,
/// `usage_bytes`) and the header without it, both normalised.
fn split_unit(header: &str) -> (String, Option<VolumeUnit>) {
    let n = normalize_header(header);
    for (suffix, unit) in [
        ("bytes", VolumeUnit::Bytes),
        ("byte", VolumeUnit::Bytes),
        ("バイト", VolumeUnit::Bytes),
        ("gb", VolumeUnit::Gb),
        ("mb", VolumeUnit::Mb),
        ("kb", VolumeUnit::Kb),
    ] {
        if let Some(base) = n.strip_suffix(suffix) {
            if !base.is_empty() {
                return (base.to_string(), Some(unit));
            }
        }
    }
    (n, None)
}

/// The first header whose base (without unit) is one of `bases`: its index and unit.
/// The column whose header, without its unit, is one of `bases`, with the unit it names; two such
/// columns (`usage_gb` and `usage_mb`) are [`FileError::DuplicateColumn`].
fn find_volume_column(table: &Table, bases: &[&str]) -> Result<Option<(usize, Option<VolumeUnit>)>, FileError> {
    let wanted: Vec<String> = bases.iter().map(|b| normalize_header(b)).collect();
    let mut found = table.headers.iter().enumerate().filter_map(|(i, h)| {
        let (base, unit) = split_unit(h);
        wanted.contains(&base).then_some((i, unit))
    });
    match (found.next(), found.next()) {
        (Some((first, _)), Some((second, _))) => Err(table.duplicate_column(first, second)),
        (first, _) => Ok(first),
    }
}

// ---------------------------------------------------------------------------------------------
// Lines

/// One line of the pooled contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRecord {
    /// Row number in the file (header = 1).
    pub row: usize,
    /// Normalised line id ([`line_id`]).
    pub line_id: String,
    pub school_code: SchoolCode,
    /// Serial number of the device the SIM is in (normalised like device serials).
    pub device_serial: Option<String>,
    /// Roster id of the pupil (pseudonymous).
    pub pupil_id: Option<String>,
    /// Monthly allowance of this line in the pooled contract, bytes (default 5 GB).
    pub allowance_bytes: i64,
    pub active_from: NaiveDate,
    /// Last day the line is active (inclusive); `None` = still active.
    pub active_to: Option<NaiveDate>,
}

/// Reads a lines file. Requires line id, school code and active_from columns (else
/// [`FileError::MissingColumns`]). Row errors: bad line id, bad school code, serial, allowance or
/// dates, `active_to` before `active_from`. Rows are independent: a line id repeated on a later row
/// is found by the store's import (so that memory stays flat in the file's size).
pub fn read_lines(
    table: &mut Table,
) -> Result<impl Iterator<Item = Result<LineRecord, Vec<RowError>>> + '_, FileError> {
    let col = |aliases: &[&str]| table.column_checked(aliases);
    let (line, school, from) = (col(LINE)?, col(SCHOOL)?, col(FROM)?);
    let (Some(line), Some(school), Some(from)) = (line, school, from) else {
        let missing: Vec<&[&str]> = [(line, LINE), (school, SCHOOL), (from, FROM)]
            .into_iter()
            .filter(|(c, _)| c.is_none())
            .map(|(_, a)| a)
            .collect();
        return Err(table.missing_columns(&missing));
    };
    let allowance = find_volume_column(table, ALLOWANCE_BASES)?.map(|(i, u)| (i, u.unwrap_or(VolumeUnit::Gb)));
    let (serial, pupil, to) = (col(SERIAL)?, col(PUPIL)?, col(TO)?);
    let (file, headers) = (table.file.clone(), table.headers.clone());
    Ok(table.rows().map(move |raw| {
        let raw = raw.map_err(|e| vec![e])?;
        let mut c = Cells::new(&file, &headers, &raw);
        let id = c.required(line, "回線番号", line_id);
        let school_code = c.required(school, "学校コード", cell::school_code);
        let device_serial = c.optional(serial, cell::serial);
        let allowance_bytes = match allowance {
            Some((col, unit)) => c.optional(Some(col), volume(unit)),
            None => None,
        }
        .unwrap_or(DEFAULT_ALLOWANCE_BYTES);
        let active_from = c.required(from, "利用開始日", cell::date);
        let active_to = c.optional(to, cell::date);
        if let (Some(a), Some(b)) = (active_from, active_to) {
            if b < a {
                c.error(to, "", format!("利用開始日（{a}）以降の日付"));
            }
        }
        match (id, school_code, active_from) {
            (Some(line_id), Some(school_code), Some(active_from)) if c.errors.is_empty() => Ok(LineRecord {
                row: raw.row,
                line_id,
                school_code,
                device_serial,
                pupil_id: cell::text(c.get(pupil)),
                allowance_bytes,
                active_from,
                active_to,
            }),
            _ => Err(std::mem::take(&mut c.errors)),
        }
    }))
}

// ---------------------------------------------------------------------------------------------
// Usage

/// Which column of a carrier's statement is which usage field, and the volume unit (TOML):
///
/// ```toml
/// line_id = "電話番号"
/// month = "利用年月"      # or: date = "利用日" (daily rows)
/// usage = "パケット通信量"
/// unit = "kb"            # bytes | kb | mb | gb; optional when the usage header names it
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageMapping {
    pub line_id: String,
    #[serde(default)]
    pub month: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
    pub usage: String,
    #[serde(default)]
    pub unit: Option<String>,
}

impl UsageMapping {
    /// Parses a mapping file's text. Errors (Japanese, with the file name): not TOML, unknown or
    /// missing keys, both or neither of `month`/`date`, an unknown unit.
    pub fn parse(file: &str, text: &str) -> Result<Self, String> {
        let m: UsageMapping =
            basic_toml::from_str(text).map_err(|e| format!("{file}: 対応表（TOML）を読み取れません: {e}"))?;
        if m.month.is_some() == m.date.is_some() {
            return Err(format!("{file}: month（月ごとの行）か date（日ごとの行）のどちらか一方を指定してください"));
        }
        if let Some(u) = &m.unit {
            if VolumeUnit::parse(u).is_none() {
                return Err(format!("{file}: unit「{u}」は単位ではありません（bytes, kb, mb, gb のいずれか）"));
            }
        }
        Ok(m)
    }
}

/// Usage of one line in one month (monthly rows) or on one day (daily rows, `day` set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRecord {
    pub row: usize,
    /// Normalised line id ([`line_id`]).
    pub line_id: String,
    pub month: YearMonth,
    /// The day, for daily rows (summed into `month` by the store).
    pub day: Option<NaiveDate>,
    /// Data volume, bytes.
    pub bytes: i64,
}

/// How a usage file was understood: for the import's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageLayout {
    /// `true` for per-day rows.
    pub daily: bool,
    pub unit: VolumeUnit,
    /// The usage column's header as written.
    pub usage_column: String,
}

/// Reads a usage file, by the standard headers or through `mapping`. `latest` is the latest month
/// that may be imported (the current month): later months are row errors.
///
/// File errors: a missing line / month-or-date / usage column ([`FileError::MissingColumns`]); a
/// usage column whose unit is neither in its header nor in the mapping ([`FileError::UnknownUnit`]).
/// Row errors: bad line id, month or date, a month after `latest`, negative or non-numeric usage.
#[allow(clippy::type_complexity)]
pub fn read_usage<'a>(
    table: &'a mut Table,
    mapping: Option<&UsageMapping>,
    latest: YearMonth,
) -> Result<(UsageLayout, Box<dyn Iterator<Item = Result<UsageRecord, Vec<RowError>>> + Send + 'a>), FileError> {
    let (line, month_col, date_col, usage) = match mapping {
        Some(m) => {
            let col = |name: &Option<String>| name.as_deref().map_or(Ok(None), |n| table.column_checked(&[n]));
            let usage = table.column_checked(&[m.usage.as_str()])?.map(|i| (i, split_unit(&table.headers[i]).1));
            (table.column_checked(&[m.line_id.as_str()])?, col(&m.month)?, col(&m.date)?, usage)
        }
        None => {
            let month = table.column_checked(MONTH)?;
            let date = if month.is_some() { None } else { table.column_checked(DATE)? };
            (table.column_checked(LINE)?, month, date, find_volume_column(table, USAGE_BASES)?)
        }
    };
    let labels = |m: Option<&UsageMapping>| -> [String; 3] {
        match m {
            Some(m) => [m.line_id.clone(), m.month.clone().or(m.date.clone()).unwrap_or_default(), m.usage.clone()],
            None => [
                LINE.join(" / "),
                format!("{} / {}", MONTH.join(" / "), DATE.join(" / ")),
                "usage_gb / usage_mb / usage_bytes / 通信量(GB) / データ通信量（MB）".into(),
            ],
        }
    };
    let [l_label, m_label, u_label] = labels(mapping);
    let mut missing = Vec::new();
    if line.is_none() {
        missing.push(l_label);
    }
    if month_col.is_none() && date_col.is_none() {
        missing.push(m_label);
    }
    if usage.is_none() {
        missing.push(u_label);
    }
    if !missing.is_empty() {
        return Err(FileError::MissingColumns { file: table.file.clone(), missing, found: table.headers.clone() });
    }
    let (line, (usage, header_unit)) = (line.expect("checked"), usage.expect("checked"));
    let mapped_unit = mapping.and_then(|m| m.unit.as_deref()).and_then(VolumeUnit::parse);
    let Some(unit) = mapped_unit.or(header_unit) else {
        return Err(FileError::UnknownUnit { file: table.file.clone(), column: table.headers[usage].clone() });
    };
    let layout = UsageLayout { daily: month_col.is_none(), unit, usage_column: table.headers[usage].clone() };
    let (file, headers) = (table.file.clone(), table.headers.clone());
    let parse = volume(unit);
    let iter = table.rows().map(move |raw| {
        let raw = raw.map_err(|e| vec![e])?;
        let mut c = Cells::new(&file, &headers, &raw);
        let id = c.required(line, "回線番号", line_id);
        let (ym, day) = match (month_col, date_col) {
            (Some(mc), _) => (c.required(mc, "年月", month), None),
            (None, Some(dc)) => {
                let d = c.required(dc, "日付", cell::date);
                (d.map(YearMonth::of), d)
            }
            (None, None) => unreachable!("checked above"),
        };
        if let Some(m) = ym {
            if m > latest {
                let col = month_col.or(date_col);
                c.error(col, "", format!("{latest} までの月（未来の月の通信量は取り込めません）"));
            }
        }
        let bytes = c.required(usage, "通信量", &parse);
        match (id, ym, bytes) {
            (Some(line_id), Some(month), Some(bytes)) if c.errors.is_empty() => {
                Ok(UsageRecord { row: raw.row, line_id, month, day, bytes })
            }
            _ => Err(std::mem::take(&mut c.errors)),
        }
    });
    Ok((layout, Box::new(iter)))
}

// ---------------------------------------------------------------------------------------------
// Policy file

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    effective_from: String,
    single_gb: f64,
    consecutive_gb: f64,
    consecutive_months: u32,
    steps: Vec<gigaops_domain::usage::Step>,
}

/// Reads an escalation policy file (TOML; thresholds in GB = 10^9 bytes):
///
/// ```toml
/// effective_from = "2022-09"
/// single_gb = 200
/// consecutive_gb = 100
/// consecutive_months = 2
/// [[steps]]
/// name = "注意喚起メッセージ"
/// action = "注意喚起のメッセージをタブレットに送信"
/// notify = "device"            # device | school | parents
/// ```
///
/// Errors (Japanese, with the file name): not TOML, unknown or missing keys, a policy that
/// [`gigaops_domain::usage::EscalationPolicy::validate`] refuses.
pub fn read_policy(file: &str, text: &str) -> Result<gigaops_domain::usage::EscalationPolicy, String> {
    let f: PolicyFile =
        basic_toml::from_str(text).map_err(|e| format!("{file}: 対応方針（TOML）を読み取れません: {e}"))?;
    let bytes = |g: f64| (g * gigaops_domain::usage::BYTES_PER_GB as f64).round() as i64;
    let p = gigaops_domain::usage::EscalationPolicy {
        effective_from: f.effective_from,
        single_month_bytes: bytes(f.single_gb),
        consecutive_bytes: bytes(f.consecutive_gb),
        consecutive_months: f.consecutive_months,
        steps: f.steps,
    };
    p.validate().map_err(|e| format!("{file}: {e}"))?;
    Ok(p)
}

impl crate::kind::PreviewRow for LineRecord {
    fn preview(&self) -> Vec<(&'static str, String)> {
        use crate::kind::opt;
        vec![
            ("line_id", self.line_id.clone()),
            ("school_code", self.school_code.to_string()),
            ("device_serial", opt(&self.device_serial)),
            ("pupil_id", opt(&self.pupil_id)),
            ("allowance_gb", gigaops_domain::usage::bytes_to_gb(self.allowance_bytes).to_string()),
            ("active_from", self.active_from.to_string()),
            ("active_to", opt(&self.active_to)),
        ]
    }
}

impl crate::kind::PreviewRow for UsageRecord {
    fn preview(&self) -> Vec<(&'static str, String)> {
        vec![
            ("line_id", self.line_id.clone()),
            ("month", self.month.to_string()),
            ("date", crate::kind::opt(&self.day)),
            ("usage_bytes", self.bytes.to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn table(headers: &[&str], rows: &[&[&str]]) -> Table {
        Table::from_rows(
            "usage.csv",
            headers.iter().map(|s| s.to_string()).collect(),
            rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect(),
        )
    }

    #[test]
    fn packed_line_ids_sort_like_the_text_and_stay_distinct() {
        let ids = [
            "0000000A",
            "07000000001",
            "070000000010",
            "07000000002",
            "0700000001",
            "08000000000",
            "8000000000",
            "89811000000000000001",
            "8981100000000000000Z",
            "ZZZZZZZZZZZZZZZZZZZZZZZZ",
        ];
        let mut sorted = ids.to_vec();
        sorted.sort();
        let packed: Vec<u128> = sorted.iter().map(|s| line_key(s).unwrap()).collect();
        assert!(packed.windows(2).all(|w| w[0] < w[1]), "{sorted:?}");
        assert_eq!(line_key("0701"), Some(line_key("0701").unwrap()));
        assert_ne!(line_key("0701"), line_key("07010"));
        assert_eq!(line_key("ZZZZZZZZZZZZZZZZZZZZZZZZZ"), None, "25 characters");
        assert_eq!(line_key("070-1"), None);
        assert_eq!(line_key("abc"), None, "ids are upper case after normalising");
    }

    proptest! {
        #[test]
        fn line_keys_order_like_the_text(a in "[0-9A-Z]{8,24}", b in "[0-9A-Z]{8,24}") {
            prop_assert_eq!(line_key(&a).unwrap().cmp(&line_key(&b).unwrap()), a.cmp(&b));
        }
    }

    fn ym(s: &str) -> YearMonth {
        s.parse().unwrap()
    }

    fn errors(items: Vec<Result<UsageRecord, Vec<RowError>>>) -> Vec<String> {
        items.into_iter().filter_map(|r| r.err()).flatten().map(|e| e.to_string()).collect()
    }

    #[test]
    fn unit_comes_from_the_header() {
        for (header, value, bytes) in [
            ("usage_gb", "1.5", 1_500_000_000),
            ("usage_mb", "1.5", 1_500_000),
            ("usage_bytes", "15", 15),
            ("通信量(GB)", "2", 2_000_000_000),
            ("データ通信量（MB）", "1,024", 1_024_000_000),
            ("通信量（ＧＢ）", "0.001", 1_000_000),
        ] {
            let mut t = table(&["line_id", "month", header], &[&["070-1234-5678", "2022-09", value]]);
            let (layout, rows) = read_usage(&mut t, None, ym("2022-12")).unwrap();
            let recs: Vec<_> = rows.collect();
            assert_eq!(recs[0].as_ref().unwrap().bytes, bytes, "{header}");
            assert_eq!(recs[0].as_ref().unwrap().line_id, "07012345678");
            assert!(!layout.daily);
        }
        let mut t = table(&["line_id", "month", "通信量"], &[&["07012345678", "2022-09", "1"]]);
        let err = read_usage(&mut t, None, ym("2022-12")).err().unwrap().to_string();
        assert!(err.contains("usage.csv:1:通信量") && err.contains("単位"), "{err}");
    }

    #[test]
    fn daily_rows_and_bad_values_are_reported_with_row_and_column() {
        let mut t = table(
            &["回線番号", "利用日", "データ通信量（MB）"],
            &[
                &["07012345678", "2022-09-01", "12.5"],
                &["07012345678", "2022-09-02", "-1"],
                &["07012345678", "2022-09-03", "abc"],
                &["0701", "2023-01-01", "1"],
            ],
        );
        let (layout, rows) = read_usage(&mut t, None, ym("2022-12")).unwrap();
        assert!(layout.daily);
        let items: Vec<_> = rows.collect();
        assert_eq!(items[0].as_ref().unwrap().day, Some(NaiveDate::from_ymd_opt(2022, 9, 1).unwrap()));
        assert_eq!(items[0].as_ref().unwrap().bytes, 12_500_000);
        let e = errors(items);
        assert!(e[0].starts_with("usage.csv:3:データ通信量（MB）: -1 — "), "{e:?}");
        assert!(e[0].contains("負の値"), "{e:?}");
        assert!(e[1].starts_with("usage.csv:4:データ通信量（MB）: abc — "), "{e:?}");
        assert!(e[2].starts_with("usage.csv:5:回線番号: 0701 — "), "{e:?}");
        assert!(e[3].starts_with("usage.csv:5:利用日: 2023-01-01 — 2022-12 までの月"), "{e:?}");
    }

    #[test]
    fn a_mapping_names_the_columns_and_the_unit() {
        let m = UsageMapping::parse(
            "map.toml",
            "line_id = \"電話番号\"\nmonth = \"利用年月\"\nusage = \"パケット通信量\"\nunit = \"kb\"\n",
        )
        .unwrap();
        let mut t = table(
            &["請求先コード", "電話番号", "利用年月", "パケット通信量"],
            &[&["X", "070-4000-0000", "202212", "302000"], &["X", "070-4000-0037", "2022年12月", "5"]],
        );
        let (layout, rows) = read_usage(&mut t, Some(&m), ym("2022-12")).unwrap();
        assert_eq!(layout.unit, VolumeUnit::Kb);
        let recs: Vec<_> = rows.map(|r| r.unwrap()).collect();
        assert_eq!(recs[0].bytes, 302_000_000);
        assert_eq!(recs[1].month, ym("2022-12"));
        assert!(UsageMapping::parse("m.toml", "line_id = \"a\"\nusage = \"b\"\n").unwrap_err().contains("month"));
        assert!(UsageMapping::parse("m.toml", "line_id = 1").unwrap_err().contains("m.toml"));
        let bad_unit = "line_id = \"a\"\nmonth = \"m\"\nusage = \"b\"\nunit = \"TB\"\n";
        assert!(UsageMapping::parse("m.toml", bad_unit).unwrap_err().contains("TB"));
        // the mapping's columns must exist
        let mut t = table(&["x", "y"], &[&["1", "2"]]);
        let err = read_usage(&mut t, Some(&m), ym("2022-12")).err().unwrap().to_string();
        assert!(err.contains("電話番号") && err.contains("パケット通信量"), "{err}");
    }

    #[test]
    fn lines_are_checked() {
        let mut t = table(
            &["line_id", "school_code", "device_serial", "pupil_id", "allowance_gb", "active_from", "active_to"],
            &[
                &["07040000000", "B110210000017", "dmpka476gf7u", "P1", "", "2021-04-01", ""],
                &["07040000037", "B110210000017", "", "", "7", "2021-04-01", "2022-04-30"],
                &["07040000037", "B110210000017", "", "", "7", "2021-04-01", ""],
                &["07040000099", "B110210000017", "", "", "5", "2022-05-01", "2022-04-30"],
            ],
        );
        let items: Vec<_> = read_lines(&mut t).unwrap().collect();
        let a = items[0].as_ref().unwrap();
        assert_eq!((a.allowance_bytes, a.device_serial.as_deref()), (5_000_000_000, Some("DMPKA476GF7U")));
        assert_eq!(items[1].as_ref().unwrap().allowance_bytes, 7_000_000_000);
        let e: Vec<String> = items.into_iter().filter_map(|r| r.err()).flatten().map(|e| e.to_string()).collect();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("usage.csv:5:active_to: 2022-04-30 — 利用開始日（2022-05-01）以降"), "{e:?}");
        let mut t = table(&["line_id"], &[&["1"]]);
        assert!(read_lines(&mut t).err().unwrap().to_string().contains("school_code"));
    }

    #[test]
    fn the_example_policy_file_is_maebashi_s() {
        let text = include_str!("../../../examples/maebashi-2022-usage/escalation-policy.toml");
        let p = read_policy("escalation-policy.toml", text).unwrap();
        assert_eq!(p, gigaops_domain::usage::EscalationPolicy::maebashi());
        let bad = text.replace("consecutive_months = 2", "consecutive_months = 0");
        assert!(read_policy("p.toml", &bad).unwrap_err().starts_with("p.toml: 連続月数"));
    }

    proptest! {
        #[test]
        fn line_ids_never_panic_and_are_normalised(s in "\\PC{0,30}") {
            if let Ok(id) = line_id(&s) {
                prop_assert!(id.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
                prop_assert_eq!(line_id(&id), Ok(id.clone()));
            }
            let _ = month(&s);
        }
    }
}
