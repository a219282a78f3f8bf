//! Earnings that follow delivery and payout runs that pay each once.

use super::*;

on_each_backend!(
    earnings_follow_delivery_and_are_paid_once_by_bank,
    two_runs_at_once_pay_each_earning_once,
);

async fn earnings_follow_delivery_and_are_paid_once_by_bank(backend: Backend) {
    let Some(app) = TestApp::on(backend).settings(&[HOLD]).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let grower = app
        .user("lily@example.com", Role::Grower, Some("sanwang-baihe-hezuoshe"))
        .await;
    delivered(&app, &cast, "sanwang-xian-baihe", 3, "first").await;

    let account = app.query_as(&grower, ACCOUNT, json!({})).await;
    let entry = &account["myProducer"]["earnings"]["nodes"][0];
    assert_eq!(entry["kind"], "SALE");
    assert_eq!(entry["quantity"], json!(3));
    let line_total = fen(&entry["lineTotal"]);
    let fee = fen(&entry["platformFee"]);
    assert_eq!(
        fee,
        (line_total * 500 + 5_000) / 10_000,
        "5% rounded half up to the fen"
    );
    assert_eq!(fen(&entry["commission"]), 0);
    assert_eq!(
        fee + fen(&entry["amount"]),
        line_total,
        "fee + commission + earning = line total"
    );
    let earned = fen(&entry["amount"]);
    let balance = &account["myProducer"]["balance"];
    assert_eq!(
        (fen(&balance["pending"]), fen(&balance["available"])),
        (earned, 0),
        "held after delivery"
    );

    // Nothing is available yet: a run pays nothing.
    assert!(run_payouts(&app, &cast.operator).await.is_empty());
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let balance = &app.query_as(&grower, ACCOUNT, json!({})).await["myProducer"]["balance"];
    assert_eq!((fen(&balance["pending"]), fen(&balance["available"])), (0, earned));

    let payouts = run_payouts(&app, &cast.operator).await;
    assert_eq!(payouts.len(), 1);
    assert_eq!(payouts[0]["method"], "bank", "no connected account: paid by bank");
    assert_eq!(fen(&payouts[0]["amount"]), earned);
    assert!(
        run_payouts(&app, &cast.operator).await.is_empty(),
        "a second run pays nothing twice"
    );
    let balance = &app.query_as(&grower, ACCOUNT, json!({})).await["myProducer"]["balance"];
    assert_eq!((fen(&balance["available"]), fen(&balance["inTransit"])), (0, earned));

    // The bank file, then the operator confirms the line paid.
    let batch = payouts[0]["batchId"].as_str().expect("a bank batch").to_owned();
    let database_url = app.server.state.config.database_url.clone();
    let export = Command::new(env!("CARGO_BIN_EXE_huakai"))
        .args(["payouts", "export", &batch])
        .env("DATABASE_URL", &database_url)
        .output()
        .expect("huakai runs");
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let csv = String::from_utf8(export.stdout).expect("utf-8");
    let mut rows = csv.lines();
    assert_eq!(
        rows.next(),
        Some("\u{feff}\"收款人\",\"账号\",\"金额（元）\",\"附言\""),
        "Chinese headers by default, with the byte-order mark Excel needs"
    );
    let line = rows.next().expect("one payout line");
    assert!(
        line.contains("三旺村百合种植专业合作社")
            && line.contains(&format!(
                "\"{}\"",
                payouts[0]["amount"]["amount"].as_str().expect("amount")
            )),
        "{line}"
    );
    assert!(rows.next().is_none());
    let english = Command::new(env!("CARGO_BIN_EXE_huakai"))
        .args(["--lang", "en", "payouts", "export", &batch])
        .env("DATABASE_URL", &database_url)
        .output()
        .expect("huakai runs");
    let english = String::from_utf8(english.stdout).expect("utf-8");
    assert_eq!(
        english.lines().next(),
        Some("\u{feff}\"Payee\",\"Account\",\"Amount (yuan)\",\"Reference\""),
        "{english}"
    );
    let status = app.query_as(&grower, ACCOUNT, json!({})).await;
    assert_eq!(
        status["myProducer"]["payouts"]["nodes"][0]["status"], "IN_TRANSIT",
        "exported to the bank"
    );

    let confirm = "mutation($id: ID!) { confirmPayout(payoutId: $id, reference: \"ICBC-PAY-7\") { payout { status paidAt } userErrors { code } } }";
    let confirmed = app
        .query_as(&cast.operator, confirm, json!({ "id": payouts[0]["id"] }))
        .await;
    assert_eq!(confirmed["confirmPayout"]["payout"]["status"], "PAID");
    let again = app
        .query_as(&cast.operator, confirm, json!({ "id": payouts[0]["id"] }))
        .await;
    assert_eq!(again["confirmPayout"]["userErrors"][0]["code"], "NOT_CONFIRMABLE");
    let balance = &app.query_as(&grower, ACCOUNT, json!({})).await["myProducer"]["balance"];
    assert_eq!((fen(&balance["inTransit"]), fen(&balance["paidOut"])), (0, earned));

    // A refund after payout: the reversal is carried into the next payout.
    let refund = app
        .query_as(
            &cast.operator,
            "mutation($id: ID!) { refundOrder(orderId: $id, amount: \"5.00\") { userErrors { code } } }",
            json!({ "id": app.query_as(&cast.buyer, "{ myOrders(first: 1) { nodes { id } } }", json!({})).await["myOrders"]["nodes"][0]["id"] }),
        )
        .await;
    assert_eq!(refund["refundOrder"]["userErrors"], json!([]));
    let after_refund = app.query_as(&grower, ACCOUNT, json!({})).await;
    let reversal = after_refund["myProducer"]["earnings"]["nodes"]
        .as_array()
        .expect("earnings")
        .iter()
        .find(|e| e["kind"] == "REVERSAL")
        .expect("a reversing entry")
        .clone();
    assert_eq!(fen(&reversal["lineTotal"]), -500);
    assert_eq!(
        fen(&reversal["platformFee"]) + fen(&reversal["amount"]),
        -500,
        "the identity holds for reversals"
    );
    let owed = fen(&reversal["amount"]);
    assert_eq!(
        fen(&after_refund["myProducer"]["balance"]["available"]),
        owed,
        "a negative balance"
    );
    assert!(
        run_payouts(&app, &cast.operator).await.is_empty(),
        "nothing to pay while the balance is negative"
    );

    delivered(&app, &cast, "sanwang-baihe-gan", 1, "second").await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let second_earning = app.query_as(&grower, ACCOUNT, json!({})).await["myProducer"]["earnings"]["nodes"][0].clone();
    assert_eq!(second_earning["kind"], "SALE");
    let payouts = run_payouts(&app, &cast.operator).await;
    assert_eq!(payouts.len(), 1);
    assert_eq!(
        fen(&payouts[0]["amount"]),
        fen(&second_earning["amount"]) + owed,
        "the refund came off the next payout"
    );
}

async fn two_runs_at_once_pay_each_earning_once(backend: Backend) {
    let Some(app) = TestApp::on(backend).settings(&[HOLD]).start().await else {
        return;
    };
    let cast = cast(&app).await;
    for (index, slug) in [
        "sanwang-xian-baihe",
        "changyuan-xiaolongxia",
        "longtan-huangtao",
        "huachong-sungan",
    ]
    .into_iter()
    .enumerate()
    {
        delivered(&app, &cast, slug, 1 + index as i64, &format!("race-{index}")).await;
    }
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let total: i64 = earning::Entity::find()
        .all(app.db())
        .await
        .expect("earnings")
        .iter()
        .map(|e| e.amount_fen.get())
        .sum();
    let (first, second) = tokio::join!(run_payouts(&app, &cast.operator), run_payouts(&app, &cast.operator));
    let all: Vec<Value> = first.into_iter().chain(second).collect();
    let ids: HashSet<&str> = all.iter().map(|p| p["id"].as_str().expect("id")).collect();
    assert_eq!(ids.len(), all.len());
    let mut per_producer: HashMap<String, usize> = HashMap::new();
    for payout in &all {
        *per_producer
            .entry(payout["producer"]["slug"].as_str().expect("slug").to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_producer.len(), 4);
    assert!(
        per_producer.values().all(|count| *count == 1),
        "one payout per producer: {per_producer:?}"
    );
    assert_eq!(
        all.iter().map(|p| fen(&p["amount"])).sum::<i64>(),
        total,
        "every earning paid exactly once"
    );
    assert!(
        earning::Entity::find()
            .all(app.db())
            .await
            .expect("earnings")
            .iter()
            .all(|e| e.payout_id.is_some())
    );
}
