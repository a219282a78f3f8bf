//! The contract's "Grower payouts" section: the grower's `myProducer`, the operator's runs,
//! confirmations and views.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveEnum, ColumnTrait, EntityTrait, QueryFilter};

pub use super::account_objects::Balance;
use super::account_objects::Household;
use super::balances;
use super::entity::{earning, payout};
use super::policy::{HostMoney, ProducerMoney};
use super::statements::{self, NewMember};
use super::{EarningKind, PayoutStatus, payout_reference, runs};
use crate::accounts::Role;
use crate::accounts::policy::{RoleGuard, viewer};
use crate::catalogue::entity::producer;
use crate::catalogue::graphql::Producer;
use crate::infra::error::{AppError, AppResult, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::graphql::context::{database, wants_total_count};
use crate::infra::graphql::global_id::{NodeType, decode_as, encode};
use crate::infra::graphql::relay::{PageRequest, RelayConnection, connection};
use crate::infra::i18n::language_of;
use crate::infra::ids::{EarningId, PayoutId, ProducerId};
use crate::infra::money::{Fen, Money};
use crate::orders::entity::{order, order_line};
use crate::shop::shop;

type Result<T> = async_graphql::Result<T>;

/// A producer's money, as its growers and operators see it.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ProducerAccount {
    // Its after-sales claims lead to a domain above payouts: the schema adds that field
    // (`graphql::links`).
    #[graphql(flatten)]
    view: ProducerAccountView,
}

impl ProducerAccount {
    fn of(producer: producer::Model) -> ProducerAccount {
        ProducerAccount {
            view: ProducerAccountView(producer),
        }
    }

    pub fn producer_id(&self) -> ProducerId {
        self.view.0.id
    }
}

pub struct ProducerAccountView(producer::Model);

#[Object]
impl ProducerAccountView {
    async fn producer(&self) -> Producer {
        Producer(self.0.clone())
    }

    async fn balance(&self, ctx: &Context<'_>) -> Result<Balance> {
        Ok(balances::balance(database(ctx)?, self.0.id, Utc::now()).await?.into())
    }

    #[graphql(complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn payouts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<PayoutId, Payout>> {
        let page = PageRequest::new(first, after.as_deref())?;
        let (rows, total) =
            balances::list_payouts(database(ctx)?, Some(self.0.id), None, &page, wants_total_count(ctx)).await?;
        Ok(connection(rows, &page, total, |row| row.id, Payout))
    }

    /// Every ledger entry, newest first, each with the order line it came from.
    #[graphql(complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn earnings(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<EarningId, Earning>> {
        let page = PageRequest::new(first, after.as_deref())?;
        let (rows, total) = balances::list_earnings(database(ctx)?, self.0.id, &page, wants_total_count(ctx)).await?;
        Ok(connection(rows, &page, total, |row| row.id, Earning))
    }

    /// The orders with the producer's lines, newest first, of the given statuses: its growers'
    /// queue (PAID: to ship). A grower sees only its own lines of each.
    #[graphql(complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<Vec<crate::orders::OrderStatus>>,
    ) -> Result<RelayConnection<crate::orders::service::desk::OrderCursor, crate::orders::graphql::Order>> {
        crate::orders::graphql::producer_queue(ctx, self.0.id, first, after, status).await
    }

    /// A cooperative's member households (二次分配).
    #[graphql(
        complexity = "crate::infra::graphql::relay::list_complexity(statements::MAX_HOUSEHOLDS, child_complexity)"
    )]
    async fn households(&self, ctx: &Context<'_>) -> Result<Vec<Household>> {
        use super::entity::cooperative_member;
        let members = cooperative_member::Entity::find()
            .filter(cooperative_member::Column::ProducerId.eq(self.0.id))
            .all(database(ctx)?)
            .await
            .map_err(AppError::from)?;
        Ok(members
            .into_iter()
            .map(|m| Household {
                name: m.name,
                registered_poor: m.registered_poor,
                share_bps: m.share_bps,
            })
            .collect())
    }

    /// The month's earnings (`YYYY-MM`, China time) as CSV.
    async fn monthly_statement(&self, ctx: &Context<'_>, month: String) -> Result<String> {
        match balances::monthly_statement(database(ctx)?, self.0.id, &month, language_of(ctx)).await? {
            Ok(csv) => Ok(csv),
            Err(problem) => Err(AppError::BadInput(problem.message).into()),
        }
    }
}

pub struct Earning(earning::Model);

#[Object]
impl Earning {
    /// SALE for a delivered line, REVERSAL for money given back, RESHIP for a new parcel sent
    /// for an after-sales claim at the producer's cost, SHIPPING for a delivered parcel's fee,
    /// SHIPPING_REFUND for shipping given back.
    async fn kind(&self) -> EarningKind {
        self.0.kind
    }

    async fn amount(&self) -> Money {
        self.0.amount_fen.into()
    }

    async fn line_total(&self) -> Money {
        self.0.line_total_fen.into()
    }

    async fn platform_fee(&self) -> Money {
        self.0.platform_fee_fen.into()
    }

    async fn commission(&self) -> Money {
        self.0.commission_fen.into()
    }

    /// When it leaves `pending`.
    async fn available_at(&self) -> DateTime<Utc> {
        self.0.available_at
    }

    async fn order_number(&self, ctx: &Context<'_>) -> Result<String> {
        let row = order::Entity::find_by_id(self.0.order_id)
            .one(database(ctx)?)
            .await
            .map_err(AppError::from)?;
        Ok(row.map(|o| o.number).unwrap_or_default())
    }

    /// The order line it came from.
    async fn quantity(&self, ctx: &Context<'_>) -> Result<i32> {
        let line = order_line::Entity::find_by_id(self.0.order_line_id)
            .one(database(ctx)?)
            .await
            .map_err(AppError::from)?;
        Ok(line.map_or(0, |l| l.quantity))
    }

    async fn variant_sku(&self, ctx: &Context<'_>) -> Result<String> {
        use crate::catalogue::entity::variant;
        let line = order_line::Entity::find_by_id(self.0.order_line_id)
            .one(database(ctx)?)
            .await
            .map_err(AppError::from)?;
        let Some(line) = line else { return Ok(String::new()) };
        let variant = variant::Entity::find_by_id(line.variant_id)
            .one(database(ctx)?)
            .await
            .map_err(AppError::from)?;
        Ok(variant.map(|v| v.sku).unwrap_or_default())
    }

    async fn payout_id(&self) -> Option<ID> {
        self.0.payout_id.map(|id| encode(NodeType::Payout, id))
    }
}

pub struct Payout(pub payout::Model);

#[derive(SimpleObject)]
pub struct HouseholdShare {
    name: String,
    registered_poor: bool,
    amount: Money,
}

#[derive(SimpleObject)]
pub struct PayoutStatement {
    households: Vec<HouseholdShare>,
    /// What reached registered poor households (建档立卡贫困户).
    to_registered_poor: Money,
    /// What the cooperative keeps (the part no household's share covers).
    retained_by_cooperative: Money,
}

#[Object]
impl Payout {
    pub async fn id(&self) -> ID {
        encode(NodeType::Payout, self.0.id)
    }

    async fn amount(&self) -> Money {
        self.0.amount_fen.into()
    }

    async fn status(&self) -> PayoutStatus {
        self.0.status
    }

    /// "stripe_transfer" or "bank".
    async fn method(&self) -> String {
        self.0.method.to_value()
    }

    /// The bank batch it belongs to (`huakai payouts export BATCH_ID`).
    async fn batch_id(&self) -> Option<ID> {
        self.0.batch_id.map(|id| ID(id.to_string()))
    }

    /// What the bank shows next to the money.
    async fn reference(&self) -> String {
        self.0.reference.clone().unwrap_or_else(|| payout_reference(self.0.id))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }

    /// The producer paid (none when the payee is a host).
    async fn producer(&self, ctx: &Context<'_>) -> Result<Option<Producer>> {
        let Some(producer_id) = self.0.producer_id else {
            return Ok(None);
        };
        let row = producer::Entity::find_by_id(producer_id)
            .one(database(ctx)?)
            .await
            .map_err(AppError::from)?;
        Ok(Some(Producer(row.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("payout without its producer"))
        })?)))
    }

    /// A cooperative's payout shared among its member households.
    #[graphql(
        complexity = "crate::infra::graphql::relay::list_complexity(statements::MAX_HOUSEHOLDS, child_complexity)"
    )]
    async fn statement(&self, ctx: &Context<'_>) -> Result<PayoutStatement> {
        let parts = statements::statement(database(ctx)?, &self.0).await?;
        let shared: Fen = parts.iter().map(|p| p.amount_fen).sum();
        let to_poor: Fen = parts.iter().filter(|p| p.registered_poor).map(|p| p.amount_fen).sum();
        Ok(PayoutStatement {
            households: parts
                .into_iter()
                .map(|p| HouseholdShare {
                    name: p.name,
                    registered_poor: p.registered_poor,
                    amount: p.amount_fen.into(),
                })
                .collect(),
            to_registered_poor: to_poor.into(),
            retained_by_cooperative: (self.0.amount_fen - shared).into(),
        })
    }
}

#[derive(SimpleObject)]
pub struct RunPayoutsPayload {
    payouts: Vec<Payout>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct PayoutPayload {
    payout: Option<Payout>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct ProducerAccountPayload {
    account: Option<ProducerAccount>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct HouseholdInput {
    pub name: String,
    pub registered_poor: bool,
    pub share_bps: i32,
}

async fn producer_by_slug(ctx: &Context<'_>, slug: &str) -> AppResult<Option<producer::Model>> {
    Ok(producer::Entity::find()
        .filter(producer::Column::Slug.eq(slug))
        .one(database(ctx)?)
        .await?)
}

#[derive(Default)]
pub struct PayoutsQuery;

#[Object]
impl PayoutsQuery {
    /// The signed-in grower's producer: its balance, payouts and earnings.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower])")]
    async fn my_producer(&self, ctx: &Context<'_>) -> Result<Option<ProducerAccount>> {
        let Some(producer_id) = viewer(ctx).signed_in()?.producer_id else {
            return Ok(None);
        };
        let row = producer::Entity::find_by_id(producer_id)
            .one(database(ctx)?)
            .await
            .map_err(AppError::from)?;
        Ok(row.map(ProducerAccount::of))
    }

    /// Any producer's account (operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn producer_account(&self, ctx: &Context<'_>, slug: String) -> Result<Option<ProducerAccount>> {
        Ok(producer_by_slug(ctx, &slug).await?.map(ProducerAccount::of))
    }

    /// Payouts of every producer, newest first, optionally of one status (operators).
    #[graphql(
        guard = "RoleGuard::any_of(&[Role::Admin])",
        complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)"
    )]
    async fn payouts(
        &self,
        ctx: &Context<'_>,
        status: Option<PayoutStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<PayoutId, Payout>> {
        let page = PageRequest::new(first, after.as_deref())?;
        let (rows, total) = balances::list_payouts(database(ctx)?, None, status, &page, wants_total_count(ctx)).await?;
        Ok(connection(rows, &page, total, |row| row.id, Payout))
    }
}

#[derive(Default)]
pub struct PayoutsMutation;

#[Object]
impl PayoutsMutation {
    /// Pays every producer its available earnings as of `asOf` (default now), once (operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn run_payouts(&self, ctx: &Context<'_>, as_of: Option<DateTime<Utc>>) -> Result<RunPayoutsPayload> {
        let as_of = as_of.unwrap_or_else(Utc::now).min(Utc::now());
        let payouts = runs::run(shop(ctx)?, as_of).await?;
        Ok(RunPayoutsPayload {
            payouts: payouts.into_iter().map(Payout).collect(),
            user_errors: Vec::new(),
        })
    }

    /// The bank paid this line of a batch (operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn confirm_payout(&self, ctx: &Context<'_>, payout_id: ID, reference: String) -> Result<PayoutPayload> {
        let Some(id) = decode_as(&payout_id, NodeType::Payout) else {
            return Ok(PayoutPayload {
                payout: None,
                user_errors: vec![UserError::new(ErrorCode::NotFound, "payout-not-found").on_field(&["payoutId"])],
            });
        };
        Ok(match runs::confirm(database(ctx)?, id, &reference).await? {
            Ok(row) => PayoutPayload {
                payout: Some(Payout(row)),
                user_errors: Vec::new(),
            },
            Err(problem) => PayoutPayload {
                payout: None,
                user_errors: vec![problem],
            },
        })
    }

    /// Sets a cooperative's member households and their shares (its growers, or operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])")]
    async fn set_cooperative_members(
        &self,
        ctx: &Context<'_>,
        producer_slug: String,
        members: Vec<HouseholdInput>,
    ) -> Result<ProducerAccountPayload> {
        let not_found = || ProducerAccountPayload {
            account: None,
            user_errors: vec![UserError::new(ErrorCode::NotFound, "producer-not-found").on_field(&["producerSlug"])],
        };
        let Some(producer) = producer_by_slug(ctx, &producer_slug).await? else {
            return Ok(not_found());
        };
        viewer(ctx).authorize(ProducerMoney {
            producer_id: producer.id,
        })?;
        let members = members
            .into_iter()
            .map(|m| NewMember {
                name: m.name,
                registered_poor: m.registered_poor,
                share_bps: m.share_bps,
            })
            .collect();
        Ok(
            match statements::set_members(database(ctx)?, &producer, members).await? {
                Ok(_) => ProducerAccountPayload {
                    account: Some(ProducerAccount::of(producer)),
                    user_errors: Vec::new(),
                },
                Err(problem) => ProducerAccountPayload {
                    account: None,
                    user_errors: vec![problem],
                },
            },
        )
    }

    /// Where a producer's payouts go: a Stripe connected account (`acct_…`), else its bank
    /// account (operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn set_producer_payout_account(
        &self,
        ctx: &Context<'_>,
        producer_slug: String,
        stripe_account_id: Option<String>,
        bank_account_name: Option<String>,
        bank_account_number: Option<String>,
    ) -> Result<ProducerAccountPayload> {
        let Some(producer) = producer_by_slug(ctx, &producer_slug).await? else {
            return Ok(ProducerAccountPayload {
                account: None,
                user_errors: vec![
                    UserError::new(ErrorCode::NotFound, "producer-not-found").on_field(&["producerSlug"]),
                ],
            });
        };
        let outcome = statements::set_payout_account(
            database(ctx)?,
            producer,
            stripe_account_id,
            bank_account_name,
            bank_account_number,
        )
        .await?;
        Ok(match outcome {
            Ok(producer) => ProducerAccountPayload {
                account: Some(ProducerAccount::of(producer)),
                user_errors: Vec::new(),
            },
            Err(problem) => ProducerAccountPayload {
                account: None,
                user_errors: vec![problem],
            },
        })
    }
}

/// A payout through `node(id:)`: to its producer's growers and operators; null to anyone else.
pub async fn node(ctx: &Context<'_>, payout_id: PayoutId) -> AppResult<Option<Payout>> {
    let Some(row) = payout::Entity::find_by_id(payout_id).one(database(ctx)?).await? else {
        return Ok(None);
    };
    let visible = match (row.producer_id, row.host_id) {
        (Some(producer_id), _) => viewer(ctx).may(ProducerMoney { producer_id }),
        (None, Some(host_id)) => viewer(ctx).may(HostMoney { host_id }),
        (None, None) => false,
    };
    Ok(visible.then_some(Payout(row)))
}
