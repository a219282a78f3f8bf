pub mod cooperative_member;
pub mod earning;
pub mod payout;
pub mod payout_batch;
