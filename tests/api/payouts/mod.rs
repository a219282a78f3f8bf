//! Grower payouts: earnings from delivered lines, to the fen; paid once by bank or Stripe;
//! refunds carried over; cooperatives sharing with their households; nobody sees another
//! grower's money.

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::time::Duration;

use huakai::accounts::Role;
use huakai::payouts::entity::earning;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::support::scenario::{PLACE, order_input, variants};
use crate::support::{Actor, Backend, TestApp, fen};

mod runs;
mod transfers_and_shares;

pub(crate) const HOLD: (&str, &str) = ("HUAKAI_PAYOUT_HOLD", "1s");

const ACCOUNT: &str = "{ myProducer { producer { slug }
    balance { pending { amount } available { amount } inTransit { amount } paidOut { amount } }
    earnings(first: 50) { nodes { kind amount { amount } lineTotal { amount } platformFee { amount } commission { amount } orderNumber quantity variantSku payoutId } }
    payouts(first: 20) { nodes { id amount { amount } status method batchId reference } } } }";

pub(crate) struct Cast {
    pub(crate) buyer: Actor,
    pub(crate) operator: Actor,
}

pub(crate) async fn cast(app: &TestApp) -> Cast {
    Cast {
        buyer: app.user("buyer@example.com", Role::Buyer, None).await,
        operator: app.user("operator@example.com", Role::Admin, None).await,
    }
}

/// An order of `quantity` units of `slug`'s first variant, paid by bank, shipped and delivered.
/// Returns the order id.
pub(crate) async fn delivered(app: &TestApp, cast: &Cast, slug: &str, quantity: i64, key: &str) -> Value {
    let (variant, _) = variants(app, slug).await.into_values().next().expect("variant");
    let mut input = order_input(json!([{ "variantId": variant, "quantity": quantity }]), key);
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    let placed = app.query_as(&cast.buyer, PLACE, input).await;
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]), "{placed}");
    let order_id = placed["placeOrder"]["order"]["id"].clone();
    let paid = app
        .query_as(
            &cast.operator,
            "mutation($id: ID!) { recordBankTransfer(orderId: $id, reference: \"ICBC-1\") { userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(paid["recordBankTransfer"]["userErrors"], json!([]));
    app.query_as(
        &cast.operator,
        "mutation($id: ID!) { markShipped(orderId: $id, trackingNumber: \"SF9\") { userErrors { code } } }",
        json!({ "id": order_id }),
    )
    .await;
    let done = app
        .query_as(
            &cast.buyer,
            "mutation($id: ID!) { confirmDelivery(orderId: $id) { order { status } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(done["confirmDelivery"]["order"]["status"], "DELIVERED");
    order_id
}

pub(crate) async fn run_payouts(app: &TestApp, operator: &Actor) -> Vec<Value> {
    let data = app
        .query_as(operator, "mutation { runPayouts { payouts { id amount { amount } status method batchId producer { slug } } userErrors { code } } }", json!({}))
        .await;
    data["runPayouts"]["payouts"].as_array().expect("payouts").clone()
}
