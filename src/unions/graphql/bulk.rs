//! Bulk orders and their acceptance (履约验收): `placeBulkOrder` (GraphQL input),
//! `placeBulkOrderFromCsv` (the recipient list as an uploaded CSV file's text), `acceptShipment`
//! (anyone holding a shipment's code), and the operators' list of reported problems.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{administered, no_organisation};
use crate::accounts::Role;
use crate::accounts::policy::{RoleGuard, viewer};
use crate::infra::error::UserError;
use crate::infra::graphql::context::{database, wants_total_count};
use crate::infra::graphql::global_id::{NodeType, decode_as};
use crate::infra::graphql::relay::{PageRequest, RelayConnection, connection};
use crate::infra::ids::OrganisationId;
use crate::infra::ids::ShipmentId;
use crate::orders::PaymentMethod;
use crate::orders::entity::shipment;
use crate::orders::graphql::{Order, PlaceOrderPayload, Shipment};
use crate::orders::service::bulk::{self, BulkOrderRequest, LinePlace, RecipientLine, VariantRef};
use crate::orders::service::placing::Address;
use crate::orders::service::{acceptance, recipients_csv};
use crate::shop::shop;

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

#[derive(SimpleObject)]
pub struct AcceptancePayload {
    /// Whether the shipment now stands accepted (false: the problem was recorded).
    accepted: Option<bool>,
    user_errors: Vec<UserError>,
}

/// How far an organisation's bulk orders are accepted by their recipients.
#[derive(SimpleObject)]
pub struct AcceptanceProgress {
    /// Shipments of its paid bulk orders.
    shipments: u64,
    accepted: u64,
    /// Not accepted, with a problem reported.
    with_problems: u64,
}

impl From<acceptance::Progress> for AcceptanceProgress {
    fn from(progress: acceptance::Progress) -> Self {
        AcceptanceProgress {
            shipments: progress.shipments,
            accepted: progress.accepted,
            with_problems: progress.with_problems,
        }
    }
}

/// A bulk-order shipment whose recipient reported a problem not yet resolved.
pub struct AcceptanceProblem(shipment::Model);

#[Object]
impl AcceptanceProblem {
    async fn shipment(&self) -> Shipment {
        Shipment::whole(self.0.clone())
    }

    async fn order(&self, ctx: &Context<'_>) -> Result<Option<Order>> {
        Ok(crate::orders::graphql::node(ctx, self.0.order_id).await?)
    }

    async fn note(&self) -> Option<&str> {
        self.0.problem_note.as_deref()
    }

    async fn reported_at(&self) -> Option<DateTime<Utc>> {
        self.0.problem_at
    }
}

/// A page of reported problems, for an organisation's admins or the operators.
pub(super) async fn problems_page(
    ctx: &Context<'_>,
    organisation_id: Option<OrganisationId>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<RelayConnection<ShipmentId, AcceptanceProblem>> {
    let page = PageRequest::new(first, after.as_deref())?;
    let (rows, total) =
        acceptance::open_problems(database(ctx)?, organisation_id, &page, wants_total_count(ctx)).await?;
    Ok(connection(rows, &page, total, |row| row.id, AcceptanceProblem))
}

#[derive(Default)]
pub struct BulkOrdersQuery;

#[Object]
impl BulkOrdersQuery {
    /// Bulk-order shipments whose recipients reported a problem, newest first (operators).
    #[graphql(
        guard = "RoleGuard::any_of(&[Role::Admin])",
        complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)"
    )]
    async fn acceptance_problems(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<ShipmentId, AcceptanceProblem>> {
        problems_page(ctx, None, first, after).await
    }
}

#[derive(Default)]
pub struct BulkOrdersMutation;

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
impl BulkOrdersMutation {
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

    /// Accepts a bulk-order shipment, or reports a problem with it (`accepted: false` and a
    /// note): anyone holding its code, signed in or not.
    async fn accept_shipment(
        &self,
        ctx: &Context<'_>,
        code: String,
        accepted: bool,
        note: Option<String>,
    ) -> Result<AcceptancePayload> {
        Ok(
            match crate::claims::service::parcels::answer(shop(ctx)?, &code, accepted, note.as_deref()).await? {
                Ok(accepted) => AcceptancePayload {
                    accepted: Some(accepted),
                    user_errors: Vec::new(),
                },
                Err(problem) => AcceptancePayload {
                    accepted: None,
                    user_errors: vec![problem],
                },
            },
        )
    }
}
