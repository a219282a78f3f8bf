//! Test support: a fresh database per test (SQLite file or PostgreSQL database), the real app
//! served on port 0, and a small GraphQL client.
//!
//! PostgreSQL and Redis are found through `HUAKAI_TEST_POSTGRES_URL` (a server URL without a
//! database name, e.g. `postgres://postgres@127.0.0.1:5432`) and `HUAKAI_TEST_REDIS_URL`.
//! Unset, their tests say so loudly on stderr and pass without running; with
//! `HUAKAI_TEST_REQUIRE_SERVICES=1` (as `.ci/run` sets) a missing service fails the test.

pub mod alipay;
pub mod browser;
pub mod database;
pub mod keys;
pub mod notify_receiver;
pub mod redis;
pub mod s3;
pub mod scenario;
pub mod smtp;
pub mod stripe;
pub mod wechatpay;

use std::sync::Arc;
use std::time::Duration;

use huakai::accounts::Role;
use huakai::app::{Config, RunningServer};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

pub use database::{Backend, TestDatabase};
pub use redis::TestRedis;

/// Fails when a required service is not configured, else reports that the test did not run.
pub fn service_missing(variable: &str) {
    if std::env::var("HUAKAI_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
        panic!("{variable} is unset but HUAKAI_TEST_REQUIRE_SERVICES=1: this test must run");
    }
    eprintln!("\n!!! {variable} is unset: this test did NOT run against that service !!!\n");
}

/// Operation names the tests count metrics under: metrics are the process's, so each test
/// that reads a counter uses a name of its own, and the apps know them all as labels.
/// One folder for every test app's pictures: keys come from content, so apps never clash.
pub fn test_media_dir() -> String {
    std::env::temp_dir().join("huakai-test-media").display().to_string()
}

pub const METRIC_OPERATIONS: &[&str] = &[
    "StorefrontProbe",
    "StorefrontInProcess",
    "StorefrontAcrossReplicas",
    "StorefrontStampede",
    "StorefrontRedisDown",
    "StorefrontCluster",
    "StorefrontSharedReads",
];

/// A `Money` object's amount (`{ amount: "-12.30" }`) in fen.
pub fn fen(money: &Value) -> i64 {
    let text = money["amount"].as_str().unwrap_or_else(|| panic!("an amount: {money}"));
    let negative = text.starts_with('-');
    let (yuan, cents) = text.trim_start_matches('-').split_once('.').expect("decimals");
    let value = yuan.parse::<i64>().expect("yuan") * 100 + cents.parse::<i64>().expect("fen");
    if negative { -value } else { value }
}

pub struct TestApp {
    pub server: RunningServer,
    pub base_url: String,
    client: reqwest::Client,
    settings: Vec<(String, String)>,
    // Dropped after the server: the database and Redis keys outlive the server that uses them.
    database: Arc<TestDatabase>,
    redis: Option<Arc<TestRedis>>,
}

impl TestApp {
    /// The one way a test makes its app: `TestApp::on(backend)`, then what it needs
    /// (`.redis()`, `.setting(…)`, `.bare()`), then `.start()` (or `.with_stripe()`,
    /// `.with_direct()` for the payment stand-ins beside it).
    pub fn on(backend: Backend) -> TestAppBuilder {
        TestAppBuilder::new(Place::Fresh(backend))
    }

    /// As `on`, on a database the test made itself (a migrated copy, a restored backup).
    pub fn on_database(database: TestDatabase) -> TestAppBuilder {
        TestAppBuilder::new(Place::Given(database))
    }

    /// Another app instance on the same database (and Redis), as a second replica would be.
    pub async fn another_instance(&self) -> TestApp {
        let settings: Vec<(&str, &str)> = self.settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        TestApp::start(self.database.clone(), self.redis.clone(), &settings).await
    }

    async fn start(database: Arc<TestDatabase>, redis: Option<Arc<TestRedis>>, settings: &[(&str, &str)]) -> TestApp {
        let mut pairs: Vec<(String, String)> = vec![
            ("HUAKAI_ADDR".into(), "127.0.0.1:0".into()),
            ("DATABASE_URL".into(), database.url.clone()),
            ("HUAKAI_METRICS_OPERATIONS".into(), METRIC_OPERATIONS.join(",")),
            // One test plays hundreds of concurrent clients (a flash sale) against one instance;
            // the overload guard's own tests set their cap.
            ("HUAKAI_MAX_IN_FLIGHT".into(), "1024".into()),
            // Pictures go to a folder outside the checkout (a test on a bucket sets this empty).
            ("HUAKAI_MEDIA_DIR".into(), test_media_dir()),
        ];
        if let Some(redis) = &redis {
            pairs.push(("REDIS_URL".into(), redis.url.clone()));
            pairs.push(("HUAKAI_REDIS_PREFIX".into(), redis.prefix.clone()));
        }
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
            settings: settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            database,
            redis,
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

    /// Creates an account with `role` (a grower for `producer_slug`) and signs it in.
    pub async fn user(&self, email: &str, role: Role, producer_slug: Option<&str>) -> Actor {
        let password = "a long enough test password";
        let producer = huakai::catalogue::service::producer_asked(self.db(), producer_slug)
            .await
            .expect("database answers");
        huakai::accounts::service::create_user(self.db(), email, password, email, role, producer)
            .await
            .expect("database answers")
            .expect("account is valid");
        self.login(email, password).await
    }

    /// Signs in through the API.
    pub async fn login(&self, email: &str, password: &str) -> Actor {
        let data = self
            .query(
                "mutation($email: String!, $password: String!) {
                    login(email: $email, password: $password) { token user { id } userErrors { code } }
                }",
                json!({ "email": email, "password": password }),
            )
            .await;
        let login = &data["login"];
        assert_eq!(login["userErrors"], json!([]), "login of {email} failed");
        Actor {
            token: Some(login["token"].as_str().expect("token").to_owned()),
            user_id: login["user"]["id"].as_str().expect("user id").to_owned(),
        }
    }

    /// A GraphQL request as `actor` (anonymous without a token): HTTP status and JSON answer.
    pub async fn graphql_as(&self, actor: &Actor, query: &str, variables: Value) -> (u16, Value) {
        self.send_graphql(None, actor, query, variables).await
    }

    /// A GraphQL request as `actor` with an `Accept-Language` header: HTTP status and answer.
    pub async fn graphql_in(
        &self,
        accept_language: &str,
        actor: &Actor,
        query: &str,
        variables: Value,
    ) -> (u16, Value) {
        self.send_graphql(Some(accept_language), actor, query, variables).await
    }

    async fn send_graphql(
        &self,
        accept_language: Option<&str>,
        actor: &Actor,
        query: &str,
        variables: Value,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(language) = accept_language {
            request = request.header("accept-language", language);
        }
        if let Some(token) = &actor.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request is sent");
        let status = response.status().as_u16();
        (status, response.json().await.expect("answer is JSON"))
    }

    /// `data` of a request as `actor` that must succeed.
    pub async fn query_as(&self, actor: &Actor, query: &str, variables: Value) -> Value {
        let (status, answer) = self.graphql_as(actor, query, variables).await;
        assert_eq!(status, 200, "{answer:#}");
        assert!(answer.get("errors").is_none(), "unexpected errors: {answer:#}");
        answer["data"].clone()
    }

    /// Asks `query` as `actor` until `done` holds of the answer's data (10 s at most): for what
    /// the app's workers do in the background.
    pub async fn eventually(
        &self,
        actor: &Actor,
        query: &str,
        variables: Value,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        for _ in 0..200 {
            let data = self.query_as(actor, query, variables.clone()).await;
            if done(&data) {
                return data;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what} did not happen within 10 s");
    }

    /// An anonymous GraphQL request: the whole JSON answer (`data` and `errors`).
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let (status, answer) = self.graphql_as(&Actor::anonymous(), query, variables).await;
        assert_eq!(status, 200, "GraphQL answers 200: {answer:#}");
        answer
    }

    /// `data` of an anonymous request that must succeed.
    pub async fn query(&self, query: &str, variables: Value) -> Value {
        self.query_as(&Actor::anonymous(), query, variables).await
    }
}

enum Place {
    Fresh(Backend),
    Given(TestDatabase),
}

/// What a test's app is made with; see [`TestApp::on`].
pub struct TestAppBuilder {
    place: Place,
    settings: Vec<(String, String)>,
    redis: bool,
    demo_catalogue: bool,
}

impl TestAppBuilder {
    fn new(place: Place) -> TestAppBuilder {
        TestAppBuilder {
            place,
            settings: Vec::new(),
            redis: false,
            demo_catalogue: true,
        }
    }

    pub fn setting(mut self, name: &str, value: &str) -> Self {
        self.settings.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn settings(mut self, settings: &[(&str, &str)]) -> Self {
        for (name, value) in settings {
            self = self.setting(name, value);
        }
        self
    }

    /// Redis under a key prefix of the test's own.
    pub fn redis(mut self) -> Self {
        self.redis = true;
        self
    }

    /// Without the demo catalogue: the database as it is (empty, or a restored backup).
    pub fn bare(mut self) -> Self {
        self.demo_catalogue = false;
        self
    }

    /// The app; `None` when a service it needs is not configured (and not required).
    pub async fn start(self) -> Option<TestApp> {
        let redis = if self.redis {
            Some(Arc::new(TestRedis::create()?))
        } else {
            None
        };
        let database = match self.place {
            Place::Fresh(backend) => TestDatabase::create(backend).await?,
            Place::Given(database) => database,
        };
        let settings: Vec<(&str, &str)> = self.settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let app = TestApp::start(Arc::new(database), redis, &settings).await;
        if self.demo_catalogue {
            huakai::catalogue::demo::load(app.db())
                .await
                .expect("demo catalogue loads");
        }
        Some(app)
    }

    /// The app taking payments through a Stripe stand-in, which sends its webhooks to the app.
    pub async fn with_stripe(self) -> Option<(TestApp, stripe::StripeStandIn)> {
        let stripe = stripe::StripeStandIn::start().await;
        let app = TestAppBuilder {
            settings: [
                ("STRIPE_SECRET_KEY".to_owned(), stripe.secret_key.clone()),
                ("STRIPE_WEBHOOK_SECRET".to_owned(), stripe.webhook_secret.clone()),
                ("STRIPE_API_BASE".to_owned(), stripe.base_url.clone()),
            ]
            .into_iter()
            .chain(self.settings.iter().cloned())
            .collect(),
            ..self
        }
        .start()
        .await?;
        stripe.send_webhooks_to(app.url("/webhooks/stripe"));
        Some((app, stripe))
    }

    /// The app paying WeChat Pay and Alipay directly through their stand-ins (which send their
    /// notifications to the app's own address), looking up a payment whose notification is a
    /// second late.
    pub async fn with_direct(self) -> Option<(TestApp, wechatpay::WechatPayStandIn, alipay::AlipayStandIn)> {
        let wechatpay = wechatpay::WechatPayStandIn::start().await;
        let alipay = alipay::AlipayStandIn::start().await;
        let mut settings: Vec<(String, String)> = wechatpay
            .env("1s")
            .into_iter()
            .chain(alipay.env("1s"))
            .map(|(name, value)| (name.to_owned(), value))
            .collect();
        settings.push(("HUAKAI_PAYMENT_LOOKUP_AFTER".to_owned(), "1s".to_owned()));
        settings.extend(self.settings.iter().cloned());
        let app = TestAppBuilder { settings, ..self }.start().await?;
        Some((app, wechatpay, alipay))
    }
}

/// Someone making requests: a bearer token (none for anonymous) and their user id.
#[derive(Clone, Debug)]
pub struct Actor {
    pub token: Option<String>,
    pub user_id: String,
}

impl Actor {
    pub fn anonymous() -> Actor {
        Actor {
            token: None,
            user_id: String::new(),
        }
    }
}

/// The `extensions.code` of the first error in an answer.
/// A whole connection's nodes, checked against its `totalCount` (which the query selected).
pub fn all_nodes(connection: &Value) -> &Vec<Value> {
    let nodes = connection["nodes"].as_array().expect("a connection's nodes");
    assert_eq!(
        connection["totalCount"].as_u64(),
        Some(nodes.len() as u64),
        "the whole list, as many as its totalCount: {connection}"
    );
    nodes
}

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
