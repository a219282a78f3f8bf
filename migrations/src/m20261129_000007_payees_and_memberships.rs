//! Room for the next domains. A user's ties (to a producer now; to an organisation and a host
//! later) are rows of one `memberships` table with a start and an end, no longer a column on
//! `users`; and a payout pays a payee, a producer or a host.
//!
//! SQLite cannot drop a constraint: the one way it offers without copying the table (which its
//! foreign keys forbid inside a migration's transaction) is to edit the table's definition, as
//! <https://www.sqlite.org/lang_altertable.html#otheralter> describes for removing CHECK, FOREIGN
//! KEY and NOT NULL constraints. Each edit below checks that it found exactly the text it removes.

use sea_orm_migration::prelude::*;

use crate::sql::execute;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    UserId,
    Kind,
    ProducerId,
    StartedAt,
    EndedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Producers {
    Table,
    Id,
}

/// Removes `pieces` from the stored definition of SQLite table `table` (each must be there).
async fn sqlite_remove_from_definition(
    manager: &SchemaManager<'_>,
    table: &str,
    pieces: &[(&str, &str)],
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
            [table.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::Migration(format!("no table {table}")))?;
    let mut definition: String = row.try_get("", "sql")?;
    for (piece, replacement) in pieces {
        if definition.matches(piece).count() != 1 {
            return Err(DbErr::Migration(format!(
                "{table}: expected `{piece}` once in its definition"
            )));
        }
        definition = definition.replace(piece, replacement);
    }
    let version_row = db
        .query_one_raw(Statement::from_string(DbBackend::Sqlite, "PRAGMA schema_version"))
        .await?
        .ok_or_else(|| DbErr::Migration("no schema version".to_owned()))?;
    let version: i64 = version_row.try_get_by_index(0)?;
    execute(manager, "PRAGMA writable_schema = ON").await?;
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
        [definition.into(), table.into()],
    ))
    .await?;
    execute(manager, &format!("PRAGMA schema_version = {}", version + 1)).await?;
    execute(manager, "PRAGMA writable_schema = OFF").await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on every backend: SQLite's definition edits must run on one connection,
    /// and a half-made change must not stay.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sqlite = manager.get_database_backend() == DbBackend::Sqlite;

        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(
                        ColumnDef::new(Memberships::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Memberships::UserId).big_integer().not_null())
                    .col(ColumnDef::new(Memberships::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(Memberships::ProducerId).big_integer().null())
                    .col(
                        ColumnDef::new(Memberships::StartedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Memberships::EndedAt).timestamp_with_time_zone().null())
                    .check(Expr::col(Memberships::Kind).is_in(["PRODUCER", "ORGANISATION", "HOST"]))
                    .check(Expr::cust("(kind = 'PRODUCER') = (producer_id IS NOT NULL)"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Memberships::Table, Memberships::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Memberships::Table, Memberships::ProducerId)
                            .to(Producers::Table, Producers::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // One current tie of each kind per user (a grower works for one producer, a member
        // belongs to one organisation at a time); ended ties stay as history.
        execute(
            manager,
            "CREATE UNIQUE INDEX uq_memberships_current ON memberships (user_id, kind) WHERE ended_at IS NULL",
        )
        .await?;
        execute(
            manager,
            "INSERT INTO memberships (user_id, kind, producer_id, started_at) \
             SELECT id, 'PRODUCER', producer_id, created_at FROM users WHERE producer_id IS NOT NULL",
        )
        .await?;
        if sqlite {
            sqlite_remove_from_definition(
                manager,
                "users",
                &[
                    (
                        r#", FOREIGN KEY ("producer_id") REFERENCES "producers" ("id") ON DELETE RESTRICT"#,
                        "",
                    ),
                    (", CHECK ((role = 'GROWER') = (producer_id IS NOT NULL))", ""),
                ],
            )
            .await?;
        }
        // PostgreSQL drops the column's foreign key and the CHECK that names it with it.
        execute(manager, "ALTER TABLE users DROP COLUMN producer_id").await?;

        // A payout pays a producer or a host: exactly one of them.
        if sqlite {
            sqlite_remove_from_definition(
                manager,
                "payouts",
                &[(r#""producer_id" integer NOT NULL"#, r#""producer_id" integer NULL"#)],
            )
            .await?;
            execute(
                manager,
                "ALTER TABLE payouts ADD COLUMN host_id integer NULL REFERENCES users (id)",
            )
            .await?;
            execute(
                manager,
                "ALTER TABLE payouts ADD COLUMN payee_kind varchar(16) NOT NULL DEFAULT 'PRODUCER' \
                 CHECK (payee_kind IN ('PRODUCER', 'HOST') \
                        AND (payee_kind = 'PRODUCER') = (producer_id IS NOT NULL) \
                        AND (payee_kind = 'HOST') = (host_id IS NOT NULL))",
            )
            .await?;
        } else {
            execute(manager, "ALTER TABLE payouts ALTER COLUMN producer_id DROP NOT NULL").await?;
            execute(
                manager,
                "ALTER TABLE payouts ADD COLUMN host_id bigint NULL REFERENCES users (id)",
            )
            .await?;
            execute(
                manager,
                "ALTER TABLE payouts ADD COLUMN payee_kind varchar(16) NOT NULL DEFAULT 'PRODUCER'",
            )
            .await?;
            execute(
                manager,
                "ALTER TABLE payouts ADD CONSTRAINT payouts_one_payee CHECK (payee_kind IN ('PRODUCER', 'HOST') \
                 AND (payee_kind = 'PRODUCER') = (producer_id IS NOT NULL) \
                 AND (payee_kind = 'HOST') = (host_id IS NOT NULL))",
            )
            .await?;
        }
        execute(manager, "CREATE INDEX idx_payouts_host ON payouts (host_id)").await?;
        Ok(())
    }
}
