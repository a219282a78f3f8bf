//! Hosts, promo links, commission plans, commissions and live sessions as the API shows them,
//! and who may see a session.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;

use crate::accounts::Role;
use crate::accounts::entity::user;
use crate::accounts::policy::viewer;
use crate::catalogue::entity::product;
use crate::catalogue::graphql::{Product, Variant, product_node, variant_node};
use crate::infra::error::{AppError, AppResult};
use crate::infra::graphql::context::{database, wants_total_count};
use crate::infra::graphql::global_id::{NodeType, encode};
use crate::infra::graphql::relay::{PageRequest, RelayConnection, connection};
use crate::infra::i18n::language_of;
use crate::infra::ids::OrderLineAttributionId;
use crate::infra::ids::PayoutId;
use crate::infra::ids::UserId;
use crate::infra::ids::{LiveSessionId, LiveSessionItemId, PromoLinkId};
use crate::infra::money::Money;
use crate::livestream::attribution::{self, CommissionState, CreditedLine};
use crate::livestream::entity::{commission_plan, live_session, live_session_item, promo_link};
use crate::livestream::policy::{ApproveSessionItem, ReadPromoLink};
use crate::livestream::sessions::{self, SessionPhase};
use crate::livestream::{links, product_url, report};
use crate::payouts::balances;
use crate::payouts::graphql::{Balance, Payout};
use crate::shop::shop;

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
pub async fn host_node(ctx: &Context<'_>, user_id: UserId) -> AppResult<Option<Host>> {
    let row = user::Entity::find_by_id(user_id).one(database(ctx)?).await?;
    Ok(row.filter(|u| u.role == Role::Host).map(Host))
}

async fn host_of(ctx: &Context<'_>, user_id: UserId) -> Result<Option<Host>> {
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
        let storefront = &shop(ctx)?.livestream_settings().storefront_url;
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
    async fn figures(&self, ctx: &Context<'_>) -> AppResult<attribution::LinkFigures> {
        let fee = shop(ctx)?.payout_settings().platform_fee_bps;
        attribution::figures(database(ctx)?, self.0.id, fee).await
    }
}

/// A promo link through `node(id:)`: its host and operators.
pub async fn promo_link_node(ctx: &Context<'_>, link_id: PromoLinkId) -> AppResult<Option<PromoLink>> {
    let Some(row) = promo_link::Entity::find_by_id(link_id).one(database(ctx)?).await? else {
        return Ok(None);
    };
    Ok(viewer(ctx)
        .may(ReadPromoLink { host_id: row.host_id })
        .then_some(PromoLink(row)))
}

pub struct CommissionPlan(pub(super) commission_plan::Model);

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
pub struct HostAccount(pub(super) user::Model);

#[Object]
impl HostAccount {
    async fn host(&self) -> Host {
        Host(self.0.clone())
    }

    /// The Stripe connected account (`acct_…`) payouts are transferred to; null: paid by bank.
    async fn stripe_account_id(&self) -> Option<&str> {
        self.0.stripe_account_id.as_deref()
    }

    #[graphql(complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn links(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<PromoLinkId, PromoLink>> {
        let page = PageRequest::new(first, after.as_deref())?;
        let (rows, total) = links::list(database(ctx)?, self.0.id, &page, wants_total_count(ctx)).await?;
        Ok(connection(rows, &page, total, |row| row.id, PromoLink))
    }

    /// The host's sessions, newest first, with sold and remaining quota per item.
    #[graphql(complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<LiveSessionId, LiveSession>> {
        let page = PageRequest::new(first, after.as_deref())?;
        let (rows, total) = sessions::list(database(ctx)?, self.0.id, &page, wants_total_count(ctx)).await?;
        Ok(connection(rows, &page, total, |row| row.id, LiveSession))
    }

    /// One entry per credited line of a paid order, newest first.
    #[graphql(complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn commissions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<OrderLineAttributionId, Commission>> {
        let page = PageRequest::new(first, after.as_deref())?;
        let platform_fee_bps = shop(ctx)?.payout_settings().platform_fee_bps;
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

    #[graphql(complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn payouts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<RelayConnection<PayoutId, Payout>> {
        let page = PageRequest::new(first, after.as_deref())?;
        let (rows, total) =
            balances::list_host_payouts(database(ctx)?, self.0.id, &page, wants_total_count(ctx)).await?;
        Ok(connection(rows, &page, total, |row| row.id, Payout))
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
    pub(super) host: Host,
    pub(super) product: Product,
    pub(super) rate_bps: i32,
    pub(super) units: i64,
    pub(super) sales: Money,
    pub(super) commission: Money,
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

    #[graphql(complexity = "crate::infra::graphql::relay::list_complexity(sessions::MAX_ITEMS, child_complexity)")]
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
        self.0.price_fen.into()
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
pub async fn live_session_node(ctx: &Context<'_>, session_id: LiveSessionId) -> AppResult<Option<LiveSession>> {
    let Some(session) = live_session::Entity::find_by_id(session_id).one(database(ctx)?).await? else {
        return Ok(None);
    };
    Ok(may_see_session(ctx, &session).await?.then_some(LiveSession(session)))
}

/// A session item through `node(id:)`: as its session.
pub async fn live_session_item_node(
    ctx: &Context<'_>,
    item_id: LiveSessionItemId,
) -> AppResult<Option<LiveSessionItem>> {
    let Some(item) = live_session_item::Entity::find_by_id(item_id)
        .one(database(ctx)?)
        .await?
    else {
        return Ok(None);
    };
    let session = sessions::session_of(database(ctx)?, item.session_id).await?;
    Ok(may_see_session(ctx, &session).await?.then_some(LiveSessionItem(item)))
}
