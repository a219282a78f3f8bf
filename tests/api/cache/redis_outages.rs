//! The shop without Redis, and with a Redis cluster.

use super::*;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shop_carries_on_while_redis_is_down_and_caches_again_when_it_is_back() {
    if !redis_server_available() {
        return;
    }
    let mut redis = OwnRedis::start();
    let url = redis.url();
    let app = TestApp::on(Backend::Sqlite)
        .settings(&[("REDIS_URL", &url)])
        .start()
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
    let app = TestApp::on(Backend::Sqlite)
        .settings(&[("REDIS_URL", &url)])
        .start()
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
