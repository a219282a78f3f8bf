//! Inventory: every change to a variant's on-hand or reserved stock goes through here, as a
//! conditional update the CHECK constraints back up, with its row in the stock ledger
//! (`stock_movements`) written in the same transaction: on PostgreSQL by the same statement. A
//! relief supermarket's shelf stock is kept here too ([`shelf`]): units moved between the online
//! stock and a shelf are written on both sides of the ledger in one transaction.

pub mod entity;
pub mod shelf;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Set, Statement};

use crate::infra::error::AppResult;
use crate::infra::ids::OrderId;
use crate::infra::ids::UserId;
use crate::infra::ids::VariantId;
use crate::inventory::entity::{stock_level, stock_movement};

/// Why stock moved, as the ledger records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Movement {
    /// An order holds units until it is paid or its reservation ends.
    Reserve,
    /// An unpaid order was cancelled or expired: its units are free again.
    Release,
    /// An order was paid: its units leave the shelf.
    Sell,
    /// A paid order was cancelled before shipment: its units are back on the shelf.
    Return,
    /// A live session's approved quota is held out of what the rest of the shop can sell (and
    /// a cancelled session order's units go back to the quota).
    SetAside,
    /// A live session ended: its unsold quota is free for the rest of the shop again.
    GiveBack,
    /// A new parcel for an after-sales claim leaves the shelf, from units nobody holds.
    Reship,
    /// Units nobody holds go to a relief supermarket's shelf.
    ToStore,
    /// Units come back from a relief supermarket's shelf.
    FromStore,
}

impl Movement {
    /// (on-hand delta, reserved delta) for `quantity` units.
    fn deltas(self, quantity: i64) -> (i64, i64) {
        match self {
            Movement::Reserve => (0, quantity),
            Movement::Release => (0, -quantity),
            Movement::Sell => (-quantity, -quantity),
            Movement::Return => (quantity, 0),
            Movement::SetAside => (0, quantity),
            Movement::GiveBack => (0, -quantity),
            Movement::Reship => (-quantity, 0),
            Movement::ToStore => (-quantity, 0),
            Movement::FromStore => (quantity, 0),
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Movement::Reserve => "order reserved",
            Movement::Release => "order released",
            Movement::Sell => "order paid",
            Movement::Return => "paid order cancelled",
            Movement::SetAside => "live session quota set aside",
            Movement::GiveBack => "live session quota returned",
            Movement::Reship => "claim reshipped",
            Movement::ToStore => "moved to a store's shelf",
            Movement::FromStore => "moved back from a store's shelf",
        }
    }
}

/// A variant's online stock as a change left it: what the storefront's stock mirror takes once
/// the change has committed (the version orders figures, so an older one never wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Figure {
    pub available: i64,
    pub version: i64,
}

/// The outcome of one stock change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moved {
    /// Done; `availability_flipped` when the variant ran out or came back with it, and the
    /// online stock's new figure (none for a store's shelf).
    Done {
        availability_flipped: bool,
        figure: Option<Figure>,
    },
    /// Refused: not enough stock (for a reservation), or the books do not allow it.
    Refused,
}

/// Moves `quantity` units of `variant_id` for `order_id`, inside the caller's transaction.
/// A reservation only succeeds while enough units are available; the update is one statement,
/// so concurrent buyers can never take the same unit. The ledger row is written first and the
/// stock row last, so a hot variant's row stays locked only from this update to the commit;
/// on [`Moved::Refused`] the caller must roll back.
pub async fn apply(
    txn: &impl ConnectionTrait,
    movement: Movement,
    variant_id: VariantId,
    quantity: i64,
    order_id: OrderId,
    actor_user_id: Option<UserId>,
) -> AppResult<Moved> {
    apply_to(txn, movement, variant_id, quantity, Some(order_id), actor_user_id).await
}

/// [`apply`] for a live session's quota, which no order causes (`SetAside`, `GiveBack`, or a
/// cancelled session order's units going back to the quota).
pub async fn apply_for_session(
    txn: &impl ConnectionTrait,
    movement: Movement,
    variant_id: VariantId,
    quantity: i64,
    actor_user_id: Option<UserId>,
) -> AppResult<Moved> {
    apply_to(txn, movement, variant_id, quantity, None, actor_user_id).await
}

/// [`apply`] for units moved to or from a store's shelf ([`shelf::transfer`]).
async fn apply_for_store(
    txn: &impl ConnectionTrait,
    movement: Movement,
    variant_id: VariantId,
    quantity: i64,
    actor_user_id: Option<UserId>,
) -> AppResult<Moved> {
    apply_to(txn, movement, variant_id, quantity, None, actor_user_id).await
}

async fn apply_to(
    txn: &impl ConnectionTrait,
    movement: Movement,
    variant_id: VariantId,
    quantity: i64,
    order_id: Option<OrderId>,
    actor_user_id: Option<UserId>,
) -> AppResult<Moved> {
    let (on_hand_delta, reserved_delta) = movement.deltas(quantity);
    if txn.get_database_backend() == DbBackend::Postgres {
        return apply_in_one_statement(txn, movement, variant_id, quantity, order_id, actor_user_id).await;
    }
    stock_movement::Entity::insert(stock_movement::ActiveModel {
        variant_id: Set(variant_id),
        on_hand_delta: Set(on_hand_delta),
        reserved_delta: Set(reserved_delta),
        reason: Set(movement.reason().to_owned()),
        actor_user_id: Set(actor_user_id),
        order_id: Set(order_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_without_returning(txn)
    .await?;
    let mut update = stock_level::Entity::update_many()
        .col_expr(
            stock_level::Column::OnHand,
            Expr::col(stock_level::Column::OnHand).add(on_hand_delta),
        )
        .col_expr(
            stock_level::Column::Reserved,
            Expr::col(stock_level::Column::Reserved).add(reserved_delta),
        )
        .col_expr(
            stock_level::Column::Version,
            Expr::col(stock_level::Column::Version).add(1),
        )
        .filter(stock_level::Column::VariantId.eq(variant_id));
    update = match movement {
        Movement::Reserve | Movement::SetAside | Movement::Reship | Movement::ToStore => update.filter(
            Expr::col(stock_level::Column::OnHand)
                .sub(Expr::col(stock_level::Column::Reserved))
                .gte(quantity),
        ),
        Movement::Release | Movement::Sell | Movement::GiveBack => {
            update.filter(stock_level::Column::Reserved.gte(quantity))
        }
        Movement::Return | Movement::FromStore => update,
    };
    let updated = update.exec_with_returning(txn).await?;
    let Some(level) = updated.first() else {
        return Ok(Moved::Refused);
    };
    let figure = Figure {
        available: level.available(),
        version: level.version,
    };
    Ok(moved_to(figure, on_hand_delta - reserved_delta))
}

/// Done, to `figure`, with whether its units after a change of `available_delta` ran out or
/// came back.
fn moved_to(figure: Figure, available_delta: i64) -> Moved {
    let before = figure.available - available_delta;
    Moved::Done {
        availability_flipped: (before > 0) != (figure.available > 0),
        figure: Some(figure),
    }
}

/// [`apply_to`] on PostgreSQL: the conditional update and its ledger row in one statement (the
/// ledger row is written only if the update was), one round trip instead of two.
async fn apply_in_one_statement(
    txn: &impl ConnectionTrait,
    movement: Movement,
    variant_id: VariantId,
    quantity: i64,
    order_id: Option<OrderId>,
    actor_user_id: Option<UserId>,
) -> AppResult<Moved> {
    let (on_hand_delta, reserved_delta) = movement.deltas(quantity);
    let condition = match movement {
        Movement::Reserve | Movement::SetAside | Movement::Reship | Movement::ToStore => "AND on_hand - reserved >= $3",
        Movement::Release | Movement::Sell | Movement::GiveBack => "AND reserved >= $3",
        // Every statement names $3; a return has no condition.
        Movement::Return | Movement::FromStore => "AND $3 = $3",
    };
    let sql = format!(
        "WITH moved AS (
           UPDATE stock_levels
           SET on_hand = on_hand + $1, reserved = reserved + $2, version = version + 1
           WHERE variant_id = $4 {condition}
           RETURNING on_hand - reserved AS available, version
         ), ledger AS (
           INSERT INTO stock_movements
             (variant_id, on_hand_delta, reserved_delta, reason, actor_user_id, order_id, created_at)
           SELECT $4, $1, $2, $5, $6, $7, $8 FROM moved
         )
         SELECT available, version FROM moved"
    );
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [
            on_hand_delta.into(),
            reserved_delta.into(),
            quantity.into(),
            variant_id.0.into(),
            movement.reason().into(),
            actor_user_id.map(|id| id.0).into(),
            order_id.map(|id| id.0).into(),
            Utc::now().into(),
        ],
    );
    moved_by(txn, statement, on_hand_delta - reserved_delta).await
}

/// Runs `statement`, which moves a stock row and answers its `available` and `version` (no row:
/// the move was refused), for a move of `available_delta`.
async fn moved_by(txn: &impl ConnectionTrait, statement: Statement, available_delta: i64) -> AppResult<Moved> {
    let Some(row) = txn.query_one_raw(statement).await? else {
        return Ok(Moved::Refused);
    };
    let figure = Figure {
        available: row.try_get("", "available")?,
        version: row.try_get("", "version")?,
    };
    Ok(moved_to(figure, available_delta))
}

/// Reserves units of `variant_id` for several orders in one statement, on PostgreSQL: the stock
/// row's conditional update for their sum and each order's ledger row (placed by its buyer),
/// all or none; `Refused` when the sum is not available. A batch of a hot variant's orders takes
/// its row so, once, at its end.
pub async fn reserve_for_orders(
    txn: &impl ConnectionTrait,
    variant_id: VariantId,
    orders: &[(OrderId, i64, UserId)],
) -> AppResult<Moved> {
    let total: i64 = orders.iter().map(|(_, units, _)| units).sum();
    // $1 the sum, $2 the variant, $3 the reason, $4 the time; each order's three after them.
    let rows: Vec<String> = (0..orders.len())
        .map(|at| {
            format!(
                "(${}::bigint, ${}::bigint, ${}::bigint)",
                5 + 3 * at,
                6 + 3 * at,
                7 + 3 * at
            )
        })
        .collect();
    let sql = format!(
        "WITH moved AS (
           UPDATE stock_levels
           SET reserved = reserved + $1, version = version + 1
           WHERE variant_id = $2 AND on_hand - reserved >= $1
           RETURNING on_hand - reserved AS available, version
         ), ledger AS (
           INSERT INTO stock_movements
             (variant_id, on_hand_delta, reserved_delta, reason, actor_user_id, order_id, created_at)
           SELECT $2, 0, o.units, $3, o.actor, o.order_id, $4
           FROM moved, (VALUES {}) AS o(order_id, units, actor)
         )
         SELECT available, version FROM moved",
        rows.join(", ")
    );
    let mut values: Vec<sea_orm::Value> = vec![
        total.into(),
        variant_id.0.into(),
        Movement::Reserve.reason().into(),
        Utc::now().into(),
    ];
    for (order_id, units, buyer_id) in orders {
        values.extend([order_id.0.into(), (*units).into(), buyer_id.0.into()]);
    }
    moved_by(
        txn,
        Statement::from_sql_and_values(DbBackend::Postgres, sql, values),
        -total,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::Movement;

    #[test]
    fn every_movement_keeps_available_stock_accounted() {
        // Paying moves units off the shelf and out of the reservation together, so what is
        // available to others does not change.
        let (on_hand, reserved) = Movement::Sell.deltas(3);
        assert_eq!(on_hand - reserved, 0);
        assert_eq!(Movement::Reserve.deltas(3), (0, 3));
        assert_eq!(Movement::Release.deltas(3), (0, -3));
        assert_eq!(Movement::Return.deltas(3), (3, 0));
    }
}
