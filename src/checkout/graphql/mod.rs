//! Checkout's API: `placeOrder` and `cancelOrder` (here), and an organisation's bulk orders
//! (`bulk`). Each resolver parses its input, makes one call to checkout and shapes the answer.

pub mod bulk;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::accounts::graphql::ClientAddress;
use crate::accounts::policy::{RoleGuard, viewer};
use crate::cart::graphql::AddressInput;
use crate::checkout::cancel;
use crate::checkout::placing::{self, Destination, LineRequest, LineSource, OrderRequest, Placed, exactly_one};
use crate::infra::error::UserError;
use crate::infra::error_code::ErrorCode;
use crate::infra::graphql::global_id::{NodeType, decode_as};
use crate::orders::PaymentMethod;
use crate::orders::graphql::{Order, OrderLineInput, OrderPayload, not_found, order_to_change, shown};
use crate::payments::checkout::{Checkout, PaymentChannel};
use crate::shop::shop;

pub use bulk::BulkCheckoutMutation;

type Result<T> = async_graphql::Result<T>;

fn line_request(line: &OrderLineInput) -> LineRequest {
    LineRequest {
        variant_id: decode_as(&line.variant_id, NodeType::Variant),
        quantity: line.quantity,
    }
}

#[derive(InputObject)]
pub struct PlaceOrderInput {
    /// The lines; or `fromCart: true` for the cart's (exactly one of the two).
    pub lines: Option<Vec<OrderLineInput>>,
    /// Places the cart's lines, and empties the cart of them with the order.
    pub from_cart: Option<bool>,
    /// Where the order goes; or `shippingAddressId`, or `pickupStoreId` (exactly one of the
    /// three).
    pub shipping_address: Option<AddressInput>,
    /// One of the buyer's saved addresses (`User.addresses`).
    pub shipping_address_id: Option<ID>,
    /// Collected at this relief supermarket (到店自提): the units come off its shelf, no
    /// shipping is charged, and the order carries the code shown at the counter.
    pub pickup_store_id: Option<ID>,
    /// Repeat it to retry safely: the same key from the same buyer is the same order.
    pub idempotency_key: String,
    /// CARD when Stripe is set up, else BANK_TRANSFER.
    pub payment_method: Option<PaymentMethod>,
    /// With WELFARE_ALLOWANCE: how to pay what the allowance does not cover (without it, an
    /// allowance short of the total is INSUFFICIENT_ALLOWANCE).
    pub remainder_method: Option<PaymentMethod>,
    /// The livestream promo link's code.
    pub referral_code: Option<String>,
    /// Where the buyer pays from with WeChat Pay or Alipay paid directly: NATIVE (a QR code,
    /// the default), JSAPI (inside WeChat, with `payerOpenId`) or H5 (a phone's browser).
    pub payment_channel: Option<PaymentChannel>,
    /// The buyer's openid under the shop's AppID, for JSAPI.
    pub payer_open_id: Option<String>,
}

#[derive(SimpleObject)]
pub struct PlaceOrderPayload {
    order: Option<Order>,
    user_errors: Vec<UserError>,
}

impl PlaceOrderPayload {
    /// The order placed, seen whole by whoever placed it, with what went wrong starting its
    /// payment, if anything did.
    pub fn placed(placed: Placed) -> Self {
        PlaceOrderPayload {
            order: Some(Order::seen_whole(placed.order)),
            user_errors: placed.payment_problem.into_iter().collect(),
        }
    }

    pub fn refused(problems: Vec<UserError>) -> Self {
        PlaceOrderPayload {
            order: None,
            user_errors: problems,
        }
    }
}

#[derive(Default)]
pub struct CheckoutMutation;

#[Object]
impl CheckoutMutation {
    /// Places an order: every line's stock is held for all lines or none, until `reservedUntil`.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn place_order(&self, ctx: &Context<'_>, input: PlaceOrderInput) -> Result<PlaceOrderPayload> {
        let me = viewer(ctx).signed_in()?;
        let shop = shop(ctx)?;
        let payment_method = input.payment_method.unwrap_or(if shop.stripe().is_some() {
            PaymentMethod::Card
        } else {
            PaymentMethod::BankTransfer
        });
        // Online: through Stripe, or WeChat Pay and Alipay paid directly.
        let unavailable =
            |method: PaymentMethod| method.uses_stripe() && shop.stripe().is_none() && !shop.direct().takes(method);
        if unavailable(payment_method) || input.remainder_method.is_some_and(unavailable) {
            return Ok(PlaceOrderPayload::refused(vec![
                UserError::new(ErrorCode::PaymentsUnavailable, "online-payments-unavailable-use-bank")
                    .on_field(&["input", "paymentMethod"]),
            ]));
        }
        let lines = exactly_one(vec![
            (
                "lines",
                input
                    .lines
                    .map(|lines| LineSource::Given(lines.iter().map(line_request).collect())),
            ),
            ("fromCart", input.from_cart.filter(|yes| *yes).map(|_| LineSource::Cart)),
        ]);
        let destination = exactly_one(vec![
            (
                "shippingAddress",
                input
                    .shipping_address
                    .map(|address| Destination::Address(address.into())),
            ),
            (
                "shippingAddressId",
                input
                    .shipping_address_id
                    .map(|id| Destination::Saved(decode_as(&id, NodeType::SavedAddress))),
            ),
            (
                "pickupStoreId",
                input
                    .pickup_store_id
                    .map(|id| Destination::Pickup(decode_as(&id, NodeType::Store))),
            ),
        ]);
        let (lines, destination) = match (lines, destination) {
            (Ok(lines), Ok(destination)) => (lines, destination),
            (Err(problem), _) | (_, Err(problem)) => return Ok(PlaceOrderPayload::refused(vec![problem])),
        };
        let request = OrderRequest {
            lines,
            destination,
            idempotency_key: input.idempotency_key,
            payment_method,
            remainder_method: input.remainder_method,
            referral_code: input.referral_code,
            checkout: Checkout {
                channel: input.payment_channel.unwrap_or_default(),
                payer_openid: input.payer_open_id,
                payer_ip: ctx.data_opt::<ClientAddress>().and_then(|address| address.0),
            },
        };
        Ok(match placing::place(shop, me.user_id, request).await? {
            Ok(placed) => PlaceOrderPayload::placed(placed),
            Err(problem) => PlaceOrderPayload::refused(vec![problem]),
        })
    }

    /// Cancels an order not yet shipped (its buyer, or an operator): its stock is freed.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn cancel_order(&self, ctx: &Context<'_>, order_id: ID) -> Result<OrderPayload> {
        let Some((row, canceller)) = order_to_change(ctx, &order_id).await? else {
            return Ok(OrderPayload::failed(not_found()));
        };
        Ok(match cancel::cancel(shop(ctx)?, row.id, canceller).await? {
            Ok(row) => match shown(ctx, row).await? {
                Some(order) => OrderPayload::done(order),
                None => OrderPayload::failed(not_found()),
            },
            Err(problem) => OrderPayload::failed(problem),
        })
    }
}
