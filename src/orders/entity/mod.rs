pub mod order;
pub mod order_line;
pub mod shipment;
