//! An order's lines priced: each variant on sale (and, paid by welfare allowance, listed in the
//! poverty-relief catalogue), at today's price or a live session's, and the subtotal.

use std::collections::{BTreeMap, HashMap};

use crate::cart::offers::Offer;
use crate::catalogue::entity::variant;
use crate::infra::error::{AppError, AppResult, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::{ProducerId, VariantId};
use crate::infra::money::Fen;
use crate::livestream::sessions::LiveOffer;
use crate::orders::PaymentMethod;

/// A line as it will be written.
#[derive(Clone)]
pub(super) struct PricedLine {
    pub variant: variant::Model,
    pub producer_id: ProducerId,
    pub quantity: i32,
    pub unit_price: Fen,
    pub line_total: Fen,
    /// Where the line was asked for (`input.lines.N`).
    pub at: String,
}

/// Prices every line wanted, in variant order; the first line that may not be sold is the
/// problem.
pub(super) fn price_lines(
    wanted: &BTreeMap<VariantId, (i32, usize)>,
    offers: &HashMap<VariantId, Offer>,
    session: &LiveOffer,
    payment_method: PaymentMethod,
) -> AppResult<Result<(Vec<PricedLine>, Fen), UserError>> {
    let mut lines = Vec::with_capacity(wanted.len());
    let mut subtotal = Fen::ZERO;
    for (variant_id, (quantity, index)) in wanted {
        let at = index.to_string();
        let Some(offer) = offers.get(variant_id) else {
            return Ok(Err(UserError::new(ErrorCode::NotFound, "variant-not-found")
                .on_field(&["input", "lines", &at, "variantId"])));
        };
        let variant = &offer.variant;
        if !offer.on_sale {
            return Ok(Err(UserError::new(
                ErrorCode::NotOnSale,
                Message::new("not-on-sale").with("product", offer.product_name.as_str()),
            )
            .on_field(&["input", "lines", &at, "variantId"])));
        }
        // Welfare money buys only what the poverty-relief catalogue (目录) lists.
        if payment_method == PaymentMethod::WelfareAllowance && !offer.in_catalogue {
            return Ok(Err(UserError::new(
                ErrorCode::NotEligible,
                Message::new("allowance-product-not-eligible").with("product", offer.product_name.as_str()),
            )
            .on_field(&["input", "lines", &at, "variantId"])));
        }
        let unit_price = session.price_of(variant.id).unwrap_or(variant.price_fen);
        let line_total = unit_price
            .checked_mul(i64::from(*quantity))
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("line total overflows")))?;
        subtotal = subtotal
            .checked_add(line_total)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order total overflows")))?;
        lines.push(PricedLine {
            variant: variant.clone(),
            producer_id: offer.producer_id,
            quantity: *quantity,
            unit_price,
            line_total,
            at,
        });
    }
    Ok(Ok((lines, subtotal)))
}
