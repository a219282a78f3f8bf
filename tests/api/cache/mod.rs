//! The storefront cache: hits, exact freshness after every kind of write, stock kept apart,
//! one recomputation per stampede, Redis failing and coming back, replicas sharing Redis, Redis
//! Cluster, persisted queries and CDN headers.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use huakai::accounts::Role;
use serde_json::{Value, json};

use crate::support::{Actor, Backend, TestApp, fen, service_missing};

mod freshness;
mod persisted;
mod redis_outages;
mod stock;

/// A query the storefront really sends: a page of products with their variants and stock.
const STOREFRONT: &str = "query Storefront($first: Int, $filter: ProductFilter) {
    products(first: $first, filter: $filter) {
        totalCount
        nodes { slug name inStock priceRange { min { amount } } variants { id name price { amount } available } }
    }
}";

async fn counter(app: &TestApp, metric: &str, operation: &str) -> u64 {
    let text = app
        .http()
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .filter(|line| line.starts_with(metric) && line.contains(&format!("operation=\"{operation}\"")))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Runs the storefront query under `operation` and returns its data.
async fn storefront(app: &TestApp, operation: &str, variables: Value) -> Value {
    let answer: Value = app
        .http()
        .post(app.url("/graphql"))
        .json(&json!({ "query": STOREFRONT.replacen("Storefront", operation, 1), "variables": variables, "operationName": operation }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(answer.get("errors").is_none(), "{answer:#}");
    answer["data"].clone()
}

fn product<'a>(data: &'a Value, slug: &str) -> Option<&'a Value> {
    data["products"]["nodes"]
        .as_array()?
        .iter()
        .find(|node| node["slug"] == slug)
}

/// Hits after the first query, and every kind of storefront write visible at once.
/// `op` names the operation in this test's metrics (one of `support::METRIC_OPERATIONS`).
async fn hits_and_freshness(app: &TestApp, reader: &TestApp, op: &str) {
    let page = json!({ "first": 100 });
    let first = storefront(reader, op, page.clone()).await;
    let again = storefront(reader, op, page.clone()).await;
    assert_eq!(first, again);
    assert!(
        counter(reader, "huakai_cache_hits_total", op).await >= 1,
        "the repeat is a hit"
    );
    // A hit reads its stock from the mirror, filled by the first hit's database read (which
    // reaches Redis a moment after that answer): hits then run no SQL at all.
    let mut hit_without_sql = false;
    for _ in 0..50 {
        let statements_before = reader.server.state.statements_executed();
        assert_eq!(storefront(reader, op, page.clone()).await, first);
        if reader.server.state.statements_executed() == statements_before {
            hit_without_sql = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(hit_without_sql, "a hit reads its stock without the database");

    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let lobster = product(&first, "changyuan-xiaolongxia")
        .expect("lobster listed")
        .clone();
    let variant_id = lobster["variants"][0]["id"].clone();

    // Price and name.
    let changed = app
        .query_as(
            &operator,
            "mutation($id: ID!) { updateVariant(variantId: $id, input: { price: \"66.60\", name: \"1 kg 特惠装\" }) { userErrors { code } } }",
            json!({ "id": variant_id }),
        )
        .await;
    assert_eq!(changed["updateVariant"]["userErrors"], json!([]));
    let now = storefront(reader, op, page.clone()).await;
    let lobster_now = product(&now, "changyuan-xiaolongxia").expect("listed");
    assert_eq!(lobster_now["variants"][0]["price"]["amount"], "66.60");
    assert_eq!(lobster_now["variants"][0]["name"], "1 kg 特惠装");
    assert_eq!(lobster_now["priceRange"]["min"]["amount"], "66.60");

    // Stock, many times over, as in a flash sale: always fresh, and still answered by the cache.
    let hits_before = counter(reader, "huakai_cache_hits_total", op).await;
    let mut expected = lobster_now["variants"][0]["available"].as_i64().expect("available");
    for delta in [-3, -5, 2, -1] {
        app.query_as(
            &operator,
            "mutation($id: ID!, $delta: Int!) { adjustStock(variantId: $id, delta: $delta, reason: \"直播\") { userErrors { code } } }",
            json!({ "id": variant_id, "delta": delta }),
        )
        .await;
        expected += delta;
        let now = storefront(reader, op, page.clone()).await;
        let lobster_now = product(&now, "changyuan-xiaolongxia").expect("listed");
        assert_eq!(
            lobster_now["variants"][0]["available"],
            json!(expected),
            "stock is never stale"
        );
    }
    assert!(
        counter(reader, "huakai_cache_hits_total", op).await >= hits_before + 4,
        "stock changes do not turn the page into a miss"
    );

    // Selling out takes the product off an in-stock list; restocking brings it back.
    let in_stock = json!({ "first": 100, "filter": { "inStock": true } });
    assert!(
        product(
            &storefront(reader, op, in_stock.clone()).await,
            "huachong-gaoshan-yangmei"
        )
        .is_some()
    );
    let bayberry = app
        .query(
            "{ product(slug: \"huachong-gaoshan-yangmei\") { variants { id available } } }",
            json!({}),
        )
        .await;
    let bayberry_variant = &bayberry["product"]["variants"][0];
    let bayberry_stock = bayberry_variant["available"].as_i64().expect("available");
    let adjust = "mutation($id: ID!, $delta: Int!) { adjustStock(variantId: $id, delta: $delta, reason: \"盘点\") { userErrors { code } } }";
    app.query_as(
        &operator,
        adjust,
        json!({ "id": bayberry_variant["id"], "delta": -bayberry_stock }),
    )
    .await;
    let sold_out = storefront(reader, op, in_stock.clone()).await;
    assert!(
        product(&sold_out, "huachong-gaoshan-yangmei").is_none(),
        "sold out leaves the in-stock list"
    );
    let everything = storefront(reader, op, page.clone()).await;
    assert_eq!(
        product(&everything, "huachong-gaoshan-yangmei").expect("still listed")["inStock"],
        json!(false)
    );
    app.query_as(&operator, adjust, json!({ "id": bayberry_variant["id"], "delta": 5 }))
        .await;
    assert!(
        product(
            &storefront(reader, op, in_stock.clone()).await,
            "huachong-gaoshan-yangmei"
        )
        .is_some()
    );

    // A new product.
    let total_before = storefront(reader, op, page.clone()).await["products"]["totalCount"].clone();
    let created = app
        .query_as(
            &operator,
            "mutation($input: NewProductInput!) { createProduct(input: $input) { product { slug } userErrors { code field } } }",
            json!({ "input": {
                "slug": "sanwang-baihe-mi", "name": "三旺村百合蜜", "categorySlug": "ganhuo-shanhuo",
                "producerSlug": "sanwang-baihe-hezuoshe", "catalogueCode": null,
                "variants": [{ "sku": "SW-BHM-250G", "name": "250 g", "price": "48.00", "weightGrams": 250, "stock": 30 }]
            } }),
        )
        .await;
    assert_eq!(created["createProduct"]["userErrors"], json!([]));
    let now = storefront(reader, op, page.clone()).await;
    assert_eq!(
        now["products"]["totalCount"],
        json!(total_before.as_u64().expect("count") + 1)
    );
    assert!(product(&now, "sanwang-baihe-mi").is_some_and(|p| p["inStock"] == json!(true)));

    // A catalogue entry lapsing.
    let entry = app
        .query(
            "{ product(slug: \"changyuan-xiaolongxia\") { catalogueCode } }",
            json!({}),
        )
        .await;
    let yesterday = huakai::catalogue::today_in_china() - chrono::Duration::days(1);
    app.query_as(
        &operator,
        "mutation($code: String!, $to: NaiveDate!) { updateCatalogueEntry(code: $code, input: { validTo: $to }) { userErrors { code } } }",
        json!({ "code": entry["product"]["catalogueCode"], "to": yesterday.to_string() }),
    )
    .await;
    let now = storefront(reader, op, page.clone()).await;
    assert_eq!(
        product(&now, "changyuan-xiaolongxia").expect("listed")["inStock"],
        json!(false)
    );
    assert!(product(&storefront(reader, op, in_stock).await, "changyuan-xiaolongxia").is_none());
}

/// A redis-server of the test's own, to stop and start.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    listener.local_addr().expect("address").port()
}

impl OwnRedis {
    fn start() -> OwnRedis {
        let mut redis = OwnRedis {
            port: free_port(),
            child: None,
            dir: tempfile::tempdir().expect("folder"),
        };
        redis.resume();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        wait_for_port(self.port);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn wait_for_port(port: u16) {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on {port}");
}
