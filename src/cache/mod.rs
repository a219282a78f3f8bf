//! The storefront cache: whole anonymous storefront responses, in Redis (shared by every
//! replica) or in the process, with the volatile stock figures kept apart.
//!
//! Design (also in the README):
//! - A cached response is keyed by the request (query, variables, operation) and the
//!   *catalogue version*, a counter every catalogue write bumps after it commits. A write is
//!   therefore visible to the very next query on every replica, and old entries simply age out.
//! - Stock figures are not trusted from the cache: each entry is cut where they sit
//!   ([`holes`]), and a hit fills them in from one indexed query. A flash sale that changes
//!   stock every millisecond leaves the cached pages valid.
//! - Entries read from Redis are also kept in the process (keyed by version, so never stale);
//!   a hit then costs one small Redis round trip for the versions.
//! - A list filtered on `inStock` depends on which products have stock at all; such entries
//!   also carry the *availability version*, bumped only when a variant runs out or comes back.
//! - Entries are keyed by the day in China too, so catalogue entries that lapse at midnight
//!   take their products off sale without any write.
//! - One request recomputes a missing entry while the others wait for it (per key, in the
//!   process; across replicas a short Redis lock does the same).
//! - Redis trouble: short timeouts and a circuit breaker ([`crate::app::redis`]); while Redis is
//!   failing every request is answered from the database.

pub mod holes;
pub mod persisted;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::redis::{Redis, RedisState};
pub use holes::{CutBody, StockHole, StockHoles};

/// How long an entry lives at most; versions make it stale long before that in a busy shop.
const ENTRY_TTL: Duration = Duration::from_secs(600);
/// How long a replica holds the recompute lock of a key, and waits on another's.
const RECOMPUTE_LOCK: Duration = Duration::from_millis(2_000);
const RECOMPUTE_WAIT: Duration = Duration::from_millis(200);
const MEMORY_ENTRIES: usize = 10_000;

const CATALOGUE_VERSION: &str = "version:catalogue";
const AVAILABILITY_VERSION: &str = "version:availability";

/// The counters a cached entry must match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versions {
    pub catalogue: u64,
    pub availability: u64,
}

/// A cached storefront response.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CachedResponse {
    /// The serialized GraphQL response, cut at its stock figures.
    pub body: CutBody,
    /// Set when which items the response lists depends on stock.
    pub availability_version: Option<u64>,
}

enum Store {
    Off,
    Memory {
        entries: quick_cache::sync::Cache<String, (Instant, Arc<CachedResponse>)>,
        catalogue: AtomicU64,
        availability: AtomicU64,
    },
    Redis {
        redis: Arc<Redis>,
        /// Entries already fetched from Redis. Safe to keep: an entry's key holds the
        /// catalogue version, and the versions are read from Redis on every request.
        local: quick_cache::sync::Cache<String, Arc<CachedResponse>>,
    },
}

pub struct StorefrontCache {
    store: Store,
    /// One recomputation per key at a time in this process.
    recomputing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl StorefrontCache {
    pub fn off() -> StorefrontCache {
        StorefrontCache::with_store(Store::Off)
    }

    pub fn in_process() -> StorefrontCache {
        StorefrontCache::with_store(Store::Memory {
            entries: quick_cache::sync::Cache::new(MEMORY_ENTRIES),
            catalogue: AtomicU64::new(0),
            availability: AtomicU64::new(0),
        })
    }

    pub fn redis(redis: Arc<Redis>) -> StorefrontCache {
        StorefrontCache::with_store(Store::Redis {
            redis,
            local: quick_cache::sync::Cache::new(MEMORY_ENTRIES),
        })
    }

    fn with_store(store: Store) -> StorefrontCache {
        StorefrontCache {
            store,
            recomputing: Mutex::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        !matches!(self.store, Store::Off)
    }

    /// For `/readyz`: "off", "in-process", "redis" or "redis-down".
    pub fn state(&self) -> &'static str {
        match &self.store {
            Store::Off => "off",
            Store::Memory { .. } => "in-process",
            Store::Redis { redis, .. } => match redis.state() {
                RedisState::Up => "redis",
                RedisState::Down => "redis-down",
            },
        }
    }

    /// The current versions; `None` when they cannot be read (then nothing is cached).
    pub async fn versions(&self) -> Option<Versions> {
        match &self.store {
            Store::Off => None,
            Store::Memory {
                catalogue,
                availability,
                ..
            } => Some(Versions {
                catalogue: catalogue.load(Ordering::Acquire),
                availability: availability.load(Ordering::Acquire),
            }),
            Store::Redis { redis, .. } => {
                let keys = [redis.key(CATALOGUE_VERSION), redis.key(AVAILABILITY_VERSION)];
                let values = redis
                    .run(|mut connection| async move { connection.mget::<_, Vec<Option<u64>>>(&keys).await })
                    .await?;
                Some(Versions {
                    catalogue: values.first().copied().flatten().unwrap_or(0),
                    availability: values.get(1).copied().flatten().unwrap_or(0),
                })
            }
        }
    }

    async fn bump(&self, which: &'static str) {
        match &self.store {
            Store::Off => {}
            Store::Memory {
                catalogue,
                availability,
                ..
            } => {
                let counter = if which == CATALOGUE_VERSION {
                    catalogue
                } else {
                    availability
                };
                counter.fetch_add(1, Ordering::AcqRel);
            }
            Store::Redis { redis, .. } => {
                let key = redis.key(which);
                let bumped = redis
                    .run(|mut connection| async move { connection.incr::<_, _, u64>(key, 1).await })
                    .await;
                if bumped.is_none() {
                    // Nobody can read Redis while it fails; entries written before it failed
                    // age out within their TTL.
                    tracing::warn!(version = which, "could not bump a cache version: Redis is failing");
                }
            }
        }
    }

    /// After a write that changes catalogue data (prices, names, products, catalogue entries).
    pub async fn catalogue_changed(&self) {
        self.bump(CATALOGUE_VERSION).await;
    }

    /// After a variant ran out of stock or came back.
    pub async fn availability_changed(&self) {
        self.bump(AVAILABILITY_VERSION).await;
    }

    /// The key of a request's entry under `versions` on `day`.
    pub fn entry_key(request: &RequestKey, versions: Versions, day: chrono::NaiveDate) -> String {
        format!("storefront:{day}:{}:{}", versions.catalogue, request.0)
    }

    pub async fn get(&self, key: &str, versions: Versions) -> Option<Arc<CachedResponse>> {
        let entry = match &self.store {
            Store::Off => None,
            Store::Memory { entries, .. } => entries
                .get(key)
                .filter(|(stored, _)| stored.elapsed() < ENTRY_TTL)
                .map(|(_, entry)| entry),
            Store::Redis { redis, local } => match local.get(key) {
                Some(entry) => Some(entry),
                None => {
                    let redis_key = redis.key(key);
                    let text = redis
                        .run(|mut connection| async move { connection.get::<_, Option<String>>(redis_key).await })
                        .await
                        .flatten();
                    let entry = text
                        .and_then(|text| serde_json::from_str::<CachedResponse>(&text).ok())
                        .map(Arc::new);
                    if let Some(entry) = &entry {
                        local.insert(key.to_owned(), entry.clone());
                    }
                    entry
                }
            },
        }?;
        let current = entry
            .availability_version
            .is_none_or(|version| version == versions.availability);
        current.then_some(entry)
    }

    pub async fn put(&self, key: &str, entry: CachedResponse) {
        match &self.store {
            Store::Off => {}
            Store::Memory { entries, .. } => entries.insert(key.to_owned(), (Instant::now(), Arc::new(entry))),
            Store::Redis { redis, .. } => {
                let Ok(text) = serde_json::to_string(&entry) else {
                    return;
                };
                let key = redis.key(key);
                let _ =
                    redis
                        .run(|mut connection| async move {
                            connection.set_ex::<_, _, ()>(key, text, ENTRY_TTL.as_secs()).await
                        })
                        .await;
            }
        }
    }

    /// Waits until no other request of this process recomputes `key`; the guard makes the
    /// caller the one that does. Across replicas, a Redis lock lets one replica go first and
    /// the others wait briefly for its entry.
    pub async fn recompute_turn(&self, key: &str) -> RecomputeTurn {
        let lock = {
            let mut recomputing = self.recomputing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            recomputing.retain(|_, lock| Arc::strong_count(lock) > 1);
            recomputing.entry(key.to_owned()).or_default().clone()
        };
        let guard = lock.lock_owned().await;
        if let Store::Redis { redis, .. } = &self.store {
            let lock_key = redis.key(&format!("recompute:{key}"));
            let acquired = redis
                .run(|mut connection| async move {
                    redis::cmd("SET")
                        .arg(&lock_key)
                        .arg(1)
                        .arg("NX")
                        .arg("PX")
                        .arg(u64::try_from(RECOMPUTE_LOCK.as_millis()).unwrap_or(u64::MAX))
                        .query_async::<Option<String>>(&mut connection)
                        .await
                })
                .await;
            if matches!(acquired, Some(None)) {
                // Another replica is recomputing: give it a moment to store its answer.
                tokio::time::sleep(RECOMPUTE_WAIT).await;
            }
        }
        RecomputeTurn { _guard: guard }
    }
}

/// Held while this request recomputes an entry.
pub struct RecomputeTurn {
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

/// A digest of what makes two requests the same: query, variables and operation name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestKey(String);

impl RequestKey {
    pub fn of(request: &async_graphql::Request) -> RequestKey {
        let mut digest = Sha256::new();
        digest.update(request.query.as_bytes());
        digest.update([0]);
        if !request.variables.is_empty() {
            digest.update(serde_json::to_vec(&request.variables).unwrap_or_default());
        }
        digest.update([0]);
        digest.update(request.operation_name.as_deref().unwrap_or_default().as_bytes());
        RequestKey(hex::encode(digest.finalize()))
    }
}

/// Root fields whose anonymous answers may be shared between callers.
const STOREFRONT_FIELDS: &[&str] = &[
    "products",
    "product",
    "villages",
    "village",
    "categories",
    "node",
    "__typename",
];

/// Whether a query reads only the storefront (so its anonymous answer may be shared).
pub fn is_storefront_query(query: &str) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let operations: Vec<_> = match &document.operations {
        DocumentOperations::Single(operation) => vec![operation],
        DocumentOperations::Multiple(operations) => operations.values().collect(),
    };
    operations.iter().all(|operation| {
        operation.node.ty == OperationType::Query
            && operation
                .node
                .selection_set
                .node
                .items
                .iter()
                .all(|selection| match &selection.node {
                    Selection::Field(field) => STOREFRONT_FIELDS.contains(&field.node.name.node.as_str()),
                    _ => false,
                })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_storefront_queries_are_shared() {
        assert!(is_storefront_query("{ products { totalCount } categories { slug } }"));
        assert!(is_storefront_query("query Q($id: ID!) { node(id: $id) { id } }"));
        assert!(!is_storefront_query("{ me { email } }"));
        assert!(!is_storefront_query("{ products { totalCount } me { email } }"));
        assert!(!is_storefront_query("mutation { logout { revoked } }"));
        assert!(!is_storefront_query(
            "{ ...F } fragment F on Query { products { totalCount } }"
        ));
        assert!(!is_storefront_query("{ broken"));
    }
}
