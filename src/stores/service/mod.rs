//! The stores' operations: opening stores and seating clerks, moving stock to a shelf and back,
//! counter sales, pickup orders handed over at the counter, and the till's days.

pub mod counter;
pub mod counter_refunds;
pub mod days;
pub mod pickups;
pub mod shelves;
pub mod stores;
