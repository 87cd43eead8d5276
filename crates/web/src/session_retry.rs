//! [`RetryBusy`]: a session store that retries an operation the database refused because it was
//! busy, so that a sign-in during a long SQLite import waits instead of failing.
//!
//! SQLite allows one writer at a time; while an import holds the write lock past the pool's busy
//! timeout, a session write fails with `database is locked` (SQLITE_BUSY, code 5). The wrapper
//! retries such a failure with exponential back-off — 50 ms, 100 ms, 200 ms … each wait at most
//! 5 s — until about [`DEFAULT_BUDGET`] (30 s) have been waited in all, then returns the last
//! error. Every other error is returned at once. On PostgreSQL the error does not occur and the
//! wrapper only passes calls on.

use async_trait::async_trait;
use std::time::Duration;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};
use tower_sessions::SessionStore;

/// First wait after a busy error.
const FIRST_DELAY: Duration = Duration::from_millis(50);
/// Longest single wait.
const MAX_DELAY: Duration = Duration::from_secs(5);
/// How long, in all, an operation waits for the database before it fails.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(30);

/// Whether `e` is the database being busy (locked by another writer), worth trying again.
fn is_busy(e: &Error) -> bool {
    match e {
        Error::Backend(m) => {
            let m = m.to_ascii_lowercase();
            m.contains("database is locked") || m.contains("sqlite_busy") || m.contains("database table is locked")
        }
        Error::Encode(_) | Error::Decode(_) => false,
    }
}

/// A session store that retries busy errors of `inner` (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct RetryBusy<S> {
    inner: S,
    first_delay: Duration,
    budget: Duration,
}

impl<S> RetryBusy<S> {
    /// Wraps `inner` with the default back-off (50 ms doubling, at most 5 s a wait, 30 s in all).
    pub fn new(inner: S) -> Self {
        Self::with_backoff(inner, FIRST_DELAY, DEFAULT_BUDGET)
    }

    /// Wraps `inner`: the first wait is `first_delay`, each next one twice the last (at most 5 s),
    /// until the waits add up to `budget`.
    pub fn with_backoff(inner: S, first_delay: Duration, budget: Duration) -> Self {
        RetryBusy { inner, first_delay, budget }
    }

    /// Runs `op` until it succeeds, fails with another error than busy, or the budget is spent.
    async fn retry<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut delay = self.first_delay;
        let mut waited = Duration::ZERO;
        loop {
            match op().await {
                Err(e) if is_busy(&e) && waited < self.budget => {
                    let wait = delay.min(self.budget - waited);
                    tracing::debug!(
                        operation = what,
                        wait_ms = wait.as_millis() as u64,
                        "セッション表が使用中です。待ってから再試行します"
                    );
                    tokio::time::sleep(wait).await;
                    waited += wait;
                    delay = (delay * 2).min(MAX_DELAY);
                }
                Err(e) => {
                    if is_busy(&e) {
                        tracing::warn!(
                            operation = what,
                            waited_s = waited.as_secs(),
                            "セッション表が使用中のままでした"
                        );
                    }
                    return Err(e);
                }
                Ok(v) => return Ok(v),
            }
        }
    }
}

#[async_trait]
impl<S: SessionStore + Clone> SessionStore for RetryBusy<S> {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // `create` may change the record's id (on a collision): each try starts from the result
        // of the last one, as the inner store left it
        let mut delay = self.first_delay;
        let mut waited = Duration::ZERO;
        loop {
            match self.inner.create(record).await {
                Err(e) if is_busy(&e) && waited < self.budget => {
                    let wait = delay.min(self.budget - waited);
                    tokio::time::sleep(wait).await;
                    waited += wait;
                    delay = (delay * 2).min(MAX_DELAY);
                }
                other => return other,
            }
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.retry("save", || self.inner.save(record)).await
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        self.retry("load", || self.inner.load(id)).await
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.retry("delete", || self.inner.delete(id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Fails the first `busy` calls with SQLite's busy message, then succeeds.
    #[derive(Debug, Clone)]
    struct Flaky {
        busy: usize,
        calls: Arc<AtomicUsize>,
        other_error: bool,
    }

    impl Flaky {
        fn call(&self) -> Result<()> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if self.other_error {
                return Err(Error::Backend("error returned from database: no such table".into()));
            }
            if n < self.busy {
                Err(Error::Backend("error returned from database: (code: 5) database is locked".into()))
            } else {
                Ok(())
            }
        }
    }

    #[async_trait]
    impl SessionStore for Flaky {
        async fn create(&self, _: &mut Record) -> Result<()> {
            self.call()
        }
        async fn save(&self, _: &Record) -> Result<()> {
            self.call()
        }
        async fn load(&self, _: &Id) -> Result<Option<Record>> {
            self.call().map(|_| None)
        }
        async fn delete(&self, _: &Id) -> Result<()> {
            self.call()
        }
    }

    fn record() -> Record {
        Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: tower_sessions::cookie::time::OffsetDateTime::now_utc(),
        }
    }

    fn flaky(busy: usize, other_error: bool) -> (Flaky, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        (Flaky { busy, calls: calls.clone(), other_error }, calls)
    }

    #[tokio::test]
    async fn a_busy_database_is_waited_for() {
        let (inner, calls) = flaky(2, false);
        let store = RetryBusy::with_backoff(inner, Duration::from_millis(1), Duration::from_secs(1));
        store.save(&record()).await.expect("third try succeeds");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let (inner, calls) = flaky(2, false);
        let store = RetryBusy::with_backoff(inner, Duration::from_millis(1), Duration::from_secs(1));
        store.create(&mut record()).await.expect("create retried too");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_wait_has_a_limit_and_other_errors_are_not_retried() {
        let (inner, calls) = flaky(usize::MAX, false);
        let store = RetryBusy::with_backoff(inner, Duration::from_millis(1), Duration::from_millis(20));
        let e = store.save(&record()).await.expect_err("still busy after the budget");
        assert!(is_busy(&e), "{e}");
        let n = calls.load(Ordering::SeqCst);
        assert!((3..=10).contains(&n), "1, 2, 4, 8, 5 ms waited: {n} calls");

        let (inner, calls) = flaky(0, true);
        let store = RetryBusy::new(inner);
        assert!(store.save(&record()).await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "not a busy error: no retry");
    }

    #[test]
    fn busy_errors_are_recognised() {
        assert!(is_busy(&Error::Backend("(code: 5) database is locked".into())));
        assert!(is_busy(&Error::Backend("SQLITE_BUSY".into())));
        assert!(!is_busy(&Error::Backend("connection refused".into())));
        assert!(!is_busy(&Error::Decode("database is locked".into())));
    }
}
