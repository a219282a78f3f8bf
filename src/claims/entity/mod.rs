pub mod claim;
pub mod claim_line;
