//! Order operations as plain functions: placing an order (`placing`), an organisation's bulk
//! order to many recipients (`bulk`, from GraphQL input or `recipients_csv`) and its
//! acceptance by them (`acceptance`), what an organisation's bulk orders may hold unpaid
//! (`holds`), cancelling an order, with the
//! refund of a paid one (`cancel`), and what moves it along afterwards: payment, shipment,
//! delivery, expiry (`lifecycle`); the operators' order desk and a producer's queue (`desk`).
//! Each operation commits its database effects in one
//! transaction, every state change conditional on the state it starts from. Business failures
//! come back as `Ok(Err(UserError))`; `Err` is for what the caller cannot fix.
//!
//! Other domains import the file they need (`orders::service::lifecycle::…`), never this one.

pub mod acceptance;
pub mod bulk;
pub mod cancel;
pub mod desk;
pub mod holds;
pub mod lifecycle;
pub mod notices;
pub mod placing;
pub mod recipients_csv;
pub mod state;
