pub mod commission_plan;
pub mod live_session;
pub mod live_session_item;
pub mod promo_link;
pub mod session_purchase;
