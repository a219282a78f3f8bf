//! What every migration needs: running a statement, the column types of the backend it runs
//! on, and widening a CHECK's list of values on both backends (PostgreSQL replaces the
//! constraint; SQLite cannot alter one, so the table's stored text is edited under
//! `writable_schema` and the schema version bumped, which is SQLite's documented way).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

pub async fn execute(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    manager.get_connection().execute_unprepared(sql).await.map(|_| ())
}

/// The column types that differ between the backends.
pub struct Types {
    pub postgres: bool,
    pub id: &'static str,
    pub big: &'static str,
    pub timestamp: &'static str,
    pub date: &'static str,
}

pub fn types(manager: &SchemaManager<'_>) -> Types {
    if manager.get_database_backend() == DbBackend::Postgres {
        Types {
            postgres: true,
            id: "bigserial PRIMARY KEY",
            big: "bigint",
            timestamp: "timestamptz",
            date: "date",
        }
    } else {
        Types {
            postgres: false,
            id: "integer PRIMARY KEY AUTOINCREMENT",
            big: "integer",
            timestamp: "timestamp_with_timezone_text",
            date: "date_text",
        }
    }
}

/// A CHECK of `table` whose list of values grows: `old` and `new` are its text as created
/// (the part that changes, as SQLite stored it); `postgres_check` the whole new constraint on
/// `column`, which replaces the one whose definition contains `marker`.
pub struct WiderCheck<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub marker: &'a str,
    pub postgres_check: &'a str,
    pub old: &'a str,
    pub new: &'a str,
}

pub async fn widen_checks(manager: &SchemaManager<'_>, checks: &[WiderCheck<'_>]) -> Result<(), DbErr> {
    if manager.get_database_backend() == DbBackend::Postgres {
        for check in checks {
            let (table, marker) = (check.table, check.marker);
            execute(
                manager,
                &format!(
                    "DO $$
                     DECLARE found text;
                     BEGIN
                        SELECT conname INTO found FROM pg_constraint
                         WHERE conrelid = '{table}'::regclass AND contype = 'c'
                           AND pg_get_constraintdef(oid) LIKE '%{marker}%';
                        EXECUTE format('ALTER TABLE {table} DROP CONSTRAINT %I', found);
                     END $$;
                     ALTER TABLE {table} ADD CONSTRAINT {table}_{column}_check CHECK ({check});",
                    column = check.column,
                    check = check.postgres_check,
                ),
            )
            .await?;
        }
        return Ok(());
    }
    let edits: Vec<(&str, &str, &str)> = checks.iter().map(|c| (c.table, c.old, c.new)).collect();
    edit_sqlite_tables(manager, &edits).await
}

/// SQLite: replaces `old` by `new` in the stored text of `table`, `(table, old, new)` each, and
/// bumps the schema version so that every connection reads the tables anew. An edit whose
/// text is not there fails the migration.
pub async fn edit_sqlite_tables(manager: &SchemaManager<'_>, edits: &[(&str, &str, &str)]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let version: i64 = db
        .query_one_raw(Statement::from_string(DbBackend::Sqlite, "PRAGMA schema_version"))
        .await?
        .map(|row| row.try_get_by_index(0))
        .transpose()?
        .unwrap_or(0);
    execute(manager, "PRAGMA writable_schema = ON").await?;
    let mut missing = Vec::new();
    for (table, old, new) in edits {
        let edited = db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "UPDATE sqlite_master SET sql = replace(sql, ?, ?) \
                 WHERE type = 'table' AND name = ? AND instr(sql, ?) > 0",
                [(*old).into(), (*new).into(), (*table).into(), (*old).into()],
            ))
            .await?;
        if edited.rows_affected() != 1 {
            missing.push(*table);
        }
    }
    execute(manager, &format!("PRAGMA schema_version = {}", version + 1)).await?;
    execute(manager, "PRAGMA writable_schema = OFF").await?;
    if !missing.is_empty() {
        return Err(DbErr::Migration(format!(
            "the text to edit was not found in {missing:?}"
        )));
    }
    Ok(())
}
