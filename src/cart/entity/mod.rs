pub mod cart_line;
pub mod saved_address;
pub mod shipping_province;
pub mod shipping_rule;
