//! An order its buyer cancelled, or that expired, stays cancelled when its money arrives late,
//! on every payment path (a bank transfer an operator records, a card through Stripe's
//! webhook), and the money goes back through the refund path.

use serde_json::{Value, json};

use super::{expire, pending_bank_refunds};
use crate::on_each_backend;
use crate::orders::{assert_ledger_balances, available};
use crate::support::scenario::{cast, lily_at, pay_by_bank, place};
use crate::support::{Actor, Backend, TestApp, fen};

on_each_backend!(
    a_cancelled_or_expired_bank_order_paid_late_stays_cancelled,
    a_cancelled_or_expired_card_order_paid_late_stays_cancelled,
);

const ORDER: &str = "query($id: ID!) { order(id: $id) { status total { amount }
    payment { status refunded { amount } refundPending { amount } } } }";

async fn end(app: &TestApp, buyer: &Actor, order_id: &Value, story: &str) {
    if story == "cancelled" {
        let cancelled = app
            .query_as(
                buyer,
                "mutation($id: ID!) { cancelOrder(orderId: $id) { userErrors { code } } }",
                json!({ "id": order_id }),
            )
            .await;
        assert_eq!(cancelled["cancelOrder"]["userErrors"], json!([]), "{cancelled}");
    } else {
        expire(app, order_id).await;
    }
}

async fn a_cancelled_or_expired_bank_order_paid_late_stays_cancelled(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "30.00").await;
    for story in ["cancelled", "expired"] {
        let order_id = place(&app, &cast.buyer, &lily, 2, story, "BANK_TRANSFER").await;
        end(&app, &cast.buyer, &order_id, story).await;
        let on_sale = available(&app, crate::support::scenario::LILY, &lily).await;
        pay_by_bank(&app, &cast.operator, &order_id).await;
        let seen = app.query_as(&cast.operator, ORDER, json!({ "id": order_id })).await["order"].clone();
        assert_eq!(
            seen["status"], "CANCELLED",
            "{story}: a late payment revives nothing: {seen}"
        );
        assert_eq!(
            fen(&seen["payment"]["refundPending"]),
            6000,
            "{story}: the money goes back"
        );
        assert_eq!(
            pending_bank_refunds(&app, &cast.operator, &order_id)
                .await
                .iter()
                .map(|(_, amount)| *amount)
                .collect::<Vec<_>>(),
            vec![6000]
        );
        assert_eq!(
            available(&app, crate::support::scenario::LILY, &lily).await,
            on_sale,
            "{story}: the stock stays for sale"
        );
    }
    assert_ledger_balances(&app).await;
}

async fn a_cancelled_or_expired_card_order_paid_late_stays_cancelled(backend: Backend) {
    let Some((app, stripe)) = TestApp::on(backend).with_stripe().await else {
        return;
    };
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "30.00").await;
    for story in ["cancelled", "expired"] {
        let order_id = place(&app, &cast.buyer, &lily, 2, story, "CARD").await;
        let row = crate::orders::order_row(&order_id).to_string();
        let intent = stripe
            .payment_intents()
            .into_iter()
            .find(|intent| intent["metadata"]["order_id"] == row.as_str())
            .expect("the order's intent")["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        end(&app, &cast.buyer, &order_id, story).await;
        let refunds_before = stripe.refunds().len();
        stripe.succeed(&intent).await;
        let seen = app
            .eventually(
                &cast.buyer,
                ORDER,
                json!({ "id": order_id }),
                "the late payment's refund",
                |seen| seen["order"]["payment"]["status"] == "REFUNDED",
            )
            .await["order"]
            .clone();
        assert_eq!(seen["status"], "CANCELLED", "{story}: {seen}");
        let refunds = stripe.refunds();
        assert_eq!(refunds.len(), refunds_before + 1, "{story}: refunded once");
        assert_eq!(refunds[refunds_before]["amount"], 6000);
    }
    stripe.settle().await;
    assert_ledger_balances(&app).await;
}
