pub mod payment;
pub mod refund;
pub mod refund_line;
pub mod webhook_event;
