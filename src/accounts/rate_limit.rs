//! Login rate limiting: failures are counted per email and per client address in a fixed
//! window. In Redis the counts hold across every app replica; without Redis (or while it is
//! failing) each instance counts on its own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::AsyncCommands;

use crate::app::redis::Redis;

pub const WINDOW: Duration = Duration::from_secs(15 * 60);
pub const MAX_FAILURES_PER_EMAIL: u32 = 5;
pub const MAX_FAILURES_PER_ADDRESS: u32 = 20;

pub struct LoginLimiter {
    redis: Option<Arc<Redis>>,
    memory: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    pub fn new(redis: Option<Arc<Redis>>) -> LoginLimiter {
        LoginLimiter {
            redis,
            memory: Mutex::new(HashMap::new()),
        }
    }

    fn counters(email: &str, address: Option<IpAddr>) -> Vec<(String, u32)> {
        let mut counters = vec![(format!("login-failures:email:{email}"), MAX_FAILURES_PER_EMAIL)];
        if let Some(address) = address {
            counters.push((format!("login-failures:addr:{address}"), MAX_FAILURES_PER_ADDRESS));
        }
        counters
    }

    /// True when this email or address has failed too often in the current window.
    pub async fn is_limited(&self, email: &str, address: Option<IpAddr>) -> bool {
        let counters = Self::counters(email, address);
        if let Some(redis) = &self.redis {
            let keys: Vec<String> = counters.iter().map(|(name, _)| redis.key(name)).collect();
            let counts = redis
                .run(|mut connection| async move { connection.mget::<_, Vec<Option<u32>>>(keys).await })
                .await;
            if let Some(counts) = counts {
                return counts
                    .iter()
                    .zip(&counters)
                    .any(|(count, (_, max))| count.unwrap_or(0) >= *max);
            }
        }
        let memory = self.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        counters.iter().any(|(name, max)| {
            memory
                .get(name)
                .is_some_and(|(count, started)| started.elapsed() < WINDOW && count >= max)
        })
    }

    pub async fn record_failure(&self, email: &str, address: Option<IpAddr>) {
        let counters = Self::counters(email, address);
        if let Some(redis) = &self.redis {
            let keys: Vec<String> = counters.iter().map(|(name, _)| redis.key(name)).collect();
            let recorded = redis
                .run(|mut connection| async move {
                    let mut pipe = redis::pipe();
                    pipe.atomic();
                    for key in &keys {
                        // The window starts with the first failure and is not extended by later ones.
                        pipe.cmd("SET")
                            .arg(key)
                            .arg(0)
                            .arg("EX")
                            .arg(WINDOW.as_secs())
                            .arg("NX")
                            .ignore();
                        pipe.incr(key, 1).ignore();
                    }
                    pipe.query_async::<()>(&mut connection).await
                })
                .await;
            if recorded.is_some() {
                return;
            }
        }
        let mut memory = self.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        memory.retain(|_, (_, started)| started.elapsed() < WINDOW);
        for (name, _) in counters {
            memory.entry(name).or_insert((0, Instant::now())).0 += 1;
        }
    }

    /// A successful login clears the email's failures (not the address's).
    pub async fn record_success(&self, email: &str) {
        let name = format!("login-failures:email:{email}");
        if let Some(redis) = &self.redis {
            let key = redis.key(&name);
            let _ = redis
                .run(|mut connection| async move { connection.del::<_, ()>(key).await })
                .await;
        }
        self.memory
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&name);
    }
}
