//! The public impact report (扶贫成效): what the shop did for poor villages, worked out from its
//! ledgers (`figures`), as a GraphQL query (`graphql`) and a page, CSV and JSON (`page`, `http`).
//! Reports are kept in the process and recomputed when the ledgers have changed.

pub mod door;
pub mod figures;
pub mod graphql;
pub mod http;
pub mod page;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::infra::error::AppResult;
use figures::{Period, Report};

/// How a sale came, for the report's split by channel: each line counts in exactly one, the
/// first that applies in this order: a counter sale of a relief supermarket, a line credited to
/// a livestream host, an order credited to an organisation, and otherwise the online shop.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Online,
    Livestream,
    Union,
    Supermarket,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Online,
        Channel::Livestream,
        Channel::Union,
        Channel::Supermarket,
    ];
}

/// Reports kept at once (a period and a village each; a report is a few kilobytes).
const KEPT: usize = 64;

/// What one `impact` field costs against the query cost limit
/// ([`crate::graphql::MAX_COMPLEXITY`]): a report is many queries over the ledgers, so a request
/// may ask for three at most (aliases included), whatever else it asks.
pub const IMPACT_COST: usize = 6_500;

/// Computed reports, each with the ledgers' state it was computed from.
#[derive(Default)]
pub struct ImpactReports {
    kept: Mutex<HashMap<Period, (String, Arc<Report>)>>,
    /// One turn per period being computed: requests for a report that is being computed wait
    /// for it instead of computing it again.
    turns: Mutex<HashMap<Period, Arc<tokio::sync::Mutex<()>>>>,
}

/// The ledgers' state in one short string: it changes whenever an order is paid, a refund is
/// decided or settled, a line is delivered, a payout is paid or a pledge is set. One query of
/// indexed maxima.
async fn ledgers_state(db: &DatabaseConnection) -> AppResult<String> {
    let sql = "SELECT \
        CAST((SELECT MAX(paid_at) FROM orders) AS TEXT), \
        CAST((SELECT MAX(id) FROM refunds) AS TEXT), \
        CAST((SELECT MAX(settled_at) FROM refunds) AS TEXT), \
        CAST((SELECT MAX(id) FROM earnings) AS TEXT), \
        CAST((SELECT MAX(paid_at) FROM payouts) AS TEXT), \
        CAST((SELECT MAX(updated_at) FROM pledges) AS TEXT)";
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    let mut state = String::new();
    if let Some(row) = row {
        for index in 0..6 {
            let part: Option<String> = row.try_get_by_index(index)?;
            state.push_str(part.as_deref().unwrap_or("-"));
            state.push('|');
        }
    }
    Ok(state)
}

impl ImpactReports {
    /// The report for `period`, computed now if the ledgers changed since it was last computed.
    /// `None` when the village named does not exist.
    pub async fn report(&self, db: &DatabaseConnection, period: Period) -> AppResult<Option<Arc<Report>>> {
        let state = ledgers_state(db).await?;
        if let Some(report) = self.kept_at(&period, &state) {
            return Ok(Some(report));
        }
        let turn = self
            .turns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(period.clone())
            .or_default()
            .clone();
        let _turn = turn.lock().await;
        // The request before this one may have computed it meanwhile.
        let state = ledgers_state(db).await?;
        if let Some(report) = self.kept_at(&period, &state) {
            return Ok(Some(report));
        }
        let computed = self.compute(db, period.clone(), state).await;
        let mut turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
        if Arc::strong_count(&turn) <= 2 {
            // Nobody else waits: the period's turn is not kept for ever.
            turns.remove(&period);
        }
        computed
    }

    /// The report kept for `period`, if it was computed from the ledgers' `state`.
    fn kept_at(&self, period: &Period, state: &str) -> Option<Arc<Report>> {
        let kept = self.lock();
        let (kept_state, report) = kept.get(period)?;
        if kept_state != state {
            return None;
        }
        metrics::counter!("huakai_impact_cache_hits_total").increment(1);
        Some(report.clone())
    }

    async fn compute(&self, db: &DatabaseConnection, period: Period, state: String) -> AppResult<Option<Arc<Report>>> {
        metrics::counter!("huakai_impact_cache_misses_total").increment(1);
        let Some(report) = figures::report(db, period.clone()).await? else {
            return Ok(None);
        };
        let report = Arc::new(report);
        let mut kept = self.lock();
        if kept.len() >= KEPT {
            kept.clear();
        }
        kept.insert(period, (state, report.clone()));
        Ok(Some(report))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Period, (String, Arc<Report>)>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
