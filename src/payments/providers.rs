//! The ways to pay, behind one trait: Stripe (card, and Alipay and WeChat Pay when these are
//! not paid directly), WeChat Pay and Alipay paid directly (`direct_providers`), bank transfer
//! (对公转账), a member's welfare allowance and an organisation's fund. A provider starts a payment and sends a refund
//! that has been decided; everything else (recording, the earnings, the order) is the same
//! whichever provider it is.

use async_trait::async_trait;
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::ProviderKind;
use super::checkout::{Checkout, NextAction};
use super::direct_providers;
use super::entity::payment;
use super::entity::refund::{self, RefundStatus};
use super::stripe::{CallError, Refund, StripeGateway};
use crate::infra::error::{AppResult, UserError};
use crate::infra::ids::PaymentId;
use crate::orders::PaymentMethod;
use crate::orders::entity::order;
use crate::shop::Shop;

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

/// The provider that takes `method`, if the shop has it.
pub fn for_method(shop: &Shop, method: PaymentMethod) -> Option<Box<dyn PaymentProvider + '_>> {
    if let Some(direct) = direct_providers::for_method(shop, method) {
        return Some(direct);
    }
    match method {
        PaymentMethod::Card | PaymentMethod::Alipay | PaymentMethod::WechatPay => shop
            .stripe
            .as_ref()
            .map(|gateway| Box::new(Stripe { gateway }) as Box<dyn PaymentProvider>),
        PaymentMethod::BankTransfer => Some(Box::new(BankTransfer)),
        PaymentMethod::WelfareAllowance => Some(Box::new(HeldByTheShop(ProviderKind::Allowance))),
        PaymentMethod::OrganisationFund => Some(Box::new(HeldByTheShop(ProviderKind::OrganisationFund))),
        // Taken at a store's counter, never online.
        PaymentMethod::Cash => None,
    }
}

/// The provider a payment was made with, if the shop has it.
pub fn of_payment<'a>(shop: &'a Shop, payment: &payment::Model) -> Option<Box<dyn PaymentProvider + 'a>> {
    match payment.provider {
        ProviderKind::Stripe => shop
            .stripe
            .as_ref()
            .map(|gateway| Box::new(Stripe { gateway }) as Box<dyn PaymentProvider>),
        ProviderKind::BankTransfer => Some(Box::new(BankTransfer)),
        kind @ (ProviderKind::Allowance | ProviderKind::OrganisationFund) => Some(Box::new(HeldByTheShop(kind))),
        kind @ (ProviderKind::WechatPay | ProviderKind::Alipay) => direct_providers::of_kind(shop, kind),
    }
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

/// Money the shop holds already, taken in the transaction that places the order, which is paid
/// there and then: a member's welfare allowance (工会福利, `unions::funds::spend`) or an
/// organisation's fund for its bulk order (`unions::funds::purchase`). A refund goes back in the
/// transaction that decides it (`unions::funds::give_back`, `unions::funds::refund_to_fund`).
/// Never cash: there is nothing to send anywhere.
struct HeldByTheShop(ProviderKind);

#[async_trait]
impl PaymentProvider for HeldByTheShop {
    fn kind(&self) -> ProviderKind {
        self.0
    }

    /// The placing transaction wrote the payment already; nothing is left to start.
    async fn start(
        &self,
        _order: &order::Model,
        _method: PaymentMethod,
        _start: Start<'_>,
    ) -> AppResult<Result<Started, UserError>> {
        Ok(Ok(Started::default()))
    }

    async fn send_refund(
        &self,
        _db: &DatabaseConnection,
        refund: &refund::Model,
        _payment: &payment::Model,
    ) -> AppResult<RefundAttempt> {
        let source = match self.0 {
            ProviderKind::OrganisationFund => "organisation-fund",
            _ => "allowance",
        };
        Ok(RefundAttempt::Sent {
            reference: format!("{source}-{}", refund.id),
        })
    }
}

/// 对公转账: the buyer's company transfers the money, an operator records it; refunds go back
/// the same way, sent by an operator (`pendingBankRefunds`).
struct BankTransfer;

#[async_trait]
impl PaymentProvider for BankTransfer {
    fn kind(&self) -> ProviderKind {
        ProviderKind::BankTransfer
    }

    async fn start(
        &self,
        _order: &order::Model,
        _method: PaymentMethod,
        _start: Start<'_>,
    ) -> AppResult<Result<Started, UserError>> {
        Ok(Ok(Started::default()))
    }

    async fn send_refund(
        &self,
        _db: &DatabaseConnection,
        _refund: &refund::Model,
        _payment: &payment::Model,
    ) -> AppResult<RefundAttempt> {
        Ok(RefundAttempt::Waiting)
    }
}

/// Stripe: a PaymentIntent per order; refunds keyed and tagged by our refund's id.
struct Stripe<'a> {
    gateway: &'a StripeGateway,
}

#[async_trait]
impl PaymentProvider for Stripe<'_> {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Stripe
    }

    async fn start(
        &self,
        order: &order::Model,
        method: PaymentMethod,
        _start: Start<'_>,
    ) -> AppResult<Result<Started, UserError>> {
        let intent = self
            .gateway
            // Of a split payment, Stripe takes what the allowance did not pay.
            .create_payment_intent(order.id, order.total_fen - order.allowance_fen, method)
            .await?;
        Ok(Ok(Started {
            external_id: Some(intent.id.to_string()),
            client_secret: intent.client_secret,
            next_action: None,
        }))
    }

    /// An earlier call whose answer was lost may have made the refund: Stripe is asked first.
    /// Then one caller at a time (a claim that counts the attempt) asks Stripe to refund, under
    /// the refund's own idempotency key.
    async fn send_refund(
        &self,
        db: &DatabaseConnection,
        row: &refund::Model,
        payment: &payment::Model,
    ) -> AppResult<RefundAttempt> {
        let Some(intent) = &payment.stripe_payment_intent_id else {
            return Ok(RefundAttempt::Refused("the payment has no PaymentIntent".to_owned()));
        };
        if row.attempts > 0 {
            match self.gateway.find_refund(row.id, intent).await {
                Ok(Some(found)) => return Ok(concluded(&found)),
                Ok(None) => {}
                Err(error) => return Ok(RefundAttempt::Unknown(error.to_string())),
            }
        }
        if !claim_attempt(db, row).await? {
            return Ok(RefundAttempt::Waiting);
        }
        Ok(match self.gateway.refund(row.id, intent, row.amount_fen).await {
            Ok(made) => concluded(&made),
            Err(CallError::Refused(reason)) => RefundAttempt::Refused(reason),
            Err(error @ CallError::Unknown(_)) => RefundAttempt::Unknown(error.to_string()),
        })
    }
}

/// A refund Stripe has: on its way back, unless Stripe says it failed.
pub fn concluded(found: &Refund) -> RefundAttempt {
    match found.status.as_deref() {
        Some("failed" | "canceled") => RefundAttempt::Refused("Stripe reports the refund failed".to_owned()),
        _ => RefundAttempt::Sent {
            reference: found.id.to_string(),
        },
    }
}
