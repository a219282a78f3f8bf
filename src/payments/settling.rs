//! A decided refund's money, moved ([`settle`]): through its payment's provider, once, also
//! after an unclear answer (looked up first, then asked again under the refund's own key), or
//! left waiting for a bank transfer; refunds still in doubt are settled again by a worker
//! ([`retry_unsettled`]), and Stripe's own list settles ours on `charge.refunded`.

use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity::refund::RefundStatus;
use super::entity::{payment, refund};
use super::provider::RefundAttempt;
use super::providers;
use super::records::flag;
use super::{PaymentStatus, ProviderKind};
use crate::infra::db::begin_write;
use crate::infra::error::{AppError, AppResult};
use crate::infra::ids::{PaymentId, RefundId};
use crate::infra::money::Fen;
use crate::orders::service::state::lock_order;
use crate::shop::Shop;

/// REFUNDED or PARTIALLY_REFUNDED as the refunds that went through say.
pub(super) async fn update_payment_status(txn: &impl ConnectionTrait, payment_id: PaymentId) -> AppResult<()> {
    let Some(payment) = payment::Entity::find_by_id(payment_id).one(txn).await? else {
        return Ok(());
    };
    let settled: Fen = refund::Entity::find()
        .filter(refund::Column::PaymentId.eq(payment_id))
        .filter(refund::Column::Status.eq(RefundStatus::Succeeded))
        .all(txn)
        .await?
        .iter()
        .map(|r| r.amount_fen)
        .sum();
    // Allowance released when the order was cancelled unpaid is not the payment's to refund.
    let (_, released) = crate::organisations::funds::given_back(txn, payment.order_id).await?;
    let to = match settled {
        Fen::ZERO => PaymentStatus::Succeeded,
        all if all >= payment.amount_fen - released => PaymentStatus::Refunded,
        _ => PaymentStatus::PartiallyRefunded,
    };
    payment::Entity::update_many()
        .col_expr(payment::Column::Status, Expr::value(to))
        .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(payment::Column::Id.eq(payment_id))
        .filter(payment::Column::Status.is_in([PaymentStatus::Succeeded, PaymentStatus::PartiallyRefunded]))
        .exec(txn)
        .await?;
    Ok(())
}

/// Where a refund stands after [`settle`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    /// The money went back (Stripe accepted it, or the bank transfer was recorded).
    Done,
    /// Waiting: for an operator to send a bank transfer, or for Stripe's unclear answer to be
    /// cleared up by a later attempt.
    Waiting,
    /// Definitely refused: nothing was refunded, and an operator has been told.
    Refused(String),
}

/// The money of a decided refund goes back through its payment's provider, or waits (see
/// [`Settled`]).
pub async fn settle(shop: &Shop, refund_id: RefundId) -> AppResult<Settled> {
    let Some(row) = refund::Entity::find_by_id(refund_id).one(&shop.db).await? else {
        return Err(AppError::Internal(anyhow::anyhow!("refund {refund_id} vanished")));
    };
    match row.status {
        RefundStatus::Succeeded => return Ok(Settled::Done),
        RefundStatus::Failed => return Ok(Settled::Refused(row.last_error.unwrap_or_default())),
        RefundStatus::Pending => {}
    }
    let payment = payment::Entity::find_by_id(row.payment_id)
        .one(&shop.db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("refund {refund_id} without its payment")))?;
    let Some(provider) = providers::of_payment(shop, &payment) else {
        tracing::warn!(refund = refund_id.0, provider = ?payment.provider, "a refund waits: its provider is not configured here");
        return Ok(Settled::Waiting);
    };
    let attempt = provider.send_refund(&shop.db, &row, &payment).await?;
    apply_attempt(shop, &row, attempt).await
}

/// Records what sending a refund came to (also what a provider's notification or a lookup
/// says of it).
pub(super) async fn apply_attempt(shop: &Shop, row: &refund::Model, attempt: RefundAttempt) -> AppResult<Settled> {
    match attempt {
        RefundAttempt::Sent { reference } => {
            let txn = begin_write(&shop.db).await?;
            let done = refund::Entity::update_many()
                .col_expr(refund::Column::Status, Expr::value(RefundStatus::Succeeded))
                .col_expr(refund::Column::StripeRefundId, Expr::value(reference))
                .col_expr(refund::Column::SettledAt, Expr::value(Utc::now()))
                .col_expr(refund::Column::LastError, Expr::value(Option::<String>::None))
                .filter(refund::Column::Id.eq(row.id))
                .filter(refund::Column::Status.eq(RefundStatus::Pending))
                .exec(&txn)
                .await?;
            if done.rows_affected == 1 {
                update_payment_status(&txn, row.payment_id).await?;
            }
            txn.commit().await?;
            Ok(Settled::Done)
        }
        RefundAttempt::Refused(reason) => refuse(shop, row, &reason).await,
        RefundAttempt::Unknown(reason) => {
            tracing::warn!(refund = row.id.0, %reason, "a refund's outcome is unknown; it will be looked up");
            metrics::counter!("huakai_refunds_unknown_total").increment(1);
            refund::Entity::update_many()
                .col_expr(refund::Column::LastError, Expr::value(reason))
                .filter(refund::Column::Id.eq(row.id))
                .exec(&shop.db)
                .await?;
            Ok(Settled::Waiting)
        }
        RefundAttempt::Waiting | RefundAttempt::InProgress => Ok(Settled::Waiting),
    }
}

/// A definite no: the refund fails, its amount may be refunded again, the producers' earnings
/// come back, and an operator is told (the order keeps the state the refund gave it).
async fn refuse(shop: &Shop, row: &refund::Model, reason: &str) -> AppResult<Settled> {
    let txn = begin_write(&shop.db).await?;
    let payment = payment::Entity::find_by_id(row.payment_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("refund {} without its payment", row.id)))?;
    lock_order(&txn, payment.order_id).await?;
    let failed = refund::Entity::update_many()
        .col_expr(refund::Column::Status, Expr::value(RefundStatus::Failed))
        .col_expr(refund::Column::LastError, Expr::value(reason))
        .col_expr(refund::Column::SettledAt, Expr::value(Utc::now()))
        .filter(refund::Column::Id.eq(row.id))
        .filter(refund::Column::Status.eq(RefundStatus::Pending))
        .exec(&txn)
        .await?;
    if failed.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(Settled::Waiting);
    }
    payment::Entity::update_many()
        .col_expr(
            payment::Column::RefundedFen,
            Expr::col(payment::Column::RefundedFen).sub(row.amount_fen),
        )
        .filter(payment::Column::Id.eq(payment.id))
        .exec(&txn)
        .await?;
    shop.refund_follower().refused(shop, &txn, row.id).await?;
    flag(
        &txn,
        &payment,
        format!("a refund of {} was refused: {reason}", row.amount_fen),
    )
    .await?;
    txn.commit().await?;
    tracing::error!(refund = row.id.0, %reason, "Stripe refused a refund");
    Ok(Settled::Refused(reason.to_owned()))
}

/// Refunds at Stripe, WeChat Pay or Alipay still in doubt (or taken in and not ended) whose
/// last attempt began more than `quiet` ago (or never began: a crash right after the
/// decision), settled again. Returns how many are done.
pub async fn retry_unsettled(shop: &Shop, quiet: Duration) -> AppResult<usize> {
    let cutoff = Utc::now() - chrono::Duration::from_std(quiet).map_err(|e| AppError::Internal(e.into()))?;
    let waiting: Vec<RefundId> = refund::Entity::find()
        .select_only()
        .column(refund::Column::Id)
        .inner_join(payment::Entity)
        .filter(refund::Column::Status.eq(RefundStatus::Pending))
        .filter(payment::Column::Provider.is_in([ProviderKind::Stripe, ProviderKind::WechatPay, ProviderKind::Alipay]))
        .filter(
            Condition::any().add(refund::Column::AttemptedAt.lt(cutoff)).add(
                Condition::all()
                    .add(refund::Column::AttemptedAt.is_null())
                    .add(refund::Column::CreatedAt.lt(cutoff)),
            ),
        )
        .order_by_asc(refund::Column::Id)
        .limit(100)
        .into_tuple()
        .all(&shop.db)
        .await?;
    let mut done = 0;
    for refund_id in waiting {
        if settle(shop, refund_id).await? == Settled::Done {
            done += 1;
        }
    }
    Ok(done)
}
