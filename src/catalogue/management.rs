//! Catalogue management: growers change their own producer's variants and stock, operators
//! anyone's. The caller's right to do so is checked by the GraphQL layer through the policy;
//! these functions check the values.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Query, QueryStatementBuilder};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
    Set, SqlErr, TransactionSession, TransactionTrait,
};

use super::entity::{catalogue_entry, product, stock_level, stock_movement, variant};
use crate::accounts::SignedIn;
use crate::infra::db::begin_write;
use crate::infra::error::{AppResult, UserError};
use crate::infra::i18n::Message;
use crate::infra::ids::{ProducerId, ProductId, VariantId};
use crate::infra::money::Fen;

pub type Outcome<T> = AppResult<Result<T, UserError>>;

/// The most a variant may cost: ¥1,000,000 (a typo guard, not a business rule).
const MAX_PRICE: Fen = Fen::new(100_000_000);
const MAX_NAME_CHARS: usize = 60;
const MAX_REASON_CHARS: usize = 200;
/// The largest single stock adjustment.
pub const MAX_STOCK_DELTA: i32 = 1_000_000;

/// A variant and the producer whose it is, for the policy check.
pub async fn variant_with_producer(
    db: &impl ConnectionTrait,
    variant_id: VariantId,
) -> AppResult<Option<(variant::Model, ProducerId)>> {
    let Some(variant) = variant::Entity::find_by_id(variant_id).one(db).await? else {
        return Ok(None);
    };
    let product = product::Entity::find_by_id(variant.product_id).one(db).await?;
    Ok(product.map(|product| (variant, product.producer_id)))
}

pub struct VariantChanges {
    pub price: Option<String>,
    pub name: Option<String>,
}

/// `updateVariant`: a new price or name; the product's price range follows in the same
/// transaction.
pub async fn update_variant(
    db: &impl TransactionTrait,
    variant: variant::Model,
    changes: VariantChanges,
) -> Outcome<variant::Model> {
    let price = match changes.price.as_deref().map(Fen::parse_yuan) {
        None => None,
        Some(Ok(price)) if price > Fen::ZERO && price <= MAX_PRICE => Some(price),
        Some(Ok(_)) => {
            return Ok(Err(UserError::new(
                "INVALID_INPUT",
                Message::new("price-range").with("max", MAX_PRICE),
            )
            .on_field(&["input", "price"])));
        }
        Some(Err(problem)) => {
            return Ok(Err(
                UserError::new("INVALID_INPUT", problem.message()).on_field(&["input", "price"])
            ));
        }
    };
    let name = changes.name.as_deref().map(str::trim);
    if let Some(name) = name
        && (name.is_empty() || name.chars().count() > MAX_NAME_CHARS)
    {
        return Ok(Err(UserError::new(
            "INVALID_INPUT",
            Message::new("variant-name-length").with("max", MAX_NAME_CHARS),
        )
        .on_field(&["input", "name"])));
    }
    if name.is_some_and(has_control_characters) {
        return Ok(Err(control_characters(&["input", "name"])));
    }
    let product_id = variant.product_id;
    let txn = begin_write(db).await?;
    let mut changed = variant.into_active_model();
    if let Some(price) = price {
        changed.price_fen = Set(price.get());
    }
    if let Some(name) = name {
        changed.name = Set(name.to_owned());
    }
    let variant = changed.update(&txn).await?;
    if price.is_some() {
        refresh_price_range(&txn, product_id).await?;
    }
    txn.commit().await?;
    Ok(Ok(variant))
}

/// Keeps `products.min_price_fen` / `max_price_fen` equal to its variants' cheapest and dearest.
async fn refresh_price_range(db: &impl ConnectionTrait, product_id: ProductId) -> AppResult<()> {
    let price_of = |ascending: bool| {
        let order = if ascending {
            sea_orm::Order::Asc
        } else {
            sea_orm::Order::Desc
        };
        Query::select()
            .column(variant::Column::PriceFen)
            .from(variant::Entity)
            .and_where(variant::Column::ProductId.eq(product_id))
            .order_by(variant::Column::PriceFen, order)
            .limit(1)
            .to_owned()
    };
    product::Entity::update_many()
        .col_expr(
            product::Column::MinPriceFen,
            Expr::SubQuery(None, Box::new(price_of(true).into_sub_query_statement())),
        )
        .col_expr(
            product::Column::MaxPriceFen,
            Expr::SubQuery(None, Box::new(price_of(false).into_sub_query_statement())),
        )
        .filter(product::Column::Id.eq(product_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Available units of a variant before and after a stock change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockChange {
    pub available_before: i64,
    pub available_after: i64,
}

impl StockChange {
    /// True when the variant ran out or came back: lists filtered on stock change then.
    pub fn availability_flipped(self) -> bool {
        (self.available_before > 0) != (self.available_after > 0)
    }
}

/// `adjustStock`: adds `delta` (negative to remove) to the on-hand stock and writes the audit
/// row in the same transaction. On-hand stock never drops below zero, nor below what unpaid
/// orders hold: the conditional update refuses it, and the CHECK constraints back it up.
pub async fn adjust_stock(
    db: &impl TransactionTrait,
    actor: &SignedIn,
    variant_id: VariantId,
    delta: i32,
    reason: &str,
) -> Outcome<StockChange> {
    if delta == 0 || delta.unsigned_abs() > MAX_STOCK_DELTA.unsigned_abs() {
        return Ok(Err(UserError::new(
            "INVALID_QUANTITY",
            Message::new("stock-adjustment-range").with("max", MAX_STOCK_DELTA),
        )
        .on_field(&["delta"])));
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Ok(Err(UserError::new(
            "INVALID_INPUT",
            Message::new("reason-length").with("max", MAX_REASON_CHARS),
        )
        .on_field(&["reason"])));
    }
    let delta = i64::from(delta);
    let txn = begin_write(db).await?;
    let updated = stock_level::Entity::update_many()
        .col_expr(
            stock_level::Column::OnHand,
            Expr::col(stock_level::Column::OnHand).add(delta),
        )
        .col_expr(
            stock_level::Column::Version,
            Expr::col(stock_level::Column::Version).add(1),
        )
        .filter(stock_level::Column::VariantId.eq(variant_id))
        .filter(
            Expr::col(stock_level::Column::OnHand)
                .add(delta)
                .gte(Expr::col(stock_level::Column::Reserved)),
        )
        .exec_with_returning(&txn)
        .await?;
    let Some(level) = updated.first() else {
        return Ok(Err(
            UserError::new("OUT_OF_STOCK", "stock-held-by-orders").on_field(&["delta"])
        ));
    };
    let change = StockChange {
        available_before: level.available() - delta,
        available_after: level.available(),
    };
    stock_movement::ActiveModel {
        variant_id: Set(variant_id),
        on_hand_delta: Set(delta),
        reserved_delta: Set(0),
        reason: Set(reason.to_owned()),
        actor_user_id: Set(Some(actor.user_id)),
        order_id: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(Ok(change))
}

/// The latest stock movements of a variant, newest first.
pub async fn stock_history(
    db: &impl ConnectionTrait,
    variant_id: VariantId,
    limit: u64,
) -> AppResult<Vec<stock_movement::Model>> {
    Ok(stock_movement::Entity::find()
        .filter(stock_movement::Column::VariantId.eq(variant_id))
        .order_by_desc(stock_movement::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// What an operator may change about a catalogue entry.
pub struct EntryChanges {
    pub issuer: Option<String>,
    pub valid_from: Option<chrono::NaiveDate>,
    pub valid_to: Option<chrono::NaiveDate>,
}

/// `updateCatalogueEntry` (operators): an entry renewed, corrected or withdrawn.
pub async fn update_catalogue_entry(
    db: &impl ConnectionTrait,
    code: &str,
    changes: EntryChanges,
) -> Outcome<catalogue_entry::Model> {
    let Some(entry) = catalogue_entry::Entity::find()
        .filter(catalogue_entry::Column::Code.eq(code))
        .one(db)
        .await?
    else {
        return Ok(Err(
            UserError::new("NOT_FOUND", "catalogue-code-not-found").on_field(&["code"])
        ));
    };
    let valid_from = changes.valid_from.unwrap_or(entry.valid_from);
    let valid_to = changes.valid_to.unwrap_or(entry.valid_to);
    if valid_to < valid_from {
        return Ok(Err(
            UserError::new("INVALID_INPUT", "valid-to-before-valid-from").on_field(&["input", "validTo"])
        ));
    }
    let issuer = changes.issuer.as_deref().map(str::trim);
    if issuer.is_some_and(|issuer| issuer.is_empty() || issuer.chars().count() > 100) {
        return Ok(Err(
            UserError::new("INVALID_INPUT", "issuer-length").on_field(&["input", "issuer"])
        ));
    }
    let mut changed = entry.into_active_model();
    changed.valid_from = Set(valid_from);
    changed.valid_to = Set(valid_to);
    if let Some(issuer) = issuer {
        changed.issuer = Set(issuer.to_owned());
    }
    Ok(Ok(changed.update(db).await?))
}

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

/// Names are one line of visible text: no control character at all (tab and line breaks
/// included), which would corrupt listings, exports and labels.
fn has_control_characters(text: &str) -> bool {
    text.chars().any(char::is_control)
}

fn control_characters(path: &[&str]) -> UserError {
    invalid(path, "control-characters")
}

fn invalid(path: &[&str], message: impl Into<Message>) -> UserError {
    UserError::new("INVALID_INPUT", message).on_field(path)
}

fn is_slug(slug: &str) -> bool {
    (2..=80).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_sku(sku: &str) -> bool {
    (2..=40).contains(&sku.len())
        && sku
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// Checks a new product's own fields; the first problem found is reported.
fn validate_new_product(input: &NewProduct) -> Result<Vec<Fen>, UserError> {
    if !is_slug(&input.slug) {
        return Err(invalid(&["input", "slug"], "slug-format"));
    }
    if input.name.trim().is_empty() || input.name.chars().count() > 80 {
        return Err(invalid(&["input", "name"], "product-name-length"));
    }
    if has_control_characters(&input.name) {
        return Err(control_characters(&["input", "name"]));
    }
    if input.description.chars().count() > 2_000 {
        return Err(invalid(&["input", "description"], "description-length"));
    }
    // A description may run over several lines; nothing else invisible belongs in it.
    if input.description.chars().any(crate::infra::text::is_refused_control) {
        return Err(control_characters(&["input", "description"]));
    }
    if input.variants.is_empty() || input.variants.len() > MAX_VARIANTS {
        return Err(invalid(
            &["input", "variants"],
            Message::new("variant-count").with("max", MAX_VARIANTS),
        ));
    }
    let mut prices = Vec::new();
    for (index, new) in input.variants.iter().enumerate() {
        let index = index.to_string();
        let at = |field: &'static str| ["input", "variants", index.as_str(), field];
        if !is_sku(&new.sku) {
            return Err(invalid(&at("sku"), "sku-format"));
        }
        if new.name.trim().is_empty() || new.name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid(
                &at("name"),
                Message::new("variant-name-length").with("max", MAX_NAME_CHARS),
            ));
        }
        if has_control_characters(&new.name) {
            return Err(control_characters(&at("name")));
        }
        match Fen::parse_yuan(&new.price) {
            Ok(price) if price > Fen::ZERO && price <= MAX_PRICE => prices.push(price),
            Ok(_) => {
                return Err(invalid(
                    &at("price"),
                    Message::new("price-range").with("max", MAX_PRICE),
                ));
            }
            Err(problem) => return Err(invalid(&at("price"), problem.message())),
        }
        if !(0..=100_000).contains(&new.weight_grams) {
            return Err(invalid(&at("weightGrams"), "weight-range"));
        }
        if !(0..=MAX_STOCK_DELTA).contains(&new.stock) {
            return Err(UserError::new(
                "INVALID_QUANTITY",
                Message::new("initial-stock-range").with("max", MAX_STOCK_DELTA),
            )
            .on_field(&at("stock")));
        }
    }
    Ok(prices)
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
            UserError::new("NOT_FOUND", "category-not-found").on_field(&["input", "categorySlug"])
        ));
    };
    let village_id = match &input.village_slug {
        None => producer.village_id,
        Some(slug) => match super::service::village_by_slug(&txn, slug).await? {
            Some(village) => village.id,
            None => {
                return Ok(Err(
                    UserError::new("NOT_FOUND", "village-not-found").on_field(&["input", "villageSlug"])
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
                return Ok(Err(
                    UserError::new("NOT_FOUND", "catalogue-entry-not-found").on_field(&["input", "catalogueCode"])
                ));
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
        min_price_fen: Set(prices.iter().min().copied().unwrap_or(Fen::ZERO).get()),
        max_price_fen: Set(prices.iter().max().copied().unwrap_or(Fen::ZERO).get()),
        units_sold: Set(0),
        listed_at: Set(now),
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
        let inserted = variant::ActiveModel {
            product_id: Set(product.id),
            sku: Set(new.sku.clone()),
            name: Set(new.name.trim().to_owned()),
            price_fen: Set(price.get()),
            weight_grams: Set(new.weight_grams),
            position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
            ..Default::default()
        }
        .insert(&txn)
        .await;
        let variant = match inserted {
            Ok(variant) => variant,
            Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Ok(Err(invalid(
                    &["input", "variants", &position.to_string(), "sku"],
                    "sku-taken",
                )));
            }
            Err(error) => return Err(error.into()),
        };
        stock_level::ActiveModel {
            variant_id: Set(variant.id),
            on_hand: Set(i64::from(new.stock)),
            reserved: Set(0),
            version: Set(0),
        }
        .insert(&txn)
        .await?;
        if new.stock > 0 {
            stock_movement::ActiveModel {
                variant_id: Set(variant.id),
                on_hand_delta: Set(i64::from(new.stock)),
                reserved_delta: Set(0),
                reason: Set("opening stock".to_owned()),
                actor_user_id: Set(Some(actor.user_id)),
                order_id: Set(None),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
    }
    txn.commit().await?;
    Ok(Ok(product))
}
