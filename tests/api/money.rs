//! Every money movement on one path: refunds reverse earnings whichever way they come (an
//! operator, a cancellation, Stripe's dashboard), before or after delivery; bank refunds wait
//! for an operator; Stripe calls whose outcome is unknown stay in flight until looked up, and
//! pay each earning once; cancel and ship never interleave; statements stay as paid.

use std::collections::HashSet;
use std::time::Duration;

use huakai::accounts::Role;
use huakai::payments::entity::webhook_event;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::orders::{PLACE, assert_ledger_balances, available, order_input, variants};
use crate::support::stripe::Fault;
use crate::support::{Actor, Backend, TestApp, fen};

on_each_backend!(
    a_refund_before_delivery_is_kept_out_of_the_earnings_and_waits_for_the_bank,
    a_dashboard_refund_after_payout_leaves_a_balance_the_next_payout_deducts,
    a_hundred_cancellations_racing_shipments_end_one_way_or_the_other,
);

pub const LILY: &str = "sanwang-xian-baihe";
const LILY_COOP: &str = "sanwang-baihe-hezuoshe";

const ACCOUNT: &str = "{ myProducer { balance { pending { amount } available { amount } paidOut { amount } }
    earnings(first: 50) { nodes { kind amount { amount } lineTotal { amount } platformFee { amount } } } } }";

const ORDER: &str = "query($id: ID!) { order(id: $id) { status total { amount }
    shipments { shippedAt }
    payment { status amount { amount } refunded { amount } refundPending { amount } reviewReason } } }";

const PENDING_BANK_REFUNDS: &str = "{ pendingBankRefunds(first: 50) { nodes { id amount { amount } status reason
    buyerEmail paidWithReference order { id number } } } }";

pub struct Cast {
    pub buyer: Actor,
    pub operator: Actor,
    pub grower: Actor,
}

pub async fn cast(app: &TestApp) -> Cast {
    Cast {
        buyer: app.user("buyer@example.com", Role::Buyer, None).await,
        operator: app.user("operator@example.com", Role::Admin, None).await,
        grower: app.user("lily@example.com", Role::Grower, Some(LILY_COOP)).await,
    }
}

/// The lily's first variant (by SKU), priced at `price` yuan with plenty in stock.
pub async fn lily_at(app: &TestApp, cast: &Cast, price: &str) -> Value {
    let mut all: Vec<(String, (Value, i64))> = variants(app, LILY).await.into_iter().collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let variant = all[0].1.0.clone();
    let changed = app
        .query_as(
            &cast.operator,
            "mutation($id: ID!, $price: String!) {
                updateVariant(variantId: $id, input: { price: $price }) { userErrors { code } }
                adjustStock(variantId: $id, delta: 500, reason: \"harvest\") { userErrors { code } } }",
            json!({ "id": variant, "price": price }),
        )
        .await;
    assert_eq!(changed["updateVariant"]["userErrors"], json!([]), "{changed}");
    assert_eq!(changed["adjustStock"]["userErrors"], json!([]), "{changed}");
    variant
}

/// A placed order of `quantity` of `variant`, paid by `method`; its id.
pub async fn place(app: &TestApp, buyer: &Actor, variant: &Value, quantity: i64, key: &str, method: &str) -> Value {
    let mut input = order_input(json!([{ "variantId": variant, "quantity": quantity }]), key);
    input["input"]["paymentMethod"] = json!(method);
    let placed = app.query_as(buyer, PLACE, input).await;
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]), "{placed}");
    placed["placeOrder"]["order"]["id"].clone()
}

pub async fn pay_by_bank(app: &TestApp, operator: &Actor, order_id: &Value) {
    let paid = app
        .query_as(
            operator,
            "mutation($id: ID!) { recordBankTransfer(orderId: $id, reference: \"ICBC-1\") { userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(paid["recordBankTransfer"]["userErrors"], json!([]));
}

pub async fn ship_and_deliver(app: &TestApp, cast: &Cast, order_id: &Value) {
    let shipped = app
        .query_as(
            &cast.operator,
            "mutation($id: ID!) { markShipped(orderId: $id, trackingNumber: \"SF9\") { userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(shipped["markShipped"]["userErrors"], json!([]));
    let done = app
        .query_as(
            &cast.buyer,
            "mutation($id: ID!) { confirmDelivery(orderId: $id) { order { status } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(done["confirmDelivery"]["order"]["status"], "DELIVERED");
}

pub async fn refund(app: &TestApp, operator: &Actor, order_id: &Value, amount: Option<&str>) -> Value {
    app.query_as(
        operator,
        "mutation($id: ID!, $amount: String) { refundOrder(orderId: $id, amount: $amount) {
            order { status } userErrors { code message } } }",
        json!({ "id": order_id, "amount": amount }),
    )
    .await["refundOrder"]
        .clone()
}

pub async fn order(app: &TestApp, actor: &Actor, order_id: &Value) -> Value {
    app.query_as(actor, ORDER, json!({ "id": order_id })).await["order"].clone()
}

async fn balance(app: &TestApp, grower: &Actor) -> Value {
    app.query_as(grower, ACCOUNT, json!({})).await["myProducer"].clone()
}

pub async fn run_payouts(app: &TestApp, operator: &Actor) -> Vec<Value> {
    let data = app
        .query_as(
            operator,
            "mutation { runPayouts { payouts { id amount { amount } status method } userErrors { code } } }",
            json!({}),
        )
        .await;
    data["runPayouts"]["payouts"].as_array().expect("payouts").clone()
}

async fn a_refund_before_delivery_is_kept_out_of_the_earnings_and_waits_for_the_bank(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
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
    let nodes = waiting["pendingBankRefunds"]["nodes"]
        .as_array()
        .expect("nodes")
        .clone();
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
    assert_eq!(empty["pendingBankRefunds"]["nodes"], json!([]));
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
    let Some((app, stripe)) = TestApp::spawn_with_stripe(backend, &[("HUAKAI_PAYOUT_HOLD", "1s")]).await else {
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

/// Waits until the app has applied a stored Stripe event.
async fn wait_for_inbox(app: &TestApp, event_id: &str) {
    for _ in 0..200 {
        let stored = webhook_event::Entity::find_by_id(event_id.to_owned())
            .one(app.db())
            .await
            .expect("the inbox");
        if stored.is_some_and(|e| e.processed_at.is_some()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("event {event_id} was not applied within 10 s");
}

async fn a_hundred_cancellations_racing_shipments_end_one_way_or_the_other(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
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
    let (app, stripe) = TestApp::spawn_with_stripe(
        Backend::Sqlite,
        &[("HUAKAI_PAYOUT_HOLD", "1s"), ("HUAKAI_STRIPE_TIMEOUT", "1s")],
    )
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

/// Refunds whose answer from Stripe is lost stay pending, then go through once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_whose_answer_is_lost_go_back_exactly_once() {
    let (app, stripe) = TestApp::spawn_with_stripe(Backend::Sqlite, &[("HUAKAI_STRIPE_TIMEOUT", "1s")])
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
    let (app, stripe) = TestApp::spawn_with_stripe(Backend::Sqlite, &[("HUAKAI_RESERVATION_TTL", "1s")])
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

/// What a payout's statement says it paid each household stays as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_statement_does_not_change_when_the_members_do() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("HUAKAI_PAYOUT_HOLD", "1s")])
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
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite");
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
