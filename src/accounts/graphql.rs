//! The contract's "Accounts" section, and the operator's user administration.

use std::net::IpAddr;
use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;

use super::entity::user;
use super::policy::{AdministerUsers, ReadUser, RoleGuard, viewer};
use super::service::{self, Accounts, Session};
use super::{Role, Viewer, password_reset, phone};
use crate::infra::error::{AppError, AppResult, UserError};
use crate::infra::graphql::context::{database, handle, wants_total_count};
use crate::infra::graphql::global_id::{NodeType, encode};
use crate::infra::graphql::relay::{PageRequest, RelayConnection, connection};
use crate::infra::i18n::Language;
use crate::infra::ids::UserId;

type Result<T> = async_graphql::Result<T>;

/// The address the request came from, for rate limiting.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub Option<IpAddr>);

pub fn accounts<'a>(ctx: &Context<'a>) -> AppResult<&'a Arc<Accounts>> {
    handle(ctx)
}

/// An account. Only its owner and operators ever get one.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct User {
    // The producer a grower works for and the saved addresses lead to domains above accounts:
    // the schema adds those fields (`graphql::links`).
    #[graphql(flatten)]
    view: UserView,
}

impl User {
    pub fn of(row: user::Model) -> User {
        User { view: UserView(row) }
    }

    /// Its global id, which the `Node` interface asks of every node.
    pub async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(encode(NodeType::User, self.view.0.id))
    }

    pub fn user_id(&self) -> UserId {
        self.view.0.id
    }
}

pub struct UserView(user::Model);

#[Object]
impl UserView {
    async fn id(&self) -> ID {
        encode(NodeType::User, self.0.id)
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn display_name(&self) -> &str {
        &self.0.display_name
    }

    async fn role(&self) -> Role {
        self.0.role
    }

    /// The language the user chose for messages and exports; null follows each request's
    /// `Accept-Language` (Chinese when it names neither).
    async fn language(&self) -> Option<Language> {
        self.0.language
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The mobile number (`+86…`), to the user and operators only (null to anyone else, such
    /// as an organisation's admin looking at a member).
    async fn phone(&self, ctx: &Context<'_>) -> Option<&str> {
        if !viewer(ctx).may(ReadUser { user_id: self.0.id }) {
            return None;
        }
        self.0.phone.as_deref()
    }

    /// Disabled by an operator: cannot sign in.
    async fn disabled(&self) -> bool {
        self.0.disabled_at.is_some()
    }

    async fn disabled_at(&self) -> Option<DateTime<Utc>> {
        self.0.disabled_at
    }
}

#[derive(SimpleObject)]
pub struct RequestPasswordResetPayload {
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct AuthPayload {
    /// A bearer token for the `Authorization` header.
    token: Option<String>,
    user: Option<User>,
    user_errors: Vec<UserError>,
}

impl From<std::result::Result<Session, UserError>> for AuthPayload {
    fn from(outcome: std::result::Result<Session, UserError>) -> Self {
        match outcome {
            Ok(session) => AuthPayload {
                token: Some(session.token),
                user: Some(User::of(session.user)),
                user_errors: Vec::new(),
            },
            Err(problem) => AuthPayload {
                token: None,
                user: None,
                user_errors: vec![problem],
            },
        }
    }
}

#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// True when the token used for this request no longer works.
    revoked: bool,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct UserPayload {
    user: Option<User>,
    user_errors: Vec<UserError>,
}

impl UserPayload {
    pub fn done(user: user::Model) -> Self {
        UserPayload {
            user: Some(User::of(user)),
            user_errors: Vec::new(),
        }
    }

    pub fn failed(problem: UserError) -> Self {
        UserPayload {
            user: None,
            user_errors: vec![problem],
        }
    }
}

#[derive(InputObject)]
pub struct RegisterInput {
    pub email: String,
    /// At least 10 characters, and not a common password.
    pub password: String,
    pub display_name: String,
}

#[derive(Default)]
pub struct AccountsQuery;

#[Object]
impl AccountsQuery {
    /// The signed-in user; null for anonymous callers.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Viewer::User(me) = viewer(ctx) else {
            return Ok(None);
        };
        let user = user::Entity::find_by_id(me.user_id)
            .one(database(ctx)?)
            .await
            .map_err(AppError::from)?;
        Ok(user.map(User::of))
    }

    /// Every account, oldest first, optionally of one role and with `email` in its address
    /// (any part of it, whatever the case) (operators).
    #[graphql(
        guard = "RoleGuard::any_of(&[Role::Admin])",
        complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)"
    )]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        role: Option<Role>,
        email: Option<String>,
    ) -> Result<RelayConnection<UserId, User>> {
        viewer(ctx).authorize(AdministerUsers)?;
        let page = PageRequest::new(first, after.as_deref())?;
        let filter = service::UserFilter {
            role,
            email: email.as_deref(),
        };
        let (rows, total) = service::list_users(database(ctx)?, filter, &page, wants_total_count(ctx)).await?;
        Ok(connection(rows, &page, total, |row| row.id, User::of))
    }
}

#[derive(Default)]
pub struct AccountsMutation;

#[Object]
impl AccountsMutation {
    /// Opens a BUYER account and signs it in.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<AuthPayload> {
        let address = ctx.data_opt::<ClientAddress>().and_then(|address| address.0);
        let outcome = service::register(
            database(ctx)?,
            accounts(ctx)?,
            &input.email,
            &input.password,
            &input.display_name,
            address,
        )
        .await?;
        Ok(outcome.into())
    }

    async fn login(&self, ctx: &Context<'_>, email: String, password: String) -> Result<AuthPayload> {
        let address = ctx.data_opt::<ClientAddress>().and_then(|address| address.0);
        Ok(
            service::login(database(ctx)?, accounts(ctx)?, &email, &password, address)
                .await?
                .into(),
        )
    }

    /// Mails a six-digit code to the account's address, good for 15 minutes. The answer is
    /// the same whether or not an account has this email.
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> Result<RequestPasswordResetPayload> {
        let address = ctx.data_opt::<ClientAddress>().and_then(|address| address.0);
        let outcome = password_reset::request(database(ctx)?, accounts(ctx)?, &email, address).await?;
        Ok(RequestPasswordResetPayload {
            user_errors: outcome.err().into_iter().collect(),
        })
    }

    /// Sets a new password with a code from `requestPasswordReset`; every session of the
    /// account ends, and this client is signed in.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        email: String,
        code: String,
        new_password: String,
    ) -> Result<AuthPayload> {
        let address = ctx.data_opt::<ClientAddress>().and_then(|address| address.0);
        let outcome =
            password_reset::reset(database(ctx)?, accounts(ctx)?, &email, &code, &new_password, address).await?;
        Ok(outcome.into())
    }

    /// Sets the caller's mobile number (mainland, `+86` and eleven digits; the `+86` may be
    /// left out); null or empty removes it.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn set_phone_number(&self, ctx: &Context<'_>, phone: Option<String>) -> Result<UserPayload> {
        let me = viewer(ctx).signed_in()?;
        Ok(match phone::set_phone(database(ctx)?, me, phone.as_deref()).await? {
            Ok(user) => UserPayload {
                user: Some(User::of(user)),
                user_errors: Vec::new(),
            },
            Err(problem) => UserPayload {
                user: None,
                user_errors: vec![problem],
            },
        })
    }

    /// Revokes the token this request was made with.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn logout(&self, ctx: &Context<'_>) -> Result<LogoutPayload> {
        let me = viewer(ctx).signed_in()?;
        service::logout(database(ctx)?, &accounts(ctx)?.sessions, me).await?;
        Ok(LogoutPayload {
            revoked: true,
            user_errors: Vec::new(),
        })
    }

    /// Sets a new password; every other session is signed out.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> Result<AuthPayload> {
        let me = viewer(ctx).signed_in()?;
        let outcome =
            service::change_password(database(ctx)?, accounts(ctx)?, me, &current_password, &new_password).await?;
        Ok(outcome.into())
    }

    /// Chooses the language of the caller's messages and CSV exports (null: follow
    /// `Accept-Language`).
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn set_language(&self, ctx: &Context<'_>, language: Option<Language>) -> Result<UserPayload> {
        let me = viewer(ctx).signed_in()?;
        let user = service::set_language(database(ctx)?, &accounts(ctx)?.sessions, me, language).await?;
        Ok(UserPayload {
            user: Some(User::of(user)),
            user_errors: Vec::new(),
        })
    }
}

/// A user through `node(id:)`: only to themselves and operators; null to everyone else, so
/// an id does not even reveal that the account exists.
pub async fn node(ctx: &Context<'_>, user_id: UserId) -> AppResult<Option<User>> {
    if !viewer(ctx).may(ReadUser { user_id }) {
        return Ok(None);
    }
    Ok(user::Entity::find_by_id(user_id)
        .one(database(ctx)?)
        .await?
        .map(User::of))
}
