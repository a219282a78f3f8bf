//! Stripe transfers paid once through crashes and failures, and cooperatives' shares.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_transfers_pay_once_even_after_a_crash_and_failures_return_the_money() {
    let (app, stripe) = TestApp::on(Backend::Sqlite)
        .settings(&[HOLD])
        .with_stripe()
        .await
        .expect("SQLite");
    let cast = cast(&app).await;
    let set_account = "mutation($slug: String!, $acct: String) { setProducerPayoutAccount(producerSlug: $slug, stripeAccountId: $acct) { userErrors { code } } }";
    for (slug, acct) in [
        ("sanwang-baihe-hezuoshe", "acct_1LilyCoop"),
        ("changyuan-longxia-hezuoshe", "acct_1Lobster"),
    ] {
        let set = app
            .query_as(&cast.operator, set_account, json!({ "slug": slug, "acct": acct }))
            .await;
        assert_eq!(set["setProducerPayoutAccount"]["userErrors"], json!([]));
    }
    let bad = app
        .query_as(
            &cast.operator,
            set_account,
            json!({ "slug": "sanwang-baihe-hezuoshe", "acct": "not-an-account" }),
        )
        .await;
    assert_eq!(
        bad["setProducerPayoutAccount"]["userErrors"][0]["code"],
        "INVALID_INPUT"
    );
    delivered(&app, &cast, "sanwang-xian-baihe", 2, "lily").await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;

    // A run that records its payouts and dies before calling Stripe…
    let recorded = huakai::payouts::runs::record_payouts(app.db(), chrono::Utc::now(), true)
        .await
        .expect("recorded");
    assert_eq!(recorded.len(), 1);
    assert!(stripe.transfers().is_empty());
    // …is finished by the next run, once.
    let payouts = run_payouts(&app, &cast.operator).await;
    assert_eq!(payouts.len(), 1);
    assert_eq!(payouts[0]["status"], "PAID");
    assert_eq!(payouts[0]["method"], "stripe_transfer");
    assert!(run_payouts(&app, &cast.operator).await.is_empty());
    let transfers = stripe.transfers();
    assert_eq!(transfers.len(), 1, "paid once");
    assert_eq!(transfers[0]["destination"], "acct_1LilyCoop");
    assert_eq!(transfers[0]["amount"], json!(fen(&payouts[0]["amount"])));
    assert_eq!(transfers[0]["currency"], "cny");

    // A refused transfer fails the payout and the money is available again.
    delivered(&app, &cast, "changyuan-xiaolongxia", 1, "lobster").await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    stripe.fail_next_transfer();
    let failed = run_payouts(&app, &cast.operator).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["status"], "FAILED");
    let grower = app
        .user("lobster@example.com", Role::Grower, Some("changyuan-longxia-hezuoshe"))
        .await;
    let balance = &app.query_as(&grower, ACCOUNT, json!({})).await["myProducer"]["balance"];
    assert_eq!(
        fen(&balance["available"]),
        fen(&failed[0]["amount"]),
        "back to available"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooperatives_share_with_households_and_growers_see_only_their_own_money() {
    let app = TestApp::on(Backend::Sqlite)
        .settings(&[HOLD])
        .start()
        .await
        .expect("SQLite");
    let cast = cast(&app).await;
    let lily = app
        .user("lily@example.com", Role::Grower, Some("sanwang-baihe-hezuoshe"))
        .await;
    let lobster = app
        .user("lobster@example.com", Role::Grower, Some("changyuan-longxia-hezuoshe"))
        .await;
    let members = "mutation($slug: String!, $members: [HouseholdInput!]!) { setCooperativeMembers(producerSlug: $slug, members: $members) {
        account { households { name registeredPoor shareBps } } userErrors { code } } }";
    let households = json!([
        { "name": "陈家", "registeredPoor": true, "shareBps": 5000 },
        { "name": "王家", "registeredPoor": true, "shareBps": 3000 },
        { "name": "李家", "registeredPoor": false, "shareBps": 1500 }
    ]);
    let set = app
        .query_as(
            &lily,
            members,
            json!({ "slug": "sanwang-baihe-hezuoshe", "members": households }),
        )
        .await;
    assert_eq!(set["setCooperativeMembers"]["userErrors"], json!([]));
    let (_, refused) = app
        .graphql_as(
            &lily,
            members,
            json!({ "slug": "changyuan-longxia-hezuoshe", "members": [] }),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "not its cooperative"
    );
    let too_much = app
        .query_as(&lily, members, json!({ "slug": "sanwang-baihe-hezuoshe", "members": [{ "name": "x", "registeredPoor": false, "shareBps": 10001 }] }))
        .await;
    assert_eq!(
        too_much["setCooperativeMembers"]["userErrors"][0]["code"],
        "INVALID_INPUT"
    );

    let lily_order = delivered(&app, &cast, "sanwang-xian-baihe", 3, "lily").await;
    let lobster_order = delivered(&app, &cast, "changyuan-xiaolongxia", 1, "lobster").await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let payouts = run_payouts(&app, &cast.operator).await;
    assert_eq!(payouts.len(), 2);
    let lily_payout = payouts
        .iter()
        .find(|p| p["producer"]["slug"] == "sanwang-baihe-hezuoshe")
        .expect("lily payout")
        .clone();
    let lobster_payout = payouts
        .iter()
        .find(|p| p["producer"]["slug"] == "changyuan-longxia-hezuoshe")
        .expect("lobster payout")
        .clone();

    let statement = app
        .query_as(
            &lily,
            "query($id: ID!) { node(id: $id) { ... on Payout { amount { amount } statement {
                households { name registeredPoor amount { amount } } toRegisteredPoor { amount } retainedByCooperative { amount } } } } }",
            json!({ "id": lily_payout["id"] }),
        )
        .await;
    let payout = &statement["node"];
    let amount = fen(&payout["amount"]);
    let parts: Vec<i64> = payout["statement"]["households"]
        .as_array()
        .expect("households")
        .iter()
        .map(|h| fen(&h["amount"]))
        .collect();
    assert_eq!(parts.len(), 3);
    for (part, share) in parts.iter().zip([5000, 3000, 1500]) {
        let floor = amount * share / 10_000;
        assert!(
            *part == floor || *part == floor + 1,
            "a household gets its share to the fen: {part} of {amount} at {share}"
        );
    }
    assert_eq!(
        parts.iter().sum::<i64>() + fen(&payout["statement"]["retainedByCooperative"]),
        amount,
        "every fen accounted for"
    );
    assert_eq!(fen(&payout["statement"]["toRegisteredPoor"]), parts[0] + parts[1]);

    // Grower A never sees grower B's money: not by id, not in its account, not in its statement.
    let hidden = app
        .query_as(
            &lily,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": lobster_payout["id"] }),
        )
        .await;
    assert_eq!(hidden["node"], Value::Null);
    let mine = app.query_as(&lily, ACCOUNT, json!({})).await;
    assert_eq!(mine["myProducer"]["producer"]["slug"], "sanwang-baihe-hezuoshe");
    let payout_ids: Vec<&Value> = mine["myProducer"]["payouts"]["nodes"]
        .as_array()
        .expect("payouts")
        .iter()
        .map(|p| &p["id"])
        .collect();
    assert_eq!(payout_ids, vec![&lily_payout["id"]]);
    let numbers = |order: &Value| {
        let order = order.clone();
        let app = &app;
        let buyer = &cast.buyer;
        async move {
            app.query_as(
                buyer,
                "query($id: ID!) { order(id: $id) { number } }",
                json!({ "id": order }),
            )
            .await["order"]["number"]
                .as_str()
                .expect("number")
                .to_owned()
        }
    };
    let (lily_number, lobster_number) = (numbers(&lily_order).await, numbers(&lobster_order).await);
    let month = huakai::catalogue::today_in_china().format("%Y-%m").to_string();
    let csv = app
        .query_as(
            &lily,
            "query($month: String!) { myProducer { monthlyStatement(month: $month) } }",
            json!({ "month": month }),
        )
        .await;
    let csv = csv["myProducer"]["monthlyStatement"].as_str().expect("csv").to_owned();
    assert!(csv.contains(&lily_number), "{csv}");
    assert!(
        !csv.contains(&lobster_number),
        "another grower's sale in the statement: {csv}"
    );
    let theirs = app.query_as(&lobster, ACCOUNT, json!({})).await;
    assert_eq!(theirs["myProducer"]["producer"]["slug"], "changyuan-longxia-hezuoshe");
    let (_, buyer_answer) = app.graphql_as(&cast.buyer, ACCOUNT, json!({})).await;
    assert_eq!(buyer_answer["errors"][0]["extensions"]["code"], "FORBIDDEN");
}
