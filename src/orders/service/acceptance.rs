//! Acceptance of bulk-order shipments (履约验收): whoever holds a shipment's code (its recipient,
//! or an admin of the organisation, who sees the codes) accepts the parcel or reports a problem
//! with a note. An accepted parcel stays accepted; a problem stays open until the parcel is
//! accepted. A bulk order is accepted once all its shipments are.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QuerySelect,
    RelationTrait,
};

use super::desk::OrderCursor;
use crate::infra::error::{AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::ids::OrganisationId;
use crate::infra::ids::ShipmentId;
use crate::infra::paging::{Direction, PageRequest, keyset_page, keyset_page_by_time};
use crate::orders::OrderStatus;
use crate::orders::entity::{order, shipment};

/// Orders whose shipments are awaited or answered: placed and paid, not cancelled or refunded.
const LIVE: [OrderStatus; 5] = [
    OrderStatus::Paid,
    OrderStatus::PartiallyShipped,
    OrderStatus::Shipped,
    OrderStatus::Delivered,
    OrderStatus::Completed,
];

/// `acceptShipment`: whether the shipment now stands accepted (`false`: a problem recorded).
pub async fn answer(db: &DatabaseConnection, code: &str, accepted: bool, note: Option<&str>) -> Outcome<bool> {
    let code = code.trim().to_ascii_uppercase();
    let invalid = || {
        Ok(Err(
            UserError::new(ErrorCode::InvalidCode, "acceptance-code-invalid").on_field(&["code"])
        ))
    };
    if code.is_empty() || code.len() > 16 {
        return invalid();
    }
    let Some(found) = shipment::Entity::find()
        .filter(shipment::Column::AcceptanceCode.eq(code.as_str()))
        .one(db)
        .await?
    else {
        return invalid();
    };
    if found.shipped_at.is_none() {
        return Ok(Err(
            UserError::new(ErrorCode::NotShipped, "acceptance-before-shipping").on_field(&["code"])
        ));
    }
    let now = Utc::now();
    let mut update = shipment::Entity::update_many()
        .filter(shipment::Column::Id.eq(found.id))
        .filter(shipment::Column::AcceptedAt.is_null());
    if accepted {
        update = update.col_expr(shipment::Column::AcceptedAt, Expr::value(now));
    } else {
        let note = note.map(str::trim).unwrap_or_default();
        if note.is_empty() || note.chars().count() > 500 {
            return Ok(Err(
                UserError::new(ErrorCode::InvalidInput, "acceptance-note-length").on_field(&["note"])
            ));
        }
        update = update
            .col_expr(shipment::Column::ProblemNote, Expr::value(note))
            .col_expr(shipment::Column::ProblemAt, Expr::value(now));
    }
    if update.exec(db).await?.rows_affected == 1 {
        return Ok(Ok(accepted));
    }
    // Accepted already (by another holder of the code, or an earlier try): accepting again
    // changes nothing; a problem can no longer be reported.
    if accepted {
        Ok(Ok(true))
    } else {
        Ok(Err(UserError::new(
            ErrorCode::AlreadyAccepted,
            "acceptance-already-accepted",
        )
        .on_field(&["code"])))
    }
}

/// How far an organisation's bulk orders (or those placed in a period) are accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub shipments: u64,
    pub accepted: u64,
    /// Not accepted, with a problem reported.
    pub with_problems: u64,
}

/// Acceptance of the organisation's live bulk orders, those placed in `[from, to)` when given.
pub async fn progress(
    db: &impl ConnectionTrait,
    organisation_id: OrganisationId,
    placed: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> AppResult<Progress> {
    let mut select = shipment::Entity::find()
        .join(JoinType::InnerJoin, shipment::Relation::Order.def())
        .filter(order::Column::UnionId.eq(organisation_id))
        .filter(order::Column::Bulk.eq(true))
        .filter(order::Column::Status.is_in(LIVE));
    if let Some((from, to)) = placed {
        select = select
            .filter(order::Column::CreatedAt.gte(from))
            .filter(order::Column::CreatedAt.lt(to));
    }
    let accepted = shipment::Column::AcceptedAt;
    Ok(Progress {
        shipments: select.clone().count(db).await?,
        accepted: select.clone().filter(accepted.is_not_null()).count(db).await?,
        with_problems: select
            .filter(accepted.is_null())
            .filter(shipment::Column::ProblemAt.is_not_null())
            .count(db)
            .await?,
    })
}

/// Shipments with an open problem, newest report first: of one organisation's bulk orders, or
/// of every organisation's (operators). The cursor is the shipment id.
pub async fn open_problems(
    db: &impl ConnectionTrait,
    organisation_id: Option<OrganisationId>,
    page: &PageRequest<ShipmentId>,
    count_total: bool,
) -> AppResult<(Vec<shipment::Model>, u64)> {
    let mut select = shipment::Entity::find()
        .join(JoinType::InnerJoin, shipment::Relation::Order.def())
        .filter(shipment::Column::ProblemAt.is_not_null())
        .filter(shipment::Column::AcceptedAt.is_null())
        .filter(order::Column::Status.is_in(LIVE));
    if let Some(organisation_id) = organisation_id {
        select = select.filter(order::Column::UnionId.eq(organisation_id));
    }
    keyset_page(
        db,
        select,
        shipment::Column::Id,
        Direction::NewestFirst,
        page,
        count_total,
    )
    .await
}

/// Whether every shipment of the bulk order is accepted; `None` for an order that is not a
/// bulk order.
pub fn order_accepted(order: &order::Model, shipments: &[shipment::Model]) -> Option<bool> {
    order
        .bulk
        .then(|| !shipments.is_empty() && shipments.iter().all(|s| s.accepted_at.is_some()))
}

/// The organisation's bulk orders, newest first, as every list of orders runs (`desk`).
pub async fn bulk_orders(
    db: &impl ConnectionTrait,
    organisation_id: OrganisationId,
    page: &PageRequest<OrderCursor>,
    count_total: bool,
) -> AppResult<(Vec<order::Model>, u64)> {
    let select = order::Entity::find()
        .filter(order::Column::UnionId.eq(organisation_id))
        .filter(order::Column::Bulk.eq(true));
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
