pub mod counter_sale;
pub mod store;
pub mod store_clerk;
pub mod store_day;
