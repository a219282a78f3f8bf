//! A claim's refund racing an operator's refund of the same order: whichever comes second gets
//! what the claimed line still holds, so it is never refunded more than it cost.

use std::collections::HashMap;

use huakai::orders::entity::order_line;
use huakai::payments::entity::refund_line;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use super::*;
use crate::on_each_backend;
use crate::support::scenario::{PLACE, order_input, variants};
use crate::support::{Backend, TestApp, fen};

on_each_backend!(a_claim_racing_an_operator_refund_never_refunds_more_than_the_line);

const CRAYFISH: &str = "changyuan-xiaolongxia";

async fn first_variant(app: &TestApp, slug: &str) -> Value {
    variants(app, slug).await.into_values().next().expect("a variant").0
}

/// A delivered bank-paid order of one lily and three crayfish: its id and total in fen.
async fn two_line_order(app: &TestApp, people: &People, lily: &Value, crayfish: &Value, key: &str) -> (Value, i64) {
    let operator = &people.cast.operator;
    let mut input = order_input(
        json!([{ "variantId": lily, "quantity": 1 }, { "variantId": crayfish, "quantity": 3 }]),
        key,
    );
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    let placed = app.query_as(&people.cast.buyer, PLACE, input).await["placeOrder"].clone();
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    let order_id = placed["order"]["id"].clone();
    for step in [
        "mutation($id: ID!) { recordBankTransfer(orderId: $id, reference: \"ICBC-2\") { userErrors { code } } }",
        "mutation($id: ID!) { markShipped(orderId: $id, trackingNumber: \"SF2\") { userErrors { code } } }",
        "mutation($id: ID!) { confirmDelivery(orderId: $id) { userErrors { code } } }",
    ] {
        let done = app.query_as(operator, step, json!({ "id": order_id })).await;
        assert!(done.to_string().contains("\"userErrors\":[]"), "{done}");
    }
    (order_id, fen(&placed["order"]["total"]))
}

async fn a_claim_racing_an_operator_refund_never_refunds_more_than_the_line(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let people = people(&app).await;
    let (lily, crayfish) = (first_variant(&app, PRODUCT).await, first_variant(&app, CRAYFISH).await);
    for round in 0..3 {
        let (order_id, total) = two_line_order(&app, &people, &lily, &crayfish, &format!("race-{round}")).await;
        let claim = open(&app, &people, &order_id, &lily, 1).await;
        let lily_total = fen(&claim["asked"]);
        assert!(lily_total * 2 <= total, "the claimed line is at most half the order");
        // The operator gives back half the order (shared over both lines) while the grower
        // refunds the lily in full: both go through, in either order.
        let half = total / 2;
        let grower = decide(
            &app,
            &people.grower,
            RESPOND,
            json!({ "id": claim["id"], "decision": "REFUND" }),
        );
        let operator = app.query_as(
            &people.cast.operator,
            "mutation($id: ID!, $amount: String!) { refundOrder(orderId: $id, amount: $amount) { userErrors { code } } }",
            json!({ "id": order_id, "amount": format!("{}.{:02}", half / 100, half % 100) }),
        );
        let (grower, operator) = tokio::join!(grower, operator);
        assert_eq!(grower["userErrors"], json!([]), "{grower}");
        assert_eq!(operator["refundOrder"]["userErrors"], json!([]), "{operator}");
        let claimed = fen(&grower["claim"]["amount"]);
        assert!(claimed > 0 && claimed <= lily_total);

        let mut by_line: HashMap<i64, i64> = HashMap::new();
        for part in refund_line::Entity::find().all(app.db()).await.expect("refund lines") {
            *by_line.entry(part.order_line_id.0).or_default() += part.amount_fen.get();
        }
        let lines = order_line::Entity::find().all(app.db()).await.expect("lines");
        for line in &lines {
            let refunded = by_line.get(&line.id.0).copied().unwrap_or(0);
            assert!(
                refunded <= line.line_total_fen.get(),
                "line {} refunded {refunded} of {}",
                line.id,
                line.line_total_fen.get()
            );
        }
        // The lily line is refunded exactly once in full, whichever came first.
        let lily_line = lines
            .iter()
            .rev()
            .find(|line| line.line_total_fen.get() == lily_total && line.quantity == 1)
            .expect("the lily line");
        assert_eq!(by_line.get(&lily_line.id.0).copied(), Some(lily_total));
        assert_eq!(
            bank_refunds(&app, &people.cast.operator, &order_id)
                .await
                .iter()
                .sum::<i64>(),
            half + claimed
        );
    }
}
