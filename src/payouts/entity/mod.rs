pub mod cooperative_member;
pub mod earning;
pub mod payout;
pub mod payout_batch;
pub mod payout_household_share;
