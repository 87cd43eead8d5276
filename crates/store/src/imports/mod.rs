//! Imports: the one pipeline every file goes through ([`pipeline::run`]), the ending every kind's
//! store function shares ([`finish`]: dry run or commit, one `import_run` row), the web upload's
//! job state ([`jobs`]) and the error lines of a report ([`ErrorLine`]).
//!
//! The pipeline's steps, for every kind: open the file (CSV or workbook; encoding detected) → map
//! the headers → read and check every row with the kind's reader → the kind's store function
//! compares with the database and writes in one transaction → [`finish`] rolls back (dry run /
//! preview) or records the `import_run` row and commits. With any bad row nothing is written.
//! Re-importing the same file changes nothing.

pub mod jobs;
pub mod pipeline;

pub use pipeline::{run, ImportOptions, ImportRequest, Preview, Progress};

use crate::bulk::{BulkTx, Errors, V};
use crate::Result;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement};

/// What an import did (or, with `dry_run`, would do). Counts are rows of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportOutcome {
    /// The kind, e.g. `devices` (`gigaops_ingest::ImportKind::as_str`).
    pub kind: String,
    pub file_name: String,
    pub rows: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    /// Non-fatal findings (e.g. a check-digit mismatch), as `file:row:column: value — note`.
    pub warnings: Vec<String>,
    /// Nothing was written: the counts say what would change.
    pub dry_run: bool,
}

impl ImportOutcome {
    /// An empty outcome of `kind` for the file of `src` (counts zero).
    pub fn new(kind: &str, src: &ImportSource) -> Self {
        ImportOutcome {
            kind: kind.into(),
            file_name: src.file_name.clone(),
            dry_run: src.dry_run,
            ..Default::default()
        }
    }

    /// One Japanese line: `devices.csv: 25704 行（新規 25704・更新 0・変更なし 0）`.
    pub fn summary_ja(&self) -> String {
        format!(
            "{}: {} 行（新規 {}・更新 {}・変更なし {}）{}",
            self.file_name,
            self.rows,
            self.inserted,
            self.updated,
            self.unchanged,
            if self.dry_run { " ※ 確認のみのため書き込んでいません" } else { "" }
        )
    }
}

/// Who imports which file: built once by [`pipeline::run`] and passed to every kind's store function.
#[derive(Debug, Clone)]
pub struct ImportSource {
    /// File name as shown in messages (no directories).
    pub file_name: String,
    /// SHA-256 of the file, lower-case hex.
    pub file_sha256: String,
    /// E-mail of the user, or `cli`.
    pub imported_by: Option<String>,
    /// Validate and count, write nothing.
    pub dry_run: bool,
    /// The web upload's job (`import_run.id`): a commit completes that row instead of adding one.
    pub run_id: Option<i64>,
}

/// The open transaction of an import, on whichever path the kind writes through: SeaORM for the
/// small kinds, [`BulkTx`] for the big ones.
pub(crate) enum ImportTx {
    Orm(DatabaseTransaction),
    Bulk(BulkTx),
}

impl From<DatabaseTransaction> for ImportTx {
    fn from(t: DatabaseTransaction) -> Self {
        ImportTx::Orm(t)
    }
}

impl From<BulkTx> for ImportTx {
    fn from(t: BulkTx) -> Self {
        ImportTx::Bulk(t)
    }
}

impl ImportTx {
    async fn exec(&mut self, sql: &str, vals: Vec<V>) -> Result<()> {
        match self {
            ImportTx::Bulk(tx) => {
                tx.exec(sql, &vals).await?;
            }
            ImportTx::Orm(tx) => {
                let backend = tx.get_database_backend();
                let sql = if backend == DbBackend::Sqlite { sql.replace('$', "?") } else { sql.to_string() };
                let values: Vec<sea_orm::Value> = vals.into_iter().map(V::into_value).collect();
                tx.execute(Statement::from_sql_and_values(backend, sql, values)).await?;
            }
        }
        Ok(())
    }

    async fn commit(self) -> Result<()> {
        match self {
            ImportTx::Bulk(tx) => tx.commit().await,
            ImportTx::Orm(tx) => Ok(tx.commit().await?),
        }
    }

    async fn rollback(self) -> Result<()> {
        match self {
            ImportTx::Bulk(tx) => tx.rollback().await,
            ImportTx::Orm(tx) => Ok(tx.rollback().await?),
        }
    }
}

/// The one ending of every import: with `src.dry_run` rolls back and returns `out` (what would
/// change); else records the import in `import_run` — completing the job row `src.run_id` (a web
/// job, or the row [`jobs::claim`] registered), or adding a row when there is none — in the same
/// transaction, and commits.
///
/// Errors: [`StoreError::Db`] / [`StoreError::Sqlx`] when the database fails (nothing committed).
pub(crate) async fn finish(
    tx: impl Into<ImportTx>,
    municipality_id: i64,
    src: &ImportSource,
    out: ImportOutcome,
) -> Result<ImportOutcome> {
    let mut tx = tx.into();
    if src.dry_run {
        tx.rollback().await?;
        return Ok(out);
    }
    let counts = [V::I(out.rows), V::I(out.inserted), V::I(out.updated), V::I(out.unchanged)];
    match src.run_id {
        Some(id) => {
            let mut vals = vec![V::I(id), V::I(municipality_id)];
            vals.extend(counts);
            vals.extend([V::Now, V::T(Some(src.file_sha256.clone()))]);
            tx.exec(
                "UPDATE import_run SET rows = $3, inserted = $4, updated = $5, unchanged = $6, status = 'committed', \
                 phase = NULL, finished_at = $7, heartbeat_at = $7, file_sha256 = $8 WHERE id = $1 AND municipality_id = $2",
                vals,
            )
            .await?;
        }
        None => {
            let mut vals = vec![
                V::I(municipality_id),
                V::T(Some(out.kind.clone())),
                V::T(Some(src.file_name.clone())),
                V::T(Some(src.file_sha256.clone())),
                V::T(src.imported_by.clone()),
                V::Now,
            ];
            vals.extend(counts);
            tx.exec(
                "INSERT INTO import_run (municipality_id, kind, file_name, file_sha256, imported_by, imported_at, \
                 rows, inserted, updated, unchanged, status, finished_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'committed', $6)",
                vals,
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(out)
}

/// Rolls back an import that found bad rows and returns them as [`crate::StoreError::Rows`].
pub(crate) async fn abort<T>(tx: impl Into<ImportTx>, errors: Errors) -> Result<T> {
    tx.into().rollback().await?;
    Err(errors.into_error())
}

/// One line of an import's error report, taken apart: `file:row:column: value — expected`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ErrorLine {
    /// Row number in the file (header = 1); `None` for a problem with the whole file.
    pub row: Option<i64>,
    /// The column's header as written (empty for the whole file).
    pub column: String,
    /// The cell as read, at most 100 characters (longer values end in `…`).
    pub value: String,
    /// What was expected (Japanese).
    pub expected: String,
}

/// Most characters of a value kept in an error line.
pub const ERROR_VALUE_CHARS: usize = 100;

impl ErrorLine {
    /// Parses one error line of [`crate::StoreError::Rows`] (`file:row:column: value — expected`; a line
    /// without `:row:` is a problem with the whole file, all of it after `file: ` is `expected`).
    /// Never fails: a line of another shape becomes `expected` as a whole.
    pub fn parse(line: &str) -> ErrorLine {
        let whole = |expected: &str| ErrorLine {
            row: None,
            column: String::new(),
            value: String::new(),
            expected: expected.to_string(),
        };
        // the first `:digits:` ends the file name (a file name rarely holds one)
        let bytes = line.as_bytes();
        let mut found = None;
        for (i, b) in bytes.iter().enumerate() {
            if *b != b':' {
                continue;
            }
            let digits = bytes[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits > 0 && bytes.get(i + 1 + digits) == Some(&b':') {
                found = Some((i, i + 1 + digits));
                break;
            }
        }
        let Some((start, end)) = found else {
            return whole(line.split_once(": ").map_or(line, |(_, rest)| rest));
        };
        let row: i64 = line[start + 1..end].parse().unwrap_or(0);
        let rest = &line[end + 1..];
        let Some((column, rest)) = rest.split_once(": ") else {
            return ErrorLine { row: Some(row), ..whole(rest) };
        };
        let (value, expected) = rest.split_once(" — ").unwrap_or(("", rest));
        ErrorLine {
            row: (row > 0).then_some(row),
            column: column.to_string(),
            value: clip(value),
            expected: expected.to_string(),
        }
    }
}

/// `s` cut to [`ERROR_VALUE_CHARS`] characters, with `…` when cut.
pub fn clip(s: &str) -> String {
    match s.char_indices().nth(ERROR_VALUE_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines_are_taken_apart() {
        let e = ErrorLine::parse("devices.csv:3:シリアル番号: ab c — シリアル番号（必須）");
        assert_eq!(
            e,
            ErrorLine {
                row: Some(3),
                column: "シリアル番号".into(),
                value: "ab c".into(),
                expected: "シリアル番号（必須）".into()
            }
        );
        let w = ErrorLine::parse("book.xlsx[台帳]: データ行がありません");
        assert_eq!((w.row, w.column.as_str(), w.expected.as_str()), (None, "", "データ行がありません"));
        let long = "x".repeat(500);
        let c = ErrorLine::parse(&format!("a.csv:2:model: {long} — 機種"));
        assert_eq!(c.value.chars().count(), ERROR_VALUE_CHARS + 1);
        assert!(c.value.ends_with('…'));
        // a time in the file name part is not a row
        let t = ErrorLine::parse("log 10:30.csv:7:kind: x — 種別");
        assert_eq!(t.row, Some(7));
    }
}
