//! Shipping charged on orders: the order keeps the fee its producers' rules gave, refuses a
//! province a producer does not deliver to, the grower earns the fee whole (no platform fee)
//! at delivery, a partial refund gives back goods only and a full refund the fee with them.

use crate::payouts::{Cast, cast};
use crate::support::fen;
use crate::support::scenario::refund;

use super::*;

on_each_backend!(an_order_charges_shipping_which_its_grower_earns_and_a_full_refund_returns);

const SET_RULE: &str = "mutation($id: ID!, $input: ShippingRuleInput!) {
    setShippingRule(producerId: $id, input: $input) { userErrors { field code } } }";

const ORDER: &str = "query($id: ID!) { order(id: $id) { status subtotal { amount } shippingFee { amount }
    total { amount } shipments { shippingFee { amount } } } }";

const EARNINGS: &str = "{ myProducer { balance { pending { amount } }
    earnings(first: 50) { nodes { kind amount { amount } lineTotal { amount } platformFee { amount } } } } }";

async fn step(app: &TestApp, actor: &Actor, mutation: &str, order_id: &Value) {
    let done = app.query_as(actor, mutation, json!({ "id": order_id })).await;
    let answer = done
        .as_object()
        .and_then(|o| o.values().next())
        .cloned()
        .unwrap_or_default();
    assert_eq!(answer["userErrors"], json!([]), "{done}");
}

/// Pays `order_id` by bank, ships and delivers it.
async fn pay_ship_deliver(app: &TestApp, cast: &Cast, order_id: &Value) {
    step(
        app,
        &cast.operator,
        "mutation($id: ID!) { recordBankTransfer(orderId: $id, reference: \"ICBC-7\") { userErrors { code } } }",
        order_id,
    )
    .await;
    step(
        app,
        &cast.operator,
        "mutation($id: ID!) { markShipped(orderId: $id, trackingNumber: \"SF7\") { userErrors { code } } }",
        order_id,
    )
    .await;
    step(
        app,
        &cast.buyer,
        "mutation($id: ID!) { confirmDelivery(orderId: $id) { userErrors { code } } }",
        order_id,
    )
    .await;
}

/// The grower's entries of `kind`, as (amount, platform fee).
fn entries(account: &Value, kind: &str) -> Vec<(i64, i64)> {
    account["myProducer"]["earnings"]["nodes"]
        .as_array()
        .expect("earnings")
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| (fen(&e["amount"]), fen(&e["platformFee"])))
        .collect()
}

async fn an_order_charges_shipping_which_its_grower_earns_and_a_full_refund_returns(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let grower = app
        .user("lily@example.com", Role::Grower, Some("sanwang-baihe-hezuoshe"))
        .await;
    let lilies = app
        .query(
            "{ product(slug: \"sanwang-xian-baihe\") { producer { id } variants { id weightGrams price { amount } } } }",
            json!({}),
        )
        .await;
    let variant = &lilies["product"]["variants"][0];
    let (weight, price) = (
        variant["weightGrams"].as_i64().expect("a weight"),
        fen(&variant["price"]),
    );
    let set = app
        .query_as(
            &grower,
            SET_RULE,
            json!({ "id": lilies["product"]["producer"]["id"], "input": { "firstWeightGrams": 1000,
                "firstFee": "8.00", "extraPerKg": "3.00", "excludedProvinces": ["西藏"] } }),
        )
        .await;
    assert_eq!(set["setShippingRule"]["userErrors"], json!([]), "{set}");
    let lines = json!([{ "variantId": variant["id"], "quantity": 3 }]);
    // ¥8 for the first kilogram, ¥3 for each further kilogram or part of one.
    let fee = 800 + 300 * (((3 * weight - 1000).max(0) + 999) / 1000);
    let (_, stock_before) = first_variant(&app, "sanwang-xian-baihe").await;

    // 西藏 is not delivered to: refused on the address's province, nothing reserved.
    let mut far = address();
    far["province"] = json!("西藏自治区");
    let refused = place(
        &app,
        &cast.buyer,
        json!({ "lines": lines, "shippingAddress": far, "paymentMethod": "BANK_TRANSFER" }),
        "tibet",
    )
    .await;
    assert_eq!(refused["userErrors"][0]["code"], "NOT_DELIVERABLE", "{refused}");
    assert_eq!(
        refused["userErrors"][0]["field"],
        json!(["input", "shippingAddress", "province"])
    );
    assert_eq!(first_variant(&app, "sanwang-xian-baihe").await.1, stock_before);

    let placed = place(
        &app,
        &cast.buyer,
        json!({ "lines": lines, "shippingAddress": address(), "paymentMethod": "BANK_TRANSFER" }),
        "hunan",
    )
    .await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    let order_id = placed["order"]["id"].clone();
    let shown = app.query_as(&cast.buyer, ORDER, json!({ "id": order_id })).await["order"].clone();
    assert_eq!(fen(&shown["subtotal"]), 3 * price);
    assert_eq!(fen(&shown["shippingFee"]), fee);
    assert_eq!(
        fen(&shown["total"]),
        3 * price + fee,
        "the buyer pays goods and shipping"
    );
    assert_eq!(fen(&shown["shipments"][0]["shippingFee"]), fee);

    pay_ship_deliver(&app, &cast, &order_id).await;
    let account = app.query_as(&grower, EARNINGS, json!({})).await;
    assert_eq!(entries(&account, "SHIPPING"), [(fee, 0)], "the fee is earned whole");
    let (sale, sale_fee) = entries(&account, "SALE")[0];
    assert_eq!(sale + sale_fee, 3 * price);
    assert_eq!(fen(&account["myProducer"]["balance"]["pending"]), sale + fee);

    // A partial refund gives back goods; the rest gives back the goods left and the fee.
    let part = refund(&app, &cast.operator, &order_id, Some("1.00")).await;
    assert_eq!(part["userErrors"], json!([]), "{part}");
    let account = app.query_as(&grower, EARNINGS, json!({})).await;
    assert!(entries(&account, "SHIPPING_REFUND").is_empty(), "{account}");
    let too_much = refund(
        &app,
        &cast.operator,
        &order_id,
        Some(&format!("{}.00", (3 * price + fee) / 100 + 1)),
    )
    .await;
    assert_eq!(too_much["userErrors"][0]["code"], "INVALID_INPUT", "{too_much}");
    let rest = refund(&app, &cast.operator, &order_id, None).await;
    assert_eq!(rest["userErrors"], json!([]), "{rest}");
    assert_eq!(rest["order"]["status"], "REFUNDED");
    let account = app.query_as(&grower, EARNINGS, json!({})).await;
    assert_eq!(entries(&account, "SHIPPING_REFUND"), [(-fee, 0)]);
    let left: i64 = account["myProducer"]["earnings"]["nodes"]
        .as_array()
        .expect("earnings")
        .iter()
        .map(|e| fen(&e["amount"]))
        .sum();
    assert_eq!(left, 0, "refunded in full, the grower keeps nothing of the order");
}
