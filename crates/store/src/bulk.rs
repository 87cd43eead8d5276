//! The backend-specific bulk path behind the big imports (devices, lines, usage): one sqlx
//! transaction, a staging table loaded with SQLite multi-row prepared inserts or PostgreSQL `COPY`, then set-based SQL.
//! Kept behind [`BulkTx`] so the rest of the code never asks which backend it is on.
//!
//! **Short write transactions on SQLite.** SQLite has one writer per database: while an import
//! holds the write lock, a web session write or an incident waits (up to the busy timeout). So an
//! import opened with [`BulkTx::begin_staging`] reads the file, checks it and fills its temp
//! (staging) tables in a *read* transaction — temp tables live in the connection's own temp
//! database, so loading them takes no lock on the main database — and takes the write lock only
//! at [`BulkTx::begin_writes`], for the set-based comparison with the register and the writes.
//! A dry run (a preview) never takes it. PostgreSQL (row locks, no database-wide writer) runs the
//! same calls in one transaction from start to end.

use crate::{Result, Store, StoreError};
use chrono::NaiveDate;
use gigaops_ingest::RowError;
use sea_orm::DbBackend;
use sqlx::Row;

/// Most error lines kept for one import; the rest are counted.
pub const MAX_ERRORS: usize = 10_000;

/// Collects the errors of an import, keeping the first [`MAX_ERRORS`].
#[derive(Default)]
pub(crate) struct Errors {
    pub lines: Vec<(usize, String)>,
    pub dropped: usize,
}

impl Errors {
    pub fn push(&mut self, row: usize, line: String) {
        if self.lines.len() < MAX_ERRORS {
            self.lines.push((row, line));
        } else {
            self.dropped += 1;
        }
    }
    pub fn push_row_error(&mut self, e: &RowError) {
        self.push(e.row, e.to_string());
    }
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
    pub fn into_error(mut self) -> StoreError {
        self.lines.sort_by_key(|(r, _)| *r);
        let mut v: Vec<String> = self.lines.into_iter().map(|(_, l)| l).collect();
        if self.dropped > 0 {
            v.push(format!("…ほか {} 件のエラー", self.dropped));
        }
        StoreError::Rows(v)
    }
}

/// A bound value.
#[derive(Debug, Clone)]
pub enum V {
    I(i64),
    /// A nullable integer.
    O(Option<i64>),
    T(Option<String>),
    /// A text shared by many rows (e.g. the month of a whole statement): cloning it copies no text.
    S(std::sync::Arc<str>),
    D(Option<NaiveDate>),
    Now,
}

impl V {
    /// The value for a SeaORM statement (the same SQL run on a SeaORM transaction).
    pub(crate) fn into_value(self) -> sea_orm::Value {
        match self {
            V::I(i) => i.into(),
            V::O(i) => i.into(),
            V::T(t) => t.into(),
            V::S(t) => t.to_string().into(),
            V::D(d) => d.into(),
            V::Now => chrono::Utc::now().into(),
        }
    }
}

/// A transaction on either backend. SQL is written with `$1` placeholders (PostgreSQL style);
/// for SQLite they become `?1`.
pub enum BulkTx {
    Sqlite(SqliteTx),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Where a [`SqliteTx`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqliteState {
    /// In a deferred transaction that only reads the main database (and writes temp tables).
    Reading,
    /// In a `BEGIN IMMEDIATE` transaction: holds the write lock.
    Writing,
    /// No transaction open.
    Ended,
}

/// A pooled SQLite connection and the transaction an import runs in, begun and ended by hand so
/// that one connection (and its temp tables) goes from a read transaction to a write transaction
/// ([`BulkTx::begin_writes`]). Dropped with a transaction open (an error on the way), the
/// connection is closed rather than returned to the pool, which rolls the transaction back.
pub struct SqliteTx {
    conn: sqlx::pool::PoolConnection<sqlx::Sqlite>,
    state: SqliteState,
    /// Temp tables made by [`BulkTx::temp_table`] and not dropped yet: dropped when the
    /// transaction ends (SQLite keeps them with the pooled connection otherwise).
    temps: Vec<String>,
}

impl SqliteTx {
    async fn open(store: &Store, begin: &str, state: SqliteState) -> Result<Self> {
        let conn = store.db.get_sqlite_connection_pool().acquire().await?;
        let mut tx = SqliteTx { conn, state: SqliteState::Ended, temps: Vec::new() };
        tx.run(begin).await?;
        tx.state = state;
        Ok(tx)
    }

    async fn run(&mut self, sql: &str) -> Result<()> {
        sqlx::query(sql).execute(&mut *self.conn).await?;
        Ok(())
    }

    /// Ends the transaction (`COMMIT` or `ROLLBACK`), then drops the temp tables left.
    async fn end(mut self, sql: &str) -> Result<()> {
        // on an error the state stays open: dropping `self` closes the connection
        self.run(sql).await?;
        self.state = SqliteState::Ended;
        for t in std::mem::take(&mut self.temps) {
            self.run(&format!("DROP TABLE IF EXISTS temp.{t}")).await?;
        }
        Ok(())
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if self.state != SqliteState::Ended {
            self.conn.close_on_drop();
        }
    }
}

fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

macro_rules! bind_all {
    ($q:expr, $vals:expr) => {{
        let mut q = $q;
        for v in $vals {
            q = match v {
                V::I(i) => q.bind(*i),
                V::O(i) => q.bind(*i),
                V::T(t) => q.bind(t.as_deref()),
                V::S(t) => q.bind(&**t),
                V::D(d) => q.bind(*d),
                V::Now => q.bind(chrono::Utc::now()),
            };
        }
        q
    }};
}

impl BulkTx {
    /// A transaction that writes from its start (on SQLite it holds the write lock throughout).
    ///
    /// Errors: the database's; [`StoreError::Busy`] when SQLite's write lock stays taken past the
    /// busy timeout.
    pub async fn begin(store: &Store) -> Result<Self> {
        Ok(match store.backend() {
            DbBackend::Postgres => BulkTx::Postgres(store.db.get_postgres_connection_pool().begin().await?),
            // IMMEDIATE: take the write lock at the start (waiting up to the busy timeout), so a
            // write committed by another connection between this transaction's first read and its
            // first write cannot fail it with SQLITE_BUSY
            DbBackend::Sqlite => BulkTx::Sqlite(SqliteTx::open(store, "BEGIN IMMEDIATE", SqliteState::Writing).await?),
            DbBackend::MySql => return Err(StoreError::Rule("MySQL には対応していません".into())),
        })
    }

    /// A transaction that first only reads the database and fills temp tables, and writes after
    /// [`BulkTx::begin_writes`]: on SQLite the write lock is taken only then (module docs).
    /// Nothing but temp tables may be written before that call.
    ///
    /// Errors: the database's.
    pub async fn begin_staging(store: &Store) -> Result<Self> {
        Ok(match store.backend() {
            DbBackend::Sqlite => BulkTx::Sqlite(SqliteTx::open(store, "BEGIN", SqliteState::Reading).await?),
            _ => Self::begin(store).await?,
        })
    }

    /// Starts the writing part of a transaction opened with [`BulkTx::begin_staging`]. On SQLite:
    /// ends the read transaction (the temp tables stay) and begins `BEGIN IMMEDIATE` on the same
    /// connection, waiting for the write lock up to the busy timeout; everything read from the
    /// main database before must be read again where it matters (another connection may have
    /// written in between). A no-op on PostgreSQL and on a transaction already writing.
    ///
    /// Errors: the database's; [`StoreError::Busy`] when the write lock stays taken past the busy
    /// timeout (the staged rows are dropped with the connection).
    pub async fn begin_writes(&mut self) -> Result<()> {
        if let BulkTx::Sqlite(tx) = self {
            if tx.state == SqliteState::Reading {
                tx.run("COMMIT").await?;
                tx.state = SqliteState::Ended;
                if let Err(e) = tx.run("BEGIN IMMEDIATE").await {
                    // not back to the pool with the staged rows in its temp tables
                    tx.conn.close_on_drop();
                    return Err(e);
                }
                tx.state = SqliteState::Writing;
            }
        }
        Ok(())
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, BulkTx::Postgres(_))
    }

    /// Creates the temp table `name (columns)`, replacing one left by an earlier import on this
    /// connection; dropped at commit on PostgreSQL, by [`BulkTx::drop_temp`] on SQLite.
    pub async fn temp_table(&mut self, name: &str, columns: &str) -> Result<()> {
        let on_commit = if self.is_postgres() { " ON COMMIT DROP" } else { "" };
        if let BulkTx::Sqlite(tx) = self {
            tx.run(&format!("DROP TABLE IF EXISTS temp.{name}")).await?;
            tx.temps.push(name.to_string());
        }
        self.exec(&format!("CREATE TEMP TABLE {name} ({columns}){on_commit}"), &[]).await?;
        Ok(())
    }

    /// Drops temp tables of [`BulkTx::temp_table`] before the transaction ends (SQLite: else they
    /// are dropped after it ends; PostgreSQL drops them at commit).
    pub async fn drop_temp(&mut self, names: &[&str]) -> Result<()> {
        if let BulkTx::Sqlite(tx) = self {
            for n in names {
                tx.run(&format!("DROP TABLE IF EXISTS temp.{n}")).await?;
                tx.temps.retain(|t| t != n);
            }
        }
        Ok(())
    }

    /// Executes a statement; returns rows affected.
    pub async fn exec(&mut self, sql: &str, vals: &[V]) -> Result<u64> {
        Ok(match self {
            BulkTx::Sqlite(tx) => {
                let s = sqlite_sql(sql);
                bind_all!(sqlx::query(&s), vals).execute(&mut *tx.conn).await?.rows_affected()
            }
            BulkTx::Postgres(tx) => bind_all!(sqlx::query(sql), vals).execute(&mut **tx).await?.rows_affected(),
        })
    }

    /// Runs a query whose columns are all text-convertible; returns each row as strings
    /// (NULL → empty). Used for error listings and counts.
    pub async fn rows(&mut self, sql: &str, vals: &[V]) -> Result<Vec<Vec<String>>> {
        fn cell<'r, R: Row>(r: &'r R, i: usize) -> String
        where
            usize: sqlx::ColumnIndex<R>,
            Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            Option<NaiveDate>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        {
            if let Ok(v) = r.try_get::<Option<i64>, _>(i) {
                return v.map(|x| x.to_string()).unwrap_or_default();
            }
            if let Ok(v) = r.try_get::<Option<NaiveDate>, _>(i) {
                return v.map(|x| x.to_string()).unwrap_or_default();
            }
            r.try_get::<Option<String>, _>(i).ok().flatten().unwrap_or_default()
        }
        Ok(match self {
            BulkTx::Sqlite(tx) => {
                let s = sqlite_sql(sql);
                let rows = bind_all!(sqlx::query(&s), vals).fetch_all(&mut *tx.conn).await?;
                rows.iter().map(|r| (0..r.len()).map(|i| cell(r, i)).collect()).collect()
            }
            BulkTx::Postgres(tx) => {
                let rows = bind_all!(sqlx::query(sql), vals).fetch_all(&mut **tx).await?;
                rows.iter().map(|r| (0..r.len()).map(|i| cell(r, i)).collect()).collect()
            }
        })
    }

    /// Streams the `(key, id, tag)` triples of `table` for one municipality to `f`, holding none
    /// of them: the lookups loaded for a big import (e.g. 9.5 million line ids with their school).
    /// `tag` names a non-null integer column. A driver's per-row cost (about 1 µs) dominates at
    /// that size, so PostgreSQL sends them by `COPY (SELECT …) TO STDOUT` and SQLite 65,536 at a
    /// time joined into one string (`group_concat`, in the order of an index on
    /// `(municipality_id, key)`). Keys must not contain spaces, tabs, newlines or backslashes.
    pub async fn key_ids(
        &mut self,
        table: &str,
        key: &str,
        tag: &str,
        municipality_id: i64,
        mut f: impl FnMut(&str, i64, i64),
    ) -> Result<()> {
        use futures::TryStreamExt;
        match self {
            BulkTx::Postgres(tx) => {
                let sql = format!(
                    "COPY (SELECT {key}, id, {tag} FROM {table} WHERE municipality_id = {municipality_id}) TO STDOUT"
                );
                let mut stream = tx.copy_out_raw(&sql).await?;
                // The server sends one message per row; a row split over two is carried over.
                let mut carry: Vec<u8> = Vec::new();
                while let Some(chunk) = stream.try_next().await? {
                    let whole = if carry.is_empty() {
                        &chunk[..]
                    } else {
                        carry.extend_from_slice(&chunk);
                        &carry[..]
                    };
                    let end = whole.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                    for line in whole[..end].split(|b| *b == b'\n') {
                        let mut cells = line.splitn(3, |b| *b == b'\t');
                        if let (Some(Ok(k)), Some(Some(id)), Some(Some(t))) = (
                            cells.next().map(std::str::from_utf8),
                            cells.next().map(parse_id),
                            cells.next().map(parse_id),
                        ) {
                            f(k, id, t);
                        }
                    }
                    let rest = whole[end..].to_vec();
                    carry = rest;
                }
            }
            BulkTx::Sqlite(tx) => {
                let sql = format!(
                    "SELECT MAX({key}), group_concat({key} || ' ' || id || ' ' || {tag}, ' ') FROM (SELECT id, {key}, {tag} \
                     FROM {table} WHERE municipality_id = ? AND {key} > ? ORDER BY {key} LIMIT 65536)"
                );
                let mut after = String::new();
                loop {
                    let r = sqlx::query(&sql).bind(municipality_id).bind(&after).fetch_one(&mut *tx.conn).await?;
                    let (Some(last), Some(joined)) =
                        (r.try_get::<Option<String>, _>(0)?, r.try_get::<Option<String>, _>(1)?)
                    else {
                        break;
                    };
                    let mut words = joined.split(' ');
                    while let (Some(k), Some(Ok(id)), Some(Ok(t))) =
                        (words.next(), words.next().map(str::parse), words.next().map(str::parse))
                    {
                        f(k, id, t);
                    }
                    after = last;
                }
            }
        }
        Ok(())
    }

    /// The rows of staging table `table` whose `key` repeats an earlier row's, in file order:
    /// (row number, key, the first row with that key). `table` needs a `row_no` column and an
    /// index on `key`. The one duplicate check of the bulk imports (serial numbers, line ids).
    pub async fn repeated_keys(&mut self, table: &str, key: &str) -> Result<Vec<(usize, String, String)>> {
        let sql = format!(
            "SELECT s.row_no, s.{key}, f.first_row FROM {table} s JOIN \
             (SELECT {key}, MIN(row_no) AS first_row FROM {table} GROUP BY {key} HAVING COUNT(*) > 1) f \
             ON f.{key} = s.{key} WHERE s.row_no > f.first_row ORDER BY s.row_no"
        );
        Ok(self
            .rows(&sql, &[])
            .await?
            .into_iter()
            .map(|mut r| {
                let first = r.pop().unwrap_or_default();
                let value = r.pop().unwrap_or_default();
                (r.first().and_then(|n| n.parse().ok()).unwrap_or(0), value, first)
            })
            .collect())
    }

    /// Refreshes the planner's statistics of `tables` after a bulk change, inside the import's
    /// transaction (PostgreSQL `ANALYZE`, SQLite `PRAGMA optimize`), or the planner keeps the
    /// estimates of a small table: e.g. a bitmap scan and a sort of 500,000 lines instead of an
    /// index range scan. Inside the transaction, so that no write follows the commit (on SQLite a
    /// write right after it could fail the next import's transaction).
    pub async fn refresh_statistics(&mut self, tables: &[&str]) -> Result<()> {
        let sql = if self.is_postgres() { format!("ANALYZE {}", tables.join(", ")) } else { "PRAGMA optimize".into() };
        self.exec(&sql, &[]).await?;
        Ok(())
    }

    /// Runs `SAVEPOINT name`, `RELEASE SAVEPOINT name` or `ROLLBACK TO SAVEPOINT name`: after a
    /// failed statement inside a savepoint the transaction goes on (PostgreSQL aborts it otherwise).
    pub async fn savepoint(&mut self, action: Savepoint, name: &str) -> Result<()> {
        let verb = match action {
            Savepoint::Set => "SAVEPOINT",
            Savepoint::Release => "RELEASE SAVEPOINT",
            Savepoint::RollBack => "ROLLBACK TO SAVEPOINT",
        };
        self.exec(&format!("{verb} {name}"), &[]).await?;
        Ok(())
    }

    /// Opens a [`Loader`] appending rows to `table(columns)`. While it is open the transaction is
    /// its own: finish it before the next statement. Errors: the database's (e.g. no such table).
    pub async fn loader<'t>(&'t mut self, table: &str, columns: &[&str]) -> Result<Loader<'t>> {
        let sink = match self {
            BulkTx::Sqlite(tx) => {
                // Anonymous `?` placeholders: sqlx looks every parameter up by name, which SQLite
                // does in linear time for numbered ones (quadratic for a multi-row insert).
                let per = (SQLITE_PARAMS / columns.len()).max(1);
                LoadSink::Sqlite {
                    conn: &mut tx.conn,
                    insert: format!("INSERT INTO {table} ({}) VALUES ", columns.join(",")),
                    tuple: format!("({})", vec!["?"; columns.len()].join(",")),
                    cells: Vec::with_capacity(per * columns.len()),
                    per,
                }
            }
            BulkTx::Postgres(tx) => LoadSink::Postgres {
                copy: tx
                    .copy_in_raw(&format!("COPY {table} ({}) FROM STDIN WITH (FORMAT text)", columns.join(",")))
                    .await?,
                buf: Vec::with_capacity(COPY_PIECE + 4096),
                ints: itoa::Buffer::new(),
            },
        };
        Ok(Loader { columns: columns.len(), sink })
    }

    /// Appends rows to `table(columns)`: `cells` holds the rows one after another, each
    /// `columns.len()` values (one [`Loader`] for them all).
    pub async fn load(&mut self, table: &str, columns: &[&str], cells: &[V]) -> Result<()> {
        if cells.is_empty() {
            return Ok(());
        }
        debug_assert_eq!(cells.len() % columns.len(), 0, "whole rows");
        let mut loader = self.loader(table, columns).await?;
        for row in cells.chunks(columns.len()) {
            loader.push(row.iter().cloned()).await?;
        }
        loader.finish().await
    }

    /// Commits. Errors: the database's (nothing committed then).
    pub async fn commit(self) -> Result<()> {
        match self {
            BulkTx::Sqlite(tx) => tx.end("COMMIT").await?,
            BulkTx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Rolls back. Errors: the database's.
    pub async fn rollback(self) -> Result<()> {
        match self {
            BulkTx::Sqlite(tx) => tx.end("ROLLBACK").await?,
            BulkTx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// What [`BulkTx::savepoint`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Savepoint {
    Set,
    Release,
    RollBack,
}

/// Bound parameters per SQLite multi-row INSERT (the limit is 32,766).
const SQLITE_PARAMS: usize = 8000;
/// Bytes of COPY data per message (1 MiB).
const COPY_PIECE: usize = 1 << 20;

/// Rows streamed into one table, for an import of any size: PostgreSQL one `COPY … FROM STDIN`
/// (text format) for the whole stream, sent in pieces of 1 MiB, so the server stores rows while
/// the caller reads on; SQLite multi-row prepared INSERTs of up to 8,000 values. Obtained from
/// [`BulkTx::loader`] and ended with [`Loader::finish`]; to write nothing, roll the transaction back.
pub struct Loader<'t> {
    columns: usize,
    sink: LoadSink<'t>,
}

enum LoadSink<'t> {
    Sqlite { conn: &'t mut sqlx::SqliteConnection, insert: String, tuple: String, cells: Vec<V>, per: usize },
    Postgres { copy: sqlx::postgres::PgCopyIn<&'t mut sqlx::PgConnection>, buf: Vec<u8>, ints: itoa::Buffer },
}

impl Loader<'_> {
    /// Appends one row (`columns.len()` values, in the loader's column order); writes a piece
    /// when one is full. Errors: the database's, e.g. a constraint of the table.
    pub async fn push(&mut self, row: impl IntoIterator<Item = V>) -> Result<()> {
        match &mut self.sink {
            LoadSink::Sqlite { cells, per, .. } => {
                let before = cells.len();
                cells.extend(row);
                debug_assert_eq!(cells.len() - before, self.columns, "whole rows");
                if cells.len() >= *per * self.columns {
                    self.write().await?;
                }
            }
            LoadSink::Postgres { buf, ints, .. } => {
                for (i, cell) in row.into_iter().enumerate() {
                    if i > 0 {
                        buf.push(b'\t');
                    }
                    match cell {
                        V::I(n) | V::O(Some(n)) => buf.extend_from_slice(ints.format(n).as_bytes()),
                        V::T(Some(s)) => copy_escape(&s, buf),
                        V::S(s) => copy_escape(&s, buf),
                        V::D(Some(d)) => buf.extend_from_slice(d.to_string().as_bytes()),
                        V::O(None) | V::T(None) | V::D(None) => buf.extend_from_slice(b"\\N"),
                        V::Now => buf.extend_from_slice(chrono::Utc::now().to_rfc3339().as_bytes()),
                    }
                }
                buf.push(b'\n');
                if buf.len() >= COPY_PIECE {
                    self.write().await?;
                }
            }
        }
        Ok(())
    }

    /// Writes the rows pushed so far.
    async fn write(&mut self) -> Result<()> {
        match &mut self.sink {
            LoadSink::Sqlite { conn, insert, tuple, cells, .. } => {
                if cells.is_empty() {
                    return Ok(());
                }
                let mut sql = insert.clone();
                sql.push_str(&vec![tuple.as_str(); cells.len() / self.columns].join(","));
                bind_all!(sqlx::query(&sql), cells.iter()).execute(&mut **conn).await?;
                cells.clear();
            }
            LoadSink::Postgres { copy, buf, .. } => {
                if !buf.is_empty() {
                    copy.send(buf.as_slice()).await?;
                    buf.clear();
                }
            }
        }
        Ok(())
    }

    /// Writes the rest and ends the load. Errors: the database's (PostgreSQL reports a bad row of
    /// the whole `COPY` here).
    pub async fn finish(mut self) -> Result<()> {
        self.write().await?;
        if let LoadSink::Postgres { copy, .. } = self.sink {
            copy.finish().await?;
        }
        Ok(())
    }
}

/// A non-negative decimal id as sent in COPY text format; `None` for anything else.
fn parse_id(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 18 {
        return None;
    }
    s.iter().try_fold(0i64, |n, b| b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0')))
}

/// Escapes one value for PostgreSQL's COPY text format.
fn copy_escape(s: &str, out: &mut Vec<u8>) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}
