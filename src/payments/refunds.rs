//! Refunds, whichever path asks for one: an operator (`refundOrder`), a cancellation, a
//! payment that arrived for stock already gone, or Stripe's dashboard (`charge.refunded`).
//!
//! A refund is decided in one transaction ([`decide`]): the amount is taken off what may still
//! be refunded (a conditional update, so racing refunds never give back more than was paid), the
//! refund row is written with its split over the order's lines, the producers' earnings are
//! reversed if the order was delivered (delivery later credits only what was kept), and a full
//! refund closes the order. Only then does the money move ([`settle`]):
//! - Stripe is asked with the refund's id as idempotency key and metadata. A definite refusal
//!   fails the refund and gives everything back; an unclear answer (time-out, 409, 5xx) leaves
//!   it PENDING, and the next attempt first looks the refund up at Stripe, so it is made once,
//!   also after Stripe has forgotten the key. A worker and `huakai payments reconcile` retry.
//! - A bank-transfer order is refunded by bank: the refund waits, PENDING, in
//!   `pendingBankRefunds` until an operator records the bank's reference (`bank_refunds`).
//! - Welfare allowance goes back to the grants it came from within [`decide`]'s transaction, as
//!   its own refund row, SUCCEEDED at once; of a split payment the allowance part is refunded
//!   first, then the rest through the other provider (a second row).

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set, SqlErr,
};

use super::entity::refund::RefundStatus;
use super::entity::{payment, refund, refund_line};
use super::follower::Refunded;
use super::providers;
use super::records::flag;
use super::records::payment_of;
use super::refundable::{refundable, refunded_by_line};
use super::settling::{Settled, apply_attempt, settle, update_payment_status};
use super::{PaymentStatus, ProviderKind};
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::RefundId;
use crate::infra::ids::{OrderId, OrderLineId};
use crate::infra::money::{Fen, allocate};
use crate::orders::service::lifecycle::close_fully_refunded;
use crate::orders::service::state::{lines_of, lock_order};
use crate::shop::{Effect, Shop};

/// A refund recorded by [`decide`].
pub struct Decided {
    pub refund: refund::Model,
    pub effect: Effect,
}

/// Records a refund of `amount` of `payment` inside the caller's transaction (see the module
/// doc). `stripe_refund_id` names a refund Stripe already made (from its dashboard): the row is
/// written as succeeded.
pub async fn decide(
    txn: &DatabaseTransaction,
    payment: &payment::Model,
    amount: Fen,
    reason: &str,
    stripe_refund_id: Option<&str>,
    shop: &Shop,
) -> AppResult<Result<Decided, UserError>> {
    decide_over(txn, payment, amount, reason, stripe_refund_id, None, shop).await
}

/// [`decide`] for a refund of some of the order's lines (an after-sales claim): the amount is
/// split over `lines` in proportion to their weights, each part no more than its line still
/// holds; the caller keeps `amount` within the weights.
pub async fn decide_for_lines(
    txn: &DatabaseTransaction,
    payment: &payment::Model,
    amount: Fen,
    reason: &str,
    lines: &[(OrderLineId, Fen)],
    shop: &Shop,
) -> AppResult<Result<Decided, UserError>> {
    decide_over(txn, payment, amount, reason, None, Some(lines), shop).await
}

async fn decide_over(
    txn: &DatabaseTransaction,
    payment: &payment::Model,
    amount: Fen,
    reason: &str,
    stripe_refund_id: Option<&str>,
    only: Option<&[(OrderLineId, Fen)]>,
    shop: &Shop,
) -> AppResult<Result<Decided, UserError>> {
    // Refunds and deliveries of one order take turns, so each sees the other's rows.
    lock_order(txn, payment.order_id).await?;
    let not_refundable = || {
        Ok(Err(
            UserError::new(ErrorCode::NotRefundable, "refund-exceeds-paid").on_field(&["amount"])
        ))
    };
    let Some(fresh) = payment::Entity::find_by_id(payment.id).one(txn).await? else {
        return not_refundable();
    };
    // Allowance first: what the welfare allowance paid goes back (to its grants, in this
    // transaction, SUCCEEDED at once) before any cash; the rest is a refund through the
    // payment's provider, never more than it brought. A refund Stripe made is cash.
    let open = refundable(txn, &fresh).await?;
    let allowance = if stripe_refund_id.is_some() {
        Fen::ZERO
    } else {
        Ord::min(amount, open.allowance)
    };
    let cash = amount - allowance;
    if amount <= Fen::ZERO || cash > open.cash {
        return not_refundable();
    }
    let taken = payment::Entity::update_many()
        .col_expr(
            payment::Column::RefundedFen,
            Expr::col(payment::Column::RefundedFen).add(amount.get()),
        )
        .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(payment::Column::Id.eq(payment.id))
        .filter(payment::Column::Status.is_in([PaymentStatus::Succeeded, PaymentStatus::PartiallyRefunded]))
        .filter(
            Expr::col(payment::Column::RefundedFen)
                .add(amount.get())
                .lte(Expr::col(payment::Column::AmountFen)),
        )
        .exec(txn)
        .await?;
    if taken.rows_affected != 1 {
        return not_refundable();
    }
    let now = Utc::now();
    let mut recorded = None;
    if allowance > Fen::ZERO {
        let row = record(
            txn,
            payment,
            allowance,
            RefundStatus::Succeeded,
            reason,
            None,
            only,
            shop,
        )
        .await?;
        crate::organisations::funds::give_back(txn, payment.order_id, Some(row.id), allowance, now).await?;
        recorded = Some(row);
    }
    let to_fund = payment.provider == ProviderKind::OrganisationFund;
    // Paid at a counter, given back there: the clerk hands it over as the refund is decided.
    let at_counter = payment.provider == ProviderKind::Counter;
    if cash > Fen::ZERO && to_fund {
        // A fund-paid bulk order's money goes back to the fund here and now, like allowance.
        let row = record(txn, payment, cash, RefundStatus::Succeeded, reason, None, only, shop).await?;
        crate::organisations::funds::refund_to_fund(txn, payment.order_id, row.id, cash, now).await?;
        recorded = Some(row);
    } else if cash > Fen::ZERO && at_counter {
        recorded = Some(record(txn, payment, cash, RefundStatus::Succeeded, reason, None, only, shop).await?);
    } else if cash > Fen::ZERO {
        let status = if stripe_refund_id.is_some() {
            RefundStatus::Succeeded
        } else {
            RefundStatus::Pending
        };
        recorded = Some(record(txn, payment, cash, status, reason, stripe_refund_id, only, shop).await?);
    }
    let row = recorded.ok_or_else(|| AppError::Internal(anyhow::anyhow!("a refund of nothing")))?;
    let effect = if amount == open.total() {
        close_fully_refunded(shop, txn, payment.order_id).await?
    } else {
        Effect::default()
    };
    if allowance > Fen::ZERO || to_fund || at_counter || stripe_refund_id.is_some() {
        update_payment_status(txn, payment.id).await?;
    }
    super::notices::refund_decided(txn, payment, &row, amount).await?;
    Ok(Ok(Decided { refund: row, effect }))
}

/// One refund row of `amount`, its split over the order's lines (all, or `only` these) and the
/// earnings it reverses.
#[allow(clippy::too_many_arguments)] // each is one of the row's facts, passed through from `decide`
async fn record(
    txn: &DatabaseTransaction,
    payment: &payment::Model,
    amount: Fen,
    status: RefundStatus,
    reason: &str,
    stripe_refund_id: Option<&str>,
    only: Option<&[(OrderLineId, Fen)]>,
    shop: &Shop,
) -> AppResult<refund::Model> {
    let now = Utc::now();
    let (parts, shipping) = split_over_lines(txn, payment, amount, only).await?;
    let row = refund::ActiveModel {
        payment_id: Set(payment.id),
        amount_fen: Set(amount),
        shipping_fen: Set(shipping),
        status: Set(status),
        stripe_refund_id: Set(stripe_refund_id.map(str::to_owned)),
        reason: Set(reason.to_owned()),
        created_at: Set(now),
        bank_reference: Set(None),
        attempted_at: Set(None),
        attempts: Set(0),
        last_error: Set(None),
        settled_at: Set((status == RefundStatus::Succeeded).then_some(now)),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    if !parts.is_empty() {
        refund_line::Entity::insert_many(parts.iter().map(|(line_id, part)| refund_line::ActiveModel {
            refund_id: Set(row.id),
            order_line_id: Set(*line_id),
            amount_fen: Set(*part),
        }))
        .exec_without_returning(txn)
        .await?;
    }
    let refunded = Refunded {
        order_id: payment.order_id,
        refund_id: row.id,
        lines: &parts,
        shipping,
    };
    shop.refund_follower().refunded(shop, txn, &refunded).await?;
    Ok(row)
}

/// `amount` shared over the order's lines in proportion to what each still holds (its total
/// less earlier refunds that were not refused), to the fen: `(order line id, part)`, parts > 0.
/// With `only`, over those lines alone, each weighing its given weight or what it still holds,
/// whichever is less. **Goods first**: only what passes all the lines still hold gives shipping
/// back (the second value), so a partial refund never touches the shipping fee and a full one
/// returns it all; a refund of some lines (a claim) gives back goods alone.
async fn split_over_lines(
    txn: &impl ConnectionTrait,
    payment: &payment::Model,
    amount: Fen,
    only: Option<&[(OrderLineId, Fen)]>,
) -> AppResult<(Vec<(OrderLineId, Fen)>, Fen)> {
    let lines = lines_of(txn, payment.order_id).await?;
    let refunded = refunded_by_line(txn, payment.id).await?;
    let weights: Vec<i64> = lines
        .iter()
        .map(|line| {
            let holds = Ord::max(
                line.line_total_fen - refunded.get(&line.id).copied().unwrap_or(Fen::ZERO),
                Fen::ZERO,
            );
            match only {
                None => holds.get(),
                Some(only) => only
                    .iter()
                    .find(|(id, _)| *id == line.id)
                    .map_or(0, |(_, weight)| Ord::min(*weight, holds).get()),
            }
        })
        .collect();
    let goods = match only {
        None => Ord::min(amount.get(), weights.iter().sum()),
        Some(_) => amount.get(),
    };
    let parts = lines
        .iter()
        .zip(allocate(goods, &weights))
        .filter(|(_, part)| *part > 0)
        .map(|(line, part)| (line.id, Fen::new(part)))
        .collect();
    Ok((parts, amount - Fen::new(goods)))
}

/// `refundOrder`: refunds `amount` of an order (all that is left when `None`).
pub async fn refund_order(shop: &Shop, order_id: OrderId, amount: Option<Fen>) -> Outcome<()> {
    let not_refundable = || {
        Ok(Err(
            UserError::new(ErrorCode::NotRefundable, "nothing-to-refund").on_field(&["orderId"])
        ))
    };
    let txn = begin_write(&shop.db).await?;
    // Refunds of the order take turns (as `decide` does), so what is left cannot move meanwhile.
    lock_order(&txn, order_id).await?;
    let Some(payment) = payment_of(&txn, order_id).await? else {
        txn.rollback().await?;
        return not_refundable();
    };
    if !matches!(
        payment.status,
        PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded
    ) {
        txn.rollback().await?;
        return not_refundable();
    }
    let remaining = refundable(&txn, &payment).await?.total();
    if remaining == Fen::ZERO {
        txn.rollback().await?;
        return not_refundable();
    }
    let amount = amount.unwrap_or(remaining);
    if amount <= Fen::ZERO || amount > remaining {
        return end_write(
            txn,
            Err(UserError::new(
                ErrorCode::InvalidInput,
                Message::new("refund-range").with("max", remaining),
            )
            .on_field(&["amount"])),
        )
        .await;
    }
    let decided = match decide(&txn, &payment, amount, "refunded by an operator", None, shop).await? {
        Ok(decided) => decided,
        Err(problem) => {
            return end_write(txn, Err(problem)).await;
        }
    };
    txn.commit().await?;
    shop.announce(decided.effect).await;
    match settle(shop, decided.refund.id).await? {
        Settled::Refused(reason) => Ok(Err(UserError::new(
            ErrorCode::RefundFailed,
            Message::new("refund-refused").with("reason", reason),
        ))),
        Settled::Done | Settled::Waiting => Ok(Ok(())),
    }
}

/// `charge.refunded`: Stripe's list of the payment's refunds is the truth. Ours that were in
/// doubt are settled; refunds made in Stripe's dashboard are recorded (each once: Stripe's
/// refund id is unique in our table) and reverse the producers' earnings like any other.
pub async fn sync_with_stripe(shop: &Shop, payment: &payment::Model) -> AppResult<()> {
    let (Some(gateway), Some(intent)) = (shop.stripe(), &payment.stripe_payment_intent_id) else {
        return Ok(());
    };
    let at_stripe = gateway.refunds_of(intent).await?;
    for found in at_stripe {
        let ours = found
            .metadata
            .as_ref()
            .and_then(|m| m.get("refund_id"))
            .and_then(|id| id.parse().ok())
            .map(RefundId);
        if let Some(ours) = ours
            && let Some(row) = refund::Entity::find_by_id(ours).one(&shop.db).await?
            && row.payment_id == payment.id
        {
            if row.status == RefundStatus::Pending {
                apply_attempt(shop, &row, providers::concluded(&found)).await?;
            }
            continue;
        }
        if matches!(found.status.as_deref(), Some("failed" | "canceled")) {
            continue;
        }
        let known = refund::Entity::find()
            .filter(refund::Column::StripeRefundId.eq(found.id.as_str()))
            .one(&shop.db)
            .await?;
        if known.is_some() {
            continue;
        }
        let txn = begin_write(&shop.db).await?;
        let fresh = payment::Entity::find_by_id(payment.id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("payment {} vanished", payment.id)))?;
        let decided = decide(
            &txn,
            &fresh,
            Fen::new(found.amount),
            "refunded in Stripe's dashboard",
            Some(found.id.as_str()),
            shop,
        )
        .await;
        match decided {
            Ok(Ok(decided)) => {
                txn.commit().await?;
                shop.announce(decided.effect).await;
            }
            Ok(Err(problem)) => {
                txn.rollback().await?;
                let reason = format!(
                    "Stripe refunded {} ({}), more than we hold as refundable: {}",
                    Fen::new(found.amount),
                    found.id,
                    problem.message
                );
                flag(&shop.db, payment, reason).await?;
            }
            // Another worker recorded the same Stripe refund first.
            Err(AppError::Database(error)) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                txn.rollback().await?;
            }
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
