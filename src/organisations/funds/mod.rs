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
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::OrganisationId;
use crate::infra::ids::{MembershipId, UserId};
use crate::infra::money::Fen;

mod counter_code;
mod spending;
pub use counter_code::{counter_code, member_of_code};
pub use spending::{allowance, give_back, given_back, purchase, refund_to_fund, release, spend, still_spent};

/// Parses a yuan amount from the API into fen, naming the field at fault.
pub fn parse_amount(text: &str, path: &[&str]) -> Result<Fen, UserError> {
    Fen::parse_yuan(text).map_err(|error| UserError::new(ErrorCode::InvalidInput, error.message()).on_field(path))
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
                UserError::new(ErrorCode::InvalidInput, "deposit-positive").on_field(&["amount"])
            ));
        }
        Err(problem) => return Ok(Err(problem)),
    };
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().count() > 100 {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidInput, "reference-length").on_field(&["reference"])
        ));
    }
    let txn = begin_write(db).await?;
    let recorded = ledger::ActiveModel {
        organisation_id: Set(organisation_id),
        kind: Set(LedgerEntryKind::Deposit),
        fund_delta_fen: Set(amount),
        grant_delta_fen: Set(Fen::ZERO),
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
            return end_write(
                txn,
                Err(
                    UserError::new(ErrorCode::DuplicateReference, "deposit-reference-recorded")
                        .on_field(&["reference"]),
                ),
            )
            .await;
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
    end_write(txn, Ok(())).await
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
                UserError::new(ErrorCode::InvalidInput, "allowance-positive").on_field(&["input", "amount"])
            ));
        }
        Err(problem) => return Ok(Err(problem)),
    };
    let occasion = request.occasion.trim().to_owned();
    if occasion.is_empty() || occasion.chars().count() > 100 {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidInput, "occasion-length").on_field(&["input", "occasion"])
        ));
    }
    let now = Utc::now();
    if request.expires_at <= now {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidInput, "allowance-expiry-future").on_field(&["input", "expiresAt"])
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
                    return end_write(
                        txn,
                        Err(UserError::new(ErrorCode::NotFound, "not-a-current-member").on_field(&[
                            "input",
                            "membershipIds",
                            &index.to_string(),
                        ])),
                    )
                    .await;
                };
                if !chosen.iter().any(|m: &&membership::Model| m.id == member.id) {
                    chosen.push(member);
                }
            }
            chosen
        }
    };
    if members.is_empty() {
        return end_write(
            txn,
            Err(UserError::new(ErrorCode::InvalidInput, "no-members-to-grant").on_field(&["input", "membershipIds"])),
        )
        .await;
    }
    let Some(total) = i64::try_from(members.len()).ok().and_then(|n| amount.checked_mul(n)) else {
        return end_write(txn, Err(UserError::new(ErrorCode::InsufficientFunds, "fund-too-small"))).await;
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
        return end_write(
            txn,
            Err(UserError::new(
                ErrorCode::InsufficientFunds,
                Message::new("fund-too-small-for-members")
                    .with("total", total)
                    .with("members", members.len()),
            )),
        )
        .await;
    }
    let cap = organisation::Entity::find_by_id(request.organisation_id)
        .one(&txn)
        .await?
        .and_then(|row| row.allowance_cap_per_member_fen);
    if let Some(cap) = cap {
        let granted_this_year: HashMap<MembershipId, Fen> = allowance_grant::Entity::find()
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
            .find(|m| granted_this_year.get(&m.id).copied().unwrap_or(Fen::ZERO) + amount > cap)
        {
            return end_write(
                txn,
                Err(UserError::new(
                    ErrorCode::CapExceeded,
                    Message::new("cap-exceeded")
                        .with("membership", over.id.0)
                        .with("cap", cap),
                )
                .on_field(&["input", "amount"])),
            )
            .await;
        }
    }
    for member in &members {
        let grant = allowance_grant::ActiveModel {
            organisation_id: Set(request.organisation_id),
            membership_id: Set(member.id),
            amount_fen: Set(amount),
            balance_fen: Set(amount),
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
            fund_delta_fen: Set(-amount),
            grant_delta_fen: Set(amount),
            grant_id: Set(Some(grant.id)),
            reference: Set(None),
            created_by: Set(Some(request.granted_by)),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    end_write(txn, Ok(members.len())).await
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
                returned += seen.balance_fen;
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
    if grant.balance_fen > Fen::ZERO {
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

pub(super) async fn add_to_fund(
    txn: &impl ConnectionTrait,
    organisation_id: OrganisationId,
    amount: Fen,
) -> AppResult<()> {
    organisation::Entity::update_many()
        .col_expr(
            organisation::Column::FundFen,
            Expr::col(organisation::Column::FundFen).add(amount),
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
