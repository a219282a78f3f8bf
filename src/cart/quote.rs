//! What a cart costs delivered to an address before the order is placed: its subtotal, one
//! shipment per producer with its weight and fee, and the total.

use std::collections::BTreeMap;

use sea_orm::ConnectionTrait;

use super::lines;
use super::shipping::{Fee, fee};
use super::shipping_rules::rules_of;
use crate::infra::error::{AppError, AppResult};
use crate::infra::ids::{ProducerId, UserId};
use crate::infra::money::Fen;

/// One producer's part of a cart or an order: what it weighs and costs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Part {
    pub weight_grams: i64,
    pub subtotal: Fen,
}

impl Part {
    /// Adds `quantity` units of a variant weighing `weight_grams` each, worth `line_total`.
    pub fn add(&mut self, weight_grams: i32, quantity: i32, line_total: Fen) -> AppResult<()> {
        self.weight_grams += i64::from(weight_grams) * i64::from(quantity);
        self.subtotal = self
            .subtotal
            .checked_add(line_total)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a shipment's worth overflows")))?;
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotedShipment {
    pub producer_id: ProducerId,
    pub weight_grams: i64,
    pub fee: Fee,
}

pub struct Quote {
    pub subtotal: Fen,
    /// The fees of the shipments that can be delivered.
    pub shipping: Fen,
    pub shipments: Vec<QuotedShipment>,
}

impl Quote {
    /// Whether every shipment can be delivered to the province.
    pub fn deliverable(&self) -> bool {
        self.shipments.iter().all(|s| s.fee != Fee::NotDeliverable)
    }
}

/// The parts of `parts`, by producer, priced to `province` under their producers' rules.
pub async fn quote_parts(
    db: &impl ConnectionTrait,
    parts: &BTreeMap<ProducerId, Part>,
    province: &str,
) -> AppResult<Quote> {
    let rules = rules_of(db, parts.keys().copied().collect::<Vec<_>>()).await?;
    let overflow = || AppError::Internal(anyhow::anyhow!("a quote overflows"));
    let mut quote = Quote {
        subtotal: Fen::ZERO,
        shipping: Fen::ZERO,
        shipments: Vec::with_capacity(parts.len()),
    };
    for (producer_id, part) in parts {
        let fee = fee(rules.get(producer_id), part.weight_grams, part.subtotal, province);
        quote.subtotal = quote.subtotal.checked_add(part.subtotal).ok_or_else(overflow)?;
        if let Fee::Deliverable(amount) = fee {
            quote.shipping = quote.shipping.checked_add(amount).ok_or_else(overflow)?;
        }
        quote.shipments.push(QuotedShipment {
            producer_id: *producer_id,
            weight_grams: part.weight_grams,
            fee,
        });
    }
    Ok(quote)
}

/// The user's cart, at today's prices, delivered to `province`.
pub async fn quote_cart(db: &impl ConnectionTrait, user_id: UserId, province: &str) -> AppResult<Quote> {
    let (live, _) = lines::live(db, user_id).await?;
    let mut parts: BTreeMap<ProducerId, Part> = BTreeMap::new();
    for line in &live {
        let part = parts.entry(line.offer.producer_id).or_default();
        part.add(line.offer.variant.weight_grams, line.line.quantity, line.line_total)?;
    }
    quote_parts(db, &parts, province).await
}
