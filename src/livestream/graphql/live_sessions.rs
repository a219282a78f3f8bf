//! Live sessions and their items as the API shows them, who may see them, and the
//! `sessionStock` subscription a host's overlay follows.

use async_graphql::futures_util::{Stream, stream};
use async_graphql::{Context, Enum, ID, Object, Subscription};
use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;

use super::objects::{Host, host_of};
use crate::accounts::policy::viewer;
use crate::catalogue::graphql::{Variant, variant_node};
use crate::error::{AppError, AppResult};
use crate::graphql::context::database;
use crate::graphql::ids::{NodeType, decode_as, encode};
use crate::livestream::entity::{live_session, live_session_item};
use crate::livestream::policy::{ApproveSessionItem, ReadPromoLink};
use crate::livestream::sessions::{self, SessionPhase};
use crate::money::{Fen, Money};

type Result<T> = async_graphql::Result<T>;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum LiveSessionStatus {
    Scheduled,
    Live,
    Ended,
}

pub struct LiveSession(pub live_session::Model);

#[Object]
impl LiveSession {
    pub async fn id(&self) -> ID {
        encode(NodeType::LiveSession, self.0.id)
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }

    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.ends_at
    }

    async fn status(&self) -> LiveSessionStatus {
        match sessions::phase(&self.0, Utc::now()) {
            SessionPhase::Scheduled => LiveSessionStatus::Scheduled,
            SessionPhase::Live => LiveSessionStatus::Live,
            SessionPhase::Ended => LiveSessionStatus::Ended,
        }
    }

    async fn host(&self, ctx: &Context<'_>) -> Result<Option<Host>> {
        host_of(ctx, self.0.host_id).await
    }

    #[graphql(complexity = "crate::graphql::relay::list_complexity(sessions::MAX_ITEMS, child_complexity)")]
    async fn items(&self, ctx: &Context<'_>) -> Result<Vec<LiveSessionItem>> {
        Ok(sessions::items_of(database(ctx)?, self.0.id)
            .await?
            .into_iter()
            .map(LiveSessionItem)
            .collect())
    }
}

pub struct LiveSessionItem(pub live_session_item::Model);

#[Object]
impl LiveSessionItem {
    pub async fn id(&self) -> ID {
        encode(NodeType::LiveSessionItem, self.0.id)
    }

    async fn variant(&self, ctx: &Context<'_>) -> Result<Option<Variant>> {
        Ok(variant_node(ctx, self.0.variant_id).await?)
    }

    /// The session price.
    async fn price(&self) -> Money {
        Fen::new(self.0.price_fen).into()
    }

    async fn quota(&self) -> i32 {
        self.0.quota
    }

    /// Units taken by orders (paid or still held).
    async fn sold(&self) -> i32 {
        self.0.sold()
    }

    /// Units left in the quota (0 before approval and after the end).
    async fn remaining(&self) -> i32 {
        self.0.remaining
    }

    async fn per_buyer_limit(&self) -> i32 {
        self.0.per_buyer_limit
    }

    async fn approved(&self) -> bool {
        self.0.approved_at.is_some()
    }
}

/// Whether the viewer may see a session: anyone once an item is approved (it is public: its
/// host announces it); before, its host, the growers asked to approve an item, and operators.
async fn may_see_session(ctx: &Context<'_>, session: &live_session::Model) -> AppResult<bool> {
    let items = sessions::items_of(database(ctx)?, session.id).await?;
    if items.iter().any(|item| item.approved_at.is_some()) {
        return Ok(true);
    }
    let viewer = viewer(ctx);
    if viewer.may(ReadPromoLink {
        host_id: session.host_id,
    }) {
        return Ok(true);
    }
    for item in items {
        if let Some((_, producer_id)) = sessions::item_with_producer(database(ctx)?, item.id).await?
            && viewer.may(ApproveSessionItem { producer_id })
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A session through `node(id:)`.
pub async fn live_session_node(ctx: &Context<'_>, session_id: i64) -> AppResult<Option<LiveSession>> {
    let Some(session) = live_session::Entity::find_by_id(session_id).one(database(ctx)?).await? else {
        return Ok(None);
    };
    Ok(may_see_session(ctx, &session).await?.then_some(LiveSession(session)))
}

/// A session item through `node(id:)`: as its session.
pub async fn live_session_item_node(ctx: &Context<'_>, item_id: i64) -> AppResult<Option<LiveSessionItem>> {
    let Some(item) = live_session_item::Entity::find_by_id(item_id)
        .one(database(ctx)?)
        .await?
    else {
        return Ok(None);
    };
    let session = sessions::session_of(database(ctx)?, item.session_id).await?;
    Ok(may_see_session(ctx, &session).await?.then_some(LiveSessionItem(item)))
}

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
        let watch = (db, row_id, None::<Vec<(i64, i32, i32)>>, false);
        Ok(stream::unfold(watch, |(db, row_id, last, done)| async move {
            if done {
                return None;
            }
            loop {
                let Ok(session) = sessions::session_of(&db, row_id).await else {
                    return None;
                };
                let items = sessions::items_of(&db, row_id).await.ok()?;
                let state: Vec<(i64, i32, i32)> = items.iter().map(|i| (i.id, i.remaining, i.sold())).collect();
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
