//! Checkout: the address book, the cart kept on the server, and placing an order from them.

use huakai::accounts::Role;
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::support::scenario::{PLACE, address, variants};
use crate::support::{Actor, Backend, TestApp};

mod addresses;
mod cart;
mod shipping;
mod shipping_fees;

pub const SAVE_ADDRESS: &str = "mutation($input: AddressInput!, $isDefault: Boolean, $addressId: ID) {
    saveAddress(input: $input, isDefault: $isDefault, addressId: $addressId) {
        address { id isDefault address { name city } }
        userErrors { field code message }
    }
}";

pub const SET_LINE: &str = "mutation($variantId: ID!, $quantity: Int!) {
    setCartLine(variantId: $variantId, quantity: $quantity) {
        cart { subtotal { amount } lines { quantity available lineTotal { amount } variant { id sku } } }
        userErrors { field code message }
    }
}";

pub const MY_CART: &str = "{ myCart { subtotal { amount } lines { quantity available unitPrice { amount } lineTotal { amount } variant { id } } } }";

/// An address in `city`, named `name`.
pub fn address_in(name: &str, city: &str) -> Value {
    let mut address = address();
    address["name"] = json!(name);
    address["city"] = json!(city);
    address
}

/// Saves an address for `actor`; its id.
pub async fn save_address(app: &TestApp, actor: &Actor, address: Value, is_default: Option<bool>) -> Value {
    let saved = app
        .query_as(
            actor,
            SAVE_ADDRESS,
            json!({ "input": address, "isDefault": is_default }),
        )
        .await;
    assert_eq!(saved["saveAddress"]["userErrors"], json!([]), "{saved}");
    saved["saveAddress"]["address"]["id"].clone()
}

/// The first variant of product `slug`: its id and availability.
pub async fn first_variant(app: &TestApp, slug: &str) -> (Value, i64) {
    let mut all: Vec<(String, (Value, i64))> = variants(app, slug).await.into_iter().collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all.remove(0).1
}

/// Puts `quantity` of `variant` in `actor`'s cart, which must work.
pub async fn set_line(app: &TestApp, actor: &Actor, variant: &Value, quantity: i32) -> Value {
    let set = app
        .query_as(actor, SET_LINE, json!({ "variantId": variant, "quantity": quantity }))
        .await;
    assert_eq!(set["setCartLine"]["userErrors"], json!([]), "{set}");
    set["setCartLine"]["cart"].clone()
}

/// Places an order of `input` (the idempotency key added) as `actor`: the whole payload.
pub async fn place(app: &TestApp, actor: &Actor, mut input: Value, key: &str) -> Value {
    input["idempotencyKey"] = json!(key);
    app.query_as(actor, PLACE, json!({ "input": input })).await["placeOrder"].clone()
}

pub async fn buyer(app: &TestApp, email: &str) -> Actor {
    app.user(email, Role::Buyer, None).await
}
