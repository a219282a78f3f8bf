//! The storefront catalogue: districts, towns and villages, producers, catalogue entries
//! (贫困地区农产品目录), categories, products, variants and their stock.

pub mod creation;
pub mod demo;
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

use chrono::{NaiveDate, Utc};

/// Today's date in China (UTC+8): catalogue entries are valid from and to calendar days there.
pub fn today_in_china() -> NaiveDate {
    (Utc::now() + chrono::TimeDelta::hours(8)).date_naive()
}
