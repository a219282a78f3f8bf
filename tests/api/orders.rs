//! Orders and inventory: all-or-nothing reservations, idempotency, the state machine, expiry,
//! and never overselling under a stampede.

use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use huakai::accounts::Role;
use huakai::catalogue::entity::{stock_level, stock_movement};
use huakai::infra::ids::OrderId;
use huakai::infra::ids::VariantId;
use huakai::orders::entity::{order, order_line};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::support::{Actor, Backend, TestApp, TestDatabase};

on_each_backend!(
    placing_an_order_reserves_its_stock_and_repeats_are_the_same_order,
    bad_orders_get_stable_codes_and_reserve_nothing,
    three_hundred_buyers_race_for_forty_units,
    an_unpaid_order_expires_and_frees_its_stock,
    one_buyer_cannot_hold_a_flash_sale_with_unpaid_orders,
    orders_ship_per_producer_and_are_delivered,
    a_killed_app_leaves_no_stock_reserved_without_an_order,
);

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

async fn placing_an_order_reserves_its_stock_and_repeats_are_the_same_order(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let lilies = variants(&app, "sanwang-xian-baihe").await;
    let rice = variants(&app, "changyuan-xiadaomi").await;
    let (lily, lily_stock) = lilies.values().next().expect("a lily").clone();
    let (grain, grain_stock) = rice.values().next().expect("rice").clone();
    let lines = json!([{ "variantId": lily, "quantity": 3 }, { "variantId": grain, "quantity": 2 }]);
    let placed = app
        .query_as(&buyer, PLACE, order_input(lines.clone(), "first-order"))
        .await;
    let order = &placed["placeOrder"]["order"];
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]));
    assert_eq!(order["status"], "PENDING_PAYMENT");
    assert!(order["number"].as_str().is_some_and(|n| n.starts_with("HK")));
    assert!(order["reservedUntil"].is_string());
    let line_totals: i64 = order["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            let unit = l["unitPrice"]["amount"]
                .as_str()
                .expect("price")
                .replace('.', "")
                .parse::<i64>()
                .expect("fen");
            let total = l["lineTotal"]["amount"]
                .as_str()
                .expect("total")
                .replace('.', "")
                .parse::<i64>()
                .expect("fen");
            assert_eq!(total, unit * l["quantity"].as_i64().expect("quantity"));
            total
        })
        .sum();
    assert_eq!(
        order["total"]["amount"]
            .as_str()
            .expect("total")
            .replace('.', "")
            .parse::<i64>()
            .expect("fen"),
        line_totals
    );

    // The storefront shows the held units as gone.
    assert_eq!(available(&app, "sanwang-xian-baihe", &lily).await, lily_stock - 3);
    assert_eq!(available(&app, "changyuan-xiadaomi", &grain).await, grain_stock - 2);

    // The same key is the same order, never a second one.
    let again = app.query_as(&buyer, PLACE, order_input(lines, "first-order")).await;
    assert_eq!(again["placeOrder"]["order"]["id"], order["id"]);
    assert_eq!(available(&app, "sanwang-xian-baihe", &lily).await, lily_stock - 3);

    let mine = app
        .query_as(&buyer, "{ myOrders(first: 10) { totalCount nodes { id } } }", json!({}))
        .await;
    assert_eq!(mine["myOrders"]["totalCount"], json!(1));
    assert_eq!(mine["myOrders"]["nodes"][0]["id"], order["id"]);
    let seen = app
        .query_as(
            &buyer,
            "query($id: ID!) { order(id: $id) { number shippingAddress { city } } }",
            json!({ "id": order["id"] }),
        )
        .await;
    assert_eq!(seen["order"]["shippingAddress"]["city"], "株洲市");

    let stranger = app.user("stranger@example.com", Role::Buyer, None).await;
    let hidden = app
        .query_as(
            &stranger,
            "query($id: ID!) { order(id: $id) { number } node(id: $id) { id } }",
            json!({ "id": order["id"] }),
        )
        .await;
    assert_eq!(
        hidden,
        json!({ "order": null, "node": null }),
        "another buyer's order does not exist for them"
    );
    assert_ledger_balances(&app).await;
}

async fn bad_orders_get_stable_codes_and_reserve_nothing(backend: Backend) {
    // Holds as large as the stock, so that the stock is what refuses them.
    let holds = [
        ("HUAKAI_RESERVED_UNITS_PER_VARIANT", "1000"),
        ("HUAKAI_RESERVED_UNITS_PER_BUYER", "1000"),
    ];
    let Some(app) = TestApp::spawn_with(backend, &holds).await else {
        return;
    };
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let (lily, lily_stock) = variants(&app, "sanwang-xian-baihe")
        .await
        .into_values()
        .next()
        .expect("lily");
    let (sold_out, _) = variants(&app, "zhuting-zhongqiu-duokouwei-yuebing-lihe")
        .await
        .into_values()
        .next()
        .expect("mooncakes");
    let (lapsed, _) = variants(&app, "huachong-shantang-layu")
        .await
        .into_values()
        .next()
        .expect("fish");
    let code_of = |answer: &Value| {
        answer["placeOrder"]["userErrors"][0]["code"]
            .as_str()
            .map(str::to_owned)
    };
    let cases = [
        (json!([{ "variantId": lily, "quantity": 0 }]), "INVALID_QUANTITY"),
        (json!([{ "variantId": lily, "quantity": 1000 }]), "INVALID_QUANTITY"),
        (json!([{ "variantId": lily, "quantity": -1 }]), "INVALID_QUANTITY"),
        (
            json!([{ "variantId": "VmFyaWFudDo5OTk5OTk", "quantity": 1 }]),
            "NOT_FOUND",
        ),
        (json!([{ "variantId": "garbage", "quantity": 1 }]), "NOT_FOUND"),
        (json!([{ "variantId": lapsed, "quantity": 1 }]), "NOT_ON_SALE"),
        (json!([{ "variantId": sold_out, "quantity": 1 }]), "OUT_OF_STOCK"),
        // All or nothing: the lilies are not held when the second line cannot be had.
        (
            json!([{ "variantId": lily, "quantity": 2 }, { "variantId": sold_out, "quantity": 1 }]),
            "OUT_OF_STOCK",
        ),
        (
            json!([{ "variantId": lily, "quantity": lily_stock + 1 }]),
            "OUT_OF_STOCK",
        ),
        (json!([]), "INVALID_INPUT"),
    ];
    for (index, (lines, code)) in cases.into_iter().enumerate() {
        let answer = app
            .query_as(&buyer, PLACE, order_input(lines.clone(), &format!("bad-{index}")))
            .await;
        assert_eq!(code_of(&answer).as_deref(), Some(code), "{lines}: {answer}");
        assert_eq!(answer["placeOrder"]["order"], Value::Null);
    }
    let mut bad_phone = order_input(json!([{ "variantId": lily, "quantity": 1 }]), "bad-phone");
    bad_phone["input"]["shippingAddress"]["phone"] = json!("call me");
    let answer = app.query_as(&buyer, PLACE, bad_phone).await;
    assert_eq!(
        answer["placeOrder"]["userErrors"][0]["field"],
        json!(["input", "shippingAddress", "phone"])
    );
    let mut card = order_input(json!([{ "variantId": lily, "quantity": 1 }]), "card");
    card["input"]["paymentMethod"] = json!("CARD");
    let answer = app.query_as(&buyer, PLACE, card).await;
    assert_eq!(
        code_of(&answer).as_deref(),
        Some("PAYMENTS_UNAVAILABLE"),
        "no Stripe settings, no card payments"
    );

    assert_eq!(available(&app, "sanwang-xian-baihe", &lily).await, lily_stock);
    assert!(order::Entity::find().all(app.db()).await.expect("orders").is_empty());
    let (status, answer) = app
        .graphql_as(
            &Actor::anonymous(),
            PLACE,
            order_input(json!([{ "variantId": lily, "quantity": 1 }]), "anon"),
        )
        .await;
    assert_eq!(
        (status, answer["errors"][0]["extensions"]["code"].as_str()),
        (200, Some("UNAUTHENTICATED"))
    );
}

/// A product of 40 units, listed by an operator.
pub async fn forty_units(app: &TestApp) -> Value {
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let created = app
        .query_as(
            &operator,
            "mutation($input: NewProductInput!) { createProduct(input: $input) { product { variants { id } } userErrors { code } } }",
            json!({ "input": {
                "slug": "zhibo-baihe-miaosha", "name": "直播秒杀：三旺村鲜百合", "categorySlug": "shucai",
                "producerSlug": "sanwang-baihe-hezuoshe",
                "variants": [{ "sku": "LIVE-BH-500G", "name": "500 g", "price": "19.90", "stock": 40 }]
            } }),
        )
        .await;
    assert_eq!(created["createProduct"]["userErrors"], json!([]));
    created["createProduct"]["product"]["variants"][0]["id"].clone()
}

async fn three_hundred_buyers_race_for_forty_units(backend: Backend) {
    // Each of the 20 buyers places 15 orders at once: a load test raises the unpaid-order cap.
    let Some(app) = TestApp::spawn_with(backend, &[("HUAKAI_UNPAID_ORDERS_PER_BUYER", "100")]).await else {
        return;
    };
    let variant_id = forty_units(&app).await;
    let mut buyers = Vec::new();
    for index in 0..20 {
        buyers.push(app.user(&format!("buyer{index}@example.com"), Role::Buyer, None).await);
    }
    // 300 single-unit orders; the last 20 repeat earlier keys of the same buyers.
    let attempts = (0..300).map(|attempt| {
        let buyer = &buyers[attempt % 20];
        let key = format!("live-{}", attempt % 280);
        let input = order_input(json!([{ "variantId": variant_id, "quantity": 1 }]), &key);
        let app = &app;
        async move { (buyer.user_id.clone(), key, app.query_as(buyer, PLACE, input).await) }
    });
    let answers = futures::future::join_all(attempts).await;

    let mut by_key: HashMap<(String, String), HashSet<String>> = HashMap::new();
    let mut refused = 0;
    for (buyer, key, answer) in &answers {
        let payload = &answer["placeOrder"];
        match payload["order"]["id"].as_str() {
            Some(id) => {
                by_key
                    .entry((buyer.clone(), key.clone()))
                    .or_default()
                    .insert(id.to_owned());
            }
            None => {
                assert_eq!(payload["userErrors"][0]["code"], "OUT_OF_STOCK", "{payload}");
                refused += 1;
            }
        }
    }
    assert!(
        by_key.values().all(|ids| ids.len() == 1),
        "a repeated key made a second order"
    );
    assert_eq!(by_key.len(), 40, "exactly 40 orders for 40 units");
    assert!(refused >= 240, "{refused} refused");
    assert_eq!(order::Entity::find().all(app.db()).await.expect("orders").len(), 40);
    let (_, available) = variants(&app, "zhibo-baihe-miaosha")
        .await
        .into_values()
        .next()
        .expect("variant");
    assert_eq!(available, 0, "sold out, nothing negative");
    let level = stock_level::Entity::find().all(app.db()).await.expect("stock");
    assert!(level.iter().all(|l| l.reserved >= 0 && l.on_hand >= l.reserved));
    assert_ledger_balances(&app).await;
}

async fn an_unpaid_order_expires_and_frees_its_stock(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[("HUAKAI_RESERVATION_TTL", "2s")]).await else {
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
    let Some(app) = TestApp::spawn_with(backend, &[("HUAKAI_AUTO_DELIVERY", "1s")]).await else {
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
        first["markShipped"]["order"]["status"], "PAID",
        "one of two shipments is on its way"
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
    let app = TestApp::spawn_on(database).await;
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

const PLACE_LIMITED: &str = "mutation($input: PlaceOrderInput!) {
    placeOrder(input: $input) { order { id } userErrors { field code message retryAfterSeconds } } }";

async fn one_buyer_cannot_hold_a_flash_sale_with_unpaid_orders(backend: Backend) {
    let Some(app) = TestApp::spawn_with(
        backend,
        &[
            ("HUAKAI_UNPAID_ORDERS_PER_BUYER", "2"),
            ("HUAKAI_RESERVED_UNITS_PER_VARIANT", "5"),
            ("HUAKAI_RESERVED_UNITS_PER_BUYER", "8"),
        ],
    )
    .await
    else {
        return;
    };
    let variant_id = forty_units(&app).await;
    let hoarder = app.user("hoarder@example.com", Role::Buyer, None).await;
    let operator = app.login("operator@example.com", "a long enough test password").await;

    // More units of one variant than one buyer may hold unpaid: refused, with when to retry.
    let first = app
        .query_as(
            &hoarder,
            PLACE_LIMITED,
            order_input(json!([{ "variantId": variant_id, "quantity": 3 }]), "first"),
        )
        .await;
    assert_eq!(first["placeOrder"]["userErrors"], json!([]));
    let over_variant = app
        .query_as(
            &hoarder,
            PLACE_LIMITED,
            order_input(json!([{ "variantId": variant_id, "quantity": 3 }]), "second"),
        )
        .await;
    let refusal = &over_variant["placeOrder"]["userErrors"][0];
    assert_eq!(refusal["code"], "RATE_LIMITED", "{over_variant}");
    assert_eq!(refusal["field"], json!(["input", "lines", "0", "quantity"]));
    let wait = refusal["retryAfterSeconds"].as_i64().expect("when to retry");
    assert!((1..=30 * 60).contains(&wait), "until the first hold ends: {wait}");

    // Twelve orders of one unit raced at once: the buyer ends with two unpaid orders, no more.
    let rice = variants(&app, "changyuan-xiadaomi")
        .await
        .into_values()
        .next()
        .expect("rice")
        .0;
    let attempts = (0..12).map(|n| {
        let (app, hoarder) = (&app, &hoarder);
        let input = order_input(json!([{ "variantId": rice, "quantity": 1 }]), &format!("race-{n}"));
        async move { app.query_as(hoarder, PLACE_LIMITED, input).await }
    });
    let answers = futures::future::join_all(attempts).await;
    let placed = answers
        .iter()
        .filter(|a| a["placeOrder"]["userErrors"] == json!([]))
        .count();
    assert_eq!(placed, 1, "with the first order, two unpaid orders at most");
    assert!(answers.iter().all(|a| {
        a["placeOrder"]["userErrors"] == json!([]) || a["placeOrder"]["userErrors"][0]["code"] == "RATE_LIMITED"
    }));
    // The same idempotency key still answers with its order.
    let repeat = app
        .query_as(
            &hoarder,
            PLACE_LIMITED,
            order_input(json!([{ "variantId": variant_id, "quantity": 3 }]), "first"),
        )
        .await;
    assert_eq!(repeat["placeOrder"]["order"]["id"], first["placeOrder"]["order"]["id"]);

    // Paying an order frees its place; others are not affected by the hoarder's limit.
    let paid = app
        .query_as(
            &operator,
            "mutation($id: ID!) { recordBankTransfer(orderId: $id, reference: \"ICBC-9\") { userErrors { code } } }",
            json!({ "id": first["placeOrder"]["order"]["id"] }),
        )
        .await;
    assert_eq!(paid["recordBankTransfer"]["userErrors"], json!([]));
    let after_paying = app
        .query_as(
            &hoarder,
            PLACE_LIMITED,
            order_input(json!([{ "variantId": variant_id, "quantity": 2 }]), "after-paying"),
        )
        .await;
    assert_eq!(after_paying["placeOrder"]["userErrors"], json!([]), "{after_paying}");
    let neighbour = app.user("neighbour@example.com", Role::Buyer, None).await;
    let theirs = app
        .query_as(
            &neighbour,
            PLACE_LIMITED,
            order_input(json!([{ "variantId": variant_id, "quantity": 5 }]), "neighbour"),
        )
        .await;
    assert_eq!(theirs["placeOrder"]["userErrors"], json!([]));
    assert_ledger_balances(&app).await;
}
