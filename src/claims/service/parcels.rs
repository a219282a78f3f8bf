//! A bulk-order recipient's problem report (`acceptShipment(accepted: false)`) opens a claim
//! for the organisation on what the parcel held, so the grower answers it like any claim
//! instead of it ending in a list no one acts on. The report stands even when no claim can be
//! opened (one is open on that parcel already, or its units were claimed or refunded).

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::opening::{clean_note, take};
use crate::claims::ClaimReason;
use crate::infra::db::begin_write;
use crate::infra::error::Outcome;
use crate::orders::entity::{order_line, shipment, shipment_item};
use crate::orders::service::acceptance;
use crate::orders::service::state::{find as find_order, lines_of, lock_order};
use crate::shop::Shop;

/// `acceptShipment`: whether the parcel now stands accepted (`false`: a problem recorded, and a
/// claim opened on it when one can be).
pub async fn answer(shop: &Shop, code: &str, accepted: bool, note: Option<&str>) -> Outcome<bool> {
    let answered = acceptance::answer(&shop.db, code, accepted, note).await?;
    if answered != Ok(false) {
        return Ok(answered);
    }
    let code = code.trim().to_ascii_uppercase();
    let Some(parcel) = shipment::Entity::find()
        .filter(shipment::Column::AcceptanceCode.eq(code.as_str()))
        .one(&shop.db)
        .await?
    else {
        return Ok(answered);
    };
    let items = shipment_item::Entity::find()
        .filter(shipment_item::Column::ShipmentId.eq(parcel.id))
        .all(&shop.db)
        .await?;
    let txn = begin_write(&shop.db).await?;
    lock_order(&txn, parcel.order_id).await?;
    let order = find_order(&txn, parcel.order_id).await?;
    let lines: Vec<(order_line::Model, i32)> = lines_of(&txn, order.id)
        .await?
        .into_iter()
        .filter(|line| line.producer_id == parcel.producer_id)
        .filter_map(|line| {
            let units: i32 = items
                .iter()
                .filter(|item| item.variant_id == line.variant_id)
                .map(|item| item.quantity)
                .sum();
            (units > 0).then_some((line, units))
        })
        .collect();
    let note = clean_note(note, &["note"]).ok().flatten();
    match take(
        &txn,
        shop,
        &order,
        order.buyer_id,
        Some(parcel.id),
        &lines,
        ClaimReason::Other,
        note,
    )
    .await?
    {
        Ok(_) => txn.commit().await?,
        Err(problem) => {
            tracing::info!(shipment = parcel.id.0, code = %problem.code, "a parcel's problem opened no claim");
            txn.rollback().await?;
        }
    }
    Ok(answered)
}
