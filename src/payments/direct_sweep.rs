//! What WeChat Pay and Alipay paid directly need besides notifications: a payment whose
//! notification is late is looked up by its trade number (and paid through the same path if
//! the money came), and the trade of an order cancelled unpaid (its reservation ended, or its
//! buyer cancelled) is closed there so nobody pays it afterwards. A close the provider refuses
//! because the buyer paid meanwhile is looked up, and the late payment refunded.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::alipay::Closed;
use super::direct::CallError;
use super::direct_notifications::paid;
use super::direct_pay::out_trade_no;
use super::entity::payment;
use super::{PaymentStatus, ProviderKind};
use crate::infra::error::{AppError, AppResult};
use crate::orders::OrderStatus;
use crate::orders::entity::order;
use crate::shop::Shop;

const BATCH: u64 = 100;

/// What a lookup found at the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Found {
    Paid,
    NotPaid,
    /// No answer, or none to trust: ask again later.
    Unknown,
}

/// Asks the provider whether `payment` was paid, and pays the order if it was.
async fn look_up(shop: &Shop, payment: &payment::Model) -> AppResult<Found> {
    let number = out_trade_no(payment.id);
    let found = match payment.provider {
        ProviderKind::WechatPay => match &shop.direct().wechatpay {
            Some(client) => client.transaction(&number).await.map(|found| {
                found
                    .filter(|transaction| transaction.trade_state.is_paid())
                    .map(|transaction| {
                        let currency = transaction.amount.as_ref().and_then(|amount| amount.currency.clone());
                        (transaction.total().map_or(0, |total| total.get()), currency)
                    })
            }),
            None => return Ok(Found::Unknown),
        },
        ProviderKind::Alipay => match &shop.direct().alipay {
            Some(client) => client.query(&number).await.map(|found| {
                found
                    .filter(|trade| trade.status.is_paid())
                    .map(|trade| (trade.total.get(), None))
            }),
            None => return Ok(Found::Unknown),
        },
        _ => return Ok(Found::Unknown),
    };
    match found {
        Ok(Some((amount, currency))) => {
            paid(
                shop,
                payment.provider,
                &number,
                amount,
                currency.as_deref().unwrap_or("CNY"),
            )
            .await?;
            Ok(Found::Paid)
        }
        Ok(None) => Ok(Found::NotPaid),
        Err(error) => {
            tracing::warn!(payment = payment.id.0, %error, "a direct payment could not be looked up");
            Ok(Found::Unknown)
        }
    }
}

/// Direct payments still awaiting money, with a trade made, not looked at for `quiet` (and
/// created since `since`, when given), oldest first.
async fn awaiting(shop: &Shop, quiet: Duration, since: Option<DateTime<Utc>>) -> AppResult<Vec<payment::Model>> {
    let cutoff = Utc::now() - chrono::Duration::from_std(quiet).map_err(|e| AppError::Internal(e.into()))?;
    let mut query = payment::Entity::find()
        .filter(payment::Column::Provider.is_in([ProviderKind::WechatPay, ProviderKind::Alipay]))
        .filter(payment::Column::Status.is_in([PaymentStatus::RequiresPayment, PaymentStatus::Processing]))
        .filter(payment::Column::NextActionKind.is_not_null())
        .filter(payment::Column::UpdatedAt.lte(cutoff));
    if let Some(since) = since {
        query = query.filter(payment::Column::CreatedAt.gte(since));
    }
    Ok(query
        .order_by_asc(payment::Column::UpdatedAt)
        .limit(BATCH)
        .all(&shop.db)
        .await?)
}

/// Looks up direct payments whose notification has not come `quiet` after they were last
/// looked at (`shop.direct().look_up_after` in the background; at once for reconciliation);
/// returns (looked up, found paid).
pub async fn look_up_pending(shop: &Shop, quiet: Duration, since: Option<DateTime<Utc>>) -> AppResult<(usize, usize)> {
    if !shop.direct().any() {
        return Ok((0, 0));
    }
    let (mut checked, mut repaired) = (0, 0);
    for payment in awaiting(shop, quiet, since).await? {
        checked += 1;
        if look_up(shop, &payment).await? == Found::Paid {
            repaired += 1;
        }
        // Looked at now: the next lookup waits another `quiet`.
        payment::Entity::update_many()
            .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(payment::Column::Id.eq(payment.id))
            .exec(&shop.db)
            .await?;
    }
    Ok((checked, repaired))
}

/// The background lookup of late notifications.
pub async fn look_up_late(shop: &Shop) -> AppResult<()> {
    look_up_pending(shop, shop.direct().look_up_after, None)
        .await
        .map(|_| ())
}

/// Closes at the provider the trades of orders cancelled unpaid; returns how many closed. A
/// close refused because the buyer paid meanwhile pays (and so refunds) the late payment; an
/// unknown outcome (WeChat's buyer entering a password, no answer) is tried again next time.
pub async fn close_lapsed(shop: &Shop) -> AppResult<usize> {
    if !shop.direct().any() {
        return Ok(0);
    }
    let cancelled_unpaid = Query::select()
        .column(order::Column::Id)
        .from(order::Entity)
        .and_where(order::Column::Status.eq(OrderStatus::Cancelled))
        .and_where(order::Column::PaidAt.is_null())
        .to_owned();
    let lapsed = payment::Entity::find()
        .filter(payment::Column::Provider.is_in([ProviderKind::WechatPay, ProviderKind::Alipay]))
        .filter(payment::Column::Status.eq(PaymentStatus::RequiresPayment))
        .filter(payment::Column::OrderId.in_subquery(cancelled_unpaid))
        .order_by_asc(payment::Column::Id)
        .limit(BATCH)
        .all(&shop.db)
        .await?;
    let mut closed = 0;
    for payment in &lapsed {
        if close(shop, payment).await? {
            closed += 1;
        }
    }
    Ok(closed)
}

/// Closes one trade; true when it is closed (the payment then FAILS: nobody can pay it).
async fn close(shop: &Shop, payment: &payment::Model) -> AppResult<bool> {
    let number = out_trade_no(payment.id);
    let outcome = match payment.provider {
        ProviderKind::WechatPay => match &shop.direct().wechatpay {
            Some(client) => client.close(&number).await,
            None => return Ok(false),
        },
        ProviderKind::Alipay => match &shop.direct().alipay {
            Some(client) => client.close(&number).await.map(|_: Closed| ()),
            None => return Ok(false),
        },
        _ => return Ok(false),
    };
    match outcome {
        Ok(()) => {}
        // Paid meanwhile (ORDERPAID, ACQ.TRADE_STATUS_ERROR), or closed already: the trade says.
        Err(CallError::Refused { code, message }) => {
            tracing::info!(payment = payment.id.0, %code, %message, "closing a trade was refused; looking it up");
            if look_up(shop, payment).await? != Found::NotPaid {
                return Ok(false);
            }
        }
        Err(CallError::Unknown(reason)) => {
            tracing::warn!(payment = payment.id.0, %reason, "closing a trade had no clear outcome; it is tried again");
            return Ok(false);
        }
    }
    let failed = payment::Entity::update_many()
        .col_expr(payment::Column::Status, Expr::value(PaymentStatus::Failed))
        .col_expr(
            payment::Column::LastError,
            Expr::value("closed at the provider: the order was cancelled unpaid"),
        )
        .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(payment::Column::Id.eq(payment.id))
        .filter(payment::Column::Status.eq(PaymentStatus::RequiresPayment))
        .exec(&shop.db)
        .await?;
    Ok(failed.rows_affected == 1)
}
