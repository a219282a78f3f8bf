//! The cart's lines: set (0 removes), read with live prices and availability, and emptied by
//! the order that places them.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::entity::cart_line;
use super::offers::{Offer, offers};
use super::take_user;
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::{UserId, VariantId};
use crate::infra::money::Fen;
use crate::inventory::entity::stock_level;

/// Units of one variant a line may hold (as an order's line).
pub const MAX_QUANTITY: i32 = 999;
/// Lines a cart may hold (as an order).
pub const MAX_LINES: u64 = 50;

/// The user's cart lines, oldest first.
pub async fn lines_of(db: &impl ConnectionTrait, user_id: UserId) -> AppResult<Vec<cart_line::Model>> {
    Ok(cart_line::Entity::find()
        .filter(cart_line::Column::UserId.eq(user_id))
        .order_by_asc(cart_line::Column::Id)
        .all(db)
        .await?)
}

/// `setCartLine`: `quantity` units of the variant in the user's cart; 0 removes the line.
pub async fn set_line(
    db: &DatabaseConnection,
    user_id: UserId,
    variant_id: Option<VariantId>,
    quantity: i32,
) -> Outcome<()> {
    if !(0..=MAX_QUANTITY).contains(&quantity) {
        return Ok(Err(UserError::new(
            ErrorCode::InvalidQuantity,
            Message::new("quantity-range").with("max", MAX_QUANTITY),
        )
        .on_field(&["quantity"])));
    }
    let variant_not_found = || {
        Ok(Err(
            UserError::new(ErrorCode::NotFound, "variant-not-found").on_field(&["variantId"])
        ))
    };
    let Some(variant_id) = variant_id else {
        return variant_not_found();
    };
    if quantity == 0 {
        cart_line::Entity::delete_many()
            .filter(cart_line::Column::UserId.eq(user_id))
            .filter(cart_line::Column::VariantId.eq(variant_id))
            .exec(db)
            .await?;
        return Ok(Ok(()));
    }
    if offers(db, [variant_id]).await?.is_empty() {
        return variant_not_found();
    }
    // The user's row first: concurrent additions count the lines one at a time.
    let txn = begin_write(db).await?;
    take_user(&txn, user_id).await?;
    let lines = cart_line::Entity::find()
        .filter(cart_line::Column::UserId.eq(user_id))
        .filter(cart_line::Column::VariantId.ne(variant_id))
        .count(&txn)
        .await?;
    if lines >= MAX_LINES {
        return end_write(
            txn,
            Err(UserError::new(
                ErrorCode::InvalidInput,
                Message::new("cart-line-count").with("max", MAX_LINES),
            )
            .on_field(&["variantId"])),
        )
        .await;
    }
    cart_line::Entity::insert(cart_line::ActiveModel {
        user_id: Set(user_id),
        variant_id: Set(variant_id),
        quantity: Set(quantity),
        added_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([cart_line::Column::UserId, cart_line::Column::VariantId])
            .update_column(cart_line::Column::Quantity)
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    end_write(txn, Ok(())).await
}

/// Inside the transaction that placed them: the cart's lines of these variants go.
pub async fn remove_placed(
    txn: &impl ConnectionTrait,
    user_id: UserId,
    variant_ids: impl IntoIterator<Item = VariantId>,
) -> AppResult<()> {
    cart_line::Entity::delete_many()
        .filter(cart_line::Column::UserId.eq(user_id))
        .filter(cart_line::Column::VariantId.is_in(variant_ids))
        .exec(txn)
        .await?;
    Ok(())
}

/// A cart line as it stands now: today's price and whether it can be bought as it is.
pub struct LiveLine {
    pub line: cart_line::Model,
    pub offer: Offer,
    pub unit_price: Fen,
    pub line_total: Fen,
    /// On sale, and the stock available covers the quantity.
    pub available: bool,
}

/// The user's cart with live prices and availability, and its subtotal. A line whose variant
/// is gone is left out.
pub async fn live(db: &impl ConnectionTrait, user_id: UserId) -> AppResult<(Vec<LiveLine>, Fen)> {
    let lines = lines_of(db, user_id).await?;
    let mut offers = offers(db, lines.iter().map(|line| line.variant_id)).await?;
    let stock: std::collections::HashMap<VariantId, i64> = stock_level::Entity::find()
        .filter(stock_level::Column::VariantId.is_in(lines.iter().map(|line| line.variant_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|level| (level.variant_id, level.available()))
        .collect();
    let mut subtotal = Fen::ZERO;
    let mut live = Vec::with_capacity(lines.len());
    for line in lines {
        let Some(offer) = offers.remove(&line.variant_id) else {
            continue;
        };
        let unit_price = offer.variant.price_fen;
        let line_total = unit_price
            .checked_mul(i64::from(line.quantity))
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("cart line total overflows")))?;
        subtotal = subtotal
            .checked_add(line_total)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("cart subtotal overflows")))?;
        let available = offer.on_sale && stock.get(&line.variant_id).copied().unwrap_or(0) >= i64::from(line.quantity);
        live.push(LiveLine {
            line,
            offer,
            unit_price,
            line_total,
            available,
        });
    }
    Ok((live, subtotal))
}
