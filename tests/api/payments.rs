//! Payments through Stripe (a stand-in speaking Stripe's own objects, reached by the real
//! client), exactly once; bank transfers; refunds; reconciliation.

use std::process::{Command, Stdio};
use std::time::Duration;

use huakai::accounts::Role;
use huakai::catalogue::entity::stock_movement;
use huakai::payments::entity::webhook_event;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::orders::{PLACE, assert_ledger_balances, available, order_input, order_row, variants};
use crate::support::stripe::StripeStandIn;
use crate::support::{Actor, Backend, TestApp, TestDatabase};

on_each_backend!(
    a_card_order_is_paid_once_through_a_signed_webhook,
    refunds_full_and_partial_go_through_stripe_once
);

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

async fn a_card_order_is_paid_once_through_a_signed_webhook(backend: Backend) {
    let Some((app, stripe)) = TestApp::spawn_with_stripe(backend, &[]).await else {
        return;
    };
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let (order_id, intent) = card_order(&app, &buyer, "card-1", 2).await;

    let intents = stripe.payment_intents();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0]["currency"], "cny");
    assert_eq!(intents[0]["payment_method_types"], json!(["card"]));
    assert_eq!(intents[0]["allowed_payment_method_types"], json!(["card"]));
    let row = order_row(&order_id);
    assert_eq!(intents[0]["metadata"]["order_id"], row.to_string());
    let seen = app.query_as(&buyer, ORDER, json!({ "id": order_id })).await;
    let total = seen["order"]["total"]["amount"]
        .as_str()
        .expect("total")
        .replace('.', "")
        .parse::<i64>()
        .expect("fen");
    assert_eq!(intents[0]["amount"], json!(total));
    assert_eq!(seen["order"]["payment"]["status"], "REQUIRES_PAYMENT");

    // Retrying placeOrder is the same order and the same PaymentIntent.
    let (lily, _) = variants(&app, "sanwang-xian-baihe")
        .await
        .into_values()
        .next()
        .expect("lily");
    let mut again = order_input(json!([{ "variantId": lily, "quantity": 2 }]), "card-1");
    again["input"]["paymentMethod"] = json!("CARD");
    let again = app.query_as(&buyer, PLACE, again).await;
    assert_eq!(again["placeOrder"]["order"]["id"], order_id);
    assert_eq!(stripe.payment_intents().len(), 1);

    // Forged, stale, unsigned and malformed webhooks: 400, and nothing changes.
    let event = stripe.event("payment_intent.succeeded", {
        let mut paid = stripe.payment_intent(&intent).expect("intent");
        paid["status"] = json!("succeeded");
        paid["amount_received"] = paid["amount"].clone();
        paid
    });
    let payload = event.to_string();
    let now = chrono::Utc::now().timestamp();
    let forged = huakai_sign("whsec_not_the_secret", &payload, now);
    let cases: Vec<(Option<String>, String)> = vec![
        (Some(forged), payload.clone()),
        (Some(stripe.signature(&payload, now - 600)), payload.clone()),
        (None, payload.clone()),
        (Some(stripe.signature("not json", now)), "not json".to_owned()),
    ];
    for (signature, body) in cases {
        let mut request = app.http().post(app.url("/webhooks/stripe")).body(body.clone());
        if let Some(signature) = signature {
            request = request.header("Stripe-Signature", signature);
        }
        let status = request.send().await.expect("webhook").status();
        assert_eq!(status, 400, "{body:.40}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let unchanged = app.query_as(&buyer, ORDER, json!({ "id": order_id })).await;
    assert_eq!(unchanged["order"]["status"], "PENDING_PAYMENT");
    assert_eq!(webhook_event::Entity::find().count(app.db()).await.expect("count"), 0);

    // A declined card: FAILED, and the order can still be paid.
    stripe.decline(&intent).await;
    let declined = app
        .eventually(&buyer, ORDER, json!({ "id": order_id }), "the decline", |seen| {
            seen["order"]["payment"]["status"] == "FAILED"
        })
        .await;
    assert_eq!(declined["order"]["status"], "PENDING_PAYMENT");

    // Paid: the signed event moves the order to PAID.
    let succeeded = stripe.succeed(&intent).await;
    let paid = wait_for_status(&app, &buyer, &order_id, "PAID").await;
    assert_eq!(paid["payment"]["status"], "SUCCEEDED");
    let movements = stock_movement::Entity::find().count(app.db()).await.expect("count");

    // The same event again: 200, one effect.
    assert_eq!(stripe.deliver(&succeeded).await, 200);
    // A late failure never un-pays a paid order.
    let late_failure = stripe.event("payment_intent.payment_failed", {
        let mut failed = stripe.payment_intent(&intent).expect("intent");
        failed["status"] = json!("requires_payment_method");
        failed
    });
    assert_eq!(stripe.deliver(&late_failure).await, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let still = app.query_as(&buyer, ORDER, json!({ "id": order_id })).await;
    assert_eq!(still["order"]["status"], "PAID");
    assert_eq!(still["order"]["payment"]["status"], "SUCCEEDED");
    assert_eq!(
        stock_movement::Entity::find().count(app.db()).await.expect("count"),
        movements,
        "applied once"
    );

    // A grower with lines in the order sees its payment, never the client secret.
    let grower = app
        .user("lily@example.com", Role::Grower, Some("sanwang-baihe-hezuoshe"))
        .await;
    let theirs = app.query_as(&grower, ORDER, json!({ "id": order_id })).await;
    assert_eq!(theirs["order"]["payment"]["clientSecret"], Value::Null);
    assert_ledger_balances(&app).await;
}

/// Stripe's signature scheme with another secret (a forger's).
fn huakai_sign(secret: &str, payload: &str, timestamp: i64) -> String {
    crate::support::stripe::sign(secret, payload, timestamp)
}

async fn refunds_full_and_partial_go_through_stripe_once(backend: Backend) {
    let Some((app, stripe)) = TestApp::spawn_with_stripe(backend, &[]).await else {
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
async fn a_wrong_amount_is_flagged_not_paid() {
    let (app, stripe) = TestApp::spawn_with_stripe(Backend::Sqlite, &[]).await.expect("SQLite");
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let (order_id, intent) = card_order(&app, &buyer, "short-paid", 1).await;
    let mut short = stripe.payment_intent(&intent).expect("intent");
    short["status"] = json!("succeeded");
    short["amount_received"] = json!(1);
    assert_eq!(
        stripe.deliver(&stripe.event("payment_intent.succeeded", short)).await,
        200
    );
    let flagged = app
        .eventually(&operator, ORDER, json!({ "id": order_id }), "the flag", |seen| {
            !seen["order"]["payment"]["reviewReason"].is_null()
        })
        .await;
    assert_eq!(
        flagged["order"]["status"], "PENDING_PAYMENT",
        "an amount that does not match pays nothing"
    );
    assert!(
        flagged["order"]["payment"]["reviewReason"]
            .as_str()
            .is_some_and(|r| r.contains("0.01"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_after_expiry_is_refunded_whether_or_not_the_stock_is_left() {
    let (app, stripe) = TestApp::spawn_with_stripe(Backend::Sqlite, &[("HUAKAI_RESERVATION_TTL", "1s")])
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
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite");
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

/// The real binary answers a webhook and is killed at once; started again, it applies the
/// stored event: the order is PAID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_answering_a_webhook_loses_nothing() {
    let Some(database) = TestDatabase::create(Backend::Postgres).await else {
        return;
    };
    let url = database.url.clone();
    let stripe = StripeStandIn::start().await;
    let app = TestApp::spawn_on(database).await;
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let port = free_port();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_huakai"))
            .env("DATABASE_URL", &url)
            .env("HUAKAI_ADDR", format!("127.0.0.1:{port}"))
            .env("STRIPE_SECRET_KEY", &stripe.secret_key)
            .env("STRIPE_WEBHOOK_SECRET", &stripe.webhook_secret)
            .env("STRIPE_API_BASE", &stripe.base_url)
            .env_remove("REDIS_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("huakai starts")
    };
    let mut child = spawn();
    wait_until_serving(port).await;
    stripe.send_webhooks_to(format!("http://127.0.0.1:{port}/webhooks/stripe"));
    let (lily, _) = variants(&app, "sanwang-xian-baihe")
        .await
        .into_values()
        .next()
        .expect("lily");
    let mut input = order_input(json!([{ "variantId": lily, "quantity": 1 }]), "crash");
    input["input"]["paymentMethod"] = json!("WECHAT_PAY");
    let client = reqwest::Client::new();
    let placed: Value = client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .bearer_auth(buyer.token.clone().expect("token"))
        .json(&json!({ "query": PLACE, "variables": input }))
        .send()
        .await
        .expect("placeOrder")
        .json()
        .await
        .expect("json");
    let order_id = placed["data"]["placeOrder"]["order"]["id"].clone();
    let intent = stripe.payment_intents()[0]["id"].as_str().expect("intent").to_owned();
    assert_eq!(
        stripe.payment_intents()[0]["payment_method_types"],
        json!(["wechat_pay"])
    );

    stripe.succeed(&intent).await;
    assert_eq!(
        stripe.deliveries().last().map(|d| d.status),
        Some(200),
        "the webhook was answered"
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        webhook_event::Entity::find().count(app.db()).await.expect("count"),
        1,
        "stored before answering"
    );

    let mut restarted = spawn();
    wait_until_serving(port).await;
    // The killed process may have claimed the event just before it died (on a busy machine it
    // often has): its claim lapses after a minute (payments::inbox's CLAIM), and only then may
    // the restarted one apply it. Usually the order is paid within a second or two.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(75);
    let paid = loop {
        let seen = app.query_as(&buyer, ORDER, json!({ "id": order_id })).await["order"].clone();
        if seen["status"] == "PAID" {
            break seen;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the stored event was never applied: {seen}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(paid["payment"]["status"], "SUCCEEDED");
    let _ = restarted.kill();
    let _ = restarted.wait();
    assert_ledger_balances(&app).await;
}

/// A webhook that never came: `huakai payments reconcile` finds the paid intent and pays the order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_repairs_a_missed_webhook() {
    let Some(database) = TestDatabase::create(Backend::Postgres).await else {
        return;
    };
    let url = database.url.clone();
    let stripe = StripeStandIn::start().await;
    let settings = [
        ("STRIPE_SECRET_KEY", stripe.secret_key.as_str()),
        ("STRIPE_WEBHOOK_SECRET", stripe.webhook_secret.as_str()),
        ("STRIPE_API_BASE", stripe.base_url.as_str()),
    ];
    let app = TestApp::spawn_on_with(database, &settings).await;
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let (order_id, intent) = card_order(&app, &buyer, "missed", 1).await;
    // No webhook URL: Stripe's event never reaches the shop.
    stripe.succeed(&intent).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let still = app.query_as(&buyer, ORDER, json!({ "id": order_id })).await;
    assert_eq!(still["order"]["status"], "PENDING_PAYMENT");

    let output = Command::new(env!("CARGO_BIN_EXE_huakai"))
        .args(["payments", "reconcile"])
        .env("DATABASE_URL", &url)
        .env("STRIPE_SECRET_KEY", &stripe.secret_key)
        .env("STRIPE_WEBHOOK_SECRET", &stripe.webhook_secret)
        .env("STRIPE_API_BASE", &stripe.base_url)
        .output()
        .expect("huakai runs");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(printed.contains("1 repaired"), "{printed}");
    let paid = app.query_as(&buyer, ORDER, json!({ "id": order_id })).await;
    assert_eq!(paid["order"]["status"], "PAID");
    assert_ledger_balances(&app).await;
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
