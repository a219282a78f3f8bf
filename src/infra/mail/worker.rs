//! The outbox worker. Any number of replicas run one each: every second, or at once when told
//! that mail was enqueued, it takes a few due messages under a lease, delivers them side by
//! side, and records each outcome. Everything it needs is in the database, so a restart or a
//! replica's death loses nothing (a lapsed lease hands the message to the next worker).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{DatabaseConnection, DbBackend, DbErr};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tracing::instrument::WithSubscriber;

use super::outbox::{self, AfterFailure, CHANNEL};
use super::settings::{MailSettings, MailSettingsError, RetryPolicy};
use super::transport::{Failure, Transport};

/// How often a worker looks when nobody tells it.
const POLL: Duration = Duration::from_secs(1);
/// Messages one worker takes at a time (and delivers at once, over the transport's pool).
const BATCH: u64 = 8;
/// How often the waiting and failed counts are read for the metrics.
const COUNT_EVERY: Duration = Duration::from_secs(10);

/// What one pass over the outbox did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub claimed: usize,
    pub sent: usize,
    pub retrying: usize,
    pub given_up: usize,
}

#[derive(Clone)]
pub struct MailWorker {
    db: DatabaseConnection,
    transport: Transport,
    retry: RetryPolicy,
}

impl MailWorker {
    pub fn new(db: DatabaseConnection, settings: &MailSettings) -> Result<MailWorker, MailSettingsError> {
        Ok(MailWorker {
            db,
            transport: Transport::new(settings)?,
            retry: settings.retry,
        })
    }

    /// Takes the due messages (a batch), delivers them, and records what happened.
    pub async fn send_due(&self) -> Result<Round, DbErr> {
        // Twice the longest delivery: no other worker takes a message while one may still be
        // delivering it (replicas' clocks must agree to within a delivery's timeout).
        let lease = self.transport.timeout() * 2;
        let claimed = outbox::claim(&self.db, Utc::now(), lease, BATCH).await?;
        let mut round = Round {
            claimed: claimed.len(),
            ..Round::default()
        };
        let mut deliveries = JoinSet::new();
        for mail in claimed {
            let transport = self.transport.clone();
            // Logged where the caller's logs go (a test's own subscriber, say).
            deliveries.spawn(
                async move {
                    let outcome = transport.deliver(&mail).await;
                    (mail, outcome)
                }
                .with_current_subscriber(),
            );
        }
        while let Some(delivered) = deliveries.join_next().await {
            // A delivery that panicked keeps its lease; the message is taken again after it.
            let Ok((mail, outcome)) = delivered else {
                tracing::error!("a mail delivery panicked; it is tried again when its lease lapses");
                continue;
            };
            let (error, hopeless) = match outcome {
                Ok(()) => {
                    record_sent(&self.db, mail.id).await?;
                    metrics::counter!("huakai_mail_sent_total").increment(1);
                    round.sent += 1;
                    continue;
                }
                Err(Failure::Unbuildable(error)) => (error, true),
                Err(Failure::Delivery(error)) => (error, false),
            };
            match outbox::record_failure(&self.db, &mail, &error, hopeless, &self.retry).await? {
                AfterFailure::RetryAt(at) => {
                    tracing::warn!(id = mail.id, attempt = mail.attempts, %error, retry_at = %at, "mail not delivered; will retry");
                    round.retrying += 1;
                }
                AfterFailure::GivenUp => {
                    tracing::error!(id = mail.id, attempts = mail.attempts, %error, "mail given up");
                    metrics::counter!("huakai_mail_failed_total").increment(1);
                    round.given_up += 1;
                }
            }
        }
        Ok(round)
    }

    /// Works the outbox until the task is aborted (aborting mid-delivery leaves the message
    /// leased; it is delivered again after the lease).
    pub fn spawn(self) -> JoinHandle<()> {
        tokio::spawn(async move {
            let told = Arc::new(Notify::new());
            let _listener = listen_for_commits(&self.db, told.clone());
            let mut counted: Option<Instant> = None;
            loop {
                let in_process = outbox::ENQUEUED_IN_THIS_PROCESS.notified();
                tokio::pin!(in_process);
                // Registered before the round, so a message enqueued during it is not missed.
                in_process.as_mut().enable();
                let more_due = match self.send_due().await {
                    Ok(round) => round.claimed as u64 == BATCH,
                    Err(error) => {
                        tracing::error!(?error, "working the mail outbox failed");
                        false
                    }
                };
                if counted.is_none_or(|at| at.elapsed() >= COUNT_EVERY) {
                    self.publish_counts().await;
                    counted = Some(Instant::now());
                }
                if more_due {
                    continue;
                }
                tokio::select! {
                    () = &mut in_process => {}
                    () = told.notified() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        })
    }

    async fn publish_counts(&self) {
        match outbox::counts(&self.db).await {
            Ok(counts) => {
                metrics::gauge!("huakai_mail_outbox_messages", "state" => "waiting").set(counts.waiting as f64);
                metrics::gauge!("huakai_mail_outbox_messages", "state" => "failed").set(counts.failed as f64);
            }
            Err(error) => tracing::warn!(?error, "counting the mail outbox failed"),
        }
    }
}

/// Records a delivery, retrying a failing database for a few seconds: a message the SMTP server
/// took but not recorded as sent is sent again after its lease.
async fn record_sent(db: &DatabaseConnection, id: i64) -> Result<(), DbErr> {
    let mut tries = 0;
    loop {
        match outbox::record_sent(db, id).await {
            Ok(()) => return Ok(()),
            Err(error) if tries >= 5 => return Err(error),
            Err(error) => {
                tries += 1;
                tracing::warn!(id, ?error, "recording a sent mail failed; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Stops a background task when dropped (with the worker that owns it).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// On PostgreSQL, wakes `told` whenever a transaction that enqueued mail commits, on any
/// replica (`NOTIFY` is delivered at commit, and not at all on rollback).
fn listen_for_commits(db: &DatabaseConnection, told: Arc<Notify>) -> Option<AbortOnDrop> {
    if db.get_database_backend() != DbBackend::Postgres {
        return None;
    }
    let pool = db.get_postgres_connection_pool().clone();
    Some(AbortOnDrop(tokio::spawn(async move {
        loop {
            let listening = async {
                let mut listener = PgListener::connect_with(&pool).await?;
                listener.listen(CHANNEL).await?;
                loop {
                    // Reconnects by itself after a lost connection (notices sent meanwhile are
                    // lost; the poll finds their messages).
                    listener.recv().await?;
                    told.notify_one();
                }
            };
            let result: Result<(), sea_orm::sqlx::Error> = listening.await;
            if let Err(error) = result {
                tracing::warn!(?error, "listening for enqueued mail failed; polling meanwhile");
            }
            tokio::time::sleep(POLL).await;
        }
    })))
}
