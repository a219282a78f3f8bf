//! Every money movement on one path: refunds reverse earnings whichever way they come (an
//! operator, a cancellation, Stripe's dashboard), before or after delivery; bank refunds wait
//! for an operator; Stripe calls whose outcome is unknown stay in flight until looked up, and
//! pay each earning once; cancel and ship never interleave; statements stay as paid.

use std::collections::HashSet;
use std::time::Duration;

use huakai::accounts::Role;
use huakai::payments::entity::webhook_event;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::orders::{PLACE, assert_ledger_balances, available, order_input, variants};
use crate::support::stripe::Fault;
use crate::support::{Actor, Backend, TestApp, all_nodes, fen};

mod payouts;
mod refunds;

pub const LILY: &str = "sanwang-xian-baihe";
const LILY_COOP: &str = "sanwang-baihe-hezuoshe";

const ACCOUNT: &str = "{ myProducer { balance { pending { amount } available { amount } paidOut { amount } }
    earnings(first: 50) { totalCount nodes { kind amount { amount } lineTotal { amount } platformFee { amount } } } } }";

const ORDER: &str = "query($id: ID!) { order(id: $id) { status total { amount }
    shipments { shippedAt }
    payment { status amount { amount } refunded { amount } refundPending { amount } reviewReason } } }";

const PENDING_BANK_REFUNDS: &str =
    "{ pendingBankRefunds(first: 50) { totalCount nodes { id amount { amount } status reason
    buyerEmail paidWithReference order { id number } } } }";

pub struct Cast {
    pub buyer: Actor,
    pub operator: Actor,
    pub grower: Actor,
}

pub async fn cast(app: &TestApp) -> Cast {
    Cast {
        buyer: app.user("buyer@example.com", Role::Buyer, None).await,
        operator: app.user("operator@example.com", Role::Admin, None).await,
        grower: app.user("lily@example.com", Role::Grower, Some(LILY_COOP)).await,
    }
}

/// The lily's first variant (by SKU), priced at `price` yuan with plenty in stock.
pub async fn lily_at(app: &TestApp, cast: &Cast, price: &str) -> Value {
    let mut all: Vec<(String, (Value, i64))> = variants(app, LILY).await.into_iter().collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let variant = all[0].1.0.clone();
    let changed = app
        .query_as(
            &cast.operator,
            "mutation($id: ID!, $price: String!) {
                updateVariant(variantId: $id, input: { price: $price }) { userErrors { code } }
                adjustStock(variantId: $id, delta: 500, reason: \"harvest\") { userErrors { code } } }",
            json!({ "id": variant, "price": price }),
        )
        .await;
    assert_eq!(changed["updateVariant"]["userErrors"], json!([]), "{changed}");
    assert_eq!(changed["adjustStock"]["userErrors"], json!([]), "{changed}");
    variant
}

/// A placed order of `quantity` of `variant`, paid by `method`; its id.
pub async fn place(app: &TestApp, buyer: &Actor, variant: &Value, quantity: i64, key: &str, method: &str) -> Value {
    let mut input = order_input(json!([{ "variantId": variant, "quantity": quantity }]), key);
    input["input"]["paymentMethod"] = json!(method);
    let placed = app.query_as(buyer, PLACE, input).await;
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]), "{placed}");
    placed["placeOrder"]["order"]["id"].clone()
}

pub async fn pay_by_bank(app: &TestApp, operator: &Actor, order_id: &Value) {
    let paid = app
        .query_as(
            operator,
            "mutation($id: ID!) { recordBankTransfer(orderId: $id, reference: \"ICBC-1\") { userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(paid["recordBankTransfer"]["userErrors"], json!([]));
}

pub async fn ship_and_deliver(app: &TestApp, cast: &Cast, order_id: &Value) {
    let shipped = app
        .query_as(
            &cast.operator,
            "mutation($id: ID!) { markShipped(orderId: $id, trackingNumber: \"SF9\") { userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(shipped["markShipped"]["userErrors"], json!([]));
    let done = app
        .query_as(
            &cast.buyer,
            "mutation($id: ID!) { confirmDelivery(orderId: $id) { order { status } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(done["confirmDelivery"]["order"]["status"], "DELIVERED");
}

pub async fn refund(app: &TestApp, operator: &Actor, order_id: &Value, amount: Option<&str>) -> Value {
    app.query_as(
        operator,
        "mutation($id: ID!, $amount: String) { refundOrder(orderId: $id, amount: $amount) {
            order { status } userErrors { code message } } }",
        json!({ "id": order_id, "amount": amount }),
    )
    .await["refundOrder"]
        .clone()
}

pub async fn order(app: &TestApp, actor: &Actor, order_id: &Value) -> Value {
    app.query_as(actor, ORDER, json!({ "id": order_id })).await["order"].clone()
}

async fn balance(app: &TestApp, grower: &Actor) -> Value {
    let seen = app.query_as(grower, ACCOUNT, json!({})).await["myProducer"].clone();
    all_nodes(&seen["earnings"]);
    seen
}

pub async fn run_payouts(app: &TestApp, operator: &Actor) -> Vec<Value> {
    let data = app
        .query_as(
            operator,
            "mutation { runPayouts { payouts { id amount { amount } status method } userErrors { code } } }",
            json!({}),
        )
        .await;
    data["runPayouts"]["payouts"].as_array().expect("payouts").clone()
}

/// Waits until the app has applied a stored Stripe event.
async fn wait_for_inbox(app: &TestApp, event_id: &str) {
    for _ in 0..200 {
        let stored = webhook_event::Entity::find_by_id(event_id.to_owned())
            .one(app.db())
            .await
            .expect("the inbox");
        if stored.is_some_and(|e| e.processed_at.is_some()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("event {event_id} was not applied within 10 s");
}
