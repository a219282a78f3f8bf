//! Organisations, admins, invites and members, and pledge progress. Every change is one
//! transaction whose state changes are conditional (an invite is used once, a membership ends
//! once); unique keys decide races (one current organisation per user, one admin seat per user).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryTrait, Set,
    SqlErr,
};

use super::OrganisationKind;
use super::entity::{invite, organisation, organisation_admin, pledge};
use super::funds::{self, parse_amount};
use crate::accounts::entity::membership::{self, MembershipKind};
use crate::accounts::entity::user;
use crate::accounts::session_cache::SessionCache;
use crate::accounts::{Role, memberships};
use crate::infra::db::begin_write;
use crate::infra::error::{AppResult, UserError};
use crate::infra::i18n::Message;
use crate::infra::ids::OrderId;
use crate::infra::ids::OrganisationId;
use crate::infra::ids::{MembershipId, UserId};
use crate::infra::money::Fen;
use crate::infra::paging::{self, Direction, PageRequest};
use crate::orders::entity::order;
use crate::payments::entity::payment;

/// A business answer: the value, or what the user can fix.
use crate::infra::error::Outcome;
use crate::infra::error_code::ErrorCode;

pub struct NewOrganisation {
    pub name: String,
    pub kind: OrganisationKind,
    pub invoice_title: Option<String>,
    pub tax_number: Option<String>,
    /// Decimal yuan, as the API takes it.
    pub allowance_cap_per_member: Option<String>,
}

fn invalid(path: &[&str], message: impl Into<Message>) -> UserError {
    UserError::new(ErrorCode::InvalidInput, message).on_field(path)
}

fn optional_text(value: Option<String>, path: &[&str], max_chars: usize) -> Result<Option<String>, UserError> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max_chars {
        return Err(invalid(path, Message::new("at-most-characters").with("max", max_chars)));
    }
    Ok(Some(value))
}

/// `createOrganisation` (operator).
pub async fn create(db: &DatabaseConnection, input: NewOrganisation) -> Outcome<organisation::Model> {
    let name = input.name.trim().to_owned();
    let chars = name.chars().count();
    if chars == 0 || chars > 100 {
        return Ok(Err(invalid(&["input", "name"], "organisation-name-length")));
    }
    let invoice_title = match optional_text(input.invoice_title, &["input", "invoiceTitle"], 200) {
        Ok(value) => value,
        Err(problem) => return Ok(Err(problem)),
    };
    let tax_number = match optional_text(input.tax_number, &["input", "taxNumber"], 30) {
        Ok(value) => value,
        Err(problem) => return Ok(Err(problem)),
    };
    // 统一社会信用代码: 18 characters of digits and capital letters (older numbers 15 or 20).
    if let Some(number) = &tax_number
        && !(number.len() >= 15
            && number.len() <= 20
            && number.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()))
    {
        return Ok(Err(invalid(&["input", "taxNumber"], "tax-number-format")));
    }
    let cap = match input
        .allowance_cap_per_member
        .as_deref()
        .map(|text| parse_amount(text, &["input", "allowanceCapPerMember"]))
        .transpose()
    {
        Ok(cap) => cap,
        Err(problem) => return Ok(Err(problem)),
    };
    let created = organisation::ActiveModel {
        name: Set(name),
        kind: Set(input.kind),
        invoice_title: Set(invoice_title),
        tax_number: Set(tax_number),
        allowance_cap_per_member_fen: Set(cap.map(Fen::get)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Ok(created))
}

pub async fn find(
    db: &impl ConnectionTrait,
    organisation_id: OrganisationId,
) -> AppResult<Option<organisation::Model>> {
    Ok(organisation::Entity::find_by_id(organisation_id).one(db).await?)
}

/// The user ids of an organisation's admins.
pub async fn admins_of(db: &impl ConnectionTrait, organisation_id: OrganisationId) -> AppResult<Vec<UserId>> {
    Ok(organisation_admin::Entity::find()
        .filter(organisation_admin::Column::OrganisationId.eq(organisation_id))
        .all(db)
        .await?
        .into_iter()
        .map(|admin| admin.user_id)
        .collect())
}

/// The organisation `user_id` administers, if any.
pub async fn administered_by(db: &impl ConnectionTrait, user_id: UserId) -> AppResult<Option<organisation::Model>> {
    let Some(seat) = organisation_admin::Entity::find()
        .filter(organisation_admin::Column::UserId.eq(user_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    find(db, seat.organisation_id).await
}

/// `addOrganisationAdmin` (operator): the user becomes UNION_ADMIN (ending any producer tie) and
/// administers this organisation. Naming an admin again is a no-op; an admin of another
/// organisation is refused.
pub async fn add_admin(
    db: &DatabaseConnection,
    sessions: &SessionCache,
    organisation_id: OrganisationId,
    user_id: UserId,
) -> Outcome<organisation::Model> {
    let Some(organisation) = find(db, organisation_id).await? else {
        return Ok(Err(
            UserError::new(ErrorCode::NotFound, "organisation-not-found").on_field(&["organisationId"])
        ));
    };
    let Some(user) = user::Entity::find_by_id(user_id).one(db).await? else {
        return Ok(Err(
            UserError::new(ErrorCode::NotFound, "user-not-found").on_field(&["userId"])
        ));
    };
    if user.role == Role::Admin {
        return Ok(Err(invalid(&["userId"], "operator-administers-all")));
    }
    let txn = begin_write(db).await?;
    let seated = organisation_admin::ActiveModel {
        organisation_id: Set(organisation_id),
        user_id: Set(user_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    match seated {
        Ok(_) => {}
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            txn.rollback().await?;
            return Ok(match administered_by(db, user_id).await? {
                Some(theirs) if theirs.id == organisation_id => Ok(organisation),
                _ => Err(
                    UserError::new(ErrorCode::AlreadyAdmin, "administers-another-organisation").on_field(&["userId"]),
                ),
            });
        }
        Err(error) => return Err(error.into()),
    }
    user::Entity::update_many()
        .col_expr(user::Column::Role, Expr::value(Role::UnionAdmin))
        .filter(user::Column::Id.eq(user_id))
        .exec(&txn)
        .await?;
    memberships::work_for(&txn, user_id, None).await?;
    txn.commit().await?;
    // Their sessions carry the new role from their next request, on every replica.
    sessions.forget_user(user_id).await;
    Ok(Ok(organisation))
}

/// `createInvite` (its admin): a code that admits one member within `HUAKAI_INVITE_TTL`.
pub async fn create_invite(
    db: &DatabaseConnection,
    organisation_id: OrganisationId,
    created_by: UserId,
) -> AppResult<String> {
    let code = super::guessing::invite_code();
    invite::ActiveModel {
        organisation_id: Set(organisation_id),
        code: Set(code.clone()),
        created_by: Set(created_by),
        created_at: Set(Utc::now()),
        used_by: Set(None),
        used_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(code)
}

/// The user's current membership of an organisation, if any.
pub async fn current_membership(db: &impl ConnectionTrait, user_id: UserId) -> AppResult<Option<membership::Model>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::Kind.eq(MembershipKind::Organisation))
        .filter(membership::Column::EndedAt.is_null())
        .one(db)
        .await?)
}

/// The organisation a buyer's order placed now is credited to.
pub async fn credited_organisation(db: &impl ConnectionTrait, buyer_id: UserId) -> AppResult<Option<OrganisationId>> {
    Ok(current_membership(db, buyer_id)
        .await?
        .and_then(|membership| membership.organisation_id))
}

/// `joinOrganisation(code)`: the code is used and the membership starts in one transaction. A
/// user belongs to one organisation at a time (a unique index decides a race). A code made
/// longer than `invite_ttl` ago admits nobody.
pub async fn join(
    db: &DatabaseConnection,
    user_id: UserId,
    code: &str,
    invite_ttl: std::time::Duration,
) -> Outcome<membership::Model> {
    let code: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    // A TTL too long for a date (the demo's `Duration::MAX`) puts no limit on age: a bound
    // before year 1 would be out of PostgreSQL's range.
    let made_after = chrono::Duration::from_std(invite_ttl)
        .ok()
        .and_then(|ttl| Utc::now().checked_sub_signed(ttl));
    let invalid_code = || UserError::new(ErrorCode::InvalidCode, "invite-invalid").on_field(&["code"]);
    let already = || UserError::new(ErrorCode::AlreadyMember, "already-member");
    if code.is_empty() || code.len() > 32 {
        return Ok(Err(invalid_code()));
    }
    let txn = begin_write(db).await?;
    let Some(invite) = invite::Entity::find()
        .filter(invite::Column::Code.eq(code.as_str()))
        .filter(invite::Column::UsedAt.is_null())
        .apply_if(made_after, |query, made_after| {
            query.filter(invite::Column::CreatedAt.gt(made_after))
        })
        .one(&txn)
        .await?
    else {
        txn.rollback().await?;
        return Ok(Err(invalid_code()));
    };
    if current_membership(&txn, user_id).await?.is_some() {
        txn.rollback().await?;
        return Ok(Err(already()));
    }
    let now = Utc::now();
    let used = invite::Entity::update_many()
        .col_expr(invite::Column::UsedBy, Expr::value(user_id))
        .col_expr(invite::Column::UsedAt, Expr::value(now))
        .filter(invite::Column::Id.eq(invite.id))
        .filter(invite::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if used.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(Err(invalid_code()));
    }
    let joined = membership::ActiveModel {
        user_id: Set(user_id),
        kind: Set(MembershipKind::Organisation),
        producer_id: Set(None),
        organisation_id: Set(Some(invite.organisation_id)),
        started_at: Set(now),
        ended_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    match joined {
        Ok(membership) => {
            txn.commit().await?;
            Ok(Ok(membership))
        }
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            txn.rollback().await?;
            Ok(Err(already()))
        }
        Err(error) => Err(error.into()),
    }
}

pub async fn find_membership(
    db: &impl ConnectionTrait,
    membership_id: MembershipId,
) -> AppResult<Option<membership::Model>> {
    Ok(membership::Entity::find_by_id(membership_id)
        .filter(membership::Column::Kind.eq(MembershipKind::Organisation))
        .one(db)
        .await?)
}

/// `removeMember` (its admin): the membership ends (once; removing again changes nothing) and
/// its unspent allowance returns to the fund, in one transaction. Orders placed from now on are
/// no longer credited to the organisation.
pub async fn remove_member(
    db: &DatabaseConnection,
    membership_id: MembershipId,
) -> AppResult<Option<membership::Model>> {
    let now = Utc::now();
    let txn = begin_write(db).await?;
    let ended = membership::Entity::update_many()
        .col_expr(membership::Column::EndedAt, Expr::value(now))
        .filter(membership::Column::Id.eq(membership_id))
        .filter(membership::Column::Kind.eq(MembershipKind::Organisation))
        .filter(membership::Column::EndedAt.is_null())
        .exec(&txn)
        .await?;
    if ended.rows_affected == 1 {
        funds::return_unspent(&txn, membership_id, now).await?;
    }
    let membership = find_membership(&txn, membership_id).await?;
    txn.commit().await?;
    Ok(membership)
}

/// A page of the organisation's current members, oldest first.
pub async fn members(
    db: &impl ConnectionTrait,
    organisation_id: OrganisationId,
    page: &PageRequest<MembershipId>,
) -> AppResult<(Vec<membership::Model>, u64)> {
    let current = membership::Entity::find()
        .filter(membership::Column::OrganisationId.eq(organisation_id))
        .filter(membership::Column::EndedAt.is_null());
    paging::keyset_page(db, current, membership::Column::Id, Direction::OldestFirst, page, true).await
}

/// `setPledge` (its admin): the organisation's commitment for `year`, replacing an earlier one.
pub async fn set_pledge(
    db: &DatabaseConnection,
    organisation_id: OrganisationId,
    year: i32,
    amount: &str,
) -> Outcome<()> {
    if !(2000..=2100).contains(&year) {
        return Ok(Err(invalid(&["year"], "year-range")));
    }
    let amount = match parse_amount(amount, &["amount"]) {
        Ok(amount) if amount > Fen::ZERO => amount,
        Ok(_) => return Ok(Err(invalid(&["amount"], "pledge-positive"))),
        Err(problem) => return Ok(Err(problem)),
    };
    pledge::Entity::insert(pledge::ActiveModel {
        organisation_id: Set(organisation_id),
        year: Set(year),
        amount_fen: Set(amount.get()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([pledge::Column::OrganisationId, pledge::Column::Year])
            .update_columns([pledge::Column::AmountFen, pledge::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(Ok(()))
}

/// A pledge and how far the organisation has come.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PledgeProgress {
    pub year: i32,
    pub amount: Fen,
    /// Paid sales credited to the organisation in the year, net of refunds.
    pub progress: Fen,
    /// Progress per month of the year (1–12) that had any.
    pub months: BTreeMap<u32, Fen>,
}

impl PledgeProgress {
    /// Progress as a percentage of the pledge with two decimals ("42.50"), rounded half up
    /// (it passes "100.00" when the pledge is exceeded).
    pub fn percentage(&self) -> String {
        let amount = i128::from(self.amount.get().max(1));
        let hundredths = (i128::from(self.progress.get()) * 10_000 * 2 + amount) / (amount * 2);
        format!("{}.{:02}", hundredths / 100, (hundredths % 100).abs())
    }
}

/// When a calendar year begins in China (UTC+8), as an instant.
fn china_year_start(year: i32) -> Option<DateTime<Utc>> {
    let midnight = NaiveDate::from_ymd_opt(year, 1, 1)?.and_hms_opt(0, 0, 0)?;
    Some(midnight.and_utc() - TimeDelta::hours(8))
}

/// The China-time month (1–12) of an instant.
fn china_month(at: DateTime<Utc>) -> u32 {
    (at + TimeDelta::hours(8)).month()
}

/// The organisation's pledge for `year` with its progress: each credited order counts in the
/// month it was paid (China time), at its total less what was refunded of it (refunds decided
/// but not yet sent included), so a refund lowers the month of the sale it reverses.
pub async fn pledge_progress(
    db: &impl ConnectionTrait,
    organisation_id: OrganisationId,
    year: i32,
) -> AppResult<Option<PledgeProgress>> {
    let Some(pledge) = pledge::Entity::find()
        .filter(pledge::Column::OrganisationId.eq(organisation_id))
        .filter(pledge::Column::Year.eq(year))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let (Some(start), Some(end)) = (china_year_start(year), china_year_start(year + 1)) else {
        return Ok(None);
    };
    let months = credited_sales(db, organisation_id, start, end).await?;
    let progress = Fen::new(months.values().map(|fen| fen.get()).sum());
    Ok(Some(PledgeProgress {
        year,
        amount: Fen::new(pledge.amount_fen),
        progress,
        months,
    }))
}

/// Paid sales credited to the organisation between `start` and `end`, net of refunds, by
/// China-time month.
async fn credited_sales(
    db: &impl ConnectionTrait,
    organisation_id: OrganisationId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<BTreeMap<u32, Fen>> {
    let orders = order::Entity::find()
        .filter(order::Column::UnionId.eq(organisation_id))
        .filter(order::Column::PaidAt.gte(start))
        .filter(order::Column::PaidAt.lt(end))
        .all(db)
        .await?;
    let refunded: HashMap<OrderId, i64> = payment::Entity::find()
        .filter(payment::Column::OrderId.is_in(orders.iter().map(|o| o.id)))
        .all(db)
        .await?
        .into_iter()
        .map(|payment| (payment.order_id, payment.refunded_fen))
        .collect();
    let mut months: BTreeMap<u32, Fen> = BTreeMap::new();
    for order in &orders {
        let Some(paid_at) = order.paid_at else { continue };
        let net = order.total_fen - refunded.get(&order.id).copied().unwrap_or(0);
        let month = months.entry(china_month(paid_at)).or_insert(Fen::ZERO);
        *month = Fen::new(month.get() + net);
    }
    Ok(months)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(amount: i64, progress: i64) -> PledgeProgress {
        PledgeProgress {
            year: 2026,
            amount: Fen::new(amount),
            progress: Fen::new(progress),
            months: BTreeMap::new(),
        }
    }

    #[test]
    fn percentages_round_half_up_to_two_decimals() {
        assert_eq!(progress(300, 100).percentage(), "33.33");
        assert_eq!(progress(300, 200).percentage(), "66.67");
        // 1 fen of 200 yuan is 0.005 %: half a hundredth rounds up; less rounds down.
        assert_eq!(progress(20_000, 1).percentage(), "0.01");
        assert_eq!(progress(20_001, 1).percentage(), "0.00");
        assert_eq!(progress(100, 150).percentage(), "150.00");
        assert_eq!(progress(100, 0).percentage(), "0.00");
    }

    #[test]
    fn years_and_months_are_china_time() {
        let start = china_year_start(2026).expect("a date");
        assert_eq!(start.to_rfc3339(), "2025-12-31T16:00:00+00:00");
        assert_eq!(china_month(start), 1);
        assert_eq!(china_month(start - TimeDelta::seconds(1)), 12);
    }
}
