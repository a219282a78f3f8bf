//! The money rules of issue 22, each as a story a buyer, a host, a grower or an operator could
//! live: an allowance never turns into cash, nobody earns commission on its own purchase,
//! reversals take the sale's rates and add up to the fen, a full refund returns what was not
//! shipped, a cancelled order stays cancelled, and every order meets the unpaid-hold limits.

mod allowance;
mod late_payments;
mod limits;
mod rates;
mod stock;

use chrono::{TimeDelta, Utc};
use huakai::infra::ids::OrderId;
use huakai::orders::entity::order;
use huakai::payouts::entity::{earning, host_commission};
use huakai::shop::Shop;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::orders::order_row;
use crate::support::{Actor, TestApp, fen};

/// The app's shop, with the platform fee at `fee_bps` when given: the shop after a restart
/// with another `HUAKAI_PLATFORM_FEE_BPS`, on the same database.
pub fn shop(app: &TestApp, fee_bps: Option<u32>) -> Shop {
    let state = &app.server.state;
    let mut parts = state.config.shop_parts(state.stripe.clone(), state.direct.clone());
    if let Some(fee) = fee_bps {
        let mut payouts = state.config.payout_settings();
        payouts.platform_fee_bps = fee;
        parts = parts.with(payouts);
    }
    Shop {
        db: state.db.clone(),
        cache: state.cache.clone(),
        images: state.images.clone(),
        stock_listeners: state.stock_listeners(),
        placing_lanes: Default::default(),
        settings: state.config.shop_settings(),
        parts,
    }
}

/// The order's reservation ends now and the expiry runs (as its worker would).
pub async fn expire(app: &TestApp, order_id: &Value) {
    let row = order_row(order_id);
    order::Entity::update_many()
        .col_expr(
            order::Column::ReservedUntil,
            Expr::value(Utc::now() - TimeDelta::minutes(1)),
        )
        .filter(order::Column::Id.eq(row))
        .exec(app.db())
        .await
        .expect("the reservation ends");
    huakai::orders::service::lifecycle::expire_reservations(&shop(app, None), Utc::now())
        .await
        .expect("the expiry runs");
    // The app's own expiry worker may have taken the order first: wait for its commit.
    for _ in 0..100 {
        if status_of(app, row).await == huakai::orders::OrderStatus::Cancelled {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("order {row} did not expire");
}

pub async fn status_of(app: &TestApp, row: OrderId) -> huakai::orders::OrderStatus {
    order::Entity::find_by_id(row)
        .one(app.db())
        .await
        .expect("query")
        .expect("the order")
        .status
}

/// What the earnings ledger holds for an order: (line totals, fees, commissions, earnings).
pub async fn earnings_of(app: &TestApp, order_id: &Value) -> (i64, i64, i64, i64) {
    let rows = earning::Entity::find()
        .filter(earning::Column::OrderId.eq(order_row(order_id)))
        .all(app.db())
        .await
        .expect("earnings");
    rows.iter().fold((0, 0, 0, 0), |sum, row| {
        (
            sum.0 + row.line_total_fen.get(),
            sum.1 + row.platform_fee_fen.get(),
            sum.2 + row.commission_fen.get(),
            sum.3 + row.amount_fen.get(),
        )
    })
}

/// What the hosts' ledger holds for an order.
pub async fn commissions_of(app: &TestApp, order_id: &Value) -> i64 {
    host_commission::Entity::find()
        .filter(host_commission::Column::OrderId.eq(order_row(order_id)))
        .all(app.db())
        .await
        .expect("host commissions")
        .iter()
        .map(|row| row.amount_fen.get())
        .sum()
}

pub const PENDING_BANK_REFUNDS: &str =
    "{ pendingBankRefunds(first: 50) { nodes { id amount { amount } order { id } } } }";

/// The bank refunds waiting for `order_id`: (id, amount in fen).
pub async fn pending_bank_refunds(app: &TestApp, operator: &Actor, order_id: &Value) -> Vec<(Value, i64)> {
    app.query_as(operator, PENDING_BANK_REFUNDS, json!({})).await["pendingBankRefunds"]["nodes"]
        .as_array()
        .expect("refunds")
        .iter()
        .filter(|node| &node["order"]["id"] == order_id)
        .map(|node| (node["id"].clone(), fen(&node["amount"])))
        .collect()
}

pub async fn record_bank_refund(app: &TestApp, operator: &Actor, refund_id: &Value) {
    let recorded = app
        .query_as(
            operator,
            "mutation($id: ID!) { recordBankRefund(refundId: $id, reference: \"ICBC-BACK-1\") { userErrors { code } } }",
            json!({ "id": refund_id }),
        )
        .await;
    assert_eq!(recorded["recordBankRefund"]["userErrors"], json!([]), "{recorded}");
}
