//! Opening an outside file as a [`Table`]: header labels plus a stream of trimmed rows.
//!
//! CSV is streamed (memory stays flat in the file size); XLSX and other workbooks are loaded one
//! sheet at a time through calamine. Encoding rule (DESIGN.md §5): UTF-8 with or without BOM, else
//! CP932/Shift_JIS, decided on the first 64 KiB.

use encoding_rs::{DecoderResult, Encoding, SHIFT_JIS, UTF_8};
use gigaops_domain::calendar::fullwidth_to_ascii;
use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::iter::Peekable;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// How many leading bytes decide the encoding.
const SNIFF_BYTES: usize = 64 * 1024;

/// One problem at one place of a file.
///
/// `Display` is exactly `{file}:{row}:{column}: {value} — {expected}`, e.g.
/// `devices.csv:3:シリアル番号:  — シリアル番号（必須）`. `row` is the 1-based line number in the file,
/// counting the header as row 1 (for a workbook, the sheet row number); `column` is the header label
/// as written in the file; `value` the cell text as read (trimmed); `expected` says in Japanese what
/// the cell should hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub file: String,
    pub row: usize,
    pub column: String,
    pub value: String,
    pub expected: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.row == 0 && self.column.is_empty() {
            // a problem with the whole file, not one cell
            return write!(f, "{}: {}", self.file, self.expected);
        }
        write!(f, "{}:{}:{}: {} — {}", self.file, self.row, self.column, self.value, self.expected)
    }
}

impl std::error::Error for RowError {}

/// A problem with a whole file; nothing in it can be imported. `Display` is Japanese and starts
/// with the file name.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The first 64 KiB are neither UTF-8 nor Shift_JIS (CP932), or contain NUL bytes (UTF-16, binary).
    #[error("{file}: 文字コードを判別できません（UTF-8 または Shift_JIS(CP932) で保存してください）")]
    UnknownEncoding { file: String },
    /// No header, or a header and no data row.
    #[error("{file}: データ行がありません（空のファイル、または見出し行だけです）")]
    Empty { file: String },
    /// The workbook has no sheet of that name; `available` lists the sheets it has.
    #[error("{file}: シート「{sheet}」がありません（あるシート: {}）", .available.join("、"))]
    MissingSheet { file: String, sheet: String, available: Vec<String> },
    /// Required columns are absent. Each `missing` entry names the accepted header labels
    /// (e.g. `serial_number / Serial number / シリアル番号`); `found` lists the file's headers.
    #[error("{file}: 必要な列がありません: {}（ファイルの見出し: {}）", .missing.join("、"), .found.join(", "))]
    MissingColumns { file: String, missing: Vec<String>, found: Vec<String> },
    /// A usage column whose unit is neither in its header (`usage_gb`, `通信量(GB)`) nor in the mapping.
    #[error("{file}:1:{column}: {column} — 通信量の単位（GB・MB・KB・バイト）を見出しに含めるか（例: usage_gb、通信量(GB)）、対応表（--mapping）の unit で指定してください")]
    UnknownUnit { file: String, column: String },
    /// The extension is not one gigaops reads.
    #[error("{file}: 読み込めない形式です（.csv, .txt, .xlsx, .xlsm, .xls, .xlsb, .ods のいずれかにしてください）")]
    UnsupportedFormat { file: String },
    /// The workbook could not be parsed (damaged, encrypted, not really a workbook).
    #[error("{file}: Excel ファイルを読み取れません（{reason}）")]
    Unreadable { file: String, reason: String },
    /// The file could not be opened or read.
    #[error("{file}: ファイルを読み取れません（{source}）")]
    Io {
        file: String,
        #[source]
        source: io::Error,
    },
}

/// One data row: its row number (as in [`RowError::row`]) and its cells, each trimmed. A row may
/// have fewer or more cells than there are headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    pub row: usize,
    pub cells: Vec<String>,
}

impl RawRow {
    /// The cell at `column` (an index from [`Table::column`]); `""` when the column is absent or
    /// the row is short.
    pub fn get(&self, column: Option<usize>) -> &str {
        column.and_then(|c| self.cells.get(c)).map_or("", String::as_str)
    }
}

type RowIter = Box<dyn Iterator<Item = Result<RawRow, RowError>> + Send>;

/// Rows per batch handed over by [`read_ahead`].
const READ_AHEAD_BATCH: usize = 4096;

/// Runs `records` (a reader's iterator: parsing and checking every row) on a second thread while
/// `consume` takes its items on this one, 4,096 at a time with at most 8 batches waiting: reading
/// and writing a big import overlap on two cores, with memory bounded. Items come in their order.
/// If `consume` stops early, the reading thread stops at its next batch.
pub fn read_ahead<T: Send, R>(
    records: impl Iterator<Item = T> + Send,
    consume: impl FnOnce(&mut dyn Iterator<Item = T>) -> R,
) -> R {
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<T>>(8);
        s.spawn(move || {
            let mut batch = Vec::with_capacity(READ_AHEAD_BATCH);
            for r in records {
                batch.push(r);
                if batch.len() == READ_AHEAD_BATCH
                    && tx.send(std::mem::replace(&mut batch, Vec::with_capacity(READ_AHEAD_BATCH))).is_err()
                {
                    return;
                }
            }
            let _ = tx.send(batch);
        });
        consume(&mut rx.into_iter().flatten())
    })
}

/// A table read from a file: header labels and a stream of data rows.
///
/// `file` is the file name used in error messages (for a workbook `book.xlsx[sheet]`); `headers`
/// are the header cells, trimmed, in file order. Blank rows (all cells empty) are skipped.
pub struct Table {
    pub file: String,
    pub headers: Vec<String>,
    /// How the file was read, for previews: `UTF-8`, `UTF-8（BOM付き）`, `Shift_JIS(CP932)` or
    /// `Excel ブック`.
    pub encoding: &'static str,
    /// The sheets of a workbook in book order (empty for CSV), so a caller can offer a choice.
    pub sheets: Vec<String>,
    /// The sheet that was read (`None` for CSV).
    pub sheet: Option<String>,
    rows: Peekable<RowIter>,
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table").field("file", &self.file).field("headers", &self.headers).finish_non_exhaustive()
    }
}

impl Table {
    /// A table over rows already in memory (pasted text, tests). Rows are numbered from 2 (the
    /// header is row 1); cells are trimmed and blank rows skipped, as for a file.
    pub fn from_rows(file: impl Into<String>, headers: Vec<String>, rows: Vec<Vec<String>>) -> Table {
        let headers = headers.iter().map(|h| clean_cell(h)).collect();
        let iter = rows.into_iter().enumerate().filter_map(|(i, cells)| {
            let cells: Vec<String> = cells.iter().map(|c| clean_cell(c)).collect();
            (!is_blank(&cells)).then_some(Ok(RawRow { row: i + 2, cells }))
        });
        Table {
            file: file.into(),
            headers,
            encoding: "UTF-8",
            sheets: Vec::new(),
            sheet: None,
            rows: (Box::new(iter) as RowIter).peekable(),
        }
    }

    /// The data rows, in file order. An `Err` is a row that could not be read (a read error in the
    /// middle of a CSV file, which also ends the stream; or a cell that did not decode in the
    /// detected encoding). Each row is yielded once: a second call continues where the first stopped.
    pub fn rows(&mut self) -> impl Iterator<Item = Result<RawRow, RowError>> + '_ {
        self.rows.by_ref()
    }

    /// Index of the first header matching any of `aliases`, compared through [`normalize_header`]
    /// (so `Serial number`, `serialNumber`, `SERIAL_NUMBER` and `ｓｅｒｉａｌ　ｎｕｍｂｅｒ` are equal).
    pub fn column(&self, aliases: &[&str]) -> Option<usize> {
        let wanted: Vec<String> = aliases.iter().map(|a| normalize_header(a)).collect();
        self.headers.iter().position(|h| {
            let h = normalize_header(h);
            !h.is_empty() && wanted.contains(&h)
        })
    }

    /// The [`FileError::MissingColumns`] for the given required columns (each given by its aliases).
    pub(crate) fn missing_columns(&self, missing: &[&[&str]]) -> FileError {
        FileError::MissingColumns {
            file: self.file.clone(),
            missing: missing.iter().map(|aliases| aliases.join(" / ")).collect(),
            found: self.headers.clone(),
        }
    }
}

/// The comparison key of a header label: full-width letters and digits to ASCII, lower case,
/// without spaces (also full-width), `_`, `-`, `()`, `（）` and a byte-order mark.
/// `Serial Number` → `serialnumber`, `OSのバージョン` → `osのバージョン`.
pub fn normalize_header(label: &str) -> String {
    label
        .chars()
        .map(fullwidth_to_ascii)
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '＿' | '-' | '(' | ')' | '（' | '）' | '\u{feff}'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Opens a table by extension: `.csv`/`.txt` as comma-separated text, `.xlsx`/`.xlsm` (also
/// `.xls`, `.xlsb`, `.ods`) as a workbook.
///
/// Text encoding is decided on the first 64 KiB: valid UTF-8 (BOM or not) → UTF-8; else decodes
/// as Shift_JIS without error → CP932; else [`FileError::UnknownEncoding`] (also for NUL bytes,
/// i.e. UTF-16 or binary). The first non-blank row is the header. `sheet` names the workbook sheet
/// (`None` = the first sheet; ignored for CSV); a sheet that does not exist gives
/// [`FileError::MissingSheet`]. No header or no data row gives [`FileError::Empty`].
pub fn open_table(path: &Path, sheet: Option<&str>) -> Result<Table, FileError> {
    let file = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let mut table = match ext.as_str() {
        "csv" | "txt" => open_csv(path, file)?,
        "xlsx" | "xlsm" | "xls" | "xlsb" | "ods" => open_workbook(path, file, sheet)?,
        _ => return Err(FileError::UnsupportedFormat { file }),
    };
    if table.rows.peek().is_none() {
        return Err(FileError::Empty { file: table.file });
    }
    Ok(table)
}

/// SHA-256 of the file's bytes as 64 lower-case hex digits (recorded with each import so a
/// re-import of the same file can be recognised). Reads the file in a stream.
pub fn file_sha256(path: &Path) -> io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    io::copy(&mut File::open(path)?, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// SHA-256 of bytes as lower-case hex (for files held in memory, e.g. web uploads).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

fn clean_cell(s: &str) -> String {
    s.trim().trim_start_matches('\u{feff}').trim().to_string()
}

fn is_blank(cells: &[String]) -> bool {
    cells.iter().all(String::is_empty)
}

/// The encoding of a file from its first bytes (`truncated`: the file goes on after them).
fn detect_encoding(head: &[u8], truncated: bool) -> Option<&'static Encoding> {
    if head.contains(&0) {
        return None;
    }
    match std::str::from_utf8(head) {
        Ok(_) => return Some(UTF_8),
        // a multi-byte character cut by the 64 KiB boundary
        Err(e) if e.error_len().is_none() && truncated => return Some(UTF_8),
        Err(_) => {}
    }
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(decoder.max_utf8_buffer_length_without_replacement(head.len())?);
    let (result, _) = decoder.decode_to_string_without_replacement(head, &mut out, !truncated);
    matches!(result, DecoderResult::InputEmpty).then_some(SHIFT_JIS)
}

fn open_csv(path: &Path, file: String) -> Result<Table, FileError> {
    let io_err = |source| FileError::Io { file: file.clone(), source };
    let mut f = File::open(path).map_err(io_err)?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    f.by_ref().take(SNIFF_BYTES as u64).read_to_end(&mut head).map_err(io_err)?;
    let encoding = detect_encoding(&head, head.len() == SNIFF_BYTES)
        .ok_or_else(|| FileError::UnknownEncoding { file: file.clone() })?;
    let label = match encoding {
        e if e == UTF_8 && head.starts_with(b"\xef\xbb\xbf") => "UTF-8（BOM付き）",
        e if e == UTF_8 => "UTF-8",
        _ => "Shift_JIS(CP932)",
    };
    f.seek(SeekFrom::Start(0)).map_err(io_err)?;
    let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new().encoding(Some(encoding)).strip_bom(true).build(f);
    let lines = LineStarts::default();
    let marked =
        LineMarks { inner: decoded, offset: 0, line: 1, at_line_start: true, prev_cr: false, starts: lines.clone() };
    let mut records = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(marked).into_records();

    let headers = loop {
        match records.next() {
            None => return Err(FileError::Empty { file }),
            Some(Err(e)) => return Err(io_err(io::Error::other(e.to_string()))),
            Some(Ok(rec)) => {
                let cells: Vec<String> = rec.iter().map(clean_cell).collect();
                if !is_blank(&cells) {
                    break cells;
                }
            }
        }
    };

    let (name, labels) = (file.clone(), headers.clone());
    let mut done = false;
    let iter = std::iter::from_fn(move || loop {
        if done {
            return None;
        }
        match records.next()? {
            Ok(rec) => {
                let row = rec.position().map_or(0, |p| lines.line_at(p.byte()).unwrap_or(p.line() as usize));
                let cells: Vec<String> = rec.iter().map(clean_cell).collect();
                if is_blank(&cells) {
                    continue;
                }
                // The decoder replaces bytes that are not valid in the detected encoding by U+FFFD.
                if let Some(i) = cells.iter().position(|c| c.contains('\u{fffd}')) {
                    return Some(Err(RowError {
                        file: name.clone(),
                        row,
                        column: labels.get(i).cloned().unwrap_or_else(|| format!("{}列目", i + 1)),
                        value: cells[i].clone(),
                        expected: format!(
                            "{} として読める文字（ファイルの途中で文字コードが変わっています）",
                            if encoding == UTF_8 { "UTF-8" } else { "Shift_JIS(CP932)" }
                        ),
                    }));
                }
                return Some(Ok(RawRow { row, cells }));
            }
            Err(e) => {
                done = true;
                return Some(Err(RowError {
                    file: name.clone(),
                    row: e.position().map_or(0, |p| p.line() as usize),
                    column: String::new(),
                    value: String::new(),
                    expected: format!("CSV として読み取れる行（{e}）"),
                }));
            }
        }
    });
    Ok(Table {
        file,
        headers,
        encoding: label,
        sheets: Vec::new(),
        sheet: None,
        rows: (Box::new(iter) as RowIter).peekable(),
    })
}

/// Line numbers of the line starts not yet passed, shared between [`LineMarks`] and the row
/// iterator. The csv crate reports a record's position *before* the empty lines it skips; the
/// record's own line is that of the first line start at or after that position.
#[derive(Clone, Default)]
struct LineStarts(Arc<Mutex<VecDeque<(u64, usize)>>>);

impl LineStarts {
    /// The line number of the first non-empty line starting at or after byte `offset` of the
    /// decoded text; forgets the line starts before it (so memory stays bounded by csv's buffer).
    fn line_at(&self, offset: u64) -> Option<usize> {
        let mut starts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        while starts.front().is_some_and(|&(o, _)| o < offset) {
            starts.pop_front();
        }
        starts.front().map(|&(_, line)| line)
    }
}

/// A pass-through reader over the decoded (UTF-8) text that notes where each non-empty line
/// starts: CR, LF and CRLF each end a line.
struct LineMarks<R> {
    inner: R,
    offset: u64,
    line: usize,
    at_line_start: bool,
    prev_cr: bool,
    starts: LineStarts,
}

impl<R: Read> Read for LineMarks<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut starts = self.starts.0.lock().unwrap_or_else(|e| e.into_inner());
        for &b in &buf[..n] {
            match b {
                b'\r' => self.line += 1,
                b'\n' if self.prev_cr => {}
                b'\n' => self.line += 1,
                _ if self.at_line_start => starts.push_back((self.offset, self.line)),
                _ => {}
            }
            self.at_line_start = matches!(b, b'\r' | b'\n');
            self.prev_cr = b == b'\r';
            self.offset += 1;
        }
        Ok(n)
    }
}

fn open_workbook(path: &Path, file: String, sheet: Option<&str>) -> Result<Table, FileError> {
    use calamine::Reader;
    std::fs::metadata(path).map_err(|source| FileError::Io { file: file.clone(), source })?;
    let unreadable = |e: &dyn fmt::Display| FileError::Unreadable { file: file.clone(), reason: e.to_string() };
    // calamine parses untrusted bytes; a panic inside it must not take the caller down.
    let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut book = calamine::open_workbook_auto(path).map_err(|e| unreadable(&e))?;
        let names = book.sheet_names();
        let name = match sheet {
            Some(s) => names.iter().find(|n| n.as_str() == s || n.trim() == s.trim()).cloned().ok_or_else(|| {
                FileError::MissingSheet { file: file.clone(), sheet: s.to_string(), available: names.clone() }
            })?,
            None => names.first().cloned().ok_or_else(|| FileError::Empty { file: file.clone() })?,
        };
        let range = book.worksheet_range(&name).map_err(|e| unreadable(&e))?;
        Ok((name, range, names))
    }))
    .unwrap_or_else(|_| Err(unreadable(&"ファイルの構造が壊れています")));
    let (name, range, sheets) = loaded?;

    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    let mut rows = range.rows().enumerate().filter_map(|(i, cells)| {
        let cells: Vec<String> = cells.iter().map(workbook_cell_text).collect();
        (!is_blank(&cells)).then_some(RawRow { row: first_row + i + 1, cells })
    });
    let file = format!("{file}[{name}]");
    let Some(header) = rows.next() else {
        return Err(FileError::Empty { file });
    };
    let data: Vec<Result<RawRow, RowError>> = rows.map(Ok).collect();
    Ok(Table {
        file,
        headers: header.cells,
        encoding: "Excel ブック",
        sheets,
        sheet: Some(name),
        rows: (Box::new(data.into_iter()) as RowIter).peekable(),
    })
}

/// The text of a workbook cell: whole numbers without `.0`, dates as `YYYY-MM-DD` (with
/// ` HH:MM:SS` when there is a time of day), errors as Excel shows them (`#N/A`).
fn workbook_cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => clean_cell(s),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::Error(e) => e.to_string(),
        Data::DateTime(dt) => {
            let v = dt.as_f64();
            // as_datetime would overflow (and panic) far outside the years Excel can show.
            let in_range = v.is_finite() && (0.0..3_000_000.0).contains(&v);
            let datetime = if in_range && dt.is_datetime() { dt.as_datetime() } else { None };
            match datetime {
                Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().to_string(),
                Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
                None => float_text(v),
            }
        }
    }
}

fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod read_ahead_tests {
    use super::read_ahead;

    #[test]
    fn items_arrive_in_order_and_an_early_stop_ends_the_reader() {
        let n = 3 * super::READ_AHEAD_BATCH + 17;
        let got: Vec<usize> = read_ahead(0..n, |items| items.collect());
        assert_eq!(got, (0..n).collect::<Vec<_>>());
        // the consumer takes 10 items of an endless reader: the reader thread must stop, or this hangs
        let first: Vec<u64> = read_ahead(0u64.., |items| items.take(10).collect());
        assert_eq!(first, (0..10).collect::<Vec<_>>());
    }
}
