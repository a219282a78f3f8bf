//! Unions and budget units (消费帮扶): organisations, their admins and members, the orders
//! credited to them, their yearly pledges (预留份额); their rows, funds and welfare allowances
//! are the `organisations` domain's, below orders and payments, which spend and give them back.

pub mod door;
pub mod entity;
pub mod graphql;
pub mod guessing;
pub mod pledges;
pub mod policy;
pub mod report;
pub mod service;
pub mod worker;
