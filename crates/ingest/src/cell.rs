//! Cell parsers shared by the readers, and [`Cells`], which collects every error of one row.
//!
//! Every parser returns `Err(expected)` with the Japanese text that goes into
//! [`RowError::expected`](crate::RowError).

use crate::table::{quote_value, RawRow, RowError};
use chrono::{DateTime, FixedOffset, NaiveDate};
use gigaops_domain::calendar::{fullwidth_to_ascii, parse_date};
use gigaops_domain::SchoolCode;

/// Header labels of a device serial number, shared by the device, incident and movement readers.
pub(crate) const SERIAL_ALIASES: &[&str] =
    &["serial_number", "Serial number", "SerialNumber", "シリアル番号", "製造番号", "シリアル", "シリアルNo", "S/N"];

pub(crate) const DATE_EXPECTED: &str = "日付（YYYY-MM-DD、例: 2024-05-01）";
pub(crate) const SCHOOL_CODE_EXPECTED: &str = "学校コード（英字A〜K＋数字12桁の13文字、例: B110210000017）";
const SERIAL_EXPECTED: &str = "シリアル番号（英数字と記号、空白なし、64文字以内）";
const SERIAL_EXPONENT: &str =
    "シリアル番号（Excel の指数表記になっています。列を「文字列」にして保存し直してください）";

/// A serial number: trimmed, full-width to ASCII, upper case; 1–64 printable ASCII characters
/// without spaces. Rejects Excel's exponent form (`1.23457E+11`) of a numeric serial.
pub(crate) fn serial(s: &str) -> Result<String, String> {
    let norm: String = s.trim().chars().map(fullwidth_to_ascii).map(|c| c.to_ascii_uppercase()).collect();
    if let Some((mantissa, exponent)) = norm.split_once("E+") {
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        if digits(mantissa) && digits(exponent) {
            return Err(SERIAL_EXPONENT.into());
        }
    }
    if norm.is_empty() || norm.len() > 64 || !norm.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SERIAL_EXPECTED.into());
    }
    Ok(norm)
}

/// A civil date by [`parse_date`] (`2024-05-01`, `2024/5/1`, `2024/05/01 10:00`); an RFC 3339
/// timestamp with an offset (`2024-05-01T20:00:00Z`) is first converted to Japan time (UTC+9),
/// so `2024-05-01T20:00:00Z` is 2024-05-02.
pub(crate) fn date(s: &str) -> Result<NaiveDate, String> {
    let t = s.trim();
    let jst = FixedOffset::east_opt(9 * 3600).expect("constant offset");
    let local = DateTime::parse_from_rfc3339(t).ok().map(|ts| ts.with_timezone(&jst).date_naive().to_string());
    parse_date(local.as_deref().unwrap_or(t)).ok_or_else(|| DATE_EXPECTED.into())
}

/// A 学校コード by [`SchoolCode::parse`].
pub(crate) fn school_code(s: &str) -> Result<SchoolCode, String> {
    SchoolCode::parse(s).map_err(|_| SCHOOL_CODE_EXPECTED.into())
}

/// Free text: `None` when empty.
pub(crate) fn text(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// The last 学校コード standing alone inside a path or label, e.g. `/前橋市/B110210000017/2年` →
/// `B110210000017` (a code is 13 characters not touching another letter or digit).
pub(crate) fn find_school_code(s: &str) -> Option<SchoolCode> {
    let chars: Vec<char> = s.chars().map(fullwidth_to_ascii).collect();
    let apart = |i: Option<usize>| i.and_then(|i| chars.get(i)).is_none_or(|c| !c.is_ascii_alphanumeric());
    (0..chars.len().saturating_sub(12))
        .filter(|&i| apart(i.checked_sub(1)) && apart(Some(i + 13)))
        .filter_map(|i| SchoolCode::parse(&chars[i..i + 13].iter().collect::<String>()).ok())
        .next_back()
}

/// The errors of one row, gathered while its cells are parsed.
pub(crate) struct Cells<'a> {
    file: &'a str,
    headers: &'a [String],
    pub raw: &'a RawRow,
    pub errors: Vec<RowError>,
}

impl<'a> Cells<'a> {
    pub fn new(file: &'a str, headers: &'a [String], raw: &'a RawRow) -> Self {
        Cells { file, headers, raw, errors: Vec::new() }
    }

    /// The cell text (`""` when the column is absent).
    pub fn get(&self, col: Option<usize>) -> &'a str {
        self.raw.get(col)
    }

    /// Records an error at `col` (its header label; `absent_label` when the file has no such column).
    pub fn error(&mut self, col: Option<usize>, absent_label: &str, expected: impl Into<String>) {
        let column = match col {
            Some(c) => match self.headers.get(c) {
                Some(h) if !h.is_empty() => h.clone(),
                _ => format!("{}列目", c + 1),
            },
            None => absent_label.to_string(),
        };
        self.errors.push(RowError {
            file: self.file.to_string(),
            row: self.raw.row,
            column,
            value: quote_value(self.get(col)),
            expected: expected.into(),
        });
    }

    /// An optional cell: `None` when empty; parsed by `f` otherwise (an error is recorded on failure).
    pub fn optional<T>(&mut self, col: Option<usize>, f: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let s = self.get(col);
        if s.is_empty() {
            return None;
        }
        f(s).map_err(|e| self.error(col, "", e)).ok()
    }

    /// A required cell: an empty cell is an error `必須: {what}`.
    pub fn required<T>(&mut self, col: usize, what: &str, f: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        if self.get(Some(col)).is_empty() {
            self.error(Some(col), "", format!("必須: {what}"));
            return None;
        }
        self.optional(Some(col), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_normalised_and_checked() {
        assert_eq!(serial(" dmpxk0a1b2c3 ").unwrap(), "DMPXK0A1B2C3");
        assert_eq!(serial("ｆ９ｆｘ１").unwrap(), "F9FX1");
        assert!(serial("").is_err());
        assert!(serial("To be filled by O.E.M.").is_err());
        assert_eq!(serial("1.23457E+11").unwrap_err(), SERIAL_EXPONENT);
        assert!(serial(&"A".repeat(65)).is_err());
        assert!(serial("シリアル").is_err());
    }

    #[test]
    fn dates_and_timestamps() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(date("2024-05-01T10:00:00Z"), Ok(d(2024, 5, 1)));
        assert_eq!(date("2024-05-01T20:00:00Z"), Ok(d(2024, 5, 2)));
        assert_eq!(date("2024-05-01T10:00:00.000+09:00"), Ok(d(2024, 5, 1)));
        assert_eq!(date("2024/05/01 10:00"), Ok(d(2024, 5, 1)));
        assert_eq!(date("2024-05-01 10:00:00.0000000"), Ok(d(2024, 5, 1)));
        assert_eq!(date("5/1/2024"), Err(DATE_EXPECTED.to_string()));
        assert!(date("45413").is_err());
    }

    #[test]
    fn school_codes_inside_paths() {
        let c = |s| find_school_code(s).map(|c| c.to_string());
        assert_eq!(c("/前橋市/B110210000017").as_deref(), Some("B110210000017"));
        assert_eq!(c("/前橋市/B110210000017/2年1組").as_deref(), Some("B110210000017"));
        assert_eq!(c("/B110210000017/C110210000131").as_deref(), Some("C110210000131"));
        assert_eq!(c("/前橋市/XB110210000017"), None);
        assert_eq!(c("/前橋市/B1102100000171"), None);
        assert_eq!(c("/前橋市/桃井小"), None);
        assert_eq!(c(""), None);
    }
}
