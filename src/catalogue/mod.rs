//! The storefront catalogue: districts, towns and villages, producers, catalogue entries
//! (贫困地区农产品目录), categories, products, variants and their stock.

pub mod demo;
pub mod entity;
pub mod graphql;
pub mod loaders;
pub mod management;
pub mod service;

use chrono::{FixedOffset, NaiveDate, Utc};

/// Today's date in China (UTC+8): catalogue entries are valid from and to calendar days there.
pub fn today_in_china() -> NaiveDate {
    const CHINA_STANDARD_TIME: i32 = 8 * 3600;
    let offset =
        FixedOffset::east_opt(CHINA_STANDARD_TIME).unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"));
    Utc::now().with_timezone(&offset).date_naive()
}
