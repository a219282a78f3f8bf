//! Who a payout pays, and where the money goes: a producer (its earnings) or a livestream host
//! (its commissions). Runs, transfers and bank files ask here, whatever the payee.

use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, Set};

use super::entity::payout::{self, PayeeKind};
use crate::accounts::entity::user;
use crate::catalogue::entity::producer;
use crate::infra::error::Outcome;
use crate::infra::error::{AppError, AppResult, UserError};
use crate::infra::error_code::ErrorCode;

/// A payee's name and accounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payee {
    pub name: String,
    /// The name on the bank account, and its number, for the bank file.
    pub bank_account_name: Option<String>,
    pub bank_account_number: Option<String>,
    /// A Stripe connected account (`acct_…`), when the payee has one.
    pub stripe_account: Option<String>,
}

/// The payee of `payout`.
pub async fn payee_of(db: &impl ConnectionTrait, payout: &payout::Model) -> AppResult<Payee> {
    let missing = || AppError::Internal(anyhow::anyhow!("payout {} without its payee", payout.id));
    match (payout.payee_kind, payout.producer_id, payout.host_id) {
        (PayeeKind::Producer, Some(producer_id), _) => {
            let producer = producer::Entity::find_by_id(producer_id)
                .one(db)
                .await?
                .ok_or_else(missing)?;
            Ok(Payee {
                name: producer.name,
                bank_account_name: producer.bank_account_name,
                bank_account_number: producer.bank_account_number,
                stripe_account: producer.stripe_account_id,
            })
        }
        (PayeeKind::Host, _, Some(host_id)) => {
            let host = user::Entity::find_by_id(host_id).one(db).await?.ok_or_else(missing)?;
            Ok(Payee {
                name: host.display_name,
                bank_account_name: host.bank_account_name,
                bank_account_number: host.bank_account_number,
                stripe_account: host.stripe_account_id,
            })
        }
        _ => Err(missing()),
    }
}

/// A Stripe connected account id, as an operator (or a host, for its own) gives it: `acct_…`.
pub fn check_stripe_account(account: Option<&str>) -> Result<(), UserError> {
    match account {
        Some(account) if !(account.starts_with("acct_") && account.len() <= 100) => {
            Err(UserError::new(ErrorCode::InvalidInput, "stripe-account-format").on_field(&["stripeAccountId"]))
        }
        _ => Ok(()),
    }
}

/// Where a host's money goes: a Stripe connected account, and the bank account payouts by
/// bank are sent to.
pub struct HostPayoutAccount {
    pub stripe_account_id: Option<String>,
    pub bank_account_name: Option<String>,
    pub bank_account_number: Option<String>,
}

/// `setHostPayoutAccount` (the host itself, or operators; the caller checks): the Stripe
/// connected account a host's payouts go to, or none to be paid by bank, to the bank account
/// given. Payouts already recorded keep the method they were recorded with.
pub async fn set_host_stripe_account(
    db: &impl ConnectionTrait,
    host: user::Model,
    account: HostPayoutAccount,
) -> Outcome<user::Model> {
    if let Err(problem) = check_stripe_account(account.stripe_account_id.as_deref()) {
        return Ok(Err(problem));
    }
    let mut changed = host.into_active_model();
    changed.stripe_account_id = Set(account.stripe_account_id);
    changed.bank_account_name = Set(account.bank_account_name);
    changed.bank_account_number = Set(account.bank_account_number);
    Ok(Ok(changed.update(db).await?))
}
