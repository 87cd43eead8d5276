//! gigaops store: SeaORM entities, migrations and queries for SQLite and PostgreSQL, plus the
//! bulk-load paths of the imports. The only crate that talks to the database.

pub(crate) mod bulk;
pub mod demo;
pub mod entity;
pub mod fleet;
pub mod imports;
pub mod login_throttle;
pub mod migration;
pub mod plan;
pub mod schools;
pub mod usage;
pub mod users;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use sea_orm_migration::MigratorTrait;
use std::time::Duration;

/// Default database: SQLite file `gigaops.db` in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://gigaops.db?mode=rwc";

/// Errors of the store. Messages are Japanese and name what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A database error (connection, SQL). Not the user's fault.
    #[error("データベースエラー: {0}")]
    Db(sea_orm::DbErr),
    #[error("データベースエラー: {0}")]
    Sqlx(sqlx::Error),
    /// SQLite: another connection held the write lock for longer than [`SQLITE_BUSY_TIMEOUT`]
    /// (typically a big import). Nothing of this request was written; trying again later works.
    #[error("データベースが別の書き込み（大きな取り込みなど）で使用中のため、{}秒待っても書き込めませんでした。何も書き込んでいません。しばらくしてからもう一度実行してください", SQLITE_BUSY_TIMEOUT.as_secs())]
    Busy,
    /// The named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request breaks a rule (a spare that is not a spare, a date before the inventory …).
    #[error("{0}")]
    Rule(String),
    /// A fleet rule of `gigaops_domain::fleet` refused the event; the variant says which (so a form
    /// can show it beside the right field).
    #[error(transparent)]
    Fleet(#[from] gigaops_domain::fleet::FleetRuleError),
    /// An import found bad rows; nothing was written. Each string is `file:row:column: value — expected`.
    #[error("{} 件のエラーがあるため、何も書き込みませんでした:\n{}", .0.len(), .0.join("\n"))]
    Rows(Vec<String>),
    /// Someone else changed the record since it was read (optimistic locking).
    #[error("{0}")]
    Conflict(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How long an SQLite write waits for another connection's write lock before it fails with
/// [`StoreError::Busy`]: longer than a 1,000,000-row import holds it (about 10 s on the
/// benchmark machine), so sign-ins and forms wait for an import instead of failing.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// SQLite's "database is locked" (`SQLITE_BUSY`, extended codes included) or "table is locked"
/// (`SQLITE_LOCKED`).
fn is_sqlite_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() => {
            let code = d.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
            matches!(code & 0xff, 5 | 6)
        }
        _ => false,
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if is_sqlite_busy(&e) {
            StoreError::Busy
        } else {
            StoreError::Sqlx(e)
        }
    }
}

impl From<sea_orm::DbErr> for StoreError {
    fn from(e: sea_orm::DbErr) -> Self {
        use sea_orm::{DbErr, RuntimeErr};
        let busy = match &e {
            DbErr::Conn(RuntimeErr::SqlxError(x))
            | DbErr::Exec(RuntimeErr::SqlxError(x))
            | DbErr::Query(RuntimeErr::SqlxError(x)) => is_sqlite_busy(x),
            _ => false,
        };
        if busy {
            StoreError::Busy
        } else {
            StoreError::Db(e)
        }
    }
}

/// A connected, migrated database.
#[derive(Clone, Debug)]
pub struct Store {
    pub db: DatabaseConnection,
}

impl Store {
    /// Connects to `url` (`sqlite://FILE?mode=rwc`, `sqlite::memory:` or `postgres://…`) and runs
    /// the migrations. SQLite runs in WAL mode with foreign keys on and a
    /// [`SQLITE_BUSY_TIMEOUT`] busy timeout.
    ///
    /// Errors: [`StoreError::Db`] when the database cannot be reached or migrated.
    pub async fn connect(url: &str) -> Result<Self> {
        let mut opts = ConnectOptions::new(url.to_string());
        opts.sqlx_logging(false).max_connections(8).acquire_timeout(Duration::from_secs(10));
        if url.starts_with("sqlite:") {
            let memory = url.contains(":memory:");
            if memory {
                // one connection, or each would see its own empty database
                opts.max_connections(1).min_connections(1);
            }
            opts.map_sqlx_sqlite_opts(move |o| {
                let o = o.busy_timeout(SQLITE_BUSY_TIMEOUT).foreign_keys(true);
                if memory {
                    o
                } else {
                    o.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                }
            });
        }
        let db = Database::connect(opts).await?;
        migration::Migrator::up(&db, None).await?;
        Ok(Store { db })
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Runs a trivial query: used by the health check.
    pub async fn ping(&self) -> Result<()> {
        self.db.execute_unprepared("SELECT 1").await?;
        Ok(())
    }
}

/// Municipalities (教育委員会), the tenants.
pub mod municipalities {
    use super::*;
    use crate::entity::municipality;
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

    /// Finds a municipality by code.
    pub async fn find(store: &Store, code: &str) -> Result<Option<municipality::Model>> {
        Ok(municipality::Entity::find().filter(municipality::Column::Code.eq(code)).one(&store.db).await?)
    }

    /// All municipalities, by id.
    pub async fn list(store: &Store) -> Result<Vec<municipality::Model>> {
        Ok(municipality::Entity::find().order_by_asc(municipality::Column::Id).all(&store.db).await?)
    }

    /// Creates a municipality, or returns the existing one with that code (its name unchanged).
    pub async fn ensure(store: &Store, code: &str, name: &str) -> Result<municipality::Model> {
        if let Some(m) = find(store, code).await? {
            return Ok(m);
        }
        let m = municipality::ActiveModel {
            code: Set(code.to_string()),
            name: Set(name.to_string()),
            created_at: Set(chrono::Utc::now()),
            ..Default::default()
        };
        Ok(m.insert(&store.db).await?)
    }

    /// Resolves which municipality a command works on: the one with `code` if given (error if
    /// unknown), else the only one; with none, creates `default` (名称未設定の教育委員会); with several
    /// and no code, an error listing the codes.
    pub async fn resolve(store: &Store, code: Option<&str>) -> Result<municipality::Model> {
        if let Some(c) = code {
            return find(store, c).await?.ok_or_else(|| {
                StoreError::NotFound(format!(
                    "教育委員会コード「{c}」は登録されていません（gigaops municipality add で登録）"
                ))
            });
        }
        let all = list(store).await?;
        match all.len() {
            0 => ensure(store, "default", "名称未設定の教育委員会").await,
            1 => Ok(all.into_iter().next().expect("one")),
            _ => Err(StoreError::Rule(format!(
                "教育委員会が複数あります。--municipality で指定してください: {}",
                all.iter().map(|m| m.code.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }
}

pub mod testing;

/// The escape character of every `LIKE` built from user input ([`like_prefix`]).
pub const LIKE_ESCAPE: char = '\\';

/// `column LIKE 'text%' ESCAPE '\'`: rows whose `column` starts with `text` taken literally — the
/// wildcards `%` and `_` and the escape character `\` in `text` are escaped, so a search for `%`
/// finds only values that contain `%`. The same SQL on SQLite and PostgreSQL (on SQLite `LIKE` is
/// case-insensitive for ASCII, on PostgreSQL case-sensitive). Every `LIKE` over user input uses it.
pub fn like_prefix(column: impl sea_orm::sea_query::IntoColumnRef, text: &str) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, LikeExpr};
    let mut pattern = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if matches!(c, '%' | '_') || c == LIKE_ESCAPE {
            pattern.push(LIKE_ESCAPE);
        }
        pattern.push(c);
    }
    pattern.push('%');
    Expr::col(column).like(LikeExpr::new(pattern).escape(LIKE_ESCAPE))
}
