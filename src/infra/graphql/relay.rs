//! Relay connection conventions shared by every list: `first` defaults to 20 and is capped
//! at 100, cursors are opaque, and `totalCount` is counted only when a client asks for it
//! (a value nobody selected is never shown).

use async_graphql::SimpleObject;
use async_graphql::connection::{Connection, Edge, OpaqueCursor};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::infra::error::{AppError, AppResult};

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

/// Extra connection fields: the size of the whole list, not just this page.
#[derive(SimpleObject, Clone, Copy, Debug, Default)]
pub struct ConnectionTotal {
    /// How many items match, over all pages.
    pub total_count: u64,
}

pub type RelayConnection<C, T> = Connection<OpaqueCursor<C>, T, ConnectionTotal>;

pub use crate::infra::paging::PageRequest;

impl<C: Serialize + DeserializeOwned + Send + Sync> PageRequest<C> {
    /// `first` larger than the cap is served as the cap, as GitHub and Shopify do.
    pub fn new(first: Option<i32>, after: Option<&str>) -> AppResult<Self> {
        let limit = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if n < 0 => return Err(AppError::bad_input("first-negative")),
            Some(n) => u64::try_from(n).unwrap_or(MAX_PAGE_SIZE).min(MAX_PAGE_SIZE),
        };
        let after = after
            .map(|cursor| {
                use async_graphql::connection::CursorType;
                OpaqueCursor::<C>::decode_cursor(cursor)
                    .map(|decoded| decoded.0)
                    .map_err(|_| AppError::bad_input("cursor-not-from-list"))
            })
            .transpose()?;
        Ok(PageRequest { limit, after })
    }
}

/// Builds a connection from one page fetched with `limit + 1` rows (the extra row only tells
/// whether there is a next page).
pub fn connection<Row, C, T>(
    mut rows: Vec<Row>,
    request: &PageRequest<C>,
    total_count: u64,
    cursor_of: impl Fn(&Row) -> C,
    node_of: impl Fn(Row) -> T,
) -> RelayConnection<C, T>
where
    C: Serialize + DeserializeOwned + Send + Sync,
    T: async_graphql::OutputType,
{
    let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
    let has_next_page = rows.len() > limit;
    rows.truncate(limit);
    let mut connection =
        Connection::with_additional_fields(request.after.is_some(), has_next_page, ConnectionTotal { total_count });
    connection.edges.extend(rows.into_iter().map(|row| {
        let cursor = OpaqueCursor(cursor_of(&row));
        Edge::new(cursor, node_of(row))
    }));
    connection
}

/// Cost of a list of at most `bound` items for the complexity limit.
pub fn list_complexity(bound: usize, child_complexity: usize) -> usize {
    bound.saturating_mul(child_complexity.max(1))
}

/// Cost of a connection field for the complexity limit: its page size times its children.
pub fn connection_complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let page = first.map_or(DEFAULT_PAGE_SIZE, |n| u64::try_from(n).unwrap_or(0).min(MAX_PAGE_SIZE));
    usize::try_from(page)
        .unwrap_or(usize::MAX)
        .saturating_mul(child_complexity.max(1))
}
