//! Order operations as plain functions: what a placed order moves along (`lifecycle`: payment,
//! shipment, delivery, expiry), its rows and stock (`state`), what a buyer or an
//! organisation may hold unpaid (`holds`), a bulk order's acceptance by its recipients
//! (`acceptance`), the operators' order desk and a producer's queue (`desk`). Placing,
//! cancelling and bulk orders cross into payments and live sessions: they are checkout's.
//! Each operation commits its database effects in one transaction, every state change conditional on the state it starts from. Business failures
//! come back as `Ok(Err(UserError))`; `Err` is for what the caller cannot fix.
//!
//! Other domains import the file they need (`orders::service::lifecycle::…`), never this one.

pub mod acceptance;
pub mod desk;
pub mod holds;
pub mod lifecycle;
pub mod notices;
pub mod state;
