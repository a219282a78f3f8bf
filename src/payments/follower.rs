//! What a refund does beyond payments, in the refund's own transaction: the earnings ledger
//! takes back what the refunded lines (and their shipping) earned, and gives it back when the
//! refund is refused. Payments stands below the ledger, so the app puts the payouts domain's
//! follower in the shop's parts (`Arc<dyn RefundFollower>`) and payments never names it.

use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::DatabaseTransaction;

use crate::infra::error::AppResult;
use crate::infra::ids::{OrderId, OrderLineId, RefundId};
use crate::infra::money::Fen;
use crate::shop::Shop;

/// A refund as it was recorded: its parts over the order's lines, and what it gave back of
/// shipping beyond them.
pub struct Refunded<'a> {
    pub order_id: OrderId,
    pub refund_id: RefundId,
    pub lines: &'a [(OrderLineId, Fen)],
    pub shipping: Fen,
}

#[async_trait]
pub trait RefundFollower: Send + Sync {
    async fn refunded(&self, shop: &Shop, txn: &DatabaseTransaction, refund: &Refunded<'_>) -> AppResult<()>;

    /// A recorded refund was refused: what it took back is restored.
    async fn refused(&self, shop: &Shop, txn: &DatabaseTransaction, refund_id: RefundId) -> AppResult<()>;
}

impl Shop {
    pub fn refund_follower(&self) -> &dyn RefundFollower {
        self.part::<Arc<dyn RefundFollower>>().as_ref()
    }
}
