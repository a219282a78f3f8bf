//! Livestream hosts: commission plans (open and targeted rates, the cap, the notice period for
//! cuts), promo links that redirect and count their clicks, order lines credited to the host
//! at the rate they were placed with, and commissions that follow the order's money through
//! delivery, refunds before and after delivery, and payouts.

use std::time::Duration;

use huakai::accounts::Role;
use huakai::inventory::entity::stock_level;
use huakai::payouts::entity::earning;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use futures::{SinkExt, StreamExt};
use huakai::livestream::entity::live_session_item;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::on_each_backend;
use crate::orders::available;
use crate::support::database::TestDatabase;
use crate::support::scenario::{PLACE, lily_priced_by, order_input, variants};
use crate::support::stripe::Fault;
use crate::support::{Actor, Backend, TestApp, all_nodes, fen};

mod commissions;
mod demo;
mod host_payouts;
mod live_room;
mod sessions;

const LILY: &str = "sanwang-xian-baihe";
const LILY_COOP: &str = "sanwang-baihe-hezuoshe";
const HOLD: (&str, &str) = ("HUAKAI_PAYOUT_HOLD", "1s");

const SET_PLAN: &str = "mutation($input: CommissionPlanInput!) { setCommissionPlan(input: $input) {
    plan { rateBps effectiveFrom host { displayName } product { slug } } userErrors { field code message } } }";

const CREATE_LINK: &str = "mutation($id: ID!) { createPromoLink(input: { productId: $id }) {
    promoLink { id code url clicks product { slug } } userErrors { code } } }";

const MY_HOST: &str = "{ myHost { host { id displayName }
    links(first: 10) { totalCount nodes { code clicks orders units sales { amount } commission { amount } } }
    commissions(first: 20) { nodes { amount { amount } status orderNumber rateBps sales { amount } } }
    balance { pending { amount } available { amount } inTransit { amount } paidOut { amount } }
    payouts(first: 10) { totalCount nodes { id amount { amount } status method } } } }";

struct Cast {
    buyer: Actor,
    operator: Actor,
    grower: Actor,
    host: Actor,
    other_host: Actor,
}

async fn cast(app: &TestApp) -> Cast {
    Cast {
        buyer: app.user("buyer@example.com", Role::Buyer, None).await,
        operator: app.user("operator@example.com", Role::Admin, None).await,
        grower: app.user("lily@example.com", Role::Grower, Some(LILY_COOP)).await,
        host: app.user("xiaomei@example.com", Role::Host, None).await,
        other_host: app.user("dagang@example.com", Role::Host, None).await,
    }
}

/// The lily's product id and first variant (by SKU), priced at `price` with plenty in stock.
async fn lily_at(app: &TestApp, operator: &Actor, price: &str) -> (Value, Value) {
    let variant = lily_priced_by(app, operator, price).await;
    let product = app
        .query(
            "query($slug: String!) { product(slug: $slug) { id } }",
            json!({ "slug": LILY }),
        )
        .await["product"]["id"]
        .clone();
    (product, variant)
}

async fn set_plan(app: &TestApp, actor: &Actor, input: Value) -> Value {
    app.query_as(actor, SET_PLAN, json!({ "input": input })).await["setCommissionPlan"].clone()
}

async fn link(app: &TestApp, host: &Actor, product: &Value) -> Value {
    let created = app.query_as(host, CREATE_LINK, json!({ "id": product })).await;
    assert_eq!(created["createPromoLink"]["userErrors"], json!([]), "{created}");
    created["createPromoLink"]["promoLink"].clone()
}

/// An order of `quantity` units through `code`, paid by bank; its id.
async fn paid_order(app: &TestApp, cast: &Cast, variant: &Value, quantity: i64, code: &str, key: &str) -> Value {
    let mut input = order_input(json!([{ "variantId": variant, "quantity": quantity }]), key);
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    input["input"]["referralCode"] = json!(code);
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
    order_id
}

async fn ship_and_deliver(app: &TestApp, cast: &Cast, order_id: &Value) {
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

async fn refund(app: &TestApp, operator: &Actor, order_id: &Value, amount: &str) {
    let refunded = app
        .query_as(
            operator,
            "mutation($id: ID!, $amount: String) { refundOrder(orderId: $id, amount: $amount) { userErrors { code } } }",
            json!({ "id": order_id, "amount": amount }),
        )
        .await;
    assert_eq!(refunded["refundOrder"]["userErrors"], json!([]), "{refunded}");
}

async fn my_host(app: &TestApp, host: &Actor) -> Value {
    let seen = app.query_as(host, MY_HOST, json!({})).await["myHost"].clone();
    all_nodes(&seen["links"]);
    all_nodes(&seen["payouts"]);
    seen
}

/// The host's commissions, oldest first: (rate, status, amount in fen).
async fn commissions(app: &TestApp, host: &Actor) -> Vec<(i64, String, i64)> {
    let account = my_host(app, host).await;
    let mut rows: Vec<(i64, String, i64)> = account["commissions"]["nodes"]
        .as_array()
        .expect("commissions")
        .iter()
        .map(|c| {
            (
                c["rateBps"].as_i64().expect("rate"),
                c["status"].as_str().expect("status").to_owned(),
                fen(&c["amount"]),
            )
        })
        .collect();
    rows.reverse();
    rows
}

async fn run_payouts(app: &TestApp, operator: &Actor) -> Vec<Value> {
    let data = app
        .query_as(
            operator,
            "mutation { runPayouts { payouts { id amount { amount } status method } userErrors { code } } }",
            json!({}),
        )
        .await;
    data["runPayouts"]["payouts"].as_array().expect("payouts").clone()
}
