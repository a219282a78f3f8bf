//! Mail when a payout is sent (paid by Stripe transfer, or confirmed paid by bank), enqueued in
//! that transaction (see `accounts::recipients`): a producer's growers hear of the producer's
//! payout, a livestream host of their own.

use sea_orm::ConnectionTrait;

use super::entity::payout::{self, PayeeKind};
use super::payees::payee_of;
use super::payout_reference;
use crate::accounts::recipients::{self, tell};
use crate::infra::error::AppResult;
use crate::infra::i18n::Message;

pub async fn payout_sent(txn: &impl ConnectionTrait, payout: &payout::Model) -> AppResult<()> {
    let people = match (payout.payee_kind, payout.producer_id, payout.host_id) {
        (PayeeKind::Producer, Some(producer_id), _) => recipients::growers_of(txn, producer_id).await?,
        (PayeeKind::Host, _, Some(host_id)) => recipients::user(txn, host_id).await?.into_iter().collect(),
        _ => Vec::new(),
    };
    if people.is_empty() {
        return Ok(());
    }
    let payee = payee_of(txn, payout).await?;
    let amount = payout.amount_fen;
    let reference = payout_reference(payout.id);
    for person in people {
        tell(
            txn,
            &person,
            &format!("payout-sent:{}", payout.id),
            &Message::new("payout-sent-mail-subject").with("amount", amount),
            &Message::new("payout-sent-mail-body")
                .with("payee", payee.name.as_str())
                .with("amount", amount)
                .with("payout", reference.as_str()),
        )
        .await?;
    }
    Ok(())
}
