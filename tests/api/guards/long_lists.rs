//! Lists of ids that grow with the shop never become one `IN (…)` over the databases' limits
//! (PostgreSQL 65,535 parameters, SQLite 32,766): a report over a year of 70,000 paid orders.

use huakai::accounts::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::orders::order_row;
use crate::support::scenario::{PLACE, order_input, variants};
use crate::support::{Backend, TestApp};

on_each_backend!(the_impact_report_reads_seventy_thousand_orders);

const COPIES: i64 = 70_000;

async fn the_impact_report_reads_seventy_thousand_orders(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let operator = app.user("ops@example.com", Role::Admin, None).await;
    let (variant, _) = variants(&app, "sanwang-xian-baihe")
        .await
        .into_values()
        .next()
        .expect("variant");
    let mut input = order_input(json!([{ "variantId": variant, "quantity": 1 }]), "template");
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    let placed = app.query_as(&buyer, PLACE, input).await;
    let order_id = placed["placeOrder"]["order"]["id"].clone();
    let paid = app
        .query_as(
            &operator,
            "mutation($id: ID!) { recordBankTransfer(orderId: $id, reference: \"ICBC-1\") { userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(paid["recordBankTransfer"]["userErrors"], json!([]));
    // The paid order, copied: a year's orders of a busy shop, without lines of their own.
    let template = order_row(&order_id).0;
    let columns = "buyer_id, status, payment_method, total_fen, referral_code, union_id, ship_name, ship_phone, \
        ship_province, ship_city, ship_district, ship_line1, ship_postal_code, reserved_until, created_at, paid_at, \
        shipped_at, delivered_at, cancelled_at, allowance_fen, remainder_method, bulk";
    let copy = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {COPIES}) \
         INSERT INTO orders (number, idempotency_key, {columns}) \
         SELECT 'COPY-' || n.i, 'copy-' || n.i, {columns} FROM orders, n WHERE orders.id = {template}"
    );
    let db = app.db();
    db.execute_raw(Statement::from_string(db.get_database_backend(), copy))
        .await
        .expect("orders copied");

    let answer = app.http().get(app.url("/impact.json")).send().await.expect("answer");
    assert_eq!(answer.status(), 200, "the report over {COPIES} orders is answered");
    let figures: Value = answer.json().await.expect("json");
    assert_eq!(figures["unitsSold"], 1, "the template's line, once: {figures}");
}
