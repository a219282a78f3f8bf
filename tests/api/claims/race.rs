//! A claim's refund racing an operator's refund of the same order: whichever comes second gets
//! what is left, so the claimed line is never refunded more than it cost.

use std::collections::HashMap;

use huakai::payments::entity::refund_line;
use huakai::orders::entity::order_line;
use sea_orm::EntityTrait;
use serde_json::json;

use super::*;
use crate::on_each_backend;
use crate::support::{Backend, TestApp, fen};

on_each_backend!(a_claim_racing_an_operator_refund_never_refunds_more_than_the_line);

async fn a_claim_racing_an_operator_refund_never_refunds_more_than_the_line(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let people = people(&app).await;
    for round in 0..3 {
        let (order_id, variant_id) = delivered_lilies(&app, &people, 2, &format!("race-{round}")).await;
        let claim = open(&app, &people, &order_id, &variant_id, 2).await;
        let grower = decide(&app, &people.grower, RESPOND, json!({ "id": claim["id"], "decision": "REFUND" }));
        let operator = app.query_as(
            &people.cast.operator,
            "mutation($id: ID!) { refundOrder(orderId: $id) { userErrors { code } } }",
            json!({ "id": order_id }),
        );
        let (grower, operator) = tokio::join!(grower, operator);
        let claim_refunded = grower["userErrors"] == json!([]);
        let operator_refunded = operator["refundOrder"]["userErrors"] == json!([]);
        assert!(claim_refunded || operator_refunded, "{grower} {operator}");

        let refunds = bank_refunds(&app, &people.cast.operator, &order_id).await;
        let asked = fen(&claim["asked"]);
        assert!(refunds.iter().sum::<i64>() <= asked, "never more than paid: {refunds:?} of {asked}");
        let mut by_line: HashMap<i64, i64> = HashMap::new();
        for part in refund_line::Entity::find().all(app.db()).await.expect("refund lines") {
            *by_line.entry(part.order_line_id.0).or_default() += part.amount_fen;
        }
        for line in order_line::Entity::find().all(app.db()).await.expect("lines") {
            let refunded = by_line.get(&line.id.0).copied().unwrap_or(0);
            assert!(refunded <= line.line_total_fen, "line {} refunded {refunded} of {}", line.id, line.line_total_fen);
        }
    }
}
