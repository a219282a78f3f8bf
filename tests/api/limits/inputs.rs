//! Hostile inputs: mutations over GET, control characters, unknown operation names, nested
//! lists, stock-like names, and what growers may not see.

use super::*;

on_each_backend!(control_characters_in_inputs_are_clear_errors_never_a_500,);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_never_runs_a_mutation_even_a_persisted_one() {
    let app = app_with(&[]).await;
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let mutation = "mutation { logout { revoked } }";
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(mutation.as_bytes()))
    };
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    // Sent once by POST with its text, the mutation runs (as POST may) but is not kept...
    let token = buyer.token.clone().expect("token");
    let other_session = app.login("buyer@example.com", PASSWORD).await;
    let posted: Value = app
        .http()
        .post(app.url("/graphql"))
        .bearer_auth(other_session.token.clone().expect("token"))
        .json(&json!({ "query": mutation, "extensions": extensions }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(posted["data"]["logout"]["revoked"], true);
    // ...so a link with its hash runs nothing.
    let get = app
        .http()
        .get(app.url("/graphql"))
        .query(&[("extensions", extensions.to_string())])
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    let status = get.status().as_u16();
    let body: Value = get.json().await.expect("json");
    assert_ne!(body["data"]["logout"]["revoked"], true, "{body}");
    assert!(status == 200 || status == 405, "{status} {body}");
    assert!(body["errors"].as_array().is_some_and(|e| !e.is_empty()));
    // The session the GET would have ended still works.
    let me = app.query_as(&buyer, "{ me { email } }", json!({})).await;
    assert_eq!(me["me"]["email"], "buyer@example.com");

    // A mutation named in a GET with an operation name is refused too, however it is spelt.
    let get = app
        .http()
        .get(app.url("/graphql"))
        .query(&[
            ("query", "query A { me { email } } mutation B { logout { revoked } }"),
            ("operationName", "B"),
        ])
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");
}

async fn control_characters_in_inputs_are_clear_errors_never_a_500(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    // Anonymous inputs that reach the database: a search, a slug, an email.
    for (query, variables) in [
        (
            "query($s: String) { products(filter: { search: $s }) { totalCount } }",
            json!({ "s": "百合\u{0}" }),
        ),
        (
            "query($s: String!) { product(slug: $s) { name } }",
            json!({ "s": "a\u{0}b" }),
        ),
        ("{ product(slug: \"a\\u0000b\") { name } }", json!({})),
        (
            LOGIN,
            json!({ "email": "a\u{0}@example.com", "password": "whatever it is" }),
        ),
    ] {
        let (status, answer) = app.graphql_as(&Actor::anonymous(), query, variables).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{answer}");
        let message = answer["errors"][0]["message"].as_str().expect("message");
        assert!(message.contains("控制字符"), "said in Chinese, the default: {message}");
    }
    // A grower's names and descriptions: INVALID_INPUT user errors on the field at fault.
    let grower = app
        .user("grower@example.com", Role::Grower, Some("changyuan-longxia-hezuoshe"))
        .await;
    let variant = app
        .query(
            "{ product(slug: \"changyuan-xiaolongxia\") { variants { id } } }",
            json!({}),
        )
        .await;
    let update = "mutation($id: ID!, $name: String!) {
        updateVariant(variantId: $id, input: { name: $name }) { userErrors { field code } } }";
    for name in ["礼盒\u{0}装", "礼盒\u{1b}[31m装", "两行\n名字"] {
        let data = app
            .query_as(
                &grower,
                update,
                json!({ "id": variant["product"]["variants"][0]["id"], "name": name }),
            )
            .await;
        assert_eq!(
            data["updateVariant"]["userErrors"][0]["code"], "INVALID_INPUT",
            "{name:?}"
        );
        assert_eq!(
            data["updateVariant"]["userErrors"][0]["field"],
            json!(["input", "name"])
        );
    }
    let create = "mutation($input: NewProductInput!) { createProduct(input: $input) { userErrors { field code } } }";
    let product = |name: &str, description: &str| {
        json!({ "input": {
            "slug": "xin-chanpin", "name": name, "description": description, "categorySlug": "shuichan",
            "variants": [{ "sku": "XIN-1", "name": "一斤", "price": "10.00", "stock": 1 }],
        } })
    };
    let data = app.query_as(&grower, create, product("新\u{0}品", "")).await;
    assert_eq!(
        data["createProduct"]["userErrors"][0]["field"],
        json!(["input", "name"])
    );
    let data = app.query_as(&grower, create, product("新品", "坏\u{7}描述")).await;
    assert_eq!(
        data["createProduct"]["userErrors"][0]["field"],
        json!(["input", "description"])
    );
    assert_eq!(data["createProduct"]["userErrors"][0]["code"], "INVALID_INPUT");
    // Stock reasons are not the catalogue's names: refused before anything runs.
    let adjust = "mutation($id: ID!, $reason: String!) {
        adjustStock(variantId: $id, delta: 1, reason: $reason) { userErrors { code } } }";
    let (status, answer) = app
        .graphql_as(
            &grower,
            adjust,
            json!({ "id": variant["product"]["variants"][0]["id"], "reason": "到货\u{0}" }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_operation_names_share_one_metrics_label() {
    let app = app_with(&[]).await;
    for i in 0..20 {
        let name = format!("Random{}x{i}", uuid::Uuid::new_v4().simple());
        app.http()
            .post(app.url("/graphql"))
            .json(&json!({ "query": format!("query {name} {{ categories {{ slug }} }}"), "operationName": name }))
            .send()
            .await
            .expect("request");
    }
    let text = app
        .http()
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(!text.contains("operation=\"Random"), "client names became labels");
    assert!(
        text.lines()
            .any(|line| line.starts_with("huakai_graphql_requests_total") && line.contains("operation=\"other\""))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_lists_cost_their_size() {
    let app = app_with(&[]).await;
    let nested =
        "{ products(first: 20) { nodes { variants { product { variants { product { variants { id } } } } } } } }";
    let answer = app.graphql(nested, json!({})).await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{answer:#}"
    );
    // A full storefront page of 100 products with their variants is still fine.
    let page = "{ products(first: 100) { totalCount nodes { id slug name description catalogueCode inStock
        category { slug name } village { name town registeredPoor } producer { name kind linkedPoorHouseholds }
        priceRange { min { amount currency } max { amount currency } }
        variants { id sku name price { amount currency } available } } } }";
    let data = app.query(page, json!({})).await;
    assert!(data["products"]["nodes"].as_array().is_some_and(|n| !n.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variant_named_like_a_stock_figure_leaves_cached_pages_intact() {
    let app = app_with(&[]).await;
    let grower = app
        .user("grower@example.com", Role::Grower, Some("changyuan-longxia-hezuoshe"))
        .await;
    let page = "{ product(slug: \"changyuan-xiaolongxia\") { inStock variants { id name available } } }";
    let variants = app.query(page, json!({})).await["product"]["variants"].clone();
    // Names written like the markers the cache once searched its bodies for. Refused or not,
    // they must not corrupt what the cache serves.
    let count = variants.as_array().map_or(0, Vec::len);
    for (i, variant) in variants.as_array().expect("variants").iter().enumerate() {
        for marker in [i + 1, (i + 1) % count.max(1)] {
            app.query_as(
                &grower,
                "mutation($id: ID!, $name: String!) { updateVariant(variantId: $id, input: { name: $name }) { userErrors { code } } }",
                json!({ "id": variant["id"], "name": format!("\u{1}huakai-stock-{marker}\u{1}") }),
            )
            .await;
        }
    }
    let computed = app.query(page, json!({})).await;
    let cached = app.query(page, json!({})).await;
    assert_eq!(computed, cached, "a cache hit answers what was computed");
    for (i, variant) in cached["product"]["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .enumerate()
    {
        assert!(variant["available"].is_i64(), "{variant}");
        assert_eq!(variant["id"], variants[i]["id"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn growers_do_not_see_which_buyers_moved_their_stock() {
    let app = app_with(&[]).await;
    let grower = app
        .user("grower@example.com", Role::Grower, Some("changyuan-longxia-hezuoshe"))
        .await;
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let variant = app
        .query(
            "{ product(slug: \"changyuan-xiaolongxia\") { variants { id } } }",
            json!({}),
        )
        .await["product"]["variants"][0]["id"]
        .clone();
    let placed = app
        .query_as(
            &buyer,
            "mutation($id: ID!) { placeOrder(input: {
                lines: [{ variantId: $id, quantity: 1 }], idempotencyKey: \"k-1\", paymentMethod: BANK_TRANSFER,
                shippingAddress: { name: \"李华\", phone: \"13800000000\", province: \"重庆市\", city: \"重庆市\", district: \"涪陵区\", line1: \"一号\" }
            }) { order { id } userErrors { code } } }",
            json!({ "id": variant }),
        )
        .await;
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]), "{placed}");
    let history = "query($id: ID!) { stockHistory(variantId: $id) { reservedDelta actorId } }";
    let grower_view = app.query_as(&grower, history, json!({ "id": variant })).await;
    let reservation = &grower_view["stockHistory"][0];
    assert_eq!(reservation["reservedDelta"], json!(1));
    assert_eq!(reservation["actorId"], Value::Null, "a grower learns no buyer's id");
    let operator_view = app.query_as(&operator, history, json!({ "id": variant })).await;
    assert_eq!(operator_view["stockHistory"][0]["actorId"], json!(buyer.user_id));
}
