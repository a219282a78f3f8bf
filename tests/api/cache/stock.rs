//! Stock figures in cached pages: never further behind than stated, under races.

use super::*;

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
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    stock_is_never_further_behind_than_stated(&app, &app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_races_stay_within_the_bound_across_replicas() {
    let Some(writer) = TestApp::on(Backend::Postgres).redis().start().await else {
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
