//! GraphiQL in a real browser: headless Chromium (Debian's `chromium`, driven by its
//! `chromedriver` over WebDriver) opens the shop's explorer, which must load from the shop
//! alone, show its editor and run a query.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Backend, TestApp, service_missing};

/// A chromedriver of the test's own in a process group of its own, which is stopped whole
/// when the test ends: the browsers it started outlive it otherwise.
struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

fn browser_available() -> bool {
    let found = ["chromium", "chromedriver"].iter().all(|program| {
        Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success())
    });
    if !found {
        service_missing("chromium and chromedriver (Debian's chromium and chromium-driver)");
    }
    found
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    listener.local_addr().expect("address").port()
}

/// POSTs a WebDriver command and returns its `value`.
async fn webdriver(http: &reqwest::Client, url: String, body: Value) -> Value {
    let answer: Value = http
        .post(&url)
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|error| panic!("{url}: {error}"))
        .json()
        .await
        .expect("WebDriver answers JSON");
    answer["value"].clone()
}

/// Runs `script` in the page until it returns something truthy (20 s at most).
async fn wait_for(http: &reqwest::Client, session: &str, script: &str, what: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let value = webdriver(
            http,
            format!("{session}/execute/sync"),
            json!({ "script": script, "args": [] }),
        )
        .await;
        if !(value.is_null() || value == json!(false) || value == json!("")) {
            return value;
        }
        assert!(Instant::now() < deadline, "{what} did not happen within 20 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_loads_from_the_shop_alone_and_runs_a_query() {
    if !browser_available() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite needs no service");
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: tempfile::tempdir().expect("folder"),
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while http.get(format!("{}/status", driver.url)).send().await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = driver._profile.path().display().to_string();
    let session = webdriver(
        &http,
        format!("{}/session", driver.url),
        json!({ "capabilities": { "alwaysMatch": { "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={profile}"),
            ],
        } } } }),
    )
    .await;
    let session_id = session["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no WebDriver session: {session:#}"));
    let session = format!("{}/session/{session_id}", driver.url);

    webdriver(&http, format!("{session}/url"), json!({ "url": app.url("/graphql") })).await;
    wait_for(
        &http,
        &session,
        "return document.querySelector('.graphiql-query-editor .CodeMirror') !== null",
        "the query editor showing",
    )
    .await;
    let button = webdriver(
        &http,
        format!("{session}/element"),
        json!({ "using": "css selector", "value": ".graphiql-execute-button" }),
    )
    .await;
    let button = button
        .as_object()
        .and_then(|element| element.values().next())
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no run button: {button:#}"))
        .to_owned();
    webdriver(&http, format!("{session}/element/{button}/click"), json!({})).await;
    let answer = wait_for(
        &http,
        &session,
        "const result = document.querySelector('.graphiql-response .CodeMirror');
         return result && result.CodeMirror.getValue();",
        "the query's answer showing",
    )
    .await;
    let answer: Value = serde_json::from_str(answer.as_str().expect("text")).expect("the answer is JSON");
    assert!(
        answer["data"]["products"]["nodes"]
            .as_array()
            .is_some_and(|nodes| nodes.len() == 5),
        "{answer:#}"
    );
    // Everything the page loaded came from the shop.
    let loaded = webdriver(
        &http,
        format!("{session}/execute/sync"),
        json!({ "script": "return performance.getEntriesByType('resource').map(e => e.name)", "args": [] }),
    )
    .await;
    let loaded: Vec<&str> = loaded
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(loaded.len() >= 4, "{loaded:?}");
    assert!(
        loaded.iter().all(|url| url.starts_with(&app.base_url)),
        "loaded from elsewhere: {loaded:?}"
    );
    let _ = http.delete(&session).send().await;
}
