//! A real browser for the tests: headless Chromium (Debian's `chromium`), driven by its
//! `chromedriver` over WebDriver. Each browser has a driver and a profile of its own, both gone
//! when it is dropped. Without Chromium the tests that need it say so loudly (and fail where
//! `HUAKAI_TEST_REQUIRE_SERVICES=1`, as `.ci/run` sets; `.ci/run` installs it when missing).

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use super::service_missing;

pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    /// `http://127.0.0.1:{port}/session/{id}`.
    session: String,
    _profile: tempfile::TempDir,
}

/// The driver runs in a process group of its own, stopped whole: the browsers it started
/// outlive it otherwise.
impl Drop for Browser {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.wait();
    }
}

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

impl Browser {
    /// A headless Chromium with a window of `width` × `height` CSS pixels; `None` when Chromium
    /// is not installed (and not required).
    pub async fn start(width: u32, height: u32) -> Option<Browser> {
        if !(installed("chromium") && installed("chromedriver")) {
            service_missing("chromium and chromedriver (Debian's chromium and chromium-driver)");
            return None;
        }
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("a profile folder");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let started = command(
            &http,
            format!("{base}/session"),
            json!({ "capabilities": { "alwaysMatch": { "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--hide-scrollbars", format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            } } } }),
        )
        .await;
        let id = started["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {started:#}"))
            .to_owned();
        Some(Browser {
            driver,
            http,
            session: format!("{base}/session/{id}"),
            _profile: profile,
        })
    }

    pub async fn open(&self, url: &str) {
        command(&self.http, format!("{}/url", self.session), json!({ "url": url })).await;
    }

    /// Runs `script` (a function body) in the page and returns its value.
    pub async fn run(&self, script: &str) -> Value {
        command(
            &self.http,
            format!("{}/execute/sync", self.session),
            json!({ "script": script, "args": [] }),
        )
        .await
    }

    /// Runs `script` until it returns something truthy (20 s at most).
    pub async fn wait_for(&self, script: &str, what: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let value = self.run(script).await;
            if !(value.is_null() || value == json!(false) || value == json!("")) {
                return value;
            }
            assert!(Instant::now() < deadline, "{what} did not happen within 20 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Clicks the first element `selector` finds.
    pub async fn click(&self, selector: &str) {
        let element = command(
            &self.http,
            format!("{}/element", self.session),
            json!({ "using": "css selector", "value": selector }),
        )
        .await;
        let id = element
            .as_object()
            .and_then(|element| element.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("nothing matches {selector}: {element:#}"))
            .to_owned();
        command(&self.http, format!("{}/element/{id}/click", self.session), json!({})).await;
    }

    /// A PNG of the whole window.
    pub async fn screenshot(&self) -> Vec<u8> {
        let encoded = reqwest::Client::get(&self.http, format!("{}/screenshot", self.session))
            .send()
            .await
            .expect("a screenshot")
            .json::<Value>()
            .await
            .expect("WebDriver answers JSON")["value"]
            .as_str()
            .map(str::to_owned)
            .expect("a base64 PNG");
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("the screenshot is base64")
    }
}

/// POSTs a WebDriver command and returns its `value`.
async fn command(http: &reqwest::Client, url: String, body: Value) -> Value {
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
