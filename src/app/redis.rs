//! The shared Redis connection: short timeouts and a circuit breaker, so that Redis trouble
//! costs a request a few milliseconds at most and the shop carries on without it.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use redis::RedisResult;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// After this many failures in a row Redis is left alone for [`OPEN_FOR`].
const FAILURES_TO_OPEN: u32 = 3;
const OPEN_FOR: Duration = Duration::from_secs(2);
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(250);
const CONNECTION_TIMEOUT: Duration = Duration::from_millis(500);

pub struct Redis {
    manager: ConnectionManager,
    prefix: String,
    consecutive_failures: AtomicU32,
    open_until: Mutex<Option<Instant>>,
}

/// What `/readyz` reports about Redis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedisState {
    Up,
    /// The breaker is open: requests skip Redis until it has been left alone a moment.
    Down,
}

impl Redis {
    /// Connects lazily: a Redis that is down at start-up is tried again on use.
    pub fn connect(url: &str, prefix: &str) -> anyhow::Result<Redis> {
        let client = redis::Client::open(url).context("REDIS_URL is not a valid Redis URL")?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let manager =
            ConnectionManager::new_lazy_with_config(client, config).context("cannot set up the Redis connection")?;
        Ok(Redis {
            manager,
            prefix: prefix.to_owned(),
            consecutive_failures: AtomicU32::new(0),
            open_until: Mutex::new(None),
        })
    }

    /// A key in this shop's namespace (several shops or tests can share one Redis).
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn state(&self) -> RedisState {
        if self.breaker_open() {
            RedisState::Down
        } else {
            RedisState::Up
        }
    }

    fn breaker_open(&self) -> bool {
        let mut open_until = self.open_until.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match *open_until {
            Some(until) if Instant::now() < until => true,
            Some(_) => {
                // Half-open: let the next call try Redis again.
                *open_until = None;
                false
            }
            None => false,
        }
    }

    /// Runs `command` on Redis, or returns `None` without waiting when Redis is failing.
    pub async fn run<T, F, Fut>(&self, command: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        if self.breaker_open() {
            return None;
        }
        match command(self.manager.clone()).await {
            Ok(value) => {
                self.consecutive_failures.store(0, Ordering::Relaxed);
                Some(value)
            }
            Err(error) => {
                metrics::counter!("huakai_redis_errors_total").increment(1);
                let failures = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
                if failures >= FAILURES_TO_OPEN {
                    tracing::warn!(%error, "Redis is failing; carrying on without it for {OPEN_FOR:?}");
                    *self.open_until.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
                        Some(Instant::now() + OPEN_FOR);
                    self.consecutive_failures.store(0, Ordering::Relaxed);
                } else {
                    tracing::debug!(%error, "Redis command failed");
                }
                None
            }
        }
    }
}
