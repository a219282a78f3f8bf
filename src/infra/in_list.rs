//! Lists of ids that grow into `IN (…)`: PostgreSQL takes at most 65,535 parameters in one
//! statement and SQLite 32,766, so a report over a year of orders (or any list that grows
//! with the shop) is asked for in chunks of [`CHUNK`] and the rows put together. Rows come
//! back chunk after chunk: a caller that needs an order sorts them.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Select};

/// Ids per statement: far below either database's limit, with room for a query's other
/// parameters.
pub const CHUNK: usize = 10_000;

/// `values` cut into chunks of at most [`CHUNK`] (none for no values).
pub fn chunks<V>(values: impl IntoIterator<Item = V>) -> Vec<Vec<V>> {
    let mut all = Vec::new();
    let mut current = Vec::new();
    for value in values {
        current.push(value);
        if current.len() == CHUNK {
            all.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        all.push(current);
    }
    all
}

/// The rows of `select` whose `column` is one of `values`, one statement per chunk.
pub async fn all_in<E, C, V>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    column: C,
    values: impl IntoIterator<Item = V>,
) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    C: ColumnTrait,
    V: Into<sea_orm::Value>,
{
    let mut rows = Vec::new();
    for chunk in chunks(values) {
        rows.extend(select.clone().filter(column.is_in(chunk)).all(db).await?);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut_into_chunks() {
        assert!(chunks(Vec::<i64>::new()).is_empty());
        let cut = chunks(0..(2 * CHUNK as i64 + 1));
        assert_eq!(cut.iter().map(Vec::len).collect::<Vec<_>>(), [CHUNK, CHUNK, 1]);
        assert_eq!(cut[2], [2 * CHUNK as i64]);
    }
}
