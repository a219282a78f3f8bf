//! Grower payouts: earnings from delivered lines, to the fen; paid once by bank or Stripe;
//! refunds carried over; cooperatives sharing with their households; nobody sees another
//! grower's money.

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::time::Duration;

use huakai::accounts::Role;
use huakai::payouts::entity::earning;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::orders::{PLACE, order_input, variants};
use crate::support::{Actor, Backend, TestApp, fen};

on_each_backend!(
    earnings_follow_delivery_and_are_paid_once_by_bank,
    two_runs_at_once_pay_each_earning_once
);

pub(crate) const HOLD: (&str, &str) = ("HUAKAI_PAYOUT_HOLD", "1s");

const ACCOUNT: &str = "{ myProducer { producer { slug }
    balance { pending { amount } available { amount } inTransit { amount } paidOut { amount } }
    earnings(first: 50) { nodes { kind amount { amount } lineTotal { amount } platformFee { amount } commission { amount } orderNumber quantity variantSku payoutId } }
    payouts(first: 20) { nodes { id amount { amount } status method batchId reference } } } }";

pub(crate) struct Cast {
    pub(crate) buyer: Actor,
    pub(crate) operator: Actor,
}

pub(crate) async fn cast(app: &TestApp) -> Cast {
    Cast {
        buyer: app.user("buyer@example.com", Role::Buyer, None).await,
        operator: app.user("operator@example.com", Role::Admin, None).await,
    }
}

/// An order of `quantity` units of `slug`'s first variant, paid by bank, shipped and delivered.
/// Returns the order id.
pub(crate) async fn delivered(app: &TestApp, cast: &Cast, slug: &str, quantity: i64, key: &str) -> Value {
    let (variant, _) = variants(app, slug).await.into_values().next().expect("variant");
    let mut input = order_input(json!([{ "variantId": variant, "quantity": quantity }]), key);
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    let placed = app.query_as(&cast.buyer, PLACE, input).await;
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]), "{placed}");
    let order_id = placed["placeOrder"]["order"]["id"].clone();
    let paid = app
        .query_as(
            &cast.operator,
            "mutation($id: ID!) { recordBankTransfer(orderId: $id, reference: \"ICBC-1\") { userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(paid["recordBankTransfer"]["userErrors"], json!([]));
    app.query_as(
        &cast.operator,
        "mutation($id: ID!) { markShipped(orderId: $id, trackingNumber: \"SF9\") { userErrors { code } } }",
        json!({ "id": order_id }),
    )
    .await;
    let done = app
        .query_as(
            &cast.buyer,
            "mutation($id: ID!) { confirmDelivery(orderId: $id) { order { status } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(done["confirmDelivery"]["order"]["status"], "DELIVERED");
    order_id
}

pub(crate) async fn run_payouts(app: &TestApp, operator: &Actor) -> Vec<Value> {
    let data = app
        .query_as(operator, "mutation { runPayouts { payouts { id amount { amount } status method batchId producer { slug } } userErrors { code } } }", json!({}))
        .await;
    data["runPayouts"]["payouts"].as_array().expect("payouts").clone()
}

async fn earnings_follow_delivery_and_are_paid_once_by_bank(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[HOLD]).await else {
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
    let Some(app) = TestApp::spawn_with(backend, &[HOLD]).await else {
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
        .map(|e| e.amount_fen)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_transfers_pay_once_even_after_a_crash_and_failures_return_the_money() {
    let (app, stripe) = TestApp::spawn_with_stripe(Backend::Sqlite, &[HOLD])
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
    let app = TestApp::spawn_with(Backend::Sqlite, &[HOLD]).await.expect("SQLite");
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
