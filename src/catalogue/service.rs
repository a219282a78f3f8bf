//! Catalogue queries as plain functions over a connection, so they compose inside a transaction.

use async_graphql::Enum;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};

use super::entity::{catalogue_entry, category, producer, product, variant, village};
use crate::accounts::service::ProducerAsked;
use crate::infra::error::{AppError, AppResult};
use crate::infra::i18n::Message;
use crate::infra::ids::{ProductId, VillageId};
use crate::infra::paging::{self, Direction, PageRequest};
use crate::inventory::entity::stock_level;

/// How the storefront orders products.
#[derive(Enum, Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProductSort {
    /// Most recently listed first.
    #[default]
    Newest,
    /// Cheapest first, by each product's lowest variant price.
    PriceAsc,
    /// Dearest first, by each product's lowest variant price.
    PriceDesc,
    /// Most units sold first.
    BestSelling,
}

impl ProductSort {
    fn key_column(self) -> product::Column {
        match self {
            ProductSort::Newest => product::Column::ListedAt,
            ProductSort::PriceAsc | ProductSort::PriceDesc => product::Column::MinPriceFen,
            ProductSort::BestSelling => product::Column::UnitsSold,
        }
    }

    fn order(self) -> Order {
        match self {
            ProductSort::PriceAsc => Order::Asc,
            _ => Order::Desc,
        }
    }

    fn key_of(self, product: &product::Model) -> i64 {
        match self {
            ProductSort::Newest => product.listed_at.timestamp_micros(),
            ProductSort::PriceAsc | ProductSort::PriceDesc => product.min_price_fen.get(),
            ProductSort::BestSelling => product.units_sold,
        }
    }

    fn key_expr(self, key: i64) -> AppResult<SimpleExpr> {
        Ok(match self {
            ProductSort::Newest => {
                let listed_at: DateTime<Utc> =
                    DateTime::from_timestamp_micros(key).ok_or_else(|| AppError::bad_input("cursor-not-from-list"))?;
                Expr::value(listed_at)
            }
            _ => Expr::value(key),
        })
    }
}

/// Position of a product in a sorted list: the sort key and the id that breaks ties.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProductCursor {
    sort: ProductSort,
    key: i64,
    id: ProductId,
}

impl ProductCursor {
    pub fn of(sort: ProductSort, product: &product::Model) -> Self {
        ProductCursor {
            sort,
            key: sort.key_of(product),
            id: product.id,
        }
    }
}

/// Which products a list shows.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    pub category_slug: Option<String>,
    pub village_slug: Option<String>,
    pub village_id: Option<VillageId>,
    pub search: Option<String>,
    pub in_stock: Option<bool>,
}

const MAX_SEARCH_CHARS: usize = 100;

/// Escapes LIKE wildcards so a search for "100%" looks for the text "100%".
fn like_pattern(search: &str) -> String {
    let mut pattern = String::with_capacity(search.len() + 2);
    pattern.push('%');
    for ch in search.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// A product is on sale while it is published and its catalogue entry is valid (or it is not
/// listed at all).
pub fn on_sale_condition(today: NaiveDate) -> Condition {
    let listed_and_valid = Condition::any().add(product::Column::CatalogueEntryId.is_null()).add(
        product::Column::CatalogueEntryId.in_subquery(
            Query::select()
                .column(catalogue_entry::Column::Id)
                .from(catalogue_entry::Entity)
                .and_where(catalogue_entry::Column::ValidFrom.lte(today))
                .and_where(catalogue_entry::Column::ValidTo.gte(today))
                .to_owned(),
        ),
    );
    Condition::all()
        .add(product::Column::Published.eq(true))
        .add(listed_and_valid)
}

fn has_available_stock() -> SimpleExpr {
    product::Column::Id.in_subquery(
        Query::select()
            .column((variant::Entity, variant::Column::ProductId))
            .from(variant::Entity)
            .inner_join(
                stock_level::Entity,
                Expr::col((stock_level::Entity, stock_level::Column::VariantId))
                    .equals((variant::Entity, variant::Column::Id)),
            )
            .and_where(
                Expr::col((stock_level::Entity, stock_level::Column::OnHand))
                    .gt(Expr::col((stock_level::Entity, stock_level::Column::Reserved))),
            )
            .to_owned(),
    )
}

fn filter_condition(filter: &ProductFilter, today: NaiveDate) -> AppResult<Condition> {
    // The storefront lists published products only.
    let mut condition = Condition::all().add(product::Column::Published.eq(true));
    if let Some(slug) = &filter.category_slug {
        condition = condition.add(
            product::Column::CategoryId.in_subquery(
                Query::select()
                    .column(category::Column::Id)
                    .from(category::Entity)
                    .and_where(category::Column::Slug.eq(slug.as_str()))
                    .to_owned(),
            ),
        );
    }
    if let Some(slug) = &filter.village_slug {
        condition = condition.add(
            product::Column::VillageId.in_subquery(
                Query::select()
                    .column(village::Column::Id)
                    .from(village::Entity)
                    .and_where(village::Column::Slug.eq(slug.as_str()))
                    .to_owned(),
            ),
        );
    }
    if let Some(village_id) = filter.village_id {
        condition = condition.add(product::Column::VillageId.eq(village_id));
    }
    if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if search.chars().count() > MAX_SEARCH_CHARS {
            return Err(AppError::bad_input(
                Message::new("search-length").with("max", MAX_SEARCH_CHARS),
            ));
        }
        let pattern = like_pattern(search);
        let matches = |column: product::Column| {
            Expr::expr(Func::lower(Expr::col((product::Entity, column))))
                .like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        condition = condition.add(
            Condition::any()
                .add(matches(product::Column::Name))
                .add(matches(product::Column::Description)),
        );
    }
    if let Some(in_stock) = filter.in_stock {
        let sellable = Condition::all()
            .add(on_sale_condition(today))
            .add(has_available_stock());
        condition = condition.add(if in_stock { sellable } else { sellable.not() });
    }
    Ok(condition)
}

/// One page of products, and the number of all matching products when `count_total` is set.
pub async fn list_products(
    db: &impl ConnectionTrait,
    filter: &ProductFilter,
    sort: ProductSort,
    page: &PageRequest<ProductCursor>,
    count_total: bool,
) -> AppResult<(Vec<product::Model>, u64)> {
    let condition = filter_condition(filter, super::today_in_china())?;
    let total = if count_total {
        product::Entity::find().filter(condition.clone()).count(db).await?
    } else {
        0
    };
    let key_column = sort.key_column();
    let order = sort.order();
    let mut select = product::Entity::find().filter(condition);
    if let Some(after) = &page.after {
        if after.sort != sort {
            return Err(AppError::bad_input("cursor-other-order"));
        }
        let key = sort.key_expr(after.key)?;
        let beyond = |column: product::Column, value: SimpleExpr| match order {
            Order::Asc => Expr::col((product::Entity, column)).gt(value),
            _ => Expr::col((product::Entity, column)).lt(value),
        };
        select = select.filter(
            Condition::any().add(beyond(key_column, key.clone())).add(
                Condition::all()
                    .add(Expr::col((product::Entity, key_column)).eq(key))
                    .add(beyond(product::Column::Id, Expr::value(after.id))),
            ),
        );
    }
    let rows = select
        .order_by(key_column, order.clone())
        .order_by(product::Column::Id, order)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    Ok((rows, total))
}

pub async fn product_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<Option<product::Model>> {
    Ok(product::Entity::find()
        .filter(product::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

/// The producer a slug names, as an account asked to work for it needs it found.
pub async fn producer_asked(db: &impl ConnectionTrait, slug: Option<&str>) -> AppResult<ProducerAsked> {
    let Some(slug) = slug else {
        return Ok(ProducerAsked::None);
    };
    let found = producer::Entity::find()
        .filter(producer::Column::Slug.eq(slug))
        .one(db)
        .await?;
    Ok(match found {
        Some(producer) => ProducerAsked::Found(producer.id),
        None => ProducerAsked::Unknown(slug.to_owned()),
    })
}

pub async fn village_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<Option<village::Model>> {
    Ok(village::Entity::find()
        .filter(village::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

/// One page of villages in the order they were added; the cursor is the village id.
pub async fn list_villages(
    db: &impl ConnectionTrait,
    page: &PageRequest<VillageId>,
    count_total: bool,
) -> AppResult<(Vec<village::Model>, u64)> {
    paging::keyset_page(
        db,
        village::Entity::find(),
        village::Column::Id,
        Direction::OldestFirst,
        page,
        count_total,
    )
    .await
}

pub async fn list_categories(db: &impl ConnectionTrait) -> AppResult<Vec<category::Model>> {
    Ok(category::Entity::find()
        .order_by_asc(category::Column::Position)
        .order_by_asc(category::Column::Id)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_pattern_escapes_wildcards_and_folds_case() {
        assert_eq!(like_pattern("百合"), "%百合%");
        assert_eq!(like_pattern("100%_OK"), "%100\\%\\_ok%");
    }
}
