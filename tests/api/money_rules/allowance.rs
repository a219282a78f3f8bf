//! Welfare money stays welfare money: a split order cancelled or expired and then paid late
//! gives back its cash and nothing more, and a host buying through its own link or session
//! earns no commission.

use huakai::accounts::Role;
use serde_json::{Value, json};

use super::{expire, pending_bank_refunds, record_bank_refund};
use crate::on_each_backend;
use crate::support::scenario::{PLACE, order_input};
use crate::support::scenario::{cast, confirm_delivery, lily_at, pay_by_bank, refund, ship};
use crate::support::{Actor, Backend, TestApp, fen};
use crate::unions::{DEPOSIT, GRANT, assert_ledger_adds_up, member, organisation};

on_each_backend!(
    a_split_order_cancelled_or_expired_then_paid_late_gives_back_only_its_cash,
    a_host_buying_through_its_own_link_or_session_earns_no_commission,
);

async fn allowance(app: &TestApp, member: &Actor) -> i64 {
    fen(&app
        .query_as(member, "{ myMembership { allowance { amount } } }", json!({}))
        .await["myMembership"]["allowance"])
}

const PAYMENT: &str = "query($id: ID!) { order(id: $id) { status payment { status refunded { amount }
    refundPending { amount } } } }";

async fn a_split_order_cancelled_or_expired_then_paid_late_gives_back_only_its_cash(backend: Backend) {
    for story in ["cancelled", "expired"] {
        let Some(app) = TestApp::on(backend).start().await else {
            return;
        };
        let cast = cast(&app).await;
        let lily = lily_at(&app, &cast, "30.00").await;
        let union = organisation(&app, &cast.operator, "涪口区总工会", "admin@union.example").await;
        let (alice, membership) = member(&app, &union, "alice@union.example").await;
        let deposited = app
            .query_as(
                &cast.operator,
                DEPOSIT,
                json!({ "org": union.id, "amount": "1000", "reference": "ICBC-11" }),
            )
            .await;
        assert_eq!(deposited["recordOrganisationDeposit"]["userErrors"], json!([]));
        let expires = (chrono::Utc::now() + chrono::TimeDelta::days(30)).to_rfc3339();
        let granted = app
            .query_as(
                &union.admin,
                GRANT,
                json!({ "input": { "organisationId": union.id, "membershipIds": [membership], "amount": "100",
                    "occasion": "春节慰问", "expiresAt": expires } }),
            )
            .await;
        assert_eq!(granted["grantAllowance"]["userErrors"], json!([]));

        // 120.00: the allowance pays 100.00 at once, the bank is to bring 20.00.
        let mut input = order_input(json!([{ "variantId": lily, "quantity": 4 }]), "split");
        input["input"]["paymentMethod"] = json!("WELFARE_ALLOWANCE");
        input["input"]["remainderMethod"] = json!("BANK_TRANSFER");
        let placed = app.query_as(&alice, PLACE, input).await;
        assert_eq!(placed["placeOrder"]["userErrors"], json!([]), "{placed}");
        let order_id = placed["placeOrder"]["order"]["id"].clone();
        assert_eq!(allowance(&app, &alice).await, 0);
        if story == "cancelled" {
            let cancelled = app
                .query_as(
                    &alice,
                    "mutation($id: ID!) { cancelOrder(orderId: $id) { userErrors { code } } }",
                    json!({ "id": order_id }),
                )
                .await;
            assert_eq!(cancelled["cancelOrder"]["userErrors"], json!([]), "{cancelled}");
        } else {
            expire(&app, &order_id).await;
        }
        assert_eq!(allowance(&app, &alice).await, 10000, "{story}: the allowance is back");

        // The 20.00 arrives after all: it goes back by bank, and that is all there is to give.
        pay_by_bank(&app, &cast.operator, &order_id).await;
        let seen = app.query_as(&cast.operator, PAYMENT, json!({ "id": order_id })).await;
        assert_eq!(seen["order"]["status"], "CANCELLED", "{story}");
        assert_eq!(fen(&seen["order"]["payment"]["refundPending"]), 2000, "{story}");
        let again = refund(&app, &cast.operator, &order_id, None).await;
        assert_eq!(
            again["userErrors"][0]["code"], "NOT_REFUNDABLE",
            "{story}: the allowance part must not be refundable as cash: {again}"
        );
        let waiting = pending_bank_refunds(&app, &cast.operator, &order_id).await;
        assert_eq!(
            waiting.iter().map(|(_, amount)| *amount).collect::<Vec<_>>(),
            vec![2000],
            "{story}: only the bank's 20.00 goes back by bank"
        );
        record_bank_refund(&app, &cast.operator, &waiting[0].0).await;
        let done = app.query_as(&cast.operator, PAYMENT, json!({ "id": order_id })).await;
        assert_eq!(done["order"]["payment"]["status"], "REFUNDED", "{story}: {done}");
        assert_eq!(allowance(&app, &alice).await, 10000);
        assert_ledger_adds_up(&app, &union.id).await;
    }
}

const SET_PLAN: &str = "mutation($input: CommissionPlanInput!) { setCommissionPlan(input: $input) {
    userErrors { code } } }";
const SCHEDULE: &str = "mutation($input: LiveSessionInput!) { scheduleLiveSession(input: $input) {
    session { id items { id } } userErrors { field code message } } }";
const APPROVE: &str = "mutation($id: ID!) { approveLiveSessionItem(itemId: $id) { userErrors { code } } }";
const LINK: &str = "mutation($input: PromoLinkInput!) { createPromoLink(input: $input) {
    promoLink { code } userErrors { code } } }";

/// A code of `host`'s: a link to `input`'s product or session.
async fn code(app: &TestApp, host: &Actor, input: Value) -> String {
    let created = app.query_as(host, LINK, json!({ "input": input })).await;
    assert_eq!(created["createPromoLink"]["userErrors"], json!([]), "{created}");
    created["createPromoLink"]["promoLink"]["code"]
        .as_str()
        .expect("a code")
        .to_owned()
}

/// `buyer` orders `quantity` of `variant` through `code`; the operator records the bank
/// transfer, ships and confirms delivery. The order's id.
async fn delivered_through(app: &TestApp, operator: &Actor, buyer: &Actor, variant: &Value, code: &str) -> Value {
    let mut input = order_input(json!([{ "variantId": variant, "quantity": 1 }]), code);
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    input["input"]["referralCode"] = json!(code);
    let placed = app.query_as(buyer, PLACE, input).await;
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]), "{placed}");
    let order_id = placed["placeOrder"]["order"]["id"].clone();
    pay_by_bank(app, operator, &order_id).await;
    ship(app, operator, &order_id).await;
    confirm_delivery(app, operator, &order_id).await;
    order_id
}

async fn a_host_buying_through_its_own_link_or_session_earns_no_commission(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let host = app.user("xiaomei@example.com", Role::Host, None).await;
    let lily = lily_at(&app, &cast, "100.00").await;
    let product = app
        .query("{ product(slug: \"sanwang-xian-baihe\") { id } }", json!({}))
        .await["product"]["id"]
        .clone();
    let plan = app
        .query_as(
            &cast.operator,
            SET_PLAN,
            json!({ "input": { "productId": product, "rateBps": 1000 } }),
        )
        .await;
    assert_eq!(plan["setCommissionPlan"]["userErrors"], json!([]), "{plan}");
    let link_code = code(&app, &host, json!({ "productId": product })).await;
    let now = chrono::Utc::now();
    let scheduled = app
        .query_as(
            &host,
            SCHEDULE,
            json!({ "input": { "title": "百合专场",
                "startsAt": (now - chrono::TimeDelta::seconds(1)).to_rfc3339(),
                "endsAt": (now + chrono::TimeDelta::minutes(10)).to_rfc3339(),
                "items": [{ "variantId": lily, "price": "50.00", "quota": 5, "perBuyerLimit": 2 }] } }),
        )
        .await["scheduleLiveSession"]
        .clone();
    assert_eq!(scheduled["userErrors"], json!([]), "{scheduled}");
    let approved = app
        .query_as(
            &cast.grower,
            APPROVE,
            json!({ "id": scheduled["session"]["items"][0]["id"] }),
        )
        .await;
    assert_eq!(approved["approveLiveSessionItem"]["userErrors"], json!([]));
    let session_code = code(&app, &host, json!({ "sessionId": scheduled["session"]["id"] })).await;

    // A stranger's order through the link earns the host its 10%; the host's own orders, through
    // the link and through the session, earn it nothing.
    let strangers = delivered_through(&app, &cast.operator, &cast.buyer, &lily, &link_code).await;
    let own = delivered_through(&app, &cast.operator, &host, &lily, &link_code).await;
    let own_session = delivered_through(&app, &cast.operator, &host, &lily, &session_code).await;
    assert_eq!(super::commissions_of(&app, &strangers).await, 1000);
    for order_id in [&own, &own_session] {
        assert_eq!(
            super::commissions_of(&app, order_id).await,
            0,
            "no commission on the host's own purchase"
        );
        let (_, fee, commission, earned) = super::earnings_of(&app, order_id).await;
        assert_eq!(commission, 0, "the grower pays no commission on it");
        assert_eq!(fee + earned, if order_id == &own { 10000 } else { 5000 });
    }
    let account = app
        .query_as(
            &host,
            "{ myHost { commissions(first: 10) { nodes { amount { amount } } }
                links(first: 10) { nodes { code orders } } } }",
            json!({}),
        )
        .await;
    let commissions = account["myHost"]["commissions"]["nodes"]
        .as_array()
        .expect("commissions");
    assert_eq!(commissions.len(), 1, "{account}");
    assert_eq!(fen(&commissions[0]["amount"]), 1000);
    for link in account["myHost"]["links"]["nodes"].as_array().expect("links") {
        let expected = if link["code"] == link_code.as_str() { 1 } else { 0 };
        assert_eq!(
            link["orders"], expected,
            "own purchases are not the link's sales: {account}"
        );
    }
}
