//! The mail outbox: every message the shop sends waits here, written in the transaction of the
//! event that caused it, until a worker has handed it to the SMTP server (or given up on it).
//!
//! A message is due while it is neither sent nor failed, its next attempt time has come and no
//! worker holds its lease; the partial index on the next attempt time holds only such rows, so
//! the worker's scan and the waiting count stay small however many sent messages accumulate.
//! The dedupe key is unique: an event enqueued twice is one message.

use sea_orm_migration::prelude::*;

use crate::sql::execute;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        let (id, timestamp) = if postgres {
            ("bigserial PRIMARY KEY", "timestamptz")
        } else {
            ("integer PRIMARY KEY AUTOINCREMENT", "timestamp_with_timezone_text")
        };
        execute(
            manager,
            &format!(
                "CREATE TABLE mail_outbox (
                    id {id},
                    dedupe_key varchar(200) NOT NULL CHECK (length(dedupe_key) BETWEEN 1 AND 200),
                    message_id varchar(64) NOT NULL CHECK (length(message_id) BETWEEN 1 AND 64),
                    recipient varchar(254) NOT NULL CHECK (length(recipient) BETWEEN 3 AND 254),
                    language varchar(8) NOT NULL CHECK (language IN ('zh-CN', 'en')),
                    subject varchar(500) NOT NULL CHECK (length(subject) BETWEEN 1 AND 500),
                    text_body text NOT NULL,
                    html_body text NULL,
                    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                    next_attempt_at {timestamp} NOT NULL,
                    leased_until {timestamp} NULL,
                    sent_at {timestamp} NULL,
                    failed_at {timestamp} NULL,
                    last_error varchar(1000) NULL,
                    created_at {timestamp} NOT NULL,
                    CONSTRAINT mail_outbox_sent_or_failed CHECK (sent_at IS NULL OR failed_at IS NULL)
                )"
            ),
        )
        .await?;
        execute(
            manager,
            "CREATE UNIQUE INDEX uq_mail_outbox_dedupe_key ON mail_outbox (dedupe_key)",
        )
        .await?;
        execute(
            manager,
            "CREATE UNIQUE INDEX uq_mail_outbox_message_id ON mail_outbox (message_id)",
        )
        .await?;
        execute(
            manager,
            "CREATE INDEX idx_mail_outbox_due ON mail_outbox (next_attempt_at) \
             WHERE sent_at IS NULL AND failed_at IS NULL",
        )
        .await?;
        execute(
            manager,
            "CREATE INDEX idx_mail_outbox_failed ON mail_outbox (failed_at) WHERE failed_at IS NOT NULL",
        )
        .await
    }
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, "DROP TABLE mail_outbox").await
    }
}
