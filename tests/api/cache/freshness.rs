//! Cached answers hit and stay fresh, in process and across replicas: one recompute per
//! stampede, shared reads, misses that do not queue.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_cache_hits_and_stays_fresh() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    hits_and_freshness(&app, &app, "StorefrontInProcess").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cache_hits_and_stays_fresh_across_replicas() {
    let Some(writer) = TestApp::on(Backend::Postgres).redis().start().await else {
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
    let Some(app) = TestApp::on(Backend::Postgres).redis().start().await else {
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
    let Some(writer) = TestApp::on(Backend::Postgres).redis().start().await else {
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

/// Many viewers reload the product page the moment a write made its entry stale, on two
/// replicas: one request computes it, and the others are answered as soon as it is stored,
/// not one after another. The same for an answer that cannot be cached at all (it has an
/// error): each request is answered on its own, none waits for an entry that never comes.
/// (Before, each of the 32 requests a replica got waited 200 ms after the one before it:
/// over 6 s for the last; the bound leaves room for a loaded machine.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_do_not_queue_behind_each_other() {
    let Some(app) = TestApp::on(Backend::Postgres).redis().start().await else {
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
