//! Mail: an outbox written in the transaction of the event it tells about, and a worker that
//! delivers it through SMTP (or writes it to the log when no server is configured).
//!
//! Sending never blocks or fails the action that caused it: the action only adds a row in its
//! own transaction ([`enqueue`]); delivery happens later, in the [`MailWorker`], and a
//! delivery's failure is retried there, with a doubling wait, until the attempts run out
//! (the message is then marked failed and counted in `huakai_mail_outbox_messages{state="failed"}`).
//!
//! A caller renders its words through the catalogues ([`render`]) and enqueues them:
//!
//! ```text
//! // `subject` and `body` are catalogue messages (`Message::new(key).with(…)`).
//! let words = mail::render(buyer.language, &subject, &body);
//! mail::enqueue(&txn, &OutgoingMail::new(format!("order-shipped:{shipment_id}"), &buyer.email, buyer.language, words)).await?;
//! txn.commit().await?;
//! ```
//!
//! # What "sent once" means
//!
//! - A message exists if and only if its event committed (the row is in the event's
//!   transaction), and an event enqueued twice is one message (its unique dedupe key).
//! - A message is held by one worker at a time, whatever the number of replicas: a worker takes
//!   it under a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED` then the lease; SQLite: under the
//!   database's write lock). The lease lasts twice the SMTP timeout, and a delivery is cut off
//!   at the timeout, so a lease never lapses while its holder may still be delivering.
//! - What remains is the window between the SMTP server's answer and the commit that records
//!   it: a replica that dies there (or loses the database for longer than it retries the
//!   record), or an answer to the final `.` that never arrives (a timeout after the server took
//!   the message), leaves the message unrecorded, and another worker sends it again after the
//!   lease. Such a duplicate carries the same `Message-ID` header (chosen when the message was
//!   enqueued, `<uuid@sender's domain>`), so mail servers and clients that drop repeated ids,
//!   and any person comparing headers, can tell it is the same message.
//!
//! See [`settings`] for the variables.

mod entity;
mod outbox;
mod render;
pub mod settings;
mod transport;
mod worker;

pub use outbox::{OutboxCounts, OutgoingMail, counts, enqueue, enqueue_all};
pub use render::{Rendered, render};
pub use settings::{MailSettings, MailSettingsError, RetryPolicy};
pub use transport::Transport;
pub use worker::{MailWorker, Round};
