//! The stock figures a process remembers between requests while no stock write happened.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::stock;
use crate::infra::ids::VariantId;

/// Figures read from the mirror while the *stock generation* (a counter every stock write
/// counts up after it offered its figures, read with the versions) was `generation`. While
/// the generation read by a request is still this one, no figure changed since they were read,
/// so the request needs no more than the versions; the memo is dropped [`stock::MEMO_FOR`]
/// after it was started, whatever the generation says, so figures that expired from the mirror
/// (a writer died before its announcement) are read again.
pub(super) struct StockMemo {
    pub(super) generation: u64,
    pub(super) started: Instant,
    pub(super) figures: Arc<HashMap<VariantId, i64>>,
}

impl StockMemo {
    pub(super) fn current(&self, generation: u64) -> bool {
        self.generation == generation && self.started.elapsed() < stock::MEMO_FOR
    }
}

/// Keeps the figures a request read as of `generation` for the next requests: added to the
/// memo when it is of that generation and young, else in a new memo started now.
pub(super) fn remember(
    memo: &std::sync::RwLock<Arc<StockMemo>>,
    generation: u64,
    known: &Arc<HashMap<VariantId, i64>>,
    found: &HashMap<VariantId, i64>,
) {
    let current = memo.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    if current.current(generation) && Arc::ptr_eq(&current.figures, known) && found.is_empty() {
        return;
    }
    let mut memo = memo.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    let next = if memo.current(generation) {
        let mut figures = (*memo.figures).clone();
        figures.extend(known.iter().map(|(id, units)| (*id, *units)));
        figures.extend(found);
        StockMemo {
            generation,
            started: memo.started,
            figures: Arc::new(figures),
        }
    } else {
        let mut figures = (**known).clone();
        figures.extend(found);
        StockMemo {
            generation,
            started: Instant::now(),
            figures: Arc::new(figures),
        }
    };
    *memo = Arc::new(next);
}
