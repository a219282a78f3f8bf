//! Refunds of bank-transfer orders (对公转账): decided like any refund, then sent back by bank by
//! an operator, who finds them in `pendingBankRefunds` and records the bank's reference.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use super::ProviderKind;
use super::entity::payment;
use super::entity::refund::{self, RefundStatus};
use super::settling::update_payment_status;
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::ids::OrderId;
use crate::infra::ids::RefundId;
use crate::infra::paging::PageRequest;
use crate::shop::Shop;

/// `recordBankRefund`: an operator sent a bank refund back; it is done. Returns its order.
pub async fn record_bank_refund(shop: &Shop, refund_id: RefundId, reference: &str) -> Outcome<OrderId> {
    let reference = match crate::infra::text::bank_reference(reference) {
        Ok(reference) => reference,
        Err(problem) => return Ok(Err(problem)),
    };
    let not_waiting = || {
        Ok(Err(
            UserError::new(ErrorCode::NotPending, "not-a-pending-bank-refund").on_field(&["refundId"])
        ))
    };
    let txn = begin_write(&shop.db).await?;
    let Some(row) = refund::Entity::find_by_id(refund_id).one(&txn).await? else {
        return end_write(
            txn,
            Err(UserError::new(ErrorCode::NotFound, "refund-not-found").on_field(&["refundId"])),
        )
        .await;
    };
    let Some(payment) = payment::Entity::find_by_id(row.payment_id).one(&txn).await? else {
        txn.rollback().await?;
        return Err(AppError::Internal(anyhow::anyhow!(
            "refund {refund_id} without its payment"
        )));
    };
    if payment.provider != ProviderKind::BankTransfer {
        txn.rollback().await?;
        return not_waiting();
    }
    let done = refund::Entity::update_many()
        .col_expr(refund::Column::Status, Expr::value(RefundStatus::Succeeded))
        .col_expr(refund::Column::BankReference, Expr::value(reference))
        .col_expr(refund::Column::SettledAt, Expr::value(Utc::now()))
        .filter(refund::Column::Id.eq(refund_id))
        .filter(refund::Column::Status.eq(RefundStatus::Pending))
        .exec(&txn)
        .await?;
    if done.rows_affected != 1 {
        txn.rollback().await?;
        return not_waiting();
    }
    update_payment_status(&txn, payment.id).await?;
    end_write(txn, Ok(payment.order_id)).await
}

/// A bank refund waiting for an operator, with what the operator needs to send it.
pub struct PendingBankRefund {
    pub refund: refund::Model,
    pub order_id: OrderId,
}

/// Bank refunds still to send, oldest first; the cursor is the refund id.
pub async fn pending_bank_refunds(
    db: &impl ConnectionTrait,
    page: &PageRequest<RefundId>,
    count_total: bool,
) -> AppResult<(Vec<PendingBankRefund>, u64)> {
    let pending = || {
        refund::Entity::find()
            .filter(refund::Column::Status.eq(RefundStatus::Pending))
            .filter(payment::Column::Provider.eq(ProviderKind::BankTransfer))
    };
    let total = if count_total {
        pending().inner_join(payment::Entity).count(db).await?
    } else {
        0
    };
    let mut select = pending().find_also_related(payment::Entity);
    if let Some(after) = page.after {
        select = select.filter(refund::Column::Id.gt(after));
    }
    let rows = select
        .order_by_asc(refund::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(refund, payment)| {
            payment.map(|payment| PendingBankRefund {
                refund,
                order_id: payment.order_id,
            })
        })
        .collect();
    Ok((rows, total))
}

/// A bank refund by id, if it is one.
pub async fn bank_refund(db: &impl ConnectionTrait, refund_id: RefundId) -> AppResult<Option<PendingBankRefund>> {
    Ok(refund::Entity::find_by_id(refund_id)
        .find_also_related(payment::Entity)
        .filter(payment::Column::Provider.eq(ProviderKind::BankTransfer))
        .one(db)
        .await?
        .and_then(|(refund, payment)| {
            payment.map(|payment| PendingBankRefund {
                refund,
                order_id: payment.order_id,
            })
        }))
}
