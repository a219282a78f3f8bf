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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_cache_hits_and_stays_fresh() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite needs no service");
    hits_and_freshness(&app, &app, "StorefrontInProcess").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cache_hits_and_stays_fresh_across_replicas() {
    let Some(writer) = TestApp::spawn_with_redis(Backend::Postgres, &[]).await else {
        return;
    };
    let reader = writer.another_instance().await;
    let ready: Value = reader
        .http()
        .get(reader.url("/readyz"))
        .send()
        .await
        .expect("readyz")
        .json()
        .await
        .expect("json");
    assert_eq!(ready["cache"], "redis");
    hits_and_freshness(&writer, &reader, "StorefrontAcrossReplicas").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stampede_recomputes_once() {
    let Some(app) = TestApp::spawn_with_redis(Backend::Postgres, &[]).await else {
        return;
    };
    let op = "StorefrontStampede";
    let page = json!({ "first": 50 });
    // The cost of one computation.
    let before = app.server.state.statements_executed();
    storefront(&app, op, page.clone()).await;
    let one = app.server.state.statements_executed() - before;
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let variant = app
        .query("{ product(slug: \"longtan-huangtao\") { variants { id } } }", json!({}))
        .await;
    app.query_as(
        &operator,
        "mutation($id: ID!) { updateVariant(variantId: $id, input: { name: \"礼盒装\" }) { userErrors { code } } }",
        json!({ "id": variant["product"]["variants"][0]["id"] }),
    )
    .await;

    let before = app.server.state.statements_executed();
    let answers = futures::future::join_all((0..24).map(|_| storefront(&app, op, page.clone()))).await;
    let spent = app.server.state.statements_executed() - before;
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    // One recomputation, then a stock query per waiting request at most.
    assert!(
        spent <= one + 24,
        "24 concurrent requests spent {spent} statements; one computation costs {one}"
    );
    assert!(counter(&app, "huakai_cache_misses_total", op).await <= 2);
}

/// Hits waiting at the same moment share one Redis read of the versions, yet each sees every
/// write answered before it was sent: a writer raises a price again and again on one replica
/// while readers keep the other busy, and no reader sees a price older than the last one
/// answered before it asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_hits_share_their_reads_and_see_every_write_before_them() {
    let Some(writer) = TestApp::spawn_with_redis(Backend::Postgres, &[]).await else {
        return;
    };
    let reader = Arc::new(writer.another_instance().await);
    let op = "StorefrontSharedReads";
    let slug = "longtan-huangtao";
    let price_seen = |data: &Value| fen(&product(data, slug).expect("listed")["variants"][0]["price"]);
    let page = json!({ "first": 100 });
    let answered = Arc::new(AtomicI64::new(price_seen(&storefront(&reader, op, page.clone()).await)));
    let operator = writer.user("operator@example.com", Role::Admin, None).await;
    let variant = writer
        .query("{ product(slug: \"longtan-huangtao\") { variants { id } } }", json!({}))
        .await;
    let variant_id = variant["product"]["variants"][0]["id"].clone();
    let reads_before = reader.server.state.cache.version_reads();
    let hits_before = counter(&reader, "huakai_cache_hits_total", op).await;

    // Readers that never pause, so a read of the versions is nearly always on its way when a
    // write is answered: a request that joined that read would see the price before the write.
    let writing = Arc::new(AtomicBool::new(true));
    let readers: Vec<_> = (0..16)
        .map(|_| {
            let (reader, answered, writing, page) = (reader.clone(), answered.clone(), writing.clone(), page.clone());
            tokio::spawn(async move {
                let mut requests = 0u64;
                while writing.load(Ordering::Acquire) {
                    let floor = answered.load(Ordering::Acquire);
                    let seen = price_seen(&storefront(&reader, op, page.clone()).await);
                    assert!(seen >= floor, "a reader saw {seen} fen after {floor} fen was answered");
                    requests += 1;
                }
                requests
            })
        })
        .collect();
    for _ in 0..20 {
        let raise = answered.load(Ordering::Acquire) + 1;
        let written = writer
            .query_as(
                &operator,
                "mutation($id: ID!, $price: String!) { updateVariant(variantId: $id, input: { price: $price }) { userErrors { code } } }",
                json!({ "id": variant_id, "price": format!("{}.{:02}", raise / 100, raise % 100) }),
            )
            .await;
        assert_eq!(written["updateVariant"]["userErrors"], json!([]));
        answered.store(raise, Ordering::Release);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    writing.store(false, Ordering::Release);
    let mut requests = 0;
    for reader in readers {
        requests += reader.await.expect("a reader failed");
    }
    let hits = counter(&reader, "huakai_cache_hits_total", op).await - hits_before;
    let reads = reader.server.state.cache.version_reads() - reads_before;
    assert!(hits > 0, "the readers were answered from the cache");
    assert!(
        reads < requests,
        "{requests} requests ({hits} hits) made {reads} reads of the versions: none shared"
    );
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

fn redis_server_available() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        service_missing("redis-server (the binary, to start a Redis of the test's own)");
    }
    found
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shop_carries_on_while_redis_is_down_and_caches_again_when_it_is_back() {
    if !redis_server_available() {
        return;
    }
    let mut redis = OwnRedis::start();
    let url = redis.url();
    let app = TestApp::spawn_with(Backend::Sqlite, &[("REDIS_URL", &url)])
        .await
        .expect("SQLite");
    let op = "StorefrontRedisDown";
    let page = json!({ "first": 20 });
    let expected = storefront(&app, op, page.clone()).await;
    storefront(&app, op, page.clone()).await;
    assert!(counter(&app, "huakai_cache_hits_total", op).await >= 1);

    redis.stop();
    for _ in 0..20 {
        let started = Instant::now();
        assert_eq!(
            storefront(&app, op, page.clone()).await,
            expected,
            "answered from the database"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "no long waits: {:?}",
            started.elapsed()
        );
    }
    let ready = app.http().get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 200, "the shop stays ready without its cache");
    let ready: Value = ready.json().await.expect("json");
    assert_eq!(ready["cache"], "redis-down");

    redis.resume();
    let hits_before = counter(&app, "huakai_cache_hits_total", op).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while counter(&app, "huakai_cache_hits_total", op).await < hits_before + 2 {
        assert!(
            Instant::now() < deadline,
            "caching did not resume after Redis came back"
        );
        assert_eq!(storefront(&app, op, page.clone()).await, expected);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_serves_the_cache() {
    if !redis_server_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("folder");
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut nodes: Vec<OwnRedis> = Vec::new();
    for port in &ports {
        let node_dir = tempfile::tempdir_in(dir.path()).expect("folder");
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"])
            .arg("--dir")
            .arg(node_dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        wait_for_port(*port);
        nodes.push(OwnRedis {
            port: *port,
            child: Some(child),
            dir: node_dir,
        });
    }
    let addresses: Vec<String> = ports.iter().map(|port| format!("127.0.0.1:{port}")).collect();
    let created = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addresses)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .expect("redis-cli runs");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stdout));
    for port in &ports {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let info = Command::new("redis-cli")
                .args(["-p", &port.to_string(), "cluster", "info"])
                .output()
                .expect("redis-cli");
            if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                break;
            }
            assert!(Instant::now() < deadline, "the cluster did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let url = ports
        .iter()
        .map(|port| format!("redis://127.0.0.1:{port}"))
        .collect::<Vec<_>>()
        .join(",");
    let app = TestApp::spawn_with(Backend::Sqlite, &[("REDIS_URL", &url)])
        .await
        .expect("SQLite");
    let ready: Value = app
        .http()
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("readyz")
        .json()
        .await
        .expect("json");
    assert_eq!(ready["cache"], "redis");
    hits_and_freshness(&app, &app, "StorefrontCluster").await;
    // Entries, stock figures and persisted queries spread over the masters: only the two
    // versions share a slot.
    for port in &ports {
        let keys = Command::new("redis-cli")
            .args(["-p", &port.to_string(), "dbsize"])
            .output()
            .expect("redis-cli");
        let keys: u64 = String::from_utf8_lossy(&keys.stdout).trim().parse().expect("a count");
        assert!(keys > 0, "the master on port {port} holds none of the shop's keys");
    }
    drop(nodes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persisted_queries_and_cdn_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite needs no service");
    let query = "{ categories { slug name } }";
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(query.as_bytes()))
    };
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });

    let unknown: Value = app
        .http()
        .post(app.url("/graphql"))
        .json(&json!({ "extensions": extensions }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(unknown["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND");

    let wrong = app
        .http()
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ products { totalCount } }", "extensions": extensions }))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), 400, "a query must match its hash");

    let registered: Value = app
        .http()
        .post(app.url("/graphql"))
        .json(&json!({ "query": query, "extensions": extensions }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(
        registered["data"]["categories"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );

    // Now a short GET carries only the hash, and a CDN may keep the answer if it revalidates.
    let get = app
        .http()
        .get(app.url("/graphql"))
        .query(&[("extensions", extensions.to_string())])
        .send()
        .await
        .expect("request");
    assert_eq!(get.status(), 200);
    assert_eq!(get.headers()["cache-control"], "public, no-cache");
    let etag = get.headers()["etag"].clone();
    let body: Value = get.json().await.expect("json");
    assert_eq!(body, registered);
    let revalidated = app
        .http()
        .get(app.url("/graphql"))
        .query(&[("extensions", extensions.to_string())])
        .header("if-none-match", etag)
        .send()
        .await
        .expect("request");
    assert_eq!(revalidated.status(), 304);

    // A signed-in caller's answer is never for a shared cache.
    let buyer: Actor = app.user("buyer@example.com", Role::Buyer, None).await;
    let private = app
        .http()
        .get(app.url("/graphql"))
        .query(&[("query", "{ me { email } }")])
        .bearer_auth(buyer.token.expect("token"))
        .send()
        .await
        .expect("request");
    assert_eq!(private.status(), 200);
    assert_eq!(private.headers()["cache-control"], "private, no-store");
}

/// Writers on two replicas race to add stock to one variant (each change +1, so the database's
/// figure only grows) while readers on both replicas read it through the cache. Every figure
/// read must be one the database held at some moment from `STALENESS_BOUND` before the read
/// was sent until it was answered.
async fn stock_is_never_further_behind_than_stated(writer: &TestApp, other: &TestApp) {
    const WRITERS: usize = 4;
    const WRITES_EACH: usize = 12;
    let bound = huakai::cache::stock::STALENESS_BOUND;
    let operator = writer.user("operator@example.com", Role::Admin, None).await;
    let read = "{ product(slug: \"changyuan-xiaolongxia\") { variants { id available } } }";
    let start = writer.query(read, json!({})).await;
    let variant_id = start["product"]["variants"][0]["id"].clone();
    let base = start["product"]["variants"][0]["available"]
        .as_i64()
        .expect("available");
    let apps = [writer, other];

    let writes = futures::future::join_all((0..WRITERS).map(|w| {
        let (app, operator, variant_id) = (apps[w % 2], operator.clone(), variant_id.clone());
        async move {
            let mut windows = Vec::new();
            for _ in 0..WRITES_EACH {
                let sent = Instant::now();
                let data = app
                    .query_as(
                        &operator,
                        "mutation($id: ID!) { adjustStock(variantId: $id, delta: 1, reason: \"补货\") { userErrors { code } } }",
                        json!({ "id": variant_id }),
                    )
                    .await;
                assert_eq!(data["adjustStock"]["userErrors"], json!([]));
                windows.push((sent, Instant::now()));
            }
            windows
        }
    }));
    let writing = std::sync::atomic::AtomicBool::new(true);
    let reads = futures::future::join_all((0..4).map(|r| {
        let (app, writing) = (apps[r % 2], &writing);
        async move {
            let mut seen = Vec::new();
            while writing.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let data = app.query(read, json!({})).await;
                let available = data["product"]["variants"][0]["available"].as_i64().expect("available");
                seen.push((sent, Instant::now(), available));
            }
            seen
        }
    }));
    let writes = async {
        let windows = writes.await;
        writing.store(false, Ordering::Relaxed);
        windows
    };
    let (windows, seen) = tokio::join!(writes, reads);
    let windows: Vec<(Instant, Instant)> = windows.into_iter().flatten().collect();
    let seen: Vec<(Instant, Instant, i64)> = seen.into_iter().flatten().collect();
    assert!(seen.len() >= 20, "only {} reads raced the writes", seen.len());
    for (sent, answered, available) in seen {
        // Changes certainly committed by `bound` before the read was sent, and changes that
        // may have committed before it was answered.
        let committed_earlier = windows
            .iter()
            .filter(|(_, done)| sent.checked_sub(bound).is_some_and(|limit| *done < limit))
            .count() as i64;
        let possibly_committed = windows.iter().filter(|(began, _)| *began < answered).count() as i64;
        assert!(
            (base + committed_earlier..=base + possibly_committed).contains(&available),
            "a read showed {available}; the database held {} to {} in the stated window",
            base + committed_earlier,
            base + possibly_committed
        );
    }
    let last = writer.query(read, json!({})).await;
    assert_eq!(
        last["product"]["variants"][0]["available"],
        json!(base + (WRITERS * WRITES_EACH) as i64),
        "after the writes answered, the next read shows them all"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_races_stay_within_the_bound_in_process() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite needs no service");
    stock_is_never_further_behind_than_stated(&app, &app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_races_stay_within_the_bound_across_replicas() {
    let Some(writer) = TestApp::spawn_with_redis(Backend::Postgres, &[]).await else {
        return;
    };
    let reader = writer.another_instance().await;
    stock_is_never_further_behind_than_stated(&writer, &reader).await;
}

/// Two writers announce figures of one variant in the wrong order (the later change's figure
/// lands first): the mirror keeps the newer one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stock_mirror_refuses_an_older_figure() {
    use huakai::cache::stock::{Reading, StockLevel, offer_to_redis, redis_key};
    use huakai::infra::ids::VariantId;
    let Some(test_redis) = crate::support::TestRedis::create() else {
        return;
    };
    let redis = huakai::infra::redis::Redis::connect(&test_redis.url, &test_redis.prefix).expect("redis");
    let reading = |available, version| Reading {
        levels: std::collections::HashMap::from([(VariantId(42), StockLevel { available, version })]),
        read_at: Instant::now(),
    };
    offer_to_redis(&redis, &reading(7, 5)).await;
    offer_to_redis(&redis, &reading(9, 4)).await;
    let client = redis::Client::open(test_redis.url.as_str()).expect("client");
    let mut connection = client.get_multiplexed_async_connection().await.expect("connects");
    let held: String = redis::AsyncCommands::get(&mut connection, redis_key(&redis, VariantId(42)))
        .await
        .expect("a figure");
    assert_eq!(held, "5:7", "the newer figure stays");
    offer_to_redis(&redis, &reading(6, 6)).await;
    let held: String = redis::AsyncCommands::get(&mut connection, redis_key(&redis, VariantId(42)))
        .await
        .expect("a figure");
    assert_eq!(held, "6:6");
    let ttl: i64 = redis::AsyncCommands::pttl(&mut connection, redis_key(&redis, VariantId(42)))
        .await
        .expect("ttl");
    assert!(
        ttl > 0 && ttl <= huakai::cache::stock::MIRROR_TTL.as_millis() as i64,
        "a figure lives at most the mirror's time to live: {ttl} ms"
    );
}

/// Many viewers reload the product page the moment a write made its entry stale, on two
/// replicas: one request computes it, and the others are answered as soon as it is stored,
/// not one after another. The same for an answer that cannot be cached at all (it has an
/// error): each request is answered on its own, none waits for an entry that never comes.
/// (Before, each of the 32 requests a replica got waited 200 ms after the one before it:
/// over 6 s for the last; the bound leaves room for a loaded machine.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_do_not_queue_behind_each_other() {
    let Some(app) = TestApp::spawn_with_redis(Backend::Postgres, &[]).await else {
        return;
    };
    let other = app.another_instance().await;
    let page = "{ product(slug: \"changyuan-xiaolongxia\") { name inStock priceRange { min { amount } } variants { id name available } } }";
    let broken = "{ product(slug: \"changyuan-xiaolongxia\") { name noSuchField } }";
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let variant = app.query(page, json!({})).await["product"]["variants"][0]["id"].clone();
    for round in 0..3 {
        app.query_as(
            &operator,
            "mutation($id: ID!, $name: String!) { updateVariant(variantId: $id, input: { name: $name }) { userErrors { code } } }",
            json!({ "id": variant, "name": format!("第{round}版") }),
        )
        .await;
        let started = Instant::now();
        let answers = futures::future::join_all((0..64).map(|i| {
            let app = if i % 2 == 0 { &app } else { &other };
            async move { app.query(page, json!({})).await }
        }))
        .await;
        let slowest = started.elapsed();
        assert!(answers.windows(2).all(|pair| pair[0] == pair[1]));
        assert_eq!(
            answers[0]["product"]["variants"][0]["name"],
            json!(format!("第{round}版"))
        );
        assert!(
            slowest < Duration::from_secs(3),
            "64 reloads of a stale page took {slowest:?}"
        );

        let started = Instant::now();
        let answers = futures::future::join_all((0..64).map(|i| {
            let app = if i % 2 == 0 { &app } else { &other };
            async move { app.graphql(broken, json!({})).await }
        }))
        .await;
        let slowest = started.elapsed();
        assert!(answers.iter().all(|answer| answer.get("errors").is_some()));
        assert!(
            slowest < Duration::from_secs(3),
            "64 requests for an answer that cannot be cached took {slowest:?}"
        );
    }
}
