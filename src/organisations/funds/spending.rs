//! Allowance and fund money spent on orders, and given back when an order is cancelled,
//! expires or is refunded: always as the same kind of money it was spent as.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::add_to_fund;
use crate::infra::error::{AppError, AppResult};
use crate::infra::ids::OrderId;
use crate::infra::ids::RefundId;
use crate::infra::ids::{AllowanceGrantId, OrganisationId};
use crate::infra::ids::{MembershipId, UserId};
use crate::infra::money::Fen;
use crate::organisations::entity::ledger::LedgerEntryKind;
use crate::organisations::entity::{allowance_grant, ledger, organisation};

/// Pays `amount` of `order_id` from the member's unexpired grants, earliest expiry first, in
/// the caller's (the order's) transaction: a SPEND row per grant used. Each grant's balance
/// moves by a conditional update, so it never goes below zero; `false` (the caller rolls back)
/// when the grants do not cover the amount.
pub async fn spend(
    txn: &impl ConnectionTrait,
    membership_id: MembershipId,
    order_id: OrderId,
    amount: Fen,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let grants = allowance_grant::Entity::find()
        .filter(allowance_grant::Column::MembershipId.eq(membership_id))
        .filter(allowance_grant::Column::ClosedAt.is_null())
        .filter(allowance_grant::Column::ExpiresAt.gt(now))
        .filter(allowance_grant::Column::BalanceFen.gt(0))
        .order_by_asc(allowance_grant::Column::ExpiresAt)
        .order_by_asc(allowance_grant::Column::Id)
        .all(txn)
        .await?;
    let mut left = amount;
    for grant in grants {
        if left == Fen::ZERO {
            break;
        }
        let take = Ord::min(left, grant.balance_fen);
        let taken = allowance_grant::Entity::update_many()
            .col_expr(
                allowance_grant::Column::BalanceFen,
                Expr::col(allowance_grant::Column::BalanceFen).sub(take),
            )
            .filter(allowance_grant::Column::Id.eq(grant.id))
            .filter(allowance_grant::Column::BalanceFen.gte(take))
            .filter(allowance_grant::Column::ClosedAt.is_null())
            .filter(allowance_grant::Column::ExpiresAt.gt(now))
            .exec(txn)
            .await?;
        if taken.rows_affected != 1 {
            return Ok(false);
        }
        ledger::ActiveModel {
            organisation_id: Set(grant.organisation_id),
            kind: Set(LedgerEntryKind::Spend),
            fund_delta_fen: Set(Fen::ZERO),
            grant_delta_fen: Set(-take),
            grant_id: Set(Some(grant.id)),
            order_id: Set(Some(order_id)),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        left -= take;
    }
    Ok(left == Fen::ZERO)
}

/// Per grant, in spending order: what of the allowance spent on `order_id` has not been given
/// back.
async fn still_spent_per_grant(
    txn: &impl ConnectionTrait,
    order_id: OrderId,
) -> AppResult<Vec<(AllowanceGrantId, Fen)>> {
    let rows = ledger::Entity::find()
        .filter(ledger::Column::OrderId.eq(order_id))
        .order_by_asc(ledger::Column::Id)
        .all(txn)
        .await?;
    let mut spent: Vec<(AllowanceGrantId, Fen)> = Vec::new();
    for row in &rows {
        let Some(grant_id) = row.grant_id else { continue };
        let delta = match row.kind {
            LedgerEntryKind::Spend => -row.grant_delta_fen,
            LedgerEntryKind::Refund | LedgerEntryKind::Release => -(row.grant_delta_fen + row.fund_delta_fen),
            LedgerEntryKind::Deposit
            | LedgerEntryKind::Grant
            | LedgerEntryKind::Return
            | LedgerEntryKind::Purchase
            | LedgerEntryKind::FundRefund => Fen::ZERO,
        };
        match spent.iter_mut().find(|(id, _)| *id == grant_id) {
            Some((_, fen)) => *fen += delta,
            None => spent.push((grant_id, delta)),
        }
    }
    Ok(spent)
}

/// What of the allowance spent on `order_id` has not been given back.
pub async fn still_spent(txn: &impl ConnectionTrait, order_id: OrderId) -> AppResult<Fen> {
    Ok(still_spent_per_grant(txn, order_id)
        .await?
        .iter()
        .map(|(_, fen)| *fen)
        .sum())
}

/// Of the allowance spent on `order_id`, what went back by refunds (REFUND rows) and what was
/// released when the order was cancelled unpaid (RELEASE rows).
pub async fn given_back(txn: &impl ConnectionTrait, order_id: OrderId) -> AppResult<(Fen, Fen)> {
    let rows = ledger::Entity::find()
        .filter(ledger::Column::OrderId.eq(order_id))
        .filter(ledger::Column::Kind.is_in([LedgerEntryKind::Refund, LedgerEntryKind::Release]))
        .all(txn)
        .await?;
    let sum = |kind: LedgerEntryKind| -> Fen {
        rows.iter()
            .filter(|row| row.kind == kind)
            .map(|row| row.grant_delta_fen + row.fund_delta_fen)
            .sum()
    };
    Ok((sum(LedgerEntryKind::Refund), sum(LedgerEntryKind::Release)))
}

/// Gives all the allowance still spent on `order_id` back (RELEASE rows), in the transaction
/// that cancels the order before the rest of a split payment arrived.
pub async fn release(txn: &impl ConnectionTrait, order_id: OrderId, now: DateTime<Utc>) -> AppResult<()> {
    let spent = still_spent(txn, order_id).await?;
    if spent > Fen::ZERO {
        give_back(txn, order_id, None, spent, now).await?;
    }
    Ok(())
}

/// Gives `amount` of the allowance spent on `order_id` back, in the transaction deciding the
/// refund (`refund_id`, REFUND rows) or cancelling the unpaid order (RELEASE rows): to the grants
/// it came from, the last spent first, and to the fund for a grant that has expired or closed
/// (its member left) meanwhile. Never more than is still spent, per grant.
pub async fn give_back(
    txn: &impl ConnectionTrait,
    order_id: OrderId,
    refund_id: Option<RefundId>,
    amount: Fen,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let spent = still_spent_per_grant(txn, order_id).await?;
    let mut left = amount;
    for (grant_id, still) in spent.into_iter().rev() {
        if left == Fen::ZERO {
            break;
        }
        let back = Ord::min(left, still);
        if back <= Fen::ZERO {
            continue;
        }
        let Some(grant) = allowance_grant::Entity::find_by_id(grant_id).one(txn).await? else {
            continue;
        };
        let to_grant = allowance_grant::Entity::update_many()
            .col_expr(
                allowance_grant::Column::BalanceFen,
                Expr::col(allowance_grant::Column::BalanceFen).add(back),
            )
            .filter(allowance_grant::Column::Id.eq(grant_id))
            .filter(allowance_grant::Column::ClosedAt.is_null())
            .filter(allowance_grant::Column::ExpiresAt.gt(now))
            .exec(txn)
            .await?
            .rows_affected
            == 1;
        if !to_grant {
            add_to_fund(txn, grant.organisation_id, back).await?;
        }
        ledger::ActiveModel {
            organisation_id: Set(grant.organisation_id),
            kind: Set(if refund_id.is_some() {
                LedgerEntryKind::Refund
            } else {
                LedgerEntryKind::Release
            }),
            fund_delta_fen: Set(if to_grant { Fen::ZERO } else { back }),
            grant_delta_fen: Set(if to_grant { back } else { Fen::ZERO }),
            grant_id: Set(Some(grant_id)),
            order_id: Set(Some(order_id)),
            refund_id: Set(refund_id),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        left -= back;
    }
    if left != Fen::ZERO {
        return Err(AppError::Internal(anyhow::anyhow!(
            "order {order_id}: refunding more allowance than was spent"
        )));
    }
    Ok(())
}

/// Pays `amount` for the bulk order `order_id` from the organisation's fund, in the order's
/// transaction: a PURCHASE row, and the fund taken by a conditional update (`fund_fen >= amount`),
/// so concurrent purchases and grants never take it below zero. `false` (the caller rolls back)
/// when the fund holds less.
pub async fn purchase(
    txn: &impl ConnectionTrait,
    organisation_id: OrganisationId,
    order_id: OrderId,
    amount: Fen,
    placed_by: UserId,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let taken = organisation::Entity::update_many()
        .col_expr(
            organisation::Column::FundFen,
            Expr::col(organisation::Column::FundFen).sub(amount.get()),
        )
        .filter(organisation::Column::Id.eq(organisation_id))
        .filter(organisation::Column::FundFen.gte(amount.get()))
        .exec(txn)
        .await?;
    if taken.rows_affected != 1 {
        return Ok(false);
    }
    ledger::ActiveModel {
        organisation_id: Set(organisation_id),
        kind: Set(LedgerEntryKind::Purchase),
        fund_delta_fen: Set(-amount),
        grant_delta_fen: Set(Fen::ZERO),
        order_id: Set(Some(order_id)),
        created_by: Set(Some(placed_by)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(true)
}

/// Gives `amount` of a fund-paid bulk order back to the fund it came from (a FUND_REFUND row),
/// in the transaction deciding the refund `refund_id`.
pub async fn refund_to_fund(
    txn: &impl ConnectionTrait,
    order_id: OrderId,
    refund_id: RefundId,
    amount: Fen,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let purchase = ledger::Entity::find()
        .filter(ledger::Column::OrderId.eq(order_id))
        .filter(ledger::Column::Kind.eq(LedgerEntryKind::Purchase))
        .one(txn)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order {order_id} was not paid from a fund")))?;
    add_to_fund(txn, purchase.organisation_id, amount).await?;
    ledger::ActiveModel {
        organisation_id: Set(purchase.organisation_id),
        kind: Set(LedgerEntryKind::FundRefund),
        fund_delta_fen: Set(amount),
        grant_delta_fen: Set(Fen::ZERO),
        order_id: Set(Some(order_id)),
        refund_id: Set(Some(refund_id)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// What the member may spend now: the balances of its grants that have not expired.
pub async fn allowance(db: &impl ConnectionTrait, membership_id: MembershipId, now: DateTime<Utc>) -> AppResult<Fen> {
    let grants = allowance_grant::Entity::find()
        .filter(allowance_grant::Column::MembershipId.eq(membership_id))
        .filter(allowance_grant::Column::ClosedAt.is_null())
        .filter(allowance_grant::Column::ExpiresAt.gt(now))
        .all(db)
        .await?;
    Ok(grants.iter().map(|grant| grant.balance_fen).sum())
}
