//! An organisation's money: deposits into its fund, allowances granted from it, allowance
//! spent on orders and refunded, and unspent allowance returned to it (expiry, leaving). Every movement is one transaction that writes ledger rows and
//! moves the balances they sum to with conditional updates (`fund_fen >= x`, `balance_fen = seen`),
//! backed by CHECKs, so no balance goes below zero however calls race.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr,
};

use super::entity::ledger::LedgerEntryKind;
use super::entity::{allowance_grant, ledger, organisation};
use crate::accounts::entity::membership;
use crate::infra::db::begin_write;
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::i18n::Message;
use crate::infra::ids::OrderId;
use crate::infra::ids::RefundId;
use crate::infra::ids::{AllowanceGrantId, OrganisationId};
use crate::infra::ids::{MembershipId, UserId};
use crate::infra::money::Fen;

/// Parses a yuan amount from the API into fen, naming the field at fault.
pub fn parse_amount(text: &str, path: &[&str]) -> Result<Fen, UserError> {
    Fen::parse_yuan(text).map_err(|error| UserError::new("INVALID_INPUT", error.message()).on_field(path))
}

/// `recordOrganisationDeposit` (operator): a bank transfer the organisation paid in advance.
/// A bank reference is recorded once per organisation.
pub async fn record_deposit(
    db: &DatabaseConnection,
    organisation_id: OrganisationId,
    amount: &str,
    reference: &str,
    recorded_by: UserId,
) -> Outcome<()> {
    let amount = match parse_amount(amount, &["amount"]) {
        Ok(amount) if amount > Fen::ZERO => amount,
        Ok(_) => {
            return Ok(Err(
                UserError::new("INVALID_INPUT", "deposit-positive").on_field(&["amount"])
            ));
        }
        Err(problem) => return Ok(Err(problem)),
    };
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().count() > 100 {
        return Ok(Err(
            UserError::new("INVALID_INPUT", "reference-length").on_field(&["reference"])
        ));
    }
    let txn = begin_write(db).await?;
    let recorded = ledger::ActiveModel {
        organisation_id: Set(organisation_id),
        kind: Set(LedgerEntryKind::Deposit),
        fund_delta_fen: Set(amount.get()),
        grant_delta_fen: Set(0),
        grant_id: Set(None),
        reference: Set(Some(reference.to_owned())),
        created_by: Set(Some(recorded_by)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    match recorded {
        Ok(_) => {}
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            txn.rollback().await?;
            return Ok(Err(
                UserError::new("DUPLICATE_REFERENCE", "deposit-reference-recorded").on_field(&["reference"])
            ));
        }
        Err(error) => return Err(error.into()),
    }
    organisation::Entity::update_many()
        .col_expr(
            organisation::Column::FundFen,
            Expr::col(organisation::Column::FundFen).add(amount.get()),
        )
        .filter(organisation::Column::Id.eq(organisation_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Ok(()))
}

pub struct GrantRequest {
    pub organisation_id: OrganisationId,
    /// None: every current member.
    pub membership_ids: Option<Vec<MembershipId>>,
    pub amount: String,
    pub occasion: String,
    pub expires_at: DateTime<Utc>,
    pub granted_by: UserId,
}

/// When the calendar year of `at` began in China (UTC+8).
fn china_year_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let year = (at + TimeDelta::hours(8)).year();
    chrono::NaiveDate::from_ymd_opt(year, 1, 1)
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map_or(at, |midnight| midnight.and_utc() - TimeDelta::hours(8))
}

/// `grantAllowance` (its admin): `amount` to each of the members, from the fund. All or none:
/// the fund must hold the whole (`INSUFFICIENT_FUNDS`) and no member may pass the yearly cap
/// (`CAP_EXCEEDED`, naming the member). The fund is taken first with a conditional update, which
/// also makes concurrent grants of the organisation count their caps one after the other.
pub async fn grant(db: &DatabaseConnection, request: GrantRequest) -> Outcome<usize> {
    let amount = match parse_amount(&request.amount, &["input", "amount"]) {
        Ok(amount) if amount > Fen::ZERO => amount,
        Ok(_) => {
            return Ok(Err(
                UserError::new("INVALID_INPUT", "allowance-positive").on_field(&["input", "amount"])
            ));
        }
        Err(problem) => return Ok(Err(problem)),
    };
    let occasion = request.occasion.trim().to_owned();
    if occasion.is_empty() || occasion.chars().count() > 100 {
        return Ok(Err(
            UserError::new("INVALID_INPUT", "occasion-length").on_field(&["input", "occasion"])
        ));
    }
    let now = Utc::now();
    if request.expires_at <= now {
        return Ok(Err(
            UserError::new("INVALID_INPUT", "allowance-expiry-future").on_field(&["input", "expiresAt"])
        ));
    }
    let txn = begin_write(db).await?;
    let current: Vec<membership::Model> = membership::Entity::find()
        .filter(membership::Column::OrganisationId.eq(request.organisation_id))
        .filter(membership::Column::EndedAt.is_null())
        .all(&txn)
        .await?;
    let members: Vec<&membership::Model> = match &request.membership_ids {
        None => current.iter().collect(),
        Some(ids) => {
            let mut chosen = Vec::with_capacity(ids.len());
            for (index, id) in ids.iter().enumerate() {
                let Some(member) = current.iter().find(|m| m.id == *id) else {
                    txn.rollback().await?;
                    return Ok(Err(UserError::new("NOT_FOUND", "not-a-current-member").on_field(&[
                        "input",
                        "membershipIds",
                        &index.to_string(),
                    ])));
                };
                if !chosen.iter().any(|m: &&membership::Model| m.id == member.id) {
                    chosen.push(member);
                }
            }
            chosen
        }
    };
    if members.is_empty() {
        txn.rollback().await?;
        return Ok(Err(
            UserError::new("INVALID_INPUT", "no-members-to-grant").on_field(&["input", "membershipIds"])
        ));
    }
    let Some(total) = i64::try_from(members.len()).ok().and_then(|n| amount.checked_mul(n)) else {
        txn.rollback().await?;
        return Ok(Err(UserError::new("INSUFFICIENT_FUNDS", "fund-too-small")));
    };
    let taken = organisation::Entity::update_many()
        .col_expr(
            organisation::Column::FundFen,
            Expr::col(organisation::Column::FundFen).sub(total.get()),
        )
        .filter(organisation::Column::Id.eq(request.organisation_id))
        .filter(organisation::Column::FundFen.gte(total.get()))
        .exec(&txn)
        .await?;
    if taken.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(Err(UserError::new(
            "INSUFFICIENT_FUNDS",
            Message::new("fund-too-small-for-members")
                .with("total", total)
                .with("members", members.len()),
        )));
    }
    let cap = organisation::Entity::find_by_id(request.organisation_id)
        .one(&txn)
        .await?
        .and_then(|row| row.allowance_cap_per_member_fen);
    if let Some(cap) = cap {
        let granted_this_year: HashMap<MembershipId, i64> = allowance_grant::Entity::find()
            .filter(allowance_grant::Column::MembershipId.is_in(members.iter().map(|m| m.id)))
            .filter(allowance_grant::Column::CreatedAt.gte(china_year_start(now)))
            .all(&txn)
            .await?
            .into_iter()
            .fold(HashMap::new(), |mut sums, grant| {
                *sums.entry(grant.membership_id).or_default() += grant.amount_fen;
                sums
            });
        if let Some(over) = members
            .iter()
            .find(|m| granted_this_year.get(&m.id).copied().unwrap_or(0) + amount.get() > cap)
        {
            txn.rollback().await?;
            return Ok(Err(UserError::new(
                "CAP_EXCEEDED",
                Message::new("cap-exceeded")
                    .with("membership", over.id.0)
                    .with("cap", Fen::new(cap)),
            )
            .on_field(&["input", "amount"])));
        }
    }
    for member in &members {
        let grant = allowance_grant::ActiveModel {
            organisation_id: Set(request.organisation_id),
            membership_id: Set(member.id),
            amount_fen: Set(amount.get()),
            balance_fen: Set(amount.get()),
            occasion: Set(occasion.clone()),
            expires_at: Set(request.expires_at),
            granted_by: Set(request.granted_by),
            created_at: Set(now),
            closed_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        ledger::ActiveModel {
            organisation_id: Set(request.organisation_id),
            kind: Set(LedgerEntryKind::Grant),
            fund_delta_fen: Set(-amount.get()),
            grant_delta_fen: Set(amount.get()),
            grant_id: Set(Some(grant.id)),
            reference: Set(None),
            created_by: Set(Some(request.granted_by)),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(Ok(members.len()))
}

/// Returns what is left of the membership's open grants to the fund and closes them; call it
/// in the transaction that ends the membership.
pub async fn return_unspent(
    txn: &impl ConnectionTrait,
    membership_id: MembershipId,
    now: DateTime<Utc>,
) -> AppResult<Fen> {
    let open = allowance_grant::Entity::find()
        .filter(allowance_grant::Column::MembershipId.eq(membership_id))
        .filter(allowance_grant::Column::ClosedAt.is_null())
        .all(txn)
        .await?;
    let mut returned = Fen::ZERO;
    for grant in open {
        let mut seen = grant;
        // A refund landing meanwhile moves the balance: read it again, so that a grant does
        // not stay open (and take refunds) for a member who left.
        for _ in 0..5 {
            if close(txn, &seen, now).await? {
                returned = Fen::new(returned.get() + seen.balance_fen);
                break;
            }
            match allowance_grant::Entity::find_by_id(seen.id).one(txn).await? {
                Some(fresh) if fresh.closed_at.is_none() => seen = fresh,
                _ => break,
            }
        }
    }
    Ok(returned)
}

/// Empties `grant` into the fund and closes it, once: the conditional update on the balance it
/// was seen with fails if money was spent or refunded meanwhile (nothing is returned twice, and
/// the caller may try again). Whether it closed it.
async fn close(txn: &impl ConnectionTrait, grant: &allowance_grant::Model, now: DateTime<Utc>) -> AppResult<bool> {
    let emptied = allowance_grant::Entity::update_many()
        .col_expr(allowance_grant::Column::BalanceFen, Expr::value(0))
        .col_expr(allowance_grant::Column::ClosedAt, Expr::value(now))
        .filter(allowance_grant::Column::Id.eq(grant.id))
        .filter(allowance_grant::Column::BalanceFen.eq(grant.balance_fen))
        .filter(allowance_grant::Column::ClosedAt.is_null())
        .exec(txn)
        .await?;
    if emptied.rows_affected != 1 {
        return Ok(false);
    }
    if grant.balance_fen > 0 {
        ledger::ActiveModel {
            organisation_id: Set(grant.organisation_id),
            kind: Set(LedgerEntryKind::Return),
            fund_delta_fen: Set(grant.balance_fen),
            grant_delta_fen: Set(-grant.balance_fen),
            grant_id: Set(Some(grant.id)),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        add_to_fund(txn, grant.organisation_id, grant.balance_fen).await?;
    }
    Ok(true)
}

async fn add_to_fund(txn: &impl ConnectionTrait, organisation_id: OrganisationId, fen: i64) -> AppResult<()> {
    organisation::Entity::update_many()
        .col_expr(
            organisation::Column::FundFen,
            Expr::col(organisation::Column::FundFen).add(fen),
        )
        .filter(organisation::Column::Id.eq(organisation_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// The expiry worker's round: grants past their expiry return what is left to the fund and
/// close, each in its own transaction. Returns how many closed.
pub async fn expire_grants(db: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<usize> {
    let due = allowance_grant::Entity::find()
        .filter(allowance_grant::Column::ClosedAt.is_null())
        .filter(allowance_grant::Column::ExpiresAt.lte(now))
        .order_by_asc(allowance_grant::Column::Id)
        .limit(500)
        .all(db)
        .await?;
    let mut closed = 0;
    for grant in due {
        let txn = begin_write(db).await?;
        if close(&txn, &grant, now).await? {
            closed += 1;
        }
        txn.commit().await?;
    }
    Ok(closed)
}

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
    let mut left = amount.get();
    for grant in grants {
        if left == 0 {
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
            fund_delta_fen: Set(0),
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
    Ok(left == 0)
}

/// Per grant, in spending order: what of the allowance spent on `order_id` has not been given
/// back.
async fn still_spent_per_grant(
    txn: &impl ConnectionTrait,
    order_id: OrderId,
) -> AppResult<Vec<(AllowanceGrantId, i64)>> {
    let rows = ledger::Entity::find()
        .filter(ledger::Column::OrderId.eq(order_id))
        .order_by_asc(ledger::Column::Id)
        .all(txn)
        .await?;
    let mut spent: Vec<(AllowanceGrantId, i64)> = Vec::new();
    for row in &rows {
        let Some(grant_id) = row.grant_id else { continue };
        let delta = match row.kind {
            LedgerEntryKind::Spend => -row.grant_delta_fen,
            LedgerEntryKind::Refund | LedgerEntryKind::Release => -(row.grant_delta_fen + row.fund_delta_fen),
            LedgerEntryKind::Deposit
            | LedgerEntryKind::Grant
            | LedgerEntryKind::Return
            | LedgerEntryKind::Purchase
            | LedgerEntryKind::FundRefund => 0,
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
    Ok(Fen::new(
        still_spent_per_grant(txn, order_id)
            .await?
            .iter()
            .map(|(_, fen)| fen)
            .sum(),
    ))
}

/// Of the allowance spent on `order_id`, what went back by refunds (REFUND rows) and what was
/// released when the order was cancelled unpaid (RELEASE rows).
pub async fn given_back(txn: &impl ConnectionTrait, order_id: OrderId) -> AppResult<(Fen, Fen)> {
    let rows = ledger::Entity::find()
        .filter(ledger::Column::OrderId.eq(order_id))
        .filter(ledger::Column::Kind.is_in([LedgerEntryKind::Refund, LedgerEntryKind::Release]))
        .all(txn)
        .await?;
    let sum = |kind: LedgerEntryKind| {
        Fen::new(
            rows.iter()
                .filter(|row| row.kind == kind)
                .map(|row| row.grant_delta_fen + row.fund_delta_fen)
                .sum(),
        )
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
    let mut left = amount.get();
    for (grant_id, still) in spent.into_iter().rev() {
        if left == 0 {
            break;
        }
        let back = Ord::min(left, still);
        if back <= 0 {
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
            fund_delta_fen: Set(if to_grant { 0 } else { back }),
            grant_delta_fen: Set(if to_grant { back } else { 0 }),
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
    if left != 0 {
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
        fund_delta_fen: Set(-amount.get()),
        grant_delta_fen: Set(0),
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
    add_to_fund(txn, purchase.organisation_id, amount.get()).await?;
    ledger::ActiveModel {
        organisation_id: Set(purchase.organisation_id),
        kind: Set(LedgerEntryKind::FundRefund),
        fund_delta_fen: Set(amount.get()),
        grant_delta_fen: Set(0),
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
    Ok(Fen::new(grants.iter().map(|grant| grant.balance_fen).sum()))
}
