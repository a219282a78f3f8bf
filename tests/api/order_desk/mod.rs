//! The back office's order desk: shipping parcels with carriers, the operators' order list,
//! a grower's queue, and operators searching and disabling users.

use serde_json::{Value, json};

use crate::on_each_backend;
use crate::support::{Actor, Backend, TestApp};

mod listing;
mod shipping;
mod users;

const SHIP: &str = "mutation($id: ID!, $parcel: ID, $number: String!, $carrier: String) {
    markShipped(orderId: $id, shipmentId: $parcel, trackingNumber: $number, carrier: $carrier) {
        order { status shipments { id trackingNumber carrier trackingUrl } }
        userErrors { field code message } } }";

/// `markShipped` as `actor`: its payload.
async fn ship(
    app: &TestApp,
    actor: &Actor,
    order: &Value,
    parcel: Option<&Value>,
    number: &str,
    carrier: Option<&str>,
) -> Value {
    let vars = json!({ "id": order, "parcel": parcel, "number": number, "carrier": carrier });
    app.query_as(actor, SHIP, vars).await["markShipped"].clone()
}
