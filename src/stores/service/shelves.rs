//! A store's shelf: stock moved to it from online and back, and what runs low.

use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::{StoreId, UserId, VariantId};
use crate::inventory::entity::shelf_stock;
use crate::inventory::{Moved, shelf};
use crate::shop::Effect;

/// The most units one transfer moves (a typo guard).
pub const MAX_TRANSFER: i32 = 100_000;

/// `transferStock`: `quantity` units of the variant from the online stock to the store's shelf
/// (negative: back online), both sides of the ledger in one transaction. Online, only units no
/// order holds can go; back, only units on the shelf. What the storefront must hear of is
/// returned for the caller to announce.
pub async fn transfer_stock(
    db: &DatabaseConnection,
    actor: UserId,
    store_id: StoreId,
    variant_id: VariantId,
    quantity: i32,
) -> Outcome<Effect> {
    if quantity == 0 || quantity.unsigned_abs() > MAX_TRANSFER.unsigned_abs() {
        return Ok(Err(UserError::new(
            ErrorCode::InvalidQuantity,
            Message::new("transfer-range").with("max", MAX_TRANSFER),
        )
        .on_field(&["input", "quantity"])));
    }
    let txn = begin_write(db).await?;
    match shelf::transfer(&txn, store_id, variant_id, i64::from(quantity), actor).await? {
        Moved::Done {
            availability_flipped, ..
        } => end_write(txn, Ok(Effect::stock_moved([variant_id], availability_flipped))).await,
        Moved::Refused => {
            let short = if quantity > 0 {
                UserError::new(ErrorCode::OutOfStock, "transfer-online-short")
            } else {
                UserError::new(ErrorCode::NotOnShelf, "transfer-shelf-short")
            };
            end_write(txn, Err(short.on_field(&["input", "quantity"]))).await
        }
    }
}

/// The shelf's variants with `threshold` units or fewer, fewest first.
pub async fn low_stock(
    db: &impl ConnectionTrait,
    store_id: StoreId,
    threshold: u32,
) -> AppResult<Vec<shelf_stock::Model>> {
    Ok(shelf_stock::Entity::find()
        .filter(shelf_stock::Column::StoreId.eq(store_id))
        .filter(shelf_stock::Column::OnShelf.lte(i64::from(threshold)))
        .order_by_asc(shelf_stock::Column::OnShelf)
        .order_by_asc(shelf_stock::Column::VariantId)
        .all(db)
        .await?)
}
