//! What of a payment may still be refunded, and in which money: welfare allowance goes back
//! only as allowance (to its grants, or their fund) and only as much as is still spent on the
//! order; cash (or an organisation's fund) only as much of what it paid as has not gone back.
//! An allowance released when its order was cancelled unpaid is neither: a split order paid
//! after that can give back its cash and nothing more.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::entity::refund::RefundStatus;
use super::entity::{payment, refund, refund_line};
use crate::infra::error::AppResult;
use crate::infra::ids::{OrderLineId, PaymentId, RefundId};
use crate::infra::money::Fen;
use crate::orders::service::state::find;
use crate::organisations::funds;

/// What may still be refunded of a payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refundable {
    /// Allowance spent on the order and not given back.
    pub allowance: Fen,
    /// What the other provider (card, bank, fund) brought and has not gone back.
    pub cash: Fen,
    /// Allowance released when the order was cancelled unpaid: part of the payment's amount,
    /// never refundable.
    pub released: Fen,
}

impl Refundable {
    pub fn total(self) -> Fen {
        self.allowance + self.cash
    }
}

/// Where `payment` stands, read in the caller's transaction (which should hold the order's row,
/// as refunds do, so that nothing moves under it).
pub async fn refundable(txn: &impl ConnectionTrait, payment: &payment::Model) -> AppResult<Refundable> {
    let order = find(txn, payment.order_id).await?;
    let allowance = funds::still_spent(txn, payment.order_id).await?;
    let (refunded_allowance, released) = funds::given_back(txn, payment.order_id).await?;
    let cash_paid = payment.amount_fen - order.allowance_fen;
    let cash_refunded = payment.refunded_fen - refunded_allowance;
    Ok(Refundable {
        allowance,
        cash: Ord::max(cash_paid - cash_refunded, Fen::ZERO),
        released,
    })
}

/// What the payment's refunds that were not refused gave back of each order line.
pub async fn refunded_by_line(
    txn: &impl ConnectionTrait,
    payment_id: PaymentId,
) -> AppResult<HashMap<OrderLineId, Fen>> {
    let live_refunds: Vec<RefundId> = refund::Entity::find()
        .select_only()
        .column(refund::Column::Id)
        .filter(refund::Column::PaymentId.eq(payment_id))
        .filter(refund::Column::Status.ne(RefundStatus::Failed))
        .into_tuple()
        .all(txn)
        .await?;
    let mut refunded: HashMap<OrderLineId, Fen> = HashMap::new();
    for part in refund_line::Entity::find()
        .filter(refund_line::Column::RefundId.is_in(live_refunds))
        .all(txn)
        .await?
    {
        *refunded.entry(part.order_line_id).or_default() += part.amount_fen;
    }
    Ok(refunded)
}
