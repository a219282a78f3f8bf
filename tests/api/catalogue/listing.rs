//! The product list: every contract field, pages, sorts, filters, Chinese search, single
//! lookups and villages.

use super::*;

on_each_backend!(
    product_list_answers_every_contract_field,
    walking_pages_of_seven_returns_every_product_once_in_each_sort,
    filters_narrow_the_list,
    search_finds_chinese_text,
    single_lookups_and_nodes,
    villages_list_their_products,
);

async fn product_list_answers_every_contract_field(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let data = app
        .query(
            &format!(
                "query($first: Int) {{ products(first: $first) {{
                    totalCount
                    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
                    edges {{ cursor node {{ {PRODUCT_FIELDS} }} }}
                    nodes {{ id }}
                }} }}"
            ),
            json!({ "first": 5 }),
        )
        .await;
    let products = &data["products"];
    let in_database = product::Entity::find().count(app.db()).await.expect("count");
    assert_eq!(products["totalCount"], json!(in_database));
    assert_eq!(products["pageInfo"]["hasNextPage"], json!(true));
    assert_eq!(products["pageInfo"]["hasPreviousPage"], json!(false));
    let edges = products["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 5);
    assert_eq!(products["pageInfo"]["endCursor"], edges[4]["cursor"]);
    assert_eq!(products["nodes"][0]["id"], edges[0]["node"]["id"]);
    for edge in edges {
        let node = &edge["node"];
        let kind = node["producer"]["kind"].as_str().expect("kind");
        assert!(["HOUSEHOLD", "COOPERATIVE", "WORKSHOP"].contains(&kind));
        let variants = node["variants"].as_array().expect("variants");
        assert!(!variants.is_empty(), "every product has variants");
        let prices: Vec<i64> = variants.iter().map(|v| fen(&v["price"])).collect();
        assert_eq!(fen(&node["priceRange"]["min"]), *prices.iter().min().expect("a price"));
        assert_eq!(fen(&node["priceRange"]["max"]), *prices.iter().max().expect("a price"));
        for variant in variants {
            assert_eq!(variant["price"]["currency"], "CNY");
            let amount = variant["price"]["amount"].as_str().expect("amount");
            assert!(
                amount.split_once('.').is_some_and(|(_, fraction)| fraction.len() == 2),
                "{amount}"
            );
        }
    }
}

/// "12.50" → 1250: the decimal string the API shows, back in fen.
async fn all_pages(app: &TestApp, sort: &str, filter: Value) -> Vec<Value> {
    let mut products = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app
            .query(
                "query($after: String, $sort: ProductSort, $filter: ProductFilter) {
                    products(first: 7, after: $after, sort: $sort, filter: $filter) {
                        pageInfo { hasNextPage endCursor }
                        nodes { slug listedAt priceRange { min { amount } } }
                    }
                }",
                json!({ "after": after, "sort": sort, "filter": filter }),
            )
            .await;
        let page = &data["products"];
        let nodes = page["nodes"].as_array().expect("nodes");
        assert!(nodes.len() <= 7);
        products.extend(nodes.iter().cloned());
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            return products;
        }
        after = page["pageInfo"]["endCursor"].clone();
        assert!(products.len() < 1000, "pagination does not end");
    }
}

async fn walking_pages_of_seven_returns_every_product_once_in_each_sort(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let all: HashSet<String> = product::Entity::find()
        .all(app.db())
        .await
        .expect("products")
        .into_iter()
        .map(|p| p.slug)
        .collect();
    assert!(all.len() >= 20, "the demo catalogue has at least 20 products");
    for sort in ["NEWEST", "PRICE_ASC", "PRICE_DESC", "BEST_SELLING"] {
        let walked = all_pages(&app, sort, Value::Null).await;
        let slugs: Vec<String> = walked
            .iter()
            .map(|p| p["slug"].as_str().expect("slug").to_owned())
            .collect();
        let unique: HashSet<String> = slugs.iter().cloned().collect();
        assert_eq!(slugs.len(), unique.len(), "{sort}: a product appeared twice");
        assert_eq!(unique, all, "{sort}: every product exactly once");
        let prices: Vec<i64> = walked.iter().map(|p| fen(&p["priceRange"]["min"])).collect();
        match sort {
            "PRICE_ASC" => assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}"),
            "PRICE_DESC" => assert!(prices.windows(2).all(|w| w[0] >= w[1]), "{prices:?}"),
            "NEWEST" => {
                let listed: Vec<chrono::DateTime<chrono::Utc>> = walked
                    .iter()
                    .map(|p| p["listedAt"].as_str().expect("listedAt").parse().expect("a time"))
                    .collect();
                assert!(listed.windows(2).all(|w| w[0] >= w[1]), "{listed:?}");
            }
            _ => {}
        }
    }
    let units_sold: std::collections::HashMap<String, i64> = product::Entity::find()
        .all(app.db())
        .await
        .expect("products")
        .into_iter()
        .map(|p| (p.slug, p.units_sold))
        .collect();
    let by_sales: Vec<i64> = all_pages(&app, "BEST_SELLING", Value::Null)
        .await
        .iter()
        .map(|p| units_sold[p["slug"].as_str().expect("slug")])
        .collect();
    assert!(by_sales.windows(2).all(|w| w[0] >= w[1]), "{by_sales:?}");
}

async fn filters_narrow_the_list(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let query = "query($filter: ProductFilter) { products(first: 100, filter: $filter) {
        totalCount nodes { slug inStock category { slug } village { slug } } } }";

    let data = app
        .query(query, json!({ "filter": { "categorySlug": "shuichan" } }))
        .await;
    let nodes = data["products"]["nodes"].as_array().expect("nodes").clone();
    assert!(!nodes.is_empty());
    assert!(nodes.iter().all(|n| n["category"]["slug"] == "shuichan"));
    assert_eq!(data["products"]["totalCount"], json!(nodes.len()));

    let data = app
        .query(query, json!({ "filter": { "villageSlug": "sanwang-cun" } }))
        .await;
    let nodes = data["products"]["nodes"].as_array().expect("nodes").clone();
    assert!(!nodes.is_empty());
    assert!(nodes.iter().all(|n| n["village"]["slug"] == "sanwang-cun"));

    let everything = app.query(query, json!({})).await["products"]["totalCount"]
        .as_u64()
        .expect("count");
    let in_stock = app.query(query, json!({ "filter": { "inStock": true } })).await;
    let in_stock_nodes = in_stock["products"]["nodes"].as_array().expect("nodes").clone();
    assert!(in_stock_nodes.iter().all(|n| n["inStock"] == json!(true)));
    let out_of_stock = app.query(query, json!({ "filter": { "inStock": false } })).await;
    let out_nodes = out_of_stock["products"]["nodes"].as_array().expect("nodes").clone();
    assert!(out_nodes.iter().all(|n| n["inStock"] == json!(false)));
    assert_eq!(
        in_stock_nodes.len() + out_nodes.len(),
        usize::try_from(everything).expect("fits")
    );
    // The demo has one sold-out product and one whose catalogue entry lapsed.
    let off_sale: HashSet<&str> = out_nodes.iter().map(|n| n["slug"].as_str().expect("slug")).collect();
    assert!(
        off_sale.contains("zhuting-zhongqiu-duokouwei-yuebing-lihe"),
        "sold out: {off_sale:?}"
    );
    assert!(
        off_sale.contains("huachong-shantang-layu"),
        "lapsed entry: {off_sale:?}"
    );

    // Selling the last units takes a product off the in-stock list at once.
    let first = &in_stock_nodes[0]["slug"];
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let variants = app
        .query(
            "query($slug: String!) { product(slug: $slug) { variants { id available } } }",
            json!({ "slug": first }),
        )
        .await;
    for variant in variants["product"]["variants"].as_array().expect("variants") {
        let available = variant["available"].as_i64().expect("available");
        if available > 0 {
            let emptied = app
                .query_as(
                    &operator,
                    "mutation($id: ID!, $delta: Int!) { adjustStock(variantId: $id, delta: $delta, reason: \"售罄\") { userErrors { code } } }",
                    json!({ "id": variant["id"], "delta": -available }),
                )
                .await;
            assert_eq!(emptied["adjustStock"]["userErrors"], json!([]));
        }
    }
    let after = app.query(query, json!({ "filter": { "inStock": true } })).await;
    let slugs: Vec<&Value> = after["products"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| &n["slug"])
        .collect();
    assert!(!slugs.contains(&first));
    assert_eq!(slugs.len(), in_stock_nodes.len() - 1);

    let unknown = app
        .query(query, json!({ "filter": { "categorySlug": "no-such-category" } }))
        .await;
    assert_eq!(unknown["products"]["totalCount"], json!(0));
}

async fn search_finds_chinese_text(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let search = |term: &'static str| {
        let app = &app;
        async move {
            app.query(
                "query($term: String) { products(first: 100, filter: { search: $term }) {
                    totalCount nodes { slug name description } } }",
                json!({ "term": term }),
            )
            .await["products"]
                .clone()
        }
    };
    let lilies = search("百合").await;
    let nodes = lilies["nodes"].as_array().expect("nodes");
    let expected = product::Entity::find()
        .all(app.db())
        .await
        .expect("products")
        .into_iter()
        .filter(|p| p.name.contains("百合") || p.description.contains("百合"))
        .count();
    assert!(expected >= 3, "the demo has several lily products");
    assert_eq!(nodes.len(), expected);
    assert!(nodes.iter().all(|n| {
        n["name"].as_str().is_some_and(|s| s.contains("百合"))
            || n["description"].as_str().is_some_and(|s| s.contains("百合"))
    }));
    assert!(
        nodes
            .iter()
            .any(|n| n["name"].as_str().is_some_and(|s| s.contains("百合")))
    );

    let mooncakes = search("月饼").await;
    assert!(
        mooncakes["nodes"].as_array().is_some_and(|nodes| !nodes.is_empty()),
        "{mooncakes}"
    );
    // Wildcards are literal text, not patterns.
    assert_eq!(search("%").await["totalCount"], json!(0));
    assert_eq!(search("_").await["totalCount"], json!(0));
    // Blank search is no filter.
    let all = product::Entity::find().count(app.db()).await.expect("count");
    assert_eq!(search("  ").await["totalCount"], json!(all));
}

async fn single_lookups_and_nodes(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let data = app
        .query(
            &format!("{{ product(slug: \"changyuan-xiaolongxia\") {{ {PRODUCT_FIELDS} }} missing: product(slug: \"nope\") {{ id }} }}"),
            json!({}),
        )
        .await;
    let lobster = &data["product"];
    assert_eq!(lobster["name"], "长远村鲜活小龙虾");
    assert_eq!(lobster["village"]["name"], "长远村");
    assert_eq!(data["missing"], Value::Null);

    // Every kind of catalogue object comes back through node(id:) as itself.
    let ids = [
        (lobster["id"].clone(), "Product"),
        (lobster["variants"][0]["id"].clone(), "Variant"),
        (lobster["village"]["id"].clone(), "Village"),
        (lobster["producer"]["id"].clone(), "Producer"),
    ];
    for (id, typename) in ids {
        let data = app
            .query(
                "query($id: ID!) { node(id: $id) { __typename id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(data["node"]["__typename"], typename);
        assert_eq!(data["node"]["id"], id);
    }
    let data = app
        .query(
            "query($id: ID!) { node(id: $id) { ... on Variant { sku price { amount } product { slug } } } }",
            json!({ "id": lobster["variants"][0]["id"] }),
        )
        .await;
    assert_eq!(data["node"]["sku"], lobster["variants"][0]["sku"]);
    assert_eq!(data["node"]["product"]["slug"], "changyuan-xiaolongxia");

    for bogus in ["", "garbage", "UHJvZHVjdDo5OTk5OTk"] {
        let data = app
            .query("query($id: ID!) { node(id: $id) { id } }", json!({ "id": bogus }))
            .await;
        assert_eq!(data["node"], Value::Null, "{bogus:?}");
    }

    let categories = app.query("{ categories { slug name } }", json!({})).await;
    let categories = categories["categories"].as_array().expect("categories");
    assert!(categories.len() >= 5);
    assert!(categories.iter().any(|c| c["name"] == "水产"));
}

async fn villages_list_their_products(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let data = app
        .query(
            "{ villages(first: 20) { totalCount nodes { slug name town district registeredPoor
                products(first: 30) { totalCount nodes { village { slug } } } } } }",
            json!({}),
        )
        .await;
    let villages = data["villages"]["nodes"].as_array().expect("villages");
    assert!(villages.len() >= 5, "the demo spans at least 5 villages");
    assert_eq!(data["villages"]["totalCount"], json!(villages.len()));
    let mut listed = 0;
    for village in villages {
        let products = village["products"]["nodes"].as_array().expect("products");
        assert!(products.iter().all(|p| p["village"]["slug"] == village["slug"]));
        assert_eq!(village["products"]["totalCount"], json!(products.len()));
        listed += products.len();
    }
    assert_eq!(
        listed,
        usize::try_from(product::Entity::find().count(app.db()).await.expect("count")).expect("fits")
    );

    let data = app
        .query(
            "{ village(slug: \"huachong-cun\") { name town registeredPoor } none: village(slug: \"x\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(data["village"]["name"], "花冲村");
    assert_eq!(data["village"]["town"], "龙门镇");
    assert_eq!(data["village"]["registeredPoor"], json!(true));
    assert_eq!(data["none"], Value::Null);

    let page = app
        .query(
            "{ villages(first: 3) { pageInfo { hasNextPage endCursor } nodes { slug } } }",
            json!({}),
        )
        .await;
    let rest = app
        .query(
            "query($after: String) { villages(first: 100, after: $after) { nodes { slug } } }",
            json!({ "after": page["villages"]["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(
        page["villages"]["nodes"].as_array().map(Vec::len).unwrap_or(0)
            + rest["villages"]["nodes"].as_array().map(Vec::len).unwrap_or(0),
        villages.len()
    );
}
