//! The contract's "Checkout" section, buyer's side: `myCart`, `setCartLine`, the address book
//! (`saveAddress`, `deleteAddress`, `User.addresses`) and the address types orders show too.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::address::Address;
use super::addresses::{self, Saving};
use super::entity::saved_address;
use super::lines::{self, LiveLine};
use super::policy::ReadAddress;
use crate::accounts::policy::{RoleGuard, viewer};
use crate::catalogue::graphql::Variant;
use crate::infra::error::{AppResult, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::graphql::context::database;
use crate::infra::graphql::global_id::{NodeType, decode_as, encode};
use crate::infra::ids::{SavedAddressId, UserId};
use crate::infra::money::Money;

mod shipping;

pub use shipping::ShippingMutation;

type Result<T> = async_graphql::Result<T>;

#[derive(SimpleObject)]
pub struct ShippingAddress {
    pub name: String,
    pub phone: String,
    pub province: String,
    pub city: String,
    pub district: String,
    pub line1: String,
    pub postal_code: Option<String>,
}

impl From<Address> for ShippingAddress {
    fn from(address: Address) -> ShippingAddress {
        ShippingAddress {
            name: address.name,
            phone: address.phone,
            province: address.province,
            city: address.city,
            district: address.district,
            line1: address.line1,
            postal_code: address.postal_code,
        }
    }
}

#[derive(InputObject)]
pub struct AddressInput {
    pub name: String,
    pub phone: String,
    pub province: String,
    pub city: String,
    pub district: String,
    pub line1: String,
    pub postal_code: Option<String>,
}

impl From<AddressInput> for Address {
    fn from(input: AddressInput) -> Address {
        Address {
            name: input.name,
            phone: input.phone,
            province: input.province,
            city: input.city,
            district: input.district,
            line1: input.line1,
            postal_code: input.postal_code,
        }
    }
}

/// An address in the signed-in user's address book.
pub struct SavedAddress(saved_address::Model);

#[Object]
impl SavedAddress {
    pub async fn id(&self) -> ID {
        encode(NodeType::SavedAddress, self.0.id)
    }

    async fn address(&self) -> ShippingAddress {
        Address::from(&self.0).into()
    }

    /// What `placeOrder` suggests first; one per user at most.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }
}

/// A user's addresses (the caller has checked the viewer may see that user).
pub async fn addresses_of(ctx: &Context<'_>, user_id: UserId) -> AppResult<Vec<SavedAddress>> {
    Ok(addresses::of_user(database(ctx)?, user_id)
        .await?
        .into_iter()
        .map(SavedAddress)
        .collect())
}

/// A saved address through `node(id:)`: null to anyone but its user and operators (who
/// support buyers; they never change a buyer's book).
pub async fn node(ctx: &Context<'_>, id: SavedAddressId) -> AppResult<Option<SavedAddress>> {
    let Some(row) = addresses::by_id(database(ctx)?, id).await? else {
        return Ok(None);
    };
    Ok(viewer(ctx)
        .may(ReadAddress { owner: row.user_id })
        .then_some(SavedAddress(row)))
}

/// The signed-in user's cart, read live when asked.
pub struct Cart {
    pub(crate) user_id: UserId,
}

#[Object]
impl Cart {
    /// Oldest first, each at today's price.
    #[graphql(
        complexity = "crate::infra::graphql::relay::list_complexity(lines::MAX_LINES as usize, child_complexity)"
    )]
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<CartLine>> {
        let (live, _) = lines::live(database(ctx)?, self.user_id).await?;
        Ok(live.into_iter().map(CartLine).collect())
    }

    /// What the lines cost today, before shipping.
    async fn subtotal(&self, ctx: &Context<'_>) -> Result<Money> {
        let (_, subtotal) = lines::live(database(ctx)?, self.user_id).await?;
        Ok(subtotal.into())
    }

    /// The cart delivered to an address, or to one of the address book (exactly one): the
    /// subtotal, each producer's shipment with its weight and fee, and the total.
    async fn quote(
        &self,
        ctx: &Context<'_>,
        address: Option<AddressInput>,
        address_id: Option<ID>,
    ) -> Result<shipping::Quote> {
        Ok(shipping::quote(ctx, self.user_id, address, address_id).await?)
    }
}

pub struct CartLine(LiveLine);

#[Object]
impl CartLine {
    async fn variant(&self) -> Variant {
        Variant(self.0.offer.variant.clone())
    }

    async fn quantity(&self) -> i32 {
        self.0.line.quantity
    }

    /// Today's price.
    async fn unit_price(&self) -> Money {
        self.0.unit_price.into()
    }

    async fn line_total(&self) -> Money {
        self.0.line_total.into()
    }

    /// Whether the line can be ordered as it is now: on sale, with stock for its quantity.
    async fn available(&self) -> bool {
        self.0.available
    }
}

#[derive(SimpleObject)]
pub struct CartPayload {
    cart: Option<Cart>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct AddressPayload {
    address: Option<SavedAddress>,
    user_errors: Vec<UserError>,
}

impl AddressPayload {
    fn of(outcome: std::result::Result<saved_address::Model, UserError>) -> AddressPayload {
        match outcome {
            Ok(row) => AddressPayload {
                address: Some(SavedAddress(row)),
                user_errors: Vec::new(),
            },
            Err(problem) => AddressPayload {
                address: None,
                user_errors: vec![problem],
            },
        }
    }
}

#[derive(Default)]
pub struct CartQuery;

#[Object]
impl CartQuery {
    /// The signed-in user's cart (empty until something is put in it).
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn my_cart(&self, ctx: &Context<'_>) -> Result<Cart> {
        let me = viewer(ctx).signed_in()?;
        Ok(Cart { user_id: me.user_id })
    }
}

#[derive(Default)]
pub struct CartMutation;

#[Object]
impl CartMutation {
    /// Puts `quantity` units of a variant in the signed-in user's cart (0 removes the line).
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn set_cart_line(&self, ctx: &Context<'_>, variant_id: ID, quantity: i32) -> Result<CartPayload> {
        let me = viewer(ctx).signed_in()?;
        let variant_id = decode_as(&variant_id, NodeType::Variant);
        Ok(
            match lines::set_line(database(ctx)?, me.user_id, variant_id, quantity).await? {
                Ok(()) => CartPayload {
                    cart: Some(Cart { user_id: me.user_id }),
                    user_errors: Vec::new(),
                },
                Err(problem) => CartPayload {
                    cart: None,
                    user_errors: vec![problem],
                },
            },
        )
    }

    /// Saves an address in the signed-in user's address book, or changes one of theirs
    /// (`addressId`). `isDefault: true` makes it the default; left out, a user's first address
    /// becomes the default.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn save_address(
        &self,
        ctx: &Context<'_>,
        input: AddressInput,
        is_default: Option<bool>,
        address_id: Option<ID>,
    ) -> Result<AddressPayload> {
        let me = viewer(ctx).signed_in()?;
        let existing = match address_id {
            None => None,
            Some(id) => match decode_as::<SavedAddressId>(&id, NodeType::SavedAddress) {
                Some(id) => Some(id),
                None => return Ok(AddressPayload::of(Err(address_not_found()))),
            },
        };
        let saving = Saving {
            user_id: me.user_id,
            existing,
            address: input.into(),
            is_default,
        };
        Ok(AddressPayload::of(addresses::save(database(ctx)?, saving).await?))
    }

    /// Removes an address from the signed-in user's address book; the user's oldest remaining
    /// address becomes the default if this one was.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn delete_address(&self, ctx: &Context<'_>, address_id: ID) -> Result<AddressPayload> {
        let me = viewer(ctx).signed_in()?;
        let Some(id) = decode_as::<SavedAddressId>(&address_id, NodeType::SavedAddress) else {
            return Ok(AddressPayload::of(Err(address_not_found())));
        };
        Ok(AddressPayload::of(
            addresses::delete(database(ctx)?, me.user_id, id).await?,
        ))
    }
}

fn address_not_found() -> UserError {
    UserError::new(ErrorCode::NotFound, "address-not-found").on_field(&["addressId"])
}
