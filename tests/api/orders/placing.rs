//! Placing orders: stock reserved once per key, stable codes for bad orders, races that never
//! oversell, and unpaid holds that cannot hoard a flash sale.

use super::*;

on_each_backend!(
    placing_an_order_reserves_its_stock_and_repeats_are_the_same_order,
    bad_orders_get_stable_codes_and_reserve_nothing,
    three_hundred_buyers_race_for_forty_units,
    one_buyer_cannot_hold_a_flash_sale_with_unpaid_orders,
    a_sale_across_variants_answers_each_buyer_as_alone,
);

async fn placing_an_order_reserves_its_stock_and_repeats_are_the_same_order(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
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
    let Some(app) = TestApp::on(backend).settings(&holds).start().await else {
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

async fn three_hundred_buyers_race_for_forty_units(backend: Backend) {
    // Each of the 20 buyers places 15 orders at once: a load test raises the unpaid-order cap.
    let Some(app) = TestApp::on(backend)
        .settings(&[("HUAKAI_UNPAID_ORDERS_PER_BUYER", "100")])
        .start()
        .await
    else {
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
    // What a batch writes for its orders at its end: each order's parcel, its payment row
    // waiting for the transfer, and its buyer's mail, once each.
    let sql = "SELECT COUNT(*) FROM orders o WHERE \
        (SELECT COUNT(*) FROM shipments s WHERE s.order_id = o.id) = 1 \
        AND (SELECT COUNT(*) FROM payments p WHERE p.order_id = o.id) = 1 \
        AND (SELECT COUNT(*) FROM mail_outbox m WHERE m.dedupe_key LIKE 'order-placed:' || o.id || ':to:%') = 1";
    let statement = Statement::from_string(app.db().get_database_backend(), sql);
    let row = app.db().query_one_raw(statement).await.expect("read").expect("a count");
    assert_eq!(
        row.try_get_by_index::<i64>(0).expect("a number"),
        40,
        "each order whole"
    );
    let (_, available) = variants(&app, "zhibo-baihe-miaosha")
        .await
        .into_values()
        .next()
        .expect("variant");
    assert_eq!(available, 0, "sold out, nothing negative");
    let level = stock_level::Entity::find().all(app.db()).await.expect("stock");
    assert!(level.iter().all(|l| l.reserved >= 0 && l.on_hand >= l.reserved));
    assert_ledger_balances(&app).await;
    // On PostgreSQL the one-line orders for the hot variant were written in batches, many
    // orders to a commit; SQLite writes them one at a time.
    let (batches, orders) = app.server.state.placing_lanes.done();
    match backend {
        Backend::Postgres => assert!(
            orders >= 200 && batches < orders,
            "{batches} batches of {orders} orders"
        ),
        Backend::Sqlite => assert_eq!((batches, orders), (0, 0)),
    }
}

async fn one_buyer_cannot_hold_a_flash_sale_with_unpaid_orders(backend: Backend) {
    let Some(app) = TestApp::on(backend)
        .settings(&[
            ("HUAKAI_UNPAID_ORDERS_PER_BUYER", "2"),
            ("HUAKAI_RESERVED_UNITS_PER_VARIANT", "5"),
            ("HUAKAI_RESERVED_UNITS_PER_BUYER", "8"),
        ])
        .start()
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

async fn a_sale_across_variants_answers_each_buyer_as_alone(backend: Backend) {
    // Each buyer may hold two units of a variant unpaid: the limit is counted per variant, also
    // when one buyer's orders for two variants are written in one batch.
    let Some(app) = TestApp::on(backend)
        .settings(&[
            ("HUAKAI_UNPAID_ORDERS_PER_BUYER", "100"),
            ("HUAKAI_RESERVED_UNITS_PER_VARIANT", "2"),
        ])
        .start()
        .await
    else {
        return;
    };
    let flash = forty_units(&app).await;
    let curator = app.user("curator@example.com", Role::Admin, None).await;
    let product = ("zhibo-baihe-gan", "直播：三旺村百合干");
    let dried = lily_product(&app, &curator, product, ("BH-GAN-500G", "39.90", 1000)).await;
    let mut buyers = Vec::new();
    for index in 0..30 {
        buyers.push(app.user(&format!("fan{index}@example.com"), Role::Buyer, None).await);
    }
    // Every buyer at once: three single-unit orders of the flash variant (40 units for 30
    // buyers) and three of the dried lilies (ample), interleaved.
    let attempts = (0..180).map(|attempt| {
        let is_flash = (attempt / 30) % 2 == 0;
        let variant = if is_flash { &flash } else { &dried };
        let input = order_input(
            json!([{ "variantId": variant, "quantity": 1 }]),
            &format!("fan-{attempt}"),
        );
        let (app, buyer) = (&app, &buyers[attempt % 30]);
        async move { (attempt % 30, is_flash, app.query_as(buyer, PLACE_LIMITED, input).await) }
    });
    let answers = futures::future::join_all(attempts).await;
    let mut placed: HashMap<(usize, bool), usize> = HashMap::new();
    for (buyer, is_flash, answer) in &answers {
        let payload = &answer["placeOrder"];
        match payload["order"]["id"].as_str() {
            Some(_) => *placed.entry((*buyer, *is_flash)).or_default() += 1,
            None => {
                let code = payload["userErrors"][0]["code"].as_str();
                let expected = match is_flash {
                    true => matches!(code, Some("RATE_LIMITED" | "OUT_OF_STOCK")),
                    false => code == Some("RATE_LIMITED"),
                };
                assert!(expected, "{payload}");
            }
        }
    }
    let placed = &placed;
    let of = |flash: bool| (0..30).map(move |buyer| placed.get(&(buyer, flash)).copied().unwrap_or(0));
    assert!(
        of(false).all(|count| count == 2),
        "two of the ample variant each: {placed:?}"
    );
    assert!(
        of(true).all(|count| count <= 2),
        "at most two of the flash variant each: {placed:?}"
    );
    assert_eq!(of(true).sum::<usize>(), 40, "the flash variant sold out exactly");
    assert_eq!(available(&app, "zhibo-baihe-miaosha", &flash).await, 0);
    assert_eq!(available(&app, "zhibo-baihe-gan", &dried).await, 1000 - 60);
    let level = stock_level::Entity::find().all(app.db()).await.expect("stock");
    assert!(level.iter().all(|l| l.reserved >= 0 && l.on_hand >= l.reserved));
    assert_ledger_balances(&app).await;
}
