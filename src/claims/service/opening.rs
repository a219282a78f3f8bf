//! `openClaim`: the buyer claims units of a delivered order, within the window. The units are
//! taken from the lines by a conditional update (a CHECK backs it), so two claims never name
//! more units than were delivered; units whose value was refunded cannot be claimed.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, SqlErr};

use super::photos;
use crate::claims::entity::{claim, claim_line};
use crate::claims::{ClaimReason, ClaimStatus};
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::ids::{OrderId, OrderLineId, ShipmentId, UserId, VariantId};
use crate::infra::money::Fen;
use crate::orders::OrderStatus;
use crate::orders::entity::{order, order_line};
use crate::orders::service::state::{find as find_order, lines_of as order_lines_of, lock_order};
use crate::payments::records::payment_of;
use crate::payments::refundable::refunded_by_line;
use crate::shop::Shop;

/// The longest note a claim or an answer carries.
pub const MAX_NOTE: usize = 1000;

pub struct ClaimRequest {
    pub order_id: OrderId,
    /// Variants of the order and how many units of each (`None`: an id that names no variant).
    pub lines: Vec<(Option<VariantId>, i32)>,
    pub reason: ClaimReason,
    pub note: Option<String>,
    /// The photos' bytes, as uploaded.
    pub photos: Vec<bytes::Bytes>,
}

fn invalid_quantity(message: &'static str) -> UserError {
    UserError::new(ErrorCode::InvalidQuantity, message).on_field(&["input", "lines"])
}

/// A trimmed note within [`MAX_NOTE`], `None` when blank.
pub fn clean_note(note: Option<&str>, field: &[&str]) -> Result<Option<String>, UserError> {
    let note = note.map(str::trim).filter(|note| !note.is_empty());
    match note {
        Some(note) if note.chars().count() > MAX_NOTE => {
            Err(UserError::new(ErrorCode::InvalidInput, "claim-note-length").on_field(field))
        }
        _ => Ok(note.map(str::to_owned)),
    }
}

/// `openClaim` by `by` (whom the caller checked may change the order).
pub async fn open(shop: &Shop, by: UserId, request: ClaimRequest) -> Outcome<claim::Model> {
    let note = match clean_note(request.note.as_deref(), &["input", "note"]) {
        Ok(note) => note,
        Err(problem) => return Ok(Err(problem)),
    };
    let mut wanted: HashMap<VariantId, i32> = HashMap::new();
    for (variant, quantity) in &request.lines {
        let Some(variant) = variant else {
            return Ok(Err(invalid_quantity("claim-line-not-in-order")));
        };
        if *quantity <= 0 || wanted.insert(*variant, *quantity).is_some() {
            return Ok(Err(invalid_quantity("claim-quantity-invalid")));
        }
    }
    if wanted.is_empty() {
        return Ok(Err(invalid_quantity("claim-quantity-invalid")));
    }
    let photos = match photos::store(&shop.images, request.photos).await? {
        Ok(photos) => photos,
        Err(problem) => return Ok(Err(problem)),
    };
    let txn = begin_write(&shop.db).await?;
    lock_order(&txn, request.order_id).await?;
    let order = find_order(&txn, request.order_id).await?;
    if let Err(problem) = within_window(&order, shop.claim_settings().window, Utc::now()) {
        return end_write(txn, Err(problem)).await;
    }
    let lines: Vec<(order_line::Model, i32)> = order_lines_of(&txn, order.id)
        .await?
        .into_iter()
        .filter_map(|line| wanted.get(&line.variant_id).map(|q| (line.clone(), *q)))
        .collect();
    if lines.len() != wanted.len() {
        return end_write(txn, Err(invalid_quantity("claim-line-not-in-order"))).await;
    }
    let opened = take(&txn, shop, &order, by, None, &lines, request.reason, note).await?;
    match opened {
        Ok(claim) => {
            photos::record(&txn, claim.id, &photos).await?;
            end_write(txn, Ok(claim)).await
        }
        Err(problem) => end_write(txn, Err(problem)).await,
    }
}

/// Whether `order` may be claimed on at `now`.
fn within_window(order: &order::Model, window: std::time::Duration, now: DateTime<Utc>) -> Result<(), UserError> {
    let closed = || UserError::new(ErrorCode::ClaimWindowClosed, "claim-window-closed").on_field(&["input", "orderId"]);
    let (OrderStatus::Delivered, Some(delivered_at)) = (order.status, order.delivered_at) else {
        return Err(closed());
    };
    let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    if delivered_at.checked_add_signed(window).is_some_and(|end| end <= now) {
        return Err(closed());
    }
    Ok(())
}

/// Inside the caller's transaction, which holds the order's row: the units of `lines`
/// (`(line, units)`, all of one producer) are taken and the claim written. The caller rolls
/// back on a user error.
#[allow(clippy::too_many_arguments)]
pub async fn take(
    txn: &impl ConnectionTrait,
    shop: &Shop,
    order: &order::Model,
    by: UserId,
    shipment_id: Option<ShipmentId>,
    lines: &[(order_line::Model, i32)],
    reason: ClaimReason,
    note: Option<String>,
) -> Outcome<claim::Model> {
    let producers: HashSet<_> = lines.iter().map(|(line, _)| line.producer_id).collect();
    let [producer_id] = producers.into_iter().collect::<Vec<_>>()[..] else {
        return Ok(Err(invalid_quantity("claim-one-producer")));
    };
    let open_already = claim::Entity::find()
        .filter(claim::Column::OrderId.eq(order.id))
        .filter(claim::Column::ProducerId.eq(producer_id))
        .filter(claim::Column::Status.is_in(ClaimStatus::UNDECIDED))
        .all(txn)
        .await?
        .into_iter()
        .any(|open| open.shipment_id == shipment_id);
    if open_already {
        return Ok(Err(
            UserError::new(ErrorCode::ClaimExists, "claim-exists").on_field(&["input", "orderId"])
        ));
    }
    let refunded = match payment_of(txn, order.id).await? {
        Some(payment) => refunded_by_line(txn, payment.id).await?,
        None => HashMap::new(),
    };
    let mut asked = Fen::ZERO;
    for (line, units) in lines {
        let still_held = line.line_total_fen - refunded.get(&line.id).copied().unwrap_or(Fen::ZERO);
        let unrefunded_units = if line.unit_price_fen > Fen::ZERO {
            still_held.get() / line.unit_price_fen.get()
        } else {
            i64::from(line.quantity)
        };
        if i64::from(*units) > unrefunded_units || !claim_units(txn, line.id, *units).await? {
            return Ok(Err(invalid_quantity("claim-quantity-exceeds")));
        }
        asked += Ord::min(Fen::new(i64::from(*units) * line.unit_price_fen.get()), still_held);
    }
    let now = Utc::now();
    let respond_by = now + chrono::Duration::from_std(shop.claim_settings().response).unwrap_or(chrono::Duration::MAX);
    let written = claim::ActiveModel {
        order_id: Set(order.id),
        producer_id: Set(producer_id),
        shipment_id: Set(shipment_id),
        opened_by: Set(by),
        status: Set(ClaimStatus::Open),
        reason: Set(reason),
        note: Set(note),
        asked_fen: Set(asked),
        decision: Set(None),
        amount_fen: Set(None),
        response_note: Set(None),
        respond_by: Set(respond_by),
        opened_at: Set(now),
        responded_at: Set(None),
        escalated_at: Set(None),
        decided_at: Set(None),
        refund_id: Set(None),
        reship_shipment_id: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await;
    let claim = match written {
        Ok(claim) => claim,
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Ok(Err(
                UserError::new(ErrorCode::ClaimExists, "claim-exists").on_field(&["input", "orderId"])
            ));
        }
        Err(error) => return Err(AppError::from(error)),
    };
    claim_line::Entity::insert_many(lines.iter().map(|(line, units)| claim_line::ActiveModel {
        claim_id: Set(claim.id),
        order_line_id: Set(line.id),
        quantity: Set(*units),
        ..Default::default()
    }))
    .exec_without_returning(txn)
    .await?;
    super::notices::opened(txn, &claim).await?;
    Ok(Ok(claim))
}

/// Takes `units` of the line for a claim: false when fewer are left unclaimed.
async fn claim_units(txn: &impl ConnectionTrait, line_id: OrderLineId, units: i32) -> AppResult<bool> {
    let taken = order_line::Entity::update_many()
        .col_expr(
            order_line::Column::ClaimedQuantity,
            Expr::col(order_line::Column::ClaimedQuantity).add(units),
        )
        .filter(order_line::Column::Id.eq(line_id))
        .filter(
            Expr::col(order_line::Column::ClaimedQuantity)
                .add(units)
                .lte(Expr::col(order_line::Column::Quantity)),
        )
        .exec(txn)
        .await?;
    Ok(taken.rows_affected == 1)
}
