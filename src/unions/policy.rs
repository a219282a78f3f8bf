//! Who may see and act on an organisation, its members and its money. Operators may do
//! everything (the policy's rule); an organisation's admins act only within it; a member sees
//! its own membership.

use crate::accounts::policy::Permission;
use crate::accounts::{Role, SignedIn};
use crate::infra::ids::UserId;

fn administers(me: &SignedIn, admin_ids: &[UserId]) -> bool {
    me.role == Role::UnionAdmin && admin_ids.contains(&me.user_id)
}

/// See a member's counter code: the member alone. Resolvers ask [`Permission::allows`]
/// directly, not `Viewer::may`: an operator may not spend a member's allowance either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShowCounterCode {
    pub member: UserId,
}

impl Permission for ShowCounterCode {
    fn allows(&self, me: &SignedIn) -> bool {
        me.user_id == self.member
    }
}

/// Create organisations, name their admins, record deposits: operators only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperateOrganisations;

impl Permission for OperateOrganisations {
    fn allows(&self, _me: &SignedIn) -> bool {
        false
    }
}

/// Invite and remove members, set the pledge, see the members and the money: the
/// organisation's admins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdministerOrganisation<'a> {
    pub admin_ids: &'a [UserId],
}

impl Permission for AdministerOrganisation<'_> {
    fn allows(&self, me: &SignedIn) -> bool {
        administers(me, self.admin_ids)
    }
}

/// See an organisation's name and kind: its admins and its current members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadOrganisation<'a> {
    pub admin_ids: &'a [UserId],
    /// Whether the viewer is one of its current members.
    pub viewer_is_member: bool,
}

impl Permission for ReadOrganisation<'_> {
    fn allows(&self, me: &SignedIn) -> bool {
        self.viewer_is_member || administers(me, self.admin_ids)
    }
}

/// See a membership (and its allowance): the member, and the organisation's admins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadMembership<'a> {
    pub member_id: UserId,
    pub admin_ids: &'a [UserId],
}

impl Permission for ReadMembership<'_> {
    fn allows(&self, me: &SignedIn) -> bool {
        me.user_id == self.member_id || administers(me, self.admin_ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Viewer;

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
    fn admins_act_only_within_their_own_organisation() {
        let admins = [UserId(7)];
        assert!(user(UserId(7), Role::UnionAdmin).may(AdministerOrganisation { admin_ids: &admins }));
        assert!(!user(UserId(8), Role::UnionAdmin).may(AdministerOrganisation { admin_ids: &admins }));
        // A former admin whose role was taken away no longer administers.
        assert!(!user(UserId(7), Role::Buyer).may(AdministerOrganisation { admin_ids: &admins }));
        assert!(user(UserId(1), Role::Admin).may(AdministerOrganisation { admin_ids: &admins }));
        assert!(user(UserId(3), Role::Buyer).may(ReadMembership {
            member_id: UserId(3),
            admin_ids: &admins
        }));
        assert!(!user(UserId(4), Role::Buyer).may(ReadMembership {
            member_id: UserId(3),
            admin_ids: &admins
        }));
    }
}
