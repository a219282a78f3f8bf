//! A store's till by day (日结): what each method took, the cash the till should hold, and
//! closing the day once with the cash counted (the difference kept). Days are calendar days in
//! China; a sale belongs to the day it was made.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::catalogue::today_in_china;
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::ids::{StoreId, UserId};
use crate::infra::money::Fen;
use crate::stores::CounterPaymentMethod;
use crate::stores::entity::{counter_refund, counter_sale, store_day};

/// What one method took in a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MethodTotal {
    pub method: CounterPaymentMethod,
    pub amount: Fen,
    pub count: u32,
}

/// A day of a store's till.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Day {
    pub date: NaiveDate,
    pub sales: Fen,
    /// Every method, in the enum's order, those that took nothing included.
    pub by_method: Vec<MethodTotal>,
    /// Given back over the counter that day, all methods (`refundCounterSale`).
    pub refunds: Fen,
    /// What the cash sales put in the till, less the cash refunds took out.
    pub cash_expected: Fen,
    pub cash_counted: Option<Fen>,
    pub difference: Option<Fen>,
    pub closed: bool,
}

/// The sales of the store's day, oldest first.
pub async fn sales_of(
    db: &impl ConnectionTrait,
    store_id: StoreId,
    date: NaiveDate,
) -> AppResult<Vec<counter_sale::Model>> {
    Ok(counter_sale::Entity::find()
        .filter(counter_sale::Column::StoreId.eq(store_id))
        .filter(counter_sale::Column::BusinessDate.eq(date))
        .order_by_asc(counter_sale::Column::Id)
        .all(db)
        .await?)
}

fn totals(sales: &[counter_sale::Model]) -> Vec<MethodTotal> {
    let mut by: HashMap<CounterPaymentMethod, (Fen, u32)> = HashMap::new();
    for sale in sales {
        let entry = by.entry(sale.payment_method).or_default();
        entry.0 += sale.total_fen;
        entry.1 += 1;
    }
    CounterPaymentMethod::ALL
        .into_iter()
        .map(|method| {
            let (amount, count) = by.get(&method).copied().unwrap_or_default();
            MethodTotal { method, amount, count }
        })
        .collect()
}

fn cash_of(by_method: &[MethodTotal]) -> Fen {
    by_method
        .iter()
        .filter(|t| t.method == CounterPaymentMethod::Cash)
        .map(|t| t.amount)
        .sum()
}

/// What the store's counter gave back on the day: (all methods, cash).
async fn refunds_of(db: &impl ConnectionTrait, store_id: StoreId, date: NaiveDate) -> AppResult<(Fen, Fen)> {
    let refunds = counter_refund::Entity::find()
        .filter(counter_refund::Column::StoreId.eq(store_id))
        .filter(counter_refund::Column::BusinessDate.eq(date))
        .all(db)
        .await?;
    let all = refunds.iter().map(|r| r.amount_fen).sum();
    let cash = refunds
        .iter()
        .filter(|r| r.payment_method == CounterPaymentMethod::Cash)
        .map(|r| r.amount_fen)
        .sum();
    Ok((all, cash))
}

/// `Store.day(date:)`.
pub async fn day(db: &impl ConnectionTrait, store_id: StoreId, date: NaiveDate) -> AppResult<Day> {
    let row = store_day::Entity::find_by_id((store_id, date)).one(db).await?;
    let by_method = totals(&sales_of(db, store_id, date).await?);
    let (refunds, cash_refunds) = refunds_of(db, store_id, date).await?;
    let closed = row.as_ref().is_some_and(|r| r.closed_at.is_some());
    Ok(Day {
        date,
        sales: by_method.iter().map(|t| t.amount).sum(),
        refunds,
        // Once closed, what was expected then (no sale or refund can come after).
        cash_expected: row
            .as_ref()
            .and_then(|r| r.cash_expected_fen)
            .unwrap_or_else(|| cash_of(&by_method) - cash_refunds),
        cash_counted: row.as_ref().and_then(|r| r.cash_counted_fen),
        difference: row.as_ref().and_then(|r| r.difference_fen),
        closed,
        by_method,
    })
}

/// `closeDay` by a clerk of the store: the day (today or before) closes once, with the cash
/// counted and its difference from the cash expected; no sale comes after. The day's row is
/// taken first, so a sale in flight either finishes before (and is counted) or is refused.
pub async fn close_day(
    db: &DatabaseConnection,
    store_id: StoreId,
    date: NaiveDate,
    cash_counted: Fen,
    clerk_id: UserId,
) -> Outcome<Day> {
    if date > today_in_china() {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidInput, "store-day-in-future").on_field(&["date"])
        ));
    }
    if cash_counted < Fen::ZERO {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidInput, "cash-counted-negative").on_field(&["cashCounted"])
        ));
    }
    let txn = begin_write(db).await?;
    store_day::Entity::insert(store_day::ActiveModel {
        store_id: Set(store_id),
        business_date: Set(date),
        sales_count: Set(0),
        cash_expected_fen: Set(None),
        cash_counted_fen: Set(None),
        difference_fen: Set(None),
        closed_by: Set(None),
        closed_at: Set(None),
    })
    .on_conflict(
        OnConflict::columns([store_day::Column::StoreId, store_day::Column::BusinessDate])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    let open = store_day::Entity::update_many()
        .col_expr(store_day::Column::SalesCount, Expr::col(store_day::Column::SalesCount))
        .filter(store_day::Column::StoreId.eq(store_id))
        .filter(store_day::Column::BusinessDate.eq(date))
        .filter(store_day::Column::ClosedAt.is_null())
        .exec(&txn)
        .await?;
    if open.rows_affected != 1 {
        return end_write(
            txn,
            Err(UserError::new(ErrorCode::DayClosed, "store-day-closed").on_field(&["date"])),
        )
        .await;
    }
    let (_, cash_refunds) = refunds_of(&txn, store_id, date).await?;
    let expected = cash_of(&totals(&sales_of(&txn, store_id, date).await?)) - cash_refunds;
    store_day::Entity::update_many()
        .col_expr(store_day::Column::CashExpectedFen, Expr::value(expected))
        .col_expr(store_day::Column::CashCountedFen, Expr::value(cash_counted))
        .col_expr(store_day::Column::DifferenceFen, Expr::value(cash_counted - expected))
        .col_expr(store_day::Column::ClosedBy, Expr::value(clerk_id))
        .col_expr(store_day::Column::ClosedAt, Expr::value(Utc::now()))
        .filter(store_day::Column::StoreId.eq(store_id))
        .filter(store_day::Column::BusinessDate.eq(date))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Ok(day(db, store_id, date).await?))
}
