//! The contract's "Livestream hosts" section: commission plans, promo links, the host's
//! `myHost`, and what growers see of the hosts selling their products.

use std::collections::BTreeMap;

use async_graphql::futures_util::{Stream, stream};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;

use super::attribution::{self, CommissionState, CreditedLine};
use super::entity::{commission_plan, live_session, live_session_item, promo_link};
use super::policy::{ApproveSessionItem, ReadProducerHosts, ReadPromoLink, RetirePromoLink, SetCommissionPlan};
use super::sessions::{self, SessionPhase};
use super::{links, plans, product_url, report};
use crate::accounts::Role;
use crate::accounts::entity::user;
use crate::accounts::policy::{RoleGuard, viewer};
use crate::catalogue::entity::{product, variant};
use crate::catalogue::graphql::{Product, Variant, product_node, variant_node};
use crate::error::{AppError, AppResult, UserError};
use crate::graphql::context::{database, shop};
use crate::graphql::ids::{NodeType, decode_as, encode};
use crate::graphql::relay::{PageRequest, RelayConnection, connection};
use crate::i18n::language_of;
use crate::money::{Fen, Money};
use crate::payouts::graphql::{Balance, Payout};
use crate::payouts::policy::HostMoney;
use crate::payouts::{balances, payees};

type Result<T> = async_graphql::Result<T>;

/// A livestream host as others see it: its name.
pub struct Host(pub user::Model);

#[Object]
impl Host {
    pub async fn id(&self) -> ID {
        encode(NodeType::Host, self.0.id)
    }

    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
}

/// A host through `node(id:)`: hosts are public figures, so any caller sees the name of a user
/// who is a host (and nothing of anyone else).
pub async fn host_node(ctx: &Context<'_>, user_id: i64) -> AppResult<Option<Host>> {
    let row = user::Entity::find_by_id(user_id).one(database(ctx)?).await?;
    Ok(row.filter(|u| u.role == Role::Host).map(Host))
}

async fn host_of(ctx: &Context<'_>, user_id: i64) -> Result<Option<Host>> {
    Ok(host_node(ctx, user_id).await?)
}

pub struct PromoLink(pub promo_link::Model);

#[Object]
impl PromoLink {
    pub async fn id(&self) -> ID {
        encode(NodeType::PromoLink, self.0.id)
    }

    /// The short code shown on the stream, for `placeOrder(referralCode:)` and `/l/{code}`.
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// The product's storefront page carrying the code (where `/l/{code}` redirects).
    async fn url(&self, ctx: &Context<'_>) -> Result<String> {
        let product = product::Entity::find_by_id(self.0.product_id)
            .one(database(ctx)?)
            .await
            .map_err(AppError::from)?;
        let storefront = &shop(ctx)?.settings.livestream.storefront_url;
        Ok(product_url(
            storefront,
            &product.map(|p| p.slug).unwrap_or_default(),
            &self.0.code,
        ))
    }

    async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>> {
        Ok(product_node(ctx, self.0.product_id).await?)
    }

    /// The live session the link sells, for a session's link.
    async fn session(&self, ctx: &Context<'_>) -> Result<Option<LiveSession>> {
        match self.0.session_id {
            Some(session_id) => Ok(live_session_node(ctx, session_id).await?),
            None => Ok(None),
        }
    }

    /// Redirects answered (written within about a second).
    async fn clicks(&self) -> i64 {
        self.0.clicks
    }

    /// Paid orders with a line credited through the link.
    async fn orders(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(self.figures(ctx).await?.orders)
    }

    async fn units(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(self.figures(ctx).await?.units)
    }

    /// What the credited lines sold, less refunds.
    async fn sales(&self, ctx: &Context<'_>) -> Result<Money> {
        Ok(self.figures(ctx).await?.sales.into())
    }

    /// Earned on delivered lines, and estimated on lines paid but not delivered.
    async fn commission(&self, ctx: &Context<'_>) -> Result<Money> {
        Ok(self.figures(ctx).await?.commission.into())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the link was retired (it redirects and credits no more); null while it works.
    async fn retired_at(&self) -> Option<DateTime<Utc>> {
        self.0.retired_at
    }
}

impl PromoLink {
    async fn figures(&self, ctx: &Context<'_>) -> AppResult<links::LinkFigures> {
        let fee = shop(ctx)?.settings.payouts.platform_fee_bps;
        links::figures(database(ctx)?, self.0.id, fee).await
    }
}

/// A promo link through `node(id:)`: its host and operators.
pub async fn promo_link_node(ctx: &Context<'_>, link_id: i64) -> AppResult<Option<PromoLink>> {
    let Some(row) = promo_link::Entity::find_by_id(link_id).one(database(ctx)?).await? else {
        return Ok(None);
    };
    Ok(viewer(ctx)
        .may(ReadPromoLink { host_id: row.host_id })
        .then_some(PromoLink(row)))
}

pub struct CommissionPlan(commission_plan::Model);

#[Object]
impl CommissionPlan {
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>> {
        Ok(product_node(ctx, self.0.product_id).await?)
    }

    async fn rate_bps(&self) -> i32 {
        self.0.rate_bps
    }

    /// The host a targeted rate is for; null for the open rate.
    async fn host(&self, ctx: &Context<'_>) -> Result<Option<Host>> {
        match self.0.host_id {
            Some(host_id) => host_of(ctx, host_id).await,
            None => Ok(None),
        }
    }

    /// Orders placed from then on get this rate (a cut waits for the notice period).
    async fn effective_from(&self) -> DateTime<Utc> {
        self.0.effective_from
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CommissionStatus {
    /// Paid, not delivered: what delivery will earn after the refunds so far.
    Estimated,
    /// Delivered; not paid out yet.
    Earned,
    /// Refunded in full.
    Reversed,
    /// Paid out.
    Paid,
}

impl From<CommissionState> for CommissionStatus {
    fn from(state: CommissionState) -> Self {
        match state {
            CommissionState::Estimated => CommissionStatus::Estimated,
            CommissionState::Earned => CommissionStatus::Earned,
            CommissionState::Reversed => CommissionStatus::Reversed,
            CommissionState::Paid => CommissionStatus::Paid,
        }
    }
}

/// A host's commission on one credited order line.
pub struct Commission {
    line: CreditedLine,
    platform_fee_bps: u32,
}

#[Object]
impl Commission {
    async fn amount(&self) -> Money {
        self.line.commission(self.platform_fee_bps).into()
    }

    async fn status(&self) -> CommissionStatus {
        self.line.state().into()
    }

    async fn order_number(&self) -> &str {
        &self.line.order_number
    }

    /// The rate the order was placed at.
    async fn rate_bps(&self) -> i32 {
        self.line.attribution.rate_bps
    }

    /// The line's total less refunds so far.
    async fn sales(&self) -> Money {
        self.line.net_total.into()
    }

    async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>> {
        Ok(product_node(ctx, self.line.product_id).await?)
    }
}

/// The signed-in host's links, commissions, balance and payouts.
pub struct HostAccount(user::Model);

#[Object]
impl HostAccount {
    async fn host(&self) -> Host {
        Host(self.0.clone())
    }

    /// The Stripe connected account (`acct_…`) payouts are transferred to; null: paid by bank.
    async fn stripe_account_id(&self) -> Option<&str> {
        self.0.stripe_account_id.as_deref()
    }

    #[graphql(complexity = "crate::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn links(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<i64, PromoLink>> {
        let page = PageRequest::new(first, after.as_deref())?;
        let rows = links::list(database(ctx)?, self.0.id, &page).await?;
        Ok(connection(rows, &page, 0, |row| row.id, PromoLink))
    }

    /// The host's sessions, newest first, with sold and remaining quota per item.
    #[graphql(complexity = "crate::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<i64, LiveSession>> {
        let page = PageRequest::new(first, after.as_deref())?;
        let rows = sessions::list(database(ctx)?, self.0.id, &page).await?;
        Ok(connection(rows, &page, 0, |row| row.id, LiveSession))
    }

    /// One entry per credited line of a paid order, newest first.
    #[graphql(complexity = "crate::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn commissions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<i64, Commission>> {
        let page = PageRequest::new(first, after.as_deref())?;
        let platform_fee_bps = shop(ctx)?.settings.payouts.platform_fee_bps;
        let rows = attribution::host_lines(database(ctx)?, self.0.id, &page).await?;
        Ok(connection(
            rows,
            &page,
            0,
            |row| row.attribution.id,
            |line| Commission { line, platform_fee_bps },
        ))
    }

    /// Commissions earned on delivery: pending within the payout hold, then available, then
    /// in transit and paid out (negative available after a refund of money already paid).
    async fn balance(&self, ctx: &Context<'_>) -> Result<Balance> {
        Ok(balances::host_balance(database(ctx)?, self.0.id, Utc::now())
            .await?
            .into())
    }

    #[graphql(complexity = "crate::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn payouts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<i64, Payout>> {
        let page = PageRequest::new(first, after.as_deref())?;
        let rows = balances::list_host_payouts(database(ctx)?, self.0.id, &page).await?;
        Ok(connection(rows, &page, 0, |row| row.id, Payout))
    }

    /// The month's commissions (`YYYY-MM`, China time) as CSV.
    async fn monthly_report(&self, ctx: &Context<'_>, month: String) -> Result<String> {
        match report::monthly(database(ctx)?, self.0.id, &month, language_of(ctx)).await? {
            Ok(csv) => Ok(csv),
            Err(problem) => Err(AppError::BadInput(problem.message).into()),
        }
    }
}

/// What one host sold of a grower's product, at one rate.
#[derive(SimpleObject)]
pub struct HostSale {
    host: Host,
    product: Product,
    rate_bps: i32,
    units: i64,
    sales: Money,
    commission: Money,
}

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
        complexity = "crate::graphql::relay::list_complexity(MAX_HOST_SALES, child_complexity)"
    )]
    async fn host_sales(&self, ctx: &Context<'_>) -> Result<Vec<HostSale>> {
        let Some(producer_id) = viewer(ctx).signed_in()?.producer_id else {
            return Ok(Vec::new());
        };
        viewer(ctx).authorize(ReadProducerHosts { producer_id })?;
        let fee = shop(ctx)?.settings.payouts.platform_fee_bps;
        let lines = attribution::producer_lines(database(ctx)?, producer_id).await?;
        let mut sums: BTreeMap<(i64, i64, i32), (i64, Fen, Fen)> = BTreeMap::new();
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
                UserError::new("NOT_FOUND", "product-not-found").on_field(&["input", "productId"]),
            ));
        };
        let Some(product) = product::Entity::find_by_id(product_id)
            .one(db)
            .await
            .map_err(AppError::from)?
        else {
            return Ok(plan_problem(
                UserError::new("NOT_FOUND", "product-not-found").on_field(&["input", "productId"]),
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
                        UserError::new("NOT_FOUND", "host-not-found").on_field(&["input", "hostId"]),
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
                &shop.settings.livestream,
                shop.settings.payouts.platform_fee_bps,
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
        let problem = |code: &str, message: &'static str, field: &str| PromoLinkPayload {
            promo_link: None,
            user_errors: vec![UserError::new(code, message).on_field(&["input", field])],
        };
        let target = match (&input.product_id, &input.session_id) {
            (Some(product_id), None) => {
                let product = match decode_as(product_id, NodeType::Product) {
                    Some(id) => product::Entity::find_by_id(id).one(db).await.map_err(AppError::from)?,
                    None => None,
                };
                let Some(product) = product else {
                    return Ok(problem("NOT_FOUND", "product-not-found", "productId"));
                };
                (product.id, None)
            }
            (None, Some(session_id)) => {
                let session = match decode_as(session_id, NodeType::LiveSession) {
                    Some(id) => live_session::Entity::find_by_id(id)
                        .one(db)
                        .await
                        .map_err(AppError::from)?,
                    None => None,
                };
                let Some(session) = session.filter(|s| s.host_id == me.user_id) else {
                    return Ok(problem("NOT_FOUND", "session-not-yours", "sessionId"));
                };
                if sessions::phase(&session, Utc::now()) == SessionPhase::Ended {
                    return Ok(problem("SESSION_NOT_LIVE", "session-ended", "sessionId"));
                }
                let items = sessions::items_of(db, session.id).await?;
                let Some(first) = items.first() else {
                    return Ok(problem("NOT_FOUND", "session-has-no-items", "sessionId"));
                };
                let variant = variant::Entity::find_by_id(first.variant_id)
                    .one(db)
                    .await
                    .map_err(AppError::from)?
                    .ok_or_else(|| AppError::Internal(anyhow::anyhow!("session item without its variant")))?;
                (variant.product_id, Some(session.id))
            }
            _ => return Ok(problem("INVALID_INPUT", "link-target-required", "productId")),
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
            user_errors: vec![UserError::new("NOT_FOUND", "promo-link-not-found").on_field(&["id"])],
        };
        let row = match decode_as(&id, NodeType::PromoLink) {
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
    /// bank (the host itself, or operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Host, Role::Admin])")]
    async fn set_host_payout_account(
        &self,
        ctx: &Context<'_>,
        host_id: ID,
        stripe_account_id: Option<String>,
    ) -> Result<HostAccountPayload> {
        let not_found = || HostAccountPayload {
            account: None,
            user_errors: vec![UserError::new("NOT_FOUND", "host-not-found").on_field(&["hostId"])],
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
            match payees::set_host_stripe_account(database(ctx)?, host, stripe_account_id).await? {
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
                UserError::new("NOT_FOUND", "session-item-not-found").on_field(&["itemId"])
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

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum LiveSessionStatus {
    Scheduled,
    Live,
    Ended,
}

pub struct LiveSession(pub live_session::Model);

#[Object]
impl LiveSession {
    pub async fn id(&self) -> ID {
        encode(NodeType::LiveSession, self.0.id)
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }

    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.ends_at
    }

    async fn status(&self) -> LiveSessionStatus {
        match sessions::phase(&self.0, Utc::now()) {
            SessionPhase::Scheduled => LiveSessionStatus::Scheduled,
            SessionPhase::Live => LiveSessionStatus::Live,
            SessionPhase::Ended => LiveSessionStatus::Ended,
        }
    }

    async fn host(&self, ctx: &Context<'_>) -> Result<Option<Host>> {
        host_of(ctx, self.0.host_id).await
    }

    #[graphql(complexity = "crate::graphql::relay::list_complexity(sessions::MAX_ITEMS, child_complexity)")]
    async fn items(&self, ctx: &Context<'_>) -> Result<Vec<LiveSessionItem>> {
        Ok(sessions::items_of(database(ctx)?, self.0.id)
            .await?
            .into_iter()
            .map(LiveSessionItem)
            .collect())
    }
}

pub struct LiveSessionItem(pub live_session_item::Model);

#[Object]
impl LiveSessionItem {
    pub async fn id(&self) -> ID {
        encode(NodeType::LiveSessionItem, self.0.id)
    }

    async fn variant(&self, ctx: &Context<'_>) -> Result<Option<Variant>> {
        Ok(variant_node(ctx, self.0.variant_id).await?)
    }

    /// The session price.
    async fn price(&self) -> Money {
        Fen::new(self.0.price_fen).into()
    }

    async fn quota(&self) -> i32 {
        self.0.quota
    }

    /// Units taken by orders (paid or still held).
    async fn sold(&self) -> i32 {
        self.0.sold()
    }

    /// Units left in the quota (0 before approval and after the end).
    async fn remaining(&self) -> i32 {
        self.0.remaining
    }

    async fn per_buyer_limit(&self) -> i32 {
        self.0.per_buyer_limit
    }

    async fn approved(&self) -> bool {
        self.0.approved_at.is_some()
    }
}

/// Whether the viewer may see a session: anyone once an item is approved (it is public: its
/// host announces it); before, its host, the growers asked to approve an item, and operators.
async fn may_see_session(ctx: &Context<'_>, session: &live_session::Model) -> AppResult<bool> {
    let items = sessions::items_of(database(ctx)?, session.id).await?;
    if items.iter().any(|item| item.approved_at.is_some()) {
        return Ok(true);
    }
    let viewer = viewer(ctx);
    if viewer.may(ReadPromoLink {
        host_id: session.host_id,
    }) {
        return Ok(true);
    }
    for item in items {
        if let Some((_, producer_id)) = sessions::item_with_producer(database(ctx)?, item.id).await?
            && viewer.may(ApproveSessionItem { producer_id })
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A session through `node(id:)`.
pub async fn live_session_node(ctx: &Context<'_>, session_id: i64) -> AppResult<Option<LiveSession>> {
    let Some(session) = live_session::Entity::find_by_id(session_id).one(database(ctx)?).await? else {
        return Ok(None);
    };
    Ok(may_see_session(ctx, &session).await?.then_some(LiveSession(session)))
}

/// A session item through `node(id:)`: as its session.
pub async fn live_session_item_node(ctx: &Context<'_>, item_id: i64) -> AppResult<Option<LiveSessionItem>> {
    let Some(item) = live_session_item::Entity::find_by_id(item_id)
        .one(database(ctx)?)
        .await?
    else {
        return Ok(None);
    };
    let session = sessions::session_of(database(ctx)?, item.session_id).await?;
    Ok(may_see_session(ctx, &session).await?.then_some(LiveSessionItem(item)))
}

/// How often a `sessionStock` subscription looks at the quotas: the overlay's refresh rate.
const STOCK_POLL: std::time::Duration = std::time::Duration::from_millis(250);

#[derive(Default)]
pub struct LivestreamSubscription;

#[Subscription]
impl LivestreamSubscription {
    /// Each item's remaining quota, sent at once and then whenever it changes, until the
    /// session has ended (for the host's overlay; anyone may follow a public session). It
    /// reads the database, so every replica sees every sale.
    async fn session_stock(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
    ) -> Result<impl Stream<Item = Vec<LiveSessionItem>> + use<>> {
        let Some(row_id) = decode_as(&session_id, NodeType::LiveSession) else {
            return Err(AppError::bad_input("session-not-found").into());
        };
        if live_session_node(ctx, row_id).await?.is_none() {
            return Err(AppError::bad_input("session-not-found").into());
        }
        let db = database(ctx)?.clone();
        let watch = (db, row_id, None::<Vec<(i64, i32, i32)>>, false);
        Ok(stream::unfold(watch, |(db, row_id, last, done)| async move {
            if done {
                return None;
            }
            loop {
                let Ok(session) = sessions::session_of(&db, row_id).await else {
                    return None;
                };
                let items = sessions::items_of(&db, row_id).await.ok()?;
                let state: Vec<(i64, i32, i32)> = items.iter().map(|i| (i.id, i.remaining, i.sold())).collect();
                let ended = sessions::phase(&session, Utc::now()) == SessionPhase::Ended
                    && items.iter().all(|i| i.approved_at.is_none() || i.returned_at.is_some());
                if last.as_ref() != Some(&state) {
                    let answer: Vec<LiveSessionItem> = items.into_iter().map(LiveSessionItem).collect();
                    return Some((answer, (db, row_id, Some(state), ended)));
                }
                if ended {
                    return None;
                }
                tokio::time::sleep(STOCK_POLL).await;
            }
        }))
    }
}
