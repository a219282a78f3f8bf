pub mod allowance_grant;
pub mod counter_credential;
pub mod ledger;
pub mod organisation;
pub mod organisation_admin;
