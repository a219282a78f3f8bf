//! Checkout: the use cases that cross orders, payments, organisations' funds and live sessions.
//! Placing an order reserves its stock, claims a live session's quota, spends an allowance and
//! opens its payment in one transaction (`placing`); an organisation's bulk order does the same
//! for many recipients (`bulk`, from GraphQL input or a CSV list: `recipients_csv`);
//! cancelling gives stock, quota and allowance back and refunds what was paid (`cancel`). Each
//! stands above the domains it crosses, so that none of them names another above it; `graphql`
//! is their API, `worker` ends reservations that ran out, and `door` brings both to the shop.

pub mod bulk;
pub mod cancel;
pub mod door;
pub mod graphql;
pub mod placing;
pub mod recipients_csv;
pub mod worker;
