//! A product's pictures: each checked and stored through the media store before its row is
//! written (the keys come from the content, so a retry finds the copies stored), then
//! recorded in `product_images` after the product's others, at most [`MAX_IMAGES`].

use bytes::Bytes;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set, TransactionTrait};

use super::entity::{product, product_image};
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppError, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::ProductId;
use crate::infra::images::{ImageError, ImageSize, ImageStore, StoredImage};

/// Pictures one product carries (the position's CHECK allows 0 to 11).
pub const MAX_IMAGES: usize = 12;
const MAX_ALT_CHARS: usize = 200;

/// `uploadProductImage`: checks `upload` by its content, stores its three copies and adds it
/// after the product's pictures. A refused file is `INVALID_IMAGE` on `file`.
pub async fn add(
    db: &impl TransactionTrait,
    images: &ImageStore,
    product_id: ProductId,
    upload: Bytes,
    alt: Option<String>,
) -> Outcome<()> {
    let alt = alt.map(|alt| alt.trim().to_owned()).filter(|alt| !alt.is_empty());
    if let Some(alt) = &alt
        && (alt.chars().count() > MAX_ALT_CHARS || alt.chars().any(char::is_control))
    {
        return Ok(Err(UserError::new(
            ErrorCode::InvalidInput,
            Message::new("alt-length").with("max", MAX_ALT_CHARS),
        )
        .on_field(&["alt"])));
    }
    let stored = match images.store(upload).await {
        Ok(stored) => stored,
        Err(ImageError::Rejected(rejection)) => {
            return Ok(Err(UserError::new(
                crate::infra::images::ImageRejection::CODE,
                rejection.message(),
            )
            .on_field(&["file"])));
        }
        Err(ImageError::Storage(error)) => return Err(AppError::Internal(error.into())),
    };
    record(db, product_id, &stored, alt).await
}

/// Adds `stored` as the product's last picture. The product's row is taken first (SQLite's
/// write lock does the same), so two uploads at once get the next two places.
async fn record(
    db: &impl TransactionTrait,
    product_id: ProductId,
    stored: &StoredImage,
    alt: Option<String>,
) -> Outcome<()> {
    let txn = begin_write(db).await?;
    product::Entity::find_by_id(product_id)
        .lock_exclusive()
        .one(&txn)
        .await?;
    let (count, last): (i64, Option<i32>) = product_image::Entity::find()
        .select_only()
        .column_as(product_image::Column::Position.count(), "count")
        .column_as(product_image::Column::Position.max(), "last")
        .filter(product_image::Column::ProductId.eq(product_id))
        .into_tuple()
        .one(&txn)
        .await?
        .unwrap_or((0, None));
    if usize::try_from(count).unwrap_or(usize::MAX) >= MAX_IMAGES {
        return Ok(Err(UserError::new(
            ErrorCode::InvalidInput,
            Message::new("product-too-many-images").with("max", MAX_IMAGES),
        )
        .on_field(&["productId"])));
    }
    let side = |pixels: u32| i32::try_from(pixels).unwrap_or(i32::MAX);
    let key = |size: ImageSize| stored.copy(size).key.as_str().to_owned();
    product_image::ActiveModel {
        product_id: Set(product_id),
        position: Set(last.map_or(0, |last| last.saturating_add(1))),
        width: Set(side(stored.width)),
        height: Set(side(stored.height)),
        thumbnail_key: Set(key(ImageSize::Thumbnail)),
        medium_key: Set(key(ImageSize::Medium)),
        large_key: Set(key(ImageSize::Large)),
        alt: Set(alt),
    }
    .insert(&txn)
    .await?;
    end_write(txn, Ok(())).await
}
