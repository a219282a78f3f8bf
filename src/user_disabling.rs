//! Disabling a user (operators), a use case across domains: the account is disabled and every
//! session it had ends (accounts), and its unpaid
//! orders are cancelled through the ordinary cancellation (orders), which gives their stock
//! and allowances back. Enabling it again lets it sign in; nothing cancelled comes back.

use crate::accounts::disabling;
use crate::accounts::entity::user;
use crate::accounts::session_cache::SessionCache;
use crate::checkout::cancel;
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::ids::UserId;
use crate::shop::Shop;

/// `setUserDisabled` by the operator `actor` (who cannot disable itself: the shop would risk
/// losing its last operator).
pub async fn set_user_disabled(
    shop: &Shop,
    sessions: &SessionCache,
    user_id: UserId,
    disabled: bool,
    actor: UserId,
) -> Outcome<user::Model> {
    if disabled && user_id == actor {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidInput, "cannot-disable-yourself").on_field(&["userId"])
        ));
    }
    let txn = begin_write(&shop.db).await?;
    let user = match disabling::set_disabled(&txn, user_id, disabled).await? {
        Ok(user) => user,
        Err(problem) => {
            return end_write(txn, Err(problem)).await;
        }
    };
    txn.commit().await?;
    if disabled {
        // Remembered sessions end too, on every replica.
        sessions.forget_user(user_id).await;
        let cancelled = cancel::cancel_unpaid_of(shop, user_id, actor).await?;
        tracing::info!(user = user_id.0, cancelled, "user disabled");
    }
    Ok(Ok(user))
}
