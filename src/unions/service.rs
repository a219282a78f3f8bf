//! Organisations, admins, invites and members, and pledge progress. Every change is one
//! transaction whose state changes are conditional (an invite is used once, a membership ends
//! once); unique keys decide races (one current organisation per user, one admin seat per user).

use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryTrait, Set,
    SqlErr,
};

use super::entity::{invite, pledge};
use crate::accounts::entity::membership::{self, MembershipKind};
use crate::accounts::entity::user;
use crate::accounts::session_cache::SessionCache;
use crate::accounts::{Role, memberships};
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppResult, UserError};
use crate::infra::i18n::Message;
use crate::infra::ids::OrganisationId;
use crate::infra::ids::{MembershipId, UserId};
use crate::infra::money::Fen;
use crate::infra::paging::{self, Direction, PageRequest};
use crate::organisations::OrganisationKind;
use crate::organisations::entity::{organisation, organisation_admin};
use crate::organisations::funds::{self, parse_amount};

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
        allowance_cap_per_member_fen: Set(cap),
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
        return end_write(txn, Err(invalid_code())).await;
    };
    if crate::organisations::current_membership(&txn, user_id).await?.is_some() {
        return end_write(txn, Err(already())).await;
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
        return end_write(txn, Err(invalid_code())).await;
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
        Ok(membership) => end_write(txn, Ok(membership)).await,
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            end_write(txn, Err(already())).await
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
        amount_fen: Set(amount),
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
