//! The back office's catalogue (the contract's "Back office"): an operator onboards a village
//! from scratch; a product's grower renames, moves, unpublishes it and adds variants.

use huakai::accounts::Role;
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::support::scenario::{PLACE, order_input};
use crate::support::{Actor, Backend, TestApp};

on_each_backend!(
    an_operator_onboards_a_village_from_scratch,
    onboarding_refuses_bad_values_clearly,
    villages_and_producers_are_corrected,
    a_grower_changes_its_own_product_and_adds_variants,
    an_unpublished_product_leaves_the_storefront_and_its_orders_stay,
);

const CREATE_VILLAGE: &str = "mutation($input: VillageInput!) {
    createVillage(input: $input) { village { id slug name town district registeredPoor exitedPovertyYear story }
        userErrors { field code message } } }";
const CREATE_PRODUCER: &str = "mutation($input: ProducerInput!) {
    createProducer(input: $input) { producer { id slug name kind linkedPoorHouseholds village { slug } }
        userErrors { field code message } } }";
const CREATE_CATEGORY: &str = "mutation($input: CategoryInput!) {
    createCategory(input: $input) { category { slug name } userErrors { field code message } } }";
const UPDATE_PRODUCT: &str = "mutation($id: ID!, $input: ProductUpdateInput!) {
    updateProduct(productId: $id, input: $input) { product { name description published category { slug } }
        userErrors { field code message } } }";
const ADD_VARIANT: &str = "mutation($id: ID!, $input: NewVariantInput!) {
    addVariant(productId: $id, input: $input) { product { priceRange { min { amount } max { amount } }
        variants { sku name price { amount } available } } userErrors { field code message } } }";

fn village(slug: &str) -> Value {
    json!({ "slug": slug, "name": "新田村", "town": "南洲镇", "district": "渌口区",
            "registeredPoor": true, "exitedPovertyYear": 2018, "story": "湘江边的村子，种油茶和黄桃。" })
}

fn producer(slug: &str, village_slug: &str) -> Value {
    json!({ "slug": slug, "name": "新田油茶合作社", "kind": "COOPERATIVE", "villageSlug": village_slug,
            "linkedPoorHouseholds": 42 })
}

async fn created(app: &TestApp, operator: &Actor, mutation: &str, root: &str, input: Value) -> Value {
    let data = app.query_as(operator, mutation, json!({ "input": input })).await;
    assert_eq!(data[root]["userErrors"], json!([]), "{data:#}");
    data[root].clone()
}

async fn problem(app: &TestApp, operator: &Actor, mutation: &str, root: &str, input: Value) -> (String, Value) {
    let data = app.query_as(operator, mutation, json!({ "input": input })).await;
    let error = &data[root]["userErrors"][0];
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{data:#}");
    (
        error["code"].as_str().unwrap_or_default().to_owned(),
        error["field"].clone(),
    )
}

async fn product_id(app: &TestApp, actor: &Actor, slug: &str) -> Value {
    app.query_as(
        actor,
        "query($slug: String!) { product(slug: $slug) { id } }",
        json!({ "slug": slug }),
    )
    .await["product"]["id"]
        .clone()
}

async fn an_operator_onboards_a_village_from_scratch(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let made = created(&app, &operator, CREATE_VILLAGE, "createVillage", village("xintian-cun")).await;
    assert_eq!(made["village"]["exitedPovertyYear"], 2018);
    let made = created(
        &app,
        &operator,
        CREATE_PRODUCER,
        "createProducer",
        producer("xintian-youcha", "xintian-cun"),
    )
    .await;
    assert_eq!(made["producer"]["kind"], "COOPERATIVE");
    assert_eq!(made["producer"]["village"]["slug"], "xintian-cun");
    let made = created(
        &app,
        &operator,
        CREATE_CATEGORY,
        "createCategory",
        json!({ "slug": "youcha", "name": "油茶" }),
    )
    .await;
    assert_eq!(made["category"], json!({ "slug": "youcha", "name": "油茶" }));
    let categories = app.query("{ categories { slug } }", json!({})).await;
    assert_eq!(
        categories["categories"].as_array().and_then(|c| c.last()),
        Some(&json!({ "slug": "youcha" }))
    );

    // The producer's grower lists its first product; the storefront shows it in its village.
    let grower = app
        .user("grower@xintian.example", Role::Grower, Some("xintian-youcha"))
        .await;
    let listed = app
        .query_as(
            &grower,
            "mutation($input: NewProductInput!) { createProduct(input: $input) { product { slug } userErrors { code } } }",
            json!({ "input": { "slug": "xintian-chayou", "name": "新田茶油 500ml", "categorySlug": "youcha",
                "variants": [{ "sku": "XT-CHAYOU-500", "name": "500ml", "price": "88.00", "stock": 30 }] } }),
        )
        .await;
    assert_eq!(listed["createProduct"]["userErrors"], json!([]), "{listed:#}");
    let shown = app
        .query(
            "{ village(slug: \"xintian-cun\") { name products { nodes { slug producer { slug } category { slug } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        shown["village"]["products"]["nodes"],
        json!([{ "slug": "xintian-chayou", "producer": { "slug": "xintian-youcha" }, "category": { "slug": "youcha" } }])
    );
}

async fn onboarding_refuses_bad_values_clearly(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let field = |path: &[&str]| json!(path);
    let mut bad = village("Xintian Cun");
    assert_eq!(
        problem(&app, &operator, CREATE_VILLAGE, "createVillage", bad.clone()).await,
        ("INVALID_INPUT".to_owned(), field(&["input", "slug"]))
    );
    bad = village("changyuan-cun");
    assert_eq!(
        problem(&app, &operator, CREATE_VILLAGE, "createVillage", bad).await,
        ("INVALID_INPUT".to_owned(), field(&["input", "slug"])),
        "the demo's village has this slug"
    );
    bad = village("xintian-cun");
    bad["registeredPoor"] = json!(false);
    assert_eq!(
        problem(&app, &operator, CREATE_VILLAGE, "createVillage", bad).await,
        ("INVALID_INPUT".to_owned(), field(&["input", "exitedPovertyYear"]))
    );
    bad = village("xintian-cun");
    bad["name"] = json!("新田\n村");
    assert_eq!(
        problem(&app, &operator, CREATE_VILLAGE, "createVillage", bad).await,
        ("INVALID_INPUT".to_owned(), field(&["input", "name"]))
    );
    assert_eq!(
        problem(
            &app,
            &operator,
            CREATE_PRODUCER,
            "createProducer",
            producer("xintian-youcha", "nowhere-cun")
        )
        .await,
        ("NOT_FOUND".to_owned(), field(&["input", "villageSlug"]))
    );
    let mut bad = producer("xintian-youcha", "changyuan-cun");
    bad["linkedPoorHouseholds"] = json!(-1);
    assert_eq!(
        problem(&app, &operator, CREATE_PRODUCER, "createProducer", bad).await,
        ("INVALID_INPUT".to_owned(), field(&["input", "linkedPoorHouseholds"]))
    );
    assert_eq!(
        problem(
            &app,
            &operator,
            CREATE_PRODUCER,
            "createProducer",
            producer("sanwang-baihe-hezuoshe", "changyuan-cun")
        )
        .await,
        ("INVALID_INPUT".to_owned(), field(&["input", "slug"]))
    );
    assert_eq!(
        problem(
            &app,
            &operator,
            CREATE_CATEGORY,
            "createCategory",
            json!({ "slug": "shucai", "name": "蔬菜" })
        )
        .await,
        ("INVALID_INPUT".to_owned(), field(&["input", "slug"]))
    );
    assert_eq!(
        problem(
            &app,
            &operator,
            CREATE_CATEGORY,
            "createCategory",
            json!({ "slug": "youcha", "name": " " })
        )
        .await,
        ("INVALID_INPUT".to_owned(), field(&["input", "name"]))
    );
    // Nothing was written by any of them.
    let villages = app
        .query("{ villages(first: 100) { totalCount } categories { slug } }", json!({}))
        .await;
    assert_eq!(villages["villages"]["totalCount"], 8);
    assert!(!villages["categories"].to_string().contains("youcha"));
}

async fn villages_and_producers_are_corrected(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let made = created(&app, &operator, CREATE_VILLAGE, "createVillage", village("xintian-cun")).await;
    let village_id = made["village"]["id"].clone();
    let mut changed = village("xintian-cun");
    changed["story"] = json!("油茶林三百亩。");
    changed["registeredPoor"] = json!(false);
    changed["exitedPovertyYear"] = json!(null);
    let data = app
        .query_as(
            &operator,
            "mutation($id: ID!, $input: VillageInput!) { updateVillage(villageId: $id, input: $input) {
                village { story registeredPoor exitedPovertyYear } userErrors { code } } }",
            json!({ "id": village_id, "input": changed }),
        )
        .await;
    assert_eq!(
        data["updateVillage"],
        json!({ "village": { "story": "油茶林三百亩。", "registeredPoor": false, "exitedPovertyYear": null }, "userErrors": [] })
    );
    let taken = app
        .query_as(
            &operator,
            "mutation($id: ID!, $input: VillageInput!) { updateVillage(villageId: $id, input: $input) { userErrors { code field } } }",
            json!({ "id": village_id, "input": village("changyuan-cun") }),
        )
        .await;
    assert_eq!(
        taken["updateVillage"]["userErrors"],
        json!([{ "code": "INVALID_INPUT", "field": ["input", "slug"] }])
    );

    // A producer moves village and changes kind; its growers stay its growers.
    let producer_id = app
        .query(
            "{ product(slug: \"changyuan-xiaolongxia\") { producer { id slug } } }",
            json!({}),
        )
        .await["product"]["producer"]
        .clone();
    let slug = producer_id["slug"].as_str().expect("slug").to_owned();
    let grower = app.user("grower@changyuan.example", Role::Grower, Some(&slug)).await;
    let mut input = producer(&slug, "xintian-cun");
    input["kind"] = json!("WORKSHOP");
    let data = app
        .query_as(
            &operator,
            "mutation($id: ID!, $input: ProducerInput!) { updateProducer(producerId: $id, input: $input) {
                producer { kind village { slug } linkedPoorHouseholds } userErrors { code } } }",
            json!({ "id": producer_id["id"], "input": input }),
        )
        .await;
    assert_eq!(
        data["updateProducer"],
        json!({ "producer": { "kind": "WORKSHOP", "village": { "slug": "xintian-cun" }, "linkedPoorHouseholds": 42 }, "userErrors": [] })
    );
    let id = product_id(&app, &grower, "changyuan-xiaolongxia").await;
    let renamed = app
        .query_as(
            &grower,
            UPDATE_PRODUCT,
            json!({ "id": id, "input": { "name": "长远小龙虾 2 斤" } }),
        )
        .await;
    assert_eq!(
        renamed["updateProduct"]["userErrors"],
        json!([]),
        "the grower still manages its producer"
    );
}

async fn a_grower_changes_its_own_product_and_adds_variants(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let grower = app
        .user("grower@sanwang.example", Role::Grower, Some("sanwang-baihe-hezuoshe"))
        .await;
    let other = app
        .user("grower@other.example", Role::Grower, Some("longtan-luojia-guoyuan"))
        .await;
    let id = product_id(&app, &grower, "sanwang-baihe-gan").await;
    let changed = app
        .query_as(
            &grower,
            UPDATE_PRODUCT,
            json!({ "id": id, "input": { "name": "三旺百合 礼盒", "description": "新挖的龙牙百合。", "categorySlug": "shucai" } }),
        )
        .await;
    assert_eq!(
        changed["updateProduct"],
        json!({ "product": { "name": "三旺百合 礼盒", "description": "新挖的龙牙百合。", "published": true,
                "category": { "slug": "shucai" } }, "userErrors": [] })
    );
    let unknown = app
        .query_as(
            &grower,
            UPDATE_PRODUCT,
            json!({ "id": id, "input": { "categorySlug": "no-such" } }),
        )
        .await;
    assert_eq!(
        unknown["updateProduct"]["userErrors"][0]["field"],
        json!(["input", "categorySlug"])
    );
    let refused = app
        .graphql_as(
            &other,
            UPDATE_PRODUCT,
            json!({ "id": id, "input": { "name": "别人的" } }),
        )
        .await
        .1;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN", "{refused:#}");

    let added = app
        .query_as(
            &grower,
            ADD_VARIANT,
            json!({ "id": id, "input": { "sku": "SW-BAIHE-GIFT", "name": "礼盒 2.5 斤", "price": "999.00", "stock": 7 } }),
        )
        .await;
    assert_eq!(added["addVariant"]["userErrors"], json!([]), "{added:#}");
    let variants = added["addVariant"]["product"]["variants"].as_array().expect("variants");
    assert_eq!(variants.last().expect("added")["sku"], "SW-BAIHE-GIFT");
    assert_eq!(variants.last().expect("added")["available"], 7);
    assert_eq!(added["addVariant"]["product"]["priceRange"]["max"]["amount"], "999.00");
    let taken = app
        .query_as(
            &grower,
            ADD_VARIANT,
            json!({ "id": id, "input": { "sku": "SW-BAIHE-GIFT", "name": "again", "price": "9.00" } }),
        )
        .await;
    assert_eq!(
        taken["addVariant"]["userErrors"][0],
        json!({ "field": ["input", "sku"], "code": "INVALID_INPUT", "message": taken["addVariant"]["userErrors"][0]["message"] })
    );
    let priced = app
        .query_as(
            &grower,
            ADD_VARIANT,
            json!({ "id": id, "input": { "sku": "SW-X", "name": "x", "price": "0.001" } }),
        )
        .await;
    assert_eq!(
        priced["addVariant"]["userErrors"][0]["field"],
        json!(["input", "price"])
    );
}

async fn an_unpublished_product_leaves_the_storefront_and_its_orders_stay(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let grower = app
        .user("grower@longtan.example", Role::Grower, Some("longtan-luojia-guoyuan"))
        .await;
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let slug = "longtan-huangtao";
    let listing = "{ products(first: 100) { totalCount nodes { slug } } }";
    let single = "query($slug: String!) { product(slug: $slug) { slug published } }";
    let lists = |data: &Value| data["products"]["nodes"].to_string().contains(slug);

    let product = app
        .query(
            "query($slug: String!) { product(slug: $slug) { id variants { id } } }",
            json!({ "slug": slug }),
        )
        .await["product"]
        .clone();
    let placed = app
        .query_as(
            &buyer,
            PLACE,
            order_input(
                json!([{ "variantId": product["variants"][0]["id"], "quantity": 1 }]),
                "before-unpublish",
            ),
        )
        .await;
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]), "{placed:#}");
    let order_id = placed["placeOrder"]["order"]["id"].clone();

    // Asked twice: the second answer comes from the storefront cache.
    let before = app.query(listing, json!({})).await;
    assert!(lists(&before));
    assert_eq!(app.query(listing, json!({})).await, before);
    let total = before["products"]["totalCount"].as_i64().expect("count");

    let unpublished = app
        .query_as(
            &grower,
            UPDATE_PRODUCT,
            json!({ "id": product["id"], "input": { "published": false } }),
        )
        .await;
    assert_eq!(unpublished["updateProduct"]["product"]["published"], false);

    let after = app.query(listing, json!({})).await;
    assert!(!lists(&after), "the cached listing no longer shows it");
    assert_eq!(after["products"]["totalCount"], total - 1);
    assert_eq!(app.query(single, json!({ "slug": slug })).await["product"], Value::Null);
    let node = app
        .query(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": product["id"] }),
        )
        .await;
    assert_eq!(node["node"], Value::Null);
    let village = app
        .query(
            "{ village(slug: \"longtan-cun\") { products(first: 100) { nodes { slug } } } }",
            json!({}),
        )
        .await;
    assert!(!village["village"]["products"]["nodes"].to_string().contains(slug));
    // Its grower still sees it, to publish it again.
    assert_eq!(
        app.query_as(&grower, single, json!({ "slug": slug })).await["product"],
        json!({ "slug": slug, "published": false })
    );
    // Nobody can order it; the order placed before keeps its line.
    let refused = app
        .query_as(
            &buyer,
            PLACE,
            order_input(
                json!([{ "variantId": product["variants"][0]["id"], "quantity": 1 }]),
                "after-unpublish",
            ),
        )
        .await;
    assert_eq!(
        refused["placeOrder"]["userErrors"][0]["code"], "NOT_ON_SALE",
        "{refused:#}"
    );
    let order = app
        .query_as(
            &buyer,
            "query($id: ID!) { order(id: $id) { status lines { quantity variant { id product { slug } } } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(order["order"]["lines"][0]["quantity"], 1);
    assert_eq!(order["order"]["lines"][0]["variant"]["product"]["slug"], slug);

    let republished = app
        .query_as(
            &grower,
            UPDATE_PRODUCT,
            json!({ "id": product["id"], "input": { "published": true } }),
        )
        .await;
    assert_eq!(republished["updateProduct"]["userErrors"], json!([]));
    assert!(lists(&app.query(listing, json!({})).await), "back at once");
}
