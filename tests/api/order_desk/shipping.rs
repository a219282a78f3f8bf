//! Parcels shipped with a carrier: each parcel of a bulk order under its own number, never
//! overwritten, with the carrier's tracking page.

use super::*;
use crate::support::scenario::{cast, pay_by_bank};
use crate::unions::bulk::{BULK, CAKES, LILY, bulk_input, line, stocked};
use crate::unions::organisation;

on_each_backend!(each_parcel_of_a_bulk_order_keeps_its_own_number_and_carrier);

async fn each_parcel_of_a_bulk_order_keeps_its_own_number_and_carrier(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let (lily, _) = stocked(&app, &cast.operator, LILY, 100).await;
    let (cakes, _) = stocked(&app, &cast.operator, CAKES, 100).await;
    let union = organisation(&app, &cast.operator, "株洲市总工会", "admin@union.example").await;
    // Two parcels of lilies (张三, 李四) from the grower's cooperative, one of cakes from another producer.
    let recipients = json!([
        line("张三", "13800000001", &lily, 2),
        line("张三", "13800000001", &cakes, 1),
        line("李四", "13800000002", &lily, 1),
    ]);
    let input = bulk_input(&union.id, recipients, "desk-parcels", "BANK_TRANSFER");
    let placed = app.query_as(&union.admin, BULK, input).await["placeBulkOrder"].clone();
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    let order = placed["order"]["id"].clone();
    let parcel = |name: &str, producer: &str| {
        placed["order"]["shipments"]
            .as_array()
            .expect("parcels")
            .iter()
            .find(|s| s["recipientName"] == name && s["producer"]["slug"] == producer)
            .unwrap_or_else(|| panic!("no parcel for {name} from {producer}: {placed}"))["id"]
            .clone()
    };
    let zhang_lily = parcel("张三", "sanwang-baihe-hezuoshe");
    let li_lily = parcel("李四", "sanwang-baihe-hezuoshe");
    let zhang_cakes = parcel("张三", "zhuting-kekou-shipin-jiagongchang");
    pay_by_bank(&app, &cast.operator, &order).await;

    // Two of the grower's parcels wait: one number cannot name both.
    let both = ship(&app, &cast.grower, &order, None, "SF100", Some("SF")).await;
    assert_eq!(both["userErrors"][0]["code"], "INVALID_INPUT", "{both}");
    assert_eq!(both["userErrors"][0]["field"], json!(["shipmentId"]));
    let unknown = ship(&app, &cast.grower, &order, Some(&zhang_lily), "SF100", Some("DHL")).await;
    assert_eq!(unknown["userErrors"][0]["code"], "INVALID_INPUT", "{unknown}");
    assert_eq!(unknown["userErrors"][0]["field"], json!(["carrier"]));
    // Another producer's parcel is not the grower's to ship.
    let not_mine = ship(&app, &cast.grower, &order, Some(&zhang_cakes), "SF100", Some("SF")).await;
    assert_eq!(not_mine["userErrors"][0]["code"], "NOT_FOUND", "{not_mine}");

    let first = ship(&app, &cast.grower, &order, Some(&zhang_lily), "SF100", Some("sf")).await;
    assert_eq!(first["userErrors"], json!([]), "{first}");
    assert_eq!(
        first["order"]["status"], "PARTIALLY_SHIPPED",
        "some parcels are on their way"
    );
    let second = ship(&app, &cast.grower, &order, Some(&li_lily), "ZTO200", Some("ZTO")).await;
    assert_eq!(second["userErrors"], json!([]), "{second}");
    // Shipping the first parcel again changes nothing: its number stays.
    let again = ship(&app, &cast.operator, &order, Some(&zhang_lily), "SF999", Some("SF")).await;
    assert_eq!(again["userErrors"][0]["code"], "NOT_SHIPPABLE", "{again}");
    // The last parcel waiting may go without naming it.
    let last = ship(&app, &cast.operator, &order, None, "YD300", Some("YUNDA")).await;
    assert_eq!(last["userErrors"], json!([]), "{last}");
    assert_eq!(last["order"]["status"], "SHIPPED");

    let parcels = last["order"]["shipments"].as_array().expect("parcels");
    let of = |id: &Value| parcels.iter().find(|s| &s["id"] == id).expect("parcel").clone();
    assert_eq!(
        of(&zhang_lily),
        json!({ "id": zhang_lily, "trackingNumber": "SF100", "carrier": "SF",
            "trackingUrl": "https://www.sf-express.com/chn/sc/waybill/waybill-detail/SF100" })
    );
    assert_eq!(
        of(&li_lily)["trackingUrl"],
        "https://www.zto.com/express/expressCheck.html?txtBill=ZTO200"
    );
    assert_eq!(
        (
            of(&zhang_cakes)["trackingNumber"].clone(),
            of(&zhang_cakes)["carrier"].clone()
        ),
        (json!("YD300"), json!("YUNDA"))
    );

    // A parcel through node(id:): to the operator, not to a grower of another producer's parcel.
    let node = "query($id: ID!) { node(id: $id) { ... on Shipment { trackingNumber carrier } } }";
    let seen = app.query_as(&cast.operator, node, json!({ "id": zhang_cakes })).await;
    assert_eq!(seen["node"]["carrier"], "YUNDA", "{seen}");
    let hidden = app.query_as(&cast.grower, node, json!({ "id": zhang_cakes })).await;
    assert_eq!(hidden["node"], Value::Null, "{hidden}");
    let own = app.query_as(&cast.grower, node, json!({ "id": li_lily })).await;
    assert_eq!(own["node"]["trackingNumber"], "ZTO200", "{own}");
}
