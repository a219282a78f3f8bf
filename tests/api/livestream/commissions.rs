//! Commission plans and the commissions that follow an order's money: the rate in force when
//! placed, refunds before and after delivery, payouts, and promo links' clicks.

use super::*;

on_each_backend!(
    lines_are_credited_at_the_open_or_targeted_rate_in_force_when_placed,
    commission_follows_the_order_through_refunds_and_is_paid_once,
);

async fn lines_are_credited_at_the_open_or_targeted_rate_in_force_when_placed(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let (product, variant) = lily_at(&app, &cast.operator, "100.00").await;
    let other_host_id = my_host(&app, &cast.other_host).await["host"]["id"].clone();

    // The cap: 20% by default, whoever asks.
    let too_high = set_plan(&app, &cast.grower, json!({ "productId": product, "rateBps": 2001 })).await;
    assert_eq!(too_high["userErrors"][0]["code"], "COMMISSION_TOO_HIGH", "{too_high}");
    assert_eq!(too_high["userErrors"][0]["field"], json!(["input", "rateBps"]));

    // A product without a plan credits nobody, whatever the code.
    let early_link = link(&app, &cast.host, &product).await;
    let uncovered = paid_order(
        &app,
        &cast,
        &variant,
        1,
        early_link["code"].as_str().expect("code"),
        "k0",
    )
    .await;
    assert!(uncovered.is_string());
    assert_eq!(commissions(&app, &cast.host).await, vec![]);

    let open = set_plan(&app, &cast.grower, json!({ "productId": product, "rateBps": 1000 })).await;
    assert_eq!(open["userErrors"], json!([]), "{open}");
    assert_eq!(open["plan"]["host"], Value::Null);
    let targeted = set_plan(
        &app,
        &cast.operator,
        json!({ "productId": product, "rateBps": 1500, "hostId": other_host_id }),
    )
    .await;
    assert_eq!(
        targeted["plan"]["host"]["displayName"], "dagang@example.com",
        "{targeted}"
    );

    let mine = link(&app, &cast.host, &product).await;
    let code = mine["code"].as_str().expect("code").to_owned();
    assert_eq!(code.len(), 10, "a short code");
    assert!(
        mine["url"]
            .as_str()
            .expect("url")
            .ends_with(&format!("/products/{LILY}?ref={code}")),
        "{mine}"
    );
    let theirs = link(&app, &cast.other_host, &product).await;
    let their_code = theirs["code"].as_str().expect("code").to_owned();

    paid_order(&app, &cast, &variant, 2, &code, "k1").await;
    paid_order(&app, &cast, &variant, 1, &their_code, "k2").await;
    assert_eq!(
        commissions(&app, &cast.host).await,
        vec![(1000, "ESTIMATED".to_owned(), 20_00)],
        "the open rate: 10% of 200.00"
    );
    assert_eq!(
        commissions(&app, &cast.other_host).await,
        vec![(1500, "ESTIMATED".to_owned(), 15_00)],
        "the targeted rate wins over the open one"
    );

    // An unknown code is ignored (and counted); the order goes through.
    let mut input = order_input(json!([{ "variantId": variant, "quantity": 1 }]), "k3");
    input["input"]["referralCode"] = json!("NoSuchCode");
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    let placed = app.query_as(&cast.buyer, PLACE, input).await;
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]), "{placed}");
    let metrics = app
        .http()
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("huakai_referral_codes_unknown_total"), "counted");

    // A cut waits for the notice period: orders placed meanwhile keep the old rate.
    let cut = set_plan(&app, &cast.grower, json!({ "productId": product, "rateBps": 500 })).await;
    let effective: chrono::DateTime<chrono::Utc> = cut["plan"]["effectiveFrom"]
        .as_str()
        .expect("date")
        .parse()
        .expect("a date");
    assert!(effective > chrono::Utc::now() + chrono::Duration::days(6), "{cut}");
    paid_order(&app, &cast, &variant, 1, &code, "k4").await;
    assert_eq!(
        commissions(&app, &cast.host).await[1],
        (1000, "ESTIMATED".to_owned(), 10_00)
    );
    // A raise applies at once.
    let raise = set_plan(
        &app,
        &cast.grower,
        json!({ "productId": product, "rateBps": 1800, "hostId": other_host_id }),
    )
    .await;
    let effective: chrono::DateTime<chrono::Utc> = raise["plan"]["effectiveFrom"]
        .as_str()
        .expect("date")
        .parse()
        .expect("a date");
    assert!(effective <= chrono::Utc::now(), "{raise}");
    paid_order(&app, &cast, &variant, 1, &their_code, "k5").await;
    assert_eq!(
        commissions(&app, &cast.other_host).await[1],
        (1800, "ESTIMATED".to_owned(), 18_00)
    );

    // The links' figures, and the grower's view of who sold its lily at what rate.
    let account = my_host(&app, &cast.host).await;
    let figures = account["links"]["nodes"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["code"] == code.as_str())
        .expect("the link")
        .clone();
    assert_eq!(figures["orders"], 2);
    assert_eq!(figures["units"], 3);
    assert_eq!(fen(&figures["sales"]), 30_000);
    assert_eq!(fen(&figures["commission"]), 30_00);
    let sales = app
        .query_as(
            &cast.grower,
            "{ hostSales { host { displayName } rateBps units sales { amount } } }",
            json!({}),
        )
        .await["hostSales"]
        .clone();
    let mut seen: Vec<(String, i64, i64)> = sales
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["host"]["displayName"].as_str().expect("name").to_owned(),
                r["rateBps"].as_i64().expect("rate"),
                r["units"].as_i64().expect("units"),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("dagang@example.com".to_owned(), 1500, 1),
            ("dagang@example.com".to_owned(), 1800, 1),
            ("xiaomei@example.com".to_owned(), 1000, 3),
        ]
    );
}

async fn commission_follows_the_order_through_refunds_and_is_paid_once(backend: Backend) {
    let Some(app) = TestApp::on(backend).settings(&[HOLD]).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let (product, variant) = lily_at(&app, &cast.operator, "100.00").await;
    set_plan(&app, &cast.grower, json!({ "productId": product, "rateBps": 1000 })).await;
    let code = link(&app, &cast.host, &product).await["code"]
        .as_str()
        .expect("code")
        .to_owned();

    // Paid: estimated. Refunded in part before delivery: the estimate follows what is kept.
    let first = paid_order(&app, &cast, &variant, 2, &code, "first").await;
    assert_eq!(
        commissions(&app, &cast.host).await,
        vec![(1000, "ESTIMATED".to_owned(), 20_00)]
    );
    refund(&app, &cast.operator, &first, "50.00").await;
    assert_eq!(
        commissions(&app, &cast.host).await,
        vec![(1000, "ESTIMATED".to_owned(), 15_00)]
    );

    // Delivered: earned, out of the grower's line (fee + commission + earning = line total).
    ship_and_deliver(&app, &cast, &first).await;
    assert_eq!(
        commissions(&app, &cast.host).await,
        vec![(1000, "EARNED".to_owned(), 15_00)]
    );
    let earnings = earning::Entity::find().all(app.db()).await.expect("earnings");
    for entry in &earnings {
        assert_eq!(
            entry.platform_fee_fen.get() + entry.commission_fen.get() + entry.amount_fen.get(),
            entry.line_total_fen.get()
        );
    }
    let grower_total: i64 = earnings.iter().map(|e| e.amount_fen.get()).sum();
    assert_eq!(
        grower_total,
        15_000 - 750 - 1_500,
        "the grower keeps 85% of what was kept"
    );
    let account = my_host(&app, &cast.host).await;
    assert_eq!(fen(&account["balance"]["pending"]), 15_00);

    // After the hold: one payout to the host, by bank, once however often runs are made.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let payouts = run_payouts(&app, &cast.operator).await;
    assert_eq!(payouts.len(), 2, "the grower and the host: {payouts:?}");
    assert!(
        run_payouts(&app, &cast.operator).await.is_empty(),
        "nothing is paid twice"
    );
    let account = my_host(&app, &cast.host).await;
    let host_payouts = account["payouts"]["nodes"].as_array().expect("payouts").clone();
    assert_eq!(host_payouts.len(), 1);
    assert_eq!(fen(&host_payouts[0]["amount"]), 15_00);
    assert_eq!(host_payouts[0]["method"], "bank");
    assert_eq!(fen(&account["balance"]["inTransit"]), 15_00);
    let confirmed = app
        .query_as(
            &cast.operator,
            "mutation($id: ID!) { confirmPayout(payoutId: $id, reference: \"BOC-7\") { userErrors { code } } }",
            json!({ "id": host_payouts[0]["id"] }),
        )
        .await;
    assert_eq!(confirmed["confirmPayout"]["userErrors"], json!([]));
    assert_eq!(
        commissions(&app, &cast.host).await,
        vec![(1000, "PAID".to_owned(), 15_00)]
    );

    // A refund after the payout: the host owes its share back, deducted from the next payout.
    refund(&app, &cast.operator, &first, "30.00").await;
    let account = my_host(&app, &cast.host).await;
    assert_eq!(fen(&account["balance"]["available"]), -3_00);
    assert_eq!(fen(&account["balance"]["paidOut"]), 15_00);

    let second = paid_order(&app, &cast, &variant, 1, &code, "second").await;
    ship_and_deliver(&app, &cast, &second).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    run_payouts(&app, &cast.operator).await;
    let account = my_host(&app, &cast.host).await;
    let host_payouts = account["payouts"]["nodes"].as_array().expect("payouts").clone();
    assert_eq!(host_payouts.len(), 2);
    assert_eq!(fen(&host_payouts[0]["amount"]), 10_00 - 3_00, "the debt deducted");
    assert_eq!(fen(&account["balance"]["available"]), 0);

    // The month's report lists every entry with its rate.
    let month = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
        .format("%Y-%m")
        .to_string();
    let report = app
        .query_as(
            &cast.host,
            "query($month: String!) { myHost { monthlyReport(month: $month) } }",
            json!({ "month": month }),
        )
        .await["myHost"]["monthlyReport"]
        .as_str()
        .expect("csv")
        .to_owned();
    assert!(report.lines().count() >= 5, "{report}");
    assert!(report.contains("\"REVERSAL\""), "{report}");
    assert!(
        report.trim_end().ends_with("\"22.00\",\"\""),
        "total 15 - 3 + 10: {report}"
    );

    // The same report as a file over HTTP, for the host alone.
    let csv_url = |month: &str| app.url(&format!("/hosts/me/commissions.csv?month={month}"));
    let download = app
        .http()
        .get(csv_url(&month))
        .bearer_auth(cast.host.token.as_deref().expect("a token"))
        .send()
        .await
        .expect("answer");
    assert_eq!(download.status().as_u16(), 200);
    assert_eq!(download.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        download.headers()["content-disposition"].to_str().expect("ascii"),
        format!("attachment; filename=\"huakai-commissions-{month}.csv\"")
    );
    let bytes = download.bytes().await.expect("body");
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "a UTF-8 byte-order mark for spreadsheets");
    assert_eq!(std::str::from_utf8(&bytes).expect("UTF-8"), report);
    assert!(
        report.starts_with("\u{feff}\"日期\",\"订单\""),
        "Chinese headers by default: {report}"
    );
    let english = app
        .http()
        .get(format!("{}&lang=en", csv_url(&month)))
        .bearer_auth(cast.host.token.as_deref().expect("a token"))
        .send()
        .await
        .expect("answer")
        .text()
        .await
        .expect("text");
    assert!(english.starts_with("\u{feff}\"Date\",\"Order\""), "{english}");
    assert!(english.contains("\"Total\""), "{english}");
    let anonymous = app.http().get(csv_url(&month)).send().await.expect("answer");
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    let forged = app
        .http()
        .get(csv_url(&month))
        .bearer_auth("not-a-token")
        .send()
        .await
        .expect("answer");
    assert_eq!(forged.status().as_u16(), 401);
    for not_a_host in [&cast.buyer, &cast.grower, &cast.operator] {
        let refused = app
            .http()
            .get(csv_url(&month))
            .bearer_auth(not_a_host.token.as_deref().expect("a token"))
            .send()
            .await
            .expect("answer");
        assert_eq!(refused.status().as_u16(), 403);
    }
    for bad in ["2026-13", "09-2026", "", "2026-09%27", "%FF"] {
        let refused = app
            .http()
            .get(csv_url(bad))
            .bearer_auth(cast.host.token.as_deref().expect("a token"))
            .send()
            .await
            .expect("answer");
        assert_eq!(refused.status().as_u16(), 400, "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promo_links_redirect_count_clicks_and_keep_them_over_a_restart() {
    // Each click from a client of its own (a click counts once per client and window).
    let settings = [
        ("HUAKAI_STOREFRONT_URL", "https://shop.example/cn"),
        ("HUAKAI_TRUSTED_PROXIES", "127.0.0.1"),
    ];
    let app = TestApp::on(Backend::Sqlite)
        .settings(&settings)
        .start()
        .await
        .expect("SQLite needs no service");
    let cast = cast(&app).await;
    let product = app
        .query(
            "query($slug: String!) { product(slug: $slug) { id } }",
            json!({ "slug": LILY }),
        )
        .await["product"]["id"]
        .clone();
    let code = link(&app, &cast.host, &product).await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    for client in 0..5 {
        let answer = browser
            .get(app.url(&format!("/l/{code}")))
            .header("x-forwarded-for", format!("203.0.113.{client}"))
            .send()
            .await
            .expect("answer");
        assert_eq!(answer.status().as_u16(), 302);
        assert_eq!(
            answer.headers()["location"].to_str().expect("ascii"),
            format!("https://shop.example/cn/products/{LILY}?ref={code}")
        );
    }
    for unknown in ["ZZZZZZZZZZ", "short", "%E7%99%BE%E5%90%88", &"x".repeat(300)] {
        let answer = browser
            .get(app.url(&format!("/l/{unknown}")))
            .send()
            .await
            .expect("answer");
        assert_eq!(answer.status().as_u16(), 404, "{unknown}");
        assert!(answer.text().await.expect("page").contains("链接无效"));
    }
    let clicks = |data: &Value| data["myHost"]["links"]["nodes"][0]["clicks"].as_i64() == Some(5);
    app.eventually(
        &cast.host,
        "{ myHost { links { nodes { clicks } } } }",
        json!({}),
        "five clicks written",
        clicks,
    )
    .await;

    // Clicks answered just before a server stops are written as it stops.
    let second = app.another_instance().await;
    for client in 10..13 {
        let answer = browser
            .get(second.url(&format!("/l/{code}")))
            .header("x-forwarded-for", format!("203.0.113.{client}"))
            .send()
            .await
            .expect("answer");
        assert_eq!(answer.status().as_u16(), 302);
    }
    second.server.stop().await.expect("stops");
    let stored = huakai::livestream::entity::promo_link::Entity::find()
        .all(app.db())
        .await
        .expect("links");
    assert_eq!(stored[0].clicks, 8);
}
