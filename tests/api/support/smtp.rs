//! A real SMTP server per test: Python's aiosmtpd running `smtp_sink.py` beside this file on a
//! free port, writing each message it takes as a JSON file the test reads (headers and bodies
//! decoded by Python's email package, which knows RFC 2047, quoted-printable and base64, and
//! the raw message as it arrived).
//!
//! aiosmtpd comes from PyPI (`.ci/run` installs it when missing). Missing, a test says so loudly
//! and passes without running; with `HUAKAI_TEST_REQUIRE_SERVICES=1` it fails.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::Deserialize;

const SINK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/support/smtp_sink.py");

/// An SMTP server's port, its folder of received messages, and the server while it runs.
pub struct SmtpServer {
    pub port: u16,
    folder: tempfile::TempDir,
    process: Option<Child>,
}

/// One message as the server received it.
#[derive(Clone, Debug, Deserialize)]
pub struct ReceivedMail {
    pub envelope_from: String,
    pub envelope_to: Vec<String>,
    /// Every header, its value decoded.
    pub headers: Vec<(String, String)>,
    /// The text/plain part, decoded.
    pub text: Option<String>,
    /// The text/html part, decoded.
    pub html: Option<String>,
    /// The message as it came over the wire.
    pub raw: String,
}

impl ReceivedMail {
    /// The decoded value of the header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn subject(&self) -> &str {
        self.header("Subject").expect("a Subject header")
    }

    /// The header `name` as sent, folded lines joined (still encoded).
    pub fn raw_header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\r\n\r\n").next().unwrap_or_default();
        let prefix = format!("{}:", name.to_ascii_lowercase());
        let mut lines = head
            .split("\r\n")
            .skip_while(|line| !line.to_ascii_lowercase().starts_with(&prefix));
        let first = lines.next()?;
        let continued = lines.take_while(|line| line.starts_with([' ', '\t']));
        Some(std::iter::once(first).chain(continued).collect::<Vec<_>>().join("\r\n"))
    }
}

fn aiosmtpd_installed() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}

impl SmtpServer {
    /// A free port and an empty folder, with no server listening yet (as an SMTP server that
    /// is down); `None` when aiosmtpd is missing (and not required).
    pub fn reserve() -> Option<SmtpServer> {
        if !aiosmtpd_installed() {
            if std::env::var("HUAKAI_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
                panic!("Python's aiosmtpd is not installed but HUAKAI_TEST_REQUIRE_SERVICES=1 (.ci/run installs it)");
            }
            eprintln!("\n!!! Python's aiosmtpd is not installed: this test did NOT run against an SMTP server !!!\n");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        Some(SmtpServer {
            port,
            folder: tempfile::tempdir().expect("a folder for received mail"),
            process: None,
        })
    }

    /// A running server on a port of its own.
    pub async fn start() -> Option<SmtpServer> {
        let mut server = SmtpServer::reserve()?;
        server.come_up().await;
        Some(server)
    }

    /// Starts the server on its port and waits until it accepts connections.
    pub async fn come_up(&mut self) {
        let mut process = Command::new("python3")
            .arg(SINK)
            .arg(self.port.to_string())
            .arg(self.folder.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 runs the SMTP sink");
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            if let Ok(Some(status)) = process.try_wait() {
                panic!("the SMTP sink on port {} exited: {status}", self.port);
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the SMTP sink did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.process = Some(process);
    }

    /// `HUAKAI_SMTP_URL` for this server (plain SMTP on localhost).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, in order of arrival.
    pub fn received(&self) -> Vec<ReceivedMail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.folder.path())
            .expect("the mail folder is readable")
            .map(|entry| entry.expect("a folder entry").path())
            .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path).expect("a received message");
                serde_json::from_str(&text).expect("the sink's record parses")
            })
            .collect()
    }

    /// The messages received once there are at least `count` (20 s at most).
    pub async fn wait_for(&self, count: usize) -> Vec<ReceivedMail> {
        let started = Instant::now();
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{count} messages expected, {} arrived within 20 s",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}
