//! One session's watcher: reads the session and its items when woken (or every `resync`), and
//! passes what changed to the session's followers.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use chrono::Utc;
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{READ_GAP, Rooms, Snapshot, StockSnapshot, lock};
use crate::infra::error::AppResult;
use crate::infra::ids::{LiveSessionId, VariantId};
use crate::livestream::sessions::{self, SessionPhase};

pub(super) struct Watcher {
    pub db: DatabaseConnection,
    pub session: LiveSessionId,
    pub snapshot: Arc<Snapshot>,
    pub bell: Arc<Notify>,
    pub variants: Arc<OnceLock<Vec<VariantId>>>,
    pub rooms: Weak<Rooms>,
}

pub(super) fn spawn(watcher: Watcher, resync: Duration) {
    tokio::spawn(async move {
        loop {
            let read_at = Instant::now();
            match read(&watcher.db, watcher.session).await {
                Ok(read) => {
                    let _ = watcher
                        .variants
                        .set(read.items.iter().map(|item| item.variant_id).collect());
                    let ended = read.ended;
                    watcher.snapshot.send_if_modified(|shown| {
                        let changed = shown.as_deref() != Some(&read);
                        if changed {
                            *shown = Some(Arc::new(read));
                        }
                        changed
                    });
                    if ended {
                        watcher.close(true);
                        return;
                    }
                }
                Err(error) => {
                    tracing::warn!(session = %watcher.session, error = ?error, "reading a live session's stock failed")
                }
            }
            tokio::select! {
                () = watcher.bell.notified() => {}
                () = tokio::time::sleep(resync) => {}
                () = watcher.snapshot.closed() => {
                    if watcher.close(false) {
                        return;
                    }
                }
            }
            // Sales that land meanwhile are taken in by the next read.
            tokio::time::sleep_until(read_at + READ_GAP).await;
        }
    });
}

impl Watcher {
    /// Leaves the process's rooms, when `over` or when nobody follows any more (checked under
    /// the rooms' lock, which a new follower takes too); whether it left.
    fn close(&self, over: bool) -> bool {
        let Some(rooms) = self.rooms.upgrade() else {
            return true;
        };
        let mut rooms = lock(&rooms);
        if !over && self.snapshot.receiver_count() > 0 {
            return false;
        }
        if rooms
            .get(&self.session)
            .is_some_and(|room| Arc::ptr_eq(&room.snapshot, &self.snapshot))
        {
            rooms.remove(&self.session);
        }
        true
    }
}

/// The session's items, and whether it is over: ended, and every approved item's unsold rest
/// returned to stock.
async fn read(db: &DatabaseConnection, session_id: LiveSessionId) -> AppResult<StockSnapshot> {
    let session = sessions::session_of(db, session_id).await?;
    let items = sessions::items_of(db, session_id).await?;
    let ended = sessions::phase(&session, Utc::now()) == SessionPhase::Ended
        && items
            .iter()
            .all(|item| item.approved_at.is_none() || item.returned_at.is_some());
    Ok(StockSnapshot { items, ended })
}
