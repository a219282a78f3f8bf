//! The claims' clock: the window after delivery, a grower's silence taken as acceptance (once,
//! with two replicas running the worker), and orders completed only when no claim is open.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::on_each_backend;
use crate::support::{Backend, TestApp, fen};

on_each_backend!(an_unanswered_claim_is_refunded_once_and_orders_complete_after_the_window);

const ORDER: &str = "query($id: ID!) { order(id: $id) { status claims { status decision amount { amount } } } }";

async fn an_unanswered_claim_is_refunded_once_and_orders_complete_after_the_window(backend: Backend) {
    let Some(app) = TestApp::on(backend)
        .settings(&[("HUAKAI_CLAIM_WINDOW", "8s"), ("HUAKAI_CLAIM_RESPONSE", "1s")])
        .start()
        .await
    else {
        return;
    };
    // A second replica runs the same worker on the same database.
    let replica = app.another_instance().await;
    let people = people(&app).await;
    let (claimed, variant_id) = delivered_lilies(&app, &people, 3, "claimed").await;
    let claim = open(&app, &people, &claimed, &variant_id, 1).await;
    let (quiet, quiet_variant) = delivered_lilies(&app, &people, 1, "quiet").await;
    // An operator refunds this one in full while its claim waits: nothing is left for the
    // worker to refund, so the claim goes to the operators instead.
    let (refunded_meanwhile, meanwhile_variant) = delivered_lilies(&app, &people, 1, "meanwhile").await;
    open(&app, &people, &refunded_meanwhile, &meanwhile_variant, 1).await;
    let refund = app
        .query_as(
            &people.cast.operator,
            "mutation($id: ID!) { refundOrder(orderId: $id) { userErrors { code } } }",
            json!({ "id": refunded_meanwhile }),
        )
        .await;
    assert_eq!(refund["refundOrder"]["userErrors"], json!([]));

    let refunded = app
        .eventually(
            &people.cast.buyer,
            ORDER,
            json!({ "id": claimed }),
            "the timeout",
            |data| data["order"]["claims"][0]["status"] == "REFUNDED",
        )
        .await;
    assert_eq!(
        refunded["order"]["claims"][0]["decision"], "REFUND",
        "refunded as asked"
    );
    assert_eq!(fen(&refunded["order"]["claims"][0]["amount"]), fen(&claim["asked"]));
    let handed = app
        .eventually(
            &people.cast.operator,
            "query($id: ID!) { order(id: $id) { claims { id status } } }",
            json!({ "id": refunded_meanwhile }),
            "the hand-over",
            |data| data["order"]["claims"][0]["status"] == "ESCALATED",
        )
        .await;
    // Nothing is sent again for an order refunded in full.
    let reship = app
        .query_as(
            &people.cast.operator,
            DECIDE,
            json!({ "id": handed["order"]["claims"][0]["id"], "decision": "RESHIP" }),
        )
        .await;
    assert_eq!(reship["decideClaim"]["userErrors"][0]["code"], "NOT_RESHIPPABLE");
    // Once, whatever the number of replicas.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        bank_refunds(&replica, &people.cast.operator, &claimed).await,
        vec![fen(&claim["asked"])]
    );

    // Within the window the order stays DELIVERED; after it, nothing open, it is COMPLETED,
    // and it can no longer be claimed on.
    assert_eq!(
        app.query_as(&people.cast.buyer, ORDER, json!({ "id": quiet })).await["order"]["status"],
        "DELIVERED"
    );
    for order_id in [&claimed, &quiet] {
        app.eventually(
            &people.cast.buyer,
            ORDER,
            json!({ "id": order_id }),
            "completion",
            |data| data["order"]["status"] == "COMPLETED",
        )
        .await;
    }
    let late = app
        .query_as(&people.cast.buyer, OPEN, claim_input(&quiet, &quiet_variant, 1))
        .await;
    assert_eq!(late["openClaim"]["userErrors"][0]["code"], "CLAIM_WINDOW_CLOSED");
}
