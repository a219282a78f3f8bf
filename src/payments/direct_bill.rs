//! WeChat Pay's trade bills against our records, day by day (Beijing time): a payment the bill
//! has whose notification and lookups all missed is paid through the same success path (its
//! amount checked to the fen there); a payment on the bill that names none of ours is counted
//! for an operator. WeChat Pay makes a day's bill the next morning: a day without one yet is
//! skipped, to be checked by a later run.

use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;

use super::ProviderKind;
use super::direct::BEIJING;
use super::direct_notifications::paid;
use super::direct_pay::payment_id_of;
use super::entity::payment;
use super::wechatpay::TradeBill;
use crate::infra::error::AppResult;
use crate::shop::Shop;

/// What the bills since a day showed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BillCheck {
    /// Payment lines read.
    pub checked: usize,
    /// Payments the bill had that we had not heard of, paid now.
    pub repaired: usize,
    /// Payment lines naming no payment of ours.
    pub unknown: usize,
}

/// Checks every day's bill from `since` to today.
pub async fn check_wechatpay_bills(shop: &Shop, since: DateTime<Utc>) -> AppResult<BillCheck> {
    let mut found = BillCheck::default();
    let Some(client) = &shop.direct().wechatpay else {
        return Ok(found);
    };
    let today = Utc::now().with_timezone(&BEIJING).date_naive();
    let mut day = since.with_timezone(&BEIJING).date_naive();
    while day <= today {
        match client.trade_bill(day).await {
            Ok(bill) => check_bill(shop, &bill, &mut found).await?,
            Err(error) => tracing::info!(%day, %error, "no WeChat Pay trade bill for the day (yet)"),
        }
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
    Ok(found)
}

async fn check_bill(shop: &Shop, bill: &TradeBill, found: &mut BillCheck) -> AppResult<()> {
    for row in bill.rows.iter().filter(|row| row.trade_state == "SUCCESS") {
        found.checked += 1;
        let ours = match payment_id_of(&row.out_trade_no) {
            Some(payment_id) => payment::Entity::find_by_id(payment_id).one(&shop.db).await?,
            None => None,
        };
        let Some(ours) = ours.filter(|payment| payment.provider == ProviderKind::WechatPay) else {
            tracing::warn!(out_trade_no = %row.out_trade_no, "WeChat Pay's bill has a payment of no order of ours");
            found.unknown += 1;
            continue;
        };
        if ours.status.is_settled() {
            continue;
        }
        paid(
            shop,
            ProviderKind::WechatPay,
            &row.out_trade_no,
            row.order_total.get(),
            "CNY",
        )
        .await?;
        found.repaired += 1;
    }
    Ok(())
}
