//! An order's life after placing: expiry, shipping per producer, delivery, and a crash that
//! leaves nothing reserved.

use super::*;

on_each_backend!(
    an_unpaid_order_expires_and_frees_its_stock,
    orders_ship_per_producer_and_are_delivered,
    a_killed_app_leaves_no_stock_reserved_without_an_order,
);

async fn an_unpaid_order_expires_and_frees_its_stock(backend: Backend) {
    let Some(app) = TestApp::on(backend)
        .settings(&[("HUAKAI_RESERVATION_TTL", "2s")])
        .start()
        .await
    else {
        return;
    };
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let (lily, stock) = variants(&app, "sanwang-xian-baihe")
        .await
        .into_values()
        .next()
        .expect("lily");
    let placed = app
        .query_as(
            &buyer,
            PLACE,
            order_input(json!([{ "variantId": lily, "quantity": 5 }]), "slow-payer"),
        )
        .await;
    let order_id = placed["placeOrder"]["order"]["id"].clone();
    assert_eq!(available(&app, "sanwang-xian-baihe", &lily).await, stock - 5);

    let status = "query($id: ID!) { order(id: $id) { status reservedUntil } }";
    app.eventually(
        &buyer,
        status,
        json!({ "id": order_id }),
        "expiry of a 2 s reservation",
        |seen| seen["order"]["status"] == "CANCELLED",
    )
    .await;
    assert_eq!(available(&app, "sanwang-xian-baihe", &lily).await, stock);
    assert_ledger_balances(&app).await;
}

async fn orders_ship_per_producer_and_are_delivered(backend: Backend) {
    let Some(app) = TestApp::on(backend)
        .settings(&[("HUAKAI_AUTO_DELIVERY", "1s")])
        .start()
        .await
    else {
        return;
    };
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let lily_grower = app
        .user("lily@example.com", Role::Grower, Some("sanwang-baihe-hezuoshe"))
        .await;
    let lobster_grower = app
        .user("lobster@example.com", Role::Grower, Some("changyuan-longxia-hezuoshe"))
        .await;
    let (lily, lily_stock) = variants(&app, "sanwang-xian-baihe")
        .await
        .into_values()
        .next()
        .expect("lily");
    let (lobster, _) = variants(&app, "changyuan-xiaolongxia")
        .await
        .into_values()
        .next()
        .expect("lobster");
    let placed = app
        .query_as(
            &buyer,
            PLACE,
            order_input(
                json!([{ "variantId": lily, "quantity": 2 }, { "variantId": lobster, "quantity": 1 }]),
                "two-producers",
            ),
        )
        .await;
    let order_id = placed["placeOrder"]["order"]["id"].clone();
    let ship = "mutation($id: ID!, $tracking: String!) { markShipped(orderId: $id, trackingNumber: $tracking) {
        order { status shipments { trackingNumber producer { slug } } } userErrors { code } } }";

    let unpaid = app
        .query_as(&lily_grower, ship, json!({ "id": order_id, "tracking": "SF1001" }))
        .await;
    assert_eq!(
        unpaid["markShipped"]["userErrors"][0]["code"], "NOT_SHIPPABLE",
        "an unpaid order is not shipped"
    );

    let row = order_row(&order_id);
    assert!(mark_paid(&app, row).await, "was pending");
    assert!(!mark_paid(&app, row).await, "paying twice changes nothing");
    // Paid units leave the shelf; what is available does not change again.
    assert_eq!(available(&app, "sanwang-xian-baihe", &lily).await, lily_stock - 2);

    // Each grower sees only its own part.
    let view = "query($id: ID!) { order(id: $id) { total { amount } lines { quantity producer { slug } } } }";
    let lily_view = app.query_as(&lily_grower, view, json!({ "id": order_id })).await;
    let lines = lily_view["order"]["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["producer"]["slug"], "sanwang-baihe-hezuoshe");

    let first = app
        .query_as(&lily_grower, ship, json!({ "id": order_id, "tracking": "SF1001" }))
        .await;
    assert_eq!(first["markShipped"]["userErrors"], json!([]));
    assert_eq!(
        first["markShipped"]["order"]["status"], "PARTIALLY_SHIPPED",
        "one of two shipments is on its way"
    );
    let too_late = app
        .query_as(
            &buyer,
            "mutation($id: ID!) { cancelOrder(orderId: $id) { userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(
        too_late["cancelOrder"]["userErrors"][0]["code"], "NOT_CANCELLABLE",
        "part of it is on its way"
    );
    let twice = app
        .query_as(&lily_grower, ship, json!({ "id": order_id, "tracking": "SF1002" }))
        .await;
    assert_eq!(twice["markShipped"]["userErrors"][0]["code"], "NOT_SHIPPABLE");
    let second = app
        .query_as(&lobster_grower, ship, json!({ "id": order_id, "tracking": "YT2002" }))
        .await;
    assert_eq!(second["markShipped"]["order"]["status"], "SHIPPED");

    let cancel = app
        .query_as(
            &buyer,
            "mutation($id: ID!) { cancelOrder(orderId: $id) { userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(
        cancel["cancelOrder"]["userErrors"][0]["code"], "NOT_CANCELLABLE",
        "too late once shipped"
    );
    let whole = app
        .query_as(
            &buyer,
            "query($id: ID!) { order(id: $id) { shipments { trackingNumber } } }",
            json!({ "id": order_id }),
        )
        .await;
    let tracking: HashSet<&str> = whole["order"]["shipments"]
        .as_array()
        .expect("shipments")
        .iter()
        .filter_map(|s| s["trackingNumber"].as_str())
        .collect();
    assert_eq!(tracking, HashSet::from(["SF1001", "YT2002"]));

    let delivered = app
        .query_as(
            &buyer,
            "mutation($id: ID!) { confirmDelivery(orderId: $id) { order { status } userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(delivered["confirmDelivery"]["order"]["status"], "DELIVERED");

    // Cancelling: an unpaid order frees its stock; a paid one puts its units back.
    let (rice, rice_stock) = variants(&app, "changyuan-xiadaomi")
        .await
        .into_values()
        .next()
        .expect("rice");
    let cancel = "mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } userErrors { code } } }";
    let pending = app
        .query_as(
            &buyer,
            PLACE,
            order_input(json!([{ "variantId": rice, "quantity": 4 }]), "change-of-mind"),
        )
        .await;
    let pending_id = pending["placeOrder"]["order"]["id"].clone();
    let stranger = app.user("stranger@example.com", Role::Buyer, None).await;
    let refused = app.query_as(&stranger, cancel, json!({ "id": pending_id })).await;
    assert_eq!(refused["cancelOrder"]["userErrors"][0]["code"], "NOT_FOUND");
    let cancelled = app.query_as(&buyer, cancel, json!({ "id": pending_id })).await;
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED");
    assert_eq!(available(&app, "changyuan-xiadaomi", &rice).await, rice_stock);

    let paid = app
        .query_as(
            &buyer,
            PLACE,
            order_input(json!([{ "variantId": rice, "quantity": 3 }]), "paid-then-cancelled"),
        )
        .await;
    let paid_id = paid["placeOrder"]["order"]["id"].clone();
    let paid_row = order_row(&paid_id);
    assert!(mark_paid(&app, paid_row).await);
    let cancelled = app.query_as(&buyer, cancel, json!({ "id": paid_id })).await;
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED");
    assert_eq!(available(&app, "changyuan-xiadaomi", &rice).await, rice_stock);

    // A shipped order the buyer never confirms is delivered automatically.
    let auto = app
        .query_as(
            &buyer,
            PLACE,
            order_input(json!([{ "variantId": rice, "quantity": 1 }]), "quiet-buyer"),
        )
        .await;
    let auto_id = auto["placeOrder"]["order"]["id"].clone();
    let auto_row = order_row(&auto_id);
    assert!(mark_paid(&app, auto_row).await);
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let shipped = app
        .query_as(&operator, ship, json!({ "id": auto_id, "tracking": "EMS3003" }))
        .await;
    assert_eq!(shipped["markShipped"]["order"]["status"], "SHIPPED");
    let status = "query($id: ID!) { order(id: $id) { status } }";
    app.eventually(&buyer, status, json!({ "id": auto_id }), "auto-delivery", |seen| {
        seen["order"]["status"] == "DELIVERED"
    })
    .await;
    assert_ledger_balances(&app).await;
}

/// The real binary is killed with SIGKILL while orders pour in: every unit it reserved belongs
/// to an order that exists, and the ledger balances.
async fn a_killed_app_leaves_no_stock_reserved_without_an_order(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let url = database.url.clone();
    let app = TestApp::on_database(database)
        .start()
        .await
        .expect("the test's own database");
    let variant_id = forty_units(&app).await;
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        listener.local_addr().expect("address").port()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_huakai"))
        .env("DATABASE_URL", &url)
        .env("HUAKAI_ADDR", format!("127.0.0.1:{port}"))
        .env("HUAKAI_TOKEN_SECRET", "")
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("huakai starts");
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}/graphql");
    for _ in 0..200 {
        if client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = buyer.token.clone().expect("token");
    let requests = (0..60).map(|attempt| {
        let client = client.clone();
        let base = base.clone();
        let token = token.clone();
        let input = order_input(
            json!([{ "variantId": variant_id, "quantity": 1 }]),
            &format!("crash-{attempt}"),
        );
        tokio::spawn(async move {
            let _ = client
                .post(base)
                .bearer_auth(token)
                .json(&json!({ "query": PLACE, "variables": input }))
                .timeout(Duration::from_secs(10))
                .send()
                .await;
        })
    });
    let requests: Vec<_> = requests.collect();
    tokio::time::sleep(Duration::from_millis(60)).await;
    let _ = child.kill();
    let _ = child.wait();
    for request in requests {
        let _ = request.await;
    }
    assert_ledger_balances(&app).await;
}
