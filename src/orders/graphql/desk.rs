//! The back office's order desk: the operators' `orders(filter:)` and a producer's queue
//! (`ProducerAccount.orders`, answered here).

use async_graphql::{Context, InputObject, Object};
use chrono::{DateTime, Utc};

use super::Order;
use crate::accounts::Role;
use crate::accounts::policy::{RoleGuard, viewer};
use crate::infra::graphql::context::{database, wants_total_count};
use crate::infra::graphql::relay::{PageRequest, RelayConnection, connection};
use crate::infra::ids::ProducerId;
use crate::orders::policy::{ListOrders, ProducerOrders};
use crate::orders::service::desk::{self, OrderCursor, OrderFilter};
use crate::orders::{OrderStatus, PaymentMethod};

type Result<T> = async_graphql::Result<T>;

/// What the operators' order list is narrowed to; every field given must hold.
#[derive(InputObject, Default)]
#[graphql(name = "OrderFilter")]
pub struct OrderFilterInput {
    /// Any of these statuses.
    pub status: Option<Vec<OrderStatus>>,
    /// The order number, whole; spaces, dashes and case do not matter (`HK-20260915-A1B2…`).
    pub number: Option<String>,
    /// The buyer's email, whole; case does not matter.
    pub buyer_email: Option<String>,
    /// Orders with lines of this producer.
    pub producer_slug: Option<String>,
    pub payment_method: Option<PaymentMethod>,
    /// Placed at or after this moment.
    pub placed_from: Option<DateTime<Utc>>,
    /// Placed before this moment.
    pub placed_to: Option<DateTime<Utc>>,
}

impl From<OrderFilterInput> for OrderFilter {
    fn from(input: OrderFilterInput) -> Self {
        OrderFilter {
            statuses: input.status.unwrap_or_default(),
            number: input.number,
            buyer_email: input.buyer_email,
            producer_slug: input.producer_slug,
            payment_method: input.payment_method,
            placed_from: input.placed_from,
            placed_to: input.placed_to,
        }
    }
}

#[derive(Default)]
pub struct OrderDeskQuery;

#[Object]
impl OrderDeskQuery {
    /// Every order, newest first, narrowed by `filter` (operators).
    #[graphql(
        guard = "RoleGuard::any_of(&[Role::Admin])",
        complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)"
    )]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<OrderFilterInput>,
    ) -> Result<RelayConnection<OrderCursor, Order>> {
        viewer(ctx).authorize(ListOrders)?;
        let page = PageRequest::new(first, after.as_deref())?;
        let filter = OrderFilter::from(filter.unwrap_or_default());
        let (rows, total) = desk::orders(database(ctx)?, &filter, &page, wants_total_count(ctx)).await?;
        Ok(connection(
            rows,
            &page,
            total,
            |row| (row.created_at, row.id),
            Order::seen_whole,
        ))
    }
}

/// `ProducerAccount.orders`: the orders with the producer's lines, newest first, of the given
/// statuses; to its growers only their own lines of each, to operators the whole order.
pub async fn producer_queue(
    ctx: &Context<'_>,
    producer_id: ProducerId,
    first: Option<i32>,
    after: Option<String>,
    status: Option<Vec<OrderStatus>>,
) -> Result<RelayConnection<OrderCursor, Order>> {
    let me = viewer(ctx).authorize(ProducerOrders { producer_id })?;
    let whole = me.role == Role::Admin;
    let page = PageRequest::new(first, after.as_deref())?;
    let statuses = status.unwrap_or_default();
    let (rows, total) =
        desk::producer_orders(database(ctx)?, producer_id, &statuses, &page, wants_total_count(ctx)).await?;
    Ok(connection(
        rows,
        &page,
        total,
        |row| (row.created_at, row.id),
        |row| Order::seen_by(row, (!whole).then_some(producer_id)),
    ))
}
