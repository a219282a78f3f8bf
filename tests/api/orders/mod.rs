//! Orders and inventory: all-or-nothing reservations, idempotency, the state machine, expiry,
//! and never overselling under a stampede.

use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use huakai::accounts::Role;
use huakai::infra::ids::OrderId;
use huakai::infra::ids::VariantId;
use huakai::inventory::entity::{stock_level, stock_movement};
use huakai::orders::entity::{order, order_line};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::support::scenario::*;
use crate::support::{Actor, Backend, TestApp, TestDatabase};

mod deadlock;
mod lifecycle;
mod placing;

/// Units of `variant` of product `slug` available now, as the storefront shows them.
pub async fn available(app: &TestApp, slug: &str, variant: &Value) -> i64 {
    variants(app, slug)
        .await
        .into_values()
        .find(|(id, _)| id == variant)
        .map(|(_, available)| available)
        .unwrap_or_else(|| panic!("{slug} has no variant {variant}"))
}

/// The row id behind an order's global id.
pub fn order_row(order_id: &Value) -> OrderId {
    huakai::infra::graphql::global_id::decode_as(
        order_id.as_str().expect("an order id"),
        huakai::infra::graphql::global_id::NodeType::Order,
    )
    .expect("an order id")
}

/// The order's stock is sold as a payment's arrival sells it (without a payment row: for tests
/// of orders alone). `false` when the order was not awaiting payment.
pub async fn mark_paid(app: &TestApp, order_row: OrderId) -> bool {
    let txn = huakai::infra::db::begin_write(app.db()).await.expect("a transaction");
    let paid = huakai::orders::service::lifecycle::mark_paid(&txn, order_row)
        .await
        .expect("the database answers");
    txn.commit().await.expect("committed");
    paid.is_some()
}

/// Stock equals what the ledger adds up to, for every variant: nothing moved off the books.
pub async fn assert_ledger_balances(app: &TestApp) {
    let levels = stock_level::Entity::find().all(app.db()).await.expect("stock");
    let movements = stock_movement::Entity::find().all(app.db()).await.expect("ledger");
    for level in levels {
        let mine = movements.iter().filter(|m| m.variant_id == level.variant_id);
        let on_hand: i64 = mine.clone().map(|m| m.on_hand_delta).sum();
        let reserved: i64 = mine.map(|m| m.reserved_delta).sum();
        assert_eq!(
            (on_hand, reserved),
            (level.on_hand, level.reserved),
            "variant {}",
            level.variant_id
        );
        assert!(level.reserved >= 0 && level.reserved <= level.on_hand);
    }
    // And what is reserved is exactly what unpaid orders and live sessions' quotas hold.
    let pending: HashSet<OrderId> = order::Entity::find()
        .filter(order::Column::Status.eq("PENDING_PAYMENT"))
        .all(app.db())
        .await
        .expect("orders")
        .into_iter()
        .map(|o| o.id)
        .collect();
    let lines = order_line::Entity::find().all(app.db()).await.expect("lines");
    let mut held: HashMap<VariantId, i64> = HashMap::new();
    for line in lines.iter().filter(|l| pending.contains(&l.order_id)) {
        *held.entry(line.variant_id).or_default() += i64::from(line.quantity);
    }
    let items = huakai::livestream::entity::live_session_item::Entity::find()
        .all(app.db())
        .await
        .expect("session items");
    for item in items {
        *held.entry(item.variant_id).or_default() += i64::from(item.remaining);
    }
    for level in stock_level::Entity::find().all(app.db()).await.expect("stock") {
        assert_eq!(
            level.reserved,
            held.get(&level.variant_id).copied().unwrap_or(0),
            "variant {}",
            level.variant_id
        );
    }
}

/// A product of 40 units, listed by an operator.
pub async fn forty_units(app: &TestApp) -> Value {
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let product = ("zhibo-baihe-miaosha", "直播秒杀：三旺村鲜百合");
    lily_product(app, &operator, product, ("LIVE-BH-500G", "19.90", 40)).await
}

/// A product of the lily cooperative, (slug, name), with one variant of (sku, price, stock),
/// listed by `operator`: its variant's id.
pub async fn lily_product(
    app: &TestApp,
    operator: &Actor,
    (slug, name): (&str, &str),
    (sku, price, stock): (&str, &str, i64),
) -> Value {
    let created = app
        .query_as(
            operator,
            "mutation($input: NewProductInput!) { createProduct(input: $input) { product { variants { id } } userErrors { code field message } } }",
            json!({ "input": {
                "slug": slug, "name": name, "categorySlug": "shucai", "producerSlug": "sanwang-baihe-hezuoshe",
                "variants": [{ "sku": sku, "name": "500 g", "price": price, "stock": stock }]
            } }),
        )
        .await;
    assert_eq!(created["createProduct"]["userErrors"], json!([]), "{created}");
    created["createProduct"]["product"]["variants"][0]["id"].clone()
}

const PLACE_LIMITED: &str = "mutation($input: PlaceOrderInput!) {
    placeOrder(input: $input) { order { id } userErrors { field code message retryAfterSeconds } } }";
