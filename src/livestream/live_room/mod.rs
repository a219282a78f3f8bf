//! The live room: every viewer of a session's `sessionStock` follows one watcher per session
//! per process, so the database work of a live stream does not grow with its audience.
//!
//! A watcher reads the session's items when its first follower arrives, then again only when
//! told that stock of one of the session's variants moved: by a write in this process (after
//! its commit, through [`crate::shop::Shop::announce`]) or in another replica (through Redis
//! pub/sub, see [`relay`]). A slow re-read (`HUAKAI_LIVE_STOCK_RESYNC`) heals a missed message.
//! Reads are at most one per [`READ_GAP`] per session, however many sales land meanwhile. The
//! watcher stops when its last follower leaves, or once the session has ended and been
//! settled.

mod relay;
mod watcher;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use async_graphql::futures_util::{Stream, stream};
use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, mpsc, watch};

use super::entity::live_session_item;
use crate::infra::ids::{LiveSessionId, VariantId};
use crate::infra::redis::Redis;
use crate::shop::{Effect, StockListener};

/// A watcher reads a session's items at most this often, however many sales it hears of.
pub const READ_GAP: Duration = Duration::from_millis(100);

/// A session's items as last read, and whether it is over (ended and settled: nothing will
/// change again).
#[derive(Debug, PartialEq, Eq)]
pub struct StockSnapshot {
    pub items: Vec<live_session_item::Model>,
    pub ended: bool,
}

type Snapshot = watch::Sender<Option<Arc<StockSnapshot>>>;

/// One followed session: its watcher's channel, the bell that wakes the watcher, and its
/// variants once read (until then, any movement wakes it).
struct Room {
    snapshot: Arc<Snapshot>,
    bell: Arc<Notify>,
    variants: Arc<OnceLock<Vec<VariantId>>>,
}

type Rooms = Mutex<HashMap<LiveSessionId, Room>>;

/// The process's live rooms (one per followed session), and the Redis relay between replicas.
pub struct LiveRooms {
    rooms: Arc<Rooms>,
    resync: Duration,
    /// Moved variants to publish to the other replicas; `None` without Redis.
    outbox: Option<mpsc::UnboundedSender<Vec<VariantId>>>,
    redis: Option<Arc<Redis>>,
    /// Tells this process's own messages apart when they come back from Redis.
    origin: String,
    /// Dropped with the rooms: the listener then stops.
    stop: watch::Sender<()>,
}

impl LiveRooms {
    /// Rooms that re-read every `resync` at least, publishing moved stock on `redis` when there
    /// is one (a command uses this alone; a server also [`listen`](Self::listen)s).
    pub fn new(redis: Option<Arc<Redis>>, resync: Duration) -> Arc<LiveRooms> {
        let origin = uuid::Uuid::new_v4().simple().to_string();
        let outbox = redis
            .as_ref()
            .map(|redis| relay::spawn_publisher(redis.clone(), origin.clone()));
        Arc::new(LiveRooms {
            rooms: Arc::default(),
            resync,
            outbox,
            redis,
            origin,
            stop: watch::Sender::new(()),
        })
    }

    /// Hears the other replicas' moved stock (one Redis subscription per process) until the
    /// rooms are dropped.
    pub fn listen(self: &Arc<Self>) {
        if let Some(redis) = &self.redis {
            relay::spawn_listener(redis.clone(), Arc::downgrade(self), self.stop.subscribe());
        }
    }

    /// Wakes the rooms holding one of `variants`.
    fn ring(&self, variants: &[VariantId]) {
        for room in lock(&self.rooms).values() {
            let holds = room
                .variants
                .get()
                .is_none_or(|held| held.iter().any(|variant| variants.contains(variant)));
            if holds {
                room.bell.notify_one();
            }
        }
    }

    fn ring_all(&self) {
        for room in lock(&self.rooms).values() {
            room.bell.notify_one();
        }
    }

    /// Follows `session`: its stock at once (as soon as the watcher has read it), then each
    /// change, ending after the snapshot that says it is over. The caller has checked that the
    /// viewer may see the session.
    pub fn follow(
        &self,
        db: &DatabaseConnection,
        session: LiveSessionId,
    ) -> impl Stream<Item = Arc<StockSnapshot>> + Send + use<> {
        let receiver = {
            let mut rooms = lock(&self.rooms);
            let room = rooms.entry(session).or_insert_with(|| {
                let room = Room {
                    snapshot: Arc::new(watch::Sender::new(None)),
                    bell: Arc::new(Notify::new()),
                    variants: Arc::default(),
                };
                watcher::spawn(
                    watcher::Watcher {
                        db: db.clone(),
                        session,
                        snapshot: room.snapshot.clone(),
                        bell: room.bell.clone(),
                        variants: room.variants.clone(),
                        rooms: Arc::downgrade(&self.rooms),
                    },
                    self.resync,
                );
                room
            });
            room.snapshot.subscribe()
        };
        stream::unfold((Some(receiver), true), |(receiver, first)| async move {
            let mut receiver = receiver?;
            if !first {
                receiver.changed().await.ok()?;
            }
            loop {
                // `None` until the watcher's first read.
                let shown = receiver.borrow_and_update().clone();
                if let Some(snapshot) = shown {
                    let next = (!snapshot.ended).then_some(receiver);
                    return Some((snapshot, (next, false)));
                }
                receiver.changed().await.ok()?;
            }
        })
    }

    /// Sessions followed in this process now.
    pub fn rooms_open(&self) -> usize {
        lock(&self.rooms).len()
    }
}

fn lock(rooms: &Rooms) -> MutexGuard<'_, HashMap<LiveSessionId, Room>> {
    rooms.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait::async_trait]
impl StockListener for LiveRooms {
    /// After a commit: stock or a session's quota of the effect's variants moved here. The
    /// rooms holding one wake, and the other replicas are told.
    async fn stock_moved(&self, _db: &DatabaseConnection, effect: &Effect) {
        let mut variants = effect.stock_moved.clone();
        variants.extend(&effect.quota_moved);
        if variants.is_empty() {
            return;
        }
        self.ring(&variants);
        if let Some(outbox) = &self.outbox {
            let _ = outbox.send(variants);
        }
    }
}
