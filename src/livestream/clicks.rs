//! `GET /l/{code}`: where a promo code sends a buyer, and its clicks counted cheaply. A redirect
//! must cost little more than `/healthz` while a stream sends thousands of viewers at once, so
//! it neither reads nor writes the database per click: codes are resolved through a small
//! cache (a retired link stops redirecting within [`RESOLVED_FOR`]), and clicks are added up
//! in memory and written as one `UPDATE … SET clicks = clicks + n` per link every
//! [`FLUSH_EVERY`] and when the server stops, so a restart loses none that were answered.
//! A click counts once per client address (IPv6: its /64) per link per `HUAKAI_CLICK_WINDOW`,
//! so a script reloading a link inflates nothing; the clients seen are remembered in each
//! process (bounded, least recently used first), so behind N replicas a client counts at most
//! once per replica per window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::entity::promo_link;
use super::{links, product_url};
use crate::catalogue::entity::product;
use crate::infra::error::AppResult;
use crate::infra::ids::PromoLinkId;

/// How long a resolved code (or an unknown one) is believed without asking the database.
pub const RESOLVED_FOR: Duration = Duration::from_secs(5);
/// How often counted clicks are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Codes remembered at most (unknown codes included, so a scan cannot grow it without bound).
const CACHED_CODES: usize = 100_000;
/// (link, client) pairs remembered at most: a flood of new addresses forgets the oldest first.
const REMEMBERED_CLICKS: usize = 200_000;

#[derive(Clone)]
struct Resolved {
    /// The link and where it sends, or none for an unknown or retired code.
    target: Option<(PromoLinkId, String)>,
    at: Instant,
}

pub struct Redirects {
    storefront_url: std::sync::Arc<str>,
    resolved: quick_cache::sync::Cache<String, Resolved>,
    pending: Mutex<HashMap<PromoLinkId, i64>>,
    /// When each client's click on each link last counted.
    counted: Mutex<quick_cache::unsync::Cache<(PromoLinkId, String), Instant>>,
    click_window: Duration,
}

impl Redirects {
    pub fn new(storefront_url: std::sync::Arc<str>, click_window: Duration) -> Redirects {
        Redirects {
            storefront_url,
            resolved: quick_cache::sync::Cache::new(CACHED_CODES),
            pending: Mutex::new(HashMap::new()),
            counted: Mutex::new(quick_cache::unsync::Cache::new(REMEMBERED_CLICKS)),
            click_window,
        }
    }

    /// Whether `client`'s click on `link_id` counts: its first in the window.
    fn first_in_window(&self, link_id: PromoLinkId, client: String) -> bool {
        let Ok(mut counted) = self.counted.lock() else {
            return false;
        };
        let key = (link_id, client);
        if counted.get(&key).is_some_and(|at| at.elapsed() < self.click_window) {
            return false;
        }
        counted.insert(key, Instant::now());
        true
    }

    /// Where `code` sends a buyer, counting the click once per `client` (a rate-limit key:
    /// the address, or its /64) per window; `None` for an unknown or retired code.
    pub async fn follow(&self, db: &DatabaseConnection, code: &str, client: String) -> AppResult<Option<String>> {
        if !links::well_formed(code) {
            return Ok(None);
        }
        let cached = self.resolved.get(code).filter(|r| r.at.elapsed() < RESOLVED_FOR);
        let resolved = match cached {
            Some(resolved) => resolved,
            None => {
                let resolved = Resolved {
                    target: self.resolve(db, code).await?,
                    at: Instant::now(),
                };
                self.resolved.insert(code.to_owned(), resolved.clone());
                resolved
            }
        };
        let Some((link_id, url)) = resolved.target else {
            return Ok(None);
        };
        if self.first_in_window(link_id, client)
            && let Ok(mut pending) = self.pending.lock()
        {
            *pending.entry(link_id).or_insert(0) += 1;
        }
        Ok(Some(url))
    }

    async fn resolve(&self, db: &DatabaseConnection, code: &str) -> AppResult<Option<(PromoLinkId, String)>> {
        let Some(link) = links::live_by_code(db, code).await? else {
            return Ok(None);
        };
        let Some(product) = product::Entity::find_by_id(link.product_id).one(db).await? else {
            return Ok(None);
        };
        Ok(Some((
            link.id,
            product_url(&self.storefront_url, &product.slug, &link.code),
        )))
    }

    /// Writes the clicks counted so far; what cannot be written is kept for the next flush.
    pub async fn flush(&self, db: &DatabaseConnection) -> AppResult<()> {
        let counted: Vec<(PromoLinkId, i64)> = match self.pending.lock() {
            Ok(mut pending) => pending.drain().collect(),
            Err(_) => return Ok(()),
        };
        for (index, (link_id, clicks)) in counted.iter().enumerate() {
            let written = promo_link::Entity::update_many()
                .col_expr(
                    promo_link::Column::Clicks,
                    Expr::col(promo_link::Column::Clicks).add(*clicks),
                )
                .filter(promo_link::Column::Id.eq(*link_id))
                .exec(db)
                .await;
            if let Err(error) = written {
                if let Ok(mut pending) = self.pending.lock() {
                    for (link_id, clicks) in &counted[index..] {
                        *pending.entry(*link_id).or_insert(0) += clicks;
                    }
                }
                return Err(error.into());
            }
        }
        Ok(())
    }

    /// Flushes every [`FLUSH_EVERY`], and once more when `stop` fires (after the server
    /// answered its last request), then ends.
    pub fn spawn_flusher(
        self: std::sync::Arc<Self>,
        db: DatabaseConnection,
        stop: tokio::sync::oneshot::Receiver<()>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FLUSH_EVERY);
            tokio::pin!(stop);
            loop {
                let stopping = tokio::select! {
                    _ = tick.tick() => false,
                    _ = &mut stop => true,
                };
                if let Err(error) = self.flush(&db).await {
                    tracing::warn!(error = ?error, "promo link clicks not written yet; retrying");
                }
                if stopping {
                    return;
                }
            }
        })
    }
}
