//! What an order's shipments cost: one per producer, each priced by its producer's rule for
//! the lines' weight and worth, to the order's province (`cart::shipping` writes the rule down).
//! A producer that does not deliver there refuses the whole order (`NOT_DELIVERABLE`), as the
//! cart's quote said it would.

use std::collections::BTreeMap;

use sea_orm::ConnectionTrait;

use super::pricing::PricedLine;
use crate::cart::quote::{Part, quote_parts};
use crate::cart::shipping::Fee;
use crate::infra::error::{AppResult, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::ProducerId;
use crate::infra::money::Fen;

/// Each producer's shipment fee, and their sum.
#[derive(Clone)]
pub(super) struct Shipping {
    pub fees: BTreeMap<ProducerId, Fen>,
    pub total: Fen,
}

impl Shipping {
    /// Nothing to ship (a pickup order).
    pub(super) fn none() -> Shipping {
        Shipping {
            fees: BTreeMap::new(),
            total: Fen::ZERO,
        }
    }
}

/// The fee of each producer's shipment of `lines` to `province`; `NOT_DELIVERABLE` on
/// `input.<address_field>` when a producer excludes the province.
pub(super) async fn shipping_of(
    db: &impl ConnectionTrait,
    lines: &[PricedLine],
    province: &str,
    address_field: &str,
) -> AppResult<Result<Shipping, UserError>> {
    let mut parts: BTreeMap<ProducerId, Part> = BTreeMap::new();
    for line in lines {
        let part = parts.entry(line.producer_id).or_default();
        part.add(line.variant.weight_grams, line.quantity, line.line_total)?;
    }
    let quote = quote_parts(db, &parts, province).await?;
    let mut fees = BTreeMap::new();
    for shipment in &quote.shipments {
        match shipment.fee {
            Fee::Deliverable(fee) => fees.insert(shipment.producer_id, fee),
            Fee::NotDeliverable => {
                return Ok(Err(UserError::new(
                    ErrorCode::NotDeliverable,
                    Message::new("not-delivered-to").with("province", province),
                )
                .on_field(&["input", address_field, "province"])));
            }
        };
    }
    Ok(Ok(Shipping {
        fees,
        total: quote.shipping,
    }))
}
