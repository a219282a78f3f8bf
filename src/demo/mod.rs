//! Demo activity: a year of the shop's history over the demo catalogue (orders, payments,
//! deliveries, refunds, payouts and cooperatives' household shares), made with the shop's own
//! operations and then dated back across the past twelve months, so that the first run shows a
//! full impact report. `huakai demo load --activity` loads it, and so does the embedded default
//! at its first start; plain `huakai demo load` keeps to the catalogue (tests rely on that).

pub mod union;

use chrono::{DateTime, Duration, Months, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use crate::accounts::Role;
use crate::catalogue::entity::{producer, variant};
use crate::checkout::cancel;
use crate::checkout::placing::{self, Address, Destination, LineRequest, LineSource, OrderRequest};
use crate::infra::error::{AppError, AppResult};
use crate::infra::error_code::ErrorCode;
use crate::infra::ids::OrderId;
use crate::infra::ids::UserId;
use crate::infra::money::Fen;
use crate::inventory::entity::stock_movement;
use crate::orders::PaymentMethod;
use crate::orders::entity::{order, shipment};
use crate::orders::service::lifecycle;
use crate::payments::entity::refund;
use crate::payments::{bank_refunds, refunds, service as payments};
use crate::payouts::entity::{earning, payout, payout_batch};
use crate::payouts::{runs, statements};
use crate::shop::Shop;

/// The demo buyers' password (the accounts are for trying the shop out, never for production).
pub const DEMO_PASSWORD: &str = "huakai-demo-2026";
const BUYERS: [(&str, &str); 3] = [
    ("zhang.wei@demo.huakai.cn", "张伟"),
    ("li.na@demo.huakai.cn", "李娜"),
    ("wang.fang@demo.huakai.cn", "王芳"),
];
const ORDERS_PER_MONTH: usize = 5;

/// A household: its name, whether it is registered poor, its share in basis points.
type Household = (&'static str, bool, i32);

/// Households of the demo cooperatives and their shares (二次分配).
const HOUSEHOLDS: [(&str, &[Household]); 3] = [
    (
        "sanwang-baihe-hezuoshe",
        &[
            ("陈德明", true, 1200),
            ("陈秀英", true, 1200),
            ("刘建国", true, 1000),
            ("刘桂兰", true, 1000),
            ("周志强", true, 900),
            ("周玉梅", false, 800),
        ],
    ),
    (
        "huachong-zhongyangzhi-hezuoshe",
        &[
            ("王大山", true, 1300),
            ("王小红", true, 1300),
            ("李春生", true, 1100),
            ("李冬梅", true, 1100),
            ("赵国庆", true, 1000),
            ("赵丽华", true, 900),
            ("孙海", false, 700),
        ],
    ),
    (
        "changyuan-longxia-hezuoshe",
        &[
            ("彭长远", true, 1500),
            ("彭小虎", true, 1400),
            ("何秋菊", true, 1300),
            ("何永福", false, 1000),
        ],
    ),
];

/// What was loaded.
#[derive(Debug, Default)]
pub struct ActivitySummary {
    pub orders: usize,
    pub refunds: usize,
    pub payouts: usize,
}

impl std::fmt::Display for ActivitySummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} orders, {} refunds, {} payouts over the past year",
            self.orders, self.refunds, self.payouts
        )
    }
}

/// Whether the shop has any order yet (activity is loaded only into a shop without).
pub async fn has_activity(db: &impl ConnectionTrait) -> AppResult<bool> {
    Ok(order::Entity::find().count(db).await? > 0)
}

/// A small deterministic sequence, so every demo shop has the same history.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from((self.0 >> 33) % below.max(1) as u64).unwrap_or(0)
    }
}

fn address(name: &str) -> Address {
    Address {
        name: name.to_owned(),
        phone: "138 0013 8000".to_owned(),
        province: "湖南省".to_owned(),
        city: "株洲市".to_owned(),
        district: "渌口区".to_owned(),
        line1: "工会大楼 3 楼".to_owned(),
        postal_code: Some("412100".to_owned()),
    }
}

fn failed(what: &str, code: ErrorCode) -> AppError {
    AppError::Internal(anyhow::anyhow!("demo activity: {what} was refused ({code})"))
}

/// Loads the year of history into a shop with the demo catalogue and no orders.
pub async fn load_activity(shop: &Shop) -> AppResult<ActivitySummary> {
    let db = &shop.db;
    for (slug, households) in HOUSEHOLDS {
        let Some(cooperative) = producer::Entity::find()
            .filter(producer::Column::Slug.eq(slug))
            .one(db)
            .await?
        else {
            continue;
        };
        let members = households
            .iter()
            .map(|(name, registered_poor, share_bps)| statements::NewMember {
                name: (*name).to_owned(),
                registered_poor: *registered_poor,
                share_bps: *share_bps,
            })
            .collect();
        statements::set_members(db, &cooperative, members)
            .await?
            .map_err(|problem| failed("a cooperative's households", problem.code))?;
    }
    let mut buyers = Vec::new();
    for (email, name) in BUYERS {
        let user = crate::accounts::service::create_user(
            db,
            email,
            DEMO_PASSWORD,
            name,
            Role::Buyer,
            crate::accounts::service::ProducerAsked::None,
        )
        .await?
        .map_err(|problem| failed("a demo buyer", problem.code))?;
        buyers.push((user.id, name));
    }
    // Two of the three buy through their union, so its pledge fills with their orders.
    let members: Vec<UserId> = buyers.iter().take(2).map(|(id, _)| *id).collect();
    union::load(shop, &members, DEMO_PASSWORD).await?;
    let variants: Vec<variant::Model> = variant::Entity::find()
        .order_by_asc(variant::Column::Id)
        .all(db)
        .await?;

    let now = Utc::now();
    let mut summary = ActivitySummary::default();
    let mut sequence = Sequence(2026);
    for months_ago in (0..12u32).rev() {
        let month_start = now - Months::new(months_ago) - Duration::days(25);
        for index in 0..ORDERS_PER_MONTH {
            let (buyer_id, buyer_name) = buyers[sequence.next(buyers.len())];
            let lines: Vec<LineRequest> = (0..1 + sequence.next(2))
                .map(|_| LineRequest {
                    variant_id: Some(variants[sequence.next(variants.len())].id),
                    quantity: i32::try_from(1 + sequence.next(3)).unwrap_or(1),
                })
                .collect();
            let request = OrderRequest {
                lines: LineSource::Given(lines),
                destination: Destination::Address(address(buyer_name)),
                idempotency_key: format!("demo-{months_ago}-{index}"),
                payment_method: PaymentMethod::BankTransfer,
                remainder_method: None,
                referral_code: None,
                checkout: Default::default(),
            };
            let placed = match placing::place(shop, buyer_id, request).await? {
                Ok(placed) => placed,
                // A product off sale (its catalogue entry lapsed) or sold out: that buyer
                // bought nothing that day.
                Err(problem) if matches!(problem.code, ErrorCode::NotOnSale | ErrorCode::OutOfStock) => continue,
                Err(problem) => return Err(failed("a demo order", problem.code)),
            };
            let order_id = placed.order.id;
            payments::record_bank_transfer(shop, order_id, &format!("ICBC-DEMO-{order_id}"))
                .await?
                .map_err(|problem| failed("a bank transfer", problem.code))?;
            summary.orders += 1;
            let roll = sequence.next(10);
            if roll == 0 {
                // Cancelled by the buyer after paying: refunded by bank, sent by an operator.
                cancel::cancel(shop, order_id, buyer_id)
                    .await?
                    .map_err(|problem| failed("a cancellation", problem.code))?;
                send_bank_refunds(shop, order_id).await?;
                summary.refunds += 1;
            } else {
                if roll == 1 {
                    // Part of the order arrived damaged: a tenth refunded.
                    let part = Fen::new((placed.order.total_fen.get() / 10).max(1));
                    refunds::refund_order(shop, order_id, Some(part))
                        .await?
                        .map_err(|problem| failed("a refund", problem.code))?;
                    send_bank_refunds(shop, order_id).await?;
                    summary.refunds += 1;
                }
                let tracking_number = format!("SF{order_id:010}");
                let dispatch = lifecycle::Dispatch {
                    producer: None,
                    shipment: None,
                    tracking_number: &tracking_number,
                    carrier: Some("SF"),
                };
                lifecycle::mark_shipped(shop, order_id, dispatch)
                    .await?
                    .map_err(|problem| failed("a shipment", problem.code))?;
                lifecycle::confirm_delivery(shop, order_id)
                    .await?
                    .map_err(|problem| failed("a delivery", problem.code))?;
            }
            let placed_at = month_start + Duration::days(i64::try_from(index * 5).unwrap_or(0) + 1);
            date_back(db, order_id, placed_at, shop.payout_settings().hold).await?;
        }
    }
    // Payouts once a month, each paying what was available by the month's end.
    for months_ago in (0..12u32).rev() {
        let month_end = now - Months::new(months_ago);
        let recorded = runs::record_payouts(db, month_end, false).await?;
        for made in &recorded {
            runs::confirm(db, made.id, &format!("ICBC-PAYOUT-{}", made.id))
                .await?
                .map_err(|problem| failed("a payout", problem.code))?;
            payout::Entity::update_many()
                .col_expr(payout::Column::CreatedAt, Expr::value(month_end))
                .col_expr(payout::Column::PaidAt, Expr::value(month_end + Duration::days(2)))
                .filter(payout::Column::Id.eq(made.id))
                .exec(db)
                .await?;
            if let Some(batch_id) = made.batch_id {
                payout_batch::Entity::update_many()
                    .col_expr(payout_batch::Column::CreatedAt, Expr::value(month_end))
                    .filter(payout_batch::Column::Id.eq(batch_id))
                    .exec(db)
                    .await?;
            }
        }
        summary.payouts += recorded.len();
    }
    Ok(summary)
}

/// An operator sends the order's pending bank refunds.
async fn send_bank_refunds(shop: &Shop, order_id: OrderId) -> AppResult<()> {
    let waiting = refund::Entity::find()
        .inner_join(crate::payments::entity::payment::Entity)
        .filter(crate::payments::entity::payment::Column::OrderId.eq(order_id))
        .filter(refund::Column::Status.eq(refund::RefundStatus::Pending))
        .all(&shop.db)
        .await?;
    for pending in waiting {
        bank_refunds::record_bank_refund(shop, pending.id, &format!("ICBC-BACK-{}", pending.id))
            .await?
            .map_err(|problem| failed("a bank refund", problem.code))?;
    }
    Ok(())
}

/// Moves an order's history to `placed_at`: paid an hour later, shipped the next day,
/// delivered three days after that, its earnings available after the hold.
async fn date_back(
    db: &impl ConnectionTrait,
    order_id: OrderId,
    placed_at: DateTime<Utc>,
    hold: std::time::Duration,
) -> AppResult<()> {
    let paid_at = placed_at + Duration::hours(1);
    let shipped_at = placed_at + Duration::days(1);
    let delivered_at = placed_at + Duration::days(4);
    let Some(current) = order::Entity::find_by_id(order_id).one(db).await? else {
        return Ok(());
    };
    let stamp = |at: Option<DateTime<Utc>>, to: DateTime<Utc>| at.map(|_| to);
    order::Entity::update_many()
        .col_expr(order::Column::CreatedAt, Expr::value(placed_at))
        .col_expr(order::Column::PaidAt, Expr::value(stamp(current.paid_at, paid_at)))
        .col_expr(
            order::Column::ShippedAt,
            Expr::value(stamp(current.shipped_at, shipped_at)),
        )
        .col_expr(
            order::Column::DeliveredAt,
            Expr::value(stamp(current.delivered_at, delivered_at)),
        )
        .col_expr(
            order::Column::CancelledAt,
            Expr::value(stamp(current.cancelled_at, paid_at + Duration::hours(2))),
        )
        .filter(order::Column::Id.eq(order_id))
        .exec(db)
        .await?;
    shipment::Entity::update_many()
        .col_expr(shipment::Column::ShippedAt, Expr::value(shipped_at))
        .filter(shipment::Column::OrderId.eq(order_id))
        .filter(shipment::Column::ShippedAt.is_not_null())
        .exec(db)
        .await?;
    let available_at = delivered_at + Duration::from_std(hold).map_err(|e| AppError::Internal(e.into()))?;
    earning::Entity::update_many()
        .col_expr(earning::Column::CreatedAt, Expr::value(delivered_at))
        .col_expr(earning::Column::AvailableAt, Expr::value(available_at))
        .filter(earning::Column::OrderId.eq(order_id))
        .exec(db)
        .await?;
    stock_movement::Entity::update_many()
        .col_expr(stock_movement::Column::CreatedAt, Expr::value(placed_at))
        .filter(stock_movement::Column::OrderId.eq(order_id))
        .exec(db)
        .await?;
    Ok(())
}
