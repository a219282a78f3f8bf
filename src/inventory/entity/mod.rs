pub mod shelf_movement;
pub mod shelf_stock;
pub mod stock_level;
pub mod stock_movement;
pub mod store;
