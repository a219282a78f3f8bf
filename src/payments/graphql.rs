//! The contract's "Payments" section: `Order.payment`, `refundOrder`, `recordBankTransfer`.

use async_graphql::{Context, ID, Object};

use super::PaymentStatus;
use super::entity::payment;
use super::service;
use super::stripe::StripeGateway;
use crate::accounts::Role;
use crate::accounts::policy::{RoleGuard, viewer};
use crate::error::{AppError, AppResult, UserError};
use crate::graphql::{database, storefront_cache};
use crate::money::{Fen, Money};
use crate::orders::entity::order;
use crate::orders::graphql::{OrderPayload, visible_order_row};

type Result<T> = async_graphql::Result<T>;

/// The Stripe gateway, when Stripe is configured.
pub fn gateway<'a>(ctx: &Context<'a>) -> Option<&'a StripeGateway> {
    ctx.data_opt::<StripeGateway>()
}

/// An order's payment, as one viewer may see it.
pub struct Payment {
    row: payment::Model,
    /// Only the buyer gets the client secret (it lets its holder complete the payment).
    for_buyer: bool,
}

impl Payment {
    pub fn new(row: payment::Model, for_buyer: bool) -> Payment {
        Payment { row, for_buyer }
    }
}

#[Object]
impl Payment {
    /// `stripe` or `bank_transfer`.
    async fn provider(&self) -> &str {
        &self.row.provider
    }

    async fn status(&self) -> Result<PaymentStatus> {
        Ok(PaymentStatus::from_db(&self.row.status)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown payment status {}", self.row.status)))?)
    }

    /// For Stripe.js to confirm the PaymentIntent; shown to the buyer only.
    async fn client_secret(&self) -> Option<&str> {
        if self.for_buyer {
            self.row.client_secret.as_deref()
        } else {
            None
        }
    }

    async fn amount(&self) -> Money {
        Fen::new(self.row.amount_fen).into()
    }

    async fn refunded(&self) -> Money {
        Fen::new(self.row.refunded_fen).into()
    }

    /// The reason an operator must look at this payment (an amount that did not match).
    async fn review_reason(&self) -> Option<&str> {
        self.row
            .needs_review
            .then_some(self.row.review_reason.as_deref())
            .flatten()
    }
}

#[derive(Default)]
pub struct PaymentsMutation;

#[Object]
impl PaymentsMutation {
    /// Refunds an order in full, or `amount` of it (decimal yuan), up to what is paid and not yet
    /// refunded (operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn refund_order(&self, ctx: &Context<'_>, order_id: ID, amount: Option<String>) -> Result<OrderPayload> {
        let Some(order) = visible_order_row(ctx, &order_id).await? else {
            return Ok(OrderPayload::failed(
                UserError::new("NOT_FOUND", "no such order").on_field(&["orderId"]),
            ));
        };
        let amount = match amount.as_deref().map(Fen::parse_yuan) {
            None => None,
            Some(Ok(amount)) => Some(amount),
            Some(Err(problem)) => {
                return Ok(OrderPayload::failed(
                    UserError::new("INVALID_INPUT", problem.to_string()).on_field(&["amount"]),
                ));
            }
        };
        let db = database(ctx)?;
        let Some(payment) = service::payment_of(db, order.id).await? else {
            return Ok(OrderPayload::failed(
                UserError::new("NOT_REFUNDABLE", "nothing has been paid that could be refunded").on_field(&["orderId"]),
            ));
        };
        match service::refund(db, gateway(ctx), &payment, amount, "refunded by an operator").await? {
            Ok(refunded) => {
                // A refund after delivery takes the money back from the producers' earnings.
                let settings = ctx
                    .data::<crate::orders::graphql::OrderSettings>()
                    .map_err(|_| AppError::Internal(anyhow::anyhow!("no order settings")))?;
                crate::payouts::ledger::record_refund(
                    db,
                    order.id,
                    refunded.refund_id,
                    refunded.amount,
                    settings.payouts,
                )
                .await?;
                if refunded.effect.availability_changed {
                    storefront_cache(ctx)?.availability_changed().await;
                }
                Ok(OrderPayload::of(ctx, order.id).await?)
            }
            Err(problem) => Ok(OrderPayload::failed(problem)),
        }
    }

    /// Records a 对公转账 that arrived for a bank-transfer order (operators): the order is paid.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn record_bank_transfer(&self, ctx: &Context<'_>, order_id: ID, reference: String) -> Result<OrderPayload> {
        let Some(order) = visible_order_row(ctx, &order_id).await? else {
            return Ok(OrderPayload::failed(
                UserError::new("NOT_FOUND", "no such order").on_field(&["orderId"]),
            ));
        };
        match service::record_bank_transfer(database(ctx)?, &order, &reference).await? {
            Ok(effect) => {
                if effect.availability_changed {
                    storefront_cache(ctx)?.availability_changed().await;
                }
                Ok(OrderPayload::of(ctx, order.id).await?)
            }
            Err(problem) => Ok(OrderPayload::failed(problem)),
        }
    }
}

/// `Order.payment` for the viewer.
pub async fn payment_for(ctx: &Context<'_>, order: &order::Model) -> AppResult<Option<Payment>> {
    let row = service::payment_of(database(ctx)?, order.id).await?;
    let for_buyer = matches!(viewer(ctx), crate::accounts::Viewer::User(me) if me.user_id == order.buyer_id);
    Ok(row.map(|row| Payment::new(row, for_buyer)))
}
