//! A page of a list as the services read it: how many rows, after which key. (The GraphQL
//! layer makes one from `first` and an opaque `after` cursor: `graphql::relay`.)

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    Value,
};

use crate::infra::error::AppResult;

/// A forward page request: how many items, and after which cursor.
#[derive(Debug, Clone)]
pub struct PageRequest<C> {
    pub limit: u64,
    pub after: Option<C>,
}

/// Which way a list runs: newest first (descending key) or oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    NewestFirst,
    OldestFirst,
}

/// A page of `select` in `direction` of `key`, the column the cursor holds, with how many rows
/// `select` matches in all when `count_total` asks (one row more than the page is read, so the
/// caller can tell whether another page follows).
pub async fn keyset_page<E, C>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    key: E::Column,
    direction: Direction,
    page: &PageRequest<C>,
    count_total: bool,
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
    let (beyond, order) = match direction {
        Direction::NewestFirst => (page.after.map(|after| key.lt(after)), Order::Desc),
        Direction::OldestFirst => (page.after.map(|after| key.gt(after)), Order::Asc),
    };
    let mut select = select;
    if let Some(beyond) = beyond {
        select = select.filter(beyond);
    }
    let rows = select.order_by(key, order).limit(page.limit + 1).all(db).await?;
    Ok((rows, total))
}
