//! Placing and cancelling take their locks in one order (session items, then stock rows by
//! variant): orders of a live session's item and a general variant, placed while others like
//! them are cancelled, never deadlock (PostgreSQL would abort one with an internal error).

use futures::future::join_all;
use huakai::accounts::Role;
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::orders::assert_ledger_balances;
use crate::support::scenario::{PLACE, order_input, variants};
use crate::support::{Actor, Backend, TestApp};

on_each_backend!(placing_races_cancelling_without_deadlocks);

const BUYERS: usize = 12;
const ROUNDS: usize = 3;

async fn stocked_variant(app: &TestApp, operator: &Actor, slug: &str) -> Value {
    let mut all: Vec<(String, (Value, i64))> = variants(app, slug).await.into_iter().collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let variant = all[0].1.0.clone();
    let adjusted = app
        .query_as(
            operator,
            "mutation($id: ID!) { adjustStock(variantId: $id, delta: 1000, reason: \"harvest\") { userErrors { code } } }",
            json!({ "id": variant }),
        )
        .await;
    assert_eq!(adjusted["adjustStock"]["userErrors"], json!([]));
    variant
}

async fn place(app: &TestApp, buyer: &Actor, lines: &Value, code: &str, key: String) -> Value {
    let mut input = order_input(lines.clone(), &key);
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    input["input"]["referralCode"] = json!(code);
    let (status, answer) = app.graphql_as(buyer, PLACE, input).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("errors").is_none(), "placing failed: {answer}");
    assert_eq!(answer["data"]["placeOrder"]["userErrors"], json!([]), "{answer}");
    answer["data"]["placeOrder"]["order"]["id"].clone()
}

async fn cancel(app: &TestApp, buyer: &Actor, order_id: Value) {
    let (status, answer) = app
        .graphql_as(
            buyer,
            "mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("errors").is_none(), "cancelling failed: {answer}");
    assert_eq!(
        answer["data"]["cancelOrder"]["order"]["status"], "CANCELLED",
        "{answer}"
    );
}

async fn placing_races_cancelling_without_deadlocks(backend: Backend) {
    let limits = [
        ("HUAKAI_UNPAID_ORDERS_PER_BUYER", "50"),
        ("HUAKAI_RESERVED_UNITS_PER_VARIANT", "500"),
    ];
    let Some(app) = TestApp::on(backend).settings(&limits).start().await else {
        return;
    };
    let operator = app.user("ops@example.com", Role::Admin, None).await;
    let host = app.user("host@example.com", Role::Host, None).await;
    let lily = stocked_variant(&app, &operator, "sanwang-xian-baihe").await;
    let cakes = stocked_variant(&app, &operator, "zhuting-baihe-su").await;
    let now = chrono::Utc::now();
    let scheduled = app
        .query_as(
            &host,
            "mutation($input: LiveSessionInput!) { scheduleLiveSession(input: $input) {
                session { id items { id } } userErrors { code } } }",
            json!({ "input": { "title": "百合直播", "startsAt": (now - chrono::Duration::seconds(1)).to_rfc3339(),
                "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
                "items": [{ "variantId": lily, "price": "9.90", "quota": 500, "perBuyerLimit": 100 }] } }),
        )
        .await["scheduleLiveSession"]
        .clone();
    assert_eq!(scheduled["userErrors"], json!([]), "{scheduled}");
    let approved = app
        .query_as(
            &operator,
            "mutation($id: ID!) { approveLiveSessionItem(itemId: $id) { userErrors { code } } }",
            json!({ "id": scheduled["session"]["items"][0]["id"] }),
        )
        .await;
    assert_eq!(
        approved["approveLiveSessionItem"]["userErrors"],
        json!([]),
        "{approved}"
    );
    let link = app
        .query_as(
            &host,
            "mutation($id: ID!) { createPromoLink(input: { sessionId: $id }) { promoLink { code } } }",
            json!({ "id": scheduled["session"]["id"] }),
        )
        .await;
    let code = link["createPromoLink"]["promoLink"]["code"]
        .as_str()
        .expect("code")
        .to_owned();
    // The session's item and a general variant in each order: placing locks the item, then the
    // general variant's stock; cancelling gives both back.
    let lines = json!([{ "variantId": lily, "quantity": 1 }, { "variantId": cakes, "quantity": 1 }]);
    let mut buyers = Vec::new();
    for n in 0..BUYERS {
        buyers.push(app.user(&format!("buyer{n}@example.com"), Role::Buyer, None).await);
    }
    let mut standing: Vec<Value> = join_all(
        buyers
            .iter()
            .enumerate()
            .map(|(n, buyer)| place(&app, buyer, &lines, &code, format!("first-{n}"))),
    )
    .await;
    for round in 0..ROUNDS {
        let cancelling = buyers
            .iter()
            .zip(standing.drain(..))
            .map(|(buyer, order)| cancel(&app, buyer, order));
        let placing = buyers
            .iter()
            .enumerate()
            .map(|(n, buyer)| place(&app, buyer, &lines, &code, format!("round-{round}-{n}")));
        let (_, placed) = futures::join!(join_all(cancelling), join_all(placing));
        standing = placed;
    }
    let items = app
        .query(
            "query($id: ID!) { node(id: $id) { ... on LiveSession { items { remaining sold } } } }",
            json!({ "id": scheduled["session"]["id"] }),
        )
        .await;
    let item = &items["node"]["items"][0];
    assert_eq!(
        (item["remaining"].as_i64(), item["sold"].as_i64()),
        (Some(500 - BUYERS as i64), Some(BUYERS as i64)),
        "the standing orders hold their units, the cancelled ones gave theirs back: {items}"
    );
    assert_ledger_balances(&app).await;
}
