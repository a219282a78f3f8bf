//! Mail about refunds, enqueued in the transaction that decides the refund (see
//! `accounts::recipients`): the buyer hears of each refund decided, and every operator of a
//! bank-transfer refund that waits for someone to send it.

use sea_orm::ConnectionTrait;

use super::ProviderKind;
use super::entity::refund::RefundStatus;
use super::entity::{payment, refund};
use crate::accounts::recipients::{self, tell};
use crate::infra::error::AppResult;
use crate::infra::i18n::Message;
use crate::infra::money::Fen;
use crate::orders::service::state::find as find_order;

/// `amount` of `payment` was decided to go back (`last` is the last refund row it wrote).
pub async fn refund_decided(
    txn: &impl ConnectionTrait,
    payment: &payment::Model,
    last: &refund::Model,
    amount: Fen,
) -> AppResult<()> {
    let order = find_order(txn, payment.order_id).await?;
    if let Some(buyer) = recipients::user(txn, order.buyer_id).await? {
        tell(
            txn,
            &buyer,
            &format!("order-refunded:{}", last.id),
            &Message::new("order-refunded-mail-subject").with("order", order.number.as_str()),
            &Message::new("order-refunded-mail-body")
                .with("order", order.number.as_str())
                .with("amount", amount),
        )
        .await?;
    }
    if payment.provider == ProviderKind::BankTransfer && last.status == RefundStatus::Pending {
        for operator in recipients::operators(txn).await? {
            tell(
                txn,
                &operator,
                &format!("bank-refund-waiting:{}", last.id),
                &Message::new("bank-refund-waiting-mail-subject").with("order", order.number.as_str()),
                &Message::new("bank-refund-waiting-mail-body")
                    .with("order", order.number.as_str())
                    .with("amount", last.amount_fen)
                    .with("refund", last.id.0),
            )
            .await?;
        }
    }
    Ok(())
}
