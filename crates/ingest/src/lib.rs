//! gigaops ingest: readers for outside files → domain records (schools, devices, incidents, movements,
//! plan, LTE lines and usage).
//! CSV/XLSX in UTF-8/BOM/CP932, vendor header aliases (EN/JA), every row error reported; no database.
//!
//! Every reader follows the one import pipeline: [`open_table`] detects the format and encoding; a reader's
//! `read` maps headers through its alias table (a missing required column is a [`FileError`] up
//! front) and yields one item per data row, either a record or *all* the [`RowError`]s of that
//! row, each displayed as `file:row:column: value — expected`. Rules about values (学校コード,
//! dates, statuses, kinds) come from `gigaops-domain`; nothing here panics on any input.

mod cell;
pub mod devices;
pub mod incidents;
pub mod kind;
pub mod movements;
pub mod plan;
pub mod schools;
pub mod table;
pub mod usage;

pub use kind::{ColumnUse, ImportKind, PreviewRow};
pub use table::{
    file_sha256, normalize_header, open_table, open_table_with, quote_value, read_ahead, sha256_hex,
    strip_formula_guard, FileError, RawRow, ReadLimits, RowError, Table, FORMULA_GUARD, FORMULA_STARTS,
    MAX_QUOTED_CHARS,
};

/// Splits a reader's items into the records and the flat list of every row error, in file order.
/// Collects the whole file: for streaming, consume the reader's iterator directly.
pub fn collect_rows<T>(rows: impl IntoIterator<Item = Result<T, Vec<RowError>>>) -> (Vec<T>, Vec<RowError>) {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for row in rows {
        match row {
            Ok(r) => records.push(r),
            Err(e) => errors.extend(e),
        }
    }
    (records, errors)
}
