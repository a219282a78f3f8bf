pub mod membership;
pub mod session;
pub mod setting;
pub mod user;
