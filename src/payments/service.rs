//! Payment operations. Every effect is conditional on the state it changes from, so applying
//! the same event twice, or an old event late, changes nothing.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, Set, TransactionTrait,
};

use super::entity::{payment, refund};
use super::stripe::StripeGateway;
use super::{PROVIDER_BANK_TRANSFER, PROVIDER_STRIPE, PaymentStatus};
use crate::error::{AppError, AppResult, UserError};
use crate::money::Fen;
use crate::orders::entity::order;
use crate::orders::service as orders;
use crate::orders::{OrderStatus, PaymentMethod};

pub type Outcome<T> = AppResult<Result<T, UserError>>;

/// What applying a payment change did, for the storefront cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Effect {
    pub availability_changed: bool,
}

impl Effect {
    fn and(self, other: Effect) -> Effect {
        Effect {
            availability_changed: self.availability_changed || other.availability_changed,
        }
    }
}

pub async fn payment_of(db: &DatabaseConnection, order_id: i64) -> AppResult<Option<payment::Model>> {
    Ok(payment::Entity::find()
        .filter(payment::Column::OrderId.eq(order_id))
        .one(db)
        .await?)
}

async fn payment_by_intent(db: &DatabaseConnection, intent_id: &str) -> AppResult<Option<payment::Model>> {
    Ok(payment::Entity::find()
        .filter(payment::Column::StripePaymentIntentId.eq(intent_id))
        .one(db)
        .await?)
}

/// The order's payment, started if it was not: a PaymentIntent for card, Alipay and WeChat Pay
/// (one per order, created under the order's idempotency key), a waiting row for a bank
/// transfer. Safe to call again, e.g. when a retried `placeOrder` finds its order.
pub async fn start(
    db: &DatabaseConnection,
    gateway: Option<&StripeGateway>,
    order: &order::Model,
) -> Outcome<payment::Model> {
    if let Some(existing) = payment_of(db, order.id).await? {
        return Ok(Ok(existing));
    }
    let method = PaymentMethod::from_db(&order.payment_method)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown payment method {}", order.payment_method)))?;
    let now = Utc::now();
    let mut row = payment::ActiveModel {
        order_id: Set(order.id),
        provider: Set(PROVIDER_BANK_TRANSFER.to_owned()),
        status: Set(PaymentStatus::RequiresPayment.as_db().to_owned()),
        amount_fen: Set(order.total_fen),
        refunded_fen: Set(0),
        currency: Set("cny".to_owned()),
        stripe_payment_intent_id: Set(None),
        client_secret: Set(None),
        bank_reference: Set(None),
        last_error: Set(None),
        needs_review: Set(false),
        review_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    if method.uses_stripe() {
        let Some(gateway) = gateway else {
            return Ok(Err(UserError::new(
                "PAYMENTS_UNAVAILABLE",
                "card, Alipay and WeChat Pay are not available",
            )));
        };
        let intent = gateway.create_payment_intent(order.id, order.total_fen, method).await?;
        row.provider = Set(PROVIDER_STRIPE.to_owned());
        row.stripe_payment_intent_id = Set(Some(intent.id.to_string()));
        row.client_secret = Set(intent.client_secret.clone());
    }
    // A concurrent start for the same order inserted first: its row is the answer.
    payment::Entity::insert(row)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(payment::Column::OrderId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let row = payment_of(db, order.id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("payment row vanished")))?;
    Ok(Ok(row))
}

async fn set_status(
    db: &DatabaseConnection,
    payment_id: i64,
    to: PaymentStatus,
    only_from: &[PaymentStatus],
) -> AppResult<bool> {
    let updated = payment::Entity::update_many()
        .col_expr(payment::Column::Status, Expr::value(to.as_db()))
        .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(payment::Column::Id.eq(payment_id))
        .filter(payment::Column::Status.is_in(only_from.iter().map(|s| s.as_db())))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Marks a payment for an operator to look at (`Payment.reviewReason`).
pub async fn flag(db: &DatabaseConnection, payment: &payment::Model, reason: String) -> AppResult<()> {
    tracing::warn!(payment = payment.id, order = payment.order_id, %reason, "payment flagged for an operator");
    metrics::counter!("huakai_payments_flagged_total").increment(1);
    let mut flagged = payment.clone().into_active_model();
    flagged.needs_review = Set(true);
    flagged.review_reason = Set(Some(reason));
    flagged.updated_at = Set(Utc::now());
    flagged.update(db).await?;
    Ok(())
}

/// Money arrived for `payment` (`amount_fen` in `currency`): the order is paid, if the amount is
/// the order's. An order whose reservation ended meanwhile is paid if its stock can still be had,
/// else refunded in full.
pub async fn apply_success(
    db: &DatabaseConnection,
    gateway: Option<&StripeGateway>,
    payment: &payment::Model,
    amount_fen: i64,
    currency: &str,
) -> AppResult<Effect> {
    let Some(order) = order::Entity::find_by_id(payment.order_id).one(db).await? else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "payment {} without its order",
            payment.id
        )));
    };
    if amount_fen != order.total_fen || !currency.eq_ignore_ascii_case("cny") {
        if !payment.needs_review {
            let reason = format!(
                "paid {} {currency}, but the order is {} CNY",
                Fen::new(amount_fen),
                Fen::new(order.total_fen)
            );
            flag(db, payment, reason).await?;
        }
        return Ok(Effect::default());
    }
    // The money is in: the payment says so first, so nobody sees a paid order with an unpaid
    // payment (a crash right after is finished when the event is applied again).
    set_status(
        db,
        payment.id,
        PaymentStatus::Succeeded,
        &[
            PaymentStatus::RequiresPayment,
            PaymentStatus::Processing,
            PaymentStatus::Failed,
        ],
    )
    .await?;
    let mut effect = Effect::default();
    match OrderStatus::from_db(&order.status) {
        Some(OrderStatus::PendingPayment) => {
            if let Some(changed) = orders::mark_paid(db, order.id).await? {
                effect.availability_changed = changed.availability_changed;
            }
        }
        Some(OrderStatus::Cancelled) if order.paid_at.is_none() => match orders::revive_paid(db, order.id).await? {
            Some(changed) => effect.availability_changed = changed.availability_changed,
            None => {
                // The stock went to other buyers while this one paid: give the money back.
                let fresh = payment::Entity::find_by_id(payment.id)
                    .one(db)
                    .await?
                    .ok_or_else(|| AppError::Internal(anyhow::anyhow!("payment vanished")))?;
                let refunded = refund(
                    db,
                    gateway,
                    &fresh,
                    None,
                    "paid after the reservation ended; stock gone",
                )
                .await?;
                if let Err(problem) = refunded {
                    flag(
                        db,
                        &fresh,
                        format!("late payment could not be refunded: {}", problem.message),
                    )
                    .await?;
                }
            }
        },
        _ => {}
    }
    Ok(effect)
}

/// A declined payment: FAILED, unless money already arrived (a late failure never un-pays an
/// order). When unsure, Stripe is asked what the intent's state is now.
pub async fn apply_failure(
    db: &DatabaseConnection,
    gateway: Option<&StripeGateway>,
    payment: &payment::Model,
    message: Option<String>,
) -> AppResult<Effect> {
    if PaymentStatus::from_db(&payment.status).is_some_and(PaymentStatus::is_settled) {
        return Ok(Effect::default());
    }
    if let (Some(gateway), Some(intent_id)) = (gateway, &payment.stripe_payment_intent_id) {
        let intent = gateway.payment_intent(intent_id).await?;
        if intent.status == ::stripe::PaymentIntentStatus::Succeeded {
            return apply_success(
                db,
                Some(gateway),
                payment,
                intent.amount_received,
                &intent.currency.to_string(),
            )
            .await;
        }
    }
    payment::Entity::update_many()
        .col_expr(payment::Column::Status, Expr::value(PaymentStatus::Failed.as_db()))
        .col_expr(payment::Column::LastError, Expr::value(message))
        .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(payment::Column::Id.eq(payment.id))
        .filter(payment::Column::Status.is_in([
            PaymentStatus::RequiresPayment.as_db(),
            PaymentStatus::Processing.as_db(),
            PaymentStatus::Failed.as_db(),
        ]))
        .exec(db)
        .await?;
    Ok(Effect::default())
}

/// Stripe reports `amount_refunded` in all for the payment's charge: the record catches up
/// (never down), and a full refund closes the order.
pub async fn apply_refunded_total(
    db: &DatabaseConnection,
    payment: &payment::Model,
    amount_refunded: i64,
) -> AppResult<Effect> {
    let amount_refunded = amount_refunded.clamp(0, payment.amount_fen);
    payment::Entity::update_many()
        .col_expr(payment::Column::RefundedFen, Expr::value(amount_refunded))
        .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(payment::Column::Id.eq(payment.id))
        .filter(payment::Column::RefundedFen.lt(amount_refunded))
        .exec(db)
        .await?;
    settle_refund_status(db, payment.id).await
}

/// REFUNDED or PARTIALLY_REFUNDED as the refunded amount says; a full refund closes the order.
async fn settle_refund_status(db: &DatabaseConnection, payment_id: i64) -> AppResult<Effect> {
    let Some(payment) = payment::Entity::find_by_id(payment_id).one(db).await? else {
        return Ok(Effect::default());
    };
    if payment.refunded_fen == 0 {
        return Ok(Effect::default());
    }
    let full = payment.refunded_fen >= payment.amount_fen;
    let to = if full {
        PaymentStatus::Refunded
    } else {
        PaymentStatus::PartiallyRefunded
    };
    set_status(
        db,
        payment.id,
        to,
        &[PaymentStatus::Succeeded, PaymentStatus::PartiallyRefunded],
    )
    .await?;
    if !full {
        return Ok(Effect::default());
    }
    let changed = orders::mark_refunded(db, payment.order_id).await?;
    Ok(Effect {
        availability_changed: changed.availability_changed,
    })
}

/// A refund that went through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refunded {
    pub refund_id: i64,
    pub amount: Fen,
    pub effect: Effect,
}

/// Refunds `amount` (all that is left when `None`) of a settled payment. The amount is taken
/// off what may still be refunded in the database first, so two refunds racing can never give
/// back more than was paid; then Stripe is asked with the refund row's id as idempotency key.
pub async fn refund(
    db: &DatabaseConnection,
    gateway: Option<&StripeGateway>,
    payment: &payment::Model,
    amount: Option<Fen>,
    reason: &str,
) -> Outcome<Refunded> {
    if !PaymentStatus::from_db(&payment.status)
        .is_some_and(|s| matches!(s, PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded))
    {
        return Ok(Err(UserError::new(
            "NOT_REFUNDABLE",
            "nothing has been paid that could be refunded",
        )
        .on_field(&["orderId"])));
    }
    let remaining = payment.amount_fen - payment.refunded_fen;
    let amount = amount.map_or(remaining, Fen::get);
    if amount <= 0 || amount > remaining {
        return Ok(Err(UserError::new(
            "INVALID_INPUT",
            format!(
                "a refund is more than 0 and at most {} (paid and not yet refunded)",
                Fen::new(remaining)
            ),
        )
        .on_field(&["amount"])));
    }
    let txn = db.begin().await?;
    let taken = payment::Entity::update_many()
        .col_expr(
            payment::Column::RefundedFen,
            Expr::col(payment::Column::RefundedFen).add(amount),
        )
        .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(payment::Column::Id.eq(payment.id))
        .filter(
            Expr::col(payment::Column::RefundedFen)
                .add(amount)
                .lte(Expr::col(payment::Column::AmountFen)),
        )
        .exec(&txn)
        .await?;
    if taken.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(Err(UserError::new(
            "NOT_REFUNDABLE",
            "another refund took that amount meanwhile",
        )
        .on_field(&["amount"])));
    }
    let row = refund::ActiveModel {
        payment_id: Set(payment.id),
        amount_fen: Set(amount),
        status: Set("PENDING".to_owned()),
        stripe_refund_id: Set(None),
        reason: Set(reason.to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;

    let stripe_refund = match (payment.provider.as_str(), &payment.stripe_payment_intent_id, gateway) {
        (PROVIDER_STRIPE, Some(intent), Some(gateway)) => match gateway.refund(row.id, intent, amount).await {
            Ok(done) => Some(done.id.to_string()),
            Err(error) => {
                // Give the amount back to what may be refunded, and say so.
                payment::Entity::update_many()
                    .col_expr(
                        payment::Column::RefundedFen,
                        Expr::col(payment::Column::RefundedFen).sub(amount),
                    )
                    .filter(payment::Column::Id.eq(payment.id))
                    .exec(db)
                    .await?;
                refund::Entity::update_many()
                    .col_expr(refund::Column::Status, Expr::value("FAILED"))
                    .filter(refund::Column::Id.eq(row.id))
                    .exec(db)
                    .await?;
                tracing::error!(error = ?error, refund = row.id, "Stripe refused a refund");
                return Ok(Err(UserError::new(
                    "REFUND_FAILED",
                    "Stripe did not accept the refund; try again later",
                )));
            }
        },
        (PROVIDER_STRIPE, _, _) => {
            return Err(AppError::Internal(anyhow::anyhow!(
                "a Stripe refund without Stripe settings"
            )));
        }
        // A bank transfer is paid back by bank; the operator's refund records it.
        _ => None,
    };
    refund::Entity::update_many()
        .col_expr(refund::Column::Status, Expr::value("SUCCEEDED"))
        .col_expr(refund::Column::StripeRefundId, Expr::value(stripe_refund))
        .filter(refund::Column::Id.eq(row.id))
        .exec(db)
        .await?;
    Ok(Ok(Refunded {
        refund_id: row.id,
        amount: Fen::new(amount),
        effect: settle_refund_status(db, payment.id).await?,
    }))
}

/// `recordBankTransfer`: an operator saw the 对公转账 arrive.
pub async fn record_bank_transfer(db: &DatabaseConnection, order: &order::Model, reference: &str) -> Outcome<Effect> {
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().count() > 100 {
        return Ok(Err(UserError::new(
            "INVALID_INPUT",
            "a reference has 1 to 100 characters",
        )
        .on_field(&["reference"])));
    }
    let Some(payment) = payment_of(db, order.id).await? else {
        return Ok(Err(UserError::new(
            "NOT_PAYABLE",
            "this order is not paid by bank transfer",
        )
        .on_field(&["orderId"])));
    };
    if payment.provider != PROVIDER_BANK_TRANSFER {
        return Ok(Err(UserError::new(
            "NOT_PAYABLE",
            "this order is not paid by bank transfer",
        )
        .on_field(&["orderId"])));
    }
    if PaymentStatus::from_db(&payment.status).is_some_and(PaymentStatus::is_settled) {
        return Ok(Err(
            UserError::new("NOT_PAYABLE", "this order is paid already").on_field(&["orderId"])
        ));
    }
    let mut recorded = payment.clone().into_active_model();
    recorded.bank_reference = Set(Some(reference.to_owned()));
    recorded.update(db).await?;
    let payment = payment::Entity::find_by_id(payment.id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("payment vanished")))?;
    Ok(Ok(apply_success(db, None, &payment, order.total_fen, "cny").await?))
}

/// The payment Stripe's intent `intent_id` belongs to (by our record, or the intent's
/// `metadata.order_id`).
pub async fn payment_for_intent(
    db: &DatabaseConnection,
    intent: &::stripe::PaymentIntent,
) -> AppResult<Option<payment::Model>> {
    if let Some(payment) = payment_by_intent(db, intent.id.as_str()).await? {
        return Ok(Some(payment));
    }
    let Some(order_id) = intent.metadata.get("order_id").and_then(|id| id.parse::<i64>().ok()) else {
        return Ok(None);
    };
    payment_of(db, order_id).await
}

/// What `huakai payments reconcile` found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reconciliation {
    pub checked: usize,
    pub repaired: usize,
    pub flagged: usize,
    pub unknown: usize,
}

/// Compares recent PaymentIntents at Stripe with our payments and repairs what a missed
/// webhook left behind (the same code path the webhook would have taken).
pub async fn reconcile(
    db: &DatabaseConnection,
    gateway: &StripeGateway,
    since: chrono::DateTime<Utc>,
) -> AppResult<(Reconciliation, Effect)> {
    let intents = gateway.recent_payment_intents(since.timestamp(), 50).await?;
    let mut found = Reconciliation::default();
    let mut effect = Effect::default();
    for intent in intents {
        found.checked += 1;
        let Some(payment) = payment_for_intent(db, &intent).await? else {
            found.unknown += 1;
            continue;
        };
        let ours = PaymentStatus::from_db(&payment.status);
        if intent.status == ::stripe::PaymentIntentStatus::Succeeded && !ours.is_some_and(PaymentStatus::is_settled) {
            let was_flagged = payment.needs_review;
            effect = effect.and(
                apply_success(
                    db,
                    Some(gateway),
                    &payment,
                    intent.amount_received,
                    &intent.currency.to_string(),
                )
                .await?,
            );
            let after = payment::Entity::find_by_id(payment.id).one(db).await?;
            if after.as_ref().is_some_and(|p| p.needs_review && !was_flagged) {
                found.flagged += 1;
            } else {
                found.repaired += 1;
            }
        }
    }
    Ok((found, effect))
}
