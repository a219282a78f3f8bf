//! What every deployment relies on: probes, metrics, limits, the schema file and the CLI.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::support::{Backend, TestApp, error_code};

async fn app() -> TestApp {
    TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_and_metrics_answer() {
    let app = app().await;
    let health = app.http().get(app.url("/healthz")).send().await.expect("healthz");
    assert_eq!(health.status(), 200);
    let ready = app.http().get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(ready["database"], "ok");

    let named = app
        .http()
        .post(app.url("/graphql"))
        .json(&json!({ "query": "query StorefrontProbe { categories { slug } }", "operationName": "StorefrontProbe" }))
        .send()
        .await
        .expect("request");
    assert_eq!(named.status(), 200);
    let metrics = app.http().get(app.url("/metrics")).send().await.expect("metrics");
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.expect("text");
    assert!(
        text.lines()
            .any(|line| line.starts_with("huakai_graphql_requests_total")
                && line.contains("operation=\"StorefrontProbe\"")
                && line.contains("outcome=\"ok\"")),
        "{text}"
    );
    assert!(text.contains("huakai_db_statement_duration_seconds"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_and_get_queries() {
    let app = app().await;
    let page = app
        .http()
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("graphiql");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").to_lowercase().contains("graphiql"));

    let answer = app
        .http()
        .get(app.url("/graphql"))
        .query(&[("query", "{ categories { slug } }")])
        .send()
        .await
        .expect("get query");
    assert_eq!(answer.status(), 200);
    let answer: serde_json::Value = answer.json().await.expect("json");
    assert!(answer["data"]["categories"].as_array().is_some_and(|c| !c.is_empty()));

    let mutation = app
        .http()
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { anything }")])
        .send()
        .await
        .expect("get mutation");
    assert_eq!(mutation.status(), 405, "GET never runs a mutation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_abusive_queries_are_refused_without_a_500() {
    let app = app().await;
    let answer = app.graphql("{ products { ", json!({})).await;
    assert!(answer["errors"][0]["message"].as_str().is_some());
    assert!(answer.get("data").is_none_or(|d| d.is_null()));

    let answer = app.graphql("{ noSuchField }", json!({})).await;
    assert!(answer["errors"].as_array().is_some_and(|e| !e.is_empty()));

    // Depth: village → products → village → products … past 10 levels.
    let mut deep = String::from("id");
    for _ in 0..6 {
        deep = format!("products(first: 1) {{ nodes {{ village {{ {deep} }} }} }}");
    }
    let answer = app
        .graphql(
            &format!("{{ village(slug: \"huachong-cun\") {{ {deep} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "QUERY_TOO_DEEP",
        "{answer:#}"
    );
    assert_eq!(answer["errors"][0]["message"], "查询嵌套过深。");

    // Complexity: pages of pages of pages.
    let answer = app
        .graphql(
            "{ villages(first: 100) { nodes { products(first: 100) { nodes { village { products(first: 100) { nodes { id } } } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{answer:#}"
    );

    let broken = app
        .http()
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body("{ not json")
        .send()
        .await
        .expect("request");
    assert_eq!(broken.status(), 400);

    let answer = app
        .graphql(
            "query($first: Int) { products(first: $first) { totalCount } }",
            json!({ "first": "ten" }),
        )
        .await;
    assert!(answer["errors"].as_array().is_some_and(|e| !e.is_empty()));
    let answer = app.graphql("{ products(first: -5) { totalCount } }", json!({})).await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
}

#[test]
fn schema_file_is_what_export_schema_prints() {
    let output = Command::new(env!("CARGO_BIN_EXE_huakai"))
        .arg("export-schema")
        .output()
        .expect("huakai runs");
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).expect("utf-8");
    let checked_in = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/schema.graphql"))
        .expect("schema/schema.graphql exists");
    assert!(
        printed == checked_in,
        "schema/schema.graphql is stale: run `cargo run -- export-schema > schema/schema.graphql`"
    );
    for contract in [
        "products(first: Int, after: String, filter: ProductFilter, sort: ProductSort): ProductConnection!",
        "product(slug: String!): Product",
        "villages(first: Int, after: String): VillageConnection!",
        "village(slug: String!): Village",
        "categories: [Category!]!",
        "node(id: ID!): Node",
    ] {
        assert!(
            printed.contains(contract),
            "the schema lacks the contract's `{contract}`"
        );
    }
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_huakai"))
        .env("HUAKAI_ADDR", "not-an-address")
        .env_remove("DATABASE_URL")
        .output()
        .expect("huakai runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("HUAKAI_ADDR"), "{stderr}");
}

/// The real binary on the embedded default: it fills an empty SQLite file with the demo shop,
/// serves it, and exits cleanly on SIGTERM.
#[test]
fn the_binary_serves_the_demo_shop_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        listener.local_addr().expect("address").port()
    };
    let child = Command::new(env!("CARGO_BIN_EXE_huakai"))
        .current_dir(dir.path())
        .env("HUAKAI_ADDR", format!("127.0.0.1:{port}"))
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("huakai starts");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let answer = runtime.block_on(async {
        let client = reqwest::Client::new();
        for _ in 0..200 {
            let sent = client
                .post(format!("http://127.0.0.1:{port}/graphql"))
                .json(&json!({ "query": "{ products { totalCount } }" }))
                .send()
                .await;
            if let Ok(response) = sent {
                return response.json::<serde_json::Value>().await.ok();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    });
    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(terminated.success());
    let output = child.wait_with_output().expect("huakai exits");
    let answer = answer.expect("the demo shop answered");
    assert!(
        answer["data"]["products"]["totalCount"]
            .as_u64()
            .is_some_and(|n| n >= 20),
        "{answer}"
    );
    assert!(
        dir.path().join("huakai.db").exists(),
        "the embedded database is a file in the working directory"
    );
    assert!(output.status.success(), "exit after SIGTERM: {:?}", output.status);
    assert!(String::from_utf8_lossy(&output.stderr).contains("shutting down"));
}

/// `docker compose -f deploy/compose.yaml up` must start: its default token secret has to
/// pass the server's own rule (32 characters at least).
#[test]
fn the_compose_files_default_secret_is_accepted() {
    let compose = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/compose.yaml"))
        .expect("deploy/compose.yaml exists");
    let secret = compose
        .lines()
        .find_map(|line| line.trim().strip_prefix("HUAKAI_TOKEN_SECRET: ${HUAKAI_TOKEN_SECRET:-"))
        .and_then(|rest| rest.strip_suffix('}'))
        .expect("the compose file gives a default secret");
    let config = huakai::app::Config::from_lookup(|name| (name == "HUAKAI_TOKEN_SECRET").then(|| secret.to_owned()));
    assert!(config.is_ok(), "{:?}", config.err().map(|e| e.to_string()));
}

#[test]
fn a_bad_url_stops_start_up_without_showing_its_password() {
    let output = Command::new(env!("CARGO_BIN_EXE_huakai"))
        .env("DATABASE_URL", "mysql://shop:hunter2-secret@db:3306/huakai")
        .output()
        .expect("huakai runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");
}
