//! Reversals take the rates of the sale and add up to the fen: a fee changed between sale and
//! refund moves nothing, and a line refunded in any number of parts, one of them refused on
//! the way, gives back exactly what it earned.

use huakai::infra::money::Fen;
use huakai::payments::refunds;
use huakai::payouts::entity::earning;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use super::{commissions_of, earnings_of, shop};
use crate::on_each_backend;
use crate::orders::order_row;
use crate::support::scenario::{PLACE, order_input};
use crate::support::scenario::{cast, confirm_delivery, lily_at, pay_by_bank, place, ship};
use crate::support::stripe::Fault;
use crate::support::{Backend, TestApp};

on_each_backend!(
    a_fee_changed_between_sale_and_refund_leaves_nobody_off,
    a_line_refunded_in_parts_gives_back_exactly_what_it_earned,
);

/// The fee of the order's sale entries (refund 0).
async fn sale_fee(app: &TestApp, order_id: &Value) -> i64 {
    earning::Entity::find()
        .filter(earning::Column::OrderId.eq(order_row(order_id)))
        .filter(earning::Column::Kind.eq("SALE"))
        .filter(earning::Column::RefundId.eq(0))
        .all(app.db())
        .await
        .expect("earnings")
        .iter()
        .map(|row| row.platform_fee_fen.get())
        .sum()
}

async fn a_fee_changed_between_sale_and_refund_leaves_nobody_off(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "100.00").await;

    // Sold at 5%, delivered after the fee became 10%, refunded in two parts at 20% and 3%.
    let after = place(&app, &cast.buyer, &lily, 1, "after", "BANK_TRANSFER").await;
    pay_by_bank(&app, &cast.operator, &after).await;
    ship(&app, &cast.operator, &after).await;
    huakai::orders::service::lifecycle::confirm_delivery(&shop(&app, Some(1000)), order_row(&after))
        .await
        .expect("the database answers")
        .expect("delivered");
    let sold = sale_fee(&app, &after).await;
    for (fee, amount) in [(2000, Some(Fen::new(3000))), (300, None)] {
        refunds::refund_order(&shop(&app, Some(fee)), order_row(&after), amount)
            .await
            .expect("the database answers")
            .expect("refunded");
    }
    assert_eq!(
        earnings_of(&app, &after).await,
        (0, 0, 0, 0),
        "refunded in full: the grower and the platform are back to nothing"
    );
    assert_eq!(sold, 500, "the fee of the sale is the rate it was sold at");

    // Refunded in part before delivery, at another rate: the reversal and the sale agree.
    let before = place(&app, &cast.buyer, &lily, 1, "before", "BANK_TRANSFER").await;
    pay_by_bank(&app, &cast.operator, &before).await;
    refunds::refund_order(&shop(&app, Some(2000)), order_row(&before), Some(Fen::new(3000)))
        .await
        .expect("the database answers")
        .expect("refunded");
    ship(&app, &cast.operator, &before).await;
    huakai::orders::service::lifecycle::confirm_delivery(&shop(&app, Some(1000)), order_row(&before))
        .await
        .expect("the database answers")
        .expect("delivered");
    assert_eq!(
        earnings_of(&app, &before).await,
        (7000, 350, 0, 6650),
        "5% of the 70.00 the buyer kept"
    );
}

async fn a_line_refunded_in_parts_gives_back_exactly_what_it_earned(backend: Backend) {
    let Some((app, stripe)) = TestApp::on(backend).with_stripe().await else {
        return;
    };
    let cast = cast(&app).await;
    let host = app
        .user("xiaomei@example.com", huakai::accounts::Role::Host, None)
        .await;
    let lily = lily_at(&app, &cast, "19.99").await;
    let product = app
        .query("{ product(slug: \"sanwang-xian-baihe\") { id } }", json!({}))
        .await["product"]["id"]
        .clone();
    let plan = app
        .query_as(
            &cast.operator,
            "mutation($input: CommissionPlanInput!) { setCommissionPlan(input: $input) { userErrors { code } } }",
            json!({ "input": { "productId": product, "rateBps": 333 } }),
        )
        .await;
    assert_eq!(plan["setCommissionPlan"]["userErrors"], json!([]));
    let link = app
        .query_as(
            &host,
            "mutation($id: ID!) { createPromoLink(input: { productId: $id }) { promoLink { code } } }",
            json!({ "id": product }),
        )
        .await["createPromoLink"]["promoLink"]["code"]
        .clone();
    let mut input = order_input(json!([{ "variantId": lily, "quantity": 1 }]), "parts");
    input["input"]["paymentMethod"] = json!("CARD");
    input["input"]["referralCode"] = link;
    let placed = app.query_as(&cast.buyer, PLACE, input).await;
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]), "{placed}");
    let order_id = placed["placeOrder"]["order"]["id"].clone();
    let intent = stripe.payment_intents()[0]["id"]
        .as_str()
        .expect("an intent")
        .to_owned();
    stripe.succeed(&intent).await;
    app.eventually(
        &cast.buyer,
        "query($id: ID!) { order(id: $id) { status } }",
        json!({ "id": order_id }),
        "the payment",
        |seen| seen["order"]["status"] == "PAID",
    )
    .await;
    ship(&app, &cast.operator, &order_id).await;
    confirm_delivery(&app, &cast.operator, &order_id).await;
    // 19.99 at 5% is a fee of 1.00 and a commission of 0.67; ten parts of 1.90 (each a fee of
    // 0.095, half up 0.10) and one of 0.99, with a refusal in the middle.
    let mut parts = vec![190; 10];
    parts.push(99);
    for (index, part) in parts.into_iter().enumerate() {
        if index == 4 {
            stripe.fault_next("/v1/refunds", Fault::Refuse);
            let refused = refunds::refund_order(&shop(&app, None), order_row(&order_id), Some(Fen::new(part)))
                .await
                .expect("the database answers");
            assert_eq!(refused.expect_err("refused").code.as_str(), "REFUND_FAILED");
        }
        refunds::refund_order(&shop(&app, None), order_row(&order_id), Some(Fen::new(part)))
            .await
            .expect("the database answers")
            .expect("refunded");
    }
    assert_eq!(
        earnings_of(&app, &order_id).await,
        (0, 0, 0, 0),
        "every fen of fee, commission and earning reversed"
    );
    assert_eq!(commissions_of(&app, &order_id).await, 0, "the host keeps nothing of it");
    stripe.settle().await;
}
