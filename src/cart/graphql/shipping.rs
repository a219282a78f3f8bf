//! Shipping in the API: `setShippingRule` (a producer's grower, or an operator) and
//! `Cart.quote`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::accounts::Role;
use crate::accounts::policy::{RoleGuard, viewer};
use crate::cart::address::{Address, check_address};
use crate::cart::addresses;
use crate::cart::quote as quoting;
use crate::cart::shipping::Fee;
use crate::cart::shipping_rules::{self, RuleInput};
use crate::catalogue::graphql::Producer;
use crate::catalogue::loaders::loader;
use crate::catalogue::policy::ManageCatalogue;
use crate::infra::error::{AppError, AppResult, UserError};
use crate::infra::graphql::context::database;
use crate::infra::graphql::global_id::{NodeType, decode_as};
use crate::infra::i18n::Message;
use crate::infra::ids::{ProducerId, SavedAddressId, UserId};
use crate::infra::money::{Fen, Money};

use super::AddressInput;
use crate::infra::error_code::ErrorCode;

type Result<T> = async_graphql::Result<T>;

#[derive(InputObject)]
pub struct ShippingRuleInput {
    /// What the first fee covers, in grams.
    pub first_weight_grams: i32,
    pub first_fee: String,
    /// For every kilogram or part of one beyond the first weight.
    pub extra_per_kg: String,
    /// The producer's part of an order worth this much or more ships free (but for surcharges).
    pub free_over: Option<String>,
    /// Not delivered to (`NOT_DELIVERABLE`); a name covers every province that begins with it.
    pub excluded_provinces: Option<Vec<String>>,
    pub surcharges: Option<Vec<ProvinceFeeInput>>,
}

#[derive(InputObject)]
pub struct ProvinceFeeInput {
    pub province: String,
    pub extra_fee: String,
}

#[derive(SimpleObject)]
pub struct ShippingRulePayload {
    user_errors: Vec<UserError>,
}

pub struct Quote(quoting::Quote);

#[Object]
impl Quote {
    async fn subtotal(&self) -> Money {
        self.0.subtotal.into()
    }

    /// The fees of the shipments that can be delivered.
    async fn shipping(&self) -> Money {
        self.0.shipping.into()
    }

    async fn total(&self) -> Money {
        Fen::new(self.0.subtotal.get() + self.0.shipping.get()).into()
    }

    /// One per producer.
    async fn shipments(&self) -> Vec<QuotedShipment> {
        self.0.shipments.iter().copied().map(QuotedShipment).collect()
    }

    /// Whether every producer delivers to the address (an order to it is NOT_DELIVERABLE
    /// otherwise).
    async fn deliverable(&self) -> bool {
        self.0.deliverable()
    }
}

pub struct QuotedShipment(quoting::QuotedShipment);

#[Object]
impl QuotedShipment {
    async fn producer(&self, ctx: &Context<'_>) -> Result<Producer> {
        let producer = loader(ctx)?
            .load_one(self.0.producer_id)
            .await
            .map_err(AppError::from)?;
        Ok(Producer(producer.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("a quoted shipment without its producer"))
        })?))
    }

    async fn weight_grams(&self) -> i32 {
        i32::try_from(self.0.weight_grams).unwrap_or(i32::MAX)
    }

    /// Zero when the producer does not deliver there (see `deliverable`).
    async fn fee(&self) -> Money {
        match self.0.fee {
            Fee::Deliverable(fee) => fee.into(),
            Fee::NotDeliverable => Fen::ZERO.into(),
        }
    }

    async fn deliverable(&self) -> bool {
        self.0.fee != Fee::NotDeliverable
    }
}

/// `Cart.quote`: the cart delivered to `address` or to the saved address `address_id`
/// (exactly one; else a BAD_USER_INPUT error).
pub async fn quote(
    ctx: &Context<'_>,
    user_id: UserId,
    address: Option<AddressInput>,
    address_id: Option<ID>,
) -> AppResult<Quote> {
    let db = database(ctx)?;
    let province = match (address, address_id) {
        (Some(address), None) => {
            let address = Address::from(address);
            if let Err((_, problem)) = check_address(&address) {
                return Err(AppError::BadInput(problem));
            }
            address.province
        }
        (None, Some(id)) => {
            let saved = match decode_as::<SavedAddressId>(&id, NodeType::SavedAddress) {
                Some(id) => addresses::by_id(db, id).await?.filter(|row| row.user_id == user_id),
                None => None,
            };
            match saved {
                Some(row) => row.province,
                None => return Err(AppError::BadInput(Message::new("address-not-found"))),
            }
        }
        _ => {
            return Err(AppError::BadInput(
                Message::new("exactly-one-of").with("fields", "address, addressId"),
            ));
        }
    };
    Ok(Quote(quoting::quote_cart(db, user_id, &province).await?))
}

#[derive(Default)]
pub struct ShippingMutation;

#[Object]
impl ShippingMutation {
    /// Sets a producer's shipping rule, replacing the one it had (its grower, or an operator).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])")]
    async fn set_shipping_rule(
        &self,
        ctx: &Context<'_>,
        producer_id: ID,
        input: ShippingRuleInput,
    ) -> Result<ShippingRulePayload> {
        let not_found = || ShippingRulePayload {
            user_errors: vec![UserError::new(ErrorCode::NotFound, "producer-not-found").on_field(&["producerId"])],
        };
        let Some(producer_id) = decode_as::<ProducerId>(&producer_id, NodeType::Producer) else {
            return Ok(not_found());
        };
        if loader(ctx)?
            .load_one(producer_id)
            .await
            .map_err(AppError::from)?
            .is_none()
        {
            return Ok(not_found());
        }
        viewer(ctx).authorize(ManageCatalogue { producer_id })?;
        let input = RuleInput {
            first_weight_grams: input.first_weight_grams,
            first_fee: input.first_fee,
            extra_per_kg: input.extra_per_kg,
            free_over: input.free_over,
            excluded_provinces: input.excluded_provinces.unwrap_or_default(),
            surcharges: input
                .surcharges
                .unwrap_or_default()
                .into_iter()
                .map(|surcharge| (surcharge.province, surcharge.extra_fee))
                .collect(),
        };
        let outcome = shipping_rules::set_rule(database(ctx)?, producer_id, &input).await?;
        Ok(ShippingRulePayload {
            user_errors: outcome.err().into_iter().collect(),
        })
    }
}
