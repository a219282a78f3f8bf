//! Account operations as plain functions over a connection. Business failures come back as
//! `Ok(Err(UserError))`; `Err` is for what the caller cannot fix.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, Set,
    SqlErr,
};

use super::emails::{email_problem, normalize_email};
use super::entity::{session, user};
use super::password::{self, PasswordHasher};
use super::rate_limit::{Limit, RateLimiter};
use super::reset_codes::ResetCodes;
use super::session_cache::SessionCache;
use super::tokens::TokenKeys;
use super::{Role, SignedIn, Viewer, memberships};
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::{Language, Message};
use crate::infra::ids::ProducerId;
use crate::infra::ids::UserId;
use crate::infra::paging::{self, Direction, PageRequest};

/// What signing in needs, shared by all requests.
pub struct Accounts {
    pub keys: TokenKeys,
    /// Who sessions are, remembered briefly and forgotten on every replica when they change.
    pub sessions: Arc<SessionCache>,
    pub limiter: RateLimiter,
    pub hasher: PasswordHasher,
    pub limits: AccountLimits,
    /// The key password-reset codes are hashed under.
    pub codes: ResetCodes,
}

/// Attempts allowed per rate-limit window (the app's `Limits` settings).
#[derive(Clone, Copy, Debug)]
pub struct AccountLimits {
    pub login_failures_per_address: u32,
    pub login_failures_per_account: u32,
    pub registrations_per_address: u32,
    pub password_change_failures: u32,
    /// `requestPasswordReset` calls from one client address, and for one email.
    pub password_resets_per_address: u32,
    pub password_resets_per_email: u32,
}

/// How rate limits name a client: its address; an IPv6 client by its /64, which one
/// subscriber usually holds whole.
pub fn client_key(address: Option<IpAddr>) -> String {
    match address {
        Some(IpAddr::V6(v6)) => ipnet::Ipv6Net::new(v6, 64)
            .map(|network| network.trunc().to_string())
            .unwrap_or_else(|_| v6.to_string()),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        None => "unknown".to_owned(),
    }
}

/// A user and a fresh token for them.
pub struct Session {
    pub user: user::Model,
    pub token: String,
}

const MAX_DISPLAY_NAME_CHARS: usize = 50;

/// Checks a new account's fields; the first problem found is reported.
fn validate_new_account(email: &str, password: &str, display_name: &str) -> Result<(), UserError> {
    if let Some(problem) = email_problem(email) {
        return Err(UserError::new(ErrorCode::InvalidInput, problem).on_field(&["input", "email"]));
    }
    let name_chars = display_name.chars().count();
    if name_chars == 0 || name_chars > MAX_DISPLAY_NAME_CHARS {
        return Err(UserError::new(
            ErrorCode::InvalidInput,
            Message::new("display-name-length").with("max", MAX_DISPLAY_NAME_CHARS),
        )
        .on_field(&["input", "displayName"]));
    }
    if let Some(problem) = password::weakness(password) {
        return Err(UserError::new(ErrorCode::WeakPassword, problem).on_field(&["input", "password"]));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_user(
    db: &DatabaseConnection,
    hasher: &PasswordHasher,
    email: String,
    password: &str,
    display_name: String,
    role: Role,
    producer_id: Option<ProducerId>,
) -> Outcome<user::Model> {
    let password_hash = hasher.hash(password).await?;
    let txn = begin_write(db).await?;
    let inserted = user::ActiveModel {
        email: Set(email),
        password_hash: Set(password_hash),
        display_name: Set(display_name),
        role: Set(role),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    match inserted {
        Ok(user) => {
            memberships::work_for(&txn, user.id, producer_id).await?;
            end_write(txn, Ok(user)).await
        }
        // The unique key is the judge: two registrations racing for one email get one account.
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Ok(Err(
                UserError::new(ErrorCode::EmailTaken, "email-taken").on_field(&["input", "email"])
            ))
        }
        Err(error) => Err(error.into()),
    }
}

pub(super) async fn start_session(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    user: user::Model,
) -> AppResult<Session> {
    let now = Utc::now();
    let expires_at = now + chrono::Duration::from_std(keys.lifetime).map_err(|e| AppError::Internal(e.into()))?;
    let session_id = uuid::Uuid::new_v4().simple().to_string();
    session::ActiveModel {
        id: Set(session_id.clone()),
        user_id: Set(user.id),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    let token = keys.issue(user.id, &session_id, now, expires_at)?;
    Ok(Session { user, token })
}

/// `register`: always a BUYER. Each attempt that gets as far as hashing its password counts
/// against its address's limit.
pub async fn register(
    db: &DatabaseConnection,
    accounts: &Accounts,
    email: &str,
    password: &str,
    display_name: &str,
    address: Option<IpAddr>,
) -> Outcome<Session> {
    let email = normalize_email(email);
    let display_name = display_name.trim().to_owned();
    if let Err(problem) = validate_new_account(&email, password, &display_name) {
        return Ok(Err(problem));
    }
    let per_address = Limit {
        key: format!("registrations:addr:{}", client_key(address)),
        max: accounts.limits.registrations_per_address,
    };
    if let Err(wait) = accounts.limiter.attempt(&[per_address]).await {
        return Ok(Err(UserError::rate_limited("too-many-registrations", wait.seconds())));
    }
    let user = match insert_user(db, &accounts.hasher, email, password, display_name, Role::Buyer, None).await? {
        Ok(user) => user,
        Err(problem) => return Ok(Err(problem)),
    };
    Ok(Ok(start_session(db, &accounts.keys, user).await?))
}

/// `login`: the same answer, in about the same time, whether or not the email exists.
///
/// Every attempt counts as a failure until it succeeds, so concurrent guesses cannot slip
/// under the limits together. Failures are limited per client address and per email *from
/// that address*: guessing at an account from one place never locks its owner out elsewhere.
pub async fn login(
    db: &DatabaseConnection,
    accounts: &Accounts,
    email: &str,
    password: &str,
    address: Option<IpAddr>,
) -> Outcome<Session> {
    let email = normalize_email(email);
    let client = client_key(address);
    let per_address = format!("login-failures:addr:{client}");
    let per_account = format!("login-failures:account:{client}:{email}");
    let limits = [
        Limit {
            key: per_address.clone(),
            max: accounts.limits.login_failures_per_address,
        },
        Limit {
            key: per_account.clone(),
            max: accounts.limits.login_failures_per_account,
        },
    ];
    if let Err(wait) = accounts.limiter.attempt(&limits).await {
        return Ok(Err(UserError::rate_limited("too-many-failed-logins", wait.seconds())));
    }
    let user = user::Entity::find()
        .filter(user::Column::Email.eq(&email))
        .one(db)
        .await?;
    let matches = accounts
        .hasher
        .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
        .await?;
    let Some(user) = user.filter(|_| matches) else {
        return Ok(Err(UserError::new(ErrorCode::InvalidCredentials, "wrong-credentials")));
    };
    // Said only to whoever knows the password: a guesser learns nothing more.
    if user.disabled_at.is_some() {
        return Ok(Err(UserError::new(ErrorCode::AccountDisabled, "account-disabled")));
    }
    accounts.limiter.forgive(&[per_address], &[per_account]).await;
    Ok(Ok(start_session(db, &accounts.keys, user).await?))
}

/// The viewer a bearer token proves; a forged, expired or revoked token is UNAUTHENTICATED.
/// A session proved lately is answered from the session cache, without the database.
pub async fn authenticate(db: &impl ConnectionTrait, accounts: &Accounts, token: &str) -> AppResult<Viewer> {
    let claims = accounts.keys.verify(token).ok_or(AppError::Unauthenticated)?;
    let user_id = UserId(claims.sub.parse().map_err(|_| AppError::Unauthenticated)?);
    if let Some(signed_in) = accounts.sessions.get(&claims.sid, user_id) {
        return Ok(Viewer::User(signed_in));
    }
    let generation = accounts.sessions.generation();
    let live_session = session::Entity::find_by_id(claims.sid.clone())
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?;
    let Some(live_session) = live_session else {
        return Err(AppError::Unauthenticated);
    };
    let user = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .filter(|user| user.disabled_at.is_none())
        .ok_or(AppError::Unauthenticated)?;
    let role = user.role;
    let producer_id = match role {
        Role::Grower => memberships::current_producer(db, user_id).await?,
        _ => None,
    };
    let signed_in = SignedIn {
        user_id,
        role,
        producer_id,
        session_id: claims.sid,
        language: user.language,
    };
    accounts
        .sessions
        .keep(generation, signed_in.clone(), live_session.expires_at);
    Ok(Viewer::User(signed_in))
}

/// Who a request is from, by its `Authorization` header: anonymous without one; a header that
/// does not prove a live session is refused outright rather than downgraded to anonymous.
pub async fn viewer_of_authorization(
    db: &impl ConnectionTrait,
    accounts: &Accounts,
    authorization: Option<&[u8]>,
) -> AppResult<Viewer> {
    let Some(value) = authorization else {
        return Ok(Viewer::Anonymous);
    };
    let token = std::str::from_utf8(value)
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or(AppError::Unauthenticated)?;
    authenticate(db, accounts, token).await
}

/// `logout`: this session's token stops working at once, on every replica.
pub async fn logout(db: &impl ConnectionTrait, sessions: &SessionCache, me: &SignedIn) -> AppResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::Id.eq(me.session_id.as_str()))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    sessions.forget_session(&me.session_id).await;
    Ok(())
}

/// `changePassword`: every existing session is revoked; the caller gets a new token.
pub async fn change_password(
    db: &DatabaseConnection,
    accounts: &Accounts,
    me: &SignedIn,
    current_password: &str,
    new_password: &str,
) -> Outcome<Session> {
    let user = user::Entity::find_by_id(me.user_id)
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    // A stolen token must not become a way to guess the password behind it.
    let failures = format!("password-change-failures:user:{}", me.user_id);
    let limit = Limit {
        key: failures.clone(),
        max: accounts.limits.password_change_failures,
    };
    if let Err(wait) = accounts.limiter.attempt(&[limit]).await {
        return Ok(Err(UserError::rate_limited("too-many-wrong-passwords", wait.seconds())));
    }
    if !accounts
        .hasher
        .verify(current_password, Some(&user.password_hash))
        .await?
    {
        return Ok(Err(UserError::new(
            ErrorCode::InvalidCredentials,
            "wrong-current-password",
        )
        .on_field(&["currentPassword"])));
    }
    if let Some(problem) = password::weakness(new_password) {
        return Ok(Err(
            UserError::new(ErrorCode::WeakPassword, problem).on_field(&["newPassword"])
        ));
    }
    accounts.limiter.forgive(&[], &[failures]).await;
    let new_hash = accounts.hasher.hash(new_password).await?;
    let txn = begin_write(db).await?;
    let mut changed = user.into_active_model();
    changed.password_hash = Set(new_hash);
    let user = changed.update(&txn).await?;
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::UserId.eq(me.user_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    let session = start_session(&txn, &accounts.keys, user).await?;
    txn.commit().await?;
    accounts.sessions.forget_user(me.user_id).await;
    Ok(Ok(session))
}

/// The producer an account is asked to work for, as its caller found it in the catalogue
/// (which stands above accounts): none asked, one found, or a slug that names none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProducerAsked {
    None,
    Found(ProducerId),
    Unknown(String),
}

fn producer_for_role(role: Role, asked: ProducerAsked) -> Result<Option<ProducerId>, UserError> {
    match (role, asked) {
        (Role::Grower, ProducerAsked::Found(producer_id)) => Ok(Some(producer_id)),
        (Role::Grower, ProducerAsked::Unknown(slug)) => Err(UserError::new(
            ErrorCode::NotFound,
            Message::new("producer-slug-not-found").with("slug", slug),
        )
        .on_field(&["producerSlug"])),
        (Role::Grower, ProducerAsked::None) => {
            Err(UserError::new(ErrorCode::InvalidInput, "grower-needs-producer").on_field(&["producerSlug"]))
        }
        (_, ProducerAsked::Found(_) | ProducerAsked::Unknown(_)) => {
            Err(UserError::new(ErrorCode::InvalidInput, "only-growers-have-producers").on_field(&["producerSlug"]))
        }
        (_, ProducerAsked::None) => Ok(None),
    }
}

/// `huakai user create`: any role, for bootstrapping the first operator.
pub async fn create_user(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
    display_name: &str,
    role: Role,
    producer: ProducerAsked,
) -> Outcome<user::Model> {
    let email = normalize_email(email);
    let display_name = display_name.trim().to_owned();
    if let Err(problem) = validate_new_account(&email, password, &display_name) {
        return Ok(Err(problem));
    }
    let producer_id = match producer_for_role(role, producer) {
        Ok(producer_id) => producer_id,
        Err(problem) => return Ok(Err(problem)),
    };
    // The command line makes one account at a time: one hash at a time is plenty.
    let hasher = PasswordHasher::new(1);
    insert_user(db, &hasher, email, password, display_name, role, producer_id).await
}

/// `setUserRole` (operator): the change applies to the user's very next request, on every
/// replica.
pub async fn set_role(
    db: &DatabaseConnection,
    sessions: &SessionCache,
    user_id: UserId,
    role: Role,
    producer: ProducerAsked,
) -> Outcome<user::Model> {
    let Some(user) = user::Entity::find_by_id(user_id).one(db).await? else {
        return Ok(Err(
            UserError::new(ErrorCode::NotFound, "user-not-found").on_field(&["userId"])
        ));
    };
    let producer_id = match producer_for_role(role, producer) {
        Ok(producer_id) => producer_id,
        Err(problem) => return Ok(Err(problem)),
    };
    let txn = begin_write(db).await?;
    let mut changed = user.into_active_model();
    changed.role = Set(role);
    let user = changed.update(&txn).await?;
    memberships::work_for(&txn, user.id, producer_id).await?;
    txn.commit().await?;
    sessions.forget_user(user.id).await;
    Ok(Ok(user))
}

/// `setLanguage`: the signed-in user's language for messages and exports (`None`: follow each
/// request's `Accept-Language`). Takes effect from the next request.
pub async fn set_language(
    db: &DatabaseConnection,
    sessions: &SessionCache,
    me: &SignedIn,
    language: Option<Language>,
) -> AppResult<user::Model> {
    let user = user::Entity::find_by_id(me.user_id)
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let mut changed = user.into_active_model();
    changed.language = Set(language);
    let user = changed.update(db).await?;
    sessions.forget_user(user.id).await;
    Ok(user)
}

/// Which users a list shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct UserFilter<'a> {
    pub role: Option<Role>,
    /// A part of the email, whatever its case (`%` and `_` are plain characters).
    pub email: Option<&'a str>,
}

/// A page of users, oldest first, narrowed by `filter`.
pub async fn list_users(
    db: &impl ConnectionTrait,
    filter: UserFilter<'_>,
    page: &PageRequest<UserId>,
    count_total: bool,
) -> AppResult<(Vec<user::Model>, u64)> {
    let mut select = user::Entity::find();
    if let Some(role) = filter.role {
        select = select.filter(user::Column::Role.eq(role));
    }
    if let Some(part) = filter.email.map(normalize_email).filter(|part| !part.is_empty()) {
        let escaped = part.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let pattern = LikeExpr::new(format!("%{escaped}%")).escape('\\');
        select = select.filter(Expr::col(user::Column::Email.as_column_ref()).like(pattern));
    }
    paging::keyset_page(db, select, user::Column::Id, Direction::OldestFirst, page, count_total).await
}
