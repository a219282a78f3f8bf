//! Test support: a fresh database per test (SQLite file or PostgreSQL database), the real app
//! served on port 0, and a small GraphQL client.
//!
//! PostgreSQL and Redis are found through `HUAKAI_TEST_POSTGRES_URL` (a server URL without a
//! database name, e.g. `postgres://postgres@127.0.0.1:5432`) and `HUAKAI_TEST_REDIS_URL`.
//! Unset, their tests say so loudly on stderr and pass without running; with
//! `HUAKAI_TEST_REQUIRE_SERVICES=1` (as `.ci/run` sets) a missing service fails the test.

pub mod database;

use std::time::Duration;

use huakai::app::{Config, RunningServer};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

pub use database::{Backend, TestDatabase};

/// Fails when a required service is not configured, else reports that the test did not run.
pub fn service_missing(variable: &str) {
    if std::env::var("HUAKAI_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
        panic!("{variable} is unset but HUAKAI_TEST_REQUIRE_SERVICES=1: this test must run");
    }
    eprintln!("\n!!! {variable} is unset: this test did NOT run against that service !!!\n");
}

pub struct TestApp {
    pub server: RunningServer,
    pub base_url: String,
    client: reqwest::Client,
    // Dropped last: the database outlives the server that uses it.
    _database: TestDatabase,
}

impl TestApp {
    /// The app on `backend` with the demo catalogue loaded; `None` when the backend's service is
    /// not configured (and not required).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        TestApp::spawn_with(backend, &[]).await
    }

    pub async fn spawn_with(backend: Backend, settings: &[(&str, &str)]) -> Option<TestApp> {
        let database = TestDatabase::create(backend).await?;
        let app = TestApp::start(database, settings).await;
        huakai::catalogue::demo::load(app.db())
            .await
            .expect("demo catalogue loads");
        Some(app)
    }

    /// Starts the app on an existing database (a second instance, or a restart).
    pub async fn start(database: TestDatabase, settings: &[(&str, &str)]) -> TestApp {
        let mut pairs: Vec<(String, String)> = vec![
            ("HUAKAI_ADDR".into(), "127.0.0.1:0".into()),
            ("DATABASE_URL".into(), database.url.clone()),
        ];
        pairs.extend(settings.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let config = Config::from_lookup(|name| pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("test configuration is valid");
        let server = huakai::app::start(config).await.expect("app starts");
        let base_url = format!("http://{}", server.addr);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        TestApp {
            server,
            base_url,
            client,
            _database: database,
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.server.state.db
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Posts a GraphQL request and returns the whole JSON answer (`data` and `errors`).
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let response = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request is sent");
        assert_eq!(response.status(), 200, "GraphQL answers 200");
        response.json().await.expect("answer is JSON")
    }

    /// `data` of a request that must succeed.
    pub async fn query(&self, query: &str, variables: Value) -> Value {
        let answer = self.graphql(query, variables).await;
        assert!(answer.get("errors").is_none(), "unexpected errors: {answer:#}");
        answer["data"].clone()
    }
}

/// The `extensions.code` of the first error in an answer.
pub fn error_code(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error code: {answer:#}"))
}

/// Runs the test body on SQLite and on PostgreSQL, as two tests.
#[macro_export]
macro_rules! on_each_backend {
    ($($test:ident),* $(,)?) => {
        $(
            mod $test {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$test($crate::support::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$test($crate::support::Backend::Postgres).await;
                }
            }
        )*
    };
}
