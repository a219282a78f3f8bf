//! The `sessionStock` subscription a host's on-screen overlay follows.

use async_graphql::futures_util::{Stream, stream};
use async_graphql::{Context, ID, Subscription};
use chrono::Utc;

use super::objects::{LiveSessionItem, live_session_node};
use crate::graphql::context::database;
use crate::infra::error::AppError;
use crate::infra::graphql::global_id::{NodeType, decode_as};
use crate::infra::ids::LiveSessionItemId;
use crate::livestream::sessions::{self, SessionPhase};

type Result<T> = async_graphql::Result<T>;

/// How often a `sessionStock` subscription looks at the quotas: the overlay's refresh rate.
const STOCK_POLL: std::time::Duration = std::time::Duration::from_millis(250);

#[derive(Default)]
pub struct LivestreamSubscription;

#[Subscription]
impl LivestreamSubscription {
    /// Each item's remaining quota, sent at once and then whenever it changes, until the
    /// session has ended (for the host's overlay; anyone may follow a public session). It
    /// reads the database, so every replica sees every sale.
    async fn session_stock(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
    ) -> Result<impl Stream<Item = Vec<LiveSessionItem>> + use<>> {
        let Some(row_id) = decode_as(&session_id, NodeType::LiveSession) else {
            return Err(AppError::bad_input("session-not-found").into());
        };
        if live_session_node(ctx, row_id).await?.is_none() {
            return Err(AppError::bad_input("session-not-found").into());
        }
        let db = database(ctx)?.clone();
        let watch = (db, row_id, None::<Vec<(LiveSessionItemId, i32, i32)>>, false);
        Ok(stream::unfold(watch, |(db, row_id, last, done)| async move {
            if done {
                return None;
            }
            loop {
                let Ok(session) = sessions::session_of(&db, row_id).await else {
                    return None;
                };
                let items = sessions::items_of(&db, row_id).await.ok()?;
                let state: Vec<(LiveSessionItemId, i32, i32)> =
                    items.iter().map(|i| (i.id, i.remaining, i.sold())).collect();
                let ended = sessions::phase(&session, Utc::now()) == SessionPhase::Ended
                    && items.iter().all(|i| i.approved_at.is_none() || i.returned_at.is_some());
                if last.as_ref() != Some(&state) {
                    let answer: Vec<LiveSessionItem> = items.into_iter().map(LiveSessionItem).collect();
                    return Some((answer, (db, row_id, Some(state), ended)));
                }
                if ended {
                    return None;
                }
                tokio::time::sleep(STOCK_POLL).await;
            }
        }))
    }
}
