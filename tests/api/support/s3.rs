//! A real S3-compatible server for the tests: `s3rver` (npm), one per test on a free port,
//! with its own folder and one bucket, stopped when dropped. It checks SigV4 signatures as S3
//! does, so the shop's real `object_store` client is what talks to it.
//!
//! Found through `HUAKAI_TEST_S3RVER` (the program), else where `.ci/run` installs it
//! (`/var/tmp/huakai-tools/s3rver`), else on the `PATH`. Missing, its tests say so loudly, and
//! fail where `HUAKAI_TEST_REQUIRE_SERVICES=1`.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::service_missing;

/// Where `.ci/run` installs it.
const INSTALLED: &str = "/var/tmp/huakai-tools/s3rver/node_modules/.bin/s3rver";

pub const BUCKET: &str = "huakai-media";
/// s3rver's fixed credentials.
const ACCESS_KEY_ID: &str = "S3RVER";
const SECRET_ACCESS_KEY: &str = "S3RVER";

pub struct TestS3 {
    pub endpoint: String,
    server: Child,
    _data: tempfile::TempDir,
}

fn program() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("HUAKAI_TEST_S3RVER") {
        return Some(PathBuf::from(path));
    }
    if std::path::Path::new(INSTALLED).exists() {
        return Some(PathBuf::from(INSTALLED));
    }
    let on_path = Command::new("s3rver").arg("--version").output();
    on_path
        .is_ok_and(|output| output.status.success())
        .then(|| PathBuf::from("s3rver"))
}

impl TestS3 {
    /// A fresh server with an empty bucket; `None` when s3rver is missing (and not required).
    pub fn start() -> Option<TestS3> {
        let Some(program) = program() else {
            service_missing("HUAKAI_TEST_S3RVER (s3rver from npm; .ci/run installs it)");
            return None;
        };
        let data = tempfile::tempdir().expect("a folder for the bucket");
        let mut server = Command::new(&program)
            .arg("--directory")
            .arg(data.path())
            .args(["--address", "127.0.0.1", "--port", "0", "--configure-bucket", BUCKET])
            // Its own process group: node's children go with it.
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("{} does not start: {error}", program.display()));
        // It prints `S3rver listening on 127.0.0.1:PORT` once the port is bound.
        let stdout = server.stdout.take().expect("its output");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.split("listening on ").nth(1) {
                    let _ = sender.send(address.trim().to_owned());
                }
            }
        });
        let address = receiver
            .recv_timeout(Duration::from_secs(20))
            .expect("s3rver says where it listens within 20 s");
        Some(TestS3 {
            endpoint: format!("http://{address}"),
            server,
            _data: data,
        })
    }

    /// The shop's settings for this bucket, as `MediaSettings::from_lookup` reads them.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HUAKAI_S3_BUCKET", BUCKET.to_owned()),
            ("HUAKAI_S3_ENDPOINT", self.endpoint.clone()),
            ("HUAKAI_S3_REGION", "us-east-1".to_owned()),
            ("HUAKAI_S3_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("HUAKAI_S3_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
            // A bucket name in the host needs a DNS name for 127.0.0.1.
            ("HUAKAI_S3_PATH_STYLE", "on".to_owned()),
        ]
    }
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.server.id())])
            .status();
        let _ = self.server.wait();
    }
}
