//! What an operator deploying the shop relies on: CORS for a storefront on its own origin, a
//! request id on every answer and an access log line per request, latency histograms with
//! buckets and the business gauges on `/metrics`, `huakai healthcheck`, the password of
//! `huakai user create` kept off the command line, and `huakai payouts run` telling each payout.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::on_each_backend;
use crate::support::scenario::{cast, lily_at, pay_by_bank, place, refund, ship_and_deliver};
use crate::support::{Backend, TestApp, TestDatabase};

on_each_backend!(
    the_business_gauges_show_what_waits_on_an_operator,
    payouts_run_prints_each_payout
);

const SHOP: &str = "https://shop.example.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storefront_on_a_listed_origin_may_call_the_api_from_a_browser() {
    let app = TestApp::on(Backend::Sqlite)
        .settings(&[("HUAKAI_CORS_ORIGINS", "https://shop.example.com, http://localhost:3000")])
        .start()
        .await
        .expect("SQLite needs no service");
    let preflight = |origin: &'static str| {
        app.http()
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type, authorization")
            .send()
    };
    let allowed = preflight(SHOP).await.expect("preflight");
    assert!(allowed.status().is_success(), "{}", allowed.status());
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().expect("text").to_ascii_lowercase())
    };
    assert_eq!(header(&allowed, "access-control-allow-origin").as_deref(), Some(SHOP));
    let headers = header(&allowed, "access-control-allow-headers").expect("allowed headers");
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    assert!(
        header(&allowed, "access-control-allow-methods")
            .expect("methods")
            .contains("post")
    );
    assert_eq!(
        header(&allowed, "access-control-allow-credentials"),
        None,
        "credentials stay off"
    );

    let elsewhere = preflight("https://evil.example").await.expect("preflight");
    assert_eq!(header(&elsewhere, "access-control-allow-origin"), None);

    // A cacheable GET from the storefront: the browser lets its script read the ETag.
    let answer = app
        .http()
        .get(app.url("/graphql"))
        .query(&[("query", "{ categories { slug } }")])
        .header("origin", SHOP)
        .send()
        .await
        .expect("a GET");
    assert_eq!(answer.status(), 200);
    assert_eq!(header(&answer, "access-control-allow-origin").as_deref(), Some(SHOP));
    let exposed = header(&answer, "access-control-expose-headers").expect("exposed headers");
    assert!(
        exposed.contains("etag") && exposed.contains("x-request-id"),
        "{exposed}"
    );
    assert!(answer.headers().contains_key("etag"));

    // Without the setting there is no CORS at all.
    let closed = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let answer = closed
        .http()
        .post(closed.url("/graphql"))
        .header("origin", SHOP)
        .json(&json!({ "query": "{ categories { slug } }" }))
        .send()
        .await
        .expect("a POST");
    assert_eq!(header(&answer, "access-control-allow-origin"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_a_request_id_and_latencies_have_buckets() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let sent = app
        .http()
        .post(app.url("/graphql"))
        .header("x-request-id", "ticket-4711")
        .json(&json!({ "query": "query StorefrontProbe { categories { slug } }", "operationName": "StorefrontProbe" }))
        .send()
        .await
        .expect("a request");
    assert_eq!(
        sent.headers()["x-request-id"],
        "ticket-4711",
        "the client's id comes back"
    );
    let made = app.http().get(app.url("/healthz")).send().await.expect("a request");
    let id = made.headers()["x-request-id"].to_str().expect("text");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "a new id is a UUID: {id}");

    let metrics = app
        .http()
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for histogram in [
        "huakai_graphql_request_duration_seconds",
        "huakai_db_statement_duration_seconds",
    ] {
        assert!(
            metrics.contains(&format!("# TYPE {histogram} histogram")),
            "{histogram} is a histogram:\n{metrics}"
        );
        assert!(
            metrics
                .lines()
                .any(|line| line.starts_with(&format!("{histogram}_bucket")) && line.contains("le=\"0.005\"")),
            "{histogram} has buckets"
        );
    }
}

/// A gauge's value in a Prometheus text page.
fn gauge(page: &str, name: &str) -> Option<f64> {
    page.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn the_business_gauges_show_what_waits_on_an_operator(backend: Backend) {
    let Some(app) = TestApp::on(backend)
        .settings(&[("HUAKAI_RESERVATION_TTL", "2m")])
        .start()
        .await
    else {
        return;
    };
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "100.00").await;
    // Paid by bank, then ¥30 refunded: the refund waits for an operator's transfer back.
    let paid = place(&app, &cast.buyer, &lily, 1, "paid", "BANK_TRANSFER").await;
    pay_by_bank(&app, &cast.operator, &paid).await;
    let refunded = refund(&app, &cast.operator, &paid, Some("30.00")).await;
    assert_eq!(refunded["userErrors"], json!([]), "{refunded}");
    // Unpaid, its two minutes of reservation end within five.
    place(&app, &cast.buyer, &lily, 1, "unpaid", "BANK_TRANSFER").await;
    let sql = |text: &str| Statement::from_string(app.db().get_database_backend(), text.to_owned());
    app.db()
        .execute_raw(sql(
            "INSERT INTO webhook_events (id, event_type, payload, received_at, attempts) \
             VALUES ('evt_waiting', 'payment_intent.succeeded', '{}', '2026-12-01T00:00:00Z', 0)",
        ))
        .await
        .expect("an unapplied event");
    app.db()
        .execute_raw(sql(
            "INSERT INTO payouts (producer_id, payee_kind, amount_fen, status, method, created_at) \
             SELECT id, 'PRODUCER', 1234, 'IN_TRANSIT', 'bank', '2026-12-01T00:00:00Z' FROM producers \
             WHERE slug = 'sanwang-baihe-hezuoshe'",
        ))
        .await
        .expect("a payout in transit");
    let expected = [
        ("huakai_webhook_backlog", 1.0),
        ("huakai_bank_refunds_waiting", 1.0),
        ("huakai_bank_refunds_waiting_fen", 3000.0),
        ("huakai_payouts_in_transit", 1.0),
        ("huakai_payouts_in_transit_fen", 1234.0),
        ("huakai_orders_expiring_soon", 1.0),
    ];
    // The gauges are the process's: another test's scrape may set them between this one's
    // reading and rendering, so a mismatch is asked again.
    let mut page = String::new();
    for _ in 0..20 {
        page = app
            .http()
            .get(app.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        if expected.iter().all(|(name, value)| gauge(&page, name) == Some(*value)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shown: Vec<_> = expected.iter().map(|(name, _)| (name, gauge(&page, name))).collect();
    panic!("the gauges show {shown:?}, expected {expected:?}");
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

fn healthcheck(port: u16) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_huakai"))
        .args(["healthcheck", "--timeout", "2s"])
        .env("HUAKAI_ADDR", format!("0.0.0.0:{port}"))
        .output()
        .expect("huakai runs")
}

/// The real binary with JSON logs, as in the image: `huakai healthcheck` passes while it serves
/// and fails when nothing answers, and each request leaves one `info` line with its id.
#[test]
fn healthcheck_and_the_access_log_of_the_binary() {
    let dir = tempfile::tempdir().expect("a folder");
    let port = free_port();
    let refused = healthcheck(port);
    assert_eq!(refused.status.code(), Some(1), "nothing listens yet");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("/readyz"));

    let mut server = Command::new(env!("CARGO_BIN_EXE_huakai"))
        .current_dir(dir.path())
        .env("HUAKAI_ADDR", format!("127.0.0.1:{port}"))
        .env("HUAKAI_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("huakai starts");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let answered = runtime.block_on(async {
        let client = reqwest::Client::new();
        for _ in 0..300 {
            let sent = client
                .get(format!(
                    "http://127.0.0.1:{port}/graphql?query=%7Bcategories%7Bslug%7D%7D"
                ))
                .header("x-request-id", "access-log-probe-1")
                .send()
                .await;
            if let Ok(response) = sent {
                return Some(response.status().as_u16());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    });
    assert_eq!(answered, Some(200));
    let ready = healthcheck(port);
    let stopped = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(stopped.success());
    let mut access_line = None;
    for line in BufReader::new(server.stderr.take().expect("stderr")).lines() {
        let line = line.expect("a log line");
        if line.contains("access-log-probe-1") && line.contains("finished processing request") {
            access_line = Some(line);
        }
    }
    server.wait().expect("huakai exits");
    assert!(ready.status.success(), "{}", String::from_utf8_lossy(&ready.stderr));
    let line: serde_json::Value =
        serde_json::from_str(&access_line.expect("an access log line with the request id")).expect("JSON");
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["fields"]["status"], 200, "{line}");
    assert!(
        line["fields"]["latency"].as_str().is_some_and(|t| t.ends_with("μs")),
        "{line}"
    );
    assert_eq!(line["span"]["method"], "GET", "{line}");
    assert_eq!(line["span"]["path"], "/graphql", "the query string stays out: {line}");
    assert_eq!(line["span"]["request_id"], "access-log-probe-1", "{line}");
}

/// `huakai user create` takes the password from HUAKAI_USER_PASSWORD or standard input, never
/// from its arguments.
#[test]
fn the_password_of_user_create_stays_off_the_command_line() {
    let dir = tempfile::tempdir().expect("a folder");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());
    let mut piped = Command::new(env!("CARGO_BIN_EXE_huakai"))
        .args(["user", "create", "--email", "ops@example.com", "--role", "admin"])
        .env("DATABASE_URL", &url)
        .env_remove("HUAKAI_USER_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("huakai runs");
    piped
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"a long operator password\n")
        .expect("the password is sent");
    let made = piped.wait_with_output().expect("huakai exits");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let from_env = Command::new(env!("CARGO_BIN_EXE_huakai"))
        .args(["user", "create", "--email", "buyer@example.com", "--role", "buyer"])
        .env("DATABASE_URL", &url)
        .env("HUAKAI_USER_PASSWORD", "a long buyer password")
        .stdin(Stdio::null())
        .output()
        .expect("huakai runs");
    assert!(
        from_env.status.success(),
        "{}",
        String::from_utf8_lossy(&from_env.stderr)
    );
    let on_the_line = Command::new(env!("CARGO_BIN_EXE_huakai"))
        .args([
            "user",
            "create",
            "--email",
            "x@example.com",
            "--role",
            "buyer",
            "--password",
            "secret",
        ])
        .env("DATABASE_URL", &url)
        .output()
        .expect("huakai runs");
    assert_eq!(on_the_line.status.code(), Some(2), "--password is not an option");

    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let db = huakai::infra::db::connect(&url, Default::default())
            .await
            .expect("the database");
        let hasher = huakai::accounts::password::PasswordHasher::new(1);
        for (email, password) in [
            ("ops@example.com", "a long operator password"),
            ("buyer@example.com", "a long buyer password"),
        ] {
            let user = huakai::accounts::entity::user::Entity::find()
                .filter(huakai::accounts::entity::user::Column::Email.eq(email))
                .one(&db)
                .await
                .expect("query")
                .unwrap_or_else(|| panic!("{email} was made"));
            let signs_in = hasher
                .verify(password, Some(&user.password_hash))
                .await
                .expect("verified");
            assert!(signs_in, "{email} signs in with the password given");
        }
    });
}

/// `huakai payouts run` prints a line for each payout it makes, then how many.
async fn payouts_run_prints_each_payout(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let url = database.url.clone();
    let app = TestApp::on_database(database)
        .settings(&[("HUAKAI_PAYOUT_HOLD", "1s")])
        .start()
        .await
        .expect("the test's own database");
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "100.00").await;
    let order = place(&app, &cast.buyer, &lily, 1, "to-pay-out", "BANK_TRANSFER").await;
    pay_by_bank(&app, &cast.operator, &order).await;
    ship_and_deliver(&app, &cast, &order).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_huakai"))
            .args(["payouts", "run"])
            .env("DATABASE_URL", &url)
            .env("HUAKAI_PAYOUT_HOLD", "1s")
            .env("RUST_LOG", "warn")
            .output()
            .expect("huakai runs")
    })
    .await
    .expect("the task ends");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 2, "{printed}");
    assert!(
        lines[0].starts_with("payout ") && lines[0].contains("95.00 yuan by Bank"),
        "¥100 less the 5% fee, by bank: {printed}"
    );
    assert_eq!(lines[1], "1 payouts");
}
