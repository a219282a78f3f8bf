//! Automatic persisted queries (Apollo's protocol): a client sends the SHA-256 of a query it
//! sent before instead of the query itself, so storefront reads fit in a short, cacheable GET.
//! The queries are kept in Redis (shared by replicas) or in the process.

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use sha2::{Digest, Sha256};

use crate::app::redis::Redis;

const TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Longer queries are answered but not kept: nobody fills the store with megabytes.
const MAX_STORED_QUERY_BYTES: usize = 16 * 1024;

pub enum PersistedQueries {
    Memory(quick_cache::sync::Cache<String, Arc<str>>),
    Redis(Arc<Redis>),
}

/// What to do with a request's `extensions.persistedQuery`.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution {
    /// No persisted query in the request.
    NotPersisted,
    /// The query the hash names.
    Query(String),
    /// The client must send the query with its hash once.
    NotFound,
    /// The query does not hash to the hash sent with it.
    HashMismatch,
}

fn sha256_hex(query: &str) -> String {
    hex::encode(Sha256::digest(query.as_bytes()))
}

impl PersistedQueries {
    pub fn in_process() -> PersistedQueries {
        PersistedQueries::Memory(quick_cache::sync::Cache::new(10_000))
    }

    async fn load(&self, hash: &str) -> Option<String> {
        match self {
            PersistedQueries::Memory(queries) => queries.get(hash).map(|query| query.to_string()),
            PersistedQueries::Redis(redis) => {
                let key = redis.key(&format!("apq:{hash}"));
                redis
                    .run(|mut connection| async move { connection.get::<_, Option<String>>(key).await })
                    .await
                    .flatten()
            }
        }
    }

    async fn store(&self, hash: &str, query: &str) {
        match self {
            PersistedQueries::Memory(queries) => queries.insert(hash.to_owned(), Arc::from(query)),
            PersistedQueries::Redis(redis) => {
                let key = redis.key(&format!("apq:{hash}"));
                let query = query.to_owned();
                let _ = redis
                    .run(|mut connection| async move { connection.set_ex::<_, _, ()>(key, query, TTL.as_secs()).await })
                    .await;
            }
        }
    }

    /// Resolves `extensions.persistedQuery.sha256Hash` against the request's query.
    pub async fn resolve(&self, request: &async_graphql::Request) -> Resolution {
        let Some(hash) = request
            .extensions
            .get("persistedQuery")
            .and_then(|value| match value {
                async_graphql::Value::Object(fields) => fields.get("sha256Hash").cloned(),
                _ => None,
            })
            .and_then(|value| match value {
                async_graphql::Value::String(hash) => Some(hash.to_ascii_lowercase()),
                _ => None,
            })
        else {
            return Resolution::NotPersisted;
        };
        if request.query.is_empty() {
            return match self.load(&hash).await {
                Some(query) => Resolution::Query(query),
                None => Resolution::NotFound,
            };
        }
        if sha256_hex(&request.query) != hash {
            return Resolution::HashMismatch;
        }
        if request.query.len() <= MAX_STORED_QUERY_BYTES {
            self.store(&hash, &request.query).await;
        }
        Resolution::Query(request.query.clone())
    }
}
