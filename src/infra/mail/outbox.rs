//! The outbox table's statements: enqueueing in the caller's transaction, and the worker's
//! claim (a lease), its record of a delivery, and of a failure (a later attempt, or giving up).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use tokio::sync::Notify;

use super::entity::{self, Column, Entity};
use super::render::Rendered;
use super::settings::RetryPolicy;
use crate::infra::i18n::Language;

/// Told by [`enqueue`] on SQLite, where there is no `NOTIFY`: a worker of this process woken
/// before the enqueuing transaction commits waits on SQLite's write lock until it has.
pub(super) static ENQUEUED_IN_THIS_PROCESS: Notify = Notify::const_new();

/// The PostgreSQL channel told at each commit that enqueued mail (see the worker).
pub(super) const CHANNEL: &str = "huakai_mail_outbox";
/// Subjects longer than this are cut (the column's CHECK), never refused: a message must not
/// fail the event that caused it.
const MAX_SUBJECT_CHARS: usize = 500;
const MAX_ERROR_CHARS: usize = 1000;

/// A message to send: already in the recipient's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMail {
    /// Names the event, e.g. `order-shipped:1234`: enqueueing the same key again adds nothing.
    /// At most 200 characters.
    pub dedupe_key: String,
    /// An address the shop holds (the accounts keep them to 254 characters).
    pub to: String,
    pub language: Language,
    pub subject: String,
    pub text: String,
    /// The HTML alternative, if any (from [`render`](super::render), where user text is
    /// escaped).
    pub html: Option<String>,
}

impl OutgoingMail {
    /// A message from rendered words, with its HTML alternative.
    pub fn new(dedupe_key: impl Into<String>, to: impl Into<String>, language: Language, rendered: Rendered) -> Self {
        OutgoingMail {
            dedupe_key: dedupe_key.into(),
            to: to.into(),
            language,
            subject: rendered.subject,
            text: rendered.text,
            html: Some(rendered.html),
        }
    }
}

/// Adds `mail` to the outbox inside the caller's transaction, so the message exists if and only
/// if the event commits. Returns `false` when a message with the same dedupe key is there
/// already (the event was enqueued before). On PostgreSQL the commit also wakes the workers of
/// every replica (`NOTIFY`); elsewhere they find it within a second (or at once, in this
/// process).
pub async fn enqueue<C: ConnectionTrait>(txn: &C, mail: &OutgoingMail) -> Result<bool, DbErr> {
    Ok(enqueue_all(txn, std::slice::from_ref(mail)).await? == 1)
}

/// [`enqueue`] for several messages in one statement (a batch of orders' mails), the workers
/// told once; answers how many were new.
pub async fn enqueue_all<C: ConnectionTrait>(txn: &C, mails: &[OutgoingMail]) -> Result<u64, DbErr> {
    if mails.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let rows = mails.iter().map(|mail| entity::ActiveModel {
        dedupe_key: Set(mail.dedupe_key.clone()),
        message_id: Set(uuid::Uuid::new_v4().simple().to_string()),
        recipient: Set(mail.to.clone()),
        language: Set(mail.language),
        subject: Set(cut(&mail.subject, MAX_SUBJECT_CHARS)),
        text_body: Set(mail.text.clone()),
        html_body: Set(mail.html.clone()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        leased_until: Set(None),
        sent_at: Set(None),
        failed_at: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        ..Default::default()
    });
    let inserted = Entity::insert_many(rows)
        .on_conflict(OnConflict::column(Column::DedupeKey).do_nothing().to_owned())
        .exec_without_returning(txn)
        .await?;
    if inserted > 0 {
        if txn.get_database_backend() == DbBackend::Postgres {
            // Delivered when (and only if) the transaction commits.
            txn.execute_unprepared(&format!("NOTIFY {CHANNEL}")).await?;
        } else {
            ENQUEUED_IN_THIS_PROCESS.notify_waiters();
        }
    }
    Ok(inserted)
}

/// Takes up to `limit` due messages for `lease`, counting an attempt on each. On PostgreSQL
/// replicas skip the rows another is taking (`FOR UPDATE SKIP LOCKED`); on SQLite the write
/// lock taken at the start makes the read and the update one step. Either way, a message is
/// held by one worker at a time.
pub(super) async fn claim(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
) -> Result<Vec<entity::Model>, DbErr> {
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    let txn = crate::infra::db::begin_write(db).await?;
    let mut due = Entity::find()
        .filter(Column::SentAt.is_null())
        .filter(Column::FailedAt.is_null())
        .filter(Column::NextAttemptAt.lte(now))
        .filter(
            Condition::any()
                .add(Column::LeasedUntil.is_null())
                .add(Column::LeasedUntil.lt(now)),
        )
        .order_by_asc(Column::NextAttemptAt)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(&txn)
        .await?;
    if due.is_empty() {
        txn.rollback().await?;
        return Ok(due);
    }
    Entity::update_many()
        .col_expr(Column::LeasedUntil, Expr::value(until))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .filter(Column::Id.is_in(due.iter().map(|mail| mail.id)))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    for mail in &mut due {
        mail.attempts += 1;
        mail.leased_until = Some(until);
    }
    Ok(due)
}

/// The SMTP server took the message.
pub(super) async fn record_sent(db: &DatabaseConnection, id: i64) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::SentAt, Expr::value(Utc::now()))
        .col_expr(Column::LeasedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::FailedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::LastError, Expr::value(Option::<String>::None))
        .filter(Column::Id.eq(id))
        .filter(Column::SentAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}

/// What became of a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AfterFailure {
    RetryAt(DateTime<Utc>),
    GivenUp,
}

/// Attempt `mail.attempts` failed: the message is tried again after the policy's wait, or
/// given up when that was the last attempt (or when `hopeless`: it can never be sent). Only the
/// holder of this attempt writes (a worker whose lease lapsed finds the attempt count moved on).
pub(super) async fn record_failure(
    db: &DatabaseConnection,
    mail: &entity::Model,
    error: &str,
    hopeless: bool,
    retry: &RetryPolicy,
) -> Result<AfterFailure, DbErr> {
    let now = Utc::now();
    let attempt = u32::try_from(mail.attempts).unwrap_or(0);
    let after = if hopeless || attempt >= retry.attempts {
        AfterFailure::GivenUp
    } else {
        let wait = chrono::Duration::from_std(retry.delay_after(attempt)).unwrap_or(chrono::Duration::MAX);
        AfterFailure::RetryAt(now + wait)
    };
    let update = Entity::update_many()
        .col_expr(Column::LeasedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::LastError, Expr::value(cut(error, MAX_ERROR_CHARS)));
    let update = match after {
        AfterFailure::RetryAt(at) => update.col_expr(Column::NextAttemptAt, Expr::value(at)),
        AfterFailure::GivenUp => update.col_expr(Column::FailedAt, Expr::value(now)),
    };
    update
        .filter(Column::Id.eq(mail.id))
        .filter(Column::Attempts.eq(mail.attempts))
        .filter(Column::SentAt.is_null())
        .filter(Column::FailedAt.is_null())
        .exec(db)
        .await?;
    Ok(after)
}

/// Messages still to send, and messages given up, for the metrics and an operator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub waiting: u64,
    pub failed: u64,
}

pub async fn counts(db: &DatabaseConnection) -> Result<OutboxCounts, DbErr> {
    let waiting = Entity::find()
        .filter(Column::SentAt.is_null())
        .filter(Column::FailedAt.is_null())
        .count(db)
        .await?;
    let failed = Entity::find().filter(Column::FailedAt.is_not_null()).count(db).await?;
    Ok(OutboxCounts { waiting, failed })
}

/// At most `max` characters of `text`.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}
