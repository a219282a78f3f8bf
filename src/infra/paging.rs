//! A page of a list as the services read it: how many rows, after which key. (The GraphQL
//! layer makes one from `first` and an opaque `after` cursor: `graphql::relay`.)

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
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

/// A page of `select` newest first by `(time, key)`, for lists whose rows are not dated in the
/// order of their ids (an order's date can be set back, by the demo or an import); the cursor
/// holds both, and the rows after it are those with a smaller pair (a row comparison, which an
/// index on `(time, key)` answers in order). Counted as `keyset_page` does.
pub async fn keyset_page_by_time<E, C>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    time: E::Column,
    key: E::Column,
    page: &PageRequest<(DateTime<Utc>, C)>,
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
    let mut select = select;
    if let Some((at, after)) = page.after {
        let row = Expr::tuple([Expr::col(time.as_column_ref()), Expr::col(key.as_column_ref())]);
        select = select.filter(row.lt(Expr::tuple([Expr::val(at), Expr::val(after.into())])));
    }
    let rows = select
        .order_by(time, Order::Desc)
        .order_by(key, Order::Desc)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    Ok((rows, total))
}
