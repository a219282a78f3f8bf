//! The bottom storey: helpers that know no domain.

pub mod csv;
pub mod in_list;
