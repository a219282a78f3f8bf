//! New products with their variants, from a grower or an operator: every value checked before
//! anything is written, and the product, its variants and their stock written in one
//! transaction.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, SqlErr, TransactionTrait,
};

use super::entity::{catalogue_entry, product, variant};
use super::management::{
    MAX_NAME_CHARS, MAX_PRICE, MAX_STOCK_DELTA, control_characters, has_control_characters, invalid,
};
use super::onboarding::is_slug;
use crate::accounts::SignedIn;
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::ProductId;
use crate::infra::money::Fen;
use crate::inventory::entity::{stock_level, stock_movement};

pub struct NewVariant {
    pub sku: String,
    pub name: String,
    pub price: String,
    pub weight_grams: i32,
    pub stock: i32,
}

pub struct NewProduct {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub category_slug: String,
    pub village_slug: Option<String>,
    pub catalogue_code: Option<String>,
    pub variants: Vec<NewVariant>,
}

/// Variants one product may have; also what the query cost counts for `Product.variants`.
pub const MAX_VARIANTS: usize = 20;

pub(super) fn is_sku(sku: &str) -> bool {
    (2..=40).contains(&sku.len())
        && sku
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// A product's name: 1 to 80 characters of one line.
pub(super) fn check_product_name(name: &str, path: &[&str]) -> Result<(), UserError> {
    if name.trim().is_empty() || name.chars().count() > 80 {
        return Err(invalid(path, "product-name-length"));
    }
    if has_control_characters(name) {
        return Err(control_characters(path));
    }
    Ok(())
}

/// A product's description: up to 2,000 characters.
pub(super) fn check_description(description: &str) -> Result<(), UserError> {
    if description.chars().count() > 2_000 {
        return Err(invalid(&["input", "description"], "description-length"));
    }
    // A description may run over several lines; nothing else invisible belongs in it.
    if description.chars().any(crate::infra::text::is_refused_control) {
        return Err(control_characters(&["input", "description"]));
    }
    Ok(())
}

/// Checks a new product's own fields; the first problem found is reported.
fn validate_new_product(input: &NewProduct) -> Result<Vec<Fen>, UserError> {
    if !is_slug(&input.slug) {
        return Err(invalid(&["input", "slug"], "slug-format"));
    }
    check_product_name(&input.name, &["input", "name"])?;
    check_description(&input.description)?;
    if input.variants.is_empty() || input.variants.len() > MAX_VARIANTS {
        return Err(invalid(
            &["input", "variants"],
            Message::new("variant-count").with("max", MAX_VARIANTS),
        ));
    }
    let mut prices = Vec::new();
    for (index, new) in input.variants.iter().enumerate() {
        prices.push(validate_variant(new, &["input", "variants", &index.to_string()])?);
    }
    Ok(prices)
}

/// Checks one new variant; `at` is the path to it in the input, the field is added to it.
pub(super) fn validate_variant(new: &NewVariant, at: &[&str]) -> Result<Fen, UserError> {
    let path = |field: &'static str| [at, &[field]].concat();
    if !is_sku(&new.sku) {
        return Err(invalid(&path("sku"), "sku-format"));
    }
    if new.name.trim().is_empty() || new.name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(
            &path("name"),
            Message::new("variant-name-length").with("max", MAX_NAME_CHARS),
        ));
    }
    if has_control_characters(&new.name) {
        return Err(control_characters(&path("name")));
    }
    let price = match Fen::parse_yuan(&new.price) {
        Ok(price) if price > Fen::ZERO && price <= MAX_PRICE => price,
        Ok(_) => {
            return Err(invalid(
                &path("price"),
                Message::new("price-range").with("max", MAX_PRICE),
            ));
        }
        Err(problem) => return Err(invalid(&path("price"), problem.message())),
    };
    if !(0..=100_000).contains(&new.weight_grams) {
        return Err(invalid(&path("weightGrams"), "weight-range"));
    }
    if !(0..=MAX_STOCK_DELTA).contains(&new.stock) {
        return Err(UserError::new(
            ErrorCode::InvalidQuantity,
            Message::new("initial-stock-range").with("max", MAX_STOCK_DELTA),
        )
        .on_field(&path("stock")));
    }
    Ok(price)
}

/// `createProduct`: a producer lists a new product with its variants and opening stock, in one
/// transaction. Unique slugs and SKUs are the database's to judge.
pub async fn create_product(
    db: &impl TransactionTrait,
    actor: &SignedIn,
    producer: &super::entity::producer::Model,
    input: NewProduct,
) -> Outcome<product::Model> {
    let prices = match validate_new_product(&input) {
        Ok(prices) => prices,
        Err(problem) => return Ok(Err(problem)),
    };
    let txn = begin_write(db).await?;
    let Some(category) = super::entity::category::Entity::find()
        .filter(super::entity::category::Column::Slug.eq(input.category_slug.as_str()))
        .one(&txn)
        .await?
    else {
        return Ok(Err(
            UserError::new(ErrorCode::NotFound, "category-not-found").on_field(&["input", "categorySlug"])
        ));
    };
    let village_id = match &input.village_slug {
        None => producer.village_id,
        Some(slug) => match super::service::village_by_slug(&txn, slug).await? {
            Some(village) => village.id,
            None => {
                return Ok(Err(
                    UserError::new(ErrorCode::NotFound, "village-not-found").on_field(&["input", "villageSlug"])
                ));
            }
        },
    };
    let entry_id = match &input.catalogue_code {
        None => None,
        Some(code) => match catalogue_entry::Entity::find()
            .filter(catalogue_entry::Column::Code.eq(code.as_str()))
            .one(&txn)
            .await?
        {
            Some(entry) => Some(entry.id),
            None => {
                return Ok(Err(UserError::new(ErrorCode::NotFound, "catalogue-entry-not-found")
                    .on_field(&["input", "catalogueCode"])));
            }
        },
    };
    let now = Utc::now();
    let inserted = product::ActiveModel {
        slug: Set(input.slug.clone()),
        name: Set(input.name.trim().to_owned()),
        description: Set(input.description.trim().to_owned()),
        category_id: Set(category.id),
        village_id: Set(village_id),
        producer_id: Set(producer.id),
        catalogue_entry_id: Set(entry_id),
        min_price_fen: Set(prices.iter().min().copied().unwrap_or(Fen::ZERO)),
        max_price_fen: Set(prices.iter().max().copied().unwrap_or(Fen::ZERO)),
        units_sold: Set(0),
        listed_at: Set(now),
        published: Set(true),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let product = match inserted {
        Ok(product) => product,
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Ok(Err(invalid(&["input", "slug"], "slug-taken")));
        }
        Err(error) => return Err(error.into()),
    };
    for (position, (new, price)) in input.variants.iter().zip(prices).enumerate() {
        let at = ["input", "variants", &position.to_string()];
        if let Err(problem) = insert_variant(&txn, actor, product.id, position, new, price, &at).await? {
            return Ok(Err(problem));
        }
    }
    end_write(txn, Ok(product)).await
}

/// Writes a checked variant, its stock row and its opening stock's ledger row; a taken SKU is
/// `sku-taken` on `at`'s `sku`.
pub(super) async fn insert_variant(
    txn: &impl ConnectionTrait,
    actor: &SignedIn,
    product_id: ProductId,
    position: usize,
    new: &NewVariant,
    price: Fen,
    at: &[&str],
) -> Outcome<variant::Model> {
    let inserted = variant::ActiveModel {
        product_id: Set(product_id),
        sku: Set(new.sku.clone()),
        name: Set(new.name.trim().to_owned()),
        price_fen: Set(price),
        weight_grams: Set(new.weight_grams),
        position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
        ..Default::default()
    }
    .insert(txn)
    .await;
    let variant = match inserted {
        Ok(variant) => variant,
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Ok(Err(invalid(&[at, &["sku"]].concat(), "sku-taken")));
        }
        Err(error) => return Err(error.into()),
    };
    stock_level::ActiveModel {
        variant_id: Set(variant.id),
        on_hand: Set(i64::from(new.stock)),
        reserved: Set(0),
        version: Set(0),
    }
    .insert(txn)
    .await?;
    if new.stock > 0 {
        stock_movement::ActiveModel {
            variant_id: Set(variant.id),
            on_hand_delta: Set(i64::from(new.stock)),
            reserved_delta: Set(0),
            reason: Set("opening stock".to_owned()),
            actor_user_id: Set(Some(actor.user_id)),
            order_id: Set(None),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(Ok(variant))
}
