//! What a buyer asks for, checked before anything is written: where the lines come from (given,
//! or the cart) and where the order goes (an address, or one of the address book), each chosen
//! exactly once.

use std::collections::BTreeMap;

use sea_orm::ConnectionTrait;

use super::OrderRequest;
use crate::cart::address::{Address, check_address};
use crate::cart::{addresses, lines as cart};
use crate::infra::error::{AppResult, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::{SavedAddressId, StoreId, UserId, VariantId};
use crate::inventory::shelf;
use crate::orders::PaymentMethod;

pub use crate::orders::{MAX_LINES, MAX_QUANTITY};

pub struct LineRequest {
    pub variant_id: Option<VariantId>,
    pub quantity: i32,
}

/// Where an order's lines come from.
pub enum LineSource {
    Given(Vec<LineRequest>),
    /// The buyer's cart, emptied of them when the order is placed.
    Cart,
}

/// Where an order goes.
pub enum Destination {
    Address(Address),
    /// One of the buyer's saved addresses (`None`: an id that names none).
    Saved(Option<SavedAddressId>),
    /// Collected at a relief supermarket (到店自提; `None`: an id that names none).
    Pickup(Option<StoreId>),
}

/// The one choice made among `choices` (named by their input field), else INVALID_INPUT on
/// `input` naming them: an order takes its lines, and its destination, from exactly one field.
pub fn exactly_one<T>(choices: Vec<(&str, Option<T>)>) -> Result<T, UserError> {
    let names: Vec<String> = choices.iter().map(|(name, _)| (*name).to_owned()).collect();
    let mut chosen: Vec<T> = choices.into_iter().filter_map(|(_, choice)| choice).collect();
    if chosen.len() != 1 {
        return Err(UserError::new(
            ErrorCode::InvalidInput,
            Message::new("exactly-one-of").with("fields", names.join(", ")),
        )
        .on_field(&["input"]));
    }
    Ok(chosen.remove(0))
}

pub(super) fn invalid(path: &[&str], message: impl Into<Message>) -> UserError {
    UserError::new(ErrorCode::InvalidInput, message).on_field(path)
}

/// What the request's choices name.
pub(super) struct Resolved {
    pub lines: Vec<LineRequest>,
    /// The lines are the cart's, which the order empties of them.
    pub from_cart: bool,
    pub address: Address,
    /// The input field that named the address, where a problem with it is reported.
    pub address_field: &'static str,
    /// A pickup order's store (its address is the order's).
    pub pickup_store: Option<StoreId>,
}

/// The lines and the address the request names: the cart's lines now, the saved address if it
/// is the buyer's.
pub(super) async fn resolve(
    db: &impl ConnectionTrait,
    buyer_id: UserId,
    lines: LineSource,
    destination: Destination,
) -> AppResult<Result<Resolved, UserError>> {
    let from_cart = matches!(lines, LineSource::Cart);
    let lines = match lines {
        LineSource::Given(lines) => lines,
        LineSource::Cart => {
            let lines: Vec<LineRequest> = cart::lines_of(db, buyer_id)
                .await?
                .into_iter()
                .map(|line| LineRequest {
                    variant_id: Some(line.variant_id),
                    quantity: line.quantity,
                })
                .collect();
            if lines.is_empty() {
                return Ok(Err(invalid(&["input", "fromCart"], "cart-empty")));
            }
            lines
        }
    };
    let address_field = match destination {
        Destination::Address(_) => "shippingAddress",
        Destination::Saved(_) => "shippingAddressId",
        Destination::Pickup(_) => "pickupStoreId",
    };
    let mut pickup_store = None;
    let address = match destination {
        Destination::Address(address) => {
            if let Err((field, problem)) = check_address(&address) {
                return Ok(Err(invalid(&["input", "shippingAddress", field], problem)));
            }
            address
        }
        Destination::Saved(id) => {
            let saved = match id {
                Some(id) => addresses::by_id(db, id).await?.filter(|row| row.user_id == buyer_id),
                None => None,
            };
            match saved {
                Some(row) => Address::from(&row),
                None => {
                    return Ok(Err(UserError::new(ErrorCode::NotFound, "address-not-found")
                        .on_field(&["input", "shippingAddressId"])));
                }
            }
        }
        Destination::Pickup(id) => {
            let store = match id {
                Some(id) => shelf::pickup_point(db, id).await?,
                None => None,
            };
            let Some(store) = store else {
                return Ok(Err(
                    UserError::new(ErrorCode::NotFound, "store-not-found").on_field(&["input", "pickupStoreId"])
                ));
            };
            pickup_store = Some(store.id);
            // Collected at the counter: the store is where the order goes.
            Address {
                name: store.name,
                phone: String::new(),
                province: String::new(),
                city: String::new(),
                district: String::new(),
                line1: store.address,
                postal_code: None,
            }
        }
    };
    Ok(Ok(Resolved {
        lines,
        from_cart,
        address,
        address_field,
        pickup_store,
    }))
}

/// Checks the request's own fields but lines and address.
pub(super) fn check_request(request: &OrderRequest) -> Result<(), UserError> {
    let key_chars = request.idempotency_key.chars().count();
    if key_chars == 0 || key_chars > 100 {
        return Err(invalid(&["input", "idempotencyKey"], "idempotency-key-length"));
    }
    if let Some(code) = &request.referral_code
        && (code.is_empty() || code.len() > 64)
    {
        return Err(invalid(&["input", "referralCode"], "referral-code-length"));
    }
    if request.payment_method == PaymentMethod::OrganisationFund {
        return Err(invalid(&["input", "paymentMethod"], "organisation-fund-bulk-only"));
    }
    if request.payment_method == PaymentMethod::Cash {
        return Err(invalid(&["input", "paymentMethod"], "cash-at-the-counter-only"));
    }
    match request.remainder_method {
        None => {}
        Some(_) if request.payment_method != PaymentMethod::WelfareAllowance => {
            return Err(invalid(&["input", "remainderMethod"], "remainder-only-with-allowance"));
        }
        Some(PaymentMethod::WelfareAllowance | PaymentMethod::OrganisationFund | PaymentMethod::Cash) => {
            return Err(invalid(&["input", "remainderMethod"], "remainder-method-invalid"));
        }
        Some(_) => {}
    }
    Ok(())
}

/// The quantity wanted per variant, and the line it was first asked on: lines of the same
/// variant are one line, their quantities added up.
pub(super) fn wanted(lines: &[LineRequest]) -> Result<BTreeMap<VariantId, (i32, usize)>, UserError> {
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(invalid(
            &["input", "lines"],
            Message::new("order-line-count").with("max", MAX_LINES),
        ));
    }
    let mut wanted: BTreeMap<VariantId, (i32, usize)> = BTreeMap::new();
    for (index, line) in lines.iter().enumerate() {
        let at = index.to_string();
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(UserError::new(
                ErrorCode::InvalidQuantity,
                Message::new("quantity-range").with("max", MAX_QUANTITY),
            )
            .on_field(&["input", "lines", &at, "quantity"]));
        }
        let Some(variant_id) = line.variant_id else {
            return Err(UserError::new(ErrorCode::NotFound, "variant-not-found").on_field(&[
                "input",
                "lines",
                &at,
                "variantId",
            ]));
        };
        let entry = wanted.entry(variant_id).or_insert((0, index));
        entry.0 += line.quantity;
        if entry.0 > MAX_QUANTITY {
            return Err(UserError::new(
                ErrorCode::InvalidQuantity,
                Message::new("quantity-per-variant").with("max", MAX_QUANTITY),
            )
            .on_field(&["input", "lines", &at, "quantity"]));
        }
    }
    Ok(wanted)
}
