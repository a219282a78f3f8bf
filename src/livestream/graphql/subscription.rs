//! The `sessionStock` subscription a host's on-screen overlay (and every viewer) follows.

use std::sync::Arc;

use async_graphql::futures_util::{Stream, StreamExt};
use async_graphql::{Context, ID, Subscription};

use super::objects::{LiveSessionItem, live_session_node};
use crate::infra::error::AppError;
use crate::infra::graphql::context::database;
use crate::infra::graphql::global_id::{NodeType, decode_as};
use crate::livestream::live_room::LiveRooms;

type Result<T> = async_graphql::Result<T>;

#[derive(Default)]
pub struct LivestreamSubscription;

#[Subscription]
impl LivestreamSubscription {
    /// Each item's remaining quota, sent at once and then whenever it changes, until the
    /// session has ended (for the host's overlay; anyone may follow a public session). Every
    /// viewer of a session in one server follows one watcher, told of each sale here and in
    /// the other replicas.
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
        let rooms = ctx
            .data::<Arc<LiveRooms>>()
            .map_err(|_| AppError::Internal(anyhow::anyhow!("schema built without the live rooms")))?;
        let followed = rooms.follow(database(ctx)?, row_id);
        Ok(followed.map(|snapshot| snapshot.items.iter().cloned().map(LiveSessionItem).collect()))
    }
}
