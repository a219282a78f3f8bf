//! Unions and budget units (消费帮扶): organisations, their admins and members, the orders
//! credited to them, and their yearly pledges (预留份额).

pub mod entity;
pub mod funds;
pub mod graphql;
pub mod policy;
pub mod service;

use async_graphql::Enum;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OrganisationKind {
    /// A labour union (工会).
    Union,
    /// A public budget unit (预算单位).
    BudgetUnit,
}

impl OrganisationKind {
    pub fn as_db(self) -> &'static str {
        match self {
            OrganisationKind::Union => "UNION",
            OrganisationKind::BudgetUnit => "BUDGET_UNIT",
        }
    }

    pub fn from_db(value: &str) -> Option<OrganisationKind> {
        [OrganisationKind::Union, OrganisationKind::BudgetUnit]
            .into_iter()
            .find(|kind| kind.as_db() == value)
    }
}
