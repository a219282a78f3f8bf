//! A Redis key prefix of the test's own, and its keys removed when the test ends.

use redis::AsyncCommands;

pub struct TestRedis {
    pub url: String,
    pub prefix: String,
}

impl TestRedis {
    pub fn create() -> Option<TestRedis> {
        let Ok(url) = std::env::var("HUAKAI_TEST_REDIS_URL") else {
            super::service_missing("HUAKAI_TEST_REDIS_URL");
            return None;
        };
        Some(TestRedis {
            url,
            prefix: format!("huakai-test-{}:", uuid::Uuid::new_v4().simple()),
        })
    }
}

/// Deletes every key under `prefix`.
pub async fn delete_prefix(url: &str, prefix: &str) -> redis::RedisResult<()> {
    let client = redis::Client::open(url)?;
    let mut connection = client.get_multiplexed_async_connection().await?;
    // Keys spread over a cluster start with the prefix; keys sharing a slot carry it in a
    // hash tag (`{prefix…}`).
    let mut keys: Vec<String> = Vec::new();
    for pattern in [format!("{prefix}*"), format!("{{{prefix}*")] {
        let mut iter = connection.scan_match::<_, String>(pattern).await?;
        while let Some(key) = iter.next_item().await {
            keys.push(key?);
        }
    }
    if !keys.is_empty() {
        connection.del::<_, ()>(keys).await?;
    }
    Ok(())
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let (url, prefix) = (self.url.clone(), self.prefix.clone());
        let cleaned = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(delete_prefix(&url, &prefix)).ok()
        })
        .join();
        if !matches!(cleaned, Ok(Some(()))) {
            eprintln!("warning: could not delete the test's Redis keys under {}", self.prefix);
        }
    }
}
