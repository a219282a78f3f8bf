//! Opening the database: PostgreSQL in production, SQLite as the embedded default.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use huakai_migrations::{Migrator, MigratorTrait};
use sea_orm::sea_query::{Expr, Func, FunctionCall};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, TransactionSession};

use crate::infra::error::AppResult;

/// Connections a process opens at most when `HUAKAI_DB_POOL` does not say: requests keep the
/// 8 (SQLite, which serialises its writers) or 20 (PostgreSQL) they had, the workers get 2 or 4.
pub fn default_pool_size(url: &str) -> u32 {
    if url.starts_with("sqlite:") { 10 } else { 24 }
}

/// Opens a pool of the default size; every statement it runs is counted in `statements` and
/// timed in the metrics.
pub async fn connect(url: &str, statements: Arc<AtomicU64>) -> Result<DatabaseConnection, DbErr> {
    connect_with_pool(url, statements, default_pool_size(url)).await
}

/// Opens a pool of at most `max_connections`.
pub async fn connect_with_pool(
    url: &str,
    statements: Arc<AtomicU64>,
    max_connections: u32,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .max_connections(max_connections.max(1))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        // SQLite serialises writers: WAL lets readers go on while one writes, and the busy
        // timeout makes a writer wait its turn instead of failing.
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    let mut db = Database::connect(options).await?;
    db.set_metric_callback(move |info| {
        statements.fetch_add(1, Ordering::Relaxed);
        metrics::histogram!("huakai_db_statement_duration_seconds").record(info.elapsed.as_secs_f64());
        if info.failed {
            metrics::counter!("huakai_db_statement_errors_total").increment(1);
        }
    });
    Ok(db)
}

/// Any fixed number: the key of the PostgreSQL advisory lock the migrations are applied under.
const MIGRATION_LOCK: i64 = 0x6875_616b_6169; // "huakai"

/// Brings the schema up to date; every command that opens the database calls this first.
///
/// Several processes may start at once on one database (a rollout, the payouts job, `compose
/// --profile demo`), and sea-orm-migration takes no lock: the second would create tables the
/// first has just made and fail. So the migrations run in one write transaction that holds a
/// lock: a PostgreSQL advisory lock (released with the transaction), or SQLite's write lock
/// (`BEGIN IMMEDIATE`). The others wait for it, then find nothing left to apply. Both
/// backends change their schema transactionally, so a failed migration leaves nothing behind.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let txn = begin_write(db).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [MIGRATION_LOCK.into()],
        ))
        .await?;
    }
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// A transaction that will write. On SQLite it takes the write lock at once (`BEGIN
/// IMMEDIATE`), so concurrent writers queue on the busy timeout instead of failing when a
/// read lock cannot be upgraded; PostgreSQL ignores the option.
pub async fn begin_write<C: sea_orm::TransactionTrait>(db: &C) -> Result<C::Transaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Ends a write (`begin_write`) as its outcome says: what was done is committed, what was
/// refused (a user error, or several) is rolled back, so that no return can forget either.
pub async fn end_write<T, E>(txn: impl TransactionSession, outcome: Result<T, E>) -> AppResult<Result<T, E>> {
    match outcome {
        Ok(done) => {
            txn.commit().await?;
            Ok(Ok(done))
        }
        Err(refused) => {
            txn.rollback().await?;
            Ok(Err(refused))
        }
    }
}

/// `HUAKAI_DB_POOL`: at least 4, since requests and the background workers each need two (a
/// transaction and a read beside it).
pub fn parse_pool_size(value: &str) -> Result<u32, String> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| *n >= 4)
        .ok_or_else(|| "must be a whole number of connections, 4 or more".to_owned())
}

/// How a process's `pool` connections are shared, as (requests, workers): the background
/// workers (expiry, deliveries, webhooks, clicks) get a fifth, between 2 and 4, so that their
/// work never takes a request's connection and the process never opens more than `pool`.
pub fn split_pool(pool: u32) -> (u32, u32) {
    let workers = (pool / 5).clamp(2, 4);
    (pool.saturating_sub(workers).max(2), workers)
}

/// `SUM(expr)`, 0 over no rows (SQL's own `SUM` is `NULL` there).
pub fn sum_or_zero(expr: impl Into<Expr>) -> FunctionCall {
    Func::coalesce([Expr::from(Func::sum(expr)), Expr::val(0)])
}
