//! Refunds before delivery, from Stripe's dashboard after payout, with lost answers, and late
//! payments that never revive an order.

use super::*;

on_each_backend!(
    a_refund_before_delivery_is_kept_out_of_the_earnings_and_waits_for_the_bank,
    a_dashboard_refund_after_payout_leaves_a_balance_the_next_payout_deducts,
);

async fn a_refund_before_delivery_is_kept_out_of_the_earnings_and_waits_for_the_bank(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "100.00").await;

    // ¥100 by bank, ¥30 refunded, then shipped and delivered: the grower earns on ¥70.
    let order_id = place(&app, &cast.buyer, &lily, 1, "hundred", "BANK_TRANSFER").await;
    pay_by_bank(&app, &cast.operator, &order_id).await;
    let refunded = refund(&app, &cast.operator, &order_id, Some("30.00")).await;
    assert_eq!(refunded["userErrors"], json!([]), "{refunded}");
    let seen = order(&app, &cast.operator, &order_id).await;
    assert_eq!(seen["status"], "PAID", "a partial refund leaves the order paid");
    assert_eq!(
        seen["payment"]["status"], "SUCCEEDED",
        "no money has gone back yet: the bank refund waits"
    );
    assert_eq!(seen["payment"]["refundPending"]["amount"], "30.00");
    assert_eq!(seen["payment"]["refunded"]["amount"], "0.00");

    ship_and_deliver(&app, &cast, &order_id).await;
    let account = balance(&app, &cast.grower).await;
    assert_eq!(
        account["balance"]["pending"]["amount"], "66.50",
        "¥100 less ¥30 refunded, less the 5% fee on what was kept"
    );
    let kinds: Vec<(String, i64)> = account["earnings"]["nodes"]
        .as_array()
        .expect("earnings")
        .iter()
        .map(|e| (e["kind"].as_str().expect("kind").to_owned(), fen(&e["amount"])))
        .collect();
    assert!(kinds.contains(&("SALE".to_owned(), 9_500)), "{kinds:?}");
    assert!(kinds.contains(&("REVERSAL".to_owned(), -2_850)), "{kinds:?}");

    // The operator finds the bank refund with what it takes to send it, and records it.
    let waiting = app.query_as(&cast.operator, PENDING_BANK_REFUNDS, json!({})).await;
    let nodes = all_nodes(&waiting["pendingBankRefunds"]).clone();
    assert_eq!(nodes.len(), 1, "{waiting}");
    let task = &nodes[0];
    assert_eq!(task["amount"]["amount"], "30.00");
    assert_eq!(task["status"], "PENDING");
    assert_eq!(task["buyerEmail"], "buyer@example.com");
    assert_eq!(task["paidWithReference"], "ICBC-1");
    assert_eq!(task["order"]["id"], order_id);
    let record = "mutation($id: ID!, $reference: String!) { recordBankRefund(refundId: $id, reference: $reference) {
        order { payment { status refunded { amount } refundPending { amount } } } userErrors { code } } }";
    let recorded = app
        .query_as(
            &cast.operator,
            record,
            json!({ "id": task["id"], "reference": "ICBC-BACK-7" }),
        )
        .await;
    assert_eq!(recorded["recordBankRefund"]["userErrors"], json!([]));
    let payment = &recorded["recordBankRefund"]["order"]["payment"];
    assert_eq!(payment["status"], "PARTIALLY_REFUNDED");
    assert_eq!(payment["refunded"]["amount"], "30.00");
    assert_eq!(payment["refundPending"]["amount"], "0.00");
    let again = app
        .query_as(
            &cast.operator,
            record,
            json!({ "id": task["id"], "reference": "ICBC-BACK-7" }),
        )
        .await;
    assert_eq!(again["recordBankRefund"]["userErrors"][0]["code"], "NOT_PENDING");
    let empty = app.query_as(&cast.operator, PENDING_BANK_REFUNDS, json!({})).await;
    assert!(all_nodes(&empty["pendingBankRefunds"]).is_empty());
    assert_eq!(
        balance(&app, &cast.grower).await["balance"]["pending"]["amount"],
        "66.50",
        "recording the bank transfer changes no earnings"
    );

    // A cancelled bank order is not "refunded" until the money has gone back.
    let second = place(&app, &cast.buyer, &lily, 2, "cancel-by-bank", "BANK_TRANSFER").await;
    pay_by_bank(&app, &cast.operator, &second).await;
    let cancelled = app
        .query_as(
            &cast.buyer,
            "mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } userErrors { code } } }",
            json!({ "id": second }),
        )
        .await;
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED");
    let seen = order(&app, &cast.buyer, &second).await;
    assert_eq!(seen["payment"]["status"], "SUCCEEDED");
    assert_eq!(seen["payment"]["refundPending"]["amount"], "200.00");
    let waiting = app.query_as(&cast.operator, PENDING_BANK_REFUNDS, json!({})).await;
    let task = waiting["pendingBankRefunds"]["nodes"][0].clone();
    assert_eq!(task["amount"]["amount"], "200.00");
    assert_eq!(task["reason"], "cancelled by the buyer");

    // Only operators see the task, through the list or by id.
    let (_, forbidden) = app.graphql_as(&cast.buyer, PENDING_BANK_REFUNDS, json!({})).await;
    assert_eq!(crate::support::error_code(&forbidden), "FORBIDDEN");
    let by_id = "query($id: ID!) { node(id: $id) { ... on BankRefund { amount { amount } } } }";
    for outsider in [&cast.buyer, &cast.grower] {
        let seen = app.query_as(outsider, by_id, json!({ "id": task["id"] })).await;
        assert_eq!(seen["node"], Value::Null);
    }
    let seen = app.query_as(&cast.operator, by_id, json!({ "id": task["id"] })).await;
    assert_eq!(seen["node"]["amount"]["amount"], "200.00");

    let recorded = app
        .query_as(
            &cast.operator,
            record,
            json!({ "id": task["id"], "reference": "ICBC-BACK-8" }),
        )
        .await;
    assert_eq!(recorded["recordBankRefund"]["order"]["payment"]["status"], "REFUNDED");
    assert_ledger_balances(&app).await;
}

async fn a_dashboard_refund_after_payout_leaves_a_balance_the_next_payout_deducts(backend: Backend) {
    let Some((app, stripe)) = TestApp::on(backend)
        .settings(&[("HUAKAI_PAYOUT_HOLD", "1s")])
        .with_stripe()
        .await
    else {
        return;
    };
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "40.00").await;
    let order_id = place(&app, &cast.buyer, &lily, 3, "card", "CARD").await;
    let intent = stripe.payment_intents()[0]["id"].as_str().expect("intent").to_owned();
    stripe.succeed(&intent).await;
    app.eventually(&cast.buyer, ORDER, json!({ "id": order_id }), "payment", |seen| {
        seen["order"]["status"] == "PAID"
    })
    .await;
    ship_and_deliver(&app, &cast, &order_id).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let paid = run_payouts(&app, &cast.operator).await;
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0]["amount"]["amount"], "114.00", "¥120 less 5%");

    // ¥10 refunded in Stripe's dashboard: the producer gives back its part of it.
    stripe.dashboard_refund(&intent, 1_000).await;
    let account = app
        .eventually(
            &cast.grower,
            ACCOUNT,
            json!({}),
            "the dashboard refund's reversal",
            |seen| seen["myProducer"]["balance"]["available"]["amount"] != "0.00",
        )
        .await["myProducer"]
        .clone();
    assert_eq!(
        account["balance"]["available"]["amount"], "-9.50",
        "refunded after the payout: owed, not lost"
    );
    let seen = order(&app, &cast.operator, &order_id).await;
    assert_eq!(seen["payment"]["status"], "PARTIALLY_REFUNDED");
    assert_eq!(seen["payment"]["refunded"]["amount"], "10.00");
    // The same event again changes nothing.
    let again = stripe
        .events()
        .into_iter()
        .rfind(|e| e["type"] == "charge.refunded")
        .expect("the charge.refunded event");
    let mut repeat = again.clone();
    repeat["id"] = json!("evt_repeat_of_the_dashboard_refund");
    assert_eq!(stripe.deliver(&repeat).await, 200);
    wait_for_inbox(&app, "evt_repeat_of_the_dashboard_refund").await;
    assert_eq!(
        balance(&app, &cast.grower).await["balance"]["available"]["amount"],
        "-9.50"
    );

    // Nothing is paid out while the balance is negative; the next sale pays net of it.
    assert!(run_payouts(&app, &cast.operator).await.is_empty());
    let next = place(&app, &cast.buyer, &lily, 1, "bank-after", "BANK_TRANSFER").await;
    pay_by_bank(&app, &cast.operator, &next).await;
    ship_and_deliver(&app, &cast, &next).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let net = run_payouts(&app, &cast.operator).await;
    assert_eq!(net.len(), 1);
    assert_eq!(net[0]["amount"]["amount"], "28.50", "¥38.00 earned less ¥9.50 owed");
    assert_eq!(
        balance(&app, &cast.grower).await["balance"]["available"]["amount"],
        "0.00"
    );
}

/// Refunds whose answer from Stripe is lost stay pending, then go through once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_whose_answer_is_lost_go_back_exactly_once() {
    let (app, stripe) = TestApp::on(Backend::Sqlite)
        .settings(&[("HUAKAI_STRIPE_TIMEOUT", "1s")])
        .with_stripe()
        .await
        .expect("SQLite");
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "50.00").await;
    let order_id = place(&app, &cast.buyer, &lily, 2, "card", "CARD").await;
    let intent = stripe.payment_intents()[0]["id"].as_str().expect("intent").to_owned();
    stripe.succeed(&intent).await;
    app.eventually(&cast.buyer, ORDER, json!({ "id": order_id }), "payment", |seen| {
        seen["order"]["status"] == "PAID"
    })
    .await;

    let faults = [
        ("slow", Fault::SlowAnswer(Duration::from_secs(3)), false),
        ("in-use", Fault::KeyInUse, false),
        ("500", Fault::ServerErrorAfterWork, false),
        ("forgotten", Fault::SlowAnswer(Duration::from_secs(3)), true),
    ];
    let mut refunded = 0;
    for (name, fault, forget) in faults {
        stripe.fault_next("/v1/refunds", fault);
        let answer = refund(&app, &cast.operator, &order_id, Some("10.00")).await;
        assert_eq!(answer["userErrors"], json!([]), "{name}: the refund is decided");
        refunded += 1_000;
        if forget {
            stripe.forget_idempotency_keys();
        }
        let seen = app
            .eventually(&cast.operator, ORDER, json!({ "id": order_id }), name, |seen| {
                seen["order"]["payment"]["refundPending"]["amount"] == "0.00"
            })
            .await["order"]
            .clone();
        assert_eq!(fen(&seen["payment"]["refunded"]), refunded, "{name}");
        stripe.settle().await;
        let at_stripe: i64 = stripe
            .refunds()
            .iter()
            .map(|r| r["amount"].as_i64().expect("amount"))
            .sum();
        assert_eq!(at_stripe, refunded, "{name}: one refund at Stripe");
    }
    let ours: HashSet<String> = stripe
        .refunds()
        .iter()
        .map(|r| r["metadata"]["refund_id"].as_str().expect("ours").to_owned())
        .collect();
    assert_eq!(ours.len(), 4, "each refund made once");

    // A definite no gives the amount back to what may be refunded, and tells an operator.
    stripe.fault_next("/v1/refunds", Fault::Refuse);
    let refused = refund(&app, &cast.operator, &order_id, Some("10.00")).await;
    assert_eq!(refused["userErrors"][0]["code"], "REFUND_FAILED");
    let seen = order(&app, &cast.operator, &order_id).await;
    assert_eq!(fen(&seen["payment"]["refunded"]), refunded);
    assert_eq!(seen["payment"]["refundPending"]["amount"], "0.00");
    assert!(
        seen["payment"]["reviewReason"]
            .as_str()
            .is_some_and(|r| r.contains("refused"))
    );
    let rest = refund(&app, &cast.operator, &order_id, None).await;
    assert_eq!(rest["userErrors"], json!([]));
    assert_eq!(rest["order"]["status"], "REFUNDED");
}

/// A late payment refunded because its stock was gone stays refunded, whatever arrives later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_late_payment_never_revives_a_refunded_order() {
    let (app, stripe) = TestApp::on(Backend::Sqlite)
        .settings(&[("HUAKAI_RESERVATION_TTL", "1s")])
        .with_stripe()
        .await
        .expect("SQLite");
    let cast = cast(&app).await;
    let created = app
        .query_as(
            &cast.operator,
            "mutation { createProduct(input: { slug: \"last-box\", name: \"最后一盒\", categorySlug: \"shucai\", producerSlug: \"sanwang-baihe-hezuoshe\",
                variants: [{ sku: \"LAST-1\", name: \"1 盒\", price: \"30.00\", stock: 1 }] }) { product { variants { id } } } }",
            json!({}),
        )
        .await;
    let last = created["createProduct"]["product"]["variants"][0]["id"].clone();
    let late = place(&app, &cast.buyer, &last, 1, "late", "CARD").await;
    let intent = stripe.payment_intents()[0]["id"].as_str().expect("intent").to_owned();
    app.eventually(&cast.buyer, ORDER, json!({ "id": late }), "expiry", |seen| {
        seen["order"]["status"] == "CANCELLED"
    })
    .await;
    let rival = app.user("rival@example.com", Role::Buyer, None).await;
    let rivals = place(&app, &rival, &last, 1, "rival", "BANK_TRANSFER").await;
    let paid_late = stripe.succeed(&intent).await;
    app.eventually(&cast.buyer, ORDER, json!({ "id": late }), "the late refund", |seen| {
        seen["order"]["payment"]["status"] == "REFUNDED"
    })
    .await;

    // The rival lets the box go, and the same payment is reported again.
    let cancelled = app
        .query_as(
            &rival,
            "mutation($id: ID!) { cancelOrder(orderId: $id) { userErrors { code } } }",
            json!({ "id": rivals }),
        )
        .await;
    assert_eq!(cancelled["cancelOrder"]["userErrors"], json!([]));
    let mut repeat = paid_late.clone();
    repeat["id"] = json!("evt_the_same_payment_again");
    assert_eq!(stripe.deliver(&repeat).await, 200);
    wait_for_inbox(&app, "evt_the_same_payment_again").await;
    let seen = order(&app, &cast.buyer, &late).await;
    assert_eq!(seen["status"], "CANCELLED", "a refunded order is not paid again");
    assert_eq!(seen["payment"]["status"], "REFUNDED");
    assert_eq!(available(&app, "last-box", &last).await, 1, "the box is for sale");
    assert_eq!(stripe.refunds().len(), 1);
    assert_ledger_balances(&app).await;
}
