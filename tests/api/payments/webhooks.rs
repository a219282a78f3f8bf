//! Stripe's word reaching the shop: signed webhooks paid once, wrong amounts flagged, a crash
//! after answering, and reconciliation of a missed webhook.

use super::*;

on_each_backend!(a_card_order_is_paid_once_through_a_signed_webhook,);

async fn a_card_order_is_paid_once_through_a_signed_webhook(backend: Backend) {
    let Some((app, stripe)) = TestApp::on(backend).with_stripe().await else {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_amount_is_flagged_not_paid() {
    let (app, stripe) = TestApp::on(Backend::Sqlite).with_stripe().await.expect("SQLite");
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

/// The real binary answers a webhook and is killed at once; started again, it applies the
/// stored event: the order is PAID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_answering_a_webhook_loses_nothing() {
    let Some(database) = TestDatabase::create(Backend::Postgres).await else {
        return;
    };
    let url = database.url.clone();
    let stripe = StripeStandIn::start().await;
    let app = TestApp::on_database(database)
        .start()
        .await
        .expect("the test's own database");
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
    let app = TestApp::on_database(database)
        .settings(&settings)
        .start()
        .await
        .expect("the test's own database");
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
