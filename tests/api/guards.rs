//! Issue 22's guards: what an attacker or a careless operator could do and must not — sockets
//! that outlive their sign-in, unbounded work per request, guessable codes, formulas in CSV
//! exports, unescaped HTML, inflated clicks, private fields shown to the wrong role.

mod clicks_and_invites;
mod csv_exports;
mod impact_guards;
mod lock_order;
mod long_lists;
mod payment_notes;
mod payout_accounts;
pub mod sockets;
