//! Who a payout pays, and where the money goes: a producer (its earnings) or a livestream host
//! (its commissions). Runs, transfers and bank files ask here, whatever the payee.

use sea_orm::{ConnectionTrait, EntityTrait};

use super::entity::payout::{self, PayeeKind};
use crate::accounts::entity::user;
use crate::catalogue::entity::producer;
use crate::error::{AppError, AppResult};

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
                bank_account_name: None,
                bank_account_number: None,
                stripe_account: None,
            })
        }
        _ => Err(missing()),
    }
}
