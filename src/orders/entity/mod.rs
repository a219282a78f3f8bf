pub mod order;
pub mod order_line;
pub mod order_line_attribution;
pub mod shipment;
pub mod shipment_item;
