//! The integration tests: one binary (linking is the slow part of a build), one module per
//! area. Each test starts the real app on a free port against its own database.

mod support;

mod accounts;
mod alipay;
mod architecture;
mod authorization;
mod backups;
mod cache;
mod catalogue;
mod checkout;
mod claims;
mod direct_pay;
mod fuzz;
mod graphiql;
mod graphql_over_http;
mod guards;
mod impact;
mod introspection;
mod languages;
mod limits;
mod livestream;
mod mail;
mod media;
mod migrations;
mod model;
mod money;
mod money_rules;
mod notify;
mod operations;
mod order_desk;
mod orders;
mod organisation_report;
mod payments;
mod payouts;
mod platform;
mod stores;
mod unions;
mod wechatpay;
