//! Live sessions (flash sales): the quota never oversold, the session price only while live,
//! units back on cancel and expiry, the unsold rest back to stock, late payments refunded.

use super::*;

on_each_backend!(
    five_hundred_session_orders_never_oversell_the_quota_nor_a_buyers_limit,
    a_session_sells_at_its_price_only_while_live_and_gives_its_quota_back,
    unsold_quota_returns_when_the_session_ended_while_no_server_ran,
);

const SCHEDULE: &str = "mutation($input: LiveSessionInput!) { scheduleLiveSession(input: $input) {
    session { id status items { id approved quota remaining sold perBuyerLimit price { amount } } }
    userErrors { field code message } } }";

const APPROVE: &str = "mutation($id: ID!) { approveLiveSessionItem(itemId: $id) {
    session { id items { approved remaining } } userErrors { code } } }";

/// A session of one item (`variant` at `price`, `quota`, `limit` per buyer) from `starts` to
/// `ends` seconds from now, approved by the grower, with the host's link to it: the session's
/// id, its item's id and the link's code.
#[allow(clippy::too_many_arguments)]
pub(super) async fn approved_session(
    app: &TestApp,
    cast: &Cast,
    variant: &Value,
    price: &str,
    quota: i64,
    limit: i64,
    starts: i64,
    ends: i64,
) -> (Value, Value, String) {
    let now = chrono::Utc::now();
    let scheduled = app
        .query_as(
            &cast.host,
            SCHEDULE,
            json!({ "input": {
                "title": "三旺村百合直播专场",
                "startsAt": (now + chrono::Duration::seconds(starts)).to_rfc3339(),
                "endsAt": (now + chrono::Duration::seconds(ends)).to_rfc3339(),
                "items": [{ "variantId": variant, "price": price, "quota": quota, "perBuyerLimit": limit }],
            } }),
        )
        .await["scheduleLiveSession"]
        .clone();
    assert_eq!(scheduled["userErrors"], json!([]), "{scheduled}");
    let session = scheduled["session"]["id"].clone();
    let item = scheduled["session"]["items"][0]["id"].clone();
    assert_eq!(scheduled["session"]["items"][0]["approved"], false);
    let approved = app.query_as(&cast.grower, APPROVE, json!({ "id": item })).await;
    assert_eq!(
        approved["approveLiveSessionItem"]["userErrors"],
        json!([]),
        "{approved}"
    );
    assert_eq!(
        approved["approveLiveSessionItem"]["session"]["items"][0]["remaining"],
        json!(quota)
    );
    let created = app
        .query_as(
            &cast.host,
            "mutation($id: ID!) { createPromoLink(input: { sessionId: $id }) { promoLink { code session { id } } userErrors { code } } }",
            json!({ "id": session }),
        )
        .await["createPromoLink"]
        .clone();
    assert_eq!(created["userErrors"], json!([]), "{created}");
    assert_eq!(created["promoLink"]["session"]["id"], session);
    (
        session,
        item,
        created["promoLink"]["code"].as_str().expect("code").to_owned(),
    )
}

pub(super) fn session_order(variant: &Value, quantity: i64, code: &str, key: &str) -> Value {
    let mut input = order_input(json!([{ "variantId": variant, "quantity": quantity }]), key);
    input["input"]["referralCode"] = json!(code);
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    input
}

async fn item_row(db: &sea_orm::DatabaseConnection) -> live_session_item::Model {
    live_session_item::Entity::find()
        .all(db)
        .await
        .expect("items")
        .into_iter()
        .next()
        .expect("an item")
}

async fn five_hundred_session_orders_never_oversell_the_quota_nor_a_buyers_limit(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let (_, variant) = lily_at(&app, &cast.operator, "100.00").await;
    let before = available(&app, LILY, &variant).await;
    let (_, _, code) = approved_session(&app, &cast, &variant, "59.90", 60, 2, -1, 600).await;
    let set_aside = available(&app, LILY, &variant).await;
    assert_eq!(set_aside, before - 60, "the quota is out of what the shop sells");

    let mut buyers = Vec::new();
    for index in 0..100 {
        buyers.push(app.user(&format!("fan{index}@example.com"), Role::Buyer, None).await);
    }
    // 500 single-unit orders, five from each of 100 buyers, 128 in flight at any moment (all
    // 500 at once only measure the test machine: on two shared cores some would wait past the
    // client's timeout for a database connection).
    let attempts = (0..500).map(|attempt| {
        let buyer = &buyers[attempt % 100];
        let input = session_order(&variant, 1, &code, &format!("flash-{attempt}"));
        let app = &app;
        async move { (attempt % 100, app.query_as(buyer, PLACE, input).await) }
    });
    let answers: Vec<(usize, Value)> = futures::stream::iter(attempts).buffer_unordered(128).collect().await;
    let mut per_buyer = [0; 100];
    let mut sold = 0;
    for (buyer, answer) in &answers {
        let payload = &answer["placeOrder"];
        if payload["order"]["id"].is_string() {
            assert_eq!(payload["order"]["lines"][0]["unitPrice"]["amount"], "59.90");
            per_buyer[*buyer] += 1;
            sold += 1;
        } else {
            let code = payload["userErrors"][0]["code"].as_str().expect("a code");
            assert!(
                ["QUOTA_EXHAUSTED", "PURCHASE_LIMIT_REACHED"].contains(&code),
                "{payload}"
            );
        }
    }
    assert_eq!(sold, 60, "exactly the quota");
    assert!(
        per_buyer.iter().all(|n| *n <= 2),
        "nobody over the limit: {per_buyer:?}"
    );
    let item = item_row(app.db()).await;
    assert_eq!((item.remaining, item.sold()), (0, 60));
    assert_eq!(
        available(&app, LILY, &variant).await,
        set_aside,
        "general stock untouched"
    );
    crate::orders::assert_ledger_balances(&app).await;
}

/// A graphql-transport-ws client following `sessionStock` of `session`.
pub(super) struct StockWatch {
    socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl StockWatch {
    pub(super) async fn open(app: &TestApp, session: &Value) -> StockWatch {
        let url = app.url("/graphql/ws").replace("http://", "ws://");
        let mut request = url.into_client_request().expect("a request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().expect("header"),
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("connects");
        socket
            .send(Message::text(
                json!({ "type": "connection_init", "payload": {} }).to_string(),
            ))
            .await
            .expect("init");
        let mut watch = StockWatch { socket };
        assert_eq!(watch.next().await["type"], "connection_ack");
        watch
            .socket
            .send(Message::text(
                json!({ "id": "1", "type": "subscribe", "payload": {
                    "query": "subscription($id: ID!) { sessionStock(sessionId: $id) { remaining sold } }",
                    "variables": { "id": session } } })
                .to_string(),
            ))
            .await
            .expect("subscribe");
        watch
    }

    pub(super) async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(15), self.socket.next())
                .await
                .expect("a message within 15 s")
                .expect("the socket is open")
                .expect("a message");
            if let Message::Text(text) = message {
                return serde_json::from_str(&text).expect("JSON");
            }
        }
    }

    /// The next (remaining, sold) pushed.
    pub(super) async fn stock(&mut self) -> (i64, i64) {
        let message = self.next().await;
        assert_eq!(message["type"], "next", "{message}");
        let item = &message["payload"]["data"]["sessionStock"][0];
        (
            item["remaining"].as_i64().expect("remaining"),
            item["sold"].as_i64().expect("sold"),
        )
    }
}

async fn a_session_sells_at_its_price_only_while_live_and_gives_its_quota_back(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let (product, variant) = lily_at(&app, &cast.operator, "100.00").await;
    set_plan(&app, &cast.grower, json!({ "productId": product, "rateBps": 1000 })).await;
    let before = available(&app, LILY, &variant).await;

    // A quota the stock cannot hold is refused.
    let now = chrono::Utc::now();
    let greedy = app
        .query_as(
            &cast.host,
            SCHEDULE,
            json!({ "input": { "title": "太多", "startsAt": now.to_rfc3339(),
                "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
                "items": [{ "variantId": variant, "price": "1.00", "quota": 99999, "perBuyerLimit": 1 }] } }),
        )
        .await["scheduleLiveSession"]["session"]["items"][0]["id"]
        .clone();
    let refused = app.query_as(&cast.grower, APPROVE, json!({ "id": greedy })).await;
    assert_eq!(
        refused["approveLiveSessionItem"]["userErrors"][0]["code"],
        "OUT_OF_STOCK"
    );

    let (session, _, code) = approved_session(&app, &cast, &variant, "50.00", 10, 3, 4, 10).await;
    assert_eq!(available(&app, LILY, &variant).await, before - 10);
    // Anyone may follow a public session's stock, from before it starts.
    let mut watch = StockWatch::open(&app, &session).await;
    assert_eq!(watch.stock().await, (10, 0));

    // Before the start the code sells at the normal price from general stock, still credited.
    let early = app
        .query_as(&cast.buyer, PLACE, session_order(&variant, 1, &code, "early"))
        .await;
    assert_eq!(
        early["placeOrder"]["order"]["lines"][0]["unitPrice"]["amount"],
        "100.00"
    );
    assert_eq!(available(&app, LILY, &variant).await, before - 11);

    let status = |data: &Value| data["node"]["status"] == "LIVE";
    app.eventually(
        &cast.buyer,
        "query($id: ID!) { node(id: $id) { ... on LiveSession { status } } }",
        json!({ "id": session }),
        "the session going live",
        status,
    )
    .await;
    let three = app
        .query_as(&cast.buyer, PLACE, session_order(&variant, 3, &code, "three"))
        .await;
    assert_eq!(
        three["placeOrder"]["order"]["lines"][0]["unitPrice"]["amount"], "50.00",
        "{three}"
    );
    assert_eq!(watch.stock().await, (7, 3));
    let fourth = app
        .query_as(&cast.buyer, PLACE, session_order(&variant, 1, &code, "fourth"))
        .await;
    assert_eq!(fourth["placeOrder"]["userErrors"][0]["code"], "PURCHASE_LIMIT_REACHED");
    let too_many = app
        .query_as(&cast.operator, PLACE, session_order(&variant, 11, &code, "all"))
        .await;
    assert_eq!(
        too_many["placeOrder"]["userErrors"][0]["code"],
        "PURCHASE_LIMIT_REACHED"
    );

    // Cancelling gives the units back to the quota and to the buyer's limit.
    let cancelled = app
        .query_as(
            &cast.buyer,
            "mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } userErrors { code } } }",
            json!({ "id": three["placeOrder"]["order"]["id"] }),
        )
        .await;
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED");
    assert_eq!(watch.stock().await, (10, 0));
    let two = app
        .query_as(&cast.buyer, PLACE, session_order(&variant, 2, &code, "two"))
        .await;
    assert_eq!(two["placeOrder"]["userErrors"], json!([]), "{two}");
    assert_eq!(watch.stock().await, (8, 2));
    let paid = app
        .query_as(
            &cast.operator,
            "mutation($id: ID!) { recordBankTransfer(orderId: $id, reference: \"ICBC-2\") { userErrors { code } } }",
            json!({ "id": two["placeOrder"]["order"]["id"] }),
        )
        .await;
    assert_eq!(paid["recordBankTransfer"]["userErrors"], json!([]));
    assert_eq!(available(&app, LILY, &variant).await, before - 11);

    // At the end the unsold 8 go back to the shop; the overlay's stream ends.
    assert_eq!(watch.stock().await, (0, 2));
    let complete = watch.next().await;
    assert_eq!(complete["type"], "complete", "{complete}");
    assert_eq!(available(&app, LILY, &variant).await, before - 3);
    // Session lines are credited too, at the session price.
    assert_eq!(
        commissions(&app, &cast.host).await,
        vec![(1000, "ESTIMATED".to_owned(), 10_00)],
        "10% of 2 × 50.00 (the early order is not paid)"
    );
    let account = app
        .query_as(
            &cast.host,
            "{ myHost { sessions { nodes { status items { quota sold remaining } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        account["myHost"]["sessions"]["nodes"][0],
        json!({ "status": "ENDED", "items": [{ "quota": 10, "sold": 2, "remaining": 0 }] })
    );
    crate::orders::assert_ledger_balances(&app).await;
}

async fn unsold_quota_returns_when_the_session_ended_while_no_server_ran(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let url = database.url.clone();
    let app = TestApp::on_database(database)
        .start()
        .await
        .expect("the test's own database");
    let cast = cast(&app).await;
    let (_, variant) = lily_at(&app, &cast.operator, "100.00").await;
    let before = available(&app, LILY, &variant).await;
    approved_session(&app, &cast, &variant, "50.00", 10, 3, -1, 2).await;
    assert_eq!(available(&app, LILY, &variant).await, before - 10);

    app.server.stop().await.expect("stops");
    let db = sea_orm::Database::connect(&url).await.expect("database");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(item_row(&db).await.returned_at, None, "no server ran at the end");

    let config = huakai::app::Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(url.clone()),
        "HUAKAI_ADDR" => Some("127.0.0.1:0".to_owned()),
        _ => None,
    })
    .expect("configuration");
    let restarted = huakai::app::start(config).await.expect("starts again");
    let mut item = item_row(&db).await;
    for _ in 0..100 {
        if item.returned_at.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        item = item_row(&db).await;
    }
    assert_eq!((item.remaining, item.returned_units), (0, 10));
    let variant_row = huakai::infra::graphql::global_id::decode_as::<huakai::infra::ids::VariantId>(
        variant.as_str().expect("id"),
        huakai::infra::graphql::global_id::NodeType::Variant,
    )
    .expect("a variant id");
    let level = stock_level::Entity::find()
        .filter(stock_level::Column::VariantId.eq(variant_row))
        .one(&db)
        .await
        .expect("query")
        .expect("stock");
    assert_eq!(
        level.on_hand - level.reserved,
        before,
        "the whole quota is back on sale"
    );
    restarted.stop().await.expect("stops");
}

/// A card payment that arrives after a session order's reservation ended is refunded: the
/// order stays cancelled and its units stay in the quota for other buyers, never general stock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_payment_for_a_session_order_is_refunded_and_its_units_stay_in_the_quota() {
    let (app, stripe) = TestApp::on(Backend::Sqlite)
        .settings(&[("HUAKAI_RESERVATION_TTL", "1s")])
        .with_stripe()
        .await
        .expect("SQLite");
    let cast = cast(&app).await;
    let (_, variant) = lily_at(&app, &cast.operator, "100.00").await;
    let (_, _, code) = approved_session(&app, &cast, &variant, "50.00", 5, 2, -1, 600).await;
    let set_aside = available(&app, LILY, &variant).await;
    let rival = app.user("rival@example.com", Role::Buyer, None).await;
    let fan = app.user("fan@example.com", Role::Buyer, None).await;
    let order_query = "query($id: ID!) { order(id: $id) { status payment { status } } }";

    // Four card orders through the code, one after the other, each left unpaid until it
    // expires and gives its units back to the quota.
    let mut expired = Vec::new();
    for (buyer, quantity, key) in [
        (&cast.buyer, 2, "buyer-two"),
        (&rival, 2, "rival-two"),
        (&fan, 1, "fan-one"),
        (&fan, 2, "fan-two"),
    ] {
        let mut input = session_order(&variant, quantity, &code, key);
        input["input"]["paymentMethod"] = json!("CARD");
        let placed = app.query_as(buyer, PLACE, input).await;
        assert_eq!(
            placed["placeOrder"]["order"]["lines"][0]["unitPrice"]["amount"], "50.00",
            "{placed}"
        );
        let order_id = placed["placeOrder"]["order"]["id"].clone();
        app.eventually(buyer, order_query, json!({ "id": order_id }), "expiry", |seen| {
            seen["order"]["status"] == "CANCELLED"
        })
        .await;
        let row = crate::orders::order_row(&order_id).to_string();
        let intent = stripe
            .payment_intents()
            .into_iter()
            .find(|i| i["metadata"]["order_id"] == row.as_str())
            .expect("the order's intent")["id"]
            .as_str()
            .expect("intent id")
            .to_owned();
        expired.push((buyer, order_id, intent));
    }
    assert_eq!(item_row(app.db()).await.remaining, 5, "every unit back in the quota");

    // Paid late: each is refunded, although the quota (and general stock) have the units.
    for (buyer, order_id, intent) in &expired {
        stripe.succeed(intent).await;
        let seen = app
            .eventually(
                buyer,
                order_query,
                json!({ "id": order_id }),
                "the late refund",
                |seen| seen["order"]["payment"]["status"] == "REFUNDED",
            )
            .await;
        assert_eq!(seen["order"]["status"], "CANCELLED");
        assert_eq!(item_row(app.db()).await.remaining, 5, "the quota keeps its units");
        assert_eq!(
            available(&app, LILY, &variant).await,
            set_aside,
            "general stock untouched"
        );
    }
    crate::orders::assert_ledger_balances(&app).await;
}
