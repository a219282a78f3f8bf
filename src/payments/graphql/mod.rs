//! The contract's "Payments" section (`refundOrder`, `recordBankTransfer`; `Order.payment` is in
//! `payment`) and "Refunds that wait for a bank" (`pendingBankRefunds`, `recordBankRefund`).

pub mod payment;

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;

use super::bank_refunds::{self, PendingBankRefund};
use super::entity::refund::RefundStatus;
use super::{records, refunds, service};
use crate::accounts::Role;
use crate::accounts::entity::user;
use crate::accounts::policy::{RoleGuard, viewer};
use crate::infra::error::{AppError, AppResult, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::graphql::context::{database, wants_total_count};
use crate::infra::graphql::global_id::{NodeType, decode_as, encode};
use crate::infra::graphql::relay::{PageRequest, RelayConnection, connection};
use crate::infra::ids::RefundId;
use crate::infra::money::{Fen, Money};
use crate::orders::entity::order;
use crate::orders::graphql::{Order, OrderPayload, visible_order_row};
use crate::shop::shop;

type Result<T> = async_graphql::Result<T>;

/// A refund of a bank-transfer order, to be sent back by bank (operators).
pub struct BankRefund(PendingBankRefund);

#[Object]
impl BankRefund {
    pub async fn id(&self) -> ID {
        encode(NodeType::BankRefund, self.0.refund.id)
    }

    async fn order(&self, ctx: &Context<'_>) -> Result<Order> {
        let db = database(ctx)?;
        let row = order::Entity::find_by_id(self.0.order_id)
            .one(db)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("bank refund without its order")))?;
        Ok(Order::visible_to(db, viewer(ctx), row)
            .await?
            .ok_or(AppError::Forbidden)?)
    }

    async fn amount(&self) -> Money {
        self.0.refund.amount_fen.into()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.refund.created_at
    }

    /// `PENDING` until an operator records the transfer back, then `SUCCEEDED`.
    async fn status(&self) -> &'static str {
        match self.0.refund.status {
            RefundStatus::Pending => "PENDING",
            RefundStatus::Succeeded => "SUCCEEDED",
            RefundStatus::Failed => "FAILED",
        }
    }

    /// Why the money goes back ("cancelled by the buyer", "refunded by an operator", …).
    async fn reason(&self) -> &str {
        &self.0.refund.reason
    }

    /// The reference the buyer's transfer arrived with: which account to send the money back to.
    async fn paid_with_reference(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let payment = records::payment_of(database(ctx)?, self.0.order_id).await?;
        Ok(payment.and_then(|p| p.bank_reference))
    }

    /// The buyer's account email, for telling them the money is on its way.
    async fn buyer_email(&self, ctx: &Context<'_>) -> Result<String> {
        let db = database(ctx)?;
        let order = order::Entity::find_by_id(self.0.order_id)
            .one(db)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("bank refund without its order")))?;
        let buyer = user::Entity::find_by_id(order.buyer_id)
            .one(db)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order without its buyer")))?;
        Ok(buyer.email)
    }

    /// The bank's reference for the transfer back, once recorded.
    async fn bank_reference(&self) -> Option<&str> {
        self.0.refund.bank_reference.as_deref()
    }

    async fn refunded_at(&self) -> Option<DateTime<Utc>> {
        (self.0.refund.status == RefundStatus::Succeeded)
            .then_some(self.0.refund.settled_at)
            .flatten()
    }
}

#[derive(Default)]
pub struct PaymentsQuery;

#[Object]
impl PaymentsQuery {
    /// Bank refunds an operator has still to send, oldest first (operators).
    #[graphql(
        guard = "RoleGuard::any_of(&[Role::Admin])",
        complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)"
    )]
    async fn pending_bank_refunds(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<RefundId, BankRefund>> {
        let page = PageRequest::new(first, after.as_deref())?;
        let (rows, total) = bank_refunds::pending_bank_refunds(database(ctx)?, &page, wants_total_count(ctx)).await?;
        Ok(connection(rows, &page, total, |row| row.refund.id, BankRefund))
    }
}

#[derive(Default)]
pub struct PaymentsMutation;

#[Object]
impl PaymentsMutation {
    /// Refunds an order in full, or `amount` of it (decimal yuan), up to what is paid and not yet
    /// refunded (operators). A bank-transfer order's refund waits in `pendingBankRefunds`.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn refund_order(&self, ctx: &Context<'_>, order_id: ID, amount: Option<String>) -> Result<OrderPayload> {
        let Some(order) = visible_order_row(ctx, &order_id).await? else {
            return Ok(OrderPayload::failed(
                UserError::new(ErrorCode::NotFound, "order-not-found").on_field(&["orderId"]),
            ));
        };
        let amount = match amount.as_deref().map(Fen::parse_yuan) {
            None => None,
            Some(Ok(amount)) => Some(amount),
            Some(Err(problem)) => {
                return Ok(OrderPayload::failed(
                    UserError::new(ErrorCode::InvalidInput, problem.message()).on_field(&["amount"]),
                ));
            }
        };
        match refunds::refund_order(shop(ctx)?, order.id, amount).await? {
            Ok(()) => Ok(OrderPayload::of(ctx, order.id).await?),
            Err(problem) => Ok(OrderPayload::failed(problem)),
        }
    }

    /// Records a 对公转账 that arrived for a bank-transfer order (operators): the order is paid.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn record_bank_transfer(&self, ctx: &Context<'_>, order_id: ID, reference: String) -> Result<OrderPayload> {
        let Some(order) = visible_order_row(ctx, &order_id).await? else {
            return Ok(OrderPayload::failed(
                UserError::new(ErrorCode::NotFound, "order-not-found").on_field(&["orderId"]),
            ));
        };
        match service::record_bank_transfer(shop(ctx)?, order.id, &reference).await? {
            Ok(()) => Ok(OrderPayload::of(ctx, order.id).await?),
            Err(problem) => Ok(OrderPayload::failed(problem)),
        }
    }

    /// Records that a bank refund was sent back, with the bank's reference (operators): the
    /// refund is done.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn record_bank_refund(&self, ctx: &Context<'_>, refund_id: ID, reference: String) -> Result<OrderPayload> {
        let Some(refund_id) = decode_as(&refund_id, NodeType::BankRefund) else {
            return Ok(OrderPayload::failed(
                UserError::new(ErrorCode::NotFound, "refund-not-found").on_field(&["refundId"]),
            ));
        };
        match bank_refunds::record_bank_refund(shop(ctx)?, refund_id, &reference).await? {
            Ok(order_id) => Ok(OrderPayload::of(ctx, order_id).await?),
            Err(problem) => Ok(OrderPayload::failed(problem)),
        }
    }
}

/// A bank refund through `node(id:)`: operators only, null to anyone else.
pub async fn node(ctx: &Context<'_>, refund_id: RefundId) -> AppResult<Option<BankRefund>> {
    if viewer(ctx).with_role(&[Role::Admin]).is_err() {
        return Ok(None);
    }
    Ok(bank_refunds::bank_refund(database(ctx)?, refund_id)
        .await?
        .map(BankRefund))
}
