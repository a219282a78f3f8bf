//! The stores' operations: opening stores and seating clerks, moving stock to a shelf and back,
//! counter sales, and the till's days.

pub mod counter;
pub mod days;
pub mod shelves;
pub mod stores;
