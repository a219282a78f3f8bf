//! One request recomputes a missing entry while the others wait: per key in the process, and
//! across replicas through a short Redis lock.

use std::sync::Arc;
use std::time::Duration;

use super::{Store, StorefrontCache};

/// How long a replica holds the recompute lock of a key, and waits on another's.
const RECOMPUTE_LOCK: Duration = Duration::from_millis(2_000);
const RECOMPUTE_WAIT: Duration = Duration::from_millis(200);

/// Deletes the recompute lock KEYS[1] only while it holds ARGV[1], this claim's token.
const RELEASE_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Held while this request recomputes an entry.
pub struct RecomputeTurn {
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

/// This replica's Redis lock on recomputing a key, if it took one.
pub struct Claim {
    lock: Option<(String, String)>,
}

impl StorefrontCache {
    /// Waits until no other request of this process recomputes `key`; the guard makes the
    /// caller the one that does (it looks for the entry again first: the request before it
    /// has usually just stored it).
    pub async fn recompute_turn(&self, key: &str) -> RecomputeTurn {
        let lock = {
            let mut recomputing = self.recomputing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            recomputing.retain(|_, lock| Arc::strong_count(lock) > 1);
            recomputing.entry(key.to_owned()).or_default().clone()
        };
        RecomputeTurn {
            _guard: lock.lock_owned().await,
        }
    }

    /// Across replicas: takes the short Redis lock on recomputing `key`, or, when another
    /// replica holds it, gives that replica a moment to store its entry (the caller then looks
    /// again). The claim must be [released](Self::release) when the entry is stored.
    pub async fn claim(&self, key: &str) -> Claim {
        let Store::Redis { redis, .. } = &self.store else {
            return Claim { lock: None };
        };
        let lock_key = redis.spread_key(&format!("recompute:{key}"));
        let token = uuid::Uuid::new_v4().simple().to_string();
        let acquired = {
            let (lock_key, token) = (lock_key.clone(), token.clone());
            redis
                .run(|mut connection| async move {
                    redis::cmd("SET")
                        .arg(&lock_key)
                        .arg(&token)
                        .arg("NX")
                        .arg("PX")
                        .arg(u64::try_from(RECOMPUTE_LOCK.as_millis()).unwrap_or(u64::MAX))
                        .query_async::<Option<String>>(&mut connection)
                        .await
                })
                .await
        };
        match acquired {
            Some(Some(_)) => Claim {
                lock: Some((lock_key, token)),
            },
            Some(None) => {
                // Another replica is recomputing: give it a moment to store its answer.
                tokio::time::sleep(RECOMPUTE_WAIT).await;
                Claim { lock: None }
            }
            None => Claim { lock: None },
        }
    }

    /// Lets other replicas recompute `claim`'s key again (only if the lock is still ours).
    pub async fn release(&self, claim: Claim) {
        let (Store::Redis { redis, .. }, Some((lock_key, token))) = (&self.store, claim.lock) else {
            return;
        };
        let _ = redis
            .run(|mut connection| async move {
                redis::cmd("EVAL")
                    .arg(RELEASE_SCRIPT)
                    .arg(1)
                    .arg(&lock_key)
                    .arg(&token)
                    .query_async::<i64>(&mut connection)
                    .await
            })
            .await;
    }
}
