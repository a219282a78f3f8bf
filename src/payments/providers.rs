//! The ways to pay, behind one trait: Stripe (card, and Alipay and WeChat Pay when these are
//! not paid directly), WeChat Pay and Alipay paid directly (`direct_providers`), bank transfer
//! (对公转账), a member's welfare allowance and an organisation's fund. A provider starts a payment and sends a refund
//! that has been decided; everything else (recording, the earnings, the order) is the same
//! whichever provider it is.

use async_trait::async_trait;
use sea_orm::DatabaseConnection;

use super::ProviderKind;
use super::direct_providers;
use super::entity::{payment, refund};
use super::provider::{PaymentProvider, RefundAttempt, Start, Started, claim_attempt};
use super::stripe::{CallError, Refund, StripeGateway};
use crate::infra::error::{AppResult, UserError};
use crate::orders::PaymentMethod;
use crate::orders::entity::order;
use crate::shop::Shop;

/// The provider that takes `method`, if the shop has it.
pub fn for_method(shop: &Shop, method: PaymentMethod) -> Option<Box<dyn PaymentProvider + '_>> {
    if let Some(direct) = direct_providers::for_method(shop, method) {
        return Some(direct);
    }
    match method {
        PaymentMethod::Card | PaymentMethod::Alipay | PaymentMethod::WechatPay => shop
            .stripe()
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
            .stripe()
            .map(|gateway| Box::new(Stripe { gateway }) as Box<dyn PaymentProvider>),
        ProviderKind::BankTransfer => Some(Box::new(BankTransfer)),
        kind @ (ProviderKind::Allowance | ProviderKind::OrganisationFund | ProviderKind::Counter) => {
            Some(Box::new(HeldByTheShop(kind)))
        }
        kind @ (ProviderKind::WechatPay | ProviderKind::Alipay) => direct_providers::of_kind(shop, kind),
    }
}

/// Money taken in the transaction that places the order, which is paid there and then: a
/// member's welfare allowance (工会福利, `organisations::funds::spend`), an organisation's
/// fund for its bulk order (`organisations::funds::purchase`), or what a relief supermarket's
/// counter took. A refund goes back in the transaction that decides it
/// (`organisations::funds::give_back`, `organisations::funds::refund_to_fund`, or the clerk's
/// hand): there is nothing to send anywhere.
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
            ProviderKind::Counter => "counter",
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
