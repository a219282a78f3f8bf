//! Pickup orders (到店自提): placed online with the store named, their units set aside on the
//! store's shelf, no shipping charged, handed over by the store's clerk against the buyer's
//! code; uncollected ones cancelled and paid back, their units back on the shelf.

use crate::payouts::HOLD;
use crate::support::scenario::order;
use crate::support::{Backend, error_code};

use super::*;

crate::on_each_backend!(
    a_pickup_order_waits_on_the_shelf_and_is_handed_over_against_its_code,
    an_uncollected_pickup_is_cancelled_paid_back_and_restocked,
);

const PLACE_PICKUP: &str = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
    order { id status total { amount } shippingFee { amount } pickupStoreId pickupCode
        shippingAddress { name line1 } }
    userErrors { field code } } }";

const CONFIRM: &str = "mutation($code: String!) { confirmPickup(code: $code) {
    order { id status pickupCode } userErrors { field code } } }";

const PAY_BY_BANK: &str =
    "mutation($id: ID!) { recordBankTransfer(orderId: $id, reference: \"ICBC-88\") { userErrors { code } } }";

fn pickup_input(counter: &Counter, quantity: i64, key: &str) -> Value {
    json!({ "input": { "lines": [{ "variantId": counter.lily, "quantity": quantity }],
        "pickupStoreId": counter.store_id, "paymentMethod": "BANK_TRANSFER", "idempotencyKey": key } })
}

async fn place_pickup(app: &TestApp, counter: &Counter, quantity: i64, key: &str) -> Value {
    let placed = app
        .query_as(&counter.cast.buyer, PLACE_PICKUP, pickup_input(counter, quantity, key))
        .await;
    placed["placeOrder"].clone()
}

async fn online(app: &TestApp, counter: &Counter) -> i64 {
    let data = app
        .query(
            "query($slug: String!) { product(slug: $slug) { variants { id available } } }",
            json!({ "slug": LILY }),
        )
        .await;
    data["product"]["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .find(|v| v["id"] == counter.lily)
        .and_then(|v| v["available"].as_i64())
        .expect("the lily's availability")
}

async fn a_pickup_order_waits_on_the_shelf_and_is_handed_over_against_its_code(backend: Backend) {
    let Some(app) = TestApp::on(backend).settings(&[HOLD]).start().await else {
        return;
    };
    let counter = counter(&app).await;
    stock_shelf(&app, &counter, 5).await;
    let online_before = online(&app, &counter).await;
    // The grower charges shipping; collected at the store, nothing is charged.
    let producer = app
        .query_as(&counter.cast.grower, "{ myProducer { producer { id } } }", json!({}))
        .await["myProducer"]["producer"]["id"]
        .clone();
    let rule = app
        .query_as(
            &counter.cast.grower,
            "mutation($id: ID!) { setShippingRule(producerId: $id, input: { firstWeightGrams: 1000,
                firstFee: \"8.00\", extraPerKg: \"3.00\" }) { userErrors { code } } }",
            json!({ "id": producer }),
        )
        .await;
    assert_eq!(rule["setShippingRule"]["userErrors"], json!([]), "{rule}");

    // One destination only, and no more than the shelf holds.
    let mut both = pickup_input(&counter, 1, "both");
    both["input"]["shippingAddress"] = crate::support::scenario::address();
    let both = app.query_as(&counter.cast.buyer, PLACE_PICKUP, both).await;
    assert_eq!(both["placeOrder"]["userErrors"][0]["code"], "INVALID_INPUT", "{both}");
    let short = place_pickup(&app, &counter, 6, "short").await;
    assert_eq!(short["userErrors"][0]["code"], "NOT_ON_SHELF", "{short}");
    assert_eq!(
        short["userErrors"][0]["field"],
        json!(["input", "lines", "0", "quantity"])
    );

    let placed = place_pickup(&app, &counter, 2, "pickup").await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    let order_id = placed["order"]["id"].clone();
    assert_eq!(placed["order"]["pickupStoreId"], counter.store_id);
    assert_eq!(fen(&placed["order"]["shippingFee"]), 0);
    assert_eq!(fen(&placed["order"]["total"]), 60_00);
    assert_eq!(placed["order"]["shippingAddress"]["line1"], "龙门镇中心街 8 号");
    let code = placed["order"]["pickupCode"]
        .as_str()
        .expect("a pickup code")
        .to_owned();
    assert!(code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    assert_eq!(on_shelf(&app, &counter).await, 3, "set aside on the shelf");
    assert_eq!(
        online(&app, &counter).await,
        online_before,
        "online stock is not touched"
    );

    // Not paid yet: not handed over. A wrong code finds nothing.
    let early = app.query_as(&counter.clerk, CONFIRM, json!({ "code": code })).await;
    assert_eq!(
        early["confirmPickup"]["userErrors"][0]["code"], "NOT_DELIVERABLE",
        "{early}"
    );
    let wrong = if code == "00000000" { "00000001" } else { "00000000" };
    let wrong = app.query_as(&counter.clerk, CONFIRM, json!({ "code": wrong })).await;
    assert_eq!(
        wrong["confirmPickup"]["userErrors"][0]["code"], "INVALID_CODE",
        "{wrong}"
    );

    let paid = app
        .query_as(&counter.cast.operator, PAY_BY_BANK, json!({ "id": order_id }))
        .await;
    assert_eq!(paid["recordBankTransfer"]["userErrors"], json!([]), "{paid}");
    assert_eq!(on_shelf(&app, &counter).await, 3, "paying moves nothing more");
    let shipped = app
        .query_as(
            &counter.cast.operator,
            "mutation($id: ID!) { markShipped(orderId: $id, trackingNumber: \"SF1\") { userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(
        shipped["markShipped"]["userErrors"][0]["code"], "NOT_SHIPPABLE",
        "nothing to ship: {shipped}"
    );

    // Another store's clerk looks the code up at their own store: not there.
    let other_store = super::store(&app, &counter.cast.operator, "shuangpai").await;
    let other_clerk = clerk(&app, &counter.cast.operator, &other_store, "clerk@shuangpai.example").await;
    let elsewhere = app.query_as(&other_clerk, CONFIRM, json!({ "code": code })).await;
    assert_eq!(
        elsewhere["confirmPickup"]["userErrors"][0]["code"], "INVALID_CODE",
        "{elsewhere}"
    );
    assert_eq!(elsewhere["confirmPickup"]["userErrors"][0]["field"], json!(["code"]));
    // An operator is no till.
    let (_, refused) = app
        .graphql_as(&counter.cast.operator, CONFIRM, json!({ "code": code }))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");

    let handed = app
        .query_as(&counter.clerk, CONFIRM, json!({ "code": format!(" {code} ") }))
        .await;
    assert_eq!(handed["confirmPickup"]["userErrors"], json!([]), "{handed}");
    assert_eq!(handed["confirmPickup"]["order"]["status"], "DELIVERED");
    assert_eq!(
        handed["confirmPickup"]["order"]["pickupCode"],
        Value::Null,
        "the code is the buyer's"
    );
    let again = app.query_as(&counter.clerk, CONFIRM, json!({ "code": code })).await;
    assert_eq!(again["confirmPickup"]["userErrors"][0]["code"], "NOT_DELIVERABLE");
    assert_eq!(order(&app, &counter.cast.buyer, &order_id).await["status"], "DELIVERED");
    let earned = app
        .query_as(
            &counter.cast.grower,
            "{ myProducer { earnings(first: 5) { nodes { kind lineTotal { amount } } } } }",
            json!({}),
        )
        .await;
    let nodes = earned["myProducer"]["earnings"]["nodes"]
        .as_array()
        .expect("earnings")
        .clone();
    assert_eq!(nodes.len(), 1, "one sale, no shipping: {earned}");
    assert_eq!(
        (nodes[0]["kind"].as_str(), fen(&nodes[0]["lineTotal"])),
        (Some("SALE"), 60_00)
    );
}

async fn an_uncollected_pickup_is_cancelled_paid_back_and_restocked(backend: Backend) {
    let Some(app) = TestApp::on(backend).setting("HUAKAI_PICKUP_WINDOW", "1s").start().await else {
        return;
    };
    let counter = counter(&app).await;
    stock_shelf(&app, &counter, 5).await;
    // An unpaid one the buyer cancels goes back at once.
    let unpaid = place_pickup(&app, &counter, 1, "changed-my-mind").await;
    let cancelled = app
        .query_as(
            &counter.cast.buyer,
            "mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } userErrors { code } } }",
            json!({ "id": unpaid["order"]["id"] }),
        )
        .await;
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED", "{cancelled}");
    assert_eq!(on_shelf(&app, &counter).await, 5);

    let placed = place_pickup(&app, &counter, 2, "forgotten").await;
    let order_id = placed["order"]["id"].clone();
    app.query_as(&counter.cast.operator, PAY_BY_BANK, json!({ "id": order_id }))
        .await;
    assert_eq!(on_shelf(&app, &counter).await, 3);
    let gone = app
        .eventually(
            &counter.cast.buyer,
            "query($id: ID!) { order(id: $id) { status payment { refunded { amount } refundPending { amount } } } }",
            json!({ "id": order_id }),
            "the uncollected order's cancellation",
            |data| data["order"]["status"] == "CANCELLED",
        )
        .await;
    let payment = &gone["order"]["payment"];
    // By bank, the refund waits for an operator to send it: decided in full all the same.
    assert_eq!(
        fen(&payment["refunded"]) + fen(&payment["refundPending"]),
        60_00,
        "paid back in full: {gone}"
    );
    assert_eq!(on_shelf(&app, &counter).await, 5, "its units are back on the shelf");
}
