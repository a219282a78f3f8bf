//! After-sales claims (售后): a buyer claims units of a delivered order that arrived damaged,
//! spoiled or missing; the lines' grower refunds (all or part), sends a new parcel or rejects
//! with a reason; a rejected buyer escalates and an operator decides, finally. A grower that
//! does not answer in time is taken to accept. Every refund goes through the one refund path
//! (`payments::refunds`), so earnings, commissions, allowances and bank refunds follow.

pub mod door;
pub mod entity;
pub mod graphql;
pub mod policy;
pub mod service;
pub mod worker;

use std::time::Duration;

use async_graphql::Enum;
use sea_orm::entity::prelude::{DeriveActiveEnum, EnumIter, StringLen};

/// How long claims stay open to buyers and growers.
#[derive(Clone, Copy, Debug)]
pub struct ClaimSettings {
    /// A delivered order may be claimed on this long (`HUAKAI_CLAIM_WINDOW`).
    pub window: Duration,
    /// A claim its grower leaves unanswered this long is refunded as asked
    /// (`HUAKAI_CLAIM_RESPONSE`).
    pub response: Duration,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ClaimStatus {
    /// Waiting for the grower (or, taken over, an operator).
    #[sea_orm(string_value = "OPEN")]
    Open,
    /// Rejected by the grower, put to an operator by the buyer.
    #[sea_orm(string_value = "ESCALATED")]
    Escalated,
    #[sea_orm(string_value = "REFUNDED")]
    Refunded,
    #[sea_orm(string_value = "RESHIPPED")]
    Reshipped,
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
}

impl ClaimStatus {
    /// Still waiting for a decision.
    pub const UNDECIDED: [ClaimStatus; 2] = [ClaimStatus::Open, ClaimStatus::Escalated];
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ClaimReason {
    #[sea_orm(string_value = "DAMAGED")]
    Damaged,
    #[sea_orm(string_value = "SPOILED")]
    Spoiled,
    #[sea_orm(string_value = "MISSING")]
    Missing,
    #[sea_orm(string_value = "WRONG_ITEM")]
    WrongItem,
    #[sea_orm(string_value = "OTHER")]
    Other,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ClaimDecision {
    /// Everything the claimed units cost.
    #[sea_orm(string_value = "REFUND")]
    Refund,
    /// An amount, at most what the claimed units cost.
    #[sea_orm(string_value = "PARTIAL_REFUND")]
    PartialRefund,
    /// A new parcel of the claimed units, at the producer's cost.
    #[sea_orm(string_value = "RESHIP")]
    Reship,
    /// No, with a reason the buyer may escalate.
    #[sea_orm(string_value = "REJECT")]
    Reject,
}

impl crate::shop::Shop {
    pub fn claim_settings(&self) -> &ClaimSettings {
        self.part()
    }
}
