//! Catalogue management: growers change their own producer's variants and stock, operators
//! anyone's. The caller's right to do so is checked by the GraphQL layer through the policy;
//! these functions check the values.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Query, QueryStatementBuilder};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
    Set, TransactionSession, TransactionTrait,
};

use super::entity::{product, stock_level, stock_movement, variant};
use crate::accounts::SignedIn;
use crate::error::{AppResult, UserError};
use crate::money::Fen;

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
    variant_id: i64,
) -> AppResult<Option<(variant::Model, i64)>> {
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
                format!("a price is more than 0 and at most {MAX_PRICE}"),
            )
            .on_field(&["input", "price"])));
        }
        Some(Err(problem)) => {
            return Ok(Err(
                UserError::new("INVALID_INPUT", problem.to_string()).on_field(&["input", "price"])
            ));
        }
    };
    let name = changes.name.as_deref().map(str::trim);
    if let Some(name) = name
        && (name.is_empty() || name.chars().count() > MAX_NAME_CHARS)
    {
        return Ok(Err(UserError::new(
            "INVALID_INPUT",
            format!("a variant name has 1 to {MAX_NAME_CHARS} characters"),
        )
        .on_field(&["input", "name"])));
    }
    let product_id = variant.product_id;
    let txn = db.begin().await?;
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
async fn refresh_price_range(db: &impl ConnectionTrait, product_id: i64) -> AppResult<()> {
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

/// `adjustStock`: adds `delta` (negative to remove) to the on-hand stock and writes the audit
/// row in the same transaction. On-hand stock never drops below zero, nor below what unpaid
/// orders hold: the conditional update refuses it, and the CHECK constraints back it up.
pub async fn adjust_stock(
    db: &impl TransactionTrait,
    actor: &SignedIn,
    variant_id: i64,
    delta: i32,
    reason: &str,
) -> Outcome<()> {
    if delta == 0 || delta.unsigned_abs() > MAX_STOCK_DELTA.unsigned_abs() {
        return Ok(Err(UserError::new(
            "INVALID_QUANTITY",
            format!("a stock adjustment is a non-zero number of units up to {MAX_STOCK_DELTA}"),
        )
        .on_field(&["delta"])));
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Ok(Err(UserError::new(
            "INVALID_INPUT",
            format!("give a reason of 1 to {MAX_REASON_CHARS} characters"),
        )
        .on_field(&["reason"])));
    }
    let delta = i64::from(delta);
    let txn = db.begin().await?;
    let updated = stock_level::Entity::update_many()
        .col_expr(
            stock_level::Column::OnHand,
            Expr::col(stock_level::Column::OnHand).add(delta),
        )
        .filter(stock_level::Column::VariantId.eq(variant_id))
        .filter(
            Expr::col(stock_level::Column::OnHand)
                .add(delta)
                .gte(Expr::col(stock_level::Column::Reserved)),
        )
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Ok(Err(UserError::new(
            "OUT_OF_STOCK",
            "there is not that much stock on hand that is not held by orders",
        )
        .on_field(&["delta"])));
    }
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
    Ok(Ok(()))
}

/// The latest stock movements of a variant, newest first.
pub async fn stock_history(
    db: &impl ConnectionTrait,
    variant_id: i64,
    limit: u64,
) -> AppResult<Vec<stock_movement::Model>> {
    Ok(stock_movement::Entity::find()
        .filter(stock_movement::Column::VariantId.eq(variant_id))
        .order_by_desc(stock_movement::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
