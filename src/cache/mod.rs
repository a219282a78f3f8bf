//! The storefront cache: whole anonymous storefront responses, in Redis (shared by every
//! replica) or in the process, with the volatile stock figures kept apart.
//!
//! Design (also in docs/):
//! - A cached response is keyed by the request (query, variables, operation) and the
//!   *catalogue version*, a counter every catalogue write bumps after it commits. A write is
//!   therefore visible to the very next query on every replica, and old entries simply age out.
//! - Stock figures are not trusted from the cache: each entry is cut where they sit
//!   ([`holes`]), and a hit fills them in from the stock mirror ([`stock`]), which every stock
//!   write updates and which is never more than [`stock::STALENESS_BOUND`] behind the database. A
//!   flash sale that changes stock every millisecond leaves the cached pages valid.
//! - Entries read from Redis are also kept in the process (keyed by version, so never stale);
//!   a hit then costs one Redis round trip: the versions and the stock generation, and the
//!   stock figures too unless the process read them since the last stock write (the stock
//!   memo) — then it reads those of the variants the request showed last time. Hits that
//!   wait at the same moment share that round trip ([`shared_reads`]), each still reading
//!   after it arrived.
//! - In a Redis Cluster only the two versions share a slot (one `MGET` reads them with the
//!   figures; the cluster client splits it by slot); entries, figures and persisted queries
//!   are hashed whole and spread over the masters.
//! - A list filtered on `inStock` depends on which products have stock at all; such entries
//!   also carry the *availability version*, bumped only when a variant runs out or comes back.
//! - Entries are keyed by the day in China too, so catalogue entries that lapse at midnight
//!   take their products off sale without any write.
//! - One request recomputes a missing entry while the others wait for it (per key, in the
//!   process; across replicas a short Redis lock does the same).
//! - Redis trouble: short timeouts and a circuit breaker ([`crate::infra::redis`]); while Redis is
//!   failing every request is answered from the database.

pub mod holes;
pub mod persisted;
mod recompute;
mod request;
mod shared_reads;
pub mod stock;
mod stock_memo;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use crate::infra::error::AppResult;
use crate::infra::ids::VariantId;
use crate::infra::redis::{Redis, RedisState};
use crate::inventory::Figure;
pub use holes::{CutBody, StockHole, StockHoles};
pub use recompute::{Claim, RecomputeTurn};
pub use request::{RequestKey, is_storefront_query};
use shared_reads::SharedReads;
use stock::MemoryMirror;
use stock_memo::{StockMemo, remember};

/// How long an entry lives at most; versions make it stale long before that in a busy shop.
const ENTRY_TTL: Duration = Duration::from_secs(600);
/// How long an answer that could not be cached is computed by every request for it.
const UNCACHEABLE_FOR: Duration = Duration::from_secs(10);
/// A guess at an entry's size, for sizing the in-process caches' tables (not a bound).
const TYPICAL_ENTRY_BYTES: u64 = 16 * 1024;

/// The versions are read together, so they share a slot in a cluster (their own).
const VERSIONS: &str = "versions";
const CATALOGUE_VERSION: &str = "catalogue";
const AVAILABILITY_VERSION: &str = "availability";
const STOCK_GENERATION: &str = "stock";
/// How many requests' variant lists the process remembers, to read their stock with the
/// versions.
const REMEMBERED_REQUESTS: usize = 4096;

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

impl CachedResponse {
    /// About what the entry takes in memory.
    fn bytes(&self) -> u64 {
        let text: usize = self.body.segments.iter().map(String::len).sum();
        (text + self.body.figures.len() * std::mem::size_of::<holes::StockFigure>()) as u64
    }
}

/// Entries weigh their bytes, so the in-process caches are bounded in memory, not in count
/// (a few huge answers could otherwise fill a pod).
#[derive(Clone)]
struct EntryWeight;

impl quick_cache::Weighter<String, (Instant, Arc<CachedResponse>)> for EntryWeight {
    fn weight(&self, key: &String, (_, entry): &(Instant, Arc<CachedResponse>)) -> u64 {
        key.len() as u64 + entry.bytes()
    }
}

impl quick_cache::Weighter<String, Arc<CachedResponse>> for EntryWeight {
    fn weight(&self, key: &String, entry: &Arc<CachedResponse>) -> u64 {
        key.len() as u64 + entry.bytes()
    }
}

fn bounded<V: Clone>(max_bytes: u64) -> quick_cache::sync::Cache<String, V, EntryWeight>
where
    EntryWeight: quick_cache::Weighter<String, V>,
{
    let estimated_items = usize::try_from(max_bytes / TYPICAL_ENTRY_BYTES)
        .unwrap_or(usize::MAX)
        .max(16);
    quick_cache::sync::Cache::with_weighter(estimated_items, max_bytes, EntryWeight)
}

enum Store {
    Off,
    Memory {
        entries: quick_cache::sync::Cache<String, (Instant, Arc<CachedResponse>), EntryWeight>,
        catalogue: AtomicU64,
        availability: AtomicU64,
        stock: MemoryMirror,
    },
    Redis {
        redis: Arc<Redis>,
        /// The round trip of every hit, shared by the hits that wait at the same moment.
        reads: Arc<SharedReads>,
        /// Entries already fetched from Redis. Safe to keep: an entry's key holds the
        /// catalogue version, and the versions are read from Redis on every request.
        local: quick_cache::sync::Cache<String, Arc<CachedResponse>, EntryWeight>,
        /// The variants each request showed last time, whose figures are read with the
        /// versions: a guess, checked against the entry the versions lead to.
        shown: quick_cache::sync::Cache<RequestKey, Arc<[VariantId]>>,
        /// Figures this process read lately, as of a stock generation (see [`StockMemo`]).
        memo: std::sync::RwLock<Arc<StockMemo>>,
    },
}

/// What a request reads before it knows its entry: the versions, the stock generation, and
/// stock figures known to be current (the memo's, or those of the variants the request showed
/// last time, read with the versions).
pub struct Lookup {
    pub versions: Versions,
    stock_generation: u64,
    pub stock: Arc<HashMap<VariantId, i64>>,
}

pub struct StorefrontCache {
    store: Store,
    /// One recomputation per key at a time in this process.
    recomputing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Keys whose answers could not be cached lately, and since when: tried again after
    /// [`UNCACHEABLE_FOR`] (an error may pass) or after a write (keys hold the versions).
    uncacheable: quick_cache::sync::Cache<String, Instant>,
}

impl StorefrontCache {
    pub fn off() -> StorefrontCache {
        StorefrontCache::with_store(Store::Off)
    }

    /// Entries in the process, in at most `max_bytes`.
    pub fn in_process(max_bytes: u64) -> StorefrontCache {
        StorefrontCache::with_store(Store::Memory {
            entries: bounded(max_bytes),
            catalogue: AtomicU64::new(0),
            availability: AtomicU64::new(0),
            stock: MemoryMirror::default(),
        })
    }

    /// Entries in Redis, with a copy of those read lately in at most `max_bytes` of the process.
    pub fn redis(redis: Arc<Redis>, max_bytes: u64) -> StorefrontCache {
        StorefrontCache::with_store(Store::Redis {
            reads: SharedReads::new(redis.clone()),
            redis,
            local: bounded(max_bytes),
            shown: quick_cache::sync::Cache::new(REMEMBERED_REQUESTS),
            memo: std::sync::RwLock::new(Arc::new(StockMemo {
                generation: 0,
                started: Instant::now(),
                figures: Arc::default(),
            })),
        })
    }

    fn with_store(store: Store) -> StorefrontCache {
        StorefrontCache {
            store,
            recomputing: Mutex::new(HashMap::new()),
            uncacheable: quick_cache::sync::Cache::new(REMEMBERED_REQUESTS),
        }
    }

    pub fn enabled(&self) -> bool {
        !matches!(self.store, Store::Off)
    }

    /// The Redis round trips this instance's hits made for the versions (for tests and
    /// diagnostics: fewer than its hits when hits share them).
    pub fn version_reads(&self) -> u64 {
        match &self.store {
            Store::Redis { reads, .. } => reads.reads(),
            Store::Off | Store::Memory { .. } => 0,
        }
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

    /// The current versions and stock generation, and stock figures known to be current, in
    /// one round trip (shared with the hits waiting at the same moment); `None` when Redis
    /// cannot be read (then nothing is cached). When this process read figures a moment ago,
    /// only the versions are read and the figures are the memo's if no stock changed since;
    /// else the figures of the variants `request` showed last time are read with the versions.
    pub async fn lookup(&self, request: &RequestKey) -> Option<Lookup> {
        match &self.store {
            Store::Off => None,
            Store::Memory {
                catalogue,
                availability,
                ..
            } => Some(Lookup {
                versions: Versions {
                    catalogue: catalogue.load(Ordering::Acquire),
                    availability: availability.load(Ordering::Acquire),
                },
                stock_generation: 0,
                // The in-process mirror costs nothing to read once the entry is known.
                stock: Arc::default(),
            }),
            Store::Redis { reads, shown, memo, .. } => {
                let memo = memo.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
                let guessed = if memo.started.elapsed() < stock::MEMO_FOR {
                    Arc::from([])
                } else {
                    shown.get(request).unwrap_or_else(|| Arc::from([]))
                };
                let read = reads.read(guessed).await?;
                let stock = if memo.current(read.stock_generation) {
                    memo.figures.clone()
                } else {
                    read.figures.clone()
                };
                Some(Lookup {
                    versions: read.versions,
                    stock_generation: read.stock_generation,
                    stock,
                })
            }
        }
    }

    /// Available units of each of `variant_ids`, which `request`'s entry shows: from what
    /// `lookup` found, else the mirror, else the database (whose figures then go to the
    /// mirror).
    pub async fn available(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        request: &RequestKey,
        variant_ids: &[VariantId],
        lookup: &Lookup,
    ) -> AppResult<Arc<HashMap<VariantId, i64>>> {
        let known = &lookup.stock;
        if variant_ids.iter().all(|id| known.contains_key(id)) {
            if let Store::Redis { memo, .. } = &self.store {
                remember(memo, lookup.stock_generation, known, &HashMap::new());
            }
            return Ok(known.clone());
        }
        let mut missing: Vec<VariantId> = variant_ids
            .iter()
            .filter(|id| !known.contains_key(id))
            .copied()
            .collect();
        let mut found: HashMap<VariantId, i64> = HashMap::new();
        match &self.store {
            Store::Off => {}
            Store::Memory { stock, .. } => found.extend(stock.get(&missing)),
            Store::Redis { redis, shown, .. } => {
                shown.insert(request.clone(), Arc::from(variant_ids));
                let keys: Vec<String> = missing.iter().map(|id| stock::redis_key(redis, *id)).collect();
                let values = redis
                    .run(|mut connection| async move {
                        redis::cmd("MGET")
                            .arg(&keys)
                            .query_async::<Vec<Option<String>>>(&mut connection)
                            .await
                    })
                    .await
                    .unwrap_or_default();
                found.extend(stock::decode_replies(&missing, &values));
            }
        }
        missing.retain(|id| !found.contains_key(id));
        if !missing.is_empty() {
            let reading = stock::read_from_database(db, missing).await?;
            found.extend(reading.levels.iter().map(|(id, level)| (*id, level.available)));
            match &self.store {
                Store::Off => {}
                Store::Memory { stock, .. } => stock.offer(&reading),
                Store::Redis { redis, .. } => {
                    // The answer need not wait for the mirror: a later request reads the
                    // database again if this has not landed yet.
                    let redis = redis.clone();
                    tokio::spawn(async move { stock::offer_to_redis(&redis, &reading).await });
                }
            }
        }
        if let Store::Redis { memo, .. } = &self.store {
            remember(memo, lookup.stock_generation, known, &found);
        }
        let mut available = (**known).clone();
        available.extend(found);
        Ok(Arc::new(available))
    }

    /// After a committed change to the stock of `variant_ids`: the mirror takes their new
    /// figures before the change is answered, so the next storefront read shows them. Those
    /// the change left (`known`) are taken as they are; the others are read.
    pub async fn stock_changed(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        variant_ids: &[VariantId],
        known: &[(VariantId, Figure)],
    ) {
        if variant_ids.is_empty() || !self.enabled() {
            return;
        }
        let unknown: Vec<VariantId> = variant_ids
            .iter()
            .filter(|variant| !known.iter().any(|(known, _)| known == *variant))
            .copied()
            .collect();
        let mut reading = match unknown.is_empty() {
            true => stock::Reading::now(),
            false => match stock::read_from_database(db, unknown).await {
                Ok(reading) => reading,
                Err(error) => {
                    // The figures it holds expire within their time to live.
                    tracing::warn!(error = ?error, "could not read changed stock for the mirror");
                    return;
                }
            },
        };
        reading.take(known);
        match &self.store {
            Store::Off => {}
            Store::Memory { stock, .. } => stock.offer(&reading),
            Store::Redis { redis, .. } => {
                stock::offer_to_redis(redis, &reading).await;
                // After the figures are in: a process that reads the new generation reads
                // them too.
                let key = redis.grouped_key(VERSIONS, STOCK_GENERATION);
                let _ = redis
                    .run(|mut connection| async move { connection.incr::<_, _, u64>(key, 1).await })
                    .await;
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
                let key = redis.grouped_key(VERSIONS, which);
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
            Store::Redis { redis, local, .. } => match local.get(key) {
                Some(entry) => Some(entry),
                None => {
                    let redis_key = redis.spread_key(key);
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
                let key = redis.spread_key(key);
                let _ =
                    redis
                        .run(|mut connection| async move {
                            connection.set_ex::<_, _, ()>(key, text, ENTRY_TTL.as_secs()).await
                        })
                        .await;
            }
        }
    }

    /// Remembers that `key`'s answer cannot be cached (it has errors, or its stock figures
    /// could not be cut out), so that requests for it are answered at once, side by side,
    /// instead of one after the other waiting for an entry that never comes.
    pub fn mark_uncacheable(&self, key: &str) {
        self.uncacheable.insert(key.to_owned(), Instant::now());
    }

    pub fn is_uncacheable(&self, key: &str) -> bool {
        self.uncacheable
            .get(key)
            .is_some_and(|since| since.elapsed() < UNCACHEABLE_FOR)
    }
}

#[cfg(test)]
mod tests;
