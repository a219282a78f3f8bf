//! The integration tests: one binary (linking is the slow part of a build), one module per
//! area. Each test starts the real app on a free port against its own database.

mod support;

mod accounts;
mod authorization;
mod cache;
mod catalogue;
mod fuzz;
mod graphiql;
mod graphql_over_http;
mod impact;
mod languages;
mod limits;
mod livestream;
mod media;
mod migrations;
mod money;
mod orders;
mod organisation_report;
mod payments;
mod payouts;
mod platform;
mod unions;
