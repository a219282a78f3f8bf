//! The shared Redis connection, single node or cluster behind one type: short timeouts and a
//! circuit breaker, so that Redis trouble costs a request a few milliseconds at most and the
//! shop carries on without it.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};
use tokio::sync::OnceCell;

/// After this many failures in a row Redis is left alone for [`OPEN_FOR`].
const FAILURES_TO_OPEN: u32 = 3;
const OPEN_FOR: Duration = Duration::from_secs(2);
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(150);
const CONNECTION_TIMEOUT: Duration = Duration::from_millis(300);

/// A connection to a single Redis or to a Redis Cluster; cheap to clone.
#[derive(Clone)]
pub enum RedisConnection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConnection::Single(connection) => connection.req_packed_command(cmd),
            RedisConnection::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConnection::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            RedisConnection::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConnection::Single(connection) => connection.get_db(),
            RedisConnection::Cluster(connection) => connection.get_db(),
        }
    }
}

enum Target {
    Single(redis::Client),
    Cluster(Box<ClusterClient>),
}

pub struct Redis {
    target: Target,
    /// Where pub/sub listens: the single node, or a cluster's first seed (a cluster passes
    /// every `PUBLISH` to all its nodes).
    listener: redis::Client,
    connection: OnceCell<RedisConnection>,
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
    /// Sets up the connection without connecting: a Redis that is down at start-up is tried
    /// again on use. Several URLs separated by commas name the seed nodes of a Redis Cluster.
    pub fn connect(url: &str, prefix: &str) -> anyhow::Result<Redis> {
        let urls: Vec<&str> = url.split(',').map(str::trim).filter(|u| !u.is_empty()).collect();
        let first = urls.first().copied().unwrap_or(url);
        let listener = redis::Client::open(first).context("REDIS_URL is not a valid Redis URL")?;
        let target = if urls.len() > 1 {
            let client = ClusterClient::builder(urls)
                .response_timeout(RESPONSE_TIMEOUT)
                .connection_timeout(CONNECTION_TIMEOUT)
                .retries(1)
                .build()
                .context("REDIS_URL does not name a valid Redis Cluster")?;
            Target::Cluster(Box::new(client))
        } else {
            Target::Single(redis::Client::open(url).context("REDIS_URL is not a valid Redis URL")?)
        };
        Ok(Redis {
            target,
            listener,
            connection: OnceCell::new(),
            prefix: prefix.to_owned(),
            consecutive_failures: AtomicU32::new(0),
            open_until: Mutex::new(None),
        })
    }

    async fn connection(&self) -> RedisResult<RedisConnection> {
        let connection = self
            .connection
            .get_or_try_init(|| async {
                match &self.target {
                    Target::Single(client) => {
                        let config = ConnectionManagerConfig::new()
                            .set_response_timeout(Some(RESPONSE_TIMEOUT))
                            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
                            .set_number_of_retries(1)
                            .set_max_delay(Duration::from_millis(200));
                        ConnectionManager::new_lazy_with_config(client.clone(), config).map(RedisConnection::Single)
                    }
                    Target::Cluster(client) => client.get_async_connection().await.map(RedisConnection::Cluster),
                }
            })
            .await?;
        Ok(connection.clone())
    }

    /// A key in this shop's namespace whose slot it shares with every other key made here: for
    /// scripts that take several keys at once (the login rate limits).
    pub fn key(&self, name: &str) -> String {
        format!("{{{}}}{name}", self.prefix)
    }

    /// A key that no command touches together with another: hashed whole, so that such keys
    /// (entries, stock figures, persisted queries) spread over a cluster's masters.
    pub fn spread_key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// A key of `group`, keys that one command reads together: they share the hash tag
    /// `{prefix group}`, and so one slot, and no other keys do.
    pub fn grouped_key(&self, group: &str, name: &str) -> String {
        format!("{{{}{group}}}{name}", self.prefix)
    }

    /// A subscription to `channel` on a connection of its own, or why there is none now.
    pub async fn subscribe(&self, channel: &str) -> RedisResult<redis::aio::PubSub> {
        let timed_out = || redis::RedisError::from((redis::ErrorKind::Io, "subscribing timed out"));
        let mut pubsub = tokio::time::timeout(CONNECTION_TIMEOUT, self.listener.get_async_pubsub())
            .await
            .map_err(|_| timed_out())??;
        tokio::time::timeout(CONNECTION_TIMEOUT, pubsub.subscribe(channel))
            .await
            .map_err(|_| timed_out())??;
        Ok(pubsub)
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
        F: FnOnce(RedisConnection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        if self.breaker_open() {
            return None;
        }
        let result = match self.connection().await {
            Ok(connection) => command(connection).await,
            Err(error) => Err(error),
        };
        match result {
            Ok(value) => {
                self.consecutive_failures.store(0, Ordering::Relaxed);
                Some(value)
            }
            Err(error) => {
                metrics::counter!("huakai_cache_errors_total", "component" => "redis").increment(1);
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
