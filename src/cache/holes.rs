//! Stock holes: the stock figures in a cached storefront response. They change every few
//! milliseconds in a flash sale, so a cached response keeps the catalogue data and remembers
//! where each stock figure sits; a hit fills them in fresh from the database.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::{Context, QueryPathSegment};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PathPart {
    Key(String),
    Index(usize),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StockFigure {
    /// `Variant.available`.
    Available { variant_id: i64 },
    /// `Product.inStock`: on sale today (its catalogue entry's validity, if any) and some
    /// variant has stock available.
    InStock {
        variant_ids: Vec<i64>,
        entry_validity: Option<(NaiveDate, NaiveDate)>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockHole {
    pub path: Vec<PathPart>,
    pub figure: StockFigure,
}

/// Collects the holes of one response while it is resolved.
#[derive(Default)]
pub struct StockHoles {
    holes: Mutex<Vec<StockHole>>,
    /// Set when the response's very shape depends on stock (an `inStock` filter).
    depends_on_availability: AtomicBool,
}

impl StockHoles {
    /// The holes recorded so far, and whether the response's shape depends on stock.
    pub fn take(&self) -> (Vec<StockHole>, bool) {
        let holes = std::mem::take(&mut *self.holes.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        (holes, self.depends_on_availability.load(Ordering::Relaxed))
    }
}

/// Records that the field being resolved shows `figure` (no-op outside a cacheable request).
pub fn record(ctx: &Context<'_>, figure: StockFigure) {
    let (Some(holes), Some(path)) = (ctx.data_opt::<Arc<StockHoles>>(), ctx.path_node) else {
        return;
    };
    let mut parts = Vec::new();
    let mut node = Some(&path);
    while let Some(current) = node {
        parts.push(match current.segment {
            QueryPathSegment::Name(name) => PathPart::Key(name.to_owned()),
            QueryPathSegment::Index(index) => PathPart::Index(index),
        });
        node = current.parent;
    }
    parts.reverse();
    holes
        .holes
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(StockHole { path: parts, figure });
}

/// Records that which items the response lists depends on stock.
pub fn depends_on_availability(ctx: &Context<'_>) {
    if let Some(holes) = ctx.data_opt::<Arc<StockHoles>>() {
        holes.depends_on_availability.store(true, Ordering::Relaxed);
    }
}

/// Every variant whose stock the holes show.
pub fn variant_ids(holes: &[StockHole]) -> HashSet<i64> {
    let mut ids = HashSet::new();
    for hole in holes {
        match &hole.figure {
            StockFigure::Available { variant_id } => {
                ids.insert(*variant_id);
            }
            StockFigure::InStock { variant_ids, .. } => ids.extend(variant_ids),
        }
    }
    ids
}

/// Writes fresh stock figures into a cached response body (`{"data": …}`).
pub fn fill(body: &mut Value, holes: &[StockHole], available: &HashMap<i64, i64>, today: NaiveDate) {
    let available_of = |variant_id: &i64| available.get(variant_id).copied().unwrap_or(0);
    for hole in holes {
        let fresh = match &hole.figure {
            StockFigure::Available { variant_id } => {
                Value::from(i32::try_from(available_of(variant_id)).unwrap_or(i32::MAX))
            }
            StockFigure::InStock {
                variant_ids,
                entry_validity,
            } => {
                let on_sale = entry_validity.is_none_or(|(from, to)| from <= today && today <= to);
                Value::from(on_sale && variant_ids.iter().any(|id| available_of(id) > 0))
            }
        };
        if let Some(slot) = locate(&mut body["data"], &hole.path) {
            *slot = fresh;
        }
    }
}

fn locate<'a>(mut value: &'a mut Value, path: &[PathPart]) -> Option<&'a mut Value> {
    for part in path {
        value = match part {
            PathPart::Key(key) => value.get_mut(key.as_str())?,
            PathPart::Index(index) => value.get_mut(*index)?,
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_fresh_figures_at_their_paths() {
        let mut body =
            json!({ "data": { "p": { "inStock": true, "variants": [{ "available": 5 }, { "available": 2 }] } } });
        let key = |k: &str| PathPart::Key(k.to_owned());
        let holes = vec![
            StockHole {
                path: vec![key("p"), key("variants"), PathPart::Index(0), key("available")],
                figure: StockFigure::Available { variant_id: 1 },
            },
            StockHole {
                path: vec![key("p"), key("variants"), PathPart::Index(1), key("available")],
                figure: StockFigure::Available { variant_id: 2 },
            },
            StockHole {
                path: vec![key("p"), key("inStock")],
                figure: StockFigure::InStock {
                    variant_ids: vec![1, 2],
                    entry_validity: None,
                },
            },
        ];
        let today = NaiveDate::from_ymd_opt(2026, 9, 1).expect("date");
        fill(&mut body, &holes, &HashMap::from([(1, 0), (2, 0)]), today);
        assert_eq!(
            body,
            json!({ "data": { "p": { "inStock": false, "variants": [{ "available": 0 }, { "available": 0 }] } } })
        );
        fill(&mut body, &holes, &HashMap::from([(1, 0), (2, 7)]), today);
        assert_eq!(body["data"]["p"]["inStock"], json!(true));
        assert_eq!(body["data"]["p"]["variants"][1]["available"], json!(7));
    }
}
