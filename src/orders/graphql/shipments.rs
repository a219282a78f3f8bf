//! A shipment (one producer's parcel of an order, or one recipient's of a bulk order) and
//! what it holds.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};

use super::loaders::{ItemsOfShipment, orders_loader};
use crate::cart::graphql::ShippingAddress;
use crate::catalogue::graphql::{Producer, Variant};
use crate::catalogue::loaders::loader;
use crate::infra::error::AppError;
use crate::infra::graphql::global_id::{NodeType, encode};
use crate::infra::money::Money;
use crate::orders::carriers::Carrier;
use crate::orders::entity::{shipment, shipment_item};

/// A shipment as one viewer sees it: a bulk order's acceptance code only to those who see the
/// whole order (the organisation's admins, operators).
pub struct Shipment {
    pub(super) row: shipment::Model,
    pub(super) whole: bool,
}

#[Object]
impl Shipment {
    pub async fn id(&self) -> ID {
        encode(NodeType::Shipment, self.row.id)
    }

    async fn producer(&self, ctx: &Context<'_>) -> Result<Producer> {
        let producer = loader(ctx)?
            .load_one(self.row.producer_id)
            .await
            .map_err(AppError::from)?;
        Ok(Producer(producer.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("shipment without its producer"))
        })?))
    }

    async fn tracking_number(&self) -> Option<&str> {
        self.row.tracking_number.as_deref()
    }

    /// The express company's code (SF, ZTO, YTO, JD, EMS, STO, YUNDA), when the shipper named one.
    async fn carrier(&self) -> Option<&'static str> {
        self.row.carrier.map(Carrier::code)
    }

    /// The carrier's own public page tracking this parcel, once it has a carrier and a number.
    async fn tracking_url(&self) -> Option<String> {
        let number = self.row.tracking_number.as_deref()?;
        Some(self.row.carrier?.tracking_url(number))
    }

    /// What the buyer paid for this parcel's carriage.
    async fn shipping_fee(&self) -> Money {
        self.row.shipping_fee_fen.into()
    }

    async fn shipped_at(&self) -> Option<DateTime<Utc>> {
        self.row.shipped_at
    }

    /// Of a bulk order: who receives this shipment.
    async fn recipient_name(&self) -> Option<&str> {
        self.row.recipient_name.as_deref()
    }

    /// Of a bulk order: where this shipment goes (the order's own address is the organisation).
    async fn recipient(&self) -> Option<ShippingAddress> {
        Some(ShippingAddress {
            name: self.row.recipient_name.clone()?,
            phone: self.row.recipient_phone.clone()?,
            province: self.row.recipient_province.clone()?,
            city: self.row.recipient_city.clone()?,
            district: self.row.recipient_district.clone()?,
            line1: self.row.recipient_line1.clone()?,
            postal_code: None,
        })
    }

    /// Of a bulk order: what goes in this shipment.
    async fn items(&self, ctx: &Context<'_>) -> Result<Option<Vec<ShipmentItem>>> {
        if self.row.recipient_name.is_none() {
            return Ok(None);
        }
        let items = orders_loader(ctx)?
            .load_one(ItemsOfShipment(self.row.id))
            .await
            .map_err(AppError::from)?
            .unwrap_or_default();
        Ok(Some(items.into_iter().map(ShipmentItem).collect()))
    }

    /// Of a bulk order: the code its recipient accepts it with (the organisation's admins and
    /// operators; they pass it on to the recipient).
    async fn acceptance_code(&self) -> Option<&str> {
        self.whole.then_some(self.row.acceptance_code.as_deref()).flatten()
    }

    /// Of a bulk order: whether its recipient accepted it.
    async fn accepted(&self) -> Option<bool> {
        self.row
            .acceptance_code
            .as_ref()
            .map(|_| self.row.accepted_at.is_some())
    }

    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.row.accepted_at
    }

    /// The problem its recipient reported, until the shipment is accepted.
    async fn problem(&self) -> Option<&str> {
        self.row
            .accepted_at
            .is_none()
            .then_some(self.row.problem_note.as_deref())
            .flatten()
    }

    async fn problem_reported_at(&self) -> Option<DateTime<Utc>> {
        self.row.accepted_at.is_none().then_some(self.row.problem_at).flatten()
    }
}

impl Shipment {
    /// A shipment seen by those who see every part of its order.
    pub fn whole(row: shipment::Model) -> Shipment {
        Shipment { row, whole: true }
    }
}

pub struct ShipmentItem(shipment_item::Model);

#[Object]
impl ShipmentItem {
    async fn variant(&self, ctx: &Context<'_>) -> Result<Variant> {
        let variant = loader(ctx)?.load_one(self.0.variant_id).await.map_err(AppError::from)?;
        Ok(Variant(variant.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("shipment item without its variant"))
        })?))
    }

    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
}
