//! Writing a checked plan, set-based: each kind of row is upserted a chunk at a time
//! (`INSERT … ON CONFLICT … DO UPDATE`, on both PostgreSQL and SQLite), stock changes are one
//! `UPDATE … CASE` per chunk, and the price ranges one `UPDATE` from the variants. A 5,000-row
//! file costs about a hundred statements, not tens of thousands.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, Func, OnConflict, Query, QueryStatementBuilder};
use sea_orm::{ActiveValue::NotSet, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::plan::Plan;
use crate::catalogue::entity::{catalogue_entry, product, variant};
use crate::infra::error::AppResult;
use crate::infra::ids::{CatalogueEntryId, ProductId, UserId, VariantId};
use crate::infra::in_list::all_in;
use crate::infra::money::Fen;
use crate::inventory::entity::{stock_level, stock_movement};

/// Rows per statement: about a thousand parameters, far below either database's limit.
const ROWS_PER_STATEMENT: usize = 100;

/// What the import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Rows whose variant is new.
    pub created: usize,
    /// Rows whose variant was there (its name, price and stock set from the file).
    pub updated: usize,
    /// Variants whose stock changed, for the storefront's stock mirror.
    pub stock_changed: Vec<VariantId>,
}

/// Writes `plan` in the caller's transaction; `progress` hears the rows written so far after
/// every hundred.
pub async fn write(
    txn: &impl ConnectionTrait,
    actor: Option<UserId>,
    plan: &Plan,
    progress: &mut (dyn FnMut(usize) + Send),
) -> AppResult<Applied> {
    let entry_ids = write_entries(txn, plan).await?;
    let product_ids = write_products(txn, plan, &entry_ids).await?;
    let now = Utc::now();
    let mut applied = Applied::default();
    let mut written = 0;
    for chunk in plan.variants.chunks(ROWS_PER_STATEMENT) {
        let rows = chunk.iter().map(|wanted| variant::ActiveModel {
            id: NotSet,
            product_id: Set(product_ids[&wanted.product_slug]),
            sku: Set(wanted.sku.clone()),
            name: Set(wanted.name.clone()),
            price_fen: Set(wanted.price),
            weight_grams: Set(0),
            position: Set(wanted.position),
        });
        variant::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(variant::Column::Sku)
                    .update_columns([variant::Column::Name, variant::Column::PriceFen])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        written += chunk.len();
        progress(written);
    }
    let variant_ids: HashMap<String, VariantId> = all_in(
        txn,
        variant::Entity::find(),
        variant::Column::Sku,
        plan.variants.iter().map(|v| v.sku.clone()),
    )
    .await?
    .into_iter()
    .map(|v| (v.sku, v.id))
    .collect();

    let mut new_levels = Vec::new();
    let mut movements = Vec::new();
    let mut set_on_hand: Vec<(VariantId, i64)> = Vec::new();
    for wanted in &plan.variants {
        let stock = i64::from(wanted.stock);
        match &wanted.existing {
            None => {
                applied.created += 1;
                let variant_id = variant_ids[&wanted.sku];
                new_levels.push(stock_level::ActiveModel {
                    variant_id: Set(variant_id),
                    on_hand: Set(stock),
                    reserved: Set(0),
                    version: Set(0),
                });
                if stock > 0 {
                    movements.push(movement(variant_id, stock, "opening stock", actor, now));
                }
            }
            Some((variant_id, level)) => {
                applied.updated += 1;
                if stock != level.on_hand {
                    set_on_hand.push((*variant_id, stock));
                    movements.push(movement(
                        *variant_id,
                        stock - level.on_hand,
                        "catalogue import",
                        actor,
                        now,
                    ));
                    applied.stock_changed.push(*variant_id);
                }
            }
        }
    }
    for chunk in new_levels.chunks(ROWS_PER_STATEMENT) {
        stock_level::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    for chunk in set_on_hand.chunks(ROWS_PER_STATEMENT) {
        let mut figure = CaseStatement::new();
        for (variant_id, on_hand) in chunk {
            figure = figure.case(stock_level::Column::VariantId.eq(*variant_id), Expr::val(*on_hand));
        }
        let figure = figure.finally(Expr::col(stock_level::Column::OnHand));
        stock_level::Entity::update_many()
            .col_expr(stock_level::Column::OnHand, figure.into())
            .col_expr(
                stock_level::Column::Version,
                Expr::col(stock_level::Column::Version).add(1),
            )
            .filter(stock_level::Column::VariantId.is_in(chunk.iter().map(|(id, _)| *id)))
            .exec(txn)
            .await?;
    }
    for chunk in movements.chunks(ROWS_PER_STATEMENT) {
        stock_movement::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    refresh_price_ranges(txn, product_ids.values().copied()).await?;
    Ok(applied)
}

fn movement(
    variant_id: VariantId,
    delta: i64,
    reason: &str,
    actor: Option<UserId>,
    at: chrono::DateTime<Utc>,
) -> stock_movement::ActiveModel {
    stock_movement::ActiveModel {
        id: NotSet,
        variant_id: Set(variant_id),
        on_hand_delta: Set(delta),
        reserved_delta: Set(0),
        reason: Set(reason.to_owned()),
        actor_user_id: Set(actor),
        order_id: Set(None),
        created_at: Set(at),
    }
}

/// Creates or updates the file's catalogue entries; their ids by code.
async fn write_entries(txn: &impl ConnectionTrait, plan: &Plan) -> AppResult<HashMap<String, CatalogueEntryId>> {
    for chunk in plan.entries.chunks(ROWS_PER_STATEMENT) {
        let rows = chunk.iter().map(|entry| catalogue_entry::ActiveModel {
            id: NotSet,
            code: Set(entry.code.clone()),
            issuer: Set(entry.issuer.clone()),
            valid_from: Set(entry.valid_from),
            valid_to: Set(entry.valid_to),
        });
        catalogue_entry::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(catalogue_entry::Column::Code)
                    .update_columns([
                        catalogue_entry::Column::Issuer,
                        catalogue_entry::Column::ValidFrom,
                        catalogue_entry::Column::ValidTo,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    Ok(all_in(
        txn,
        catalogue_entry::Entity::find(),
        catalogue_entry::Column::Code,
        plan.entries.iter().map(|e| e.code.clone()),
    )
    .await?
    .into_iter()
    .map(|e| (e.code, e.id))
    .collect())
}

/// Creates or updates the file's products (name, category, village, entry; a product keeps its
/// producer, its description and when it was listed); their ids by slug.
async fn write_products(
    txn: &impl ConnectionTrait,
    plan: &Plan,
    entry_ids: &HashMap<String, CatalogueEntryId>,
) -> AppResult<HashMap<String, ProductId>> {
    let now = Utc::now();
    for chunk in plan.products.chunks(ROWS_PER_STATEMENT) {
        let rows = chunk.iter().map(|wanted| {
            let min = wanted.prices.iter().min().copied().unwrap_or(Fen::ZERO);
            let max = wanted.prices.iter().max().copied().unwrap_or(Fen::ZERO);
            product::ActiveModel {
                id: NotSet,
                slug: Set(wanted.slug.clone()),
                name: Set(wanted.name.clone()),
                description: Set(String::new()),
                category_id: Set(wanted.category_id),
                village_id: Set(wanted.village_id),
                producer_id: Set(wanted.producer_id),
                catalogue_entry_id: Set(wanted.entry_code.as_ref().map(|code| entry_ids[code])),
                min_price_fen: Set(min),
                max_price_fen: Set(max),
                units_sold: Set(0),
                listed_at: Set(now),
                published: Set(true),
            }
        });
        product::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(product::Column::Slug)
                    .update_columns([
                        product::Column::Name,
                        product::Column::CategoryId,
                        product::Column::VillageId,
                        product::Column::CatalogueEntryId,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    Ok(all_in(
        txn,
        product::Entity::find(),
        product::Column::Slug,
        plan.products.iter().map(|p| p.slug.clone()),
    )
    .await?
    .into_iter()
    .map(|p| (p.slug, p.id))
    .collect())
}

/// Sets each product's price range from its variants, one statement per chunk of products.
async fn refresh_price_ranges(txn: &impl ConnectionTrait, products: impl Iterator<Item = ProductId>) -> AppResult<()> {
    let price = |of: Expr| {
        Query::select()
            .expr(of)
            .from(variant::Entity)
            .and_where(
                Expr::col((variant::Entity, variant::Column::ProductId)).equals((product::Entity, product::Column::Id)),
            )
            .to_owned()
    };
    for chunk in crate::infra::in_list::chunks(products) {
        product::Entity::update_many()
            .col_expr(
                product::Column::MinPriceFen,
                Expr::SubQuery(
                    None,
                    Box::new(
                        price(Func::min(Expr::col((variant::Entity, variant::Column::PriceFen))).into())
                            .into_sub_query_statement(),
                    ),
                ),
            )
            .col_expr(
                product::Column::MaxPriceFen,
                Expr::SubQuery(
                    None,
                    Box::new(
                        price(Func::max(Expr::col((variant::Entity, variant::Column::PriceFen))).into())
                            .into_sub_query_statement(),
                    ),
                ),
            )
            .filter(product::Column::Id.is_in(chunk))
            .exec(txn)
            .await?;
    }
    Ok(())
}
