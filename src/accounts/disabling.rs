//! Disabled accounts (operators disable and enable them): a disabled user cannot sign in, and
//! every session it had ends in the same transaction. Open WebSockets close at their next
//! recheck (`HUAKAI_WS_RECHECK`), which finds the session ended.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};

use super::entity::{session, user};
use crate::infra::error::{AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::ids::UserId;

/// Disables (or enables again) the account, inside the caller's transaction; disabling ends
/// every live session. Disabling a disabled account changes nothing (it keeps its date).
pub async fn set_disabled(txn: &impl ConnectionTrait, user_id: UserId, disabled: bool) -> Outcome<user::Model> {
    let Some(user) = user::Entity::find_by_id(user_id).one(txn).await? else {
        return Ok(Err(
            UserError::new(ErrorCode::NotFound, "user-not-found").on_field(&["userId"])
        ));
    };
    let now = Utc::now();
    if disabled {
        end_sessions(txn, user_id).await?;
    }
    if user.disabled_at.is_some() == disabled {
        return Ok(Ok(user));
    }
    let mut changed = user.into_active_model();
    changed.disabled_at = Set(disabled.then_some(now));
    Ok(Ok(changed.update(txn).await?))
}

async fn end_sessions(txn: &impl ConnectionTrait, user_id: UserId) -> AppResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}
