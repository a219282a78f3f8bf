//! Payouts paid once, statements that stay put, shares of shared orders, and cancellations
//! racing shipments.

use super::*;

on_each_backend!(a_hundred_cancellations_racing_shipments_end_one_way_or_the_other,);

async fn a_hundred_cancellations_racing_shipments_end_one_way_or_the_other(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "12.00").await;
    let before = available(&app, LILY, &lily).await;
    let mut orders = Vec::new();
    for n in 0..100 {
        let order_id = place(&app, &cast.buyer, &lily, 1, &format!("race-{n}"), "BANK_TRANSFER").await;
        pay_by_bank(&app, &cast.operator, &order_id).await;
        orders.push(order_id);
    }
    let cancel = "mutation($id: ID!) { cancelOrder(orderId: $id) { userErrors { code } } }";
    let ship = "mutation($id: ID!) { markShipped(orderId: $id, trackingNumber: \"SF-RACE\") { userErrors { code } } }";
    let races = orders.iter().map(|order_id| {
        let (app, buyer, operator) = (&app, &cast.buyer, &cast.operator);
        async move {
            let (cancelled, shipped) = tokio::join!(
                app.query_as(buyer, cancel, json!({ "id": order_id })),
                app.query_as(operator, ship, json!({ "id": order_id })),
            );
            (
                cancelled["cancelOrder"]["userErrors"] == json!([]),
                shipped["markShipped"]["userErrors"] == json!([]),
            )
        }
    });
    let outcomes = futures::future::join_all(races).await;
    let mut shipped_units = 0;
    for (order_id, (cancelled, shipped)) in orders.iter().zip(outcomes) {
        assert!(cancelled != shipped, "exactly one of cancel and ship wins: {order_id}");
        let seen = order(&app, &cast.operator, order_id).await;
        let any_shipped = seen["shipments"]
            .as_array()
            .expect("shipments")
            .iter()
            .any(|s| !s["shippedAt"].is_null());
        if cancelled {
            assert_eq!(seen["status"], "CANCELLED");
            assert!(!any_shipped, "a cancelled order has no shipped part");
            assert_eq!(seen["payment"]["refundPending"]["amount"], "12.00");
        } else {
            assert_eq!(seen["status"], "SHIPPED");
            assert!(any_shipped);
            assert_eq!(seen["payment"]["refundPending"]["amount"], "0.00");
            shipped_units += 1;
        }
    }
    assert_eq!(available(&app, LILY, &lily).await, before - shipped_units);
    let waiting = app
        .query_as(
            &cast.operator,
            "{ pendingBankRefunds(first: 100) { nodes { id } } }",
            json!({}),
        )
        .await;
    let refunds = waiting["pendingBankRefunds"]["nodes"].as_array().expect("nodes").len();
    assert_eq!(refunds as i64, 100 - shipped_units, "one refund per cancelled order");
    assert_ledger_balances(&app).await;
}

/// The payouts of the lily cooperative, paid by Stripe transfer: every earning is paid exactly
/// once whatever Stripe answers, and only a definite refusal frees the earnings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payouts_whose_transfer_answer_is_lost_are_paid_exactly_once() {
    let (app, stripe) = TestApp::on(Backend::Sqlite)
        .settings(&[("HUAKAI_PAYOUT_HOLD", "1s"), ("HUAKAI_STRIPE_TIMEOUT", "1s")])
        .with_stripe()
        .await
        .expect("SQLite");
    let cast = cast(&app).await;
    let set = app
        .query_as(
            &cast.operator,
            "mutation { setProducerPayoutAccount(producerSlug: \"sanwang-baihe-hezuoshe\", stripeAccountId: \"acct_1LilyCoop\") { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(set["setProducerPayoutAccount"]["userErrors"], json!([]));
    let lily = lily_at(&app, &cast, "20.00").await;
    let transfers_for = |payout: &Value| -> usize {
        let row = huakai::infra::graphql::global_id::decode_as::<huakai::infra::ids::PayoutId>(
            payout["id"].as_str().expect("id"),
            huakai::infra::graphql::global_id::NodeType::Payout,
        )
        .expect("a payout id")
        .to_string();
        stripe
            .transfers()
            .iter()
            .filter(|t| t["metadata"]["payout_id"] == row.as_str())
            .count()
    };

    let faults = [
        ("slow", Fault::SlowAnswer(Duration::from_secs(3)), false),
        ("in-use", Fault::KeyInUse, false),
        ("500", Fault::ServerErrorAfterWork, false),
        ("forgotten", Fault::SlowAnswer(Duration::from_secs(3)), true),
    ];
    let mut earned = 0;
    for (name, fault, forget) in faults {
        let order_id = place(&app, &cast.buyer, &lily, 1, name, "BANK_TRANSFER").await;
        pay_by_bank(&app, &cast.operator, &order_id).await;
        ship_and_deliver(&app, &cast, &order_id).await;
        earned += 1_900;
        tokio::time::sleep(Duration::from_millis(1_200)).await;

        stripe.fault_next("/v1/transfers", fault);
        let first = run_payouts(&app, &cast.operator).await;
        assert_eq!(first.len(), 1, "{name}");
        assert_eq!(first[0]["status"], "IN_TRANSIT", "{name}: unknown is not failed");
        let account = balance(&app, &cast.grower).await;
        assert_eq!(
            account["balance"]["available"]["amount"], "0.00",
            "{name}: the earnings stay with the payout in flight"
        );
        if forget {
            // Past Stripe's 24 hours: the key no longer protects; the lookup must.
            stripe.forget_idempotency_keys();
        }
        let second = run_payouts(&app, &cast.operator).await;
        assert_eq!(second.len(), 1, "{name}: the next run settles it");
        assert_eq!(second[0]["id"], first[0]["id"], "{name}");
        assert_eq!(second[0]["status"], "PAID", "{name}");
        assert_eq!(transfers_for(&second[0]), 1, "{name}: one transfer at Stripe");
        assert!(run_payouts(&app, &cast.operator).await.is_empty(), "{name}");
    }

    // A definite refusal fails the payout and frees its earnings for the next run.
    let order_id = place(&app, &cast.buyer, &lily, 1, "refused", "BANK_TRANSFER").await;
    pay_by_bank(&app, &cast.operator, &order_id).await;
    ship_and_deliver(&app, &cast, &order_id).await;
    earned += 1_900;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    stripe.fault_next("/v1/transfers", Fault::Refuse);
    let refused = run_payouts(&app, &cast.operator).await;
    assert_eq!(refused[0]["status"], "FAILED");
    assert_eq!(
        balance(&app, &cast.grower).await["balance"]["available"]["amount"],
        "19.00"
    );
    let retried = run_payouts(&app, &cast.operator).await;
    assert_eq!(retried[0]["status"], "PAID");

    let account = balance(&app, &cast.grower).await;
    assert_eq!(fen(&account["balance"]["paidOut"]), earned, "every earning paid once");
    let paid_at_stripe: i64 = stripe
        .transfers()
        .iter()
        .map(|t| t["amount"].as_i64().expect("amount"))
        .sum();
    assert_eq!(paid_at_stripe, earned, "and Stripe moved exactly that");
}

/// What a payout's statement says it paid each household stays as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_statement_does_not_change_when_the_members_do() {
    let app = TestApp::on(Backend::Sqlite)
        .settings(&[("HUAKAI_PAYOUT_HOLD", "1s")])
        .start()
        .await
        .expect("SQLite");
    let cast = cast(&app).await;
    let members = "mutation($members: [HouseholdInput!]!) { setCooperativeMembers(producerSlug: \"sanwang-baihe-hezuoshe\", members: $members) { userErrors { code } } }";
    let before = json!([
        { "name": "王大伯", "registeredPoor": true, "shareBps": 6000 },
        { "name": "李二嫂", "registeredPoor": true, "shareBps": 4000 },
    ]);
    let set = app
        .query_as(&cast.operator, members, json!({ "members": before }))
        .await;
    assert_eq!(set["setCooperativeMembers"]["userErrors"], json!([]));
    let lily = lily_at(&app, &cast, "10.00").await;
    let order_id = place(&app, &cast.buyer, &lily, 2, "shared", "BANK_TRANSFER").await;
    pay_by_bank(&app, &cast.operator, &order_id).await;
    ship_and_deliver(&app, &cast, &order_id).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let payout = run_payouts(&app, &cast.operator).await[0]["id"].clone();
    let statement = "query($id: ID!) { node(id: $id) { ... on Payout { statement {
        households { name registeredPoor amount { amount } } toRegisteredPoor { amount } retainedByCooperative { amount } } } } }";
    let paid = app.query_as(&cast.operator, statement, json!({ "id": payout })).await;
    assert_eq!(
        paid["node"]["statement"]["households"],
        json!([
            { "name": "王大伯", "registeredPoor": true, "amount": { "amount": "11.40" } },
            { "name": "李二嫂", "registeredPoor": true, "amount": { "amount": "7.60" } },
        ])
    );

    let after = json!([{ "name": "张三", "registeredPoor": false, "shareBps": 10000 }]);
    let set = app.query_as(&cast.operator, members, json!({ "members": after })).await;
    assert_eq!(set["setCooperativeMembers"]["userErrors"], json!([]));
    let later = app.query_as(&cast.operator, statement, json!({ "id": payout })).await;
    assert_eq!(later, paid, "the statement says what was paid then");
}

/// In an order of two producers' goods, each grower sees its own share of the money, never the
/// other's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grower_sees_only_its_own_share_of_a_shared_order() {
    let app = TestApp::on(Backend::Sqlite).start().await.expect("SQLite");
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "30.00").await;
    let mut rice: Vec<(String, (Value, i64))> = variants(&app, "changyuan-xiadaomi").await.into_iter().collect();
    rice.sort_by(|a, b| a.0.cmp(&b.0));
    let rice_grower = app
        .user("rice@example.com", Role::Grower, Some("changyuan-pengjia-xiadaotian"))
        .await;
    let mut input = order_input(
        json!([{ "variantId": lily, "quantity": 2 }, { "variantId": rice[0].1.0, "quantity": 1 }]),
        "shared",
    );
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    let placed = app.query_as(&cast.buyer, PLACE, input).await;
    let order_id = placed["placeOrder"]["order"]["id"].clone();
    let total = fen(&placed["placeOrder"]["order"]["total"]);
    pay_by_bank(&app, &cast.operator, &order_id).await;
    let refunded = refund(&app, &cast.operator, &order_id, Some("10.00")).await;
    assert_eq!(refunded["userErrors"], json!([]));

    let lilys = order(&app, &cast.grower, &order_id).await;
    assert_eq!(lilys["total"]["amount"], "60.00");
    assert_eq!(
        lilys["payment"]["amount"]["amount"], "60.00",
        "its own lines, not the order"
    );
    let rices = order(&app, &rice_grower, &order_id).await;
    let rice_total = total - 6_000;
    assert_eq!(fen(&rices["payment"]["amount"]), rice_total);
    // The ¥10 refund is shared over the lines in proportion: each sees its own part of it.
    let lily_part = fen(&lilys["payment"]["refundPending"]);
    let rice_part = fen(&rices["payment"]["refundPending"]);
    assert_eq!(lily_part + rice_part, 1_000);
    assert_eq!(lily_part, (1_000 * 6_000 + total / 2) / total, "{lily_part} of {total}");
    let whole = order(&app, &cast.operator, &order_id).await;
    assert_eq!(fen(&whole["payment"]["amount"]), total);
    assert_eq!(whole["payment"]["refundPending"]["amount"], "10.00");
}
