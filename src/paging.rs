//! A page of a list as the services read it: how many rows, after which key. (The GraphQL
//! layer makes one from `first` and an opaque `after` cursor: `graphql::relay`.)

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    Value,
};

use crate::error::AppResult;

/// A forward page request: how many items, and after which cursor.
#[derive(Debug, Clone)]
pub struct PageRequest<C> {
    pub limit: u64,
    pub after: Option<C>,
}

/// A page of `select` newest first by `key`, the column the cursor holds, with how many rows
/// `select` matches in all when `count_total` asks (one row more than the page is read, so the
/// caller can tell whether another page follows).
pub async fn newest_first<E, C>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    key: E::Column,
    page: &PageRequest<C>,
    count_total: bool,
) -> AppResult<(Vec<E::Model>, u64)>
where
    E: EntityTrait,
    E::Model: Sync,
    C: Copy + Into<Value>,
{
    keyset_page(db, select, key, page, count_total, Order::Desc).await
}

/// [`newest_first`], oldest first: the rows after the cursor in ascending `key`.
pub async fn oldest_first<E, C>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    key: E::Column,
    page: &PageRequest<C>,
    count_total: bool,
) -> AppResult<(Vec<E::Model>, u64)>
where
    E: EntityTrait,
    E::Model: Sync,
    C: Copy + Into<Value>,
{
    keyset_page(db, select, key, page, count_total, Order::Asc).await
}

async fn keyset_page<E, C>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    key: E::Column,
    page: &PageRequest<C>,
    count_total: bool,
    order: Order,
) -> AppResult<(Vec<E::Model>, u64)>
where
    E: EntityTrait,
    E::Model: Sync,
    C: Copy + Into<Value>,
{
    let total = if count_total {
        select.clone().count(db).await?
    } else {
        0
    };
    let mut select = select;
    if let Some(after) = page.after {
        select = select.filter(match order {
            Order::Asc => key.gt(after),
            _ => key.lt(after),
        });
    }
    let rows = select.order_by(key, order).limit(page.limit + 1).all(db).await?;
    Ok((rows, total))
}
