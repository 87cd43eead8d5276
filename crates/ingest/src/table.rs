//! Opening an outside file as a [`Table`]: header labels plus a stream of trimmed rows.
//!
//! Both kinds of file are streamed, so memory stays bounded whatever the file holds: CSV record by
//! record, a workbook sheet cell by cell (calamine's cell readers, rows built sparse on a reading
//! thread), with every size checked against [`ReadLimits`] before it is allocated. Text encoding:
//! UTF-8 with or without BOM, else CP932/Shift_JIS, decided on the first 64 KiB.

use encoding_rs::{DecoderResult, Encoding, SHIFT_JIS, UTF_8};
use gigaops_domain::calendar::fullwidth_to_ascii;
use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::iter::Peekable;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};

/// How many leading bytes decide the encoding.
const SNIFF_BYTES: usize = 64 * 1024;

/// The csv reader's buffer, bytes: a record is seen as too long only once it passes its limit by
/// more than this (the buffer may already hold the start of the next record).
const CSV_BUFFER: usize = 8 * 1024;

/// At most this many characters of a cell are quoted in a [`RowError::value`].
pub const MAX_QUOTED_CHARS: usize = 100;

/// What reading one file may cost. Every limit is checked before more memory than it allows is
/// taken; exceeding one is a [`FileError`] (or, for one line, row or cell, a [`RowError`]), never
/// an allocation.
///
/// Memory with these limits: a CSV holds one record (at most `max_line_bytes` plus the 8 KiB read
/// buffer); a workbook holds calamine's shared strings (at most `max_shared_strings_bytes` of
/// XML) and at most 64 rows in flight between its reading thread and the reader, each at most
/// `max_line_bytes` of text and `max_columns` cells.
///
/// [`Default`] gives the limits [`open_table`] uses; a caller with other needs (a bigger batch
/// import, a stricter web upload) passes its own to [`open_table_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadLimits {
    /// Rows of a workbook sheet: the last used row number (1-based) may be at most this.
    /// Default 1,048,576 (Excel's own maximum).
    pub max_rows: u32,
    /// Columns of a table: in a workbook the last used column (1-based, `A` = 1) may be at most
    /// this (default 512, column `SR`); a CSV line with more cells is a [`RowError`].
    pub max_columns: u32,
    /// Workbooks (zip): the sum of the uncompressed sizes of all entries, in bytes, both as the zip
    /// directory states them and as actually decompressed; also the most cell text one sheet may
    /// yield in total. Default 512 MiB.
    pub max_unpacked_bytes: u64,
    /// Workbooks: the uncompressed size of the shared-strings part (`xl/sharedStrings.xml` or
    /// `.bin`), bytes, which calamine loads whole before any sheet. Default 64 MiB.
    pub max_shared_strings_bytes: u64,
    /// Workbooks: the number of entries in the zip. Default 10,000.
    pub max_zip_entries: usize,
    /// CSV: one record (a line, or several when a quoted cell holds line breaks), bytes of decoded
    /// UTF-8; workbooks: the cell text of one row. Default 64 KiB.
    pub max_line_bytes: usize,
    /// One cell's text, bytes of UTF-8 (after trimming). Default 64 KiB.
    pub max_cell_bytes: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_rows: 1_048_576,
            max_columns: 512,
            max_unpacked_bytes: 512 * 1024 * 1024,
            max_shared_strings_bytes: 64 * 1024 * 1024,
            max_zip_entries: 10_000,
            max_line_bytes: 64 * 1024,
            max_cell_bytes: 64 * 1024,
        }
    }
}

/// A cell value as quoted in a [`RowError`]: at most [`MAX_QUOTED_CHARS`] characters; a longer
/// value is cut and ends with `…（全N文字）` giving its length in characters.
pub fn quote_value(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTED_CHARS) {
        None => value.to_string(),
        Some((cut, _)) => format!("{}…（全{}文字）", &value[..cut], value.chars().count()),
    }
}

/// A byte count for messages: `512 MiB`, `64 KiB`, `1,234 バイト`.
fn size_text(bytes: &u64) -> String {
    let bytes = *bytes;
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        let digits = bytes.to_string();
        let mut out = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(ch);
        }
        format!("{out} バイト")
    }
}

/// The column letters of a 0-based column index: 0 → `A`, 25 → `Z`, 26 → `AA`, 16383 → `XFD`.
fn column_letters(col: u32) -> String {
    let mut n = u64::from(col) + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        out.push(char::from(b'A' + rem));
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

/// One problem at one place of a file.
///
/// `Display` is exactly `{file}:{row}:{column}: {value} — {expected}`, e.g.
/// `devices.csv:3:シリアル番号:  — シリアル番号（必須）`. `row` is the 1-based line number in the file,
/// counting the header as row 1 (for a workbook, the sheet row number); `column` is the header label
/// as written in the file; `value` the cell text as read (trimmed; a value longer than
/// [`MAX_QUOTED_CHARS`] characters is cut by [`quote_value`]); `expected` says in Japanese what the
/// cell should hold.
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
    /// The extension is not one gigaops reads. `.xls` and `.ods` are refused too: their readers
    /// build a whole sheet in memory, so their size cannot be bounded.
    #[error("{file}: 読み込めない形式です（.csv, .txt, .xlsx, .xlsm, .xlsb のいずれかにしてください。.xls・.ods は Excel で .xlsx 形式に保存し直してください）")]
    UnsupportedFormat { file: String },
    /// A workbook sheet uses a cell beyond [`ReadLimits::max_rows`] × [`ReadLimits::max_columns`]:
    /// `cell` is its A1 reference (e.g. `XFD1048576`), from the sheet's stated used range or from
    /// the first cell found outside.
    #[error("{file}: シートの使用範囲が大きすぎます（セル {cell}。読み込めるのは {max_rows} 行 × {max_columns} 列（{last_column} 列）までです。不要な行・列を削除して保存し直してください）")]
    RangeTooLarge { file: String, cell: String, max_rows: u32, max_columns: u32, last_column: String },
    /// A workbook unpacks to more than [`ReadLimits::max_unpacked_bytes`] (`bytes` is the size
    /// stated or reached so far), or one sheet yields more cell text than that.
    #[error("{file}: 展開後の大きさが上限を超えています（{}、上限 {}）", size_text(.bytes), size_text(.limit))]
    UnpackedTooLarge { file: String, bytes: u64, limit: u64 },
    /// The shared-strings part of a workbook is larger than [`ReadLimits::max_shared_strings_bytes`].
    #[error("{file}: 共有文字列（{part}）が大きすぎます（{}、上限 {}）", size_text(.bytes), size_text(.limit))]
    SharedStringsTooLarge { file: String, part: String, bytes: u64, limit: u64 },
    /// A workbook zip has more entries than [`ReadLimits::max_zip_entries`].
    #[error("{file}: Excel ファイルの部品が多すぎます（{count} 個、上限 {limit} 個）")]
    TooManyParts { file: String, count: usize, limit: usize },
    /// Two headers name the same field: the same label twice, or two labels that are aliases of
    /// one field (e.g. `serial_number` and `シリアル番号`). `first` and `second` are the labels as
    /// written, in file order, with their column numbers (`シリアル番号（2列目）`).
    #[error("{file}:1: 列「{first}」と列「{second}」が同じ項目を表しています（見出しの重複です。どちらか一方の列だけにしてください）")]
    DuplicateColumn { file: String, first: String, second: String },
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

    /// The data rows, in file order. An `Err` is a row that could not be read: a read error in the
    /// middle of a CSV file or a CSV record too long to hold (both end the stream); a cell that did
    /// not decode in the detected encoding; a cell, row or line over its [`ReadLimits`]; or, with
    /// row 0 and no column, a problem with the whole workbook found while streaming its sheet (a
    /// cell beyond the allowed range, damaged XML), which ends the stream. Each row is yielded
    /// once: a second call continues where the first stopped.
    pub fn rows(&mut self) -> impl Iterator<Item = Result<RawRow, RowError>> + '_ {
        self.rows.by_ref()
    }

    /// Index of the first header matching any of `aliases`, compared through [`normalize_header`]
    /// (so `Serial number`, `serialNumber`, `SERIAL_NUMBER` and `ｓｅｒｉａｌ　ｎｕｍｂｅｒ` are equal).
    /// Readers resolve their fields with [`Table::column_checked`], which refuses two matches.
    pub fn column(&self, aliases: &[&str]) -> Option<usize> {
        let wanted: Vec<String> = aliases.iter().map(|a| normalize_header(a)).collect();
        self.headers.iter().position(|h| {
            let h = normalize_header(h);
            !h.is_empty() && wanted.contains(&h)
        })
    }

    /// Like [`Table::column`], but two headers matching `aliases` (the same label twice, or two
    /// aliases of one field) are [`FileError::DuplicateColumn`] naming both, instead of the first
    /// silently winning. Every reader resolves its fields through this.
    pub fn column_checked(&self, aliases: &[&str]) -> Result<Option<usize>, FileError> {
        let wanted: Vec<String> = aliases.iter().map(|a| normalize_header(a)).collect();
        let mut found = self.headers.iter().enumerate().filter(|(_, h)| {
            let h = normalize_header(h);
            !h.is_empty() && wanted.contains(&h)
        });
        let first = found.next();
        match (first, found.next()) {
            (Some((i, _)), Some((j, _))) => Err(self.duplicate_column(i, j)),
            (first, _) => Ok(first.map(|(i, _)| i)),
        }
    }

    /// The [`FileError::DuplicateColumn`] for header indices `first` < `second`.
    pub(crate) fn duplicate_column(&self, first: usize, second: usize) -> FileError {
        let label = |i: usize| format!("{}（{}列目）", self.headers.get(i).map_or("", String::as_str), i + 1);
        FileError::DuplicateColumn { file: self.file.clone(), first: label(first), second: label(second) }
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
///
/// Reads within [`ReadLimits::default`]; see [`open_table_with`].
pub fn open_table(path: &Path, sheet: Option<&str>) -> Result<Table, FileError> {
    open_table_with(path, sheet, &ReadLimits::default())
}

/// [`open_table`] within the given limits.
///
/// A workbook (`.xlsx`, `.xlsm`, `.xlsb`; `.xls` and `.ods` give [`FileError::UnsupportedFormat`])
/// is checked before it is parsed: at most [`ReadLimits::max_zip_entries`] zip entries
/// ([`FileError::TooManyParts`]), their uncompressed sizes summed at most
/// [`ReadLimits::max_unpacked_bytes`] as stated and as actually decompressed
/// ([`FileError::UnpackedTooLarge`]; a stated size smaller than the real one is
/// [`FileError::Unreadable`]), the shared strings at most [`ReadLimits::max_shared_strings_bytes`]
/// ([`FileError::SharedStringsTooLarge`]). The sheet is then streamed cell by cell: a stated used
/// range, or a cell found, beyond [`ReadLimits::max_rows`] × [`ReadLimits::max_columns`] is
/// [`FileError::RangeTooLarge`] (found after the first data row: a [`RowError`] of row 0 carrying
/// that message, ending the rows).
///
/// A CSV record longer than [`ReadLimits::max_line_bytes`] is a [`RowError`] with the column
/// `（行全体）` (the last item when the reader had to stop inside the record); a cell longer than
/// [`ReadLimits::max_cell_bytes`], or a row with more than [`ReadLimits::max_columns`] cells, is a
/// [`RowError`] for that row, and reading goes on (workbook rows alike, with their cell text
/// summed against `max_line_bytes`). Values quoted in these errors are cut by [`quote_value`].
pub fn open_table_with(path: &Path, sheet: Option<&str>, limits: &ReadLimits) -> Result<Table, FileError> {
    let file = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let mut table = match ext.as_str() {
        "csv" | "txt" => open_csv(path, file, limits)?,
        "xlsx" | "xlsm" => open_workbook(path, file, sheet, BookKind::Xlsx, limits)?,
        "xlsb" => open_workbook(path, file, sheet, BookKind::Xlsb, limits)?,
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

/// The first characters that make a spreadsheet read a CSV cell as a formula (OWASP "CSV
/// injection"): `=`, `+`, `-`, `@`, TAB and CR. Our CSV writer (`report::render`) prefixes a text
/// cell starting with one of them with [`FORMULA_GUARD`]; the CSV reader takes that prefix off again.
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The prefix that makes Excel show a cell as text (`'`; Excel does not keep it in the value).
pub const FORMULA_GUARD: char = '\'';

/// A CSV cell's text without the [`FORMULA_GUARD`] our exports put before a [`FORMULA_STARTS`]
/// character (`'=1+2` → `=1+2`, `'-` → `-`), so an exported file imports as the values it was
/// made from. Any other text is returned unchanged (`'abc` stays `'abc`).
pub fn strip_formula_guard(s: &str) -> &str {
    match s.strip_prefix(FORMULA_GUARD) {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => s,
    }
}

/// A CSV cell: [`clean_cell`], then [`strip_formula_guard`].
fn csv_cell(s: &str) -> String {
    let clean = clean_cell(s);
    match strip_formula_guard(&clean) {
        unguarded if unguarded.len() < clean.len() => unguarded.to_string(),
        _ => clean,
    }
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

fn open_csv(path: &Path, file: String, limits: &ReadLimits) -> Result<Table, FileError> {
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
    drop(head);
    f.seek(SeekFrom::Start(0)).map_err(io_err)?;
    let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new().encoding(Some(encoding)).strip_bom(true).build(f);
    let lines = LineStarts::default();
    let pending = Arc::new(AtomicU64::new(0));
    let max_line = limits.max_line_bytes as u64;
    let marked = LineMarks {
        inner: decoded,
        offset: 0,
        line: 1,
        at_line_start: true,
        prev_cr: false,
        starts: lines.clone(),
        pending: pending.clone(),
        max_pending: max_line,
    };
    let mut records = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(CSV_BUFFER)
        .from_reader(marked)
        .into_records();
    let too_long = format!(
        "{} 以内の行（この行は長すぎるため読み取りをやめました。1つのセルに大量の文字や改行が入っていないか確かめてください）",
        size_text(&max_line)
    );

    let headers = loop {
        match records.next() {
            None => return Err(FileError::Empty { file }),
            Some(Err(e)) => {
                let reason = if pending.load(Ordering::Relaxed) > max_line {
                    format!("見出し行が長すぎます（{} まで）", size_text(&max_line))
                } else {
                    e.to_string()
                };
                return Err(io_err(io::Error::other(reason)));
            }
            Some(Ok(rec)) => {
                pending.store(0, Ordering::Relaxed);
                if rec.as_slice().len() > limits.max_line_bytes {
                    let reason = format!("見出し行が長すぎます（{} まで）", size_text(&max_line));
                    return Err(io_err(io::Error::other(reason)));
                }
                let row = rec.position().map_or(1, |p| lines.line_at(p.byte()).unwrap_or(p.line() as usize));
                if rec.len() > limits.max_columns as usize {
                    return Err(FileError::RangeTooLarge {
                        file,
                        cell: format!("{}{row}", column_letters(limits.max_columns)),
                        max_rows: limits.max_rows,
                        max_columns: limits.max_columns,
                        last_column: column_letters(limits.max_columns - 1),
                    });
                }
                let cells: Vec<String> = rec.iter().map(csv_cell).collect();
                if !is_blank(&cells) {
                    break cells;
                }
            }
        }
    };

    let (name, labels, limits) = (file.clone(), headers.clone(), limits.clone());
    let column_label = move |i: usize| match labels.get(i) {
        Some(h) if !h.is_empty() => h.clone(),
        _ => format!("{}列目", i + 1),
    };
    let mut done = false;
    let mut last_row = 1;
    let iter = std::iter::from_fn(move || loop {
        if done {
            return None;
        }
        let error = |row, column: String, value: &str, expected: String| RowError {
            file: name.clone(),
            row,
            column,
            value: quote_value(value),
            expected,
        };
        match records.next()? {
            Ok(rec) => {
                pending.store(0, Ordering::Relaxed);
                let row = rec.position().map_or(0, |p| lines.line_at(p.byte()).unwrap_or(p.line() as usize));
                last_row = row;
                if rec.as_slice().len() > limits.max_line_bytes {
                    return Some(Err(error(row, "（行全体）".into(), "", too_long.clone())));
                }
                if rec.len() > limits.max_columns as usize {
                    let max = limits.max_columns as usize;
                    return Some(Err(error(
                        row,
                        column_label(max),
                        &rec[max],
                        format!("{max} 列以内の行（この行は {} 列あります）", rec.len()),
                    )));
                }
                let cells: Vec<String> = rec.iter().map(csv_cell).collect();
                if is_blank(&cells) {
                    continue;
                }
                if let Some(i) = cells.iter().position(|c| c.len() > limits.max_cell_bytes) {
                    return Some(Err(error(
                        row,
                        column_label(i),
                        &cells[i],
                        format!(
                            "{} 以内のセル（このセルは {} あります）",
                            size_text(&(limits.max_cell_bytes as u64)),
                            size_text(&(cells[i].len() as u64))
                        ),
                    )));
                }
                // The decoder replaces bytes that are not valid in the detected encoding by U+FFFD.
                if let Some(i) = cells.iter().position(|c| c.contains('\u{fffd}')) {
                    return Some(Err(error(
                        row,
                        column_label(i),
                        &cells[i],
                        format!(
                            "{} として読める文字（ファイルの途中で文字コードが変わっています）",
                            if encoding == UTF_8 { "UTF-8" } else { "Shift_JIS(CP932)" }
                        ),
                    )));
                }
                return Some(Ok(RawRow { row, cells }));
            }
            Err(e) => {
                done = true;
                if pending.load(Ordering::Relaxed) > max_line {
                    // the record that started after the last one read
                    let row = lines.first_after(last_row).unwrap_or(last_row + 1);
                    return Some(Err(error(row, "（行全体）".into(), "", too_long.clone())));
                }
                return Some(Err(error(
                    e.position().map_or(0, |p| p.line() as usize),
                    String::new(),
                    "",
                    format!("CSV として読み取れる行（{e}）"),
                )));
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

    /// The first non-empty line after line `line` that was seen.
    fn first_after(&self, line: usize) -> Option<usize> {
        let starts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        starts.iter().map(|&(_, l)| l).find(|&l| l > line)
    }
}

/// A pass-through reader over the decoded (UTF-8) text that notes where each non-empty line
/// starts (CR, LF and CRLF each end a line), and counts the bytes passed since the row iterator
/// last took a record (`pending`): past `max_pending` it fails, so one endless record never fills
/// memory (the csv reader holds a record whole).
struct LineMarks<R> {
    inner: R,
    offset: u64,
    line: usize,
    at_line_start: bool,
    prev_cr: bool,
    starts: LineStarts,
    pending: Arc<AtomicU64>,
    max_pending: u64,
}

impl<R: Read> Read for LineMarks<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.load(Ordering::Relaxed) > self.max_pending {
            return Err(io::Error::other("line too long"));
        }
        let n = self.inner.read(buf)?;
        self.pending.fetch_add(n as u64, Ordering::Relaxed);
        let mut starts = self.starts.0.lock().unwrap_or_else(|e| e.into_inner());
        for &b in &buf[..n] {
            match b {
                b'\r' => self.line += 1,
                b'\n' if self.prev_cr => {}
                b'\n' => self.line += 1,
                // a long run of quoted line breaks: the queue stays bounded like the record
                _ if self.at_line_start && starts.len() < 1 << 16 => starts.push_back((self.offset, self.line)),
                _ => {}
            }
            self.at_line_start = matches!(b, b'\r' | b'\n');
            self.prev_cr = b == b'\r';
            self.offset += 1;
        }
        Ok(n)
    }
}

/// The workbook formats read by streaming.
#[derive(Debug, Clone, Copy)]
enum BookKind {
    Xlsx,
    Xlsb,
}

/// What the sheet-reading thread sends, in this order: `Start` (or `Fatal`), then rows.
enum SheetMsg {
    /// The book's sheets in book order and the one being read.
    Start {
        sheets: Vec<String>,
        name: String,
    },
    Row(RawRow),
    Bad(RowError),
    Fatal(FileError),
}

/// Rows waiting between the sheet-reading thread and the reader (each at most
/// [`ReadLimits::max_line_bytes`] of text).
const SHEET_CHANNEL_ROWS: usize = 64;

fn open_workbook(
    path: &Path,
    file: String,
    sheet: Option<&str>,
    kind: BookKind,
    limits: &ReadLimits,
) -> Result<Table, FileError> {
    check_zip(path, &file, limits)?;
    let (tx, rx) = sync_channel::<SheetMsg>(SHEET_CHANNEL_ROWS);
    let (p, book, wanted, lim) = (path.to_path_buf(), file.clone(), sheet.map(str::to_string), limits.clone());
    std::thread::Builder::new()
        .name("gigaops-sheet".into())
        .spawn(move || read_sheet_thread(p, book, wanted, kind, lim, tx))
        .map_err(|source| FileError::Io { file: file.clone(), source })?;

    let (sheets, name) = match rx.recv() {
        Ok(SheetMsg::Start { sheets, name }) => (sheets, name),
        Ok(SheetMsg::Fatal(e)) => return Err(e),
        _ => return Err(FileError::Unreadable { file, reason: "シートを読み取れません".into() }),
    };
    let file = format!("{file}[{name}]");
    let headers = match rx.recv() {
        Ok(SheetMsg::Row(r)) => r.cells,
        Ok(SheetMsg::Fatal(e)) => return Err(e),
        Ok(SheetMsg::Bad(e)) => return Err(FileError::Unreadable { file, reason: format!("見出し行: {e}") }),
        Ok(SheetMsg::Start { .. }) | Err(_) => return Err(FileError::Empty { file }),
    };
    // a limit found right after the header is still an error about the whole file
    let mut first = match rx.recv() {
        Ok(SheetMsg::Fatal(e)) => return Err(e),
        Ok(msg) => Some(msg),
        Err(_) => None,
    };
    let name_in_rows = file.clone();
    let mut ended = first.is_none();
    let iter = std::iter::from_fn(move || {
        if ended {
            return None;
        }
        let msg = match first.take() {
            Some(m) => m,
            None => match rx.recv() {
                Ok(m) => m,
                Err(_) => {
                    ended = true;
                    return None;
                }
            },
        };
        match msg {
            SheetMsg::Row(r) => Some(Ok(r)),
            SheetMsg::Bad(e) => Some(Err(e)),
            SheetMsg::Fatal(e) => {
                ended = true;
                Some(Err(whole_file_error(&name_in_rows, &e)))
            }
            SheetMsg::Start { .. } => {
                ended = true;
                None
            }
        }
    });
    Ok(Table {
        file,
        headers,
        encoding: "Excel ブック",
        sheets,
        sheet: Some(name),
        rows: (Box::new(iter) as RowIter).peekable(),
    })
}

/// A [`FileError`] found while rows are already being read, as a [`RowError`] of row 0 without
/// a column (displayed `file: message`).
fn whole_file_error(file: &str, e: &FileError) -> RowError {
    let text = e.to_string();
    let expected = text.strip_prefix(&format!("{file}: ")).map_or(text.clone(), str::to_string);
    RowError { file: file.to_string(), row: 0, column: String::new(), value: String::new(), expected }
}

/// Checks a workbook's zip before calamine parses it: the number of entries, their stated
/// uncompressed sizes (the shared strings alone and all together), then their real sizes,
/// decompressing each entry into nothing with reads capped at its stated size plus one byte.
fn check_zip(path: &Path, file: &str, limits: &ReadLimits) -> Result<(), FileError> {
    let unreadable = |e: &dyn fmt::Display| FileError::Unreadable { file: file.to_string(), reason: e.to_string() };
    let f = File::open(path).map_err(|source| FileError::Io { file: file.to_string(), source })?;
    let mut zip = zip::ZipArchive::new(BufReader::new(f)).map_err(|e| unreadable(&e))?;
    if zip.len() > limits.max_zip_entries {
        return Err(FileError::TooManyParts {
            file: file.to_string(),
            count: zip.len(),
            limit: limits.max_zip_entries,
        });
    }
    let too_large =
        |bytes| FileError::UnpackedTooLarge { file: file.to_string(), bytes, limit: limits.max_unpacked_bytes };
    let shared_strings = |name: &str| {
        let name = name.to_ascii_lowercase();
        name.ends_with("sharedstrings.xml") || name.ends_with("sharedstrings.bin")
    };
    let check_shared = |name: &str, bytes: u64| {
        if shared_strings(name) && bytes > limits.max_shared_strings_bytes {
            return Err(FileError::SharedStringsTooLarge {
                file: file.to_string(),
                part: name.to_string(),
                bytes,
                limit: limits.max_shared_strings_bytes,
            });
        }
        Ok(())
    };
    let mut stated: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| unreadable(&e))?;
        check_shared(entry.name(), entry.size())?;
        stated = stated.saturating_add(entry.size());
        if stated > limits.max_unpacked_bytes {
            return Err(too_large(stated));
        }
    }
    let mut actual: u64 = 0;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| unreadable(&e))?;
        if entry.is_dir() {
            continue;
        }
        let (name, size) = (entry.name().to_string(), entry.size());
        let n = io::copy(&mut (&mut entry).take(size.saturating_add(1)), &mut io::sink())
            .map_err(|e| unreadable(&format!("{name}: {e}")))?;
        if n > size {
            return Err(unreadable(&format!("{name}: 展開した大きさが ZIP の記載より大きくなっています")));
        }
        actual = actual.saturating_add(n);
        if actual > limits.max_unpacked_bytes {
            return Err(too_large(actual));
        }
    }
    Ok(())
}

/// The body of the sheet-reading thread: streams the sheet into `tx`; any error (and a panic
/// inside calamine, which parses untrusted bytes) is sent as [`SheetMsg::Fatal`].
fn read_sheet_thread(
    path: PathBuf,
    book: String,
    sheet: Option<String>,
    kind: BookKind,
    limits: ReadLimits,
    tx: SyncSender<SheetMsg>,
) {
    let mut shown = book.clone();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        stream_sheet(&path, &book, &mut shown, sheet.as_deref(), kind, &limits, &tx)
    }));
    let error = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(e)) => e,
        Err(_) => FileError::Unreadable { file: shown, reason: "ファイルの構造が壊れています".into() },
    };
    let _ = tx.send(SheetMsg::Fatal(error));
}

fn stream_sheet(
    path: &Path,
    book: &str,
    shown: &mut String,
    sheet: Option<&str>,
    kind: BookKind,
    limits: &ReadLimits,
    tx: &SyncSender<SheetMsg>,
) -> Result<(), FileError> {
    use calamine::Reader;
    let unreadable =
        |file: &str, e: &dyn fmt::Display| FileError::Unreadable { file: file.to_string(), reason: e.to_string() };
    let reader = BufReader::new(File::open(path).map_err(|source| FileError::Io { file: book.to_string(), source })?);
    let choose = |names: Vec<String>| -> Result<String, FileError> {
        let name = match sheet {
            Some(s) => names.iter().find(|n| n.as_str() == s || n.trim() == s.trim()).cloned().ok_or_else(|| {
                FileError::MissingSheet { file: book.to_string(), sheet: s.to_string(), available: names.clone() }
            })?,
            None => names.first().cloned().ok_or_else(|| FileError::Empty { file: book.to_string() })?,
        };
        // the receiver may be gone already; the row sends notice that
        let _ = tx.send(SheetMsg::Start { sheets: names, name: name.clone() });
        Ok(name)
    };
    match kind {
        BookKind::Xlsx => {
            let mut wb: calamine::Xlsx<_> = Reader::new(reader).map_err(|e| unreadable(book, &e))?;
            let name = choose(wb.sheet_names())?;
            *shown = format!("{book}[{name}]");
            let mut cells = wb.worksheet_cells_reader(&name).map_err(|e| unreadable(shown, &e))?;
            let mut rows = SheetRows::new(shown.clone(), limits, tx, cells.dimensions())?;
            while let Some(cell) = cells.next_cell().map_err(|e| unreadable(shown, &e))? {
                if !rows.push(cell.get_position(), cell.get_value())? {
                    return Ok(());
                }
            }
            rows.finish();
        }
        BookKind::Xlsb => {
            let mut wb: calamine::Xlsb<_> = Reader::new(reader).map_err(|e| unreadable(book, &e))?;
            let name = choose(wb.sheet_names())?;
            *shown = format!("{book}[{name}]");
            let mut cells = wb.worksheet_cells_reader(&name).map_err(|e| unreadable(shown, &e))?;
            let mut rows = SheetRows::new(shown.clone(), limits, tx, cells.dimensions())?;
            while let Some(cell) = cells.next_cell().map_err(|e| unreadable(shown, &e))? {
                if !rows.push(cell.get_position(), cell.get_value())? {
                    return Ok(());
                }
            }
            rows.finish();
        }
    }
    Ok(())
}

/// Builds sparse rows from a sheet's cells (in sheet order) and sends the non-blank ones. Column
/// indices start at the first column of the sheet's stated used range (so a table at `B3` has
/// its first header at index 0); data rows are padded to the header's width.
struct SheetRows<'a> {
    file: String,
    limits: &'a ReadLimits,
    tx: &'a SyncSender<SheetMsg>,
    first_column: u32,
    row: Option<u32>,
    cells: Vec<String>,
    row_bytes: usize,
    bad: Option<RowError>,
    total_bytes: u64,
    headers: Option<Vec<String>>,
}

impl<'a> SheetRows<'a> {
    /// Checks the stated used range against the limits.
    fn new(
        file: String,
        limits: &'a ReadLimits,
        tx: &'a SyncSender<SheetMsg>,
        stated: calamine::Dimensions,
    ) -> Result<Self, FileError> {
        let rows = SheetRows {
            file,
            limits,
            tx,
            first_column: if stated.start <= stated.end { stated.start.1 } else { 0 },
            row: None,
            cells: Vec::new(),
            row_bytes: 0,
            bad: None,
            total_bytes: 0,
            headers: None,
        };
        rows.check_position(stated.end)?;
        Ok(rows)
    }

    fn check_position(&self, (row, col): (u32, u32)) -> Result<(), FileError> {
        if row >= self.limits.max_rows || col >= self.limits.max_columns {
            return Err(FileError::RangeTooLarge {
                file: self.file.clone(),
                cell: format!("{}{}", column_letters(col), u64::from(row) + 1),
                max_rows: self.limits.max_rows,
                max_columns: self.limits.max_columns,
                last_column: column_letters(self.limits.max_columns.saturating_sub(1)),
            });
        }
        Ok(())
    }

    fn label(&self, index: usize) -> String {
        match self.headers.as_ref().and_then(|h| h.get(index)) {
            Some(h) if !h.is_empty() => h.clone(),
            _ => format!("{}列目", index + 1),
        }
    }

    /// Adds one cell; `Ok(false)` when the reader is gone (stop reading).
    fn push(&mut self, position: (u32, u32), value: &calamine::DataRef<'_>) -> Result<bool, FileError> {
        use calamine::DataRef;
        if matches!(value, DataRef::Empty) {
            return Ok(true);
        }
        let (row, col) = position;
        if self.row != Some(row) {
            if !self.flush() {
                return Ok(false);
            }
            self.row = Some(row);
        }
        self.check_position(position)?;
        if self.bad.is_some() {
            return Ok(true);
        }
        let Some(index) = col.checked_sub(self.first_column).map(|i| i as usize) else {
            return Err(FileError::Unreadable {
                file: self.file.clone(),
                reason: format!(
                    "セル {}{} がシートの使用範囲の記載（dimension）より左にあります",
                    column_letters(col),
                    u64::from(row) + 1
                ),
            });
        };
        let raw_len = match value {
            DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.len(),
            DataRef::SharedString(s) => s.len(),
            _ => 0,
        };
        let max_cell = self.limits.max_cell_bytes;
        if raw_len > max_cell {
            let text = match value {
                DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.as_str(),
                DataRef::SharedString(s) => s,
                _ => "",
            };
            self.bad = Some(self.row_error(
                index,
                quote_value(text.trim()),
                format!(
                    "{} 以内のセル（このセルは {} あります）",
                    size_text(&(max_cell as u64)),
                    size_text(&(raw_len as u64))
                ),
            ));
            return Ok(true);
        }
        let text = workbook_cell_text(&calamine::Data::from(value.clone()));
        self.total_bytes += text.len() as u64;
        if self.total_bytes > self.limits.max_unpacked_bytes {
            return Err(FileError::UnpackedTooLarge {
                file: self.file.clone(),
                bytes: self.total_bytes,
                limit: self.limits.max_unpacked_bytes,
            });
        }
        self.row_bytes += text.len();
        if self.row_bytes > self.limits.max_line_bytes {
            self.bad = Some(RowError {
                file: self.file.clone(),
                row: row as usize + 1,
                column: "（行全体）".into(),
                value: String::new(),
                expected: format!("セルの文字が合わせて {} 以内の行", size_text(&(self.limits.max_line_bytes as u64))),
            });
            return Ok(true);
        }
        if index >= self.cells.len() {
            // index < max_columns: bounded
            self.cells.resize(index + 1, String::new());
        }
        self.cells[index] = text;
        Ok(true)
    }

    fn row_error(&self, index: usize, value: String, expected: String) -> RowError {
        RowError {
            file: self.file.clone(),
            row: self.row.map_or(0, |r| r as usize + 1),
            column: self.label(index),
            value,
            expected,
        }
    }

    /// Sends the row being built (unless blank); `false` when the reader is gone.
    fn flush(&mut self) -> bool {
        let Some(row) = self.row.take() else {
            return true;
        };
        self.row_bytes = 0;
        let mut cells = std::mem::take(&mut self.cells);
        let msg = match self.bad.take() {
            Some(e) => SheetMsg::Bad(e),
            None if is_blank(&cells) => return true,
            None => {
                match &self.headers {
                    Some(h) if cells.len() < h.len() => cells.resize(h.len(), String::new()),
                    Some(_) => {}
                    None => self.headers = Some(cells.clone()),
                }
                SheetMsg::Row(RawRow { row: row as usize + 1, cells })
            }
        };
        self.tx.send(msg).is_ok()
    }

    fn finish(mut self) {
        self.flush();
    }
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
