//! The operators' user administration that reaches past accounts: `setUserDisabled`, whose
//! use case also cancels the user's unpaid orders (`crate::user_disabling`), and
//! `setUserRole`, whose grower is found in the catalogue.

use async_graphql::{Context, ID, Object};

use crate::accounts::Role;
use crate::accounts::graphql::{UserPayload, accounts};
use crate::accounts::policy::{AdministerUsers, RoleGuard, viewer};
use crate::accounts::service::set_role;
use crate::catalogue::service::producer_asked;
use crate::infra::error::UserError;
use crate::infra::error_code::ErrorCode;
use crate::infra::graphql::context::database;
use crate::infra::graphql::global_id::{NodeType, decode_as};
use crate::shop::shop;
use crate::user_disabling::set_user_disabled;

#[derive(Default)]
pub struct UserAdminMutation;

#[Object]
impl UserAdminMutation {
    /// Disables a user (operators): it cannot sign in (ACCOUNT_DISABLED), every session it has
    /// ends at once (open sockets at their next recheck), and its unpaid orders are cancelled. `false`
    /// lets it sign in again.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn set_user_disabled(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        disabled: bool,
    ) -> async_graphql::Result<UserPayload> {
        let me = viewer(ctx).authorize(AdministerUsers)?;
        let Some(user_id) = decode_as(&user_id, NodeType::User) else {
            return Ok(UserPayload::failed(
                UserError::new(ErrorCode::NotFound, "user-not-found").on_field(&["userId"]),
            ));
        };
        let outcome = set_user_disabled(shop(ctx)?, &accounts(ctx)?.sessions, user_id, disabled, me.user_id).await?;
        Ok(match outcome {
            Ok(user) => UserPayload::done(user),
            Err(problem) => UserPayload::failed(problem),
        })
    }

    /// Grants a role (operators). A grower needs the producer it belongs to.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn set_user_role(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        role: Role,
        producer_slug: Option<String>,
    ) -> async_graphql::Result<UserPayload> {
        viewer(ctx).authorize(AdministerUsers)?;
        let Some(user_id) = decode_as(&user_id, NodeType::User) else {
            return Ok(UserPayload::failed(
                UserError::new(ErrorCode::NotFound, "user-not-found").on_field(&["userId"]),
            ));
        };
        let db = database(ctx)?;
        let producer = producer_asked(db, producer_slug.as_deref()).await?;
        let outcome = set_role(db, &accounts(ctx)?.sessions, user_id, role, producer).await?;
        Ok(match outcome {
            Ok(user) => UserPayload::done(user),
            Err(problem) => UserPayload::failed(problem),
        })
    }
}
