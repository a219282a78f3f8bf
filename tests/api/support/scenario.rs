//! The shop's story as the tests tell it, each step one request that must succeed: a cast of
//! buyer, operator and grower, an order placed, paid, shipped, delivered and refunded.

use std::collections::HashMap;

use huakai::accounts::Role;
use serde_json::{Value, json};

use super::{Actor, TestApp};

/// The lily and the cooperative that grows it, in the demo catalogue.
pub const LILY: &str = "sanwang-xian-baihe";
pub const LILY_COOP: &str = "sanwang-baihe-hezuoshe";

pub const PLACE: &str = "mutation($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
        order { id number status total { amount } reservedUntil lines { quantity unitPrice { amount } lineTotal { amount } variant { sku } } }
        userErrors { field code message }
    }
}";

pub fn address() -> Value {
    json!({ "name": "李华", "phone": "138 0013 8000", "province": "湖南省", "city": "株洲市", "district": "渌口区",
            "line1": "朱亭镇幸福路 8 号", "postalCode": "412100" })
}

pub fn order_input(lines: Value, key: &str) -> Value {
    json!({ "input": { "lines": lines, "shippingAddress": address(), "idempotencyKey": key } })
}

/// Variant ids and availability of a product, by SKU.
pub async fn variants(app: &TestApp, slug: &str) -> HashMap<String, (Value, i64)> {
    let data = app
        .query(
            "query($slug: String!) { product(slug: $slug) { variants { id sku available } } }",
            json!({ "slug": slug }),
        )
        .await;
    data["product"]["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| {
            (
                v["sku"].as_str().expect("sku").to_owned(),
                (v["id"].clone(), v["available"].as_i64().expect("available")),
            )
        })
        .collect()
}

pub const ORDER: &str = "query($id: ID!) { order(id: $id) { status total { amount }
    shipments { shippedAt }
    payment { status amount { amount } refunded { amount } refundPending { amount } reviewReason } } }";

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
    lily_priced_by(app, &cast.operator, price).await
}

/// The lily's first variant (by SKU), priced at `price` yuan by `operator`, with plenty in
/// stock.
pub async fn lily_priced_by(app: &TestApp, operator: &Actor, price: &str) -> Value {
    let mut all: Vec<(String, (Value, i64))> = variants(app, LILY).await.into_iter().collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let variant = all[0].1.0.clone();
    let changed = app
        .query_as(
            operator,
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

/// The order shipped whole by the operator, and its arrival confirmed by the buyer.
pub async fn ship_and_deliver(app: &TestApp, cast: &Cast, order_id: &Value) {
    ship(app, &cast.operator, order_id).await;
    confirm_delivery(app, &cast.buyer, order_id).await;
}

/// Every parcel of a paid order on its way, as `shipper` (an operator or its grower).
pub async fn ship(app: &TestApp, shipper: &Actor, order_id: &Value) {
    let shipped = app
        .query_as(
            shipper,
            "mutation($id: ID!) { markShipped(orderId: $id, trackingNumber: \"SF9\") { userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(shipped["markShipped"]["userErrors"], json!([]), "{shipped}");
}

/// A shipped order arrived, as `actor` (its buyer or an operator) confirms.
pub async fn confirm_delivery(app: &TestApp, actor: &Actor, order_id: &Value) {
    let delivered = app
        .query_as(
            actor,
            "mutation($id: ID!) { confirmDelivery(orderId: $id) { order { status } userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(
        delivered["confirmDelivery"]["order"]["status"], "DELIVERED",
        "{delivered}"
    );
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
