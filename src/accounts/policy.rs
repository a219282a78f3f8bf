//! The one authorization policy. Guards on fields say who may call them at all (signed in, which
//! roles); [`Viewer::may`] decides, object by object, whether this viewer may see or change
//! this thing. Nothing else in the code base decides access.

use async_graphql::{Context, Guard};

use super::{Role, SignedIn, Viewer};
use crate::error::{AppError, AppResult};

/// What a viewer may want to do with a private object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// Change a producer's variants, prices and stock, and read its stock history.
    ManageCatalogue { producer_id: i64 },
    /// See a user's account.
    ReadUser { user_id: i64 },
    /// List users and grant roles.
    AdministerUsers,
    /// See an order: its buyer, and the growers of the producers it buys from (who see only
    /// their own lines of it).
    ReadOrder { buyer_id: i64, producer_ids: &'a [i64] },
    /// Cancel an order or confirm its delivery: its buyer.
    ChangeOrder { buyer_id: i64 },
    /// Ship a producer's part of an order: that producer's growers.
    ShipOrder { producer_ids: &'a [i64] },
}

impl Viewer {
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

    /// Whether this viewer may do `action`. Operators may do everything.
    pub fn may(&self, action: Action<'_>) -> bool {
        let Viewer::User(me) = self else {
            return false;
        };
        if me.role == Role::Admin {
            return true;
        }
        match action {
            Action::ManageCatalogue { producer_id } => me.role == Role::Grower && me.producer_id == Some(producer_id),
            Action::ReadUser { user_id } => me.user_id == user_id,
            Action::AdministerUsers => false,
            Action::ReadOrder { buyer_id, producer_ids } => {
                me.user_id == buyer_id
                    || (me.role == Role::Grower && me.producer_id.is_some_and(|p| producer_ids.contains(&p)))
            }
            Action::ChangeOrder { buyer_id } => me.user_id == buyer_id,
            Action::ShipOrder { producer_ids } => {
                me.role == Role::Grower && me.producer_id.is_some_and(|p| producer_ids.contains(&p))
            }
        }
    }

    /// `may`, as an error: UNAUTHENTICATED for anonymous callers, FORBIDDEN for the others.
    pub fn authorize(&self, action: Action<'_>) -> AppResult<&SignedIn> {
        let signed_in = self.signed_in()?;
        if self.may(action) {
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

    fn user(user_id: i64, role: Role, producer_id: Option<i64>) -> Viewer {
        Viewer::User(SignedIn {
            user_id,
            role,
            producer_id,
            session_id: "s".to_owned(),
        })
    }

    #[test]
    fn growers_manage_only_their_own_producer() {
        let grower = user(1, Role::Grower, Some(10));
        assert!(grower.may(Action::ManageCatalogue { producer_id: 10 }));
        assert!(!grower.may(Action::ManageCatalogue { producer_id: 11 }));
        assert!(!user(2, Role::Buyer, None).may(Action::ManageCatalogue { producer_id: 10 }));
        assert!(user(3, Role::Admin, None).may(Action::ManageCatalogue { producer_id: 10 }));
        assert!(!Viewer::Anonymous.may(Action::ReadUser { user_id: 1 }));
        assert!(matches!(
            Viewer::Anonymous.authorize(Action::AdministerUsers),
            Err(AppError::Unauthenticated)
        ));
        assert!(matches!(
            grower.authorize(Action::AdministerUsers),
            Err(AppError::Forbidden)
        ));
    }
}
