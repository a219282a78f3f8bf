//! The contract's "After-sales claims" section: the `Claim` object, the four mutations, the
//! operators' queue and claim rates; `Order.claims` and `ProducerAccount.claims` call in here.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Upload};
use chrono::{DateTime, Utc};

use super::entity::claim;
use super::policy::{DecideClaim, EscalateClaim, ReadClaim, RespondToClaim};
use super::service::deciding::{self, Decider, Decision};
use super::service::opening::{self, ClaimRequest};
use super::service::{find, photos, views};
use super::{ClaimDecision, ClaimReason, ClaimStatus};
use crate::accounts::Role;
use crate::accounts::policy::{RoleGuard, viewer};
use crate::catalogue::graphql::Producer;
use crate::catalogue::loaders::loader;
use crate::infra::error::{AppError, AppResult, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::graphql::context::{database, wants_total_count};
use crate::infra::graphql::global_id::{NodeType, decode_as, encode};
use crate::infra::graphql::relay::{PageRequest, RelayConnection, connection};
use crate::infra::ids::{ClaimId, OrderId, ProducerId};
use crate::infra::images::graphql::Image;
use crate::infra::money::{Fen, Money};
use crate::infra::storage::BlobKey;
use crate::orders::graphql::{Order, OrderLineInput, visible_order_row};
use crate::orders::policy::ChangeOrder;
use crate::shop::shop;

type Result<T> = async_graphql::Result<T>;

pub struct Claim(claim::Model);

#[Object]
impl Claim {
    pub async fn id(&self) -> ID {
        encode(NodeType::Claim, self.0.id)
    }

    async fn order(&self, ctx: &Context<'_>) -> Result<Order> {
        crate::orders::graphql::node(ctx, self.0.order_id)
            .await?
            .ok_or_else(|| AppError::Forbidden.into())
    }

    async fn status(&self) -> ClaimStatus {
        self.0.status
    }

    async fn reason(&self) -> ClaimReason {
        self.0.reason
    }

    /// What was refunded, once a refund is decided.
    async fn amount(&self) -> Option<Money> {
        self.0.amount_fen.map(|fen| fen.into())
    }

    /// What the claimed units cost: the refund asked for.
    async fn asked(&self) -> Money {
        self.0.asked_fen.into()
    }

    /// The last decision, the grower's or an operator's.
    async fn decision(&self) -> Option<ClaimDecision> {
        self.0.decision
    }

    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// The grower's or the operator's reason.
    async fn response_note(&self) -> Option<&str> {
        self.0.response_note.as_deref()
    }

    /// Unanswered by then, the claim is refunded as asked.
    async fn respond_by(&self) -> DateTime<Utc> {
        self.0.respond_by
    }

    /// The photos the buyer sent, in their order.
    async fn photos(&self, ctx: &Context<'_>) -> Result<Vec<Image>> {
        let rows = photos::of_claim(database(ctx)?, self.0.id).await?;
        Ok(rows.into_iter().filter_map(image).collect())
    }

    async fn opened_at(&self) -> DateTime<Utc> {
        self.0.opened_at
    }

    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
}

#[derive(SimpleObject)]
pub struct ClaimPayload {
    claim: Option<Claim>,
    user_errors: Vec<UserError>,
}

impl ClaimPayload {
    fn of(outcome: std::result::Result<claim::Model, UserError>) -> ClaimPayload {
        match outcome {
            Ok(row) => ClaimPayload {
                claim: Some(Claim(row)),
                user_errors: Vec::new(),
            },
            Err(problem) => ClaimPayload {
                claim: None,
                user_errors: vec![problem],
            },
        }
    }
}

#[derive(InputObject)]
pub struct ClaimInput {
    order_id: ID,
    lines: Vec<OrderLineInput>,
    reason: ClaimReason,
    note: Option<String>,
    /// Up to 6 pictures (JPEG, PNG or WebP), sent as a GraphQL multipart request.
    photos: Option<Vec<Upload>>,
}

/// A producer's claims and delivered orders over the last 90 days (operators).
#[derive(SimpleObject)]
pub struct ClaimRate {
    producer: Producer,
    claims: u64,
    delivered_orders: u64,
}

/// A stored photo as an `Image`; a row whose keys no longer parse is left out.
fn image(row: super::entity::claim_photo::Model) -> Option<Image> {
    let keys = [row.thumbnail_key, row.medium_key, row.large_key].map(|key| BlobKey::parse(&key).ok());
    let [Some(thumbnail), Some(medium), Some(large)] = keys else {
        return None;
    };
    Some(Image {
        width: u32::try_from(row.width).ok()?,
        height: u32::try_from(row.height).ok()?,
        keys: [thumbnail, medium, large],
        alt: None,
    })
}

fn not_found() -> UserError {
    UserError::new(ErrorCode::NotFound, "claim-not-found").on_field(&["claimId"])
}

fn read(row: &claim::Model, buyer_id: crate::infra::ids::UserId) -> ReadClaim {
    ReadClaim {
        opened_by: row.opened_by,
        buyer_id,
        producer_id: row.producer_id,
    }
}

/// The claim `id` names with its order's buyer, if the viewer may see it.
async fn visible_claim(ctx: &Context<'_>, id: &ID) -> AppResult<Option<(claim::Model, crate::infra::ids::UserId)>> {
    let Some(claim_id) = decode_as::<ClaimId>(id, NodeType::Claim) else {
        return Ok(None);
    };
    let db = database(ctx)?;
    let Some(row) = find(db, claim_id).await? else {
        return Ok(None);
    };
    let order = crate::orders::service::state::find(db, row.order_id).await?;
    Ok(viewer(ctx)
        .may(read(&row, order.buyer_id))
        .then_some((row, order.buyer_id)))
}

fn parse_amount(amount: Option<&str>) -> std::result::Result<Option<Fen>, UserError> {
    amount
        .map(|text| {
            Fen::parse_yuan(text)
                .map_err(|e| UserError::new(ErrorCode::InvalidInput, e.message()).on_field(&["amount"]))
        })
        .transpose()
}

async fn decided(
    ctx: &Context<'_>,
    claim_id: &ID,
    by: Decider,
    decision: ClaimDecision,
    amount: Option<String>,
    note: Option<String>,
) -> Result<ClaimPayload> {
    let Some((row, _)) = visible_claim(ctx, claim_id).await? else {
        return Ok(ClaimPayload::of(Err(not_found())));
    };
    match by {
        Decider::Operator => viewer(ctx).authorize(DecideClaim)?,
        _ => viewer(ctx).authorize(RespondToClaim {
            producer_id: row.producer_id,
        })?,
    };
    let amount = match parse_amount(amount.as_deref()) {
        Ok(amount) => amount,
        Err(problem) => return Ok(ClaimPayload::of(Err(problem))),
    };
    let decision = Decision { decision, amount, note };
    Ok(ClaimPayload::of(
        deciding::decide(shop(ctx)?, row.id, by, decision).await?,
    ))
}

#[derive(Default)]
pub struct ClaimsMutation;

#[Object]
impl ClaimsMutation {
    /// The buyer claims units of a delivered order, within the claim window.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn open_claim(&self, ctx: &Context<'_>, input: ClaimInput) -> Result<ClaimPayload> {
        let Some(order) = visible_order_row(ctx, &input.order_id).await? else {
            return Ok(ClaimPayload::of(Err(UserError::new(
                ErrorCode::NotFound,
                "order-not-found",
            )
            .on_field(&["input", "orderId"]))));
        };
        let me = viewer(ctx).authorize(ChangeOrder {
            buyer_id: order.buyer_id,
            organisation_admin_ids: &[],
        })?;
        let request = ClaimRequest {
            order_id: order.id,
            lines: input
                .lines
                .iter()
                .map(|line| (decode_as(&line.variant_id, NodeType::Variant), line.quantity))
                .collect(),
            reason: input.reason,
            note: input.note,
            photos: input
                .photos
                .unwrap_or_default()
                .iter()
                .map(|upload| upload.value(ctx).map(|file| file.content))
                .collect::<std::io::Result<_>>()
                .map_err(|error| async_graphql::Error::new(error.to_string()))?,
        };
        Ok(ClaimPayload::of(opening::open(shop(ctx)?, me.user_id, request).await?))
    }

    /// The lines' grower answers a claim.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower])")]
    async fn respond_to_claim(
        &self,
        ctx: &Context<'_>,
        claim_id: ID,
        decision: ClaimDecision,
        amount: Option<String>,
        note: Option<String>,
    ) -> Result<ClaimPayload> {
        decided(ctx, &claim_id, Decider::Grower, decision, amount, note).await
    }

    /// The buyer puts a grower's rejection to an operator.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn escalate_claim(&self, ctx: &Context<'_>, claim_id: ID) -> Result<ClaimPayload> {
        let Some((row, buyer_id)) = visible_claim(ctx, &claim_id).await? else {
            return Ok(ClaimPayload::of(Err(not_found())));
        };
        viewer(ctx).authorize(EscalateClaim {
            opened_by: row.opened_by,
            buyer_id,
        })?;
        Ok(ClaimPayload::of(deciding::escalate(shop(ctx)?, row.id).await?))
    }

    /// An operator decides a claim, finally.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn decide_claim(
        &self,
        ctx: &Context<'_>,
        claim_id: ID,
        decision: ClaimDecision,
        amount: Option<String>,
        note: Option<String>,
    ) -> Result<ClaimPayload> {
        decided(ctx, &claim_id, Decider::Operator, decision, amount, note).await
    }
}

#[derive(Default)]
pub struct ClaimsQuery;

#[Object]
impl ClaimsQuery {
    /// Every claim, newest first (operators).
    #[graphql(
        guard = "RoleGuard::any_of(&[Role::Admin])",
        complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)"
    )]
    async fn claims(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<Vec<ClaimStatus>>,
    ) -> Result<RelayConnection<ClaimId, Claim>> {
        queue(ctx, None, first, after, status).await
    }

    /// Each producer's claims per delivered order over the last 90 days, most first
    /// (operators): a producer with many claims needs a visit, not a refund button.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn claim_rates(&self, ctx: &Context<'_>) -> Result<Vec<ClaimRate>> {
        let rates = views::claim_rates(database(ctx)?, Utc::now()).await?;
        let producers = loader(ctx)?
            .load_many(rates.iter().map(|rate| rate.producer_id))
            .await
            .map_err(AppError::from)?;
        Ok(rates
            .into_iter()
            .filter_map(|rate| {
                producers.get(&rate.producer_id).map(|producer| ClaimRate {
                    producer: Producer(producer.clone()),
                    claims: rate.claims,
                    delivered_orders: rate.delivered_orders,
                })
            })
            .collect())
    }
}

/// A page of claims, newest first: of one producer (its queue) or all (operators).
pub async fn queue(
    ctx: &Context<'_>,
    producer_id: Option<ProducerId>,
    first: Option<i32>,
    after: Option<String>,
    status: Option<Vec<ClaimStatus>>,
) -> Result<RelayConnection<ClaimId, Claim>> {
    let page = PageRequest::new(first, after.as_deref())?;
    let statuses = status.unwrap_or_default();
    let (rows, total) = views::queue(database(ctx)?, producer_id, &statuses, &page, wants_total_count(ctx)).await?;
    Ok(connection(rows, &page, total, |row| row.id, Claim))
}

/// `Order.claims`: the order's claims, to a grower only those on its own lines.
pub async fn of_order(ctx: &Context<'_>, order_id: OrderId, only_producer: Option<ProducerId>) -> Result<Vec<Claim>> {
    Ok(views::of_order(database(ctx)?, order_id)
        .await?
        .into_iter()
        .filter(|row| only_producer.is_none_or(|producer| row.producer_id == producer))
        .map(Claim)
        .collect())
}

/// A claim through `node(id:)`: null to anyone who may not see it.
pub async fn node(ctx: &Context<'_>, claim_id: ClaimId) -> AppResult<Option<Claim>> {
    Ok(visible_claim(ctx, &encode(NodeType::Claim, claim_id))
        .await?
        .map(|(row, _)| Claim(row)))
}
