//! Mail at the steps of an order, enqueued in the step's transaction (see
//! `accounts::recipients`): to the buyer when the order is placed, paid and each parcel ships;
//! to the growers of each producer in it when it is paid.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Asterisk, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait};

use super::state::{find, lines_of};
use crate::accounts::entity::user;
use crate::accounts::recipients::{self, tell};
use crate::catalogue::entity::producer;
use crate::infra::error::AppResult;
use crate::infra::i18n::Message;
use crate::infra::ids::{OrderId, ProducerId};
use crate::infra::mail::OutgoingMail;
use crate::infra::money::Fen;
use crate::orders::entity::{order, shipment};

/// The mail to `buyer` that its order was placed (`placeOrder`), for the placing transaction
/// to enqueue (a batch enqueues its orders' mails at once).
pub fn placed(order: &order::Model, buyer: &user::Model) -> OutgoingMail {
    recipients::mail_to(
        buyer,
        &format!("order-placed:{}", order.id),
        &Message::new("order-placed-mail-subject").with("order", order.number.as_str()),
        &Message::new("order-placed-mail-body")
            .with("order", order.number.as_str())
            .with("total", order.total_fen),
    )
}

/// An order was paid: its buyer hears, and each producer's growers hear of their part.
pub async fn paid(txn: &impl ConnectionTrait, order_id: OrderId) -> AppResult<()> {
    let order = find(txn, order_id).await?;
    if let Some(buyer) = recipients::user(txn, order.buyer_id).await? {
        tell(
            txn,
            &buyer,
            &format!("order-paid:{order_id}"),
            &Message::new("order-paid-mail-subject").with("order", order.number.as_str()),
            &Message::new("order-paid-mail-body")
                .with("order", order.number.as_str())
                .with("total", order.total_fen),
        )
        .await?;
    }
    let mut parts: BTreeMap<ProducerId, (i64, Fen)> = BTreeMap::new();
    for line in lines_of(txn, order_id).await? {
        let part = parts.entry(line.producer_id).or_default();
        part.0 += i64::from(line.quantity);
        part.1 += line.line_total_fen;
    }
    for (producer_id, (units, amount)) in parts {
        let name = producer_name(txn, producer_id).await?;
        for grower in recipients::growers_of(txn, producer_id).await? {
            tell(
                txn,
                &grower,
                &format!("order-paid:{order_id}:producer:{producer_id}"),
                &Message::new("grower-order-paid-mail-subject").with("order", order.number.as_str()),
                &Message::new("grower-order-paid-mail-body")
                    .with("order", order.number.as_str())
                    .with("producer", name.as_str())
                    .with("units", units)
                    .with("amount", amount),
            )
            .await?;
        }
    }
    Ok(())
}

/// A shipped parcel as the buyer is told of it.
struct Parcel {
    id: i64,
    producer_id: ProducerId,
    tracking_number: String,
    carrier: Option<String>,
}

/// The order's shipped parcels. Read column by column, so a `carrier` column is shown when the
/// schema has one and its absence is no error.
async fn shipped_parcels(txn: &impl ConnectionTrait, order_id: OrderId) -> AppResult<Vec<Parcel>> {
    let query = Query::select()
        .column(Asterisk)
        .from(shipment::Entity)
        .and_where(shipment::Column::OrderId.eq(order_id))
        .and_where(shipment::Column::ShippedAt.is_not_null())
        .to_owned();
    let rows = txn.query_all_raw(txn.get_database_backend().build(&query)).await?;
    let mut parcels = Vec::with_capacity(rows.len());
    for row in rows {
        parcels.push(Parcel {
            id: row.try_get("", "id")?,
            producer_id: ProducerId(row.try_get("", "producer_id")?),
            tracking_number: row
                .try_get::<Option<String>>("", "tracking_number")?
                .unwrap_or_default(),
            carrier: row
                .try_get::<Option<String>>("", "carrier")
                .ok()
                .flatten()
                .filter(|carrier| !carrier.trim().is_empty()),
        });
    }
    Ok(parcels)
}

/// Parcels of the order shipped (`markShipped`): the buyer hears of each once, with its
/// carrier (when the shipment names one) and tracking number. An organisation's bulk order,
/// whose parcels go to its many recipients, is not told parcel by parcel.
pub async fn shipped(txn: &impl ConnectionTrait, order_id: OrderId) -> AppResult<()> {
    let order = find(txn, order_id).await?;
    if order.bulk {
        return Ok(());
    }
    let Some(buyer) = recipients::user(txn, order.buyer_id).await? else {
        return Ok(());
    };
    for parcel in shipped_parcels(txn, order_id).await? {
        let name = producer_name(txn, parcel.producer_id).await?;
        let body = match &parcel.carrier {
            Some(carrier) => Message::new("order-shipped-carrier-mail-body").with("carrier", carrier.as_str()),
            None => Message::new("order-shipped-mail-body"),
        };
        tell(
            txn,
            &buyer,
            &format!("order-shipped:{}", parcel.id),
            &Message::new("order-shipped-mail-subject").with("order", order.number.as_str()),
            &body
                .with("order", order.number.as_str())
                .with("producer", name.as_str())
                .with("tracking", parcel.tracking_number.as_str()),
        )
        .await?;
    }
    Ok(())
}

async fn producer_name(txn: &impl ConnectionTrait, producer_id: ProducerId) -> AppResult<String> {
    Ok(producer::Entity::find_by_id(producer_id)
        .one(txn)
        .await?
        .map(|producer| producer.name)
        .unwrap_or_default())
}
