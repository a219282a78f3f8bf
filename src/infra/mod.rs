//! The bottom storey: services that know no domain (storage and pictures so far; the rest of
//! the bottom storey moves here as the restructure goes on).

pub mod images;
pub mod storage;
