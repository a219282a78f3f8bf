//! Placing an organisation's bulk order: `placeBulkOrder` (GraphQL input) and
//! `placeBulkOrderFromCsv` (the recipient list as an uploaded CSV file's text), for its admins.

use async_graphql::{Context, ID, InputObject, Object};

use crate::accounts::Role;
use crate::accounts::policy::{RoleGuard, viewer};
use crate::cart::address::Address;
use crate::checkout::bulk::{self, BulkOrderRequest, LinePlace, RecipientLine, VariantRef};
use crate::checkout::graphql::PlaceOrderPayload;
use crate::checkout::recipients_csv;
use crate::infra::graphql::global_id::{NodeType, decode_as};
use crate::orders::PaymentMethod;
use crate::shop::shop;
use crate::unions::graphql::{administered, no_organisation};

type Result<T> = async_graphql::Result<T>;

#[derive(InputObject)]
pub struct RecipientLineInput {
    name: String,
    phone: String,
    province: String,
    city: String,
    district: String,
    line1: String,
    variant_id: ID,
    quantity: i32,
}

#[derive(InputObject)]
pub struct BulkOrderInput {
    organisation_id: ID,
    /// Up to 2,000 lines; lines to the same person at the same address share a parcel per
    /// producer.
    recipients: Vec<RecipientLineInput>,
    /// Repeat it to retry safely: the same key from the same admin is the same order.
    idempotency_key: String,
    /// BANK_TRANSFER (the default) or ORGANISATION_FUND (paid from the fund at once).
    payment_method: Option<PaymentMethod>,
}

#[derive(Default)]
pub struct BulkCheckoutMutation;

/// Places the bulk order for the organisation `organisation_id` names, if the viewer
/// administers it.
async fn place(
    ctx: &Context<'_>,
    organisation_id: &ID,
    lines: Vec<RecipientLine>,
    idempotency_key: String,
    payment_method: Option<PaymentMethod>,
    organisation_field: &[&str],
) -> Result<PlaceOrderPayload> {
    let Some(organisation) = administered(ctx, organisation_id).await? else {
        return Ok(PlaceOrderPayload::refused(vec![
            no_organisation().on_field(organisation_field),
        ]));
    };
    let me = viewer(ctx).signed_in()?;
    let request = BulkOrderRequest {
        organisation_id: organisation.id,
        organisation_name: organisation.name,
        lines,
        idempotency_key,
        payment_method: payment_method.unwrap_or(PaymentMethod::BankTransfer),
    };
    Ok(match bulk::place_bulk(shop(ctx)?, me.user_id, request).await? {
        Ok(placed) => PlaceOrderPayload::placed(placed),
        Err(problems) => PlaceOrderPayload::refused(problems),
    })
}

#[Object]
impl BulkCheckoutMutation {
    /// Places one order for the organisation with a line per recipient (its admins): stock for
    /// every line, or none and every line that failed listed. One shipment per recipient and
    /// producer, each with an acceptance code.
    #[graphql(guard = "RoleGuard::any_of(&[Role::UnionAdmin, Role::Admin])")]
    async fn place_bulk_order(&self, ctx: &Context<'_>, input: BulkOrderInput) -> Result<PlaceOrderPayload> {
        let lines = input
            .recipients
            .into_iter()
            .enumerate()
            .map(|(index, line)| RecipientLine {
                place: LinePlace::Input(index),
                recipient: Address {
                    name: line.name,
                    phone: line.phone,
                    province: line.province,
                    city: line.city,
                    district: line.district,
                    line1: line.line1,
                    postal_code: None,
                },
                variant: VariantRef::Id(decode_as(&line.variant_id, NodeType::Variant)),
                quantity: line.quantity,
            })
            .collect();
        place(
            ctx,
            &input.organisation_id,
            lines,
            input.idempotency_key,
            input.payment_method,
            &["input", "organisationId"],
        )
        .await
    }

    /// `placeBulkOrder` with the recipient list as a CSV file's text (its admins): a header row
    /// (`name,phone,province,city,district,line1,sku,quantity`, or the Chinese 收件人, 电话, 省,
    /// 市, 区县, 详细地址, SKU, 数量), then a line per recipient. Problems name the CSV line.
    #[graphql(guard = "RoleGuard::any_of(&[Role::UnionAdmin, Role::Admin])")]
    async fn place_bulk_order_from_csv(
        &self,
        ctx: &Context<'_>,
        organisation_id: ID,
        csv: String,
        idempotency_key: String,
        payment_method: Option<PaymentMethod>,
    ) -> Result<PlaceOrderPayload> {
        // The organisation is checked first: who may not place for it learns nothing of the file.
        if administered(ctx, &organisation_id).await?.is_none() {
            return Ok(PlaceOrderPayload::refused(vec![no_organisation()]));
        }
        let lines = match recipients_csv::parse(&csv) {
            Ok(lines) => lines,
            Err(problems) => return Ok(PlaceOrderPayload::refused(problems)),
        };
        place(
            ctx,
            &organisation_id,
            lines,
            idempotency_key,
            payment_method,
            &["organisationId"],
        )
        .await
    }
}
