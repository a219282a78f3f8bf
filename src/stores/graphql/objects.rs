//! The store's objects: `Store` (public: where it is) with its private views for its clerks and
//! operators (the shelf, what runs low, the till's days), `StoreDay` and `CounterSale`.

use std::collections::HashMap;

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::accounts::policy::viewer;
use crate::accounts::{Role, SignedIn};
use crate::catalogue::entity::variant;
use crate::catalogue::graphql::Variant;
use crate::infra::error::AppResult;
use crate::infra::graphql::context::database;
use crate::infra::graphql::date::Date;
use crate::infra::graphql::global_id::{NodeType, encode};
use crate::infra::ids::{OrderId, StoreId};
use crate::infra::money::Money;
use crate::inventory::entity::shelf_stock;
use crate::inventory::entity::store;
use crate::inventory::shelf;
use crate::orders::entity::order;
use crate::orders::graphql::Order;
use crate::shop::shop;
use crate::stores::CounterPaymentMethod;
use crate::stores::entity::counter_sale;
use crate::stores::policy::WorkTill;
use crate::stores::service::{days, shelves, stores};

type Result<T> = async_graphql::Result<T>;

/// The caller, if it may work `store_id`'s till (its clerks, and operators); FORBIDDEN (or
/// UNAUTHENTICATED) otherwise.
pub async fn till_worker<'a>(ctx: &Context<'a>, store_id: StoreId) -> AppResult<&'a SignedIn> {
    let me = viewer(ctx).signed_in()?;
    let clerk_of = if me.role == Role::StoreClerk {
        stores::clerk_store(database(ctx)?, me.user_id).await?
    } else {
        None
    };
    viewer(ctx).authorize(WorkTill { store_id, clerk_of })
}

/// A relief supermarket (扶贫超市).
pub struct Store(pub store::Model);

#[Object]
impl Store {
    pub async fn id(&self) -> ID {
        encode(NodeType::Store, self.0.id)
    }

    async fn slug(&self) -> &str {
        &self.0.slug
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn address(&self) -> &str {
        &self.0.address
    }

    async fn opening_hours(&self) -> Option<&str> {
        self.0.opening_hours.as_deref()
    }

    /// What the shelf holds, by variant (its clerks and operators).
    async fn stock(&self, ctx: &Context<'_>) -> Result<Vec<StoreStock>> {
        till_worker(ctx, self.0.id).await?;
        let rows = shelf::on_shelf(database(ctx)?, self.0.id).await?;
        Ok(with_variants(database(ctx)?, rows).await?)
    }

    /// The shelf's variants at `HUAKAI_STORE_LOW_STOCK` units or fewer, fewest first (its
    /// clerks and operators).
    async fn low_stock(&self, ctx: &Context<'_>) -> Result<Vec<StoreStock>> {
        till_worker(ctx, self.0.id).await?;
        let threshold = shop(ctx)?.store_settings().low_stock;
        let rows = shelves::low_stock(database(ctx)?, self.0.id, threshold).await?;
        Ok(with_variants(database(ctx)?, rows).await?)
    }

    /// The till's day (日结), a calendar day in China (its clerks and operators).
    async fn day(&self, ctx: &Context<'_>, date: Date) -> Result<StoreDay> {
        till_worker(ctx, self.0.id).await?;
        Ok(StoreDay {
            store_id: self.0.id,
            day: days::day(database(ctx)?, self.0.id, date.0).await?,
        })
    }
}

/// Units of a variant on a store's shelf.
#[derive(SimpleObject)]
pub struct StoreStock {
    variant: Variant,
    on_shelf: i64,
}

async fn with_variants(db: &impl ConnectionTrait, rows: Vec<shelf_stock::Model>) -> AppResult<Vec<StoreStock>> {
    let mut variants: HashMap<_, _> = variant::Entity::find()
        .filter(variant::Column::Id.is_in(rows.iter().map(|r| r.variant_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            variants.remove(&row.variant_id).map(|v| StoreStock {
                variant: Variant(v),
                on_shelf: row.on_shelf,
            })
        })
        .collect())
}

/// What one payment method took in a day.
#[derive(SimpleObject)]
pub struct MethodTotal {
    method: CounterPaymentMethod,
    amount: Money,
    count: i32,
}

/// A day of a store's till.
pub struct StoreDay {
    store_id: StoreId,
    day: days::Day,
}

#[Object]
impl StoreDay {
    async fn date(&self) -> Date {
        Date(self.day.date)
    }

    /// Every sale of the day, all methods.
    async fn sales(&self) -> Money {
        self.day.sales.into()
    }

    /// Every method, those that took nothing included.
    async fn by_method(&self) -> Vec<MethodTotal> {
        self.day
            .by_method
            .iter()
            .map(|t| MethodTotal {
                method: t.method,
                amount: t.amount.into(),
                count: i32::try_from(t.count).unwrap_or(i32::MAX),
            })
            .collect()
    }

    /// Given back over the counter that day, all methods (`refundCounterSale`).
    async fn refunds(&self) -> Money {
        self.day.refunds.into()
    }

    /// What the cash sales put in the till, less the cash refunds took out (as closed, once
    /// the day is).
    async fn cash_expected(&self) -> Money {
        self.day.cash_expected.into()
    }

    async fn cash_counted(&self) -> Option<Money> {
        self.day.cash_counted.map(Into::into)
    }

    /// Counted less expected: negative when cash is missing.
    async fn difference(&self) -> Option<Money> {
        self.day.difference.map(Into::into)
    }

    async fn closed(&self) -> bool {
        self.day.closed
    }

    /// The day's sales, oldest first.
    async fn counter_sales(&self, ctx: &Context<'_>) -> Result<Vec<CounterSale>> {
        let db = database(ctx)?;
        Ok(with_numbers(db, days::sales_of(db, self.store_id, self.day.date).await?).await?)
    }
}

/// A sale over a store's counter.
pub struct CounterSale {
    pub(super) row: counter_sale::Model,
    pub(super) number: String,
}

/// `sales` with their orders' numbers.
pub async fn with_numbers(db: &impl ConnectionTrait, sales: Vec<counter_sale::Model>) -> AppResult<Vec<CounterSale>> {
    let mut numbers: HashMap<OrderId, String> = order::Entity::find()
        .filter(order::Column::Id.is_in(sales.iter().map(|s| s.order_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.number))
        .collect();
    Ok(sales
        .into_iter()
        .map(|row| CounterSale {
            number: numbers.remove(&row.order_id).unwrap_or_default(),
            row,
        })
        .collect())
}

#[Object]
impl CounterSale {
    pub async fn id(&self) -> ID {
        encode(NodeType::CounterSale, self.row.id)
    }

    /// The number on the receipt: its order's.
    async fn number(&self) -> &str {
        &self.number
    }

    async fn total(&self) -> Money {
        self.row.total_fen.into()
    }

    async fn payment_method(&self) -> CounterPaymentMethod {
        self.row.payment_method
    }

    /// The till's day it belongs to.
    async fn date(&self) -> Date {
        Date(self.row.business_date)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }

    /// The order that holds its lines, delivered at once (as the order's own policy shows it).
    async fn order(&self, ctx: &Context<'_>) -> Result<Option<Order>> {
        Ok(crate::orders::graphql::node(ctx, self.row.order_id).await?)
    }
}

/// A counter sale through `node(id:)`: to its store's clerks and operators.
pub async fn sale_node(ctx: &Context<'_>, id: crate::infra::ids::CounterSaleId) -> AppResult<Option<CounterSale>> {
    let db = database(ctx)?;
    let Some(row) = counter_sale::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    if till_worker(ctx, row.store_id).await.is_err() {
        return Ok(None);
    }
    Ok(with_numbers(db, vec![row]).await?.pop())
}

/// A store through `node(id:)`: public.
pub async fn store_node(ctx: &Context<'_>, id: StoreId) -> AppResult<Option<Store>> {
    Ok(stores::find(database(ctx)?, id).await?.map(Store))
}
