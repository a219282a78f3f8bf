//! Stores and clerks, and stock moved to a shelf and back: both sides of the ledger, never
//! below zero, and the storefront's availability moving at once.

use huakai::inventory::entity::shelf_movement;
use huakai::inventory::entity::stock_movement;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use super::*;
use crate::on_each_backend;
use crate::orders::available;
use crate::support::{Backend, error_code};

on_each_backend!(
    operators_open_stores_and_seat_one_clerk_each,
    stock_moves_to_a_shelf_and_back_through_both_ledgers
);

async fn operators_open_stores_and_seat_one_clerk_each(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let counter = counter(&app).await;
    let operator = &counter.cast.operator;
    let role = app.query_as(&counter.clerk, "{ me { role } }", json!({})).await;
    assert_eq!(role["me"]["role"], "STORE_CLERK");

    // Slugs are unique and well-formed.
    for (slug, code) in [("longmen", "INVALID_INPUT"), ("Not A Slug", "INVALID_INPUT")] {
        let refused = app
            .query_as(
                operator,
                CREATE_STORE,
                json!({ "input": { "slug": slug, "name": "超市", "address": "某街" } }),
            )
            .await;
        assert_eq!(refused["createStore"]["userErrors"][0]["code"], code, "{refused}");
    }
    // One store per clerk: seating the same clerk again at its store changes nothing; at
    // another it is refused.
    let other = store(&app, operator, "zhuting").await;
    let again = app
        .query_as(
            operator,
            ADD_CLERK,
            json!({ "store": counter.store_id, "user": counter.clerk.user_id }),
        )
        .await;
    assert_eq!(again["addStoreClerk"]["userErrors"], json!([]));
    let elsewhere = app
        .query_as(
            operator,
            ADD_CLERK,
            json!({ "store": other, "user": counter.clerk.user_id }),
        )
        .await;
    assert_eq!(elsewhere["addStoreClerk"]["userErrors"][0]["code"], "ALREADY_CLERK");
    // A grower's account stays a grower's.
    let grower = app
        .query_as(
            operator,
            ADD_CLERK,
            json!({ "store": other, "user": counter.cast.grower.user_id }),
        )
        .await;
    assert_eq!(grower["addStoreClerk"]["userErrors"][0]["code"], "INVALID_INPUT");

    // Anyone sees where the stores are; nobody but its clerks and operators sees a shelf.
    let listed = app.query("{ stores { slug name address } }", json!({})).await;
    assert_eq!(listed["stores"][0]["slug"], "longmen");
    assert_eq!(listed["stores"][1]["slug"], "zhuting");
    let one = app.query("{ store(slug: \"longmen\") { id name } }", json!({})).await;
    assert_eq!(one["store"]["id"], counter.store_id);
    let anonymous = app.graphql(SHELF, json!({ "slug": "longmen" })).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let stranger = clerk(&app, operator, &other, "clerk@zhuting.example").await;
    let theirs = app.graphql_as(&stranger, SHELF, json!({ "slug": "longmen" })).await.1;
    assert_eq!(error_code(&theirs), "FORBIDDEN");
}

async fn stock_moves_to_a_shelf_and_back_through_both_ledgers(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let counter = counter(&app).await;
    let before = available(&app, LILY, &counter.lily).await;

    stock_shelf(&app, &counter, 40).await;
    assert_eq!(
        available(&app, LILY, &counter.lily).await,
        before - 40,
        "the storefront sees it at once"
    );
    assert_eq!(on_shelf(&app, &counter).await, 40);

    let transfer = |quantity: i64| json!({ "input": { "storeId": counter.store_id, "variantId": counter.lily, "quantity": quantity } });
    let back = app.query_as(&counter.cast.operator, TRANSFER, transfer(-15)).await;
    assert_eq!(back["transferStock"]["userErrors"], json!([]), "{back}");
    assert_eq!(available(&app, LILY, &counter.lily).await, before - 25);
    assert_eq!(on_shelf(&app, &counter).await, 25);

    // Never below zero on either side.
    let short_shelf = app.query_as(&counter.cast.operator, TRANSFER, transfer(-26)).await;
    assert_eq!(short_shelf["transferStock"]["userErrors"][0]["code"], "NOT_ON_SHELF");
    let short_online = app.query_as(&counter.cast.operator, TRANSFER, transfer(before)).await;
    assert_eq!(short_online["transferStock"]["userErrors"][0]["code"], "OUT_OF_STOCK");
    let zero = app.query_as(&counter.cast.operator, TRANSFER, transfer(0)).await;
    assert_eq!(zero["transferStock"]["userErrors"][0]["code"], "INVALID_QUANTITY");
    assert_eq!(on_shelf(&app, &counter).await, 25);
    assert_eq!(available(&app, LILY, &counter.lily).await, before - 25);

    // Only the variant's growers and operators move it; clerks and buyers cannot.
    for actor in [&counter.clerk, &counter.cast.buyer] {
        let refused = app.graphql_as(actor, TRANSFER, transfer(1)).await.1;
        assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    }

    // Both sides of the ledger: what left online arrived on the shelf, and back.
    let online: i64 = stock_movement::Entity::find()
        .filter(stock_movement::Column::Reason.contains("shelf"))
        .all(app.db())
        .await
        .expect("stock movements")
        .iter()
        .map(|m| m.on_hand_delta)
        .sum();
    let shelf: Vec<i64> = shelf_movement::Entity::find()
        .all(app.db())
        .await
        .expect("shelf movements")
        .iter()
        .map(|m| m.delta)
        .collect();
    assert_eq!(shelf, vec![40, -15]);
    assert_eq!(online, -25);
}
