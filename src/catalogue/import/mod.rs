//! `importCatalogue` and `huakai catalogue import`: the district's 目录 list, a CSV file
//! ([`rows`] names its columns), creates or updates catalogue entries, products and variants,
//! all rows or none, in one transaction. Every bad row is named with its column; a dry run
//! does the whole import and rolls it back, so it reports exactly what a real one would.

pub mod command;
mod plan;
mod rows;
mod write;

use sea_orm::{TransactionSession, TransactionTrait};

pub use rows::{COLUMNS, MAX_ROWS};
pub use write::Applied;

use crate::infra::db::begin_write;
use crate::infra::error::{AppResult, UserError};
use crate::infra::ids::UserId;

/// Imports `csv` for `actor` (an operator; none from the command line). `progress` hears the rows written so far, after
/// every hundred. A dry run writes nothing.
pub async fn import(
    db: &impl TransactionTrait,
    actor: Option<UserId>,
    csv: &str,
    dry_run: bool,
    progress: &mut (dyn FnMut(usize) + Send),
) -> AppResult<Result<Applied, Vec<UserError>>> {
    let parsed = match rows::parse(csv) {
        Ok(parsed) => parsed,
        Err(problems) => return Ok(Err(problems)),
    };
    let txn = begin_write(db).await?;
    // The good rows are checked against the shop too, so one answer names every bad row.
    let mut problems = parsed.problems;
    let plan = match plan::plan(&txn, parsed.rows).await? {
        Ok(plan) if problems.is_empty() => plan,
        Ok(_) => return Ok(Err(problems)),
        Err(more) => {
            problems.extend(more);
            problems.sort_by_key(|problem| problem.field.as_ref().and_then(|f| f.get(1)?.parse::<u64>().ok()));
            return Ok(Err(problems));
        }
    };
    let applied = write::write(&txn, actor, &plan, progress).await?;
    if dry_run {
        txn.rollback().await?;
    } else {
        txn.commit().await?;
    }
    Ok(Ok(applied))
}
