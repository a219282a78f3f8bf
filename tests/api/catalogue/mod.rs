//! The storefront catalogue, as the contract's "Catalogue" section specifies it.

use std::collections::HashSet;

use chrono::Duration;
use huakai::accounts::Role;
use huakai::catalogue::entity::product;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::support::{Backend, TestApp, error_code, fen};

mod back_office;
mod images;
mod import;
mod listing;

on_each_backend!(
    a_lapsed_catalogue_entry_takes_its_product_off_sale,
    a_page_costs_a_fixed_number_of_statements,
    bad_arguments_are_client_errors,
);

const PRODUCT_FIELDS: &str = "
    id slug name description catalogueCode inStock
    category { slug name }
    village { id slug name town district registeredPoor }
    producer { id slug name kind linkedPoorHouseholds village { slug } }
    variants { id sku name price { amount currency } available }
    priceRange { min { amount currency } max { amount currency } }";

async fn a_lapsed_catalogue_entry_takes_its_product_off_sale(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let query = "{ product(slug: \"changyuan-xiaolongxia\") { inStock catalogueCode catalogueEntry { validTo } variants { available } } }";
    let before = app.query(query, json!({})).await;
    assert_eq!(before["product"]["inStock"], json!(true));

    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let yesterday = huakai::catalogue::today_in_china() - Duration::days(1);
    let lapse = app
        .query_as(
            &operator,
            "mutation($code: String!, $to: NaiveDate!) {
                updateCatalogueEntry(code: $code, input: { validTo: $to }) { catalogueEntry { validTo } userErrors { code } } }",
            json!({ "code": before["product"]["catalogueCode"], "to": yesterday.to_string() }),
        )
        .await;
    assert_eq!(lapse["updateCatalogueEntry"]["userErrors"], json!([]));

    let after = app.query(query, json!({})).await;
    assert_eq!(after["product"]["inStock"], json!(false), "a lapsed entry is not sold");
    assert_eq!(
        after["product"]["catalogueEntry"]["validTo"],
        json!(yesterday.to_string())
    );
    assert!(
        after["product"]["variants"][0]["available"]
            .as_i64()
            .expect("available")
            > 0,
        "stock is still there"
    );
    let on_sale = app
        .query(
            "{ products(first: 100, filter: { inStock: true }) { nodes { slug } } }",
            json!({}),
        )
        .await;
    assert!(
        on_sale["products"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .all(|n| n["slug"] != "changyuan-xiaolongxia"),
        "the lapsed product left the in-stock list"
    );
}

async fn a_page_costs_a_fixed_number_of_statements(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let query =
        format!("query($first: Int) {{ products(first: $first) {{ totalCount nodes {{ {PRODUCT_FIELDS} }} }} }}");
    let mut costs = Vec::new();
    for first in [1, 5, 20, 28] {
        let before = app.server.state.statements_executed();
        let data = app.query(&query, json!({ "first": first })).await;
        let cost = app.server.state.statements_executed() - before;
        assert_eq!(data["products"]["nodes"].as_array().map(Vec::len), Some(first));
        costs.push(cost);
    }
    // count + page + producers + villages + categories + catalogue entries + variants + stock
    // (a page whose products are all unlisted skips the catalogue entries).
    assert!(costs.iter().all(|cost| *cost <= 8), "statements per page: {costs:?}");
    assert!(
        costs[1..].iter().all(|cost| *cost == costs[1]),
        "5, 20 and 28 products cost the same: {costs:?}"
    );
}

async fn bad_arguments_are_client_errors(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let answer = app.graphql("{ products(first: -1) { totalCount } }", json!({})).await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
    let answer = app
        .graphql("{ products(after: \"bm90IGEgY3Vyc29y\") { totalCount } }", json!({}))
        .await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
    // A cursor from one order is refused in another, rather than silently skipping products.
    let page = app
        .query(
            "{ products(first: 2, sort: PRICE_ASC) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let answer = app
        .graphql(
            "query($after: String) { products(after: $after, sort: NEWEST) { totalCount } }",
            json!({ "after": page["products"]["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
    // `first` above the cap is served as the cap.
    let capped = app
        .query("{ products(first: 100000) { nodes { id } } }", json!({}))
        .await;
    assert!(capped["products"]["nodes"].as_array().map(Vec::len).unwrap_or(0) <= 100);
    let long = "百".repeat(101);
    let answer = app
        .graphql(
            "query($s: String) { products(filter: { search: $s }) { totalCount } }",
            json!({ "s": long }),
        )
        .await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
}

/// On the embedded SQLite, a write that reads before it writes (creating a product looks up its
/// category and producer first) waits for the write lock instead of failing when another write
/// commits in between: 24 products created at once by operators all land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_created_at_once_on_sqlite_all_land() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let before = product::Entity::find().count(app.db()).await.expect("count");
    let created = futures::future::join_all((0..24).map(|i| {
        app.graphql_as(
            &operator,
            "mutation($input: NewProductInput!) { createProduct(input: $input) { userErrors { code } } }",
            json!({ "input": {
                "slug": format!("race-{i}"), "name": format!("同时上架 {i}"), "categorySlug": "shucai",
                "producerSlug": "sanwang-baihe-hezuoshe",
                "variants": [{ "sku": format!("RACE-{i}"), "name": "1 盒", "price": "30.00", "stock": 5 }]
            } }),
        )
    }))
    .await;
    for (status, answer) in &created {
        assert_eq!(*status, 200, "{answer:#}");
        assert!(answer.get("errors").is_none(), "{answer:#}");
        assert_eq!(answer["data"]["createProduct"]["userErrors"], json!([]));
    }
    let after = product::Entity::find().count(app.db()).await.expect("count");
    assert_eq!(after, before + 24);
}
