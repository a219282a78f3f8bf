//! A live session's quota as orders take it and give it back: claimed in the placing
//! transaction within each buyer's limit, returned when an order is cancelled, expires or is
//! refunded before it ships, and the unsold rest returned to stock when the session ends.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, InsertStatement, Query, QueryStatementBuilder};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::entity::{live_session, live_session_item, session_purchase};
use super::sessions::LiveOffer;
use crate::infra::db::{begin_write, sum_or_zero};
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::OrderId;
use crate::infra::ids::UserId;
use crate::infra::ids::VariantId;
use crate::infra::ids::{LiveSessionId, LiveSessionItemId};
use crate::inventory::{self, Moved, Movement};
use crate::orders::SessionQuota;
use crate::shop::{Effect, Shop};

/// Takes the order's session lines (variant → quantity and the line's input index) from their
/// quotas, within each buyer's limit. Call it in the placing transaction, after the buyer's row
/// was taken; on a user error the caller rolls back. `deferred` (a batch's order): the limit is
/// checked and the purchase written, and the units are left for the batch to [`take`] from the
/// quota at its end, once for all its orders; what each item is owed is answered.
pub async fn claim(
    txn: &impl ConnectionTrait,
    offer: &LiveOffer,
    order_id: OrderId,
    buyer_id: UserId,
    wanted: &BTreeMap<VariantId, (i32, usize)>,
    now: DateTime<Utc>,
    deferred: bool,
) -> Outcome<Vec<(LiveSessionItemId, i32)>> {
    let mut owed = Vec::new();
    for (variant_id, (quantity, index)) in wanted {
        let Some(item) = offer.items.get(variant_id) else {
            continue;
        };
        let refused = |problem: UserError| {
            Ok(Err(problem.on_field(&[
                "input",
                "lines",
                &index.to_string(),
                "quantity",
            ])))
        };
        // The quota first (the item's row is locked before the purchase is written, as a
        // batch's take locks it before its stock); a batch's order leaves it to the batch.
        if !deferred && !take(txn, item.id, i64::from(*quantity)).await? {
            return refused(refusal(txn, item.id, buyer_id, *quantity).await?);
        }
        // The purchase, written only within the buyer's limit; which of the limit and the
        // quota refused is read only when one did (a refusal rolls the quota's take back).
        let purchase = purchase_within_limit(item.id, buyer_id, order_id, *quantity, now)?;
        if txn.execute(&purchase).await?.rows_affected() != 1 {
            return refused(refusal(txn, item.id, buyer_id, *quantity).await?);
        }
        if deferred {
            owed.push((item.id, *quantity));
        }
    }
    Ok(Ok(owed))
}

/// Takes `units` from the quota of `item_id` (for an order, or for a batch's orders at its end),
/// while it has them and was not returned: all or none; `false` when the quota is short.
pub async fn take(txn: &impl ConnectionTrait, item_id: LiveSessionItemId, units: i64) -> AppResult<bool> {
    let taken = live_session_item::Entity::update_many()
        .col_expr(
            live_session_item::Column::Remaining,
            Expr::col(live_session_item::Column::Remaining).sub(units),
        )
        .filter(live_session_item::Column::Id.eq(item_id))
        .filter(live_session_item::Column::Remaining.gte(units))
        .filter(live_session_item::Column::ReturnedAt.is_null())
        .exec(txn)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// What `buyer_id` holds of the item and the item's limit per buyer; `None` when the item was
/// returned (or is gone).
async fn held_and_limit(
    txn: &impl ConnectionTrait,
    item_id: LiveSessionItemId,
    buyer_id: UserId,
) -> AppResult<Option<(i64, i32)>> {
    Ok(live_session_item::Entity::find()
        .select_only()
        .expr(held_of(item_id, buyer_id))
        .column(live_session_item::Column::PerBuyerLimit)
        .filter(live_session_item::Column::Id.eq(item_id))
        .filter(live_session_item::Column::ReturnedAt.is_null())
        .into_tuple()
        .one(txn)
        .await?)
}

/// Why `buyer_id` could not have `quantity` more of the item: over the limit, or sold out.
async fn refusal(
    txn: &impl ConnectionTrait,
    item_id: LiveSessionItemId,
    buyer_id: UserId,
    quantity: i32,
) -> AppResult<UserError> {
    Ok(match held_and_limit(txn, item_id, buyer_id).await? {
        Some((held, limit)) if held + i64::from(quantity) > i64::from(limit) => over_limit(limit),
        _ => sold_out(),
    })
}

/// The purchase of `quantity` of the item for the order, inserted only while the item is held
/// (not returned) and the buyer's purchases stay within its limit per buyer.
fn purchase_within_limit(
    item_id: LiveSessionItemId,
    buyer_id: UserId,
    order_id: OrderId,
    quantity: i32,
    now: DateTime<Utc>,
) -> AppResult<InsertStatement> {
    let purchase = Query::select()
        .expr(Expr::val(item_id))
        .expr(Expr::val(buyer_id))
        .expr(Expr::val(order_id))
        .expr(Expr::val(quantity))
        .expr(Expr::val(now))
        .from(live_session_item::Entity)
        .and_where(live_session_item::Column::Id.eq(item_id))
        .and_where(live_session_item::Column::ReturnedAt.is_null())
        .and_where(
            held_of(item_id, buyer_id)
                .add(quantity)
                .lte(Expr::col(live_session_item::Column::PerBuyerLimit)),
        )
        .to_owned();
    Ok(Query::insert()
        .into_table(session_purchase::Entity)
        .columns([
            session_purchase::Column::ItemId,
            session_purchase::Column::BuyerId,
            session_purchase::Column::OrderId,
            session_purchase::Column::Quantity,
            session_purchase::Column::CreatedAt,
        ])
        .select_from(purchase)
        .map_err(|error| AppError::Internal(error.into()))?
        .to_owned())
}

/// A session item's limit per buyer and what some buyers hold of it, read once for a batch's
/// orders of the item (after their buyers' rows were taken), each counted as it is checked.
pub struct BuyersLimit {
    limit: i32,
    held: HashMap<UserId, i64>,
}

impl BuyersLimit {
    /// Whether `buyer` may have `quantity` more of the item; counts them when it may.
    pub fn take(&mut self, buyer: UserId, quantity: i32) -> bool {
        let held = self.held.entry(buyer).or_default();
        let allowed = *held + i64::from(quantity) <= i64::from(self.limit);
        if allowed {
            *held += i64::from(quantity);
        }
        allowed
    }
}

/// The limit per buyer of `item_id` and what each of `buyers` holds of it, in one statement;
/// `None` when the item was returned (or is gone).
pub async fn buyers_limit(
    txn: &impl ConnectionTrait,
    item_id: LiveSessionItemId,
    buyers: &[UserId],
) -> AppResult<Option<BuyersLimit>> {
    let purchase = |column: session_purchase::Column| Expr::col((session_purchase::Entity, column));
    let item = |column: live_session_item::Column| Expr::col((live_session_item::Entity, column));
    let select = Query::select()
        .from(live_session_item::Entity)
        .left_join(
            session_purchase::Entity,
            purchase(session_purchase::Column::ItemId)
                .equals((live_session_item::Entity, live_session_item::Column::Id))
                .and(purchase(session_purchase::Column::BuyerId).is_in(buyers.iter().copied()))
                .and(purchase(session_purchase::Column::ReleasedAt).is_null()),
        )
        .expr_as(item(live_session_item::Column::PerBuyerLimit), "per_buyer_limit")
        .expr_as(purchase(session_purchase::Column::BuyerId), "buyer_id")
        .expr_as(sum_or_zero(purchase(session_purchase::Column::Quantity)), "held")
        .and_where(item(live_session_item::Column::Id).eq(item_id))
        .and_where(item(live_session_item::Column::ReturnedAt).is_null())
        .group_by_col((live_session_item::Entity, live_session_item::Column::PerBuyerLimit))
        .group_by_col((session_purchase::Entity, session_purchase::Column::BuyerId))
        .to_owned();
    let mut limit = None;
    let mut held = HashMap::new();
    for row in txn.query_all(&select).await? {
        limit = Some(row.try_get::<i32>("", "per_buyer_limit")?);
        if let Some(buyer) = row.try_get::<Option<UserId>>("", "buyer_id")? {
            held.insert(buyer, row.try_get::<i64>("", "held")?);
        }
    }
    Ok(limit.map(|limit| BuyersLimit { limit, held }))
}

/// Writes the purchases of a batch's orders, each checked by [`BuyersLimit::take`], in one
/// statement: (item, buyer, order, quantity, when).
pub async fn record_purchases(
    txn: &impl ConnectionTrait,
    purchases: impl IntoIterator<Item = (LiveSessionItemId, UserId, OrderId, i32, DateTime<Utc>)>,
) -> AppResult<()> {
    let rows = purchases
        .into_iter()
        .map(|(item, buyer, order, quantity, now)| session_purchase::ActiveModel {
            item_id: Set(item),
            buyer_id: Set(buyer),
            order_id: Set(order),
            quantity: Set(quantity),
            created_at: Set(now),
            ..Default::default()
        });
    session_purchase::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

fn over_limit(limit: i32) -> UserError {
    UserError::new(
        ErrorCode::PurchaseLimitReached,
        Message::new("purchase-limit").with("limit", limit),
    )
}

fn sold_out() -> UserError {
    UserError::new(ErrorCode::QuotaExhausted, "quota-sold-out")
}

/// The units of `item_id` that `buyer_id` holds (bought and not released), as a subquery.
fn held_of(item_id: LiveSessionItemId, buyer_id: UserId) -> Expr {
    let held = Query::select()
        .expr(sum_or_zero(Expr::col(session_purchase::Column::Quantity)))
        .from(session_purchase::Entity)
        .and_where(session_purchase::Column::ItemId.eq(item_id))
        .and_where(session_purchase::Column::BuyerId.eq(buyer_id))
        .and_where(session_purchase::Column::ReleasedAt.is_null())
        .to_owned();
    Expr::SubQuery(None, Box::new(held.into_sub_query_statement()))
}

/// An order's stock of `variants` is being released or returned (cancelled, expired, or
/// refunded before it shipped): its session units go
/// back to their quotas while the session has not been settled (after, they stay with the
/// general stock the release frees), and no longer count against the buyer's limit. Once each.
/// Only the session items are written here, in item order; the caller then sets the returned
/// units aside from each variant's stock (`(variant, units)` in the answer) as it moves the
/// order's stock rows in variant order, so that every path locks session items before stock
/// rows, as placing does (see `orders::service::state::give_back_lines`).
pub async fn give_back(
    txn: &impl ConnectionTrait,
    order_id: OrderId,
    variants: &[VariantId],
) -> AppResult<Vec<(VariantId, i64)>> {
    let purchases = session_purchase::Entity::find()
        .filter(session_purchase::Column::OrderId.eq(order_id))
        .filter(session_purchase::Column::ReleasedAt.is_null())
        .order_by_asc(session_purchase::Column::ItemId)
        .all(txn)
        .await?;
    let mut set_aside = Vec::new();
    for purchase in purchases {
        let item = live_session_item::Entity::find_by_id(purchase.item_id).one(txn).await?;
        if !item.is_some_and(|item| variants.contains(&item.variant_id)) {
            continue;
        }
        let released = session_purchase::Entity::update_many()
            .col_expr(session_purchase::Column::ReleasedAt, Expr::value(Utc::now()))
            .filter(session_purchase::Column::Id.eq(purchase.id))
            .filter(session_purchase::Column::ReleasedAt.is_null())
            .exec(txn)
            .await?;
        if released.rows_affected != 1 {
            continue;
        }
        let restored = live_session_item::Entity::update_many()
            .col_expr(
                live_session_item::Column::Remaining,
                Expr::col(live_session_item::Column::Remaining).add(purchase.quantity),
            )
            .filter(live_session_item::Column::Id.eq(purchase.item_id))
            .filter(live_session_item::Column::ReturnedAt.is_null())
            .exec_with_returning(txn)
            .await?;
        if let Some(item) = restored.first() {
            set_aside.push((item.variant_id, i64::from(purchase.quantity)));
        }
    }
    Ok(set_aside)
}

/// Returns the unsold quota of every approved item whose session ended by `now` to its
/// variant's stock, each once (a conditional update claims it). Returns how many items.
pub async fn settle_ended(shop: &Shop, now: DateTime<Utc>) -> AppResult<usize> {
    let db = &shop.db;
    let ended: Vec<LiveSessionId> = live_session::Entity::find()
        .select_only()
        .column(live_session::Column::Id)
        .filter(live_session::Column::EndsAt.lte(now))
        .into_tuple()
        .all(db)
        .await?;
    if ended.is_empty() {
        return Ok(0);
    }
    let open = live_session_item::Entity::find()
        .filter(live_session_item::Column::SessionId.is_in(ended))
        .filter(live_session_item::Column::ApprovedAt.is_not_null())
        .filter(live_session_item::Column::ReturnedAt.is_null())
        .all(db)
        .await?;
    let mut settled = 0;
    let mut flipped = false;
    let mut moved = Vec::new();
    for item in open {
        let txn = begin_write(db).await?;
        let claimed = live_session_item::Entity::update_many()
            .col_expr(live_session_item::Column::ReturnedAt, Expr::value(now))
            .col_expr(
                live_session_item::Column::ReturnedUnits,
                Expr::col(live_session_item::Column::Remaining),
            )
            .col_expr(live_session_item::Column::Remaining, Expr::value(0))
            .filter(live_session_item::Column::Id.eq(item.id))
            .filter(live_session_item::Column::ReturnedAt.is_null())
            .exec_with_returning(&txn)
            .await?;
        let Some(claimed) = claimed.first() else {
            txn.rollback().await?;
            continue;
        };
        if claimed.returned_units > 0 {
            match inventory::apply_for_session(
                &txn,
                Movement::GiveBack,
                claimed.variant_id,
                i64::from(claimed.returned_units),
                None,
            )
            .await?
            {
                Moved::Done {
                    availability_flipped, ..
                } => {
                    flipped |= availability_flipped;
                    moved.push(claimed.variant_id);
                }
                Moved::Refused => {
                    txn.rollback().await?;
                    return Err(AppError::Internal(anyhow::anyhow!(
                        "session item {} could not return its quota",
                        item.id
                    )));
                }
            }
        }
        txn.commit().await?;
        settled += 1;
    }
    shop.announce(Effect::stock_moved(moved, flipped)).await;
    Ok(settled)
}

/// The livestream domain's part when an order's units are given back (`orders::SessionQuota`).
pub struct GiveBackQuota;

#[async_trait::async_trait]
impl SessionQuota for GiveBackQuota {
    async fn give_back(
        &self,
        txn: &DatabaseTransaction,
        order_id: OrderId,
        variants: &[VariantId],
    ) -> AppResult<Vec<(VariantId, i64)>> {
        give_back(txn, order_id, variants).await
    }
}
