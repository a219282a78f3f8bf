//! The one authorization policy. Guards on fields say who may call them at all (signed in, which
//! roles); [`Viewer::may`] decides, object by object, whether this viewer may see or change
//! this thing, asking a [`Permission`]. Operators may do everything; each domain defines the
//! permissions of its own objects in its `policy.rs` (the accounts' are here), and nothing else
//! in the code base decides access.

use async_graphql::{Context, Guard};

use super::{Role, SignedIn, Viewer};
use crate::infra::error::{AppError, AppResult};
use crate::infra::ids::UserId;

/// Something a viewer may want to do with a private object; who other than an operator may.
pub trait Permission {
    fn allows(&self, me: &SignedIn) -> bool;
}

/// See a user's account: the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadUser {
    pub user_id: UserId,
}

impl Permission for ReadUser {
    fn allows(&self, me: &SignedIn) -> bool {
        me.user_id == self.user_id
    }
}

/// List users and grant roles: operators only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdministerUsers;

impl Permission for AdministerUsers {
    fn allows(&self, _me: &SignedIn) -> bool {
        false
    }
}

impl Viewer {
    /// The language a signed-in user chose, if any.
    pub fn language(&self) -> Option<crate::infra::i18n::Language> {
        match self {
            Viewer::User(signed_in) => signed_in.language,
            Viewer::Anonymous => None,
        }
    }

    pub fn signed_in(&self) -> AppResult<&SignedIn> {
        match self {
            Viewer::User(signed_in) => Ok(signed_in),
            Viewer::Anonymous => Err(AppError::Unauthenticated),
        }
    }

    pub fn with_role(&self, roles: &[Role]) -> AppResult<&SignedIn> {
        let signed_in = self.signed_in()?;
        if roles.contains(&signed_in.role) {
            Ok(signed_in)
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Whether this viewer may do what `permission` names. Operators may do everything.
    pub fn may(&self, permission: impl Permission) -> bool {
        match self {
            Viewer::User(me) => me.role == Role::Admin || permission.allows(me),
            Viewer::Anonymous => false,
        }
    }

    /// `may`, as an error: UNAUTHENTICATED for anonymous callers, FORBIDDEN for the others.
    pub fn authorize(&self, permission: impl Permission) -> AppResult<&SignedIn> {
        let signed_in = self.signed_in()?;
        if self.may(permission) {
            Ok(signed_in)
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// The viewer of the request being resolved (anonymous when the request carried no token).
pub fn viewer<'a>(ctx: &Context<'a>) -> &'a Viewer {
    static ANONYMOUS: Viewer = Viewer::Anonymous;
    ctx.data_opt::<Viewer>().unwrap_or(&ANONYMOUS)
}

/// Field guard: `#[graphql(guard = "RoleGuard::signed_in()")]` or
/// `#[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]`.
pub struct RoleGuard {
    roles: Option<&'static [Role]>,
}

impl RoleGuard {
    pub fn signed_in() -> RoleGuard {
        RoleGuard { roles: None }
    }

    pub fn any_of(roles: &'static [Role]) -> RoleGuard {
        RoleGuard { roles: Some(roles) }
    }
}

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let viewer = viewer(ctx);
        match self.roles {
            None => viewer.signed_in()?,
            Some(roles) => viewer.with_role(roles)?,
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(user_id: UserId, role: Role) -> Viewer {
        Viewer::User(SignedIn {
            user_id,
            role,
            producer_id: None,
            session_id: "s".to_owned(),
            language: None,
        })
    }

    #[test]
    fn users_see_themselves_and_operators_see_everyone() {
        assert!(user(UserId(1), Role::Buyer).may(ReadUser { user_id: UserId(1) }));
        assert!(!user(UserId(1), Role::Buyer).may(ReadUser { user_id: UserId(2) }));
        assert!(user(UserId(3), Role::Admin).may(ReadUser { user_id: UserId(2) }));
        assert!(!Viewer::Anonymous.may(ReadUser { user_id: UserId(1) }));
        assert!(matches!(
            Viewer::Anonymous.authorize(AdministerUsers),
            Err(AppError::Unauthenticated)
        ));
        assert!(matches!(
            user(UserId(1), Role::Grower).authorize(AdministerUsers),
            Err(AppError::Forbidden)
        ));
    }
}
