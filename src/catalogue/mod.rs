//! The storefront catalogue: districts, towns and villages, producers, catalogue entries
//! (贫困地区农产品目录), categories, products, variants and their stock.

pub mod creation;
pub mod demo;
pub mod door;
pub mod entity;
pub mod graphql;
pub mod images;
pub mod import;
pub mod loaders;
pub mod management;
pub mod onboarding;
pub mod policy;
pub mod product_changes;
pub mod service;

use async_graphql::Enum;
use chrono::{NaiveDate, Utc};
use sea_orm::entity::prelude::{DeriveActiveEnum, EnumIter, StringLen};
use serde::Deserialize;

/// What kind of grower a producer is.
// The column's CHECK holds the same list.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProducerKind {
    /// A farm household (农户).
    #[sea_orm(string_value = "HOUSEHOLD")]
    Household,
    /// A cooperative (合作社).
    #[sea_orm(string_value = "COOPERATIVE")]
    Cooperative,
    /// A village workshop (扶贫车间).
    #[sea_orm(string_value = "WORKSHOP")]
    Workshop,
}

impl ProducerKind {
    /// As the impact report's figures name it.
    pub fn as_str(self) -> &'static str {
        match self {
            ProducerKind::Household => "HOUSEHOLD",
            ProducerKind::Cooperative => "COOPERATIVE",
            ProducerKind::Workshop => "WORKSHOP",
        }
    }
}

/// Today's date in China (UTC+8): catalogue entries are valid from and to calendar days there.
pub fn today_in_china() -> NaiveDate {
    (Utc::now() + chrono::TimeDelta::hours(8)).date_naive()
}
