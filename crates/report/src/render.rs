//! Generic tables and their writers, shared by every report: CSV (UTF-8 with BOM, CRLF), XLSX (one
//! sheet per table) and an HTML `<table class="report">` fragment.
//!
//! A report turns its model into [`Table`]s and hands them to [`to_csv`], [`to_xlsx`] or
//! [`to_html`]; each formatting rule (how a number, a percentage or a column width looks) lives in
//! this module once.

use crate::ReportError;
use askama::Template;
use gigaops_ingest::{FORMULA_GUARD, FORMULA_STARTS};
use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet};
use std::borrow::Cow;

/// One cell of a [`Table`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text, written as is (escaped in HTML).
    Text(String),
    /// A count or an amount; shown with thousands separators (`24,213`).
    Int(i64),
    /// A measured value; shown with two decimals (`1,234.50`).
    Float(f64),
    /// A ratio (0.009 = 0.9 %); shown as a percentage with two decimals (`0.90%`).
    Percent(f64),
    /// No value.
    Empty,
}

static EMPTY: Cell = Cell::Empty;

impl Cell {
    /// A text cell.
    pub fn text(s: impl Into<String>) -> Self {
        Cell::Text(s.into())
    }

    /// The text shown to people (HTML, summaries): `24,213`, `1,234.50`, `0.90%`, `""` for
    /// [`Cell::Empty`] and for a float that is not finite.
    pub fn display(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => group_digits(&n.to_string()),
            Cell::Float(x) => fixed(*x, 2).map(|s| group_digits(&s)).unwrap_or_default(),
            Cell::Percent(r) => fixed(r * 100.0, 2).map(|s| format!("{}%", group_digits(&s))).unwrap_or_default(),
            Cell::Empty => String::new(),
        }
    }

    /// The text written to CSV: like [`Cell::display`] but without thousands separators, so that
    /// a spreadsheet reads numbers as numbers (`24213`, `1234.50`, `0.90%`).
    pub fn plain(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Float(x) => fixed(*x, 2).unwrap_or_default(),
            Cell::Percent(r) => fixed(r * 100.0, 2).map(|s| format!("{s}%")).unwrap_or_default(),
            Cell::Empty => String::new(),
        }
    }

    /// Whether the cell holds a number (right-aligned in HTML).
    pub fn is_numeric(&self) -> bool {
        matches!(self, Cell::Int(_) | Cell::Float(_) | Cell::Percent(_))
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Int(n)
    }
}

/// A titled grid of cells with Japanese column labels, plus optional labelled facts shown above
/// the grid (`summary`, e.g. 配置済台数).
///
/// Rows shorter than `columns` are padded with [`Cell::Empty`] by every writer; the first cell of
/// each row is the row's heading (`<th scope="row">` in HTML).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Caption in HTML, first line and sheet name in XLSX. Not written to CSV.
    pub title: String,
    /// Labelled facts shown above the grid in HTML and XLSX. Not written to CSV.
    pub summary: Vec<(String, Cell)>,
    /// Column labels (Japanese), the header row.
    pub columns: Vec<String>,
    /// The body rows.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with the given title and column labels.
    pub fn new<S: Into<String>>(title: impl Into<String>, columns: impl IntoIterator<Item = S>) -> Self {
        Table {
            title: title.into(),
            summary: Vec::new(),
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// The cells of `row`, padded with [`Cell::Empty`] to the number of columns.
    pub(crate) fn padded<'a>(&'a self, row: &'a [Cell]) -> impl Iterator<Item = &'a Cell> + 'a {
        let missing = self.columns.len().saturating_sub(row.len());
        row.iter().chain(std::iter::repeat_n(&EMPTY, missing))
    }
}

/// `x` with `decimals` decimals; `None` when `x` is not finite. Never `-0.00`.
fn fixed(x: f64, decimals: usize) -> Option<String> {
    if !x.is_finite() {
        return None;
    }
    let s = format!("{x:.decimals$}");
    Some(match s.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0' || b == b'.') => rest.to_string(),
        _ => s,
    })
}

/// Inserts thousands separators into the integer part of a plain decimal number.
pub(crate) fn group_digits(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map_or(("", s), |r| ("-", r));
    let (int, frac) = rest.split_once('.').map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut out = String::with_capacity(s.len() + int.len() / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// CSV

/// The byte-order mark that makes Excel open a UTF-8 CSV as UTF-8.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The table as CSV: UTF-8 with BOM (so Excel opens Japanese correctly), CRLF line ends, the column
/// labels as the first line, then one line per row ([`csv_field`]). Title and summary are not
/// written: a CSV file is one grid.
pub fn to_csv(table: &Table) -> Vec<u8> {
    write_csv(&table.columns, table.rows.iter().map(|row| table.padded(row)))
}

/// The one CSV writer of every export: UTF-8 with BOM, CRLF, the `header` labels, then the `rows`;
/// every cell, header labels included, goes through [`csv_field`].
pub fn write_csv<'a, H, R>(header: impl IntoIterator<Item = H>, rows: impl IntoIterator<Item = R>) -> Vec<u8>
where
    H: AsRef<str>,
    R: IntoIterator<Item = &'a Cell>,
{
    let mut out = UTF8_BOM.to_vec();
    {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).flexible(true).from_writer(&mut out);
        for label in header {
            w.write_field(csv_text(label.as_ref()).as_bytes()).expect("writing CSV to memory cannot fail");
        }
        w.write_record(None::<&[u8]>).expect("writing CSV to memory cannot fail");
        for row in rows {
            for cell in row {
                w.write_field(csv_field(cell).as_bytes()).expect("writing CSV to memory cannot fail");
            }
            w.write_record(None::<&[u8]>).expect("writing CSV to memory cannot fail");
        }
        w.flush().expect("writing CSV to memory cannot fail");
    }
    out
}

/// The text of one CSV cell: a number as [`Cell::plain`] (`-3` stays `-3`: the cell's type
/// decides, never its text); a text cell through [`csv_text`].
pub fn csv_field(cell: &Cell) -> Cow<'_, str> {
    match cell {
        Cell::Text(s) => csv_text(s),
        other => Cow::Owned(other.plain()),
    }
}

/// A text value made safe for a spreadsheet (OWASP "CSV injection"): text that starts with `=`,
/// `+`, `-`, `@`, TAB or CR ([`FORMULA_STARTS`]) gets a leading `'`, so Excel shows it as text and
/// runs no formula (`=HYPERLINK(…)` → `'=HYPERLINK(…)`, `-2+3` → `'-2+3`); other text is unchanged.
/// The CSV reader of the imports removes that `'` again (`ingest::strip_formula_guard`), so an
/// exported file imports as the values it was made from.
pub fn csv_text(s: &str) -> Cow<'_, str> {
    if s.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("{FORMULA_GUARD}{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

// ---------------------------------------------------------------------------------------------
// XLSX

/// Number formats of the XLSX writer, one per numeric cell kind.
const XLSX_INT_FORMAT: &str = "#,##0";
const XLSX_FLOAT_FORMAT: &str = "#,##0.00";
const XLSX_PERCENT_FORMAT: &str = "0.00%";
/// Excel's paper size code for A4.
const XLSX_PAPER_A4: u8 = 9;

/// The tables as one workbook, one sheet per table, named after the table's title (characters
/// Excel forbids in sheet names are replaced by `_`, names are cut to 31 characters and made
/// unique).
///
/// Sheet layout: the title (bold) in A1; the summary as label/value pairs from row 2; an empty
/// row; the header row (bold, shaded, frozen, repeated on every printed page); the body. Numbers
/// are written as numbers with `#,##0`, `#,##0.00` or `0.00%`; column widths follow the longest
/// text of each column, counting Japanese (full-width) characters double. Printing: A4 landscape,
/// one page wide.
pub fn to_xlsx(tables: &[Table]) -> Result<Vec<u8>, ReportError> {
    let mut workbook = Workbook::new();
    let formats = XlsxFormats::new();
    for (table, name) in tables.iter().zip(sheet_names(tables)) {
        let sheet = workbook.add_worksheet();
        sheet.set_name(name)?;
        write_sheet(sheet, table, &formats)?;
    }
    Ok(workbook.save_to_buffer()?)
}

struct XlsxFormats {
    title: Format,
    label: Format,
    header: Format,
    text: Format,
    int: Format,
    float: Format,
    percent: Format,
    value: Format,
    plain_int: Format,
    plain_float: Format,
    plain_percent: Format,
}

impl XlsxFormats {
    fn new() -> Self {
        let cell = Format::new().set_border(FormatBorder::Thin);
        XlsxFormats {
            title: Format::new().set_bold().set_font_size(14),
            label: Format::new().set_bold(),
            header: cell.clone().set_bold().set_align(FormatAlign::Center).set_background_color(Color::RGB(0xE8EDF5)),
            text: cell.clone(),
            int: cell.clone().set_num_format(XLSX_INT_FORMAT),
            float: cell.clone().set_num_format(XLSX_FLOAT_FORMAT),
            percent: cell.set_num_format(XLSX_PERCENT_FORMAT),
            value: Format::new().set_align(FormatAlign::Left),
            plain_int: Format::new().set_num_format(XLSX_INT_FORMAT).set_align(FormatAlign::Left),
            plain_float: Format::new().set_num_format(XLSX_FLOAT_FORMAT).set_align(FormatAlign::Left),
            plain_percent: Format::new().set_num_format(XLSX_PERCENT_FORMAT).set_align(FormatAlign::Left),
        }
    }
}

fn write_sheet(sheet: &mut Worksheet, table: &Table, f: &XlsxFormats) -> Result<(), ReportError> {
    sheet.set_landscape().set_paper_size(XLSX_PAPER_A4).set_print_fit_to_pages(1, 0);
    sheet.write_string_with_format(0, 0, &table.title, &f.title)?;

    let mut widths = vec![0usize; table.columns.len().max(2)];
    let mut row: u32 = 1;
    for (label, value) in &table.summary {
        sheet.write_string_with_format(row, 0, label, &f.label)?;
        let value_format = match value {
            Cell::Int(_) => &f.plain_int,
            Cell::Float(_) => &f.plain_float,
            Cell::Percent(_) => &f.plain_percent,
            Cell::Text(_) | Cell::Empty => &f.value,
        };
        write_cell(sheet, row, 1, value, value_format)?;
        widths[0] = widths[0].max(display_width(label));
        widths[1] = widths[1].max(display_width(&value.display()));
        row += 1;
    }
    if !table.summary.is_empty() {
        row += 1;
    }

    let header_row = row;
    for (col, label) in table.columns.iter().enumerate() {
        sheet.write_string_with_format(header_row, col_num(col)?, label, &f.header)?;
        widths[col] = widths[col].max(display_width(label));
    }
    sheet.set_freeze_panes(header_row + 1, 0)?;
    sheet.set_repeat_rows(header_row, header_row)?;

    for (i, cells) in table.rows.iter().enumerate() {
        let r = header_row + 1 + u32::try_from(i).map_err(|_| rust_xlsxwriter::XlsxError::RowColumnLimitError)?;
        for (col, cell) in table.padded(cells).enumerate() {
            let format = match cell {
                Cell::Int(_) => &f.int,
                Cell::Float(_) => &f.float,
                Cell::Percent(_) => &f.percent,
                Cell::Text(_) | Cell::Empty => &f.text,
            };
            write_cell(sheet, r, col_num(col)?, cell, format)?;
            if col < widths.len() {
                widths[col] = widths[col].max(display_width(&cell.display()));
            }
        }
    }

    for (col, w) in widths.iter().enumerate() {
        sheet.set_column_width(col_num(col)?, column_width(*w))?;
    }
    Ok(())
}

fn write_cell(sheet: &mut Worksheet, row: u32, col: u16, cell: &Cell, format: &Format) -> Result<(), ReportError> {
    match cell {
        Cell::Text(s) => sheet.write_string_with_format(row, col, s, format)?,
        Cell::Int(n) => sheet.write_number_with_format(row, col, *n as f64, format)?,
        Cell::Float(x) | Cell::Percent(x) if x.is_finite() => sheet.write_number_with_format(row, col, *x, format)?,
        Cell::Float(_) | Cell::Percent(_) | Cell::Empty => sheet.write_blank(row, col, format)?,
    };
    Ok(())
}

fn col_num(col: usize) -> Result<u16, ReportError> {
    u16::try_from(col).map_err(|_| rust_xlsxwriter::XlsxError::RowColumnLimitError.into())
}

/// Excel column width for text `w` display columns wide (full-width characters count 2).
fn column_width(w: usize) -> f64 {
    (w as f64 + 2.0).clamp(8.0, 60.0)
}

/// Display width in half-width columns: East Asian wide and full-width characters count 2.
pub(crate) fn display_width(s: &str) -> usize {
    s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD)
}

/// Sheet names for the tables: the title with `* ? : [ ] \ /` replaced by `_`, apostrophes trimmed
/// from both ends, cut to Excel's 31 characters, `Sheet` when nothing is left, and `(2)`, `(3)`, …
/// appended to repeats (Excel compares names case-insensitively).
fn sheet_names(tables: &[Table]) -> Vec<String> {
    const MAX: usize = 31;
    let mut used: Vec<String> = Vec::new();
    let mut names = Vec::with_capacity(tables.len());
    for table in tables {
        let cleaned: String = table
            .title
            .chars()
            .map(|c| if matches!(c, '*' | '?' | ':' | '[' | ']' | '\\' | '/') || c.is_control() { '_' } else { c })
            .collect();
        let mut base: String = cleaned.trim().trim_matches('\'').chars().take(MAX).collect();
        base = base.trim_end_matches('\'').to_string();
        if base.is_empty() || base.eq_ignore_ascii_case("history") {
            base = "Sheet".to_string();
        }
        let mut name = base.clone();
        let mut n = 2;
        while used.contains(&name.to_lowercase()) {
            let suffix = format!("({n})");
            let keep = MAX - suffix.chars().count();
            let stem: String = base.chars().take(keep).collect();
            name = format!("{}{suffix}", stem.trim_end_matches('\''));
            n += 1;
        }
        used.push(name.to_lowercase());
        names.push(name);
    }
    names
}

// ---------------------------------------------------------------------------------------------
// HTML

#[derive(Template)]
#[template(path = "table.html")]
struct HtmlTable<'a> {
    title: &'a str,
    summary: Vec<HtmlFact<'a>>,
    columns: &'a [String],
    rows: Vec<Vec<HtmlCell>>,
}

struct HtmlFact<'a> {
    label: &'a str,
    value: String,
}

struct HtmlCell {
    text: String,
    numeric: bool,
}

/// The table as an HTML fragment: the summary (if any) as `<dl class="report-summary">`, then
/// `<table class="report">` with the title as `<caption>`, the column labels in `<thead>` (so the
/// header repeats on every printed page), and the first cell of each row as `<th scope="row">`.
/// Numeric cells carry `class="num"`. All text is escaped.
pub fn to_html(table: &Table) -> String {
    let view = HtmlTable {
        title: &table.title,
        summary: table.summary.iter().map(|(label, value)| HtmlFact { label, value: value.display() }).collect(),
        columns: &table.columns,
        rows: table
            .rows
            .iter()
            .map(|row| {
                table.padded(row).map(|cell| HtmlCell { text: cell.display(), numeric: cell.is_numeric() }).collect()
            })
            .collect(),
    };
    view.render().expect("rendering a table of strings cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(Cell::Int(24213).display(), "24,213");
        assert_eq!(Cell::Int(-1234567).display(), "-1,234,567");
        assert_eq!(Cell::Int(24213).plain(), "24213");
        assert_eq!(Cell::Float(1234.5).display(), "1,234.50");
        assert_eq!(Cell::Float(-0.001).display(), "0.00");
        assert_eq!(Cell::Float(f64::NAN).display(), "");
        assert_eq!(Cell::Percent(219.0 / 24213.0).display(), "0.90%");
        assert_eq!(Cell::Percent(0.0285).plain(), "2.85%");
        assert_eq!(Cell::Percent(12.5).display(), "1,250.00%");
        assert_eq!(Cell::Empty.display(), "");
    }

    #[test]
    fn widths_count_full_width_double() {
        assert_eq!(display_width("保守残数"), 8);
        assert_eq!(display_width("iPad（小中）"), 4 + 8);
        assert_eq!(display_width("１２"), 4);
    }

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let t = |s: &str| Table::new(s, ["a"]);
        let names = sheet_names(&[
            t("a/b:c"),
            t("A/B:C"),
            t(""),
            t("'quoted'"),
            t("あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめも"),
        ]);
        assert_eq!(names[0], "a_b_c");
        assert_eq!(names[1], "A_B_C(2)");
        assert_eq!(names[2], "Sheet");
        assert_eq!(names[3], "quoted");
        assert_eq!(names[4].chars().count(), 31);
    }

    #[test]
    fn short_rows_are_padded() {
        let mut t = Table::new("t", ["a", "b", "c"]);
        t.rows.push(vec![Cell::text("x")]);
        let csv = String::from_utf8(to_csv(&t)).unwrap();
        assert_eq!(csv, "\u{feff}a,b,c\r\nx,,\r\n");
        assert_eq!(to_html(&t).matches("<td").count(), 2);
    }

    #[test]
    fn csv_text_cells_never_start_a_formula() {
        let mut t = Table::new("t", ["名前", "数"]);
        for hostile in ["=HYPERLINK(\"http://x\",\"y\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\tx", "\rx"] {
            t.rows.push(vec![Cell::text(hostile), Cell::Int(-3)]);
        }
        t.rows.push(vec![Cell::text("'quoted"), Cell::Float(-1.5)]);
        let csv = String::from_utf8(to_csv(&t)).unwrap();
        assert_eq!(
            csv,
            "\u{feff}名前,数\r\n\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",-3\r\n'+1+cmd|' /C calc'!A0,-3\r\n'-2+3,-3\r\n\
             '@SUM(1),-3\r\n'\tx,-3\r\n\"'\rx\",-3\r\n'quoted,-1.50\r\n"
        );
        assert_eq!(csv_text("2+3"), "2+3");
        assert_eq!(gigaops_ingest::strip_formula_guard(&csv_text("-2+3")), "-2+3");
        assert_eq!(gigaops_ingest::strip_formula_guard("'quoted"), "'quoted");
    }
}
