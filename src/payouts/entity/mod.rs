pub mod cooperative_member;
pub mod earning;
pub mod host_commission;
pub mod payout;
pub mod payout_batch;
pub mod payout_household_share;
