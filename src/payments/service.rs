//! Payments: starting one for an order, and money arriving (a card event or a recorded bank
//! transfer). Every effect is conditional on the state it changes from, and the payment and its
//! order change in one transaction, so applying the same event twice, or an old event late,
//! changes nothing.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::checkout::Checkout;
use super::entity::payment;
use super::provider::{Start, Started};
use super::records::{flag, payment_of};
use super::refunds::decide;
use super::settling;
use super::stripe::PaymentIntentStatus;
use super::{PaymentStatus, ProviderKind, providers};
use crate::infra::db::begin_write;
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::ids::OrderId;
use crate::infra::ids::{PaymentId, RefundId};
use crate::infra::money::Fen;
use crate::orders::OrderStatus;
use crate::orders::entity::order;
use crate::orders::service::lifecycle::mark_paid;
use crate::shop::{Effect, Shop};

/// Inside the transaction that places `order`: its payment row, waiting for the money, by the
/// provider of the order's method, so that one commit places the order with its payment (the
/// provider itself is asked after the commit, by [`start`]). None when the shop has no such
/// provider: [`start`] then says so, and the order stands.
pub async fn open(txn: &impl ConnectionTrait, shop: &Shop, order: &order::Model) -> AppResult<Option<payment::Model>> {
    Ok(open_all(txn, opening(shop, order).into_iter().collect()).await?.pop())
}

/// The row [`open`] writes for `order`, for a caller that writes several orders' at once.
pub fn opening(shop: &Shop, order: &order::Model) -> Option<payment::ActiveModel> {
    let provider = providers::for_method(shop, order.remainder_method.unwrap_or(order.payment_method))?;
    Some(new_row(order, provider.kind(), Started::default()))
}

/// Writes payment rows made by [`opening`] in one statement.
pub async fn open_all(txn: &impl ConnectionTrait, rows: Vec<payment::ActiveModel>) -> AppResult<Vec<payment::Model>> {
    Ok(payment::Entity::insert_many(rows).exec_with_returning(txn).await?)
}

/// The order's payment, started if it was not, by the provider of the order's method: a
/// Stripe PaymentIntent for card (and for Alipay and WeChat Pay unless these are paid
/// directly; one per order, created under the order's idempotency key), a trade at WeChat Pay
/// or Alipay named by the payment's row, a waiting row for a bank transfer. Safe to call again,
/// e.g. when a retried `placeOrder` finds its order: a payment whose start got no answer is
/// asked again under the same name.
pub async fn start(shop: &Shop, order: &order::Model, checkout: &Checkout) -> Outcome<payment::Model> {
    let existing = payment_of(&shop.db, order.id).await?;
    start_with(shop, order, existing, checkout).await
}

/// [`start`], given the order's payment row as it stands (written by placing, or read).
pub async fn start_with(
    shop: &Shop,
    order: &order::Model,
    existing: Option<payment::Model>,
    checkout: &Checkout,
) -> Outcome<payment::Model> {
    if let Some(row) = &existing
        && !awaits_start(row)
    {
        return Ok(Ok(row.clone()));
    }
    let method = order.remainder_method.unwrap_or(order.payment_method);
    let provider = match &existing {
        Some(row) => providers::of_payment(shop, row),
        None => providers::for_method(shop, method),
    };
    let Some(provider) = provider else {
        return Ok(Err(UserError::new(
            ErrorCode::PaymentsUnavailable,
            "online-payments-unavailable",
        )));
    };
    if provider.names_by_row() {
        let row = match existing {
            Some(row) => row,
            None => insert_row(shop, order, provider.kind(), Started::default()).await?,
        };
        // An order no longer awaiting payment is not offered to the buyer again.
        if order.status != OrderStatus::PendingPayment {
            return Ok(Ok(row));
        }
        let how = Start {
            payment_id: Some(row.id),
            checkout,
        };
        let started = match provider.start(order, method, how).await? {
            Ok(started) => started,
            Err(problem) => return Ok(Err(problem)),
        };
        if let Some(action) = started.next_action {
            payment::Entity::update_many()
                .col_expr(payment::Column::NextActionKind, Expr::value(action.kind))
                .col_expr(payment::Column::NextAction, Expr::value(action.value))
                .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(payment::Column::Id.eq(row.id))
                .filter(payment::Column::NextActionKind.is_null())
                .exec(&shop.db)
                .await?;
        }
        return Ok(Ok(reread(shop, order).await?));
    }
    if let Some(row) = &existing
        && order.status != OrderStatus::PendingPayment
    {
        return Ok(Ok(row.clone()));
    }
    let how = Start {
        payment_id: None,
        checkout,
    };
    let started = match provider.start(order, method, how).await? {
        Ok(started) => started,
        Err(problem) => return Ok(Err(problem)),
    };
    Ok(Ok(match existing {
        Some(row) => record_started(shop, &row, started).await?,
        None => insert_row(shop, order, provider.kind(), started).await?,
    }))
}

/// A payment waiting for its provider to start it: a direct trade never made, or a Stripe
/// intent never created (the start after the placing commit got no answer): ask again.
fn awaits_start(row: &payment::Model) -> bool {
    row.status == PaymentStatus::RequiresPayment
        && match row.provider {
            ProviderKind::Stripe => row.stripe_payment_intent_id.is_none(),
            kind => kind.is_direct() && row.next_action_kind.is_none(),
        }
}

/// What the provider started, on the row placing wrote (once: a concurrent start of the same
/// order made the same intent, under the order's key, and the first to record it wins).
async fn record_started(shop: &Shop, row: &payment::Model, started: Started) -> AppResult<payment::Model> {
    let recorded = payment::Entity::update_many()
        .col_expr(payment::Column::StripePaymentIntentId, Expr::value(started.external_id))
        .col_expr(payment::Column::ClientSecret, Expr::value(started.client_secret))
        .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(payment::Column::Id.eq(row.id))
        .filter(payment::Column::StripePaymentIntentId.is_null())
        .exec_with_returning(&shop.db)
        .await?;
    match recorded.into_iter().next() {
        Some(row) => Ok(row),
        None => payment::Entity::find_by_id(row.id)
            .one(&shop.db)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("payment row vanished"))),
    }
}

/// The order's payment row, written with what its provider started (once per order).
async fn insert_row(
    shop: &Shop,
    order: &order::Model,
    provider: ProviderKind,
    started: Started,
) -> AppResult<payment::Model> {
    // A concurrent start for the same order inserted first: its row is the answer.
    payment::Entity::insert(new_row(order, provider, started))
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(payment::Column::OrderId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&shop.db)
        .await?;
    reread(shop, order).await
}

/// A payment row for `order` waiting for its money, with what its provider started.
fn new_row(order: &order::Model, provider: ProviderKind, started: Started) -> payment::ActiveModel {
    let now = Utc::now();
    let (next_action_kind, next_action) = match started.next_action {
        Some(action) => (Some(action.kind), Some(action.value)),
        None => (None, None),
    };
    payment::ActiveModel {
        order_id: Set(order.id),
        provider: Set(provider),
        status: Set(PaymentStatus::RequiresPayment),
        amount_fen: Set(order.total_fen),
        refunded_fen: Set(Fen::ZERO),
        currency: Set("cny".to_owned()),
        stripe_payment_intent_id: Set(started.external_id),
        client_secret: Set(started.client_secret),
        bank_reference: Set(None),
        last_error: Set(None),
        needs_review: Set(false),
        review_reason: Set(None),
        next_action_kind: Set(next_action_kind),
        next_action: Set(next_action),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

async fn reread(shop: &Shop, order: &order::Model) -> AppResult<payment::Model> {
    payment_of(&shop.db, order.id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("payment row vanished")))
}

/// Money arrived for `payment` (`amount` in `currency`): if it is the order's amount, the
/// payment SUCCEEDS and, in the same transaction, the order is paid; an order cancelled
/// meanwhile (by its buyer, or expired) stays cancelled and the money is refunded in full
/// (decided in the same transaction, so a retried event finds the refund and changes nothing).
pub async fn apply_success(shop: &Shop, payment: &payment::Model, amount: Fen, currency: &str) -> AppResult<()> {
    let Some(order) = order::Entity::find_by_id(payment.order_id).one(&shop.db).await? else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "payment {} without its order",
            payment.id
        )));
    };
    // The allowance paid its part when the order was placed; the provider brings the rest.
    let due = order.total_fen - order.allowance_fen;
    if amount != due || !currency.eq_ignore_ascii_case("cny") {
        if !payment.needs_review {
            let reason = format!("paid {amount} {currency}, but the order is {due} CNY");
            flag(&shop.db, payment, reason).await?;
        }
        return Ok(());
    }
    let txn = begin_write(&shop.db).await?;
    let arrived = payment::Entity::update_many()
        .col_expr(payment::Column::Status, Expr::value(PaymentStatus::Succeeded))
        .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(payment::Column::Id.eq(payment.id))
        .filter(payment::Column::Status.is_in([
            PaymentStatus::RequiresPayment,
            PaymentStatus::Processing,
            PaymentStatus::Failed,
        ]))
        .exec(&txn)
        .await?;
    if arrived.rows_affected != 1 {
        // Applied before (and perhaps refunded since): nothing more to do.
        txn.rollback().await?;
        return Ok(());
    }
    let mut effect = Effect::default();
    let mut refund = None;
    match order.status {
        OrderStatus::PendingPayment => {
            if let Some(paid) = mark_paid(&txn, order.id).await? {
                effect = paid;
            }
        }
        // Cancelled by its buyer or expired before the money came: it stays cancelled (its
        // stock, and a split order's allowance, went back then) and the money goes back.
        OrderStatus::Cancelled if order.paid_at.is_none() => {
            refund = late_refund(&txn, shop, payment.id, due).await?;
        }
        _ => {}
    }
    txn.commit().await?;
    shop.announce(effect).await;
    if let Some(refund_id) = refund {
        settling::settle(shop, refund_id).await?;
    }
    Ok(())
}

/// Gives back `amount` that arrived for an order cancelled meanwhile, in the payment's
/// transaction, through the one refund path; the refund to send, if one was decided.
async fn late_refund(
    txn: &sea_orm::DatabaseTransaction,
    shop: &Shop,
    payment_id: PaymentId,
    amount: Fen,
) -> AppResult<Option<RefundId>> {
    let fresh = payment::Entity::find_by_id(payment_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("payment vanished")))?;
    let reason = "paid after the order was cancelled";
    match decide(txn, &fresh, amount, reason, None, shop).await? {
        Ok(decided) => Ok(Some(decided.refund.id)),
        Err(problem) => {
            flag(txn, &fresh, format!("late payment not refunded: {}", problem.message)).await?;
            Ok(None)
        }
    }
}

/// A declined payment: FAILED, unless money already arrived (a late failure never un-pays an
/// order). When unsure, Stripe is asked what the intent's state is now.
pub async fn apply_failure(shop: &Shop, payment: &payment::Model, message: Option<String>) -> AppResult<()> {
    if payment.status.is_settled() {
        return Ok(());
    }
    if let (Some(gateway), Some(intent_id)) = (shop.stripe(), &payment.stripe_payment_intent_id) {
        let intent = gateway.payment_intent(intent_id).await?;
        if intent.status == PaymentIntentStatus::Succeeded {
            return apply_success(
                shop,
                payment,
                Fen::new(intent.amount_received),
                &intent.currency.to_string(),
            )
            .await;
        }
    }
    payment::Entity::update_many()
        .col_expr(payment::Column::Status, Expr::value(PaymentStatus::Failed))
        .col_expr(payment::Column::LastError, Expr::value(message))
        .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(payment::Column::Id.eq(payment.id))
        .filter(payment::Column::Status.is_in([
            PaymentStatus::RequiresPayment,
            PaymentStatus::Processing,
            PaymentStatus::Failed,
        ]))
        .exec(&shop.db)
        .await?;
    Ok(())
}

/// `recordBankTransfer`: an operator saw the 对公转账 arrive.
pub async fn record_bank_transfer(shop: &Shop, order_id: OrderId, reference: &str) -> Outcome<()> {
    let reference = match crate::infra::text::bank_reference(reference) {
        Ok(reference) => reference,
        Err(problem) => return Ok(Err(problem)),
    };
    let not_payable = |message: &'static str| {
        Ok(Err(
            UserError::new(ErrorCode::NotPayable, message).on_field(&["orderId"])
        ))
    };
    let Some(payment) = payment_of(&shop.db, order_id).await? else {
        return not_payable("not-paid-by-bank");
    };
    if payment.provider != ProviderKind::BankTransfer {
        return not_payable("not-paid-by-bank");
    }
    if payment.status.is_settled() {
        return not_payable("paid-already");
    }
    payment::Entity::update_many()
        .col_expr(payment::Column::BankReference, Expr::value(reference))
        .filter(payment::Column::Id.eq(payment.id))
        .exec(&shop.db)
        .await?;
    let total = order::Entity::find_by_id(order_id)
        .one(&shop.db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order {order_id} vanished")))
        .map(|order| order.total_fen - order.allowance_fen)?;
    apply_success(shop, &payment, total, "cny").await?;
    Ok(Ok(()))
}
