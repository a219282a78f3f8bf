//! Payments through Stripe (a stand-in speaking Stripe's own objects, reached by the real
//! client), exactly once; bank transfers; refunds; reconciliation.

use std::process::{Command, Stdio};
use std::time::Duration;

use huakai::accounts::Role;
use huakai::inventory::entity::stock_movement;
use huakai::payments::entity::webhook_event;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::orders::{assert_ledger_balances, available, order_row};
use crate::support::scenario::{PLACE, order_input, variants};
use crate::support::stripe::StripeStandIn;
use crate::support::{Actor, Backend, TestApp, TestDatabase};

mod refunds;
mod webhooks;

const ORDER: &str = "query($id: ID!) { order(id: $id) { status total { amount }
    payment { provider status clientSecret amount { amount } refunded { amount } reviewReason } } }";

async fn card_order(app: &TestApp, buyer: &Actor, key: &str, quantity: i64) -> (Value, String) {
    let (lily, _) = variants(app, "sanwang-xian-baihe")
        .await
        .into_values()
        .next()
        .expect("lily");
    let mut input = order_input(json!([{ "variantId": lily, "quantity": quantity }]), key);
    input["input"]["paymentMethod"] = json!("CARD");
    let placed = app.query_as(buyer, PLACE, input).await;
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]), "{placed}");
    let order_id = placed["placeOrder"]["order"]["id"].clone();
    let seen = app.query_as(buyer, ORDER, json!({ "id": order_id })).await;
    let secret = seen["order"]["payment"]["clientSecret"]
        .as_str()
        .expect("the buyer gets the client secret");
    let intent = secret.split("_secret_").next().expect("pi id").to_owned();
    (order_id, intent)
}

async fn wait_for_status(app: &TestApp, actor: &Actor, order_id: &Value, status: &str) -> Value {
    let what = format!("order {order_id} becoming {status}");
    app.eventually(actor, ORDER, json!({ "id": order_id }), &what, |seen| {
        seen["order"]["status"] == status
    })
    .await["order"]
        .clone()
}

/// Stripe's signature scheme with another secret (a forger's).
fn huakai_sign(secret: &str, payload: &str, timestamp: i64) -> String {
    crate::support::stripe::sign(secret, payload, timestamp)
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    listener.local_addr().expect("address").port()
}

async fn wait_until_serving(port: u16) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("huakai did not start on {port}");
}
