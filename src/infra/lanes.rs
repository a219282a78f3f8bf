//! Lanes of waiting jobs, one per key, for group commit: a caller puts its job in its key's
//! lane and takes a turn at the lane; whoever has one takes out everything waiting (up to a
//! cap) and does it all at once, so that jobs that queue on one resource share one turn at it.
//! A lane gives one turn at a time; resources its jobs hold only at their turn's end can have
//! several lanes (shards of its callers), whose turns go on at once. Knows no domain: a job is
//! whatever its caller puts in (`Box<dyn Any + Send>`) and takes out again as its own type. The
//! counts say how many turns did how many jobs.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::infra::error::{AppError, AppResult};

pub type Job = Box<dyn Any + Send>;

/// A lane's key: which shard of the callers it serves (callers who must not share a turn's
/// moment, because each locks something of its own for the whole turn, are in one shard).
pub type LaneKey = i64;

/// One key's lane: the jobs waiting, and the turns being taken.
pub struct Lane {
    waiting: Mutex<Vec<Job>>,
    turns: Arc<Semaphore>,
}

fn poisoned() -> AppError {
    AppError::Internal(anyhow::anyhow!("a lane's lock was poisoned"))
}

impl Lane {
    pub fn push(&self, job: Job) -> AppResult<()> {
        self.waiting.lock().map_err(|_| poisoned())?.push(job);
        Ok(())
    }

    /// Waits for a turn at the lane; it lasts as long as the permit (which may move to a task).
    pub async fn turn(&self) -> AppResult<OwnedSemaphorePermit> {
        Arc::clone(&self.turns)
            .acquire_owned()
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("a lane's turns were closed")))
    }

    /// Takes out up to `most` jobs waiting, oldest first.
    pub fn take(&self, most: usize) -> AppResult<Vec<Job>> {
        let mut waiting = self.waiting.lock().map_err(|_| poisoned())?;
        let take = waiting.len().min(most);
        Ok(waiting.drain(..take).collect())
    }
}

/// A process's lanes, each made on first use, and how many turns did how many jobs.
#[derive(Default)]
pub struct Lanes {
    lanes: Mutex<HashMap<LaneKey, Arc<Lane>>>,
    turns: AtomicU64,
    jobs: AtomicU64,
}

impl Lanes {
    /// `key`'s lane, made on first use.
    pub fn lane(&self, key: LaneKey) -> AppResult<Arc<Lane>> {
        let mut lanes = self.lanes.lock().map_err(|_| poisoned())?;
        Ok(Arc::clone(lanes.entry(key).or_insert_with(|| {
            Arc::new(Lane {
                waiting: Mutex::default(),
                turns: Arc::new(Semaphore::new(1)),
            })
        })))
    }

    /// Counts a turn that did `jobs` jobs.
    pub fn count(&self, jobs: usize) {
        self.turns.fetch_add(1, Ordering::Relaxed);
        self.jobs.fetch_add(jobs as u64, Ordering::Relaxed);
    }

    /// (turns, jobs) so far: more jobs than turns is jobs that shared a turn.
    pub fn done(&self) -> (u64, u64) {
        (self.turns.load(Ordering::Relaxed), self.jobs.load(Ordering::Relaxed))
    }
}
