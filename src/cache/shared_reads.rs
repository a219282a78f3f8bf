//! The one Redis round trip of a cache hit, shared by the hits that wait at the same moment.
//!
//! Every hit reads the versions and the stock generation (and sometimes stock figures). While
//! one such read is on its way to Redis, the requests that arrive queue for the next one, which
//! then reads for all of them at once: group commit, for reads. Each request still gets a read
//! that was *sent after it arrived*, so a write answered before a request came is seen by it
//! exactly as if it had read alone; under load one round trip serves many requests instead of
//! one each, which saves the server's system calls and wake-ups and Redis's own CPU (both share
//! the cores that answer the storefront).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::{AVAILABILITY_VERSION, CATALOGUE_VERSION, STOCK_GENERATION, VERSIONS, Versions, stock};
use crate::infra::ids::VariantId;
use crate::infra::redis::Redis;

/// What one read found: the versions, the stock generation, and the figures of the variants
/// its requests asked for (all as of the same moment).
pub struct VersionsRead {
    pub versions: Versions,
    pub stock_generation: u64,
    pub figures: Arc<HashMap<VariantId, i64>>,
}

pub struct SharedReads {
    redis: Arc<Redis>,
    /// The keys of the versions and the stock generation, made once.
    version_keys: [String; 3],
    queue: Mutex<Queue>,
    /// Round trips made so far.
    reads: AtomicU64,
}

#[derive(Default)]
struct Queue {
    /// Set while a task is reading for the requests that queued before it.
    reading: bool,
    waiting: Vec<Waiter>,
}

struct Waiter {
    variant_ids: Arc<[VariantId]>,
    answer: oneshot::Sender<Option<Arc<VersionsRead>>>,
}

impl SharedReads {
    pub fn new(redis: Arc<Redis>) -> Arc<SharedReads> {
        let version_keys =
            [CATALOGUE_VERSION, AVAILABILITY_VERSION, STOCK_GENERATION].map(|name| redis.grouped_key(VERSIONS, name));
        Arc::new(SharedReads {
            redis,
            version_keys,
            queue: Mutex::new(Queue::default()),
            reads: AtomicU64::new(0),
        })
    }

    /// Round trips made so far, however many requests each served.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// The versions, the stock generation and the figures of `variant_ids`, read after this
    /// call began; `None` when Redis cannot be read.
    pub async fn read(self: &Arc<Self>, variant_ids: Arc<[VariantId]>) -> Option<Arc<VersionsRead>> {
        let (answer, answered) = oneshot::channel();
        {
            let mut queue = self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            queue.waiting.push(Waiter { variant_ids, answer });
            if !queue.reading {
                queue.reading = true;
                // A task of its own, so that no request's answer waits for the reads made for
                // the requests after it (and a request that goes away stops nobody's read).
                tokio::spawn(self.clone().serve());
            }
        }
        answered.await.ok().flatten()
    }

    /// Reads for whoever is waiting, round after round, until nobody is.
    async fn serve(self: Arc<Self>) {
        loop {
            let waiting = {
                let mut queue = self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if queue.waiting.is_empty() {
                    queue.reading = false;
                    return;
                }
                std::mem::take(&mut queue.waiting)
            };
            self.reads.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("huakai_cache_version_reads_total").increment(1);
            let read = self.read_for(&waiting).await.map(Arc::new);
            for waiter in waiting {
                // A request that went away no longer listens.
                let _ = waiter.answer.send(read.clone());
            }
        }
    }

    /// One `MGET`: the versions, then the figures every waiter asked for.
    async fn read_for(&self, waiting: &[Waiter]) -> Option<VersionsRead> {
        let variant_ids: Vec<VariantId> = waiting
            .iter()
            .flat_map(|waiter| waiter.variant_ids.iter().copied())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut keys = self.version_keys.to_vec();
        keys.extend(variant_ids.iter().map(|id| stock::redis_key(&self.redis, *id)));
        let values = self
            .redis
            .run(|mut connection| async move {
                redis::cmd("MGET")
                    .arg(&keys)
                    .query_async::<Vec<Option<String>>>(&mut connection)
                    .await
            })
            .await?;
        let counter = |index: usize| {
            values
                .get(index)
                .and_then(Option::as_deref)
                .and_then(|text| text.parse().ok())
                .unwrap_or(0)
        };
        let figure_replies = values.get(self.version_keys.len()..).unwrap_or_default();
        Some(VersionsRead {
            versions: Versions {
                catalogue: counter(0),
                availability: counter(1),
            },
            stock_generation: counter(2),
            figures: Arc::new(stock::decode_replies(&variant_ids, figure_replies).collect()),
        })
    }
}
