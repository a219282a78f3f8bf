//! Catalogue management: growers change their own producer's variants and stock, operators
//! anyone's. The caller's right to do so is checked by the GraphQL layer through the policy;
//! these functions check the values.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Query, QueryStatementBuilder};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
    Set, TransactionTrait,
};

use super::entity::{catalogue_entry, product, variant};
use crate::accounts::SignedIn;
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::{ProducerId, ProductId, VariantId};
use crate::infra::money::Fen;
use crate::inventory::entity::{stock_level, stock_movement};

/// The most a variant may cost: ¥1,000,000 (a typo guard, not a business rule).
pub(super) const MAX_PRICE: Fen = Fen::new(100_000_000);
pub(super) const MAX_NAME_CHARS: usize = 60;
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
                ErrorCode::InvalidInput,
                Message::new("price-range").with("max", MAX_PRICE),
            )
            .on_field(&["input", "price"])));
        }
        Some(Err(problem)) => {
            return Ok(Err(
                UserError::new(ErrorCode::InvalidInput, problem.message()).on_field(&["input", "price"])
            ));
        }
    };
    let name = changes.name.as_deref().map(str::trim);
    if let Some(name) = name
        && (name.is_empty() || name.chars().count() > MAX_NAME_CHARS)
    {
        return Ok(Err(UserError::new(
            ErrorCode::InvalidInput,
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
        changed.price_fen = Set(price);
    }
    if let Some(name) = name {
        changed.name = Set(name.to_owned());
    }
    let variant = changed.update(&txn).await?;
    if price.is_some() {
        refresh_price_range(&txn, product_id).await?;
    }
    end_write(txn, Ok(variant)).await
}

/// Keeps `products.min_price_fen` / `max_price_fen` equal to its variants' cheapest and dearest.
pub(super) async fn refresh_price_range(db: &impl ConnectionTrait, product_id: ProductId) -> AppResult<()> {
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
            ErrorCode::InvalidQuantity,
            Message::new("stock-adjustment-range").with("max", MAX_STOCK_DELTA),
        )
        .on_field(&["delta"])));
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Ok(Err(UserError::new(
            ErrorCode::InvalidInput,
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
            UserError::new(ErrorCode::OutOfStock, "stock-held-by-orders").on_field(&["delta"])
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
    end_write(txn, Ok(change)).await
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
            UserError::new(ErrorCode::NotFound, "catalogue-code-not-found").on_field(&["code"])
        ));
    };
    let valid_from = changes.valid_from.unwrap_or(entry.valid_from);
    let valid_to = changes.valid_to.unwrap_or(entry.valid_to);
    if valid_to < valid_from {
        return Ok(Err(UserError::new(
            ErrorCode::InvalidInput,
            "valid-to-before-valid-from",
        )
        .on_field(&["input", "validTo"])));
    }
    let issuer = changes.issuer.as_deref().map(str::trim);
    if issuer.is_some_and(|issuer| issuer.is_empty() || issuer.chars().count() > 100) {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidInput, "issuer-length").on_field(&["input", "issuer"])
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

/// Names are one line of visible text: no control character at all (tab and line breaks
/// included), which would corrupt listings, exports and labels.
pub(super) fn has_control_characters(text: &str) -> bool {
    text.chars().any(char::is_control)
}

pub(super) fn control_characters(path: &[&str]) -> UserError {
    invalid(path, "control-characters")
}

pub(super) fn invalid(path: &[&str], message: impl Into<Message>) -> UserError {
    UserError::new(ErrorCode::InvalidInput, message).on_field(path)
}
