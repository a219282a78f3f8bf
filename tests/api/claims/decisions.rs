//! Each decision: the grower's full refund, partial refund, reship and rejection; the buyer's
//! escalation and the operator's final word; who may do what.

use serde_json::{Value, json};

use super::*;
use crate::on_each_backend;
use crate::support::scenario::variants;
use crate::support::{Backend, TestApp, error_code, fen};

on_each_backend!(
    a_grower_refunds_in_full_through_the_one_refund_path,
    a_partial_refund_stays_within_the_claimed_lines,
    a_reship_sends_the_units_again_at_the_producers_cost,
    a_rejection_is_escalated_and_an_operator_decides_finally
);

const EARNINGS: &str = "{ myProducer { earnings(first: 50) { nodes { kind amount { amount } } } claims(first: 10) { nodes { id status } } } }";

async fn earnings(app: &TestApp, people: &People, kind: &str) -> Vec<i64> {
    let data = app.query_as(&people.grower, EARNINGS, json!({})).await;
    data["myProducer"]["earnings"]["nodes"]
        .as_array()
        .expect("earnings")
        .iter()
        .filter(|entry| entry["kind"] == kind)
        .map(|entry| fen(&entry["amount"]))
        .collect()
}

async fn a_grower_refunds_in_full_through_the_one_refund_path(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let people = people(&app).await;
    let (order_id, variant_id) = delivered_lilies(&app, &people, 3, "full").await;

    // More units than were delivered, or a variant the order lacks, are refused.
    let too_many = app
        .query_as(&people.cast.buyer, OPEN, claim_input(&order_id, &variant_id, 4))
        .await;
    assert_eq!(too_many["openClaim"]["userErrors"][0]["code"], "INVALID_QUANTITY");
    // Another buyer does not see the order.
    let stranger = app
        .user("stranger@example.com", huakai::accounts::Role::Buyer, None)
        .await;
    let theirs = app
        .query_as(&stranger, OPEN, claim_input(&order_id, &variant_id, 1))
        .await;
    assert_eq!(theirs["openClaim"]["userErrors"][0]["code"], "NOT_FOUND");

    let claim = open(&app, &people, &order_id, &variant_id, 2).await;
    assert_eq!(claim["status"], "OPEN");
    let asked = fen(&claim["asked"]);
    assert!(asked > 0);
    let again = app
        .query_as(&people.cast.buyer, OPEN, claim_input(&order_id, &variant_id, 1))
        .await;
    assert_eq!(again["openClaim"]["userErrors"][0]["code"], "CLAIM_EXISTS");

    // The grower's queue holds it; a grower of another producer may not answer it.
    let queue = app.query_as(&people.grower, EARNINGS, json!({})).await;
    assert_eq!(queue["myProducer"]["claims"]["nodes"][0]["id"], claim["id"]);
    let other = app
        .user(
            "crayfish@example.com",
            huakai::accounts::Role::Grower,
            Some("changyuan-longxia-hezuoshe"),
        )
        .await;
    let variables = json!({ "id": claim["id"], "decision": "REFUND" });
    let (_, refused) = app.graphql_as(&other, RESPOND, variables.clone()).await;
    assert_eq!(
        refused["data"]["respondToClaim"]["userErrors"][0]["code"], "NOT_FOUND",
        "{refused}"
    );
    let (_, buyer_tries) = app.graphql_as(&people.cast.buyer, RESPOND, variables.clone()).await;
    assert_eq!(error_code(&buyer_tries), "FORBIDDEN");

    let answer = decide(&app, &people.grower, RESPOND, variables.clone()).await;
    assert_eq!(answer["userErrors"], json!([]), "{answer}");
    assert_eq!(answer["claim"]["status"], "REFUNDED");
    assert_eq!(fen(&answer["claim"]["amount"]), asked);
    // A bank-paid order's refund is a task for an operator, of what the claimed units cost.
    assert_eq!(bank_refunds(&app, &people.cast.operator, &order_id).await, vec![asked]);
    // The producer's earning is reversed in proportion (less the platform's fee).
    let reversed: i64 = earnings(&app, &people, "REVERSAL").await.iter().sum();
    assert!(reversed < 0 && -reversed < asked, "reversal {reversed} of {asked}");
    // Decided once: answering again changes nothing.
    let twice = decide(&app, &people.grower, RESPOND, variables).await;
    assert_eq!(twice["userErrors"][0]["code"], "CLAIM_CLOSED");

    let order = app
        .query_as(&people.cast.buyer, ORDER_CLAIMS, json!({ "id": order_id }))
        .await;
    assert_eq!(order["order"]["claims"][0]["status"], "REFUNDED");
    assert_eq!(order["order"]["status"], "DELIVERED", "a part refunded");
    // The claimed units are spent: the third may still be claimed, not a fourth.
    let more = app
        .query_as(&people.cast.buyer, OPEN, claim_input(&order_id, &variant_id, 2))
        .await;
    assert_eq!(more["openClaim"]["userErrors"][0]["code"], "INVALID_QUANTITY");
    open(&app, &people, &order_id, &variant_id, 1).await;
}

async fn a_partial_refund_stays_within_the_claimed_lines(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let people = people(&app).await;
    let (order_id, variant_id) = delivered_lilies(&app, &people, 2, "partial").await;
    let claim = open(&app, &people, &order_id, &variant_id, 1).await;
    let asked = fen(&claim["asked"]);

    let too_much = format!("{}.{:02}", (asked + 1) / 100, (asked + 1) % 100);
    let answer = decide(
        &app,
        &people.grower,
        RESPOND,
        json!({ "id": claim["id"], "decision": "PARTIAL_REFUND", "amount": too_much }),
    )
    .await;
    assert_eq!(answer["userErrors"][0]["code"], "INVALID_INPUT");
    let missing = decide(
        &app,
        &people.grower,
        RESPOND,
        json!({ "id": claim["id"], "decision": "PARTIAL_REFUND" }),
    )
    .await;
    assert_eq!(missing["userErrors"][0]["code"], "INVALID_INPUT");

    let answer = decide(
        &app,
        &people.grower,
        RESPOND,
        json!({ "id": claim["id"], "decision": "PARTIAL_REFUND", "amount": "1.50", "note": "一半补偿" }),
    )
    .await;
    assert_eq!(answer["userErrors"], json!([]), "{answer}");
    assert_eq!(answer["claim"]["status"], "REFUNDED");
    assert_eq!(answer["claim"]["decision"], "PARTIAL_REFUND");
    assert_eq!(fen(&answer["claim"]["amount"]), 150);
    assert_eq!(bank_refunds(&app, &people.cast.operator, &order_id).await, vec![150]);
}

async fn a_reship_sends_the_units_again_at_the_producers_cost(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let people = people(&app).await;
    let (order_id, variant_id) = delivered_lilies(&app, &people, 2, "reship").await;
    let available = |all: std::collections::HashMap<String, (Value, i64)>| {
        all.into_values()
            .find(|(id, _)| *id == variant_id)
            .map(|(_, n)| n)
            .expect("variant")
    };
    let before = available(variants(&app, PRODUCT).await);
    let claim = open(&app, &people, &order_id, &variant_id, 2).await;
    let asked = fen(&claim["asked"]);

    let answer = decide(
        &app,
        &people.grower,
        RESPOND,
        json!({ "id": claim["id"], "decision": "RESHIP" }),
    )
    .await;
    assert_eq!(answer["userErrors"], json!([]), "{answer}");
    assert_eq!(answer["claim"]["status"], "RESHIPPED");
    assert_eq!(answer["claim"]["amount"], Value::Null, "the buyer is not refunded");
    assert_eq!(
        available(variants(&app, PRODUCT).await),
        before - 2,
        "the units leave the stock"
    );
    assert!(bank_refunds(&app, &people.cast.operator, &order_id).await.is_empty());
    // The producer pays the goods: one entry of what they cost.
    assert_eq!(earnings(&app, &people, "RESHIP").await, vec![-asked]);
    let shipments = app
        .query_as(
            &people.cast.buyer,
            "query($id: ID!) { order(id: $id) { shipments { shippedAt } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(
        shipments["order"]["shipments"].as_array().map(Vec::len),
        Some(2),
        "{shipments}"
    );
    // The grower ships the new parcel like any other; the order stays delivered.
    let shipped = app
        .query_as(
            &people.grower,
            "mutation($id: ID!) { markShipped(orderId: $id, trackingNumber: \"SF-RESHIP-1\") {
                order { status shipments { trackingNumber shippedAt } } userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(shipped["markShipped"]["userErrors"], json!([]), "{shipped}");
    assert_eq!(shipped["markShipped"]["order"]["status"], "DELIVERED");
    let parcels = shipped["markShipped"]["order"]["shipments"]
        .as_array()
        .expect("parcels");
    assert!(parcels.iter().all(|parcel| !parcel["shippedAt"].is_null()), "{shipped}");
    assert!(
        parcels.iter().any(|parcel| parcel["trackingNumber"] == "SF-RESHIP-1"),
        "{shipped}"
    );
    let again = app
        .query_as(
            &people.grower,
            "mutation($id: ID!) { markShipped(orderId: $id, trackingNumber: \"SF-RESHIP-2\") { userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(
        again["markShipped"]["userErrors"][0]["code"], "NOT_SHIPPABLE",
        "nothing left to ship"
    );
}

async fn a_rejection_is_escalated_and_an_operator_decides_finally(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let people = people(&app).await;
    let (order_id, variant_id) = delivered_lilies(&app, &people, 2, "reject").await;
    let claim = open(&app, &people, &order_id, &variant_id, 1).await;
    let id = claim["id"].clone();

    let unreasoned = decide(&app, &people.grower, RESPOND, json!({ "id": id, "decision": "REJECT" })).await;
    assert_eq!(unreasoned["userErrors"][0]["code"], "INVALID_INPUT");
    let rejected = decide(
        &app,
        &people.grower,
        RESPOND,
        json!({ "id": id, "decision": "REJECT", "note": "照片显示完好" }),
    )
    .await;
    assert_eq!(rejected["claim"]["status"], "REJECTED");
    assert_eq!(rejected["claim"]["responseNote"], "照片显示完好");

    // Only the buyer escalates, once.
    let (_, grower_tries) = app.graphql_as(&people.grower, ESCALATE, json!({ "id": id })).await;
    assert_eq!(error_code(&grower_tries), "FORBIDDEN");
    let escalated = app.query_as(&people.cast.buyer, ESCALATE, json!({ "id": id })).await;
    assert_eq!(
        escalated["escalateClaim"]["claim"]["status"], "ESCALATED",
        "{escalated}"
    );
    assert_eq!(escalated["escalateClaim"]["claim"]["decidedAt"], Value::Null);
    let queue = app
        .query_as(
            &people.cast.operator,
            "{ claims(first: 10, status: [ESCALATED]) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(queue["claims"]["nodes"][0]["id"], id);
    let (_, buyer_lists) = app
        .graphql_as(&people.cast.buyer, "{ claims(first: 10) { nodes { id } } }", json!({}))
        .await;
    assert_eq!(error_code(&buyer_lists), "FORBIDDEN");

    // The grower has had its say; the operator decides.
    let late = decide(&app, &people.grower, RESPOND, json!({ "id": id, "decision": "REFUND" })).await;
    assert_eq!(late["userErrors"][0]["code"], "CLAIM_CLOSED");
    let (_, grower_decides) = app
        .graphql_as(&people.grower, DECIDE, json!({ "id": id, "decision": "REFUND" }))
        .await;
    assert_eq!(error_code(&grower_decides), "FORBIDDEN");
    let decided = decide(
        &app,
        &people.cast.operator,
        DECIDE,
        json!({ "id": id, "decision": "REFUND" }),
    )
    .await;
    assert_eq!(decided["userErrors"], json!([]), "{decided}");
    assert_eq!(decided["claim"]["status"], "REFUNDED");
    assert_eq!(
        bank_refunds(&app, &people.cast.operator, &order_id).await,
        vec![fen(&claim["asked"])]
    );
    // Final: nothing is escalated or decided after it.
    let again = app.query_as(&people.cast.buyer, ESCALATE, json!({ "id": id })).await;
    assert_eq!(again["escalateClaim"]["userErrors"][0]["code"], "NOT_ESCALATABLE");
    let twice = decide(
        &app,
        &people.cast.operator,
        DECIDE,
        json!({ "id": id, "decision": "REJECT", "note": "x" }),
    )
    .await;
    assert_eq!(twice["userErrors"][0]["code"], "CLAIM_CLOSED");

    let rates = app
        .query_as(
            &people.cast.operator,
            "{ claimRates { producer { slug } claims deliveredOrders } }",
            json!({}),
        )
        .await;
    assert_eq!(rates["claimRates"][0]["producer"]["slug"], PRODUCER);
    assert_eq!(
        (
            rates["claimRates"][0]["claims"].clone(),
            rates["claimRates"][0]["deliveredOrders"].clone()
        ),
        (json!(1), json!(1))
    );
}
