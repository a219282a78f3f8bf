//! The contract's "Livestream hosts" section: the queries and mutations (here), hosts, links,
//! plans and commissions as objects (`objects`), and live sessions with their stock
//! subscription (`sessions`).

mod objects;
mod subscription;

pub use objects::{Host, HostAccount, PromoLink, host_node, promo_link_node};
pub use objects::{LiveSession, LiveSessionItem, live_session_item_node, live_session_node};
pub use subscription::LivestreamSubscription;

use std::collections::BTreeMap;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;

use crate::accounts::Role;
use crate::accounts::entity::user;
use crate::accounts::policy::{RoleGuard, viewer};
use crate::catalogue::entity::{product, variant};
use crate::catalogue::graphql::product_node;
use crate::infra::error::{AppError, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::graphql::context::database;
use crate::infra::graphql::global_id::{NodeType, decode_as};
use crate::infra::ids::ProductId;
use crate::infra::ids::UserId;
use crate::infra::ids::{LiveSessionId, PromoLinkId};
use crate::infra::money::Fen;
use crate::livestream::attribution::{self};
use crate::livestream::entity::{live_session, promo_link};
use crate::livestream::policy::{ApproveSessionItem, ReadProducerHosts, RetirePromoLink, SetCommissionPlan};
use crate::livestream::sessions::{self, SessionPhase};
use crate::livestream::{links, plans};
use crate::payouts::payees;
use crate::payouts::policy::HostMoney;
use crate::shop::shop;
use objects::{CommissionPlan, HostSale};

type Result<T> = async_graphql::Result<T>;

/// The most (host, product, rate) rows `hostSales` answers: a grower's handful of products and
/// the hosts selling them.
const MAX_HOST_SALES: usize = 100;

#[derive(InputObject)]
pub struct CommissionPlanInput {
    product_id: ID,
    /// Basis points of the line total (100 = 1%).
    rate_bps: i32,
    /// A targeted rate for this host; omitted: the open rate for any host.
    host_id: Option<ID>,
}

#[derive(SimpleObject)]
pub struct CommissionPlanPayload {
    plan: Option<CommissionPlan>,
    user_errors: Vec<UserError>,
}

/// A link to a product, or to a live session (one of the two).
#[derive(InputObject)]
pub struct PromoLinkInput {
    product_id: Option<ID>,
    session_id: Option<ID>,
}

#[derive(SimpleObject)]
pub struct PromoLinkPayload {
    promo_link: Option<PromoLink>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct HostAccountPayload {
    account: Option<HostAccount>,
    user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct LivestreamQuery;

#[Object]
impl LivestreamQuery {
    /// The signed-in host's account.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Host])")]
    async fn my_host(&self, ctx: &Context<'_>) -> Result<Option<HostAccount>> {
        let me = viewer(ctx).signed_in()?;
        let row = user::Entity::find_by_id(me.user_id)
            .one(database(ctx)?)
            .await
            .map_err(AppError::from)?;
        Ok(row.map(HostAccount))
    }

    /// Which hosts sold the signed-in grower's products, at what rate (growers).
    #[graphql(
        guard = "RoleGuard::any_of(&[Role::Grower])",
        complexity = "crate::infra::graphql::relay::list_complexity(MAX_HOST_SALES, child_complexity)"
    )]
    async fn host_sales(&self, ctx: &Context<'_>) -> Result<Vec<HostSale>> {
        let Some(producer_id) = viewer(ctx).signed_in()?.producer_id else {
            return Ok(Vec::new());
        };
        viewer(ctx).authorize(ReadProducerHosts { producer_id })?;
        let fee = shop(ctx)?.payout_settings().platform_fee_bps;
        let lines = attribution::producer_lines(database(ctx)?, producer_id).await?;
        let mut sums: BTreeMap<(UserId, ProductId, i32), (i64, Fen, Fen)> = BTreeMap::new();
        for line in lines {
            let key = (line.attribution.host_id, line.product_id, line.attribution.rate_bps);
            let sum = sums.entry(key).or_insert((0, Fen::ZERO, Fen::ZERO));
            sum.0 += i64::from(line.quantity);
            sum.1 = Fen::new(sum.1.get() + line.net_total.get());
            sum.2 = Fen::new(sum.2.get() + line.commission(fee).get());
        }
        let mut rows = Vec::new();
        for ((host_id, product_id, rate_bps), (units, sales, commission)) in sums.into_iter().take(MAX_HOST_SALES) {
            let host = user::Entity::find_by_id(host_id)
                .one(database(ctx)?)
                .await
                .map_err(AppError::from)?;
            let (Some(host), Some(product)) = (host, product_node(ctx, product_id).await?) else {
                continue;
            };
            rows.push(HostSale {
                host: Host(host),
                product,
                rate_bps,
                units,
                sales: sales.into(),
                commission: commission.into(),
            });
        }
        Ok(rows)
    }
}

fn plan_problem(problem: UserError) -> CommissionPlanPayload {
    CommissionPlanPayload {
        plan: None,
        user_errors: vec![problem],
    }
}

#[derive(Default)]
pub struct LivestreamMutation;

#[Object]
impl LivestreamMutation {
    /// Sets a product's open rate, or a targeted rate for one host (the product's growers, or
    /// operators). A cut applies to orders placed after the notice period; a raise at once.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])")]
    async fn set_commission_plan(
        &self,
        ctx: &Context<'_>,
        input: CommissionPlanInput,
    ) -> Result<CommissionPlanPayload> {
        let db = database(ctx)?;
        let Some(product_id) = decode_as(&input.product_id, NodeType::Product) else {
            return Ok(plan_problem(
                UserError::new(ErrorCode::NotFound, "product-not-found").on_field(&["input", "productId"]),
            ));
        };
        let Some(product) = product::Entity::find_by_id(product_id)
            .one(db)
            .await
            .map_err(AppError::from)?
        else {
            return Ok(plan_problem(
                UserError::new(ErrorCode::NotFound, "product-not-found").on_field(&["input", "productId"]),
            ));
        };
        let me = viewer(ctx).authorize(SetCommissionPlan {
            producer_id: product.producer_id,
        })?;
        let host_id = match &input.host_id {
            None => None,
            Some(id) => match decode_as(id, NodeType::Host) {
                Some(host_id) => Some(host_id),
                None => {
                    return Ok(plan_problem(
                        UserError::new(ErrorCode::NotFound, "host-not-found").on_field(&["input", "hostId"]),
                    ));
                }
            },
        };
        let shop = shop(ctx)?;
        let request = plans::PlanRequest {
            product_id,
            host_id,
            rate_bps: input.rate_bps,
        };
        Ok(
            match plans::set_plan(
                db,
                shop.livestream_settings(),
                shop.payout_settings().platform_fee_bps,
                me.user_id,
                request,
                Utc::now(),
            )
            .await?
            {
                Ok(plan) => CommissionPlanPayload {
                    plan: Some(CommissionPlan(plan)),
                    user_errors: Vec::new(),
                },
                Err(problem) => plan_problem(problem),
            },
        )
    }

    /// A new promo link with its own code, for a product or for one of the host's live
    /// sessions (hosts). A session's link opens its first item's product.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Host])")]
    async fn create_promo_link(&self, ctx: &Context<'_>, input: PromoLinkInput) -> Result<PromoLinkPayload> {
        let me = viewer(ctx).signed_in()?;
        let db = database(ctx)?;
        let problem = |code: ErrorCode, message: &'static str, field: &str| PromoLinkPayload {
            promo_link: None,
            user_errors: vec![UserError::new(code, message).on_field(&["input", field])],
        };
        let target = match (&input.product_id, &input.session_id) {
            (Some(product_id), None) => {
                let product = match decode_as::<ProductId>(product_id, NodeType::Product) {
                    Some(id) => product::Entity::find_by_id(id).one(db).await.map_err(AppError::from)?,
                    None => None,
                };
                let Some(product) = product else {
                    return Ok(problem(ErrorCode::NotFound, "product-not-found", "productId"));
                };
                (product.id, None)
            }
            (None, Some(session_id)) => {
                let session = match decode_as::<LiveSessionId>(session_id, NodeType::LiveSession) {
                    Some(id) => live_session::Entity::find_by_id(id)
                        .one(db)
                        .await
                        .map_err(AppError::from)?,
                    None => None,
                };
                let Some(session) = session.filter(|s| s.host_id == me.user_id) else {
                    return Ok(problem(ErrorCode::NotFound, "session-not-yours", "sessionId"));
                };
                if sessions::phase(&session, Utc::now()) == SessionPhase::Ended {
                    return Ok(problem(ErrorCode::SessionNotLive, "session-ended", "sessionId"));
                }
                let items = sessions::items_of(db, session.id).await?;
                let Some(first) = items.first() else {
                    return Ok(problem(ErrorCode::NotFound, "session-has-no-items", "sessionId"));
                };
                let variant = variant::Entity::find_by_id(first.variant_id)
                    .one(db)
                    .await
                    .map_err(AppError::from)?
                    .ok_or_else(|| AppError::Internal(anyhow::anyhow!("session item without its variant")))?;
                (variant.product_id, Some(session.id))
            }
            _ => return Ok(problem(ErrorCode::InvalidInput, "link-target-required", "productId")),
        };
        let link = links::create(db, me.user_id, target.0, target.1).await?;
        Ok(PromoLinkPayload {
            promo_link: Some(PromoLink(link)),
            user_errors: Vec::new(),
        })
    }

    /// Retires a promo link: its code no longer redirects (within a few seconds) nor credits
    /// orders placed with it, which go through uncredited (its host, or operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Host, Role::Admin])")]
    async fn retire_promo_link(&self, ctx: &Context<'_>, id: ID) -> Result<PromoLinkPayload> {
        let db = database(ctx)?;
        let not_found = || PromoLinkPayload {
            promo_link: None,
            user_errors: vec![UserError::new(ErrorCode::NotFound, "promo-link-not-found").on_field(&["id"])],
        };
        let row = match decode_as::<PromoLinkId>(&id, NodeType::PromoLink) {
            Some(link_id) => promo_link::Entity::find_by_id(link_id)
                .one(db)
                .await
                .map_err(AppError::from)?,
            None => None,
        };
        // Another host's link answers as if there were none.
        let Some(row) = row.filter(|link| viewer(ctx).may(RetirePromoLink { host_id: link.host_id })) else {
            return Ok(not_found());
        };
        Ok(match links::retire(db, row.id, Utc::now()).await? {
            Some(link) => PromoLinkPayload {
                promo_link: Some(PromoLink(link)),
                user_errors: Vec::new(),
            },
            None => not_found(),
        })
    }

    /// Where a host's payouts go: a Stripe connected account (`acct_…`), or null to be paid by
    /// bank to the bank account given (the host itself, or operators; the three are set together).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Host, Role::Admin])")]
    async fn set_host_payout_account(
        &self,
        ctx: &Context<'_>,
        host_id: ID,
        stripe_account_id: Option<String>,
        bank_account_name: Option<String>,
        bank_account_number: Option<String>,
    ) -> Result<HostAccountPayload> {
        let not_found = || HostAccountPayload {
            account: None,
            user_errors: vec![UserError::new(ErrorCode::NotFound, "host-not-found").on_field(&["hostId"])],
        };
        let host = match decode_as(&host_id, NodeType::Host) {
            Some(user_id) => host_node(ctx, user_id).await?,
            None => None,
        };
        // Another host's account answers as if there were none.
        let Some(Host(host)) = host.filter(|h| viewer(ctx).may(HostMoney { host_id: h.0.id })) else {
            return Ok(not_found());
        };
        Ok(
            match payees::set_host_stripe_account(
                database(ctx)?,
                host,
                payees::HostPayoutAccount {
                    stripe_account_id,
                    bank_account_name,
                    bank_account_number,
                },
            )
            .await?
            {
                Ok(host) => HostAccountPayload {
                    account: Some(HostAccount(host)),
                    user_errors: Vec::new(),
                },
                Err(problem) => HostAccountPayload {
                    account: None,
                    user_errors: vec![problem],
                },
            },
        )
    }

    /// Schedules a live session of items, each waiting for its grower's approval (hosts).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Host])")]
    async fn schedule_live_session(&self, ctx: &Context<'_>, input: LiveSessionInput) -> Result<LiveSessionPayload> {
        let me = viewer(ctx).signed_in()?;
        let request = sessions::SessionRequest {
            title: input.title,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            items: input
                .items
                .into_iter()
                .map(|item| sessions::ItemRequest {
                    variant_id: decode_as(&item.variant_id, NodeType::Variant),
                    price: item.price,
                    quota: item.quota,
                    per_buyer_limit: item.per_buyer_limit,
                })
                .collect(),
        };
        Ok(LiveSessionPayload::from(
            sessions::schedule(database(ctx)?, me.user_id, request, Utc::now()).await?,
        ))
    }

    /// Approves a session item, setting its quota aside from the variant's stock (the
    /// variant's growers, or operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])")]
    async fn approve_live_session_item(&self, ctx: &Context<'_>, item_id: ID) -> Result<LiveSessionPayload> {
        let not_found = || {
            LiveSessionPayload::from(Err(
                UserError::new(ErrorCode::NotFound, "session-item-not-found").on_field(&["itemId"])
            ))
        };
        let Some(item_id) = decode_as(&item_id, NodeType::LiveSessionItem) else {
            return Ok(not_found());
        };
        let Some((_, producer_id)) = sessions::item_with_producer(database(ctx)?, item_id).await? else {
            return Ok(not_found());
        };
        let me = viewer(ctx).authorize(ApproveSessionItem { producer_id })?;
        Ok(LiveSessionPayload::from(
            sessions::approve(shop(ctx)?, item_id, me.user_id, Utc::now()).await?,
        ))
    }
}

#[derive(InputObject)]
pub struct LiveSessionInput {
    title: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    items: Vec<LiveSessionItemInput>,
}

#[derive(InputObject)]
pub struct LiveSessionItemInput {
    variant_id: ID,
    /// The session price, decimal yuan.
    price: String,
    /// Units set aside for the session at approval.
    quota: i32,
    per_buyer_limit: i32,
}

#[derive(SimpleObject)]
pub struct LiveSessionPayload {
    session: Option<LiveSession>,
    user_errors: Vec<UserError>,
}

impl From<std::result::Result<live_session::Model, UserError>> for LiveSessionPayload {
    fn from(outcome: std::result::Result<live_session::Model, UserError>) -> Self {
        match outcome {
            Ok(session) => LiveSessionPayload {
                session: Some(LiveSession(session)),
                user_errors: Vec::new(),
            },
            Err(problem) => LiveSessionPayload {
                session: None,
                user_errors: vec![problem],
            },
        }
    }
}
