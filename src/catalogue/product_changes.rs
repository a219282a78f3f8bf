//! Changing a listed product (its producer's growers, operators): name, description, category,
//! published or not, and new variants. The caller's right is checked by the GraphQL layer
//! through the policy; these functions check the values.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Set, TransactionTrait,
};

use super::creation::{self, MAX_VARIANTS, NewVariant};
use super::entity::{product, variant};
use super::management::{invalid, refresh_price_range};
use super::onboarding::category_by_slug;
use crate::accounts::SignedIn;
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;

/// What `updateProduct` changes; `None` leaves a field as it is.
#[derive(Default)]
pub struct ProductChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub category_slug: Option<String>,
    pub published: Option<bool>,
}

/// `updateProduct`. Unpublishing takes the product off the storefront and out of new orders;
/// orders placed already keep their lines (they hold their own name and price).
pub async fn update_product(
    db: &impl TransactionTrait,
    product: product::Model,
    changes: ProductChanges,
) -> Outcome<product::Model> {
    if let Some(name) = &changes.name
        && let Err(problem) = creation::check_product_name(name, &["input", "name"])
    {
        return Ok(Err(problem));
    }
    if let Some(description) = &changes.description
        && let Err(problem) = creation::check_description(description)
    {
        return Ok(Err(problem));
    }
    let txn = begin_write(db).await?;
    let mut row = product.into_active_model();
    if let Some(slug) = &changes.category_slug {
        let Some(category) = category_by_slug(&txn, slug).await? else {
            return Ok(Err(
                UserError::new(ErrorCode::NotFound, "category-not-found").on_field(&["input", "categorySlug"])
            ));
        };
        row.category_id = Set(category.id);
    }
    if let Some(name) = changes.name {
        row.name = Set(name.trim().to_owned());
    }
    if let Some(description) = changes.description {
        row.description = Set(description.trim().to_owned());
    }
    if let Some(published) = changes.published {
        row.published = Set(published);
    }
    let product = row.update(&txn).await?;
    end_write(txn, Ok(product)).await
}

/// `addVariant`: one more variant (returned with its product) with its opening stock, placed after the others; the
/// product's price range follows in the same transaction.
pub async fn add_variant(
    db: &impl TransactionTrait,
    actor: &SignedIn,
    product: &product::Model,
    new: NewVariant,
) -> Outcome<(product::Model, variant::Model)> {
    let price = match creation::validate_variant(&new, &["input"]) {
        Ok(price) => price,
        Err(problem) => return Ok(Err(problem)),
    };
    let txn = begin_write(db).await?;
    let (count, last): (i64, Option<i32>) = variant::Entity::find()
        .select_only()
        .column_as(variant::Column::Id.count(), "count")
        .column_as(variant::Column::Position.max(), "last")
        .filter(variant::Column::ProductId.eq(product.id))
        .into_tuple()
        .one(&txn)
        .await?
        .unwrap_or((0, None));
    if usize::try_from(count).unwrap_or(usize::MAX) >= MAX_VARIANTS {
        return Ok(Err(invalid(
            &["productId"],
            Message::new("variant-count").with("max", MAX_VARIANTS),
        )));
    }
    let position = last.map_or(0, |last| usize::try_from(last).unwrap_or(0) + 1);
    let variant = match creation::insert_variant(&txn, actor, product.id, position, &new, price, &["input"]).await? {
        Ok(variant) => variant,
        Err(problem) => return Ok(Err(problem)),
    };
    refresh_price_range(&txn, product.id).await?;
    let product = product::Entity::find_by_id(product.id)
        .one(&txn)
        .await?
        .ok_or_else(|| {
            crate::infra::error::AppError::Internal(anyhow::anyhow!("the product left while it was changed"))
        })?;
    end_write(txn, Ok((product, variant))).await
}
