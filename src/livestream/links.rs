//! Promo links: a host's short, hard-to-guess code for a product, and what its orders sold.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
};

use super::entity::promo_link;
use crate::accounts::UserId;
use crate::catalogue::ProductId;
use crate::error::{AppError, AppResult};
use crate::livestream::{LiveSessionId, PromoLinkId};
use crate::money::Fen;
use crate::orders::entity::{order, order_line, order_line_attribution};
use crate::orders::{OrderId, OrderLineId, OrderStatus};
use crate::paging::PageRequest;
use crate::payments::entity::refund::{self, RefundStatus};
use crate::payments::entity::refund_line;
use crate::payouts::entity::host_commission;

/// Characters of a code: letters and digits, nothing a viewer could misread in a URL.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
/// 10 characters of 57: about 58 bits, so guessing a live code among millions takes billions
/// of requests (each answered 404 and rate-limited by the overload guard).
const CODE_LENGTH: usize = 10;

fn new_code() -> String {
    let random = uuid::Uuid::new_v4().as_u128();
    let mut value = random;
    let base = ALPHABET.len() as u128;
    (0..CODE_LENGTH)
        .map(|_| {
            let index = usize::try_from(value % base).unwrap_or(0);
            value /= base;
            char::from(ALPHABET[index])
        })
        .collect()
}

/// Whether `code` could be one of ours (so that nonsense never reaches the database).
pub fn well_formed(code: &str) -> bool {
    code.len() == CODE_LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))
}

/// `createPromoLink` for a product that exists (checked by the caller). A clash of random codes
/// is caught by the unique key and tried again.
pub async fn create(
    db: &impl ConnectionTrait,
    host_id: UserId,
    product_id: ProductId,
    session_id: Option<LiveSessionId>,
) -> AppResult<promo_link::Model> {
    for _ in 0..5 {
        let inserted = promo_link::ActiveModel {
            code: Set(new_code()),
            host_id: Set(host_id),
            product_id: Set(product_id),
            session_id: Set(session_id),
            clicks: Set(0),
            retired_at: Set(None),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(db)
        .await;
        match inserted {
            Ok(link) => return Ok(link),
            Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Err(AppError::Internal(anyhow::anyhow!(
        "no free promo code after five tries"
    )))
}

/// The live (not retired) link with this code.
pub async fn live_by_code(db: &impl ConnectionTrait, code: &str) -> AppResult<Option<promo_link::Model>> {
    if !well_formed(code) {
        return Ok(None);
    }
    Ok(promo_link::Entity::find()
        .filter(promo_link::Column::Code.eq(code))
        .filter(promo_link::Column::RetiredAt.is_null())
        .one(db)
        .await?)
}

/// `retirePromoLink` (the caller's right is checked by the resolver): from now on the code
/// neither redirects (within the redirect cache's few seconds) nor credits orders; orders it
/// credited keep their commissions. Retiring again changes nothing. `None` when there is no
/// such link.
pub async fn retire(
    db: &impl ConnectionTrait,
    link_id: PromoLinkId,
    now: DateTime<Utc>,
) -> AppResult<Option<promo_link::Model>> {
    promo_link::Entity::update_many()
        .col_expr(promo_link::Column::RetiredAt, Expr::value(now))
        .filter(promo_link::Column::Id.eq(link_id))
        .filter(promo_link::Column::RetiredAt.is_null())
        .exec(db)
        .await?;
    Ok(promo_link::Entity::find_by_id(link_id).one(db).await?)
}

/// A page of a host's links, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    host_id: UserId,
    page: &PageRequest<PromoLinkId>,
) -> AppResult<Vec<promo_link::Model>> {
    let mut select = promo_link::Entity::find().filter(promo_link::Column::HostId.eq(host_id));
    if let Some(after) = page.after {
        select = select.filter(promo_link::Column::Id.lt(after));
    }
    Ok(select
        .order_by_desc(promo_link::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?)
}

/// What a link's orders came to: paid orders only (awaiting payment or cancelled unpaid do
/// not count), sales net of refunds, commission as the ledger holds it for delivered lines and
/// as estimated for lines paid but not delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkFigures {
    pub orders: i64,
    pub units: i64,
    pub sales: Fen,
    pub commission: Fen,
}

pub async fn figures(db: &impl ConnectionTrait, link_id: PromoLinkId, platform_fee_bps: u32) -> AppResult<LinkFigures> {
    let attributions = order_line_attribution::Entity::find()
        .filter(order_line_attribution::Column::PromoLinkId.eq(link_id))
        .all(db)
        .await?;
    let lines = super::attribution::credited_lines(db, attributions).await?;
    let mut figures = LinkFigures::default();
    let mut orders = HashSet::new();
    for line in lines {
        orders.insert(line.order_id);
        figures.units += i64::from(line.quantity);
        figures.sales = Fen::new(figures.sales.get() + line.net_total.get());
        let commission = line.commission(platform_fee_bps);
        figures.commission = Fen::new(figures.commission.get() + commission.get());
    }
    figures.orders = i64::try_from(orders.len()).unwrap_or(i64::MAX);
    Ok(figures)
}

/// Refunded so far per line (refunds not refused), for lines of `order_ids`.
pub(super) async fn refunded_by_line(
    db: &impl ConnectionTrait,
    line_ids: &[OrderLineId],
) -> AppResult<HashMap<OrderLineId, i64>> {
    let parts = refund_line::Entity::find()
        .inner_join(refund::Entity)
        .filter(refund_line::Column::OrderLineId.is_in(line_ids.iter().copied()))
        .filter(refund::Column::Status.ne(RefundStatus::Failed))
        .all(db)
        .await?;
    let mut by_line = HashMap::new();
    for part in parts {
        *by_line.entry(part.order_line_id).or_insert(0) += part.amount_fen;
    }
    Ok(by_line)
}

/// The host's ledger entries per line.
pub(super) async fn ledger_by_line(
    db: &impl ConnectionTrait,
    line_ids: &[OrderLineId],
) -> AppResult<HashMap<OrderLineId, Vec<host_commission::Model>>> {
    let entries = host_commission::Entity::find()
        .filter(host_commission::Column::OrderLineId.is_in(line_ids.iter().copied()))
        .all(db)
        .await?;
    let mut by_line: HashMap<OrderLineId, Vec<host_commission::Model>> = HashMap::new();
    for entry in entries {
        by_line.entry(entry.order_line_id).or_default().push(entry);
    }
    Ok(by_line)
}

/// Orders that money was paid for: neither awaiting payment nor cancelled before payment.
pub(super) async fn paid_orders(
    db: &impl ConnectionTrait,
    order_ids: &[OrderId],
) -> AppResult<HashMap<OrderId, order::Model>> {
    Ok(order::Entity::find()
        .filter(order::Column::Id.is_in(order_ids.iter().copied()))
        .filter(order::Column::Status.ne(OrderStatus::PendingPayment))
        .all(db)
        .await?
        .into_iter()
        .filter(|o| o.status != OrderStatus::Cancelled || o.paid_at.is_some())
        .map(|o| (o.id, o))
        .collect())
}

pub(super) async fn lines_by_id(
    db: &impl ConnectionTrait,
    line_ids: &[OrderLineId],
) -> AppResult<HashMap<OrderLineId, order_line::Model>> {
    Ok(order_line::Entity::find()
        .filter(order_line::Column::Id.is_in(line_ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect())
}
