//! Password reset by a code sent to the account's address (`requestPasswordReset`,
//! `resetPassword`).
//!
//! - The code is six digits drawn uniformly from the operating system's random source, kept
//!   only as an HMAC-SHA256 of the user and the code under a key derived from the token secret
//!   (a copy of the database alone does not give the codes away).
//! - It lives [`CODE_LIFETIME`], is used once (a conditional update), allows [`MAX_ATTEMPTS`]
//!   guesses (a conditional update, and the table's CHECK) and is replaced by a newer one.
//! - Requests are limited per email and per client address, guesses per client address; an
//!   unknown email gets the same answer as a known one, after the same work (a transaction, a
//!   keyed hash; the mail itself goes out later, from the outbox), so the answer and its timing
//!   tell nothing of which emails have accounts.
//! - A reset revokes every session of the user (each HTTP request and WebSocket operation
//!   checks its session, and sockets look again every `HUAKAI_WS_RECHECK`) and signs this
//!   client in afresh.

use std::net::IpAddr;
use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};

use super::emails::normalize_email;
use super::entity::{password_reset, session, user};
use super::password;
use super::rate_limit::Limit;
use super::recipients;
use super::reset_codes::fresh_code;
use super::service::{Accounts, Session, client_key, start_session};
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::UserId;

/// How long a code works.
pub const CODE_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Guesses one code allows (the migration's CHECK holds the same number).
pub const MAX_ATTEMPTS: i32 = 5;

/// `requestPasswordReset`: a code by mail if the account exists; the same answer either way.
pub async fn request(
    db: &DatabaseConnection,
    accounts: &Accounts,
    email: &str,
    address: Option<IpAddr>,
) -> Outcome<()> {
    let email = normalize_email(email);
    let limits = [
        Limit {
            key: format!("password-resets:addr:{}", client_key(address)),
            max: accounts.limits.password_resets_per_address,
        },
        Limit {
            key: format!("password-resets:email:{email}"),
            max: accounts.limits.password_resets_per_email,
        },
    ];
    if let Err(wait) = accounts.limiter.attempt(&limits).await {
        return Ok(Err(UserError::rate_limited("too-many-password-resets", wait.seconds())));
    }
    let code = fresh_code()?;
    let now = Utc::now();
    let txn = begin_write(db).await?;
    let user = user::Entity::find()
        .filter(user::Column::Email.eq(&email))
        .one(&txn)
        .await?;
    // Hashed for an unknown email too, so both take the same work.
    let code_hash = accounts
        .codes
        .hash(user.as_ref().map_or(UserId(0), |user| user.id), &code);
    let Some(user) = user else {
        txn.rollback().await?;
        return Ok(Ok(()));
    };
    // A newer code replaces the older ones.
    password_reset::Entity::update_many()
        .col_expr(password_reset::Column::UsedAt, Expr::value(now))
        .filter(password_reset::Column::UserId.eq(user.id))
        .filter(password_reset::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    let lifetime = chrono::Duration::from_std(CODE_LIFETIME).unwrap_or(chrono::Duration::MAX);
    let reset = password_reset::ActiveModel {
        user_id: Set(user.id),
        code_hash: Set(code_hash),
        attempts: Set(0),
        created_at: Set(now),
        expires_at: Set(now + lifetime),
        used_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let minutes = CODE_LIFETIME.as_secs() / 60;
    recipients::tell(
        &txn,
        &user,
        &format!("password-reset:{}", reset.id),
        &Message::new("password-reset-mail-subject"),
        &Message::new("password-reset-mail-body")
            .with("code", code.as_str())
            .with("minutes", minutes),
    )
    .await?;
    end_write(txn, Ok(())).await
}

/// `resetPassword`: the newest code of the account, if it is still good and matches, sets the
/// password, ends every session and starts this one. A wrong, used, expired or replaced code,
/// and an unknown email, all get `INVALID_CODE`.
pub async fn reset(
    db: &DatabaseConnection,
    accounts: &Accounts,
    email: &str,
    code: &str,
    new_password: &str,
    address: Option<IpAddr>,
) -> Outcome<Session> {
    let email = normalize_email(email);
    let guesses = format!("password-reset-guesses:addr:{}", client_key(address));
    let limit = Limit {
        key: guesses.clone(),
        max: accounts.limits.login_failures_per_address,
    };
    if let Err(wait) = accounts.limiter.attempt(&[limit]).await {
        return Ok(Err(UserError::rate_limited("too-many-password-resets", wait.seconds())));
    }
    if let Some(problem) = password::weakness(new_password) {
        accounts.limiter.forgive(&[guesses], &[]).await;
        return Ok(Err(
            UserError::new(ErrorCode::WeakPassword, problem).on_field(&["newPassword"])
        ));
    }
    let invalid = || {
        Ok(Err(UserError::new(
            ErrorCode::InvalidCode,
            "password-reset-code-invalid",
        )
        .on_field(&["code"])))
    };
    // Hashed before anything is looked up, so a known and an unknown email take the same time.
    let new_hash = accounts.hasher.hash(new_password).await?;
    let now = Utc::now();
    let txn = begin_write(db).await?;
    let Some(user) = user::Entity::find()
        .filter(user::Column::Email.eq(&email))
        .one(&txn)
        .await?
    else {
        txn.rollback().await?;
        return invalid();
    };
    let Some(reset) = password_reset::Entity::find()
        .filter(password_reset::Column::UserId.eq(user.id))
        .filter(password_reset::Column::UsedAt.is_null())
        .filter(password_reset::Column::ExpiresAt.gt(now))
        .order_by_desc(password_reset::Column::Id)
        .one(&txn)
        .await?
    else {
        txn.rollback().await?;
        return invalid();
    };
    // The guess counts first, whatever it is: racing guesses cannot pass the allowance.
    let counted = password_reset::Entity::update_many()
        .col_expr(
            password_reset::Column::Attempts,
            Expr::col(password_reset::Column::Attempts).add(1),
        )
        .filter(password_reset::Column::Id.eq(reset.id))
        .filter(password_reset::Column::UsedAt.is_null())
        .filter(password_reset::Column::Attempts.lt(MAX_ATTEMPTS))
        .exec(&txn)
        .await?;
    if counted.rows_affected != 1 || !accounts.codes.matches(user.id, code.trim(), &reset.code_hash) {
        txn.commit().await?;
        return invalid();
    }
    let used = password_reset::Entity::update_many()
        .col_expr(password_reset::Column::UsedAt, Expr::value(now))
        .filter(password_reset::Column::Id.eq(reset.id))
        .filter(password_reset::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if used.rows_affected != 1 {
        txn.rollback().await?;
        return invalid();
    }
    let user_id = user.id;
    let mut changed = user.into_active_model();
    changed.password_hash = Set(new_hash);
    let user = changed.update(&txn).await?;
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    let session = start_session(&txn, &accounts.keys, user).await?;
    txn.commit().await?;
    // Remembered sessions end too, on every replica.
    accounts.sessions.forget_user(user_id).await;
    accounts.limiter.forgive(&[guesses], &[]).await;
    Ok(Ok(session))
}
