pub mod membership;
pub mod password_reset;
pub mod session;
pub mod setting;
pub mod user;
