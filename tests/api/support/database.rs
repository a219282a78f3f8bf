//! One fresh database per test, removed when the test ends (also when it fails).

use std::time::Duration;

use sea_orm::{ConnectionTrait, Database};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    /// The SQLite file lives in a temporary folder that goes with it.
    Sqlite { _dir: tempfile::TempDir },
    /// The PostgreSQL database is dropped through the server's maintenance database.
    Postgres { server_url: String, name: String },
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Option<TestDatabase> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("huakai.db").display());
                Some(TestDatabase {
                    url,
                    cleanup: Cleanup::Sqlite { _dir: dir },
                })
            }
            Backend::Postgres => {
                let Ok(server_url) = std::env::var("HUAKAI_TEST_POSTGRES_URL") else {
                    super::service_missing("HUAKAI_TEST_POSTGRES_URL");
                    return None;
                };
                let server_url = server_url.trim_end_matches('/').to_owned();
                let name = format!("huakai_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(format!("{server_url}/postgres"))
                    .await
                    .expect("PostgreSQL at HUAKAI_TEST_POSTGRES_URL is reachable");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("test database is created");
                admin.close().await.ok();
                Some(TestDatabase {
                    url: format!("{server_url}/{name}"),
                    cleanup: Cleanup::Postgres { server_url, name },
                })
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Cleanup::Postgres { server_url, name } = &self.cleanup else {
            return;
        };
        let (server_url, name) = (server_url.clone(), name.clone());
        // Drop cannot await: a short-lived runtime on its own thread removes the database,
        // forcing off any connection a stopped app still holds.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = Database::connect(format!("{server_url}/postgres")).await.ok()?;
                let result = tokio::time::timeout(
                    Duration::from_secs(30),
                    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")),
                )
                .await;
                admin.close().await.ok();
                result.ok()?.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("warning: could not drop test database {}", self.url);
        }
    }
}
