//! A host paid by Stripe exactly once, and a retired link that redirects and credits no more.

use super::*;

/// `myHost.host.id` of `host`: the id `setHostPayoutAccount` takes.
async fn host_id(app: &TestApp, host: &Actor) -> Value {
    my_host(app, host).await["host"]["id"].clone()
}

const SET_HOST_ACCOUNT: &str = "mutation($id: ID!, $account: String) {
    setHostPayoutAccount(hostId: $id, stripeAccountId: $account) {
        account { stripeAccountId } userErrors { field code } } }";

/// A host with a Stripe connected account is paid by transfer, as producers are: each
/// commission exactly once whatever Stripe answers, and a refund after a payout is taken off
/// the next one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_with_a_connected_account_is_paid_by_stripe_exactly_once() {
    let (app, stripe) = TestApp::on(Backend::Sqlite)
        .settings(&[HOLD, ("HUAKAI_STRIPE_TIMEOUT", "1s")])
        .with_stripe()
        .await
        .expect("SQLite");
    let cast = cast(&app).await;
    let (product, variant) = lily_at(&app, &cast.operator, "100.00").await;
    set_plan(&app, &cast.grower, json!({ "productId": product, "rateBps": 1000 })).await;
    let code = link(&app, &cast.host, &product).await["code"]
        .as_str()
        .expect("code")
        .to_owned();

    // The host names its own account (an operator may too); nonsense is refused.
    let me = host_id(&app, &cast.host).await;
    let wrong = app
        .query_as(
            &cast.host,
            SET_HOST_ACCOUNT,
            json!({ "id": me, "account": "6222 0000" }),
        )
        .await;
    assert_eq!(
        wrong["setHostPayoutAccount"]["userErrors"],
        json!([{ "field": ["stripeAccountId"], "code": "INVALID_INPUT" }])
    );
    let set = app
        .query_as(
            &cast.host,
            SET_HOST_ACCOUNT,
            json!({ "id": me, "account": "acct_1Xiaomei" }),
        )
        .await;
    assert_eq!(
        set["setHostPayoutAccount"]["account"]["stripeAccountId"], "acct_1Xiaomei",
        "{set}"
    );
    let transfers_for = |payout: &Value| -> Vec<Value> {
        let row = huakai::infra::graphql::global_id::decode_as::<huakai::infra::ids::PayoutId>(
            payout["id"].as_str().expect("id"),
            huakai::infra::graphql::global_id::NodeType::Payout,
        )
        .expect("a payout id")
        .to_string();
        stripe
            .transfers()
            .into_iter()
            .filter(|t| t["metadata"]["payout_id"] == row.as_str())
            .collect()
    };
    // The grower has no connected account: only the host's payout goes through Stripe.
    let by_stripe = |payouts: Vec<Value>| -> Vec<Value> {
        payouts
            .into_iter()
            .filter(|p| p["method"] == "stripe_transfer")
            .collect()
    };

    let faults = [
        ("slow", Fault::SlowAnswer(Duration::from_secs(3)), false),
        ("in-use", Fault::KeyInUse, false),
        ("500", Fault::ServerErrorAfterWork, false),
        ("forgotten", Fault::SlowAnswer(Duration::from_secs(3)), true),
    ];
    let mut last_order = Value::Null;
    for (name, fault, forget) in faults {
        last_order = paid_order(&app, &cast, &variant, 1, &code, name).await;
        ship_and_deliver(&app, &cast, &last_order).await;
        tokio::time::sleep(Duration::from_millis(1_200)).await;

        stripe.fault_next("/v1/transfers", fault);
        let first = by_stripe(run_payouts(&app, &cast.operator).await);
        assert_eq!(first.len(), 1, "{name}: {first:?}");
        assert_eq!(first[0]["status"], "IN_TRANSIT", "{name}: unknown is not failed");
        let account = my_host(&app, &cast.host).await;
        assert_eq!(
            fen(&account["balance"]["available"]),
            0,
            "{name}: with the payout in flight"
        );
        assert_eq!(fen(&account["balance"]["inTransit"]), 10_00, "{name}");
        if forget {
            // Past Stripe's 24 hours: the key no longer protects; the lookup must.
            stripe.forget_idempotency_keys();
        }
        let second = by_stripe(run_payouts(&app, &cast.operator).await);
        assert_eq!(second.len(), 1, "{name}: the next run settles it");
        assert_eq!(second[0]["id"], first[0]["id"], "{name}");
        assert_eq!(second[0]["status"], "PAID", "{name}");
        let made = transfers_for(&second[0]);
        assert_eq!(made.len(), 1, "{name}: one transfer at Stripe");
        assert_eq!(made[0]["destination"], "acct_1Xiaomei", "{name}");
        assert_eq!(made[0]["amount"], 10_00, "{name}");
        assert!(by_stripe(run_payouts(&app, &cast.operator).await).is_empty(), "{name}");
    }

    // A refund after the payout: the host owes its share, and the next transfer is net of it.
    refund(&app, &cast.operator, &last_order, "30.00").await;
    assert_eq!(fen(&my_host(&app, &cast.host).await["balance"]["available"]), -3_00);
    let next = paid_order(&app, &cast, &variant, 1, &code, "after-refund").await;
    ship_and_deliver(&app, &cast, &next).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let net = by_stripe(run_payouts(&app, &cast.operator).await);
    assert_eq!(net.len(), 1);
    assert_eq!(net[0]["status"], "PAID");
    assert_eq!(fen(&net[0]["amount"]), 10_00 - 3_00, "the debt deducted");
    let account = my_host(&app, &cast.host).await;
    assert_eq!(fen(&account["balance"]["available"]), 0);
    assert_eq!(fen(&account["balance"]["paidOut"]), 4 * 10_00 + 7_00);
    let at_stripe: i64 = stripe
        .transfers()
        .iter()
        .map(|t| t["amount"].as_i64().expect("amount"))
        .sum();
    assert_eq!(at_stripe, 4 * 10_00 + 7_00, "Stripe moved each commission once");
    assert_eq!(
        commissions(&app, &cast.host).await.last().map(|c| c.1.clone()),
        Some("PAID".to_owned())
    );

    // Without an account again, the host is paid by bank.
    let cleared = app
        .query_as(&cast.operator, SET_HOST_ACCOUNT, json!({ "id": me, "account": null }))
        .await;
    assert_eq!(
        cleared["setHostPayoutAccount"]["account"]["stripeAccountId"],
        Value::Null
    );
    let by_bank = paid_order(&app, &cast, &variant, 1, &code, "by-bank").await;
    ship_and_deliver(&app, &cast, &by_bank).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let payouts = run_payouts(&app, &cast.operator).await;
    assert!(by_stripe(payouts.clone()).is_empty(), "{payouts:?}");
    assert_eq!(payouts.len(), 2, "the grower and the host, by bank: {payouts:?}");
}

/// A retired link redirects no more (once the redirect cache has let it go) and credits no
/// order; orders placed with its code still go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_link_redirects_and_credits_no_more() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let cast = cast(&app).await;
    let (product, variant) = lily_at(&app, &cast.operator, "100.00").await;
    set_plan(&app, &cast.grower, json!({ "productId": product, "rateBps": 1000 })).await;
    let created = link(&app, &cast.host, &product).await;
    let code = created["code"].as_str().expect("code").to_owned();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let follow = || async {
        browser
            .get(app.url(&format!("/l/{code}")))
            .send()
            .await
            .expect("answer")
            .status()
            .as_u16()
    };
    // Followed once, so the code sits in the redirect cache when it is retired.
    assert_eq!(follow().await, 302);

    let retire = "mutation($id: ID!) { retirePromoLink(id: $id) { promoLink { code retiredAt } userErrors { code } } }";
    let theirs = app
        .query_as(&cast.other_host, retire, json!({ "id": created["id"] }))
        .await;
    assert_eq!(theirs["retirePromoLink"]["userErrors"][0]["code"], "NOT_FOUND");
    let retired = app.query_as(&cast.host, retire, json!({ "id": created["id"] })).await;
    assert_eq!(retired["retirePromoLink"]["userErrors"], json!([]), "{retired}");
    let when = retired["retirePromoLink"]["promoLink"]["retiredAt"].clone();
    assert!(when.is_string(), "{retired}");
    let again = app
        .query_as(&cast.operator, retire, json!({ "id": created["id"] }))
        .await;
    assert_eq!(
        again["retirePromoLink"]["promoLink"]["retiredAt"], when,
        "retiring twice changes nothing"
    );

    // The redirect cache believes a code for a few seconds; then the page says it is gone.
    let mut status = follow().await;
    for _ in 0..100 {
        if status == 404 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = follow().await;
    }
    assert_eq!(status, 404, "the retired code redirects no more");

    let order_id = paid_order(&app, &cast, &variant, 1, &code, "after-retiring").await;
    assert!(order_id.is_string(), "the order goes through");
    assert_eq!(commissions(&app, &cast.host).await, vec![], "and credits nobody");
    let attributions = huakai::orders::entity::order_line_attribution::Entity::find()
        .all(app.db())
        .await
        .expect("attributions");
    assert!(attributions.is_empty(), "{attributions:?}");
    let account = my_host(&app, &cast.host).await;
    assert_eq!(account["links"]["nodes"][0]["orders"], 0);
}
