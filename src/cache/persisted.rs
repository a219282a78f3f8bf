//! Automatic persisted queries (Apollo's protocol): a client sends the SHA-256 of a query it
//! sent before instead of the query itself, so storefront reads fit in a short, cacheable GET.
//! The queries are kept in Redis (shared by replicas) or in the process.

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use sha2::{Digest, Sha256};

use crate::infra::redis::Redis;

const TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Longer queries are answered but not kept: nobody fills the store with megabytes.
const MAX_STORED_QUERY_BYTES: usize = 16 * 1024;

pub enum PersistedQueries {
    Memory(quick_cache::sync::Cache<String, Arc<str>, QueryWeight>),
    Redis(Arc<Redis>),
}

/// A stored query weighs its bytes (and its hash's), so the store is bounded in memory.
#[derive(Clone)]
pub struct QueryWeight;

impl quick_cache::Weighter<String, Arc<str>> for QueryWeight {
    fn weight(&self, hash: &String, query: &Arc<str>) -> u64 {
        (hash.len() + query.len()) as u64
    }
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
    /// Kept in the process, in at most `max_bytes` of queries.
    pub fn in_process(max_bytes: u64) -> PersistedQueries {
        let estimated_items = usize::try_from(max_bytes / 1024).unwrap_or(usize::MAX).max(16);
        PersistedQueries::Memory(quick_cache::sync::Cache::with_weighter(
            estimated_items,
            max_bytes,
            QueryWeight,
        ))
    }

    async fn load(&self, hash: &str) -> Option<String> {
        match self {
            PersistedQueries::Memory(queries) => queries.get(hash).map(|query| query.to_string()),
            PersistedQueries::Redis(redis) => {
                let key = redis.spread_key(&format!("apq:{hash}"));
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
                let key = redis.spread_key(&format!("apq:{hash}"));
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
        // Only queries are kept: a stored mutation could be run by its hash from a link.
        if request.query.len() <= MAX_STORED_QUERY_BYTES
            && !crate::infra::graphql::documents::holds_write_operation(&request.query)
        {
            self.store(&hash, &request.query).await;
        }
        Resolution::Query(request.query.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn persisted(query: &str, with_query: bool) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(if with_query { query } else { "" });
        request.extensions.insert(
            "persistedQuery".to_owned(),
            async_graphql::Value::from_json(serde_json::json!({"version": 1, "sha256Hash": sha256_hex(query)}))
                .expect("json"),
        );
        request
    }

    #[tokio::test]
    async fn only_queries_are_kept() {
        let store = PersistedQueries::in_process(1 << 20);
        let query = "{ categories { slug } }";
        assert_eq!(
            store.resolve(&persisted(query, true)).await,
            Resolution::Query(query.to_owned())
        );
        assert_eq!(
            store.resolve(&persisted(query, false)).await,
            Resolution::Query(query.to_owned())
        );
        let mutation = "mutation { logout { revoked } }";
        assert_eq!(
            store.resolve(&persisted(mutation, true)).await,
            Resolution::Query(mutation.to_owned())
        );
        assert_eq!(store.resolve(&persisted(mutation, false)).await, Resolution::NotFound);
    }

    #[tokio::test]
    async fn the_memory_store_is_bounded_in_bytes() {
        let store = PersistedQueries::in_process(64 * 1024);
        for i in 0..200 {
            let query = format!("{{ product(slug: \"{i:0>8000}\") {{ name }} }}");
            store.resolve(&persisted(&query, true)).await;
        }
        let PersistedQueries::Memory(queries) = &store else {
            panic!("in process");
        };
        assert!(queries.weight() <= 64 * 1024, "{} bytes kept", queries.weight());
    }
}
