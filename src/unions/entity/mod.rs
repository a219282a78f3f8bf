pub mod invite;
pub mod pledge;
