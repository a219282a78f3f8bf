//! The stock mirror: each variant's available units, as of a version of its stock row, kept
//! in Redis (or the process) so that a cache hit fills its stock figures without the database.
//!
//! - **Written by the writers.** Every operation that moves stock announces the variants it
//!   moved after its commit (the shop's `announce`, `adjustStock`); the cache then
//!   reads their rows (units and version) and offers them to the mirror.
//! - **Versioned.** A stock row's `version` counts up in the statement that changes it. The
//!   mirror keeps an offered figure only when its version is not older than the one it holds
//!   (a Lua script in Redis, a lock in the process), so two writers racing to announce can
//!   never leave the older figure behind.
//! - **Bounded in age.** A figure lives [`MIRROR_TTL`] from the moment it was read from the
//!   database, then it is read again. A writer that died between its commit and its announce,
//!   or could not reach Redis, therefore leaves a figure at most that old: with a process's
//!   reuse of what it read ([`MEMO_FOR`]), a buyer sees stock at most [`STALENESS_BOUND`]
//!   behind the database, whatever the interleaving.
//! - **Rebuilt on demand.** A figure missing (never written, expired, Redis restarted) is read
//!   from the database by the request that needs it and offered like any other.
//! - **Never sold from.** Placing an order decides in the database; the mirror only shows.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::infra::error::AppResult;
use crate::infra::ids::VariantId;
use crate::infra::redis::Redis;
use crate::inventory::Figure;
use crate::inventory::entity::stock_level;

/// How long a figure read from the database may be shown: the most a storefront answer's stock
/// lags behind the database.
pub const MIRROR_TTL: Duration = Duration::from_secs(1);

/// How long a process reuses figures it read from the mirror while no stock write happened
/// (see `StockMemo`): it adds to how far behind a figure can be.
pub const MEMO_FOR: Duration = Duration::from_millis(100);

/// The most a figure shown can lag behind the database: its life in the mirror, its reuse in
/// a process, and a Redis command's time.
pub const STALENESS_BOUND: Duration = Duration::from_millis(1_250);

/// A variant's available units as of its stock row's `version`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockLevel {
    pub available: i64,
    pub version: i64,
}

/// Figures read from the database at `read_at`: the mirror counts their age from then.
pub struct Reading {
    pub levels: HashMap<VariantId, StockLevel>,
    pub read_at: Instant,
}

impl Reading {
    /// No figures yet, read now.
    pub fn now() -> Reading {
        Reading {
            levels: HashMap::new(),
            read_at: Instant::now(),
        }
    }

    /// With `figures` a committed change left (each its variant's, at its version).
    pub fn take(&mut self, figures: &[(VariantId, Figure)]) {
        self.levels.extend(figures.iter().map(|(variant, figure)| {
            (
                *variant,
                StockLevel {
                    available: figure.available,
                    version: figure.version,
                },
            )
        }));
    }
}

/// The current rows of `variant_ids`.
pub async fn read_from_database(
    db: &impl ConnectionTrait,
    variant_ids: impl IntoIterator<Item = VariantId>,
) -> AppResult<Reading> {
    let read_at = Instant::now();
    let rows = stock_level::Entity::find()
        .filter(stock_level::Column::VariantId.is_in(variant_ids))
        .all(db)
        .await?;
    Ok(Reading {
        levels: rows
            .into_iter()
            .map(|row| {
                (
                    row.variant_id,
                    StockLevel {
                        available: row.available(),
                        version: row.version,
                    },
                )
            })
            .collect(),
        read_at,
    })
}

/// The mirror of an in-process cache.
#[derive(Default)]
pub struct MemoryMirror {
    figures: RwLock<HashMap<VariantId, (StockLevel, Instant)>>,
}

impl MemoryMirror {
    /// The figures of `variant_ids` still young enough to show.
    pub fn get(&self, variant_ids: &[VariantId]) -> HashMap<VariantId, i64> {
        let figures = self.figures.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        variant_ids
            .iter()
            .filter_map(|id| {
                let (level, read_at) = figures.get(id)?;
                (read_at.elapsed() < MIRROR_TTL).then_some((*id, level.available))
            })
            .collect()
    }

    /// Keeps each figure of `reading` unless the mirror holds a newer version.
    pub fn offer(&self, reading: &Reading) {
        let mut figures = self.figures.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (id, level) in &reading.levels {
            match figures.get(id) {
                Some((held, _)) if held.version > level.version => {}
                _ => {
                    figures.insert(*id, (*level, reading.read_at));
                }
            }
        }
    }
}

/// Keeps the offered figure unless the key holds a newer version; the figure expires
/// `ARGV[3]` milliseconds from now (what is left of its life since it was read).
/// KEYS[1] the variant's key; ARGV: version, available units, milliseconds to live.
const OFFER_SCRIPT: &str = r"
local held = redis.call('GET', KEYS[1])
if held then
  local version = tonumber(string.match(held, '^(%d+):'))
  if version and version > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'PX', ARGV[3])
return 1
";

/// The key of a variant's figure. No hash tag: figures spread over a cluster's masters.
pub fn redis_key(redis: &Redis, variant_id: VariantId) -> String {
    redis.spread_key(&format!("stock:{variant_id}"))
}

/// A stored figure's available units (`"version:available"`).
pub fn decode(stored: &str) -> Option<i64> {
    stored.split_once(':')?.1.parse().ok()
}

/// The figures among the mirror's `MGET` replies for `variant_ids`, in their order; a missing
/// or unreadable one is left out.
pub fn decode_replies<'a>(
    variant_ids: &'a [VariantId],
    replies: &'a [Option<String>],
) -> impl Iterator<Item = (VariantId, i64)> + 'a {
    variant_ids
        .iter()
        .zip(replies)
        .filter_map(|(id, reply)| Some((*id, decode(reply.as_deref()?)?)))
}

/// Offers every figure of `reading` to Redis; figures already too old are not written.
pub async fn offer_to_redis(redis: &Redis, reading: &Reading) {
    let Some(left) = MIRROR_TTL.checked_sub(reading.read_at.elapsed()) else {
        return;
    };
    let millis = u64::try_from(left.as_millis()).unwrap_or(u64::MAX).max(1);
    // One script call per variant: each touches its own key, which may live on any master.
    let offers: Vec<redis::Cmd> = reading
        .levels
        .iter()
        .map(|(id, level)| {
            let mut offer = redis::cmd("EVAL");
            offer
                .arg(OFFER_SCRIPT)
                .arg(1)
                .arg(redis_key(redis, *id))
                .arg(level.version)
                .arg(level.available)
                .arg(millis);
            offer
        })
        .collect();
    let written = redis
        .run(|mut connection| async move {
            for offer in &offers {
                offer.query_async::<i64>(&mut connection).await?;
            }
            Ok(())
        })
        .await;
    if written.is_none() {
        tracing::debug!("the stock mirror could not be written; its figures expire by themselves");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(id: VariantId, available: i64, version: i64) -> Reading {
        Reading {
            levels: HashMap::from([(id, StockLevel { available, version })]),
            read_at: Instant::now(),
        }
    }

    #[test]
    fn an_older_figure_never_replaces_a_newer_one() {
        let mirror = MemoryMirror::default();
        mirror.offer(&reading(VariantId(7), 3, 12));
        mirror.offer(&reading(VariantId(7), 9, 11));
        assert_eq!(mirror.get(&[VariantId(7)]), HashMap::from([(VariantId(7), 3)]));
        mirror.offer(&reading(VariantId(7), 2, 13));
        assert_eq!(mirror.get(&[VariantId(7)]), HashMap::from([(VariantId(7), 2)]));
    }

    #[test]
    fn a_figure_older_than_its_life_is_not_shown() {
        let mirror = MemoryMirror::default();
        let mut old = reading(VariantId(7), 3, 1);
        old.read_at = Instant::now().checked_sub(MIRROR_TTL).expect("clock");
        mirror.offer(&old);
        assert!(mirror.get(&[VariantId(7)]).is_empty());
    }

    #[test]
    fn stored_figures_decode() {
        assert_eq!(decode("12:5"), Some(5));
        assert_eq!(decode("12:-0"), Some(0));
        assert_eq!(decode("garbage"), None);
    }
}
