//! The bottom storey: what every domain stands on and none of it knows a domain. The database
//! (connections, migrations, write transactions, pages), Redis, mail and SMS, file storage and pictures, row ids, money, errors, the
//! shop's words (i18n), text rules, telemetry, and the GraphQL conventions every list and id
//! follows.

#[macro_use]
pub mod ids;

pub mod csv;
pub mod csv_reading;
pub mod db;
pub mod error;
pub mod error_code;
pub mod graphql;
pub mod i18n;
pub mod images;
pub mod in_list;
pub mod lanes;
pub mod mail;
pub mod money;
pub mod paging;
pub mod redis;
pub mod settings;
pub mod sms;
pub mod storage;
pub mod telemetry;
pub mod text;
