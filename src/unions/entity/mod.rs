pub mod invite;
pub mod organisation;
pub mod organisation_admin;
pub mod pledge;
