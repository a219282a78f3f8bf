//! Password resets and phone numbers (issue 24).
//!
//! A reset is a six-digit code mailed to the account's address, kept only as a keyed hash: it
//! lives 15 minutes (`expires_at`), is used once (`used_at`, set by a conditional update) and
//! allows a few guesses (`attempts`, counted by a conditional update and held by the CHECK).
//! A buyer's mobile number is a mainland one, `+86` and eleven digits starting with 1 (the
//! CHECK holds the shape on both backends without regular expressions).

use sea_orm_migration::prelude::*;

use crate::sql::{Types, execute, types};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Guesses a code allows (the service's `MAX_ATTEMPTS` is the same number).
const MAX_ATTEMPTS: u32 = 5;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let Types { id, big, timestamp, .. } = types(manager);
        execute(
            manager,
            &format!(
                "CREATE TABLE password_resets (
                    id {id},
                    user_id {big} NOT NULL REFERENCES users (id),
                    code_hash varchar(64) NOT NULL CHECK (length(code_hash) = 64),
                    attempts integer NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND {MAX_ATTEMPTS}),
                    created_at {timestamp} NOT NULL,
                    expires_at {timestamp} NOT NULL,
                    used_at {timestamp} NULL,
                    CHECK (expires_at > created_at)
                )"
            ),
        )
        .await?;
        execute(
            manager,
            "CREATE INDEX idx_password_resets_user ON password_resets (user_id, id)",
        )
        .await?;
        execute(
            manager,
            "ALTER TABLE users ADD COLUMN phone varchar(14) NULL CHECK (phone IS NULL OR (
                length(phone) = 14 AND substr(phone, 1, 4) = '+861'
                AND ltrim(substr(phone, 2), '0123456789') = ''))",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, "ALTER TABLE users DROP COLUMN phone").await?;
        execute(manager, "DROP TABLE password_resets").await
    }
}
