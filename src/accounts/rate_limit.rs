//! Rate limits on what costs a password hash: attempts are counted per key (a client address,
//! an email from one address, an account) in a fixed window. Checking and counting are one
//! atomic step (a Lua script in Redis, a lock in the process), so a burst of concurrent
//! requests cannot all slip under a limit. In Redis the counts hold across every replica;
//! without Redis (or while it is failing) each instance counts on its own.

use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use crate::infra::redis::Redis;

/// Counters kept in the process at most; the least recently used go first.
const MEMORY_COUNTERS: usize = 100_000;

/// One counter and how many attempts it allows per window.
pub struct Limit {
    pub key: String,
    pub max: u32,
}

/// Refused: the fullest counter's window ends after this long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds, never zero: what a client is told to wait.
    pub fn seconds(self) -> u64 {
        self.0.as_secs_f64().ceil().max(1.0) as u64
    }
}

/// Counts an attempt on every counter unless one is full; then answers how long that one's
/// window has to run.
/// KEYS: the counters. ARGV[1]: the window in ms; ARGV[1 + i]: KEYS[i]'s maximum.
const ATTEMPT: &str = r"
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then
      redis.call('PEXPIRE', key, ARGV[1])
      ttl = tonumber(ARGV[1])
    end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, ARGV[1]) end
end
return 0
";

/// Takes back attempts that went well: the first ARGV[1] keys are decremented (never below
/// zero, never created), the others deleted.
const FORGIVE: &str = r"
local decrement = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  if i <= decrement then
    local count = tonumber(redis.call('GET', key) or '0')
    if count > 0 then redis.call('DECR', key) end
  else
    redis.call('DEL', key)
  end
end
return 0
";

static ATTEMPT_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(ATTEMPT));
static FORGIVE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(FORGIVE));

pub struct RateLimiter {
    redis: Option<Arc<Redis>>,
    window: Duration,
    /// Count and start of window, per counter.
    memory: Mutex<quick_cache::unsync::Cache<String, (u32, Instant)>>,
}

impl RateLimiter {
    pub fn new(redis: Option<Arc<Redis>>, window: Duration) -> RateLimiter {
        RateLimiter {
            redis,
            window,
            memory: Mutex::new(quick_cache::unsync::Cache::new(MEMORY_COUNTERS)),
        }
    }

    /// Counts one attempt against every limit, or refuses it (uncounted) when any is full.
    pub async fn attempt(&self, limits: &[Limit]) -> Result<(), RetryAfter> {
        if let Some(redis) = &self.redis {
            let mut script = ATTEMPT_SCRIPT.prepare_invoke();
            for limit in limits {
                script.key(redis.key(&limit.key));
            }
            script.arg(window_ms(self.window));
            for limit in limits {
                script.arg(limit.max);
            }
            let wait = redis
                .run(|mut connection| async move { script.invoke_async::<u64>(&mut connection).await })
                .await;
            if let Some(wait) = wait {
                return if wait == 0 {
                    Ok(())
                } else {
                    Err(RetryAfter(Duration::from_millis(wait)))
                };
            }
        }
        let mut memory = self.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut wait = Duration::ZERO;
        for limit in limits {
            if let Some((count, started)) = memory.get(&limit.key)
                && started.elapsed() < self.window
                && *count >= limit.max
            {
                wait = wait.max(self.window.saturating_sub(started.elapsed()));
            }
        }
        if !wait.is_zero() {
            return Err(RetryAfter(wait));
        }
        for limit in limits {
            let counted = match memory.get(&limit.key) {
                Some((count, started)) if started.elapsed() < self.window => (count + 1, *started),
                _ => (1, Instant::now()),
            };
            memory.insert(limit.key.clone(), counted);
        }
        Ok(())
    }

    /// Takes back an attempt that went well: one off each of `decrement`, and `clear` reset.
    pub async fn forgive(&self, decrement: &[String], clear: &[String]) {
        if let Some(redis) = &self.redis {
            let mut script = FORGIVE_SCRIPT.prepare_invoke();
            for key in decrement.iter().chain(clear) {
                script.key(redis.key(key));
            }
            script.arg(decrement.len());
            let forgiven = redis
                .run(|mut connection| async move { script.invoke_async::<u64>(&mut connection).await })
                .await;
            if forgiven.is_some() {
                return;
            }
        }
        let mut memory = self.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for key in decrement {
            if let Some(mut counter) = memory.get_mut(key) {
                counter.0 = counter.0.saturating_sub(1);
            }
        }
        for key in clear {
            memory.remove(key);
        }
    }
}

fn window_ms(window: Duration) -> u64 {
    u64::try_from(window.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(key: &str, max: u32) -> Limit {
        Limit {
            key: key.to_owned(),
            max,
        }
    }

    #[tokio::test]
    async fn counts_until_full_then_refuses_without_counting() {
        let limiter = RateLimiter::new(None, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(limiter.attempt(&[limit("a", 3), limit("b", 10)]).await.is_ok());
        }
        let refused = limiter.attempt(&[limit("a", 3), limit("b", 10)]).await;
        assert!(refused.is_err_and(|wait| wait.seconds() <= 60 && wait.seconds() >= 59));
        // The refused attempt did not count on "b": seven more fit.
        for _ in 0..7 {
            assert!(limiter.attempt(&[limit("b", 10)]).await.is_ok());
        }
        assert!(limiter.attempt(&[limit("b", 10)]).await.is_err());
        limiter.forgive(&["b".to_owned()], &["a".to_owned()]).await;
        assert!(limiter.attempt(&[limit("a", 3), limit("b", 10)]).await.is_ok());
    }

    #[tokio::test]
    async fn windows_end() {
        let limiter = RateLimiter::new(None, Duration::from_millis(50));
        assert!(limiter.attempt(&[limit("a", 1)]).await.is_ok());
        assert!(limiter.attempt(&[limit("a", 1)]).await.is_err());
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(limiter.attempt(&[limit("a", 1)]).await.is_ok());
    }
}
