pub mod payment;
pub mod refund;
pub mod webhook_event;
