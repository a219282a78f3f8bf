//! A full refund returns to the shelf every unit that had not left: the parts of a partly
//! shipped order that were not shipped, and none of those that were.

use serde_json::json;

use super::shop;
use crate::on_each_backend;
use crate::orders::{assert_ledger_balances, available, order_row};
use crate::support::scenario::{PLACE, order_input, variants};
use crate::support::scenario::{cast, lily_at, pay_by_bank};
use crate::support::{Backend, TestApp};

on_each_backend!(a_full_refund_of_a_partly_shipped_order_returns_the_unshipped_units);

const RICE: &str = "changyuan-xiadaomi";

async fn a_full_refund_of_a_partly_shipped_order_returns_the_unshipped_units(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "30.00").await;
    let rice = variants(&app, RICE).await.into_values().next().expect("rice").0;
    let mut input = order_input(
        json!([{ "variantId": lily, "quantity": 2 }, { "variantId": rice, "quantity": 3 }]),
        "two-producers",
    );
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    let placed = app.query_as(&cast.buyer, PLACE, input).await;
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]), "{placed}");
    let order_id = placed["placeOrder"]["order"]["id"].clone();
    pay_by_bank(&app, &cast.operator, &order_id).await;

    // The lily's grower ships its part; the rice's has not.
    let shipped = app
        .query_as(
            &cast.grower,
            "mutation($id: ID!) { markShipped(orderId: $id, trackingNumber: \"SF1\") { order { status } userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(shipped["markShipped"]["userErrors"], json!([]), "{shipped}");
    let (lily_before, rice_before) = (
        available(&app, crate::support::scenario::LILY, &lily).await,
        available(&app, RICE, &rice).await,
    );

    huakai::payments::refunds::refund_order(&shop(&app, None), order_row(&order_id), None)
        .await
        .expect("the database answers")
        .expect("refunded in full");
    assert_eq!(
        super::status_of(&app, order_row(&order_id)).await,
        huakai::orders::OrderStatus::Refunded
    );
    assert_eq!(
        available(&app, RICE, &rice).await,
        rice_before + 3,
        "the rice never left: it is for sale again"
    );
    assert_eq!(
        available(&app, crate::support::scenario::LILY, &lily).await,
        lily_before,
        "the lilies are on their way to the buyer"
    );
    assert_ledger_balances(&app).await;
}
