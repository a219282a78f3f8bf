pub mod shelf_movement;
pub mod shelf_stock;
pub mod store;
