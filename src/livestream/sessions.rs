//! Live sessions (flash sales). A host schedules a session of items; each takes effect when
//! the variant's grower (or an operator) approves it, which sets its quota aside from the
//! variant's stock (held as reserved, so the rest of the shop cannot sell it). While the session
//! is live, an order through its code buys an approved item at the session price from the
//! quota: a conditional update never takes more than is left, and the buyer's row, taken by
//! placing first, counts a buyer's orders one after the other against the per-buyer limit.
//! A cancelled or expired order gives its units back to the quota (and the buyer's limit; see `quota`);
//! at the end a worker returns the unsold rest to stock, from what the database says, so a
//! restart loses nothing.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};

use super::entity::{live_session, live_session_item, promo_link};
use crate::catalogue::entity::{product, variant};
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::UserId;
use crate::infra::ids::{LiveSessionId, LiveSessionItemId};
use crate::infra::ids::{ProducerId, VariantId};
use crate::infra::money::Fen;
use crate::infra::paging::{self, Direction, PageRequest};
use crate::inventory::{self, Moved, Movement};
use crate::shop::{Effect, Shop};

pub const MAX_ITEMS: usize = 20;
pub const MAX_QUOTA: i32 = 100_000;
/// A session lasts a day at most (a stream is hours; the quota is held out of stock meanwhile).
pub const MAX_LENGTH_HOURS: i64 = 24;

pub struct ItemRequest {
    pub variant_id: Option<VariantId>,
    pub price: String,
    pub quota: i32,
    pub per_buyer_limit: i32,
}

pub struct SessionRequest {
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub items: Vec<ItemRequest>,
}

/// Where a session stands at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionPhase {
    Scheduled,
    Live,
    Ended,
}

pub fn phase(session: &live_session::Model, now: DateTime<Utc>) -> SessionPhase {
    if now < session.starts_at {
        SessionPhase::Scheduled
    } else if now < session.ends_at {
        SessionPhase::Live
    } else {
        SessionPhase::Ended
    }
}

fn invalid(path: &[&str], message: impl Into<Message>) -> UserError {
    UserError::new(ErrorCode::InvalidInput, message).on_field(path)
}

/// `scheduleLiveSession`: the session and its items, none approved yet.
pub async fn schedule(
    db: &DatabaseConnection,
    host_id: UserId,
    request: SessionRequest,
    now: DateTime<Utc>,
) -> Outcome<live_session::Model> {
    let title = request.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Ok(Err(invalid(&["input", "title"], "title-length")));
    }
    if request.ends_at <= request.starts_at || request.ends_at <= now {
        return Ok(Err(invalid(&["input", "endsAt"], "session-window")));
    }
    if request.ends_at - request.starts_at > chrono::Duration::hours(MAX_LENGTH_HOURS) {
        return Ok(Err(invalid(
            &["input", "endsAt"],
            Message::new("session-length").with("max", MAX_LENGTH_HOURS),
        )));
    }
    if request.items.is_empty() || request.items.len() > MAX_ITEMS {
        return Ok(Err(invalid(
            &["input", "items"],
            Message::new("session-item-count").with("max", MAX_ITEMS),
        )));
    }
    let mut items = Vec::with_capacity(request.items.len());
    let mut seen = HashSet::new();
    for (index, item) in request.items.iter().enumerate() {
        let at = index.to_string();
        let path = |field: &'static str| ["input", "items", &at, field].map(str::to_owned);
        let on = |field: &'static str| {
            let owned = path(field);
            move |error: UserError| error.on_field(&owned.iter().map(String::as_str).collect::<Vec<_>>())
        };
        let found = match item.variant_id {
            Some(variant_id) => variant::Entity::find_by_id(variant_id).one(db).await?,
            None => None,
        };
        let Some(found) = found else {
            return Ok(Err(on("variantId")(UserError::new(
                ErrorCode::NotFound,
                "variant-not-found",
            ))));
        };
        if !seen.insert(found.id) {
            return Ok(Err(on("variantId")(UserError::new(
                ErrorCode::InvalidInput,
                "variant-once-per-session",
            ))));
        }
        let price = match Fen::parse_yuan(&item.price) {
            Ok(price) if price > Fen::ZERO => price,
            Ok(_) => {
                return Ok(Err(on("price")(UserError::new(
                    ErrorCode::InvalidInput,
                    "price-positive",
                ))));
            }
            Err(problem) => {
                return Ok(Err(on("price")(UserError::new(
                    ErrorCode::InvalidInput,
                    problem.message(),
                ))));
            }
        };
        if !(1..=MAX_QUOTA).contains(&item.quota) {
            return Ok(Err(on("quota")(UserError::new(
                ErrorCode::InvalidInput,
                Message::new("quota-range").with("max", MAX_QUOTA),
            ))));
        }
        if !(1..=item.quota).contains(&item.per_buyer_limit) {
            return Ok(Err(on("perBuyerLimit")(UserError::new(
                ErrorCode::InvalidInput,
                "per-buyer-limit-range",
            ))));
        }
        items.push((found.id, price, item.quota, item.per_buyer_limit));
    }
    let txn = begin_write(db).await?;
    let session = live_session::ActiveModel {
        host_id: Set(host_id),
        title: Set(title.to_owned()),
        starts_at: Set(request.starts_at),
        ends_at: Set(request.ends_at),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    live_session_item::Entity::insert_many(items.into_iter().map(|(variant_id, price, quota, limit)| {
        live_session_item::ActiveModel {
            session_id: Set(session.id),
            variant_id: Set(variant_id),
            price_fen: Set(price),
            quota: Set(quota),
            per_buyer_limit: Set(limit),
            remaining: Set(0),
            approved_at: Set(None),
            approved_by: Set(None),
            returned_at: Set(None),
            returned_units: Set(0),
            ..Default::default()
        }
    }))
    .exec_without_returning(&txn)
    .await?;
    end_write(txn, Ok(session)).await
}

/// A session item with the producer of its variant (whose growers approve it).
pub async fn item_with_producer(
    db: &impl ConnectionTrait,
    item_id: LiveSessionItemId,
) -> AppResult<Option<(live_session_item::Model, ProducerId)>> {
    let Some(item) = live_session_item::Entity::find_by_id(item_id).one(db).await? else {
        return Ok(None);
    };
    let Some(variant) = variant::Entity::find_by_id(item.variant_id).one(db).await? else {
        return Ok(None);
    };
    let Some(product) = product::Entity::find_by_id(variant.product_id).one(db).await? else {
        return Ok(None);
    };
    Ok(Some((item, product.producer_id)))
}

/// `approveLiveSessionItem` (the caller's right is checked by the resolver): sets the quota
/// aside from the variant's stock, or answers `OUT_OF_STOCK`; approving twice changes nothing.
pub async fn approve(
    shop: &Shop,
    item_id: LiveSessionItemId,
    approver_id: UserId,
    now: DateTime<Utc>,
) -> Outcome<live_session::Model> {
    let db = &shop.db;
    let Some(item) = live_session_item::Entity::find_by_id(item_id).one(db).await? else {
        return Ok(Err(
            UserError::new(ErrorCode::NotFound, "session-item-not-found").on_field(&["itemId"])
        ));
    };
    let session = session_of(db, item.session_id).await?;
    if phase(&session, now) == SessionPhase::Ended {
        return Ok(Err(
            UserError::new(ErrorCode::SessionNotLive, "session-ended").on_field(&["itemId"])
        ));
    }
    let txn = begin_write(db).await?;
    let approved = live_session_item::Entity::update_many()
        .col_expr(live_session_item::Column::ApprovedAt, Expr::value(now))
        .col_expr(live_session_item::Column::ApprovedBy, Expr::value(approver_id))
        .col_expr(
            live_session_item::Column::Remaining,
            Expr::col(live_session_item::Column::Quota),
        )
        .filter(live_session_item::Column::Id.eq(item.id))
        .filter(live_session_item::Column::ApprovedAt.is_null())
        .exec(&txn)
        .await?;
    if approved.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(Ok(session));
    }
    let moved = inventory::apply_for_session(
        &txn,
        Movement::SetAside,
        item.variant_id,
        i64::from(item.quota),
        Some(approver_id),
    )
    .await?;
    let Moved::Done {
        availability_flipped, ..
    } = moved
    else {
        return end_write(
            txn,
            Err(UserError::new(
                ErrorCode::OutOfStock,
                Message::new("quota-not-available").with("quota", item.quota),
            )
            .on_field(&["itemId"])),
        )
        .await;
    };
    txn.commit().await?;
    shop.announce(Effect::stock_moved([item.variant_id], availability_flipped))
        .await;
    Ok(Ok(session))
}

pub async fn session_of(db: &impl ConnectionTrait, session_id: LiveSessionId) -> AppResult<live_session::Model> {
    live_session::Entity::find_by_id(session_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("session {session_id} vanished")))
}

pub async fn items_of(
    db: &impl ConnectionTrait,
    session_id: LiveSessionId,
) -> AppResult<Vec<live_session_item::Model>> {
    Ok(live_session_item::Entity::find()
        .filter(live_session_item::Column::SessionId.eq(session_id))
        .order_by_asc(live_session_item::Column::Id)
        .all(db)
        .await?)
}

/// A page of a host's sessions, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    host_id: UserId,
    page: &PageRequest<LiveSessionId>,
    count_total: bool,
) -> AppResult<(Vec<live_session::Model>, u64)> {
    let select = live_session::Entity::find().filter(live_session::Column::HostId.eq(host_id));
    paging::keyset_page(
        db,
        select,
        live_session::Column::Id,
        Direction::NewestFirst,
        page,
        count_total,
    )
    .await
}

/// What a code offers at the session's prices right now: the approved items of its session,
/// by variant, while the session is live (empty otherwise: normal prices, general stock).
#[derive(Clone, Debug, Default)]
pub struct LiveOffer {
    pub(super) items: HashMap<VariantId, live_session_item::Model>,
}

impl LiveOffer {
    pub fn price_of(&self, variant_id: VariantId) -> Option<Fen> {
        self.items.get(&variant_id).map(|item| item.price_fen)
    }

    pub fn serves(&self, variant_id: VariantId) -> bool {
        self.items.contains_key(&variant_id)
    }

    /// The item that sells `variant_id` in the session.
    pub fn item_of(&self, variant_id: VariantId) -> Option<LiveSessionItemId> {
        self.items.get(&variant_id).map(|item| item.id)
    }
}

/// The live offer of `link` (the order's code's live link), read at `now`: the approved items
/// still held of its session, if the session is live then, in one read.
pub async fn live_offer(
    db: &impl ConnectionTrait,
    link: Option<&promo_link::Model>,
    now: DateTime<Utc>,
) -> AppResult<LiveOffer> {
    let Some(session_id) = link.and_then(|link| link.session_id) else {
        return Ok(LiveOffer::default());
    };
    // Live as `phase` says: from its start (included) to its end (excluded).
    let live_session = Query::select()
        .column(live_session::Column::Id)
        .from(live_session::Entity)
        .and_where(live_session::Column::Id.eq(session_id))
        .and_where(live_session::Column::StartsAt.lte(now))
        .and_where(live_session::Column::EndsAt.gt(now))
        .to_owned();
    let items = live_session_item::Entity::find()
        .filter(live_session_item::Column::SessionId.in_subquery(live_session))
        .filter(live_session_item::Column::ApprovedAt.is_not_null())
        .filter(live_session_item::Column::ReturnedAt.is_null())
        .all(db)
        .await?;
    Ok(LiveOffer {
        items: items.into_iter().map(|item| (item.variant_id, item)).collect(),
    })
}
