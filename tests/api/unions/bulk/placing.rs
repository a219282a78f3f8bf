//! Bulk orders shipped per recipient and producer, accepted by code, all or nothing.

use super::*;

on_each_backend!(
    a_bulk_order_ships_per_recipient_and_producer_and_is_accepted_by_code,
    a_bulk_order_is_all_or_nothing_and_names_every_failing_line,
);

async fn a_bulk_order_ships_per_recipient_and_producer_and_is_accepted_by_code(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let (lily, lily_sku) = stocked(&app, &cast.operator, LILY, 100).await;
    let (cakes, _) = stocked(&app, &cast.operator, CAKES, 100).await;
    let lily_before = available(&app, LILY, &lily).await;
    let union = organisation(&app, &cast.operator, "株洲市总工会", "admin@union.example").await;
    let other = organisation(&app, &cast.operator, "区财政局", "admin@budget.example").await;

    // 张三 gets lilies and cakes (two producers: two parcels), 李四 lilies in two lines (one parcel).
    let recipients = json!([
        line("张三", "13800000001", &lily, 2),
        line("张三", "13800000001", &cakes, 1),
        line("李四", "13800000002", &lily, 1),
        line("李四", "13800000002", &lily, 3),
    ]);
    let input = bulk_input(&union.id, recipients, "mid-autumn-1", "BANK_TRANSFER");
    // Another organisation's admin may not place it.
    let (status, refused) = app.graphql_as(&other.admin, BULK, input.clone()).await;
    assert_eq!(
        (status, crate::support::error_code(&refused)),
        (200, "FORBIDDEN"),
        "{refused}"
    );

    let placed = app.query_as(&union.admin, BULK, input.clone()).await["placeBulkOrder"].clone();
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    let order = &placed["order"];
    assert_eq!(order["status"], "PENDING_PAYMENT");
    assert_eq!(order["bulk"], true);
    let shipments = order["shipments"].as_array().expect("shipments");
    assert_eq!(shipments.len(), 3, "{order}");
    let parcel = |name: &str, producer: &str| {
        shipments
            .iter()
            .find(|s| s["recipientName"] == name && s["producer"]["slug"] == producer)
            .unwrap_or_else(|| panic!("no parcel for {name} from {producer}: {order}"))
            .clone()
    };
    let li_si = parcel("李四", "sanwang-baihe-hezuoshe");
    assert_eq!(
        li_si["items"],
        json!([{ "quantity": 4, "variant": { "sku": lily_sku } }])
    );
    assert_eq!(li_si["accepted"], false);
    let zhang_lily = parcel("张三", "sanwang-baihe-hezuoshe");
    let zhang_cakes = parcel("张三", "zhuting-kekou-shipin-jiagongchang");
    assert_eq!(available(&app, LILY, &lily).await, lily_before - 6);

    // The same key is the same order; the other organisation's admin cannot see it.
    let again = app.query_as(&union.admin, BULK, input).await["placeBulkOrder"].clone();
    assert_eq!(again["order"]["id"], order["id"]);
    assert_eq!(available(&app, LILY, &lily).await, lily_before - 6);
    let hidden = app.query_as(&other.admin, ORDER, json!({ "id": order["id"] })).await;
    assert_eq!(hidden["node"], Value::Null, "{hidden}");
    // The grower sees its own parcels with their recipients, but not their codes.
    let grower_view = app.query_as(&cast.grower, ORDER, json!({ "id": order["id"] })).await;
    let grower_parcels = grower_view["node"]["shipments"].as_array().expect("parcels");
    assert_eq!(grower_parcels.len(), 2, "{grower_view}");
    assert!(grower_parcels.iter().all(|s| s["acceptanceCode"].is_null()));

    // Nothing to accept before it ships; a made-up code accepts nothing.
    let early = accept(&app, &li_si["acceptanceCode"], true, None).await;
    assert_eq!(early["userErrors"][0]["code"], "NOT_SHIPPED", "{early}");
    let made_up = accept(&app, &json!("ZZZZZZZZZZ"), true, None).await;
    assert_eq!(made_up["userErrors"][0]["code"], "INVALID_CODE");

    pay_by_bank(&app, &cast.operator, &order["id"]).await;
    // Each parcel ships under its own number.
    let ship = "mutation($id: ID!, $parcel: ID!, $number: String!) {
        markShipped(orderId: $id, shipmentId: $parcel, trackingNumber: $number) { order { status } userErrors { code } } }";
    for (index, parcel) in shipments.iter().enumerate() {
        let number = format!("SF{index}");
        let vars = json!({ "id": order["id"], "parcel": parcel["id"], "number": number });
        let shipped = app.query_as(&cast.operator, ship, vars).await;
        assert_eq!(shipped["markShipped"]["userErrors"], json!([]), "{shipped}");
    }
    let shipped = app.query_as(&cast.operator, ORDER, json!({ "id": order["id"] })).await;
    assert_eq!(shipped["node"]["status"], "SHIPPED", "{shipped}");

    // 张三 accepts his lilies; 李四 reports a broken box, in lower case and with spaces.
    assert_eq!(
        accept(&app, &zhang_lily["acceptanceCode"], true, None).await["accepted"],
        true
    );
    let no_note = accept(&app, &li_si["acceptanceCode"], false, Some("  ")).await;
    assert_eq!(no_note["userErrors"][0]["code"], "INVALID_INPUT");
    let typed = format!(" {} ", li_si["acceptanceCode"].as_str().expect("code").to_lowercase());
    let problem = accept(&app, &json!(typed), false, Some("箱子破损，两盒压坏")).await;
    assert_eq!(problem, json!({ "accepted": false, "userErrors": [] }));
    // The report opens a claim for the organisation on what the parcel held, for the grower.
    let claims = app
        .query_as(
            &cast.grower,
            "{ myProducer { claims(first: 5) { nodes { status reason asked { amount } order { id } } } } }",
            json!({}),
        )
        .await;
    let claim = &claims["myProducer"]["claims"]["nodes"][0];
    assert_eq!(
        (&claim["status"], &claim["reason"]),
        (&json!("OPEN"), &json!("OTHER")),
        "{claims}"
    );
    assert_eq!(claim["order"]["id"], order["id"]);
    assert!(fen(&claim["asked"]) > 0);

    let progress = app
        .query_as(
            &union.admin,
            "query($id: ID!) { node(id: $id) { ... on Organisation {
                acceptance { shipments accepted withProblems }
                acceptanceProblems { nodes { note shipment { recipientName } } } } } }",
            json!({ "id": union.id }),
        )
        .await;
    assert_eq!(
        progress["node"]["acceptance"],
        json!({ "shipments": 3, "accepted": 1, "withProblems": 1 })
    );
    assert_eq!(
        progress["node"]["acceptanceProblems"]["nodes"],
        json!([{ "note": "箱子破损，两盒压坏", "shipment": { "recipientName": "李四" } }])
    );
    let operators = app
        .query_as(
            &cast.operator,
            "{ acceptanceProblems { nodes { note order { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(operators["acceptanceProblems"]["nodes"][0]["order"]["id"], order["id"]);
    let seen = app.query_as(&union.admin, ORDER, json!({ "id": order["id"] })).await;
    assert_eq!(seen["node"]["accepted"], false);

    // The replacement arrives: accepted, and with the cakes the whole order is.
    assert_eq!(
        accept(&app, &li_si["acceptanceCode"], true, None).await["accepted"],
        true
    );
    assert_eq!(
        accept(&app, &zhang_cakes["acceptanceCode"], true, None).await["accepted"],
        true
    );
    let late = accept(&app, &li_si["acceptanceCode"], false, Some("又坏了")).await;
    assert_eq!(late["userErrors"][0]["code"], "ALREADY_ACCEPTED");
    let done = app.query_as(&union.admin, ORDER, json!({ "id": order["id"] })).await;
    assert_eq!(done["node"]["accepted"], true, "{done}");
    assert!(
        done["node"]["shipments"]
            .as_array()
            .expect("parcels")
            .iter()
            .all(|s| s["problem"].is_null())
    );
    let none_left = app
        .query_as(&cast.operator, "{ acceptanceProblems { nodes { note } } }", json!({}))
        .await;
    assert_eq!(none_left["acceptanceProblems"]["nodes"], json!([]));
}

async fn a_bulk_order_is_all_or_nothing_and_names_every_failing_line(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let (lily, _) = stocked(&app, &cast.operator, LILY, 1).await;
    let lily_stock = available(&app, LILY, &lily).await;
    let (cakes, _) = stocked(&app, &cast.operator, CAKES, 50).await;
    let cakes_before = available(&app, CAKES, &cakes).await;
    let union = organisation(&app, &cast.operator, "株洲市总工会", "admin@union.example").await;

    // Every bad line is named at once.
    let mut bad = line("王五", "call me", &lily, 1);
    bad["line1"] = json!("");
    let recipients = json!([
        line("张三", "13800000001", &lily, 1),
        bad,
        line("李四", "13800000002", &json!("bm90LWEtdmFyaWFudA"), 1),
        line("赵六", "13800000003", &cakes, 0),
        // Digits and spaces only, but longer than any phone number is written.
        line("钱七", "1 3 8 0 0 1 3 8 0 0 0 1 2 3 4 5", &cakes, 1),
    ]);
    let refused = app
        .query_as(
            &union.admin,
            BULK,
            bulk_input(&union.id, recipients, "k-1", "BANK_TRANSFER"),
        )
        .await["placeBulkOrder"]
        .clone();
    assert_eq!(refused["order"], Value::Null);
    let problems = codes(&refused["userErrors"]);
    assert!(problems.contains(&(json!(["input", "recipients", "1", "line1"]), "INVALID_INPUT".to_owned())));
    assert!(problems.contains(&(json!(["input", "recipients", "2", "variantId"]), "NOT_FOUND".to_owned())));
    assert!(problems.contains(&(
        json!(["input", "recipients", "3", "quantity"]),
        "INVALID_QUANTITY".to_owned()
    )));
    assert!(problems.contains(&(json!(["input", "recipients", "4", "phone"]), "INVALID_INPUT".to_owned())));
    assert_eq!(problems.len(), 4, "{refused}");

    // The lilies wanted by two recipients exceed the stock together: both lines fail, and the
    // cakes that were available are not held either.
    let recipients = json!([
        line("张三", "13800000001", &lily, lily_stock - 1),
        line("赵六", "13800000003", &cakes, 5),
        line("李四", "13800000002", &lily, 2),
    ]);
    let short = app
        .query_as(
            &union.admin,
            BULK,
            bulk_input(&union.id, recipients, "k-2", "BANK_TRANSFER"),
        )
        .await["placeBulkOrder"]
        .clone();
    assert_eq!(
        codes(&short["userErrors"]),
        [
            (
                json!(["input", "recipients", "0", "quantity"]),
                "OUT_OF_STOCK".to_owned()
            ),
            (
                json!(["input", "recipients", "2", "quantity"]),
                "OUT_OF_STOCK".to_owned()
            ),
        ],
        "{short}"
    );
    assert_eq!(available(&app, CAKES, &cakes).await, cakes_before);
    assert_eq!(available(&app, LILY, &lily).await, lily_stock);

    // From the fund: only catalogue (目录) products, only what the fund holds.
    deposit(&app, &cast.operator, &union.id, "200", "ICBC-7").await;
    let recipients = json!([
        line("张三", "13800000001", &lily, 1),
        line("赵六", "13800000003", &cakes, 1)
    ]);
    let uncatalogued = app
        .query_as(
            &union.admin,
            BULK,
            bulk_input(&union.id, recipients, "k-3", "ORGANISATION_FUND"),
        )
        .await["placeBulkOrder"]
        .clone();
    assert_eq!(
        codes(&uncatalogued["userErrors"]),
        [(
            json!(["input", "recipients", "1", "variantId"]),
            "NOT_ELIGIBLE".to_owned()
        )]
    );
    let recipients = json!([line("张三", "13800000001", &lily, 4)]);
    let too_dear = app
        .query_as(
            &union.admin,
            BULK,
            bulk_input(&union.id, recipients, "k-4", "ORGANISATION_FUND"),
        )
        .await["placeBulkOrder"]
        .clone();
    assert_eq!(too_dear["userErrors"][0]["code"], "INSUFFICIENT_FUNDS", "{too_dear}");
    assert_eq!(available(&app, LILY, &lily).await, lily_stock);

    let recipients = json!([
        line("张三", "13800000001", &lily, 1),
        line("李四", "13800000002", &lily, 1)
    ]);
    let paid = app
        .query_as(
            &union.admin,
            BULK,
            bulk_input(&union.id, recipients, "k-5", "ORGANISATION_FUND"),
        )
        .await["placeBulkOrder"]
        .clone();
    assert_eq!(paid["userErrors"], json!([]), "{paid}");
    assert_eq!(paid["order"]["status"], "PAID");
    let total = fen(&paid["order"]["total"]);
    assert_eq!(fund(&app, &union.admin).await, 20000 - total);

    // A refund of fund money goes back to the fund, at once.
    let half = format!("{}.{:02}", total / 2 / 100, total / 2 % 100);
    let refunded = refund(&app, &cast.operator, &paid["order"]["id"], Some(&half)).await;
    assert_eq!(refunded["userErrors"], json!([]), "{refunded}");
    assert_eq!(fund(&app, &union.admin).await, 20000 - total + total / 2);
    let today = huakai::catalogue::today_in_china();
    let report = app
        .query_as(
            &union.admin,
            "query($id: ID!, $from: Date!, $to: Date!) { node(id: $id) { ... on Organisation {
                report(from: $from, to: $to) { fundPurchases { amount } acceptance { shipments accepted } } } } }",
            json!({ "id": union.id, "from": today.pred_opt().expect("yesterday").to_string(), "to": today.to_string() }),
        )
        .await;
    assert_eq!(
        fen(&report["node"]["report"]["fundPurchases"]),
        total - total / 2,
        "{report}"
    );
    assert_eq!(
        report["node"]["report"]["acceptance"],
        json!({ "shipments": 2, "accepted": 0 })
    );
    assert_ledger_adds_up(&app, &union.id).await;
}
