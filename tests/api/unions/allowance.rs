//! Paying with the welfare allowance: spending (earliest expiry first), refunds back to the
//! grants or the fund, expiry, leaving, eligibility, and a race on one member's balance.

use huakai::organisations::entity::allowance_grant;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use super::{DEPOSIT, GRANT, REMOVE, assert_ledger_adds_up, member, organisation};
use crate::on_each_backend;
use crate::support::scenario::{PLACE, order_input, variants};
use crate::support::scenario::{cast, lily_at, pay_by_bank, refund};
use crate::support::{Actor, Backend, TestApp, fen};

fn grant_for(org: &Value, membership: &Value, amount: &str, days: i64) -> Value {
    let expires = (chrono::Utc::now() + chrono::TimeDelta::days(days)).to_rfc3339();
    json!({ "input": { "organisationId": org, "membershipIds": [membership], "amount": amount,
        "occasion": "春节慰问", "expiresAt": expires } })
}

async fn granted(app: &TestApp, actor: &Actor, input: Value) {
    let answer = app.query_as(actor, GRANT, input).await;
    assert_eq!(answer["grantAllowance"]["userErrors"], json!([]), "{answer}");
}

async fn deposit(app: &TestApp, operator: &Actor, org: &Value, amount: &str) {
    let answer = app
        .query_as(
            operator,
            DEPOSIT,
            json!({ "org": org, "amount": amount, "reference": "ICBC-11" }),
        )
        .await;
    assert_eq!(answer["recordOrganisationDeposit"]["userErrors"], json!([]), "{answer}");
}

/// Places an order of `quantity` of `variant` paid by allowance; the whole placeOrder answer.
async fn by_allowance(app: &TestApp, buyer: &Actor, variant: &Value, quantity: i64, key: &str) -> Value {
    let mut input = order_input(json!([{ "variantId": variant, "quantity": quantity }]), key);
    input["input"]["paymentMethod"] = json!("WELFARE_ALLOWANCE");
    app.query_as(buyer, PLACE, input).await["placeOrder"].clone()
}

async fn allowance(app: &TestApp, buyer: &Actor) -> i64 {
    fen(&app
        .query_as(buyer, "{ myMembership { allowance { amount } } }", json!({}))
        .await["myMembership"]["allowance"])
}

async fn fund(app: &TestApp, admin: &Actor) -> i64 {
    fen(&app
        .query_as(admin, "{ myOrganisation { fund { amount } } }", json!({}))
        .await["myOrganisation"]["fund"])
}

/// The organisation's grants' balances, earliest expiry first.
async fn balances(app: &TestApp) -> Vec<i64> {
    allowance_grant::Entity::find()
        .order_by_asc(allowance_grant::Column::ExpiresAt)
        .all(app.db())
        .await
        .expect("grants")
        .iter()
        .map(|grant| grant.balance_fen.get())
        .collect()
}

async fn spending_comes_from_the_earliest_expiry_and_refunds_go_back_to_the_grant_or_the_fund(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "30.00").await;
    let union = organisation(&app, &cast.operator, "涪口区总工会", "admin@union.example").await;
    let (alice, membership) = member(&app, &union, "alice@union.example").await;
    deposit(&app, &cast.operator, &union.id, "1000").await;
    granted(&app, &union.admin, grant_for(&union.id, &membership, "100", 30)).await;
    granted(&app, &union.admin, grant_for(&union.id, &membership, "100", 10)).await;

    // 120.00: the grant expiring in 10 days is emptied first, then 20.00 of the other.
    let placed = by_allowance(&app, &alice, &lily, 4, "a-1").await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    assert_eq!(placed["order"]["status"], "PAID");
    let order_id = placed["order"]["id"].clone();
    assert_eq!(balances(&app).await, vec![0, 8000]);
    assert_eq!(allowance(&app, &alice).await, 8000);
    let seen = crate::support::scenario::order(&app, &alice, &order_id).await;
    assert_eq!(seen["payment"]["status"], "SUCCEEDED");

    // 90.00 is more than the 80.00 left: refused, nothing spent.
    let short = by_allowance(&app, &alice, &lily, 3, "a-2").await;
    assert_eq!(short["userErrors"][0]["code"], "INSUFFICIENT_ALLOWANCE", "{short}");
    assert_eq!(allowance(&app, &alice).await, 8000);

    // A refund of 30.00 goes back the last spent first: 20.00 to the later grant, 10.00 to the
    // earlier one, at once (nothing waits for a bank).
    let back = refund(&app, &cast.operator, &order_id, Some("30")).await;
    assert_eq!(back["userErrors"], json!([]), "{back}");
    assert_eq!(balances(&app).await, vec![1000, 10000]);
    assert_eq!(allowance(&app, &alice).await, 11000);
    assert_eq!(fund(&app, &union.admin).await, 80000);

    // The earlier grant expires: the worker returns its 10.00 to the fund, once.
    allowance_grant::Entity::update_many()
        .col_expr(
            allowance_grant::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::TimeDelta::minutes(1)),
        )
        .filter(allowance_grant::Column::BalanceFen.eq(1000))
        .exec(app.db())
        .await
        .expect("expire");
    let mut waited = 0;
    while fund(&app, &union.admin).await != 81000 {
        waited += 1;
        assert!(waited < 50, "the expiry worker did not return the allowance");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(allowance(&app, &alice).await, 10000);

    // The rest of the order (90.00, all from the expired grant) goes to the fund.
    let rest = refund(&app, &cast.operator, &order_id, None).await;
    assert_eq!(rest["userErrors"], json!([]), "{rest}");
    assert_eq!(rest["order"]["status"], "REFUNDED");
    assert_eq!(fund(&app, &union.admin).await, 90000);
    assert_eq!(allowance(&app, &alice).await, 10000);
    assert_eq!(balances(&app).await, vec![0, 10000]);
    assert_ledger_adds_up(&app, &union.id).await;
}

async fn only_members_buy_catalogue_products_and_a_leaver_s_allowance_returns(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "30.00").await;
    let union = organisation(&app, &cast.operator, "涪口区总工会", "admin@union.example").await;
    let (alice, membership) = member(&app, &union, "alice@union.example").await;
    deposit(&app, &cast.operator, &union.id, "1000").await;
    granted(&app, &union.admin, grant_for(&union.id, &membership, "100", 30)).await;

    // Not a member: not eligible.
    let outsider = by_allowance(&app, &cast.buyer, &lily, 1, "o-1").await;
    assert_eq!(outsider["userErrors"][0]["code"], "NOT_ELIGIBLE", "{outsider}");
    // A product without a catalogue entry: not eligible, naming the line.
    let (uncatalogued, _) = variants(&app, "zhuting-baihe-su")
        .await
        .into_values()
        .next()
        .expect("a variant");
    let mut input = order_input(
        json!([{ "variantId": lily, "quantity": 1 }, { "variantId": uncatalogued, "quantity": 1 }]),
        "m-1",
    );
    input["input"]["paymentMethod"] = json!("WELFARE_ALLOWANCE");
    let refused = app.query_as(&alice, PLACE, input).await["placeOrder"].clone();
    assert_eq!(refused["userErrors"][0]["code"], "NOT_ELIGIBLE", "{refused}");
    assert_eq!(
        refused["userErrors"][0]["field"],
        json!(["input", "lines", "1", "variantId"])
    );
    assert_eq!(allowance(&app, &alice).await, 10000);

    // A paid allowance order cancelled by the buyer: the money goes back to the grant.
    let placed = by_allowance(&app, &alice, &lily, 1, "m-2").await;
    assert_eq!(placed["order"]["status"], "PAID", "{placed}");
    assert_eq!(allowance(&app, &alice).await, 7000);
    let cancelled = app
        .query_as(
            &alice,
            "mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } userErrors { code } } }",
            json!({ "id": placed["order"]["id"] }),
        )
        .await;
    assert_eq!(cancelled["cancelOrder"]["userErrors"], json!([]), "{cancelled}");
    assert_eq!(allowance(&app, &alice).await, 10000);

    // Alice leaves after spending 30.00: the 70.00 left returns to the fund in the removal.
    by_allowance(&app, &alice, &lily, 1, "m-3").await;
    let removed = app.query_as(&union.admin, REMOVE, json!({ "id": membership })).await;
    assert_eq!(removed["removeMember"]["userErrors"], json!([]));
    assert_eq!(fund(&app, &union.admin).await, 90000 + 7000);
    let after = by_allowance(&app, &alice, &lily, 1, "m-4").await;
    assert_eq!(after["userErrors"][0]["code"], "NOT_ELIGIBLE", "{after}");
    assert_ledger_adds_up(&app, &union.id).await;
}

/// 200 allowance orders race on one member's balance while grants race on the fund: no
/// balance goes below zero, exactly as many orders as the balance covers are paid, and the
/// ledger adds up to the fen.
async fn concurrent_allowance_orders_never_overspend(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "10.00").await;
    let union = organisation(&app, &cast.operator, "涪口区总工会", "admin@union.example").await;
    let (alice, alice_membership) = member(&app, &union, "alice@union.example").await;
    let (_, bob_membership) = member(&app, &union, "bob@union.example").await;
    deposit(&app, &cast.operator, &union.id, "600").await;
    granted(&app, &union.admin, grant_for(&union.id, &alice_membership, "250", 20)).await;
    granted(
        &app,
        &union.admin,
        grant_for(&union.id, &alice_membership, "250.05", 40),
    )
    .await;

    let orders = futures::future::join_all((0..200).map(|n| {
        let (app, alice, lily) = (&app, &alice, &lily);
        async move { by_allowance(app, alice, lily, 1, &format!("r-{n}")).await }
    }));
    // The fund holds 99.95: 9 grants of 10.00 to Bob fit, the other 11 do not.
    let grants = futures::future::join_all(
        (0..20).map(|_| app.query_as(&union.admin, GRANT, grant_for(&union.id, &bob_membership, "10", 30))),
    );
    let (orders, grants) = futures::future::join(orders, grants).await;
    let paid = orders.iter().filter(|answer| answer["userErrors"] == json!([])).count();
    assert_eq!(paid, 50);
    assert!(orders.iter().all(
        |answer| answer["userErrors"] == json!([]) && answer["order"]["status"] == "PAID"
            || answer["userErrors"][0]["code"] == "INSUFFICIENT_ALLOWANCE"
    ));
    let given = grants
        .iter()
        .filter(|answer| answer["grantAllowance"]["userErrors"] == json!([]))
        .count();
    assert_eq!(given, 9);
    assert_eq!(allowance(&app, &alice).await, 5);
    assert_eq!(fund(&app, &union.admin).await, 995);
    assert_ledger_adds_up(&app, &union.id).await;
}

/// Places an allowance order whose remainder is paid by `remainder`; the placeOrder answer.
async fn split(app: &TestApp, buyer: &Actor, variant: &Value, quantity: i64, key: &str, remainder: &str) -> Value {
    let mut input = order_input(json!([{ "variantId": variant, "quantity": quantity }]), key);
    input["input"]["paymentMethod"] = json!("WELFARE_ALLOWANCE");
    input["input"]["remainderMethod"] = json!(remainder);
    app.query_as(buyer, PLACE, input).await["placeOrder"].clone()
}

async fn allowance_paid(app: &TestApp, buyer: &Actor, order_id: &Value) -> Value {
    app.query_as(
        buyer,
        "query($id: ID!) { order(id: $id) { status allowancePaid { amount } remainderMethod } }",
        json!({ "id": order_id }),
    )
    .await["order"]
        .clone()
}

async fn a_split_payment_pays_the_rest_by_bank_and_refunds_the_allowance_first(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "30.00").await;
    let union = organisation(&app, &cast.operator, "涪口区总工会", "admin@union.example").await;
    let (alice, membership) = member(&app, &union, "alice@union.example").await;
    deposit(&app, &cast.operator, &union.id, "1000").await;
    granted(&app, &union.admin, grant_for(&union.id, &membership, "100", 30)).await;

    // 120.00 against 100.00 of allowance: the allowance pays 100.00 now, the bank the rest.
    let placed = split(&app, &alice, &lily, 4, "s-1", "BANK_TRANSFER").await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    assert_eq!(placed["order"]["status"], "PENDING_PAYMENT");
    let order_id = placed["order"]["id"].clone();
    let seen = allowance_paid(&app, &alice, &order_id).await;
    assert_eq!(seen["allowancePaid"]["amount"], "100.00");
    assert_eq!(seen["remainderMethod"], "BANK_TRANSFER");
    assert_eq!(allowance(&app, &alice).await, 0);
    pay_by_bank(&app, &cast.operator, &order_id).await;
    let paid = crate::support::scenario::order(&app, &alice, &order_id).await;
    assert_eq!(paid["status"], "PAID");
    assert_eq!(paid["payment"]["status"], "SUCCEEDED");

    // Allowance first: 30.00 goes back to the grant at once, no bank transfer waits.
    let first = refund(&app, &cast.operator, &order_id, Some("30")).await;
    assert_eq!(first["userErrors"], json!([]), "{first}");
    assert_eq!(allowance(&app, &alice).await, 3000);
    assert_eq!(
        fen(&crate::support::scenario::order(&app, &alice, &order_id).await["payment"]["refundPending"]),
        0
    );
    // The rest: 70.00 of allowance, and the 20.00 paid by bank waits for an operator.
    let rest = refund(&app, &cast.operator, &order_id, None).await;
    assert_eq!(rest["userErrors"], json!([]), "{rest}");
    assert_eq!(rest["order"]["status"], "REFUNDED");
    assert_eq!(allowance(&app, &alice).await, 10000);
    let after = crate::support::scenario::order(&app, &alice, &order_id).await;
    assert_eq!(fen(&after["payment"]["refundPending"]), 2000);
    assert_eq!(
        fen(&after["payment"]["refunded"]),
        10000,
        "the bank's 20.00 is not back yet"
    );

    // Covered in full: no remainder is used, the order is paid at once.
    let covered = split(&app, &alice, &lily, 2, "s-2", "BANK_TRANSFER").await;
    assert_eq!(covered["order"]["status"], "PAID", "{covered}");
    assert_eq!(
        allowance_paid(&app, &alice, &covered["order"]["id"]).await["remainderMethod"],
        Value::Null
    );
    assert_eq!(allowance(&app, &alice).await, 4000);
    // A split order cancelled before the rest was paid gives its allowance back.
    let unpaid = split(&app, &alice, &lily, 3, "s-3", "BANK_TRANSFER").await;
    assert_eq!(unpaid["order"]["status"], "PENDING_PAYMENT", "{unpaid}");
    assert_eq!(allowance(&app, &alice).await, 0);
    let cancelled = app
        .query_as(
            &alice,
            "mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } userErrors { code } } }",
            json!({ "id": unpaid["order"]["id"] }),
        )
        .await;
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED", "{cancelled}");
    assert_eq!(allowance(&app, &alice).await, 4000);
    assert_eq!(fund(&app, &union.admin).await, 90000);
    assert_ledger_adds_up(&app, &union.id).await;
}

on_each_backend!(
    a_split_payment_pays_the_rest_by_bank_and_refunds_the_allowance_first,
    spending_comes_from_the_earliest_expiry_and_refunds_go_back_to_the_grant_or_the_fund,
    only_members_buy_catalogue_products_and_a_leaver_s_allowance_returns,
    concurrent_allowance_orders_never_overspend,
);

const PAYMENT: &str = "query($id: ID!) { order(id: $id) { status payment { status clientSecret } } }";

/// The PaymentIntent of an order, from the client secret its buyer sees.
async fn intent_of(app: &TestApp, buyer: &Actor, order_id: &Value) -> String {
    let seen = app.query_as(buyer, PAYMENT, json!({ "id": order_id })).await;
    seen["order"]["payment"]["clientSecret"]
        .as_str()
        .and_then(|secret| secret.split("_secret_").next())
        .expect("the buyer gets the client secret")
        .to_owned()
}

/// A split payment's rest by card: Stripe is asked for the rest only, and a refund of all
/// gives the allowance back first and refunds only the card's part through Stripe. A split
/// order that expires unpaid releases its allowance, and a card payment arriving after that is
/// refunded (the order is not revived without its allowance).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_payment_s_rest_by_card_is_refunded_after_the_allowance() {
    for ttl in ["10m", "1s"] {
        let (app, stripe) = TestApp::on(Backend::Sqlite)
            .settings(&[("HUAKAI_RESERVATION_TTL", ttl)])
            .with_stripe()
            .await
            .expect("SQLite");
        let cast = cast(&app).await;
        let lily = lily_at(&app, &cast, "30.00").await;
        let union = organisation(&app, &cast.operator, "涪口区总工会", "admin@union.example").await;
        let (alice, membership) = member(&app, &union, "alice@union.example").await;
        deposit(&app, &cast.operator, &union.id, "1000").await;
        granted(&app, &union.admin, grant_for(&union.id, &membership, "100", 30)).await;

        let placed = split(&app, &alice, &lily, 4, "c-1", "CARD").await;
        assert_eq!(placed["userErrors"], json!([]), "{placed}");
        let order_id = placed["order"]["id"].clone();
        let intent = intent_of(&app, &alice, &order_id).await;
        assert_eq!(stripe.payment_intent(&intent).expect("intent")["amount"], 2000);
        assert_eq!(allowance(&app, &alice).await, 0);
        if ttl == "1s" {
            app.eventually(&alice, PAYMENT, json!({ "id": order_id }), "the expiry", |seen| {
                seen["order"]["status"] == "CANCELLED"
            })
            .await;
            assert_eq!(allowance(&app, &alice).await, 10000);
            stripe.succeed(&intent).await;
            app.eventually(&alice, PAYMENT, json!({ "id": order_id }), "the late refund", |_| {
                stripe.refunds().len() == 1
            })
            .await;
            assert_eq!(stripe.refunds()[0]["amount"], 2000);
            assert_eq!(
                crate::support::scenario::order(&app, &alice, &order_id).await["status"],
                "CANCELLED"
            );
            assert_eq!(allowance(&app, &alice).await, 10000);
        } else {
            stripe.succeed(&intent).await;
            app.eventually(&alice, PAYMENT, json!({ "id": order_id }), "the payment", |seen| {
                seen["order"]["status"] == "PAID"
            })
            .await;
            let back = refund(&app, &cast.operator, &order_id, None).await;
            assert_eq!(back["userErrors"], json!([]), "{back}");
            assert_eq!(back["order"]["status"], "REFUNDED");
            assert_eq!(allowance(&app, &alice).await, 10000);
            assert_eq!(stripe.refunds().len(), 1);
            assert_eq!(stripe.refunds()[0]["amount"], 2000);
            let paid = crate::support::scenario::order(&app, &alice, &order_id).await;
            assert_eq!(paid["payment"]["status"], "REFUNDED");
        }
        assert_ledger_adds_up(&app, &union.id).await;
    }
}
