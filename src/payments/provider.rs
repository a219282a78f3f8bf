//! What every way to pay does, whichever it is: start a payment, send a decided refund. The
//! providers themselves are in `providers` (Stripe, bank transfer, money the shop holds) and
//! `direct_providers` (WeChat Pay and Alipay paid directly).

use async_trait::async_trait;
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::ProviderKind;
use super::checkout::{Checkout, NextAction};
use super::entity::payment;
use super::entity::refund::{self, RefundStatus};
use crate::infra::error::{AppResult, UserError};
use crate::infra::ids::PaymentId;
use crate::orders::PaymentMethod;
use crate::orders::entity::order;

/// What a provider made to start a payment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Started {
    /// The provider's own id for it (a Stripe PaymentIntent).
    pub external_id: Option<String>,
    /// What the buyer's app needs to complete it.
    pub client_secret: Option<String>,
    /// What the buyer's app does next (a QR code, a redirect, WeChat's JSAPI).
    pub next_action: Option<NextAction>,
}

/// What starting a payment knows besides its order.
#[derive(Clone, Copy, Debug)]
pub struct Start<'a> {
    /// The payment's row, written first for a provider that names the payment by it
    /// ([`PaymentProvider::names_by_row`]).
    pub payment_id: Option<PaymentId>,
    pub checkout: &'a Checkout,
}

/// What sending a refund came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundAttempt {
    /// The money is on its way back; the provider's reference for it.
    Sent { reference: String },
    /// A definite no: nothing was refunded.
    Refused(String),
    /// No definite answer: it may or may not have been made; ask again later.
    Unknown(String),
    /// Taken in by the provider, which tells its end later (a notification, or a lookup).
    InProgress,
    /// Nothing to send now: an operator sends it (by bank), or another caller is sending it.
    Waiting,
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// What the payment row keeps, to find this provider again for refunds.
    fn kind(&self) -> ProviderKind;

    /// Whether the payment row is written before the provider is asked, which names the payment
    /// by the row's id: a start whose answer was lost is asked again under the same name.
    fn names_by_row(&self) -> bool {
        false
    }

    /// Starts paying for `order` by `method`.
    async fn start(
        &self,
        order: &order::Model,
        method: PaymentMethod,
        start: Start<'_>,
    ) -> AppResult<Result<Started, UserError>>;

    /// Sends the decided, still pending `refund` of `payment`.
    async fn send_refund(
        &self,
        db: &DatabaseConnection,
        refund: &refund::Model,
        payment: &payment::Model,
    ) -> AppResult<RefundAttempt>;
}

/// Takes the turn to send `row`: counts the attempt, unless another caller took it since `row`
/// was read. False: someone else is sending it.
pub(super) async fn claim_attempt(db: &DatabaseConnection, row: &refund::Model) -> AppResult<bool> {
    let claimed = refund::Entity::update_many()
        .col_expr(refund::Column::Attempts, Expr::col(refund::Column::Attempts).add(1))
        .col_expr(refund::Column::AttemptedAt, Expr::value(Utc::now()))
        .filter(refund::Column::Id.eq(row.id))
        .filter(refund::Column::Status.eq(RefundStatus::Pending))
        .filter(refund::Column::Attempts.eq(row.attempts))
        .exec(db)
        .await?;
    Ok(claimed.rows_affected == 1)
}
