//! What must hold after every step: the shop agrees with the model (statuses, allowances,
//! stock, the session's quota), and the ledgers agree with each other, to the fen.

use chrono::Utc;
use huakai::orders::OrderStatus;
use huakai::orders::entity::{order, order_line, order_line_attribution};
use huakai::organisations::entity::ledger::LedgerEntryKind;
use huakai::organisations::entity::{allowance_grant, ledger, organisation};
use huakai::payments::PaymentStatus;
use huakai::payments::entity::refund::RefundStatus;
use huakai::payments::entity::{payment, refund, refund_line};
use huakai::payouts::EarningKind;
use huakai::payouts::entity::{earning, host_commission};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};

use super::sold::{Sold, lines_add_up, shipping_adds_up};
use super::state::Model;
use super::world::{Case, World};

pub type Checked = Result<(), String>;

pub(super) fn ensure(holds: bool, problem: impl FnOnce() -> String) -> Checked {
    if holds { Ok(()) } else { Err(problem()) }
}

fn db_error(error: impl std::fmt::Debug) -> String {
    format!("the database failed: {error:?}")
}

/// Everything below, in turn.
pub async fn check(world: &World, case: &Case, model: &Model) -> Checked {
    let ids: Vec<_> = model.orders.iter().map(|o| o.id).collect();
    let orders = order::Entity::find()
        .filter(order::Column::Id.is_in(ids))
        .all(world.app.db())
        .await
        .map_err(db_error)?;
    for expected in &model.orders {
        let status = orders.iter().find(|o| o.id == expected.id).map(|o| o.status);
        ensure(status == Some(expected.status), || {
            format!(
                "order {} is {status:?}, the model says {:?}",
                expected.id, expected.status
            )
        })?;
    }
    let item = huakai::livestream::entity::live_session_item::Entity::find_by_id(case.session_item)
        .one(world.app.db())
        .await
        .map_err(db_error)?
        .ok_or("the session item vanished")?;
    ensure(i64::from(item.remaining) == model.quota_left, || {
        format!(
            "the quota has {} left, the model says {}",
            item.remaining, model.quota_left
        )
    })?;
    orders_add_up(world, model, &orders).await?;
    allowances_add_up(world, case, model).await?;
    stock_adds_up(world, model).await?;
    payouts_add_up(world).await
}

/// Per order: money in (cash that arrived, allowance spent and not released) equals what went
/// back (refunds not refused) plus what the ledgers hold (delivered) or the order still holds
/// (paid, not delivered); refunds never give back more allowance than was spent nor more cash
/// than arrived; each delivered line's entries reverse its refunds at the sale's rates.
async fn orders_add_up(world: &World, model: &Model, orders: &[order::Model]) -> Checked {
    let db = world.app.db();
    let ids: Vec<_> = model.orders.iter().map(|o| o.id).collect();
    let payments = payment::Entity::find()
        .filter(payment::Column::OrderId.is_in(ids.clone()))
        .all(db)
        .await
        .map_err(db_error)?;
    let refunds = refund::Entity::find()
        .filter(refund::Column::PaymentId.is_in(payments.iter().map(|p| p.id)))
        .all(db)
        .await
        .map_err(db_error)?;
    let parts = refund_line::Entity::find()
        .filter(refund_line::Column::RefundId.is_in(refunds.iter().map(|r| r.id)))
        .all(db)
        .await
        .map_err(db_error)?;
    let fund_rows = ledger::Entity::find()
        .filter(ledger::Column::OrderId.is_in(ids.clone()))
        .all(db)
        .await
        .map_err(db_error)?;
    let earnings = earning::Entity::find()
        .filter(earning::Column::OrderId.is_in(ids.clone()))
        .all(db)
        .await
        .map_err(db_error)?;
    let sold = Sold {
        lines: order_line::Entity::find()
            .filter(order_line::Column::OrderId.is_in(ids.clone()))
            .all(db)
            .await
            .map_err(db_error)?,
        credited: order_line_attribution::Entity::find()
            .filter(order_line_attribution::Column::OrderId.is_in(ids.clone()))
            .all(db)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|a| (a.order_line_id, a.rate_bps))
            .collect(),
        host_entries: host_commission::Entity::find()
            .filter(host_commission::Column::OrderId.is_in(ids))
            .all(db)
            .await
            .map_err(db_error)?,
    };
    for expected in &model.orders {
        let row = orders.iter().find(|o| o.id == expected.id).ok_or("an order vanished")?;
        let pay = payments.iter().find(|p| p.order_id == row.id);
        let settled = pay.is_some_and(|p| p.status.is_settled());
        let cash_in = if settled {
            row.total_fen.get() - row.allowance_fen.get()
        } else {
            0
        };
        let live: Vec<_> = refunds
            .iter()
            .filter(|r| pay.is_some_and(|p| p.id == r.payment_id) && r.status != RefundStatus::Failed)
            .collect();
        let refunded: i64 = live.iter().map(|r| r.amount_fen.get()).sum();
        let kind_sum = |kind: LedgerEntryKind| -> i64 {
            fund_rows
                .iter()
                .filter(|r| r.order_id == Some(row.id) && r.kind == kind)
                .map(|r| r.grant_delta_fen.get() + r.fund_delta_fen.get())
                .sum()
        };
        let spent = -kind_sum(LedgerEntryKind::Spend);
        let released = kind_sum(LedgerEntryKind::Release);
        let allowance_refunded = kind_sum(LedgerEntryKind::Refund);
        let id = row.id;
        ensure(spent == row.allowance_fen.get(), || {
            format!(
                "order {id}: {spent} of allowance spent, {} recorded",
                row.allowance_fen.get()
            )
        })?;
        ensure(allowance_refunded + released <= spent, || {
            format!("order {id}: {allowance_refunded} refunded and {released} released of {spent} allowance")
        })?;
        ensure(refunded - allowance_refunded <= cash_in, || {
            format!(
                "order {id}: {} refunded as cash, {cash_in} came as cash: allowance became cash",
                refunded - allowance_refunded
            )
        })?;
        if let Some(pay) = pay {
            ensure(pay.refunded_fen.get() == refunded, || {
                format!(
                    "order {id}: the payment counts {} refunded, its refunds {refunded}",
                    pay.refunded_fen.get()
                )
            })?;
            let fully = pay.status == PaymentStatus::Refunded;
            ensure(!fully || pay.amount_fen.get() - released <= refunded, || {
                format!(
                    "order {id}: REFUNDED with {refunded} of {} back",
                    pay.amount_fen.get() - released
                )
            })?;
        }
        for r in &live {
            let split: i64 = parts
                .iter()
                .filter(|p| p.refund_id == r.id)
                .map(|p| p.amount_fen.get())
                .sum();
            ensure(split + r.shipping_fen.get() == r.amount_fen.get(), || {
                format!(
                    "refund {} of {} is split as {split} of goods and {} of shipping",
                    r.id,
                    r.amount_fen.get(),
                    r.shipping_fen.get()
                )
            })?;
        }
        let mine: Vec<_> = earnings.iter().filter(|e| e.order_id == id).collect();
        let in_ledger: i64 = mine.iter().map(|e| e.line_total_fen.get()).sum();
        let delivered = row.delivered_at.is_some();
        ensure(delivered || mine.is_empty(), || {
            format!("order {id} has earnings before delivery")
        })?;
        let held = if delivered {
            0
        } else if row.paid_at.is_some() {
            row.total_fen.get() - refunded
        } else if row.status == OrderStatus::PendingPayment {
            spent - released
        } else {
            0
        };
        ensure(cash_in + spent - released == refunded + in_ledger + held, || {
            format!(
                "order {id} ({:?}): {cash_in} cash and {} allowance came in; {refunded} went back, \
                 {in_ledger} is in the ledgers, {held} still with the order",
                row.status,
                spent - released
            )
        })?;
        let live_ids: Vec<_> = live.iter().map(|r| r.id).collect();
        let line_refunds: Vec<_> = parts.iter().filter(|p| live_ids.contains(&p.refund_id)).collect();
        let (parcels, goods): (Vec<&earning::Model>, Vec<&earning::Model>) = mine
            .iter()
            .partition(|e| matches!(e.kind, EarningKind::Shipping | EarningKind::ShippingRefund));
        let shipping_back: i64 = live.iter().map(|r| r.shipping_fen.get()).sum();
        shipping_adds_up(row, delivered, shipping_back, &parcels)?;
        lines_add_up(&sold, expected, &line_refunds, &goods)?;
        stripe_agrees(world, expected, pay, &refunds)?;
    }
    Ok(())
}

/// Stripe holds exactly the card refunds the shop recorded as sent, never more than it took.
fn stripe_agrees(
    world: &World,
    expected: &super::state::Order,
    pay: Option<&payment::Model>,
    refunds: &[refund::Model],
) -> Checked {
    let (Some(intent), Some(pay)) = (&expected.intent, pay) else {
        return Ok(());
    };
    let at_stripe: Vec<i64> = world
        .stripe
        .refunds()
        .iter()
        .filter(|r| r["payment_intent"] == intent.as_str())
        .filter_map(|r| r["amount"].as_i64())
        .collect();
    let received = world
        .stripe
        .payment_intent(intent)
        .and_then(|i| i["amount_received"].as_i64())
        .unwrap_or(0);
    let ours: i64 = refunds
        .iter()
        .filter(|r| r.payment_id == pay.id && r.stripe_refund_id.is_some() && r.status == RefundStatus::Succeeded)
        .map(|r| r.amount_fen.get())
        .sum();
    let theirs: i64 = at_stripe.iter().sum();
    ensure(theirs <= received && theirs == ours, || {
        format!(
            "order {}: Stripe refunded {theirs} of {received} in {} refunds, the shop sent {ours}",
            expected.id,
            at_stripe.len()
        )
    })
}

/// The case's fund and grants are the sums of their ledger rows, never below zero nor above
/// what was deposited or granted, and each member may spend what the model says.
async fn allowances_add_up(world: &World, case: &Case, model: &Model) -> Checked {
    let db = world.app.db();
    let rows = ledger::Entity::find()
        .filter(ledger::Column::OrganisationId.eq(case.organisation))
        .all(db)
        .await
        .map_err(db_error)?;
    let fund = organisation::Entity::find_by_id(case.organisation)
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or("the organisation vanished")?
        .fund_fen
        .get();
    let deposited: i64 = rows
        .iter()
        .filter(|r| r.kind == LedgerEntryKind::Deposit)
        .map(|r| r.fund_delta_fen.get())
        .sum();
    let deltas: i64 = rows.iter().map(|r| r.fund_delta_fen.get()).sum();
    ensure(fund == deltas && (0..=deposited).contains(&fund), || {
        format!("the fund holds {fund}: its rows say {deltas}, {deposited} was deposited")
    })?;
    let grants = allowance_grant::Entity::find()
        .filter(allowance_grant::Column::OrganisationId.eq(case.organisation))
        .all(db)
        .await
        .map_err(db_error)?;
    let now = Utc::now();
    for (index, (_, membership)) in case.members.iter().enumerate() {
        let spendable: i64 = grants
            .iter()
            .filter(|g| g.membership_id == *membership && g.closed_at.is_none() && g.expires_at > now)
            .map(|g| g.balance_fen.get())
            .sum();
        ensure(spendable == model.allowance[index], || {
            format!(
                "member {index} may spend {spendable}, the model says {}",
                model.allowance[index]
            )
        })?;
    }
    for grant in grants {
        let deltas: i64 = rows
            .iter()
            .filter(|r| r.grant_id == Some(grant.id))
            .map(|r| r.grant_delta_fen.get())
            .sum();
        ensure(
            grant.balance_fen.get() == deltas && (0..=grant.amount_fen.get()).contains(&grant.balance_fen.get()),
            || {
                format!(
                    "grant {} holds {} of {}: its rows say {deltas}",
                    grant.id,
                    grant.balance_fen.get(),
                    grant.amount_fen.get()
                )
            },
        )?;
    }
    Ok(())
}

/// Runs `sql` (rows of BIGINT columns) on the shop's database.
async fn figures(world: &World, sql: &str) -> Result<Vec<Vec<i64>>, String> {
    let db = world.app.db();
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql.to_owned()))
        .await
        .map_err(db_error)?;
    Ok(rows
        .iter()
        .map(|row| {
            (0..8)
                .map_while(|index| row.try_get_by_index::<i64>(index).ok())
                .collect()
        })
        .collect())
}

/// For both goods: on-hand stock is what the model says and what the stock ledger adds up to,
/// the reserved part too, within bounds, and what is reserved is what unpaid orders and live
/// sessions' quotas hold (over the whole shop).
async fn stock_adds_up(world: &World, model: &Model) -> Checked {
    let (lily, other) = (world.lily.variant, world.other.variant);
    let sql = format!(
        "SELECT CAST(s.variant_id AS BIGINT), CAST(s.on_hand AS BIGINT), CAST(s.reserved AS BIGINT),
           (SELECT CAST(COALESCE(SUM(m.on_hand_delta), 0) AS BIGINT) FROM stock_movements m
             WHERE m.variant_id = s.variant_id),
           (SELECT CAST(COALESCE(SUM(m.reserved_delta), 0) AS BIGINT) FROM stock_movements m
             WHERE m.variant_id = s.variant_id),
           (SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM order_lines l
             JOIN orders o ON o.id = l.order_id WHERE l.variant_id = s.variant_id AND o.status = 'PENDING_PAYMENT')
           + (SELECT CAST(COALESCE(SUM(i.remaining), 0) AS BIGINT) FROM live_session_items i
             WHERE i.variant_id = s.variant_id)
         FROM stock_levels s WHERE s.variant_id IN ({lily}, {other})"
    );
    let rows = figures(world, &sql).await?;
    ensure(rows.len() == 2, || format!("stock figures: {rows:?}"))?;
    for row in rows {
        let [variant, on_hand, reserved, on_hand_rows, reserved_rows, held] = row.as_slice() else {
            return Err(format!("a stock row: {row:?}"));
        };
        let expected = model.on_hand[usize::from(*variant != lily.0)];
        ensure(
            *on_hand == expected
                && (on_hand, reserved) == (on_hand_rows, reserved_rows)
                && 0 <= *reserved
                && reserved <= on_hand
                && reserved == held,
            || {
                format!(
                    "variant {variant}: on hand {on_hand} (the model says {expected}), reserved {reserved}; its \
                     ledger says {on_hand_rows}, {reserved_rows}; unpaid orders and quotas hold {held}"
                )
            },
        )?;
    }
    Ok(())
}

/// Every payout pays exactly the entries it claimed, and a Stripe transfer is made once per
/// payout, for its amount (over the whole shop).
async fn payouts_add_up(world: &World) -> Checked {
    let rows = figures(
        world,
        "SELECT CAST(p.id AS BIGINT), CAST(p.amount_fen AS BIGINT),
           CAST(COALESCE(e.claimed, 0) + COALESCE(h.claimed, 0) AS BIGINT)
         FROM payouts p
         LEFT JOIN (SELECT payout_id, SUM(amount_fen) AS claimed FROM earnings
                    WHERE payout_id IS NOT NULL GROUP BY payout_id) e ON e.payout_id = p.id
         LEFT JOIN (SELECT payout_id, SUM(amount_fen) AS claimed FROM host_commissions
                    WHERE payout_id IS NOT NULL GROUP BY payout_id) h ON h.payout_id = p.id
         WHERE p.status <> 'FAILED'",
    )
    .await?;
    let transfers = world.stripe.transfers();
    for row in rows {
        let [id, amount, claimed] = row.as_slice() else {
            return Err(format!("a payout row: {row:?}"));
        };
        ensure(amount == claimed, || {
            format!("payout {id} is {amount} for entries of {claimed}")
        })?;
        let group = format!("huakai-payout-{id}");
        let sent: Vec<i64> = transfers
            .iter()
            .filter(|t| t["transfer_group"] == group.as_str())
            .filter_map(|t| t["amount"].as_i64())
            .collect();
        ensure(sent.len() <= 1 && sent.iter().all(|s| s == amount), || {
            format!("payout {id} of {amount}: Stripe transfers {sent:?}")
        })?;
    }
    Ok(())
}
