//! The order desk: the operators' list of every order, filtered as someone on the phone with a
//! buyer needs (number, email, status, producer, payment method, dates), and a producer's own
//! queue. Both run newest first on `(created_at, id)` and read their page from an index in
//! that order (see the order-desk migration and docs/back-office-orders.md).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Select};

use crate::accounts::emails::normalize_email;
use crate::accounts::entity::user;
use crate::catalogue::entity::producer;
use crate::infra::error::AppResult;
use crate::infra::ids::{OrderId, ProducerId, UserId};
use crate::infra::paging::{PageRequest, keyset_page_by_time};
use crate::orders::entity::{order, order_line};
use crate::orders::{OrderStatus, PaymentMethod};

/// Where a page of orders continues: the last order's date and id.
pub type OrderCursor = (DateTime<Utc>, OrderId);

/// What the operators' list is narrowed to; every part given must hold.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    /// Any of these statuses (empty: any status).
    pub statuses: Vec<OrderStatus>,
    /// The order number, as read out on the phone: spaces, dashes and case do not matter.
    pub number: Option<String>,
    /// The buyer's email, whole (case does not matter).
    pub buyer_email: Option<String>,
    /// Orders with lines of this producer.
    pub producer_slug: Option<String>,
    pub payment_method: Option<PaymentMethod>,
    /// Placed at or after.
    pub placed_from: Option<DateTime<Utc>>,
    /// Placed before.
    pub placed_to: Option<DateTime<Utc>>,
}

/// `HK-2026-0915-A1B2…` and `hk20260915a1b2…` are the same number.
pub fn normalize_number(number: &str) -> String {
    number
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase()
}

/// A page of every order that `filter` lets through, newest first, with how many there are
/// when `count_total` asks. An email or producer that does not exist matches no order.
pub async fn orders(
    db: &impl ConnectionTrait,
    filter: &OrderFilter,
    page: &PageRequest<OrderCursor>,
    count_total: bool,
) -> AppResult<(Vec<order::Model>, u64)> {
    let Some(select) = filtered(db, filter).await? else {
        return Ok((Vec::new(), 0));
    };
    keyset_page_by_time(
        db,
        select,
        order::Column::CreatedAt,
        order::Column::Id,
        page,
        count_total,
    )
    .await
}

/// A producer's orders (those with its lines), newest first, of the given statuses (any when
/// empty): its growers' queue, PAID being what is left to ship.
pub async fn producer_orders(
    db: &impl ConnectionTrait,
    producer_id: ProducerId,
    statuses: &[OrderStatus],
    page: &PageRequest<OrderCursor>,
    count_total: bool,
) -> AppResult<(Vec<order::Model>, u64)> {
    let mut select = order::Entity::find().filter(with_lines_of(producer_id));
    if !statuses.is_empty() {
        select = select.filter(order::Column::Status.is_in(statuses.iter().copied()));
    }
    keyset_page_by_time(
        db,
        select,
        order::Column::CreatedAt,
        order::Column::Id,
        page,
        count_total,
    )
    .await
}

/// Orders with at least one line of `producer_id`.
fn with_lines_of(producer_id: ProducerId) -> sea_orm::Condition {
    let lines = Query::select()
        .column(order_line::Column::OrderId)
        .from(order_line::Entity)
        .and_where(order_line::Column::ProducerId.eq(producer_id))
        .to_owned();
    sea_orm::Condition::all().add(order::Column::Id.in_subquery(lines))
}

/// The orders `filter` names, as a query; `None` when a buyer or producer it names does not
/// exist (so nothing matches). Emails and slugs are looked up first, by their unique keys, so
/// the orders' query filters on plain ids.
async fn filtered(db: &impl ConnectionTrait, filter: &OrderFilter) -> AppResult<Option<Select<order::Entity>>> {
    let mut select = order::Entity::find();
    if !filter.statuses.is_empty() {
        select = select.filter(order::Column::Status.is_in(filter.statuses.iter().copied()));
    }
    if let Some(number) = &filter.number {
        select = select.filter(order::Column::Number.eq(normalize_number(number)));
    }
    if let Some(email) = &filter.buyer_email {
        let buyer: Option<UserId> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::Email.eq(normalize_email(email)))
            .into_tuple()
            .one(db)
            .await?;
        let Some(buyer) = buyer else { return Ok(None) };
        select = select.filter(order::Column::BuyerId.eq(buyer));
    }
    if let Some(slug) = &filter.producer_slug {
        let producer_id: Option<ProducerId> = producer::Entity::find()
            .select_only()
            .column(producer::Column::Id)
            .filter(producer::Column::Slug.eq(slug.trim()))
            .into_tuple()
            .one(db)
            .await?;
        let Some(producer_id) = producer_id else {
            return Ok(None);
        };
        select = select.filter(with_lines_of(producer_id));
    }
    if let Some(method) = filter.payment_method {
        select = select.filter(order::Column::PaymentMethod.eq(method));
    }
    if let Some(from) = filter.placed_from {
        select = select.filter(order::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.placed_to {
        select = select.filter(order::Column::CreatedAt.lt(to));
    }
    Ok(Some(select))
}

#[cfg(test)]
mod tests {
    use super::normalize_number;

    #[test]
    fn numbers_read_out_loud_are_the_numbers_stored() {
        assert_eq!(normalize_number(" hk-2026 0915-a1b2c3d4e5 "), "HK20260915A1B2C3D4E5");
    }
}
