//! A payment's `reviewReason` is the operators' note: an organisation's admins see its bulk
//! orders and their payments, never that note.

use huakai::payments::entity::payment;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::on_each_backend;
use crate::orders::order_row;
use crate::support::scenario::variants;
use crate::support::{Backend, TestApp};
use crate::unions::{ADD_ADMIN, organisation};

on_each_backend!(organisation_admins_do_not_see_the_operators_review_reason);

const ORDER_PAYMENT: &str =
    "query($id: ID!) { node(id: $id) { ... on Order { id payment { amount { amount } reviewReason } } } }";

async fn organisation_admins_do_not_see_the_operators_review_reason(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let operator = app
        .user("operator@example.com", huakai::accounts::Role::Admin, None)
        .await;
    let org = organisation(&app, &operator, "株洲市总工会", "first-admin@example.com").await;
    let second_admin = app
        .user("second-admin@example.com", huakai::accounts::Role::Buyer, None)
        .await;
    let added = app
        .query_as(
            &operator,
            ADD_ADMIN,
            json!({ "org": org.id, "user": second_admin.user_id }),
        )
        .await;
    assert_eq!(added["addOrganisationAdmin"]["userErrors"], json!([]));
    let (variant, _) = variants(&app, "sanwang-xian-baihe")
        .await
        .into_values()
        .next()
        .expect("variant");
    let placed = app
        .query_as(
            &org.admin,
            "mutation($input: BulkOrderInput!) { placeBulkOrder(input: $input) { order { id } userErrors { code } } }",
            json!({ "input": { "organisationId": org.id, "idempotencyKey": "notes", "paymentMethod": "BANK_TRANSFER",
                "recipients": [{ "name": "王芳", "phone": "13800138000", "province": "湖南省", "city": "株洲市",
                    "district": "芦淞区", "line1": "建设路 1 号", "variantId": variant, "quantity": 1 }] } }),
        )
        .await;
    assert_eq!(placed["placeBulkOrder"]["userErrors"], json!([]), "{placed}");
    let order_id = placed["placeBulkOrder"]["order"]["id"].clone();
    // An amount that did not match, as the webhook flags it for an operator.
    payment::Entity::update_many()
        .col_expr(payment::Column::NeedsReview, Expr::value(true))
        .col_expr(
            payment::Column::ReviewReason,
            Expr::value("amount 1.00 CNY does not match 9.90 CNY"),
        )
        .filter(payment::Column::OrderId.eq(order_row(&order_id)))
        .exec(app.db())
        .await
        .expect("flagged");

    let seen_by_operator = app.query_as(&operator, ORDER_PAYMENT, json!({ "id": order_id })).await;
    assert!(
        seen_by_operator["node"]["payment"]["reviewReason"].is_string(),
        "{seen_by_operator}"
    );
    for admin in [&org.admin, &second_admin] {
        let seen = app.query_as(admin, ORDER_PAYMENT, json!({ "id": order_id })).await;
        assert_eq!(seen["node"]["id"], order_id, "the admins see the order: {seen}");
        assert!(seen["node"]["payment"]["amount"].is_object(), "{seen}");
        assert_eq!(
            seen["node"]["payment"]["reviewReason"],
            json!(null),
            "an organisation admin sees no operator's note: {seen}"
        );
    }
}
