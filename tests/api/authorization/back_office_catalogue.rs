//! The back office's catalogue operations, asked by each kind of caller: the columns are the
//! anonymous caller, a buyer, another buyer, the product's grower, another producer's grower and
//! an operator. Every mutation is asked in a way that changes nothing (a slug that is not one,
//! an empty change, an empty file), so the rows do not depend on each other.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_back_office_catalogue_operation_answers_each_caller_as_it_should() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let cast = Cast {
        names: [
            "anonymous",
            "a buyer",
            "another buyer",
            "its grower",
            "another grower",
            "operator",
        ],
        anonymous: Actor::anonymous(),
        buyer: app.user("buyer@example.com", Role::Buyer, None).await,
        other_buyer: app.user("other.buyer@example.com", Role::Buyer, None).await,
        grower: app
            .user("lily@example.com", Role::Grower, Some("sanwang-baihe-hezuoshe"))
            .await,
        other_grower: app
            .user("crayfish@example.com", Role::Grower, Some("changyuan-longxia-hezuoshe"))
            .await,
        operator: operator.clone(),
    };
    let ids = app
        .query(
            "{ product(slug: \"sanwang-baihe-gan\") { id village { id } producer { id } }
               hidden: product(slug: \"sanwang-xian-baihe\") { id } }",
            json!({}),
        )
        .await;
    let product_id = ids["product"]["id"].clone();
    let hidden_id = ids["hidden"]["id"].clone();
    let unpublished = app
        .query_as(
            &operator,
            "mutation($id: ID!) { updateProduct(productId: $id, input: { published: false }) { userErrors { code } } }",
            json!({ "id": hidden_id }),
        )
        .await;
    assert_eq!(unpublished["updateProduct"]["userErrors"], json!([]));
    let village = json!({ "slug": "NOT A SLUG", "name": "村", "town": "镇", "district": "区", "registeredPoor": false, "story": "" });
    let producer = json!({ "slug": "NOT A SLUG", "name": "社", "kind": "HOUSEHOLD", "villageSlug": "sanwang-cun", "linkedPoorHouseholds": 0 });
    let operators_only = [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed];
    let its_grower = [Unauthenticated, Forbidden, Forbidden, Allowed, Forbidden, Allowed];
    let rows = [
        Row {
            operation: "createVillage",
            query: "mutation($input: VillageInput!) { createVillage(input: $input) { village { id } userErrors { code } } }",
            variables: json!({ "input": village }),
            expected: operators_only,
        },
        Row {
            operation: "updateVillage",
            query: "mutation($id: ID!, $input: VillageInput!) { updateVillage(villageId: $id, input: $input) { village { id } userErrors { code } } }",
            variables: json!({ "id": ids["product"]["village"]["id"], "input": village }),
            expected: operators_only,
        },
        Row {
            operation: "createProducer",
            query: "mutation($input: ProducerInput!) { createProducer(input: $input) { producer { id } userErrors { code } } }",
            variables: json!({ "input": producer }),
            expected: operators_only,
        },
        Row {
            operation: "updateProducer",
            query: "mutation($id: ID!, $input: ProducerInput!) { updateProducer(producerId: $id, input: $input) { producer { id } userErrors { code } } }",
            variables: json!({ "id": ids["product"]["producer"]["id"], "input": producer }),
            expected: operators_only,
        },
        Row {
            operation: "createCategory",
            query: "mutation { createCategory(input: { slug: \"NOT A SLUG\", name: \"类\" }) { category { slug } userErrors { code } } }",
            variables: json!({}),
            expected: operators_only,
        },
        Row {
            operation: "importCatalogue",
            query: "mutation { importCatalogue(csv: \"\", dryRun: true) { created userErrors { code } } }",
            variables: json!({}),
            expected: operators_only,
        },
        Row {
            operation: "updateProduct",
            query: "mutation($id: ID!) { updateProduct(productId: $id, input: {}) { product { id } userErrors { code } } }",
            variables: json!({ "id": product_id }),
            expected: its_grower,
        },
        Row {
            operation: "addVariant",
            query: "mutation($id: ID!) { addVariant(productId: $id, input: { sku: \"not a sku\", name: \"x\", price: \"1.00\" }) {
                product { id } userErrors { code } } }",
            variables: json!({ "id": product_id }),
            expected: its_grower,
        },
        Row {
            operation: "product",
            query: "{ product(slug: \"sanwang-baihe-gan\") { published images { url width height alt } } }",
            variables: json!({}),
            expected: [Allowed; 6],
        },
        Row {
            operation: "product",
            query: "{ product(slug: \"sanwang-xian-baihe\") { published images { url } } }",
            variables: json!({}),
            expected: [Hidden, Hidden, Hidden, Allowed, Hidden, Allowed],
        },
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on Product { published } } }",
            variables: json!({ "id": hidden_id }),
            expected: [Hidden, Hidden, Hidden, Allowed, Hidden, Allowed],
        },
    ];
    check_rows(&app, &cast, &rows).await;
    // uploadProductImage (a multipart request) is asked by each caller in
    // catalogue::images::only_its_grower_and_operators_upload_pictures.
}
