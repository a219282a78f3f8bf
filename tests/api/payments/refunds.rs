//! Refunds through Stripe once, late payments refunded, and a shop without Stripe.

use super::*;

on_each_backend!(refunds_full_and_partial_go_through_stripe_once,);

async fn refunds_full_and_partial_go_through_stripe_once(backend: Backend) {
    let Some((app, stripe)) = TestApp::on(backend).with_stripe().await else {
        return;
    };
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let (lily, stock) = variants(&app, "sanwang-xian-baihe")
        .await
        .into_values()
        .next()
        .expect("lily");
    let (order_id, intent) = card_order(&app, &buyer, "refund-me", 3).await;
    stripe.succeed(&intent).await;
    let paid = wait_for_status(&app, &buyer, &order_id, "PAID").await;
    let total = paid["total"]["amount"].as_str().expect("total").to_owned();

    let refund = "mutation($id: ID!, $amount: String) { refundOrder(orderId: $id, amount: $amount) {
        order { status payment { status refunded { amount } } } userErrors { field code } } }";
    let partial = app
        .query_as(&operator, refund, json!({ "id": order_id, "amount": "10.00" }))
        .await;
    assert_eq!(partial["refundOrder"]["userErrors"], json!([]));
    assert_eq!(
        partial["refundOrder"]["order"]["payment"]["status"],
        "PARTIALLY_REFUNDED"
    );
    assert_eq!(
        partial["refundOrder"]["order"]["payment"]["refunded"]["amount"],
        "10.00"
    );
    assert_eq!(stripe.refunds().len(), 1);
    assert_eq!(stripe.refunds()[0]["amount"], json!(1000));
    stripe.settle().await;

    let too_much = app
        .query_as(&operator, refund, json!({ "id": order_id, "amount": total }))
        .await;
    assert_eq!(
        too_much["refundOrder"]["userErrors"][0]["code"], "INVALID_INPUT",
        "more than is left"
    );
    let bad = app
        .query_as(&operator, refund, json!({ "id": order_id, "amount": "-1" }))
        .await;
    assert_eq!(bad["refundOrder"]["userErrors"][0]["code"], "INVALID_INPUT");

    let rest = app.query_as(&operator, refund, json!({ "id": order_id })).await;
    assert_eq!(rest["refundOrder"]["userErrors"], json!([]));
    assert_eq!(rest["refundOrder"]["order"]["payment"]["status"], "REFUNDED");
    assert_eq!(rest["refundOrder"]["order"]["payment"]["refunded"]["amount"], total);
    assert_eq!(rest["refundOrder"]["order"]["status"], "REFUNDED");
    stripe.settle().await;
    assert_eq!(stripe.refunds().len(), 2, "one Stripe refund per refundOrder");
    // The charge.refunded events changed nothing more.
    let after = wait_for_status(&app, &buyer, &order_id, "REFUNDED").await;
    assert_eq!(after["payment"]["refunded"]["amount"], total);
    let nothing_left = app.query_as(&operator, refund, json!({ "id": order_id })).await;
    assert_eq!(nothing_left["refundOrder"]["userErrors"][0]["code"], "NOT_REFUNDABLE");
    // Refunded before shipment: the lilies are back on the shelf.
    assert_eq!(available(&app, "sanwang-xian-baihe", &lily).await, stock);

    // A paid order the buyer cancels is refunded.
    let (second, second_intent) = card_order(&app, &buyer, "cancel-me", 1).await;
    stripe.succeed(&second_intent).await;
    wait_for_status(&app, &buyer, &second, "PAID").await;
    let cancelled = app
        .query_as(&buyer, "mutation($id: ID!) { cancelOrder(orderId: $id) { order { status payment { status } } userErrors { code } } }", json!({ "id": second }))
        .await;
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED");
    assert_eq!(cancelled["cancelOrder"]["order"]["payment"]["status"], "REFUNDED");
    assert_eq!(stripe.refunds().len(), 3);
    stripe.settle().await;
    assert_ledger_balances(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_after_expiry_is_refunded_whether_or_not_the_stock_is_left() {
    let (app, stripe) = TestApp::on(Backend::Sqlite)
        .settings(&[("HUAKAI_RESERVATION_TTL", "1s")])
        .with_stripe()
        .await
        .expect("SQLite");
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let (order_id, intent) = card_order(&app, &buyer, "slow", 1).await;
    wait_for_status(&app, &buyer, &order_id, "CANCELLED").await;
    stripe.succeed(&intent).await;
    let returned = app
        .eventually(&buyer, ORDER, json!({ "id": order_id }), "the refund", |seen| {
            seen["order"]["payment"]["status"] == "REFUNDED"
        })
        .await;
    assert_eq!(
        returned["order"]["status"], "CANCELLED",
        "the stock was still there, but an expired order stays cancelled"
    );

    // This time the stock is gone when the late payment arrives: it is refunded.
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let created = app
        .query_as(
            &operator,
            "mutation { createProduct(input: { slug: \"last-box\", name: \"最后一盒\", categorySlug: \"shucai\", producerSlug: \"sanwang-baihe-hezuoshe\",
                variants: [{ sku: \"LAST-1\", name: \"1 盒\", price: \"30.00\", stock: 1 }] }) { product { variants { id } } } }",
            json!({}),
        )
        .await;
    let last = created["createProduct"]["product"]["variants"][0]["id"].clone();
    let mut input = order_input(json!([{ "variantId": last, "quantity": 1 }]), "late-again");
    input["input"]["paymentMethod"] = json!("CARD");
    let placed = app.query_as(&buyer, PLACE, input).await;
    let late_order = placed["placeOrder"]["order"]["id"].clone();
    let seen = app.query_as(&buyer, ORDER, json!({ "id": late_order })).await;
    let late_intent = seen["order"]["payment"]["clientSecret"]
        .as_str()
        .expect("secret")
        .split("_secret_")
        .next()
        .expect("id")
        .to_owned();
    wait_for_status(&app, &buyer, &late_order, "CANCELLED").await;
    let rival = app.user("rival@example.com", Role::Buyer, None).await;
    let took = app
        .query_as(
            &rival,
            PLACE,
            order_input(json!([{ "variantId": last, "quantity": 1 }]), "rival"),
        )
        .await;
    assert_eq!(took["placeOrder"]["userErrors"], json!([]));
    stripe.succeed(&late_intent).await;
    let refunded = app
        .eventually(
            &buyer,
            ORDER,
            json!({ "id": late_order }),
            "the late payment's refund",
            |seen| seen["order"]["payment"]["status"] == "REFUNDED",
        )
        .await;
    assert_eq!(refunded["order"]["status"], "CANCELLED");
    assert_eq!(stripe.refunds().len(), 2);
    assert_ledger_balances(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_without_stripe_takes_bank_transfers() {
    let app = TestApp::on(Backend::Sqlite).start().await.expect("SQLite");
    let buyer = app.user("union.buyer@example.com", Role::Buyer, None).await;
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let (lily, _) = variants(&app, "sanwang-xian-baihe")
        .await
        .into_values()
        .next()
        .expect("lily");
    let placed = app
        .query_as(
            &buyer,
            PLACE,
            order_input(json!([{ "variantId": lily, "quantity": 10 }]), "bulk"),
        )
        .await;
    let order_id = placed["placeOrder"]["order"]["id"].clone();
    let seen = app.query_as(&buyer, ORDER, json!({ "id": order_id })).await;
    assert_eq!(
        seen["order"]["payment"]["provider"], "bank_transfer",
        "bank transfer is the default without Stripe"
    );
    assert_eq!(seen["order"]["payment"]["status"], "REQUIRES_PAYMENT");

    let record = "mutation($id: ID!, $reference: String!) { recordBankTransfer(orderId: $id, reference: $reference) {
        order { status payment { status } } userErrors { code } } }";
    let recorded = app
        .query_as(
            &operator,
            record,
            json!({ "id": order_id, "reference": "ICBC-20260915-0001" }),
        )
        .await;
    assert_eq!(recorded["recordBankTransfer"]["userErrors"], json!([]));
    assert_eq!(recorded["recordBankTransfer"]["order"]["status"], "PAID");
    assert_eq!(
        recorded["recordBankTransfer"]["order"]["payment"]["status"],
        "SUCCEEDED"
    );
    let twice = app
        .query_as(
            &operator,
            record,
            json!({ "id": order_id, "reference": "ICBC-20260915-0001" }),
        )
        .await;
    assert_eq!(twice["recordBankTransfer"]["userErrors"][0]["code"], "NOT_PAYABLE");

    let webhook = app
        .http()
        .post(app.url("/webhooks/stripe"))
        .body("{}")
        .send()
        .await
        .expect("webhook");
    assert_eq!(webhook.status(), 404, "no Stripe, no webhooks");
    assert_ledger_balances(&app).await;
}
