pub mod counter_refund;
pub mod counter_sale;
pub mod store_clerk;
pub mod store_day;
