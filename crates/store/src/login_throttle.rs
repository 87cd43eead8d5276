//! Back-off of failed sign-ins, per account (e-mail) and per client address.
//!
//! The rule, in one place ([`Limit`], [`backoff`]): a key's failures are counted until it has none
//! for [`WINDOW`] (1 hour). Once a key has [`Limit::failures`] failures — [`ACCOUNT`]: 5 for an
//! account, [`ADDRESS`]: 20 for a client address (a school's pupils and staff may share one
//! address behind NAT) — it is blocked for 1 s, and each further failure blocks it for twice as
//! long (2 s, 4 s …) up to [`MAX_BLOCK`] (15 minutes). While a key is blocked the sign-in is refused without checking
//! the password. A successful sign-in deletes the account's row (not the address's).
//!
//! The state is the table `login_throttle` (migration `m0009_login_throttle`): it holds across
//! restarts and is shared by app instances on one PostgreSQL database. A failure is counted with
//! one atomic upsert, so parallel attempts are all counted.

use crate::{Result, Store};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use std::net::IpAddr;
use std::time::Duration;

/// A failure-free hour resets a key's count.
pub const WINDOW: Duration = Duration::from_secs(60 * 60);
/// Longest block after a failure.
pub const MAX_BLOCK: Duration = Duration::from_secs(15 * 60);

/// After how many failures a kind of key is blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Failures within [`WINDOW`] after which the back-off starts.
    pub failures: i64,
}

/// The limit of an account (an e-mail address): blocked from the 5th failure.
pub const ACCOUNT: Limit = Limit { failures: 5 };
/// The limit of a client address: blocked from the 20th failure (many users may share one address).
pub const ADDRESS: Limit = Limit { failures: 20 };

/// What a sign-in attempt is counted against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// An account, by its e-mail as typed (trimmed and lower-cased here, as the store does).
    Account(String),
    /// The client's address (the TCP peer).
    Address(IpAddr),
}

impl Key {
    fn db_key(&self) -> String {
        match self {
            Key::Account(email) => format!("account:{}", email.trim().to_lowercase()),
            Key::Address(ip) => format!("address:{ip}"),
        }
    }

    fn limit(&self) -> Limit {
        match self {
            Key::Account(_) => ACCOUNT,
            Key::Address(_) => ADDRESS,
        }
    }
}

/// How long a key is blocked after its `failures`-th failure within the window: `None` below
/// `limit.failures`, then 1 s, 2 s, 4 s … doubling, at most [`MAX_BLOCK`].
pub fn backoff(failures: i64, limit: Limit) -> Option<Duration> {
    let over = failures.checked_sub(limit.failures).filter(|o| *o >= 0)?;
    let secs = 1u64 << over.min(20);
    Some(Duration::from_secs(secs).min(MAX_BLOCK))
}

fn stmt(store: &Store, sql: &str, vals: Vec<sea_orm::Value>) -> Statement {
    let sql = if store.backend() == DbBackend::Sqlite { sql.replace('$', "?") } else { sql.to_string() };
    Statement::from_sql_and_values(store.backend(), sql, vals)
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(v).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Until when the attempt is refused: the latest block of any of `keys` still running at `now`;
/// `None` when none is blocked.
///
/// Errors: database errors.
pub async fn blocked_until(store: &Store, keys: &[Key], now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
    let mut until: Option<i64> = None;
    for key in keys {
        let row = store
            .db
            .query_one(stmt(
                store,
                "SELECT blocked_until_ms FROM login_throttle WHERE throttle_key = $1",
                vec![key.db_key().into()],
            ))
            .await?;
        let blocked: Option<i64> = match row {
            Some(r) => r.try_get("", "blocked_until_ms")?,
            None => None,
        };
        if let Some(b) = blocked.filter(|b| *b > ms(now)) {
            until = Some(until.map_or(b, |u| u.max(b)));
        }
    }
    Ok(until.map(from_ms))
}

/// Counts a failed sign-in against every key at `now`, and blocks the keys past their limit
/// ([`backoff`]). Returns until when the next attempt is refused (`None`: not yet blocked).
///
/// Errors: database errors.
pub async fn record_failure(store: &Store, keys: &[Key], now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
    let now_ms = ms(now);
    let stale_ms = now_ms - WINDOW.as_millis() as i64;
    let mut until: Option<DateTime<Utc>> = None;
    for key in keys {
        // one statement: parallel failures from several instances are each counted
        let row = store
            .db
            .query_one(stmt(
                store,
                "INSERT INTO login_throttle (throttle_key, failures, last_failure_ms, blocked_until_ms) \
                 VALUES ($1, 1, $2, NULL) \
                 ON CONFLICT (throttle_key) DO UPDATE SET \
                 failures = CASE WHEN login_throttle.last_failure_ms < $3 THEN 1 ELSE login_throttle.failures + 1 END, \
                 last_failure_ms = excluded.last_failure_ms \
                 RETURNING failures",
                vec![key.db_key().into(), now_ms.into(), stale_ms.into()],
            ))
            .await?;
        let failures: i64 = match row {
            Some(r) => r.try_get("", "failures")?,
            None => 1,
        };
        if let Some(block) = backoff(failures, key.limit()) {
            let end = now + chrono::Duration::from_std(block).unwrap_or(chrono::Duration::MAX);
            store
                .db
                .execute(stmt(
                    store,
                    "UPDATE login_throttle SET blocked_until_ms = $1 WHERE throttle_key = $2",
                    vec![ms(end).into(), key.db_key().into()],
                ))
                .await?;
            until = Some(until.map_or(end, |u| u.max(end)));
        }
    }
    Ok(until)
}

/// Forgets the failures of `key` (after a successful sign-in of that account).
///
/// Errors: database errors.
pub async fn reset(store: &Store, key: &Key) -> Result<()> {
    store
        .db
        .execute(stmt(store, "DELETE FROM login_throttle WHERE throttle_key = $1", vec![key.db_key().into()]))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_after_the_free_failures_and_is_capped() {
        assert_eq!(backoff(0, ACCOUNT), None);
        assert_eq!(backoff(4, ACCOUNT), None);
        assert_eq!(backoff(5, ACCOUNT), Some(Duration::from_secs(1)));
        assert_eq!(backoff(6, ACCOUNT), Some(Duration::from_secs(2)));
        assert_eq!(backoff(7, ACCOUNT), Some(Duration::from_secs(4)));
        assert_eq!(backoff(14, ACCOUNT), Some(Duration::from_secs(512)));
        assert_eq!(backoff(15, ACCOUNT), Some(MAX_BLOCK));
        assert_eq!(backoff(i64::MAX, ACCOUNT), Some(MAX_BLOCK));
        assert_eq!(backoff(19, ADDRESS), None);
        assert_eq!(backoff(20, ADDRESS), Some(Duration::from_secs(1)));
    }

    #[test]
    fn keys_are_normalised() {
        assert_eq!(Key::Account(" Board@Example.JP ".into()).db_key(), "account:board@example.jp");
        assert_eq!(Key::Address("192.0.2.1".parse().unwrap()).db_key(), "address:192.0.2.1");
    }
}
