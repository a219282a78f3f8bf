//! Gauges of the shop's own state on `/metrics`, read from the database at each scrape: what
//! an operator is alerted on before a grower or a buyer calls. Every replica reports the same
//! figures (they are the database's): aggregate them with `max`, never `sum`.
//!
//! - `huakai_webhook_backlog`: Stripe events stored but not yet applied (the inbox worker is
//!   behind, or an event keeps failing);
//! - `huakai_bank_refunds_waiting` and `…_fen`: bank-transfer refunds an operator has still to
//!   send back;
//! - `huakai_payouts_in_transit` and `…_fen`: payouts sent or exported, not yet confirmed paid;
//! - `huakai_orders_expiring_soon`: unpaid orders whose reservation ends within five minutes
//!   (or has ended and the expiry worker has not freed it yet).
//!
//! The sums are plain SQL: the stored values of the statuses and providers are the migrations'.

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter, Statement,
};

use crate::orders::OrderStatus;
use crate::orders::entity::order;
use crate::payments::entity::webhook_event;

/// How far ahead an unpaid order counts as expiring soon.
const EXPIRING_WITHIN: chrono::Duration = chrono::Duration::minutes(5);

/// Reads the figures and sets the gauges; on a database error they keep their last values.
pub async fn record(db: &DatabaseConnection) {
    if let Err(error) = read_and_set(db).await {
        tracing::warn!(error = ?error, "the business gauges could not be read");
    }
}

async fn read_and_set(db: &DatabaseConnection) -> Result<(), DbErr> {
    let backlog = webhook_event::Entity::find()
        .filter(webhook_event::Column::ProcessedAt.is_null())
        .count(db)
        .await?;
    let (refunds, refunds_fen) = count_and_sum(
        db,
        "SELECT COUNT(*), CAST(COALESCE(SUM(refunds.amount_fen), 0) AS BIGINT) FROM refunds \
         JOIN payments ON payments.id = refunds.payment_id \
         WHERE refunds.status = 'PENDING' AND payments.provider = 'bank_transfer'",
    )
    .await?;
    let (payouts, payouts_fen) = count_and_sum(
        db,
        "SELECT COUNT(*), CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM payouts WHERE status = 'IN_TRANSIT'",
    )
    .await?;
    let expiring = order::Entity::find()
        .filter(order::Column::Status.eq(OrderStatus::PendingPayment))
        .filter(order::Column::ReservedUntil.lte(Utc::now() + EXPIRING_WITHIN))
        .count(db)
        .await?;
    metrics::gauge!("huakai_webhook_backlog").set(backlog as f64);
    metrics::gauge!("huakai_bank_refunds_waiting").set(refunds as f64);
    metrics::gauge!("huakai_bank_refunds_waiting_fen").set(refunds_fen as f64);
    metrics::gauge!("huakai_payouts_in_transit").set(payouts as f64);
    metrics::gauge!("huakai_payouts_in_transit_fen").set(payouts_fen as f64);
    metrics::gauge!("huakai_orders_expiring_soon").set(expiring as f64);
    Ok(())
}

/// A count and a sum of fen, from one row of `sql` (the sum cast, since PostgreSQL's sum of a
/// bigint is a numeric).
async fn count_and_sum(db: &DatabaseConnection, sql: &str) -> Result<(i64, i64), DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_owned()))
        .await?;
    match row {
        Some(row) => Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)),
        None => Ok((0, 0)),
    }
}
