//! An order's identity while it is placed: the buyer's idempotency key (the same key is the
//! same order, also when two requests race) and the order's number.

use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, SqlErr};

use super::Reserved;
use crate::catalogue::today_in_china;
use crate::infra::error::{AppError, AppResult};
use crate::infra::ids::UserId;
use crate::orders::entity::order;

/// The buyer's order with this idempotency key, if there is one.
pub async fn by_idempotency_key(
    db: &impl ConnectionTrait,
    buyer_id: UserId,
    key: &str,
) -> AppResult<Option<order::Model>> {
    Ok(order::Entity::find()
        .filter(order::Column::BuyerId.eq(buyer_id))
        .filter(order::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

/// Whether inserting an order failed because its buyer's idempotency key is taken: another
/// request with the same key placed it meanwhile.
pub(in crate::checkout) fn key_taken(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// The order another request with the same buyer and key placed while this one was placing
/// (the unique key refused this one's insert, and the caller rolled back): that order is the
/// answer to both.
pub(in crate::checkout) async fn placed_meanwhile(
    db: &DatabaseConnection,
    buyer_id: UserId,
    key: &str,
) -> AppResult<Reserved> {
    let order = by_idempotency_key(db, buyer_id, key)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("idempotent order vanished")))?;
    Ok(Reserved::found_again(order))
}

/// `HK`, the day in China, and ten random characters: unique without a counter (the unique
/// key catches the improbable clash).
/// Eight random digits: what a pickup order's buyer shows at the store's counter. Unique among
/// the store's orders (a unique index; a clash, one in a hundred million, fails the placing,
/// which the buyer's retry with the same key places again).
pub(in crate::checkout) fn pickup_code() -> String {
    let random = uuid::Uuid::new_v4().as_u128();
    format!("{:08}", random % 100_000_000)
}

pub(in crate::checkout) fn order_number() -> String {
    let china_day = today_in_china().format("%Y%m%d");
    let random = uuid::Uuid::new_v4().simple().to_string().to_ascii_uppercase();
    format!("HK{china_day}{}", &random[..10])
}
