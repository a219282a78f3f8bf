pub mod claim;
pub mod claim_line;
pub mod claim_photo;
