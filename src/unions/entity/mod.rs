pub mod allowance_grant;
pub mod counter_credential;
pub mod invite;
pub mod ledger;
pub mod organisation;
pub mod organisation_admin;
pub mod pledge;
