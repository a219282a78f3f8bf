//! Unions and budget units (消费帮扶): organisations, their admins and members, the orders
//! credited to them, their yearly pledges (预留份额), and their funds and welfare allowances.

pub mod demo;
pub mod entity;
pub mod funds;
pub mod graphql;
pub mod guessing;
pub mod pledges;
pub mod policy;
pub mod report;
pub mod service;
pub mod worker;

use async_graphql::Enum;
use sea_orm::entity::prelude::{DeriveActiveEnum, EnumIter, StringLen};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum OrganisationKind {
    /// A labour union (工会).
    #[sea_orm(string_value = "UNION")]
    Union,
    /// A public budget unit (预算单位).
    #[sea_orm(string_value = "BUDGET_UNIT")]
    BudgetUnit,
}
