//! A claim's photos: up to [`MAX_PHOTOS`] pictures, each checked and stored through the media
//! store before the claim's transaction (their keys come from their content, so a retry finds
//! them stored), then recorded in `claim_photos` inside it.

use bytes::Bytes;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::claims::entity::claim_photo;
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::ids::ClaimId;
use crate::infra::images::{ImageError, ImageRejection, ImageSize, ImageStore, StoredImage};

/// Photos one claim carries (the contract's "up to 6").
pub const MAX_PHOTOS: usize = 6;

/// Checks and stores `uploads`, in order: a picture refused is `INVALID_IMAGE` on its place in
/// `input.photos`, more than [`MAX_PHOTOS`] is `TOO_MANY_PHOTOS` (nothing is stored then).
pub async fn store(images: &ImageStore, uploads: Vec<Bytes>) -> Outcome<Vec<StoredImage>> {
    if uploads.len() > MAX_PHOTOS {
        return Ok(Err(
            UserError::new(ErrorCode::TooManyPhotos, "claim-too-many-photos").on_field(&["input", "photos"])
        ));
    }
    let mut stored = Vec::with_capacity(uploads.len());
    for (position, upload) in uploads.into_iter().enumerate() {
        match images.store(upload).await {
            Ok(image) => stored.push(image),
            Err(ImageError::Rejected(rejection)) => return Ok(Err(refused(rejection, position))),
            Err(ImageError::Storage(error)) => return Err(AppError::Internal(error.into())),
        }
    }
    Ok(Ok(stored))
}

fn refused(rejection: ImageRejection, position: usize) -> UserError {
    UserError::new(ImageRejection::CODE, rejection.message()).on_field(&["input", "photos", &position.to_string()])
}

/// Records `photos` as the claim's, in the claim's transaction.
pub async fn record(txn: &impl ConnectionTrait, claim_id: ClaimId, photos: &[StoredImage]) -> AppResult<()> {
    if photos.is_empty() {
        return Ok(());
    }
    let side = |pixels: u32| i32::try_from(pixels).unwrap_or(i32::MAX);
    let key = |photo: &StoredImage, size: ImageSize| photo.copy(size).key.as_str().to_owned();
    let rows = photos
        .iter()
        .zip(0..)
        .map(|(photo, position)| claim_photo::ActiveModel {
            claim_id: Set(claim_id),
            position: Set(position),
            width: Set(side(photo.width)),
            height: Set(side(photo.height)),
            thumbnail_key: Set(key(photo, ImageSize::Thumbnail)),
            medium_key: Set(key(photo, ImageSize::Medium)),
            large_key: Set(key(photo, ImageSize::Large)),
        });
    claim_photo::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// The claim's photos, in the order they were sent.
pub async fn of_claim(db: &impl ConnectionTrait, claim_id: ClaimId) -> AppResult<Vec<claim_photo::Model>> {
    Ok(claim_photo::Entity::find()
        .filter(claim_photo::Column::ClaimId.eq(claim_id))
        .order_by_asc(claim_photo::Column::Position)
        .all(db)
        .await?)
}
