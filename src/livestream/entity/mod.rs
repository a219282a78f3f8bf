pub mod commission_plan;
pub mod promo_link;
