//! Moved stock between replicas over Redis pub/sub: each process publishes what its writes
//! moved on one channel under the shop's key prefix, and listens on it once.
//!
//! A message is `origin:variant,variant,…`; a process skips its own. Publishing never holds up
//! the write that moved the stock: a task sends what has gathered, one message at a time. A
//! message lost (Redis down, a listener reconnecting) is healed by the watchers' slow re-read;
//! a listener that (re)connects wakes every room at once.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_graphql::futures_util::StreamExt;
use tokio::sync::{mpsc, watch};

use super::LiveRooms;
use crate::infra::ids::VariantId;
use crate::infra::redis::Redis;

/// A listener that lost Redis tries again after this long.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

fn channel(redis: &Redis) -> String {
    redis.spread_key("live-stock")
}

pub(super) fn spawn_publisher(redis: Arc<Redis>, origin: String) -> mpsc::UnboundedSender<Vec<VariantId>> {
    let (outbox, mut moved) = mpsc::unbounded_channel::<Vec<VariantId>>();
    tokio::spawn(async move {
        let channel = channel(&redis);
        while let Some(first) = moved.recv().await {
            let mut variants = first;
            while let Ok(more) = moved.try_recv() {
                variants.extend(more);
            }
            variants.sort_unstable();
            variants.dedup();
            let list: Vec<String> = variants.iter().map(|variant| variant.0.to_string()).collect();
            let message = format!("{origin}:{}", list.join(","));
            let channel = channel.clone();
            redis
                .run(|mut connection| async move {
                    redis::cmd("PUBLISH")
                        .arg(&channel)
                        .arg(message)
                        .query_async::<()>(&mut connection)
                        .await
                })
                .await;
        }
    });
    outbox
}

pub(super) fn spawn_listener(redis: Arc<Redis>, rooms: Weak<LiveRooms>, mut stop: watch::Receiver<()>) {
    tokio::spawn(async move {
        let channel = channel(&redis);
        loop {
            tokio::select! {
                () = listen(&redis, &channel, &rooms) => {}
                _ = stop.changed() => return,
            }
            if rooms.strong_count() == 0 {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(RECONNECT_AFTER) => {}
                _ = stop.changed() => return,
            }
        }
    });
}

/// Hears the channel until the connection drops.
async fn listen(redis: &Redis, channel: &str, rooms: &Weak<LiveRooms>) {
    let pubsub = match redis.subscribe(channel).await {
        Ok(pubsub) => pubsub,
        Err(error) => {
            tracing::debug!(%error, "cannot subscribe to live stock");
            return;
        }
    };
    // Whatever was published while not listening is heard of by reading again.
    if let Some(rooms) = rooms.upgrade() {
        rooms.ring_all();
    }
    let mut messages = pubsub.into_on_message();
    while let Some(message) = messages.next().await {
        let Some(rooms) = rooms.upgrade() else { return };
        let Ok(text) = message.get_payload::<String>() else {
            continue;
        };
        if let Some(variants) = moved_elsewhere(&text, &rooms.origin) {
            rooms.ring(&variants);
        }
    }
    tracing::debug!("lost Redis while hearing live stock");
}

/// The variants of a message from another process.
fn moved_elsewhere(message: &str, own_origin: &str) -> Option<Vec<VariantId>> {
    let (origin, list) = message.split_once(':')?;
    if origin == own_origin {
        return None;
    }
    Some(
        list.split(',')
            .filter_map(|id| id.parse().ok().map(VariantId))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_skips_its_own_messages_and_reads_the_others() {
        assert_eq!(moved_elsewhere("a1:3,5", "a1"), None);
        assert_eq!(moved_elsewhere("b2:3,5", "a1"), Some(vec![VariantId(3), VariantId(5)]));
        assert_eq!(moved_elsewhere("b2:3,x", "a1"), Some(vec![VariantId(3)]));
        assert_eq!(moved_elsewhere("garbled", "a1"), None);
    }
}
