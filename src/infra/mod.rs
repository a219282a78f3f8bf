//! The bottom storey: helpers that know no domain.

pub mod csv;
