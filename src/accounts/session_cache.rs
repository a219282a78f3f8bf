//! Who a session's token proves, remembered for a few seconds (`HUAKAI_SESSION_CACHE_TTL`), so
//! that a signed-in request costs no query, while a revoked session still ends at once:
//!
//! - Whatever ends a session or changes who its user is (logout, a password change, a role or
//!   language change) forgets it here and tells the other replicas through Redis pub/sub,
//!   after its commit. Each replica listens on its own connection and forgets the same.
//! - A replica that is not listening (Redis down, the subscription lost, not yet made) serves
//!   nothing from the cache and keeps nothing: it asks the database, as without a cache, and
//!   starts from empty when it listens again (it may have missed a message meanwhile).
//! - A request that read the database before a forgetting it did not see must not put back
//!   what was forgotten: every forgetting bumps a generation, and a fill keeps its answer only
//!   if the generation is still the one it started from.
//!
//! Without Redis a process is taken to be alone (the embedded SQLite shop) and forgets only in
//! itself; replicas sharing a database without Redis see another's revocation within the TTL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio::task::JoinHandle;

use super::SignedIn;
use crate::infra::ids::UserId;
use crate::infra::redis::Redis;

/// Sessions remembered at most; past this the oldest half is dropped (a flood of tokens cannot
/// grow the process).
const MAX_ENTRIES: usize = 100_000;
/// How often the listener makes sure its connection still answers.
const PING_EVERY: Duration = Duration::from_secs(5);
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the listener waits before subscribing again after losing Redis.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);
const CHANNEL: &str = "sessions-changed";

struct Remembered {
    signed_in: SignedIn,
    /// When this entry was read from the database plus the TTL.
    fresh_until: Instant,
    session_expires_at: DateTime<Utc>,
}

pub struct SessionCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Remembered>>,
    generation: AtomicU64,
    bus: Option<Arc<Redis>>,
    listening: AtomicBool,
}

/// What to forget, as published: one session, or every session of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Forget {
    Session(String),
    User(UserId),
}

impl Forget {
    fn message(&self) -> String {
        match self {
            Forget::Session(id) => format!("s:{id}"),
            Forget::User(id) => format!("u:{id}"),
        }
    }

    fn parse(message: &str) -> Option<Forget> {
        match message.split_once(':')? {
            ("s", id) => Some(Forget::Session(id.to_owned())),
            ("u", id) => id.parse().ok().map(|id| Forget::User(UserId(id))),
            _ => None,
        }
    }
}

impl SessionCache {
    /// A cache remembering sessions for `ttl` (zero: none), told of changes on other replicas
    /// through `bus` once [`spawn_listener`](Self::spawn_listener) runs.
    pub fn new(ttl: Duration, bus: Option<Arc<Redis>>) -> SessionCache {
        SessionCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            bus,
            listening: AtomicBool::new(false),
        }
    }

    /// A cache that remembers nothing (commands, the demo loader): forgetting is free.
    pub fn off() -> SessionCache {
        SessionCache::new(Duration::ZERO, None)
    }

    fn usable(&self) -> bool {
        !self.ttl.is_zero() && (self.bus.is_none() || self.listening.load(Ordering::Acquire))
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Remembered>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The caller session `session_id` of `user_id` proved lately, if it is remembered.
    pub fn get(&self, session_id: &str, user_id: UserId) -> Option<SignedIn> {
        if !self.usable() {
            return None;
        }
        let entries = self.entries();
        let remembered = entries.get(session_id)?;
        (remembered.signed_in.user_id == user_id
            && remembered.fresh_until > Instant::now()
            && remembered.session_expires_at > Utc::now())
        .then(|| remembered.signed_in.clone())
    }

    /// Take this before reading a session from the database, and give it to [`keep`](Self::keep).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Remembers what the database said of a live session, unless something was forgotten
    /// since `generation` was taken.
    pub fn keep(&self, generation: u64, signed_in: SignedIn, session_expires_at: DateTime<Utc>) {
        if !self.usable() {
            return;
        }
        let mut entries = self.entries();
        // Checked under the lock that forgetting takes too: no forgetting slips in between.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            let now = Instant::now();
            entries.retain(|_, remembered| remembered.fresh_until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            signed_in.session_id.clone(),
            Remembered {
                signed_in,
                fresh_until: Instant::now() + self.ttl,
                session_expires_at,
            },
        );
    }

    /// After a commit that ended session `session_id`: forgotten here and on every replica.
    pub async fn forget_session(&self, session_id: &str) {
        self.forget(Forget::Session(session_id.to_owned())).await;
    }

    /// After a commit that changed `user_id` (role, producer, language, password): every session
    /// of theirs is forgotten here and on every replica.
    pub async fn forget_user(&self, user_id: UserId) {
        self.forget(Forget::User(user_id)).await;
    }

    async fn forget(&self, what: Forget) {
        self.apply(&what);
        let Some(redis) = &self.bus else {
            return;
        };
        let channel = redis.spread_key(CHANNEL);
        let message = what.message();
        let published = redis
            .run(|mut connection| async move {
                redis::cmd("PUBLISH")
                    .arg(channel)
                    .arg(message)
                    .query_async::<i64>(&mut connection)
                    .await
            })
            .await;
        if published.is_none() {
            // The others keep what they hold for at most the TTL, or drop it all if they lost
            // Redis too.
            tracing::warn!(?what, "could not tell the other replicas of a session change");
        }
    }

    fn apply(&self, what: &Forget) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::AcqRel);
        match what {
            Forget::Session(id) => {
                entries.remove(id);
            }
            Forget::User(user_id) => entries.retain(|_, remembered| remembered.signed_in.user_id != *user_id),
        }
    }

    /// Forgets everything: what happened while nobody listened is unknown.
    fn clear(&self) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Listens for other replicas' changes while the process runs (nothing to do without Redis
    /// or a TTL).
    pub fn spawn_listener(self: &Arc<Self>) -> Option<JoinHandle<()>> {
        let redis = self.bus.clone().filter(|_| !self.ttl.is_zero())?;
        let cache = self.clone();
        Some(tokio::spawn(async move {
            let channel = redis.spread_key(CHANNEL);
            loop {
                match redis.subscribe(&channel).await {
                    Ok(pubsub) => {
                        cache.clear();
                        cache.listening.store(true, Ordering::Release);
                        cache.listen(pubsub).await;
                        cache.listening.store(false, Ordering::Release);
                        cache.clear();
                        tracing::warn!("lost the session changes' subscription; asking the database meanwhile");
                    }
                    Err(error) => tracing::debug!(%error, "cannot subscribe to session changes"),
                }
                tokio::time::sleep(RESUBSCRIBE_AFTER).await;
            }
        }))
    }

    /// Applies what arrives until the connection ends or stops answering.
    async fn listen(&self, pubsub: redis::aio::PubSub) {
        let (mut sink, mut stream) = pubsub.split();
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            tokio::select! {
                message = stream.next() => match message {
                    Some(message) => {
                        if let Some(what) = message.get_payload::<String>().ok().as_deref().and_then(Forget::parse) {
                            self.apply(&what);
                        }
                    }
                    None => return,
                },
                _ = ping.tick() => {
                    let answered = tokio::time::timeout(PING_TIMEOUT, sink.ping::<String>()).await;
                    if !matches!(answered, Ok(Ok(_))) {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Role;

    fn signed_in(user: i64, session: &str) -> SignedIn {
        SignedIn {
            user_id: UserId(user),
            role: Role::Buyer,
            producer_id: None,
            session_id: session.to_owned(),
            language: None,
        }
    }

    #[test]
    fn messages_read_back_as_written() {
        for what in [Forget::Session("abc".to_owned()), Forget::User(UserId(42))] {
            assert_eq!(Forget::parse(&what.message()), Some(what));
        }
        assert_eq!(Forget::parse("x:1"), None);
        assert_eq!(Forget::parse("u:not-a-number"), None);
    }

    #[tokio::test]
    async fn a_fill_that_raced_a_forgetting_is_not_kept() {
        let cache = SessionCache::new(Duration::from_secs(60), None);
        let later = Utc::now() + chrono::Duration::hours(1);
        let before = cache.generation();
        cache.forget_session("s1").await;
        cache.keep(before, signed_in(1, "s1"), later);
        assert_eq!(cache.get("s1", UserId(1)), None);

        cache.keep(cache.generation(), signed_in(1, "s1"), later);
        assert_eq!(cache.get("s1", UserId(1)), Some(signed_in(1, "s1")));
        assert_eq!(
            cache.get("s1", UserId(2)),
            None,
            "another user's token naming the session"
        );
        cache.forget_user(UserId(1)).await;
        assert_eq!(cache.get("s1", UserId(1)), None);
    }

    #[tokio::test]
    async fn an_expired_session_is_not_served() {
        let cache = SessionCache::new(Duration::from_secs(60), None);
        cache.keep(
            cache.generation(),
            signed_in(1, "s1"),
            Utc::now() - chrono::Duration::seconds(1),
        );
        assert_eq!(cache.get("s1", UserId(1)), None);
    }
}
