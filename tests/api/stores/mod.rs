//! Relief supermarkets (issue 26): stores and clerks, stock moved to a shelf and back, counter
//! sales (cash, terminal, welfare allowance by counter code), racing tills, and the till's day.

mod counter;
mod days;
mod pickups;
mod refunds;
mod shelves;

use huakai::accounts::Role;
use serde_json::{Value, json};

use crate::support::scenario::{Cast, cast, lily_at};
use crate::support::{Actor, TestApp, fen};

pub const LILY: &str = "sanwang-xian-baihe";

pub const CREATE_STORE: &str = "mutation($input: StoreInput!) {
    createStore(input: $input) { store { id slug name address } userErrors { field code } } }";
pub const ADD_CLERK: &str = "mutation($store: ID!, $user: ID!) {
    addStoreClerk(storeId: $store, userId: $user) { store { id } userErrors { field code } } }";
pub const TRANSFER: &str = "mutation($input: StockTransferInput!) {
    transferStock(input: $input) { store { id } userErrors { field code } } }";
pub const SELL: &str = "mutation($input: CounterSaleInput!) {
    recordCounterSale(input: $input) { sale { id number total { amount } paymentMethod order { id status } }
        userErrors { field code } } }";
pub const SHELF: &str = "query($slug: String!) { store(slug: $slug) { stock { variant { id } onShelf } } }";

/// A buyer, an operator and the lily's grower, a store (`longmen`) with its clerk, and the lily
/// priced at 30.00 with 500 more units online.
pub struct Counter {
    pub cast: Cast,
    pub clerk: Actor,
    pub store_id: Value,
    pub slug: String,
    pub lily: Value,
}

pub async fn store(app: &TestApp, operator: &Actor, slug: &str) -> Value {
    let made = app
        .query_as(
            operator,
            CREATE_STORE,
            json!({ "input": { "slug": slug, "name": "涪口区扶贫超市", "address": "龙门镇中心街 8 号",
                "openingHours": "8:00-20:00" } }),
        )
        .await;
    assert_eq!(made["createStore"]["userErrors"], json!([]), "{made}");
    made["createStore"]["store"]["id"].clone()
}

/// A fresh account seated as a clerk of `store_id`.
pub async fn clerk(app: &TestApp, operator: &Actor, store_id: &Value, email: &str) -> Actor {
    let clerk = app.user(email, Role::Buyer, None).await;
    let added = app
        .query_as(operator, ADD_CLERK, json!({ "store": store_id, "user": clerk.user_id }))
        .await;
    assert_eq!(added["addStoreClerk"]["userErrors"], json!([]), "{added}");
    clerk
}

pub async fn counter(app: &TestApp) -> Counter {
    let cast = cast(app).await;
    let lily = lily_at(app, &cast, "30.00").await;
    let store_id = store(app, &cast.operator, "longmen").await;
    let clerk = clerk(app, &cast.operator, &store_id, "clerk@longmen.example").await;
    Counter {
        cast,
        clerk,
        store_id,
        slug: "longmen".to_owned(),
        lily,
    }
}

/// Moves `quantity` lilies to the store's shelf as its grower, expecting it done.
pub async fn stock_shelf(app: &TestApp, counter: &Counter, quantity: i64) {
    let moved = app
        .query_as(
            &counter.cast.grower,
            TRANSFER,
            json!({ "input": { "storeId": counter.store_id, "variantId": counter.lily, "quantity": quantity } }),
        )
        .await;
    assert_eq!(moved["transferStock"]["userErrors"], json!([]), "{moved}");
}

pub fn sale_input(counter: &Counter, quantity: i64, method: &str, key: &str) -> Value {
    json!({ "input": { "storeId": counter.store_id, "lines": [{ "variantId": counter.lily, "quantity": quantity }],
        "paymentMethod": method, "idempotencyKey": key } })
}

/// A sale by the store's clerk: the whole `recordCounterSale` answer.
pub async fn sell(app: &TestApp, counter: &Counter, input: Value) -> Value {
    app.query_as(&counter.clerk, SELL, input).await["recordCounterSale"].clone()
}

/// Lilies on the store's shelf, as its clerk sees them.
pub async fn on_shelf(app: &TestApp, counter: &Counter) -> i64 {
    let data = app
        .query_as(&counter.clerk, SHELF, json!({ "slug": counter.slug }))
        .await;
    data["store"]["stock"]
        .as_array()
        .expect("stock")
        .iter()
        .find(|row| row["variant"]["id"] == counter.lily)
        .map_or(0, |row| row["onShelf"].as_i64().expect("onShelf"))
}

pub fn total(sale: &Value) -> i64 {
    fen(&sale["sale"]["total"])
}

/// The row number a global id names.
pub fn row_id(id: &Value) -> i64 {
    use base64::Engine;
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id.as_str().expect("an id"))
        .expect("base64");
    let text = String::from_utf8(text).expect("utf-8");
    text.split_once(':').expect("Type:number").1.parse().expect("a number")
}

pub const REFUND_AT_COUNTER: &str = "mutation($input: CounterRefundInput!) { refundCounterSale(input: $input) {
    refund { saleId amount { amount } paymentMethod businessDate } userErrors { field code } } }";

/// A refund of `sale_id` by the store's clerk: the whole `refundCounterSale` answer.
pub async fn refund_at_counter(
    app: &TestApp,
    counter: &Counter,
    sale_id: &Value,
    amount: Option<&str>,
    key: &str,
) -> Value {
    app.query_as(
        &counter.clerk,
        REFUND_AT_COUNTER,
        json!({ "input": { "storeId": counter.store_id, "saleId": sale_id, "amount": amount, "idempotencyKey": key } }),
    )
    .await["refundCounterSale"]
        .clone()
}
