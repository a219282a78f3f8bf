//! Stock holes: the stock figures in a cached storefront response. They change every few
//! milliseconds in a flash sale, so a cached response keeps the catalogue data and remembers
//! where each stock figure sits; a hit fills them in fresh from the database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::infra::ids::VariantId;
use async_graphql::{Context, QueryPathSegment};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PathPart {
    Key(String),
    Index(usize),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StockFigure {
    /// `Variant.available`.
    Available { variant_id: VariantId },
    /// `Product.inStock`: on sale today (its catalogue entry's validity, if any) and some
    /// variant has stock available.
    InStock {
        variant_ids: Vec<VariantId>,
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

/// A response body cut at its stock figures: `segments[0] figure[0] segments[1] … segments[n]`.
/// Filling in fresh figures is then a concatenation, with no JSON parsing on a hit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutBody {
    pub segments: Vec<String>,
    pub figures: Vec<StockFigure>,
    /// Every variant whose stock the body shows, sorted, each once: worked out when the body is
    /// cut, not on every hit.
    pub variant_ids: Vec<VariantId>,
}

impl CutBody {
    /// Cuts `response` (`{"data": …}`) at `holes`, whose paths start inside `data`; `None`
    /// when a hole is not where it was recorded (then the response is not cached).
    ///
    /// The body is written out here, value by value, and cut where a hole's path leads: no
    /// text in the body (a product or variant named anything at all) can be taken for a hole.
    pub fn cut(response: Value, holes: Vec<StockHole>) -> Option<CutBody> {
        let expected = holes.len();
        let mut data = HoleTree::default();
        for hole in holes {
            data.insert(&hole.path, hole.figure)?;
        }
        let mut root = HoleTree::default();
        root.children.insert(PathPart::Key("data".to_owned()), data);
        let mut cutter = Cutter::default();
        cutter.write(&response, root)?;
        if cutter.figures.len() != expected {
            return None;
        }
        cutter.segments.push(cutter.current);
        let mut variant_ids: Vec<VariantId> = cutter
            .figures
            .iter()
            .flat_map(|figure| match figure {
                StockFigure::Available { variant_id } => std::slice::from_ref(variant_id),
                StockFigure::InStock { variant_ids, .. } => variant_ids.as_slice(),
            })
            .copied()
            .collect();
        variant_ids.sort_unstable();
        variant_ids.dedup();
        Some(CutBody {
            segments: cutter.segments,
            figures: cutter.figures,
            variant_ids,
        })
    }

    /// The body with `available` units per variant filled in.
    pub fn fill(&self, available: &HashMap<VariantId, i64>, today: NaiveDate) -> String {
        let available_of = |variant_id: &VariantId| available.get(variant_id).copied().unwrap_or(0);
        let mut body =
            String::with_capacity(self.segments.iter().map(String::len).sum::<usize>() + 8 * self.figures.len());
        for (segment, figure) in self.segments.iter().zip(&self.figures) {
            body.push_str(segment);
            match figure {
                StockFigure::Available { variant_id } => {
                    body.push_str(&i32::try_from(available_of(variant_id)).unwrap_or(i32::MAX).to_string());
                }
                StockFigure::InStock {
                    variant_ids,
                    entry_validity,
                } => {
                    let on_sale = entry_validity.is_none_or(|(from, to)| from <= today && today <= to);
                    let in_stock = on_sale && variant_ids.iter().any(|id| available_of(id) > 0);
                    body.push_str(if in_stock { "true" } else { "false" });
                }
            }
        }
        body.push_str(self.segments.last().map_or("", String::as_str));
        body
    }
}

/// The holes of a body by where they sit: a figure here, or holes further down.
#[derive(Default)]
struct HoleTree {
    figure: Option<StockFigure>,
    children: HashMap<PathPart, HoleTree>,
}

impl HoleTree {
    /// `None` when two holes claim one place, or one sits inside another.
    fn insert(&mut self, path: &[PathPart], figure: StockFigure) -> Option<()> {
        let mut node = self;
        for part in path {
            if node.figure.is_some() {
                return None;
            }
            node = node.children.entry(part.clone()).or_default();
        }
        if node.figure.is_some() || !node.children.is_empty() {
            return None;
        }
        node.figure = Some(figure);
        Some(())
    }
}

/// Writes a JSON body out, starting a new segment at each hole.
#[derive(Default)]
struct Cutter {
    segments: Vec<String>,
    figures: Vec<StockFigure>,
    current: String,
}

impl Cutter {
    fn write(&mut self, value: &Value, mut holes: HoleTree) -> Option<()> {
        if let Some(figure) = holes.figure {
            self.segments.push(std::mem::take(&mut self.current));
            self.figures.push(figure);
            return Some(());
        }
        if holes.children.is_empty() {
            self.current.push_str(&serde_json::to_string(value).ok()?);
            return Some(());
        }
        match value {
            Value::Object(fields) => {
                self.current.push('{');
                for (i, (key, field)) in fields.iter().enumerate() {
                    if i > 0 {
                        self.current.push(',');
                    }
                    self.current.push_str(&serde_json::to_string(key).ok()?);
                    self.current.push(':');
                    match holes.children.remove(&PathPart::Key(key.clone())) {
                        Some(below) => self.write(field, below)?,
                        None => self.current.push_str(&serde_json::to_string(field).ok()?),
                    }
                }
                self.current.push('}');
            }
            Value::Array(items) => {
                self.current.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.current.push(',');
                    }
                    match holes.children.remove(&PathPart::Index(i)) {
                        Some(below) => self.write(item, below)?,
                        None => self.current.push_str(&serde_json::to_string(item).ok()?),
                    }
                }
                self.current.push(']');
            }
            _ => return None,
        }
        // Every hole below this value was found in it.
        holes.children.is_empty().then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_fresh_figures_at_their_paths() {
        let body =
            json!({ "data": { "p": { "inStock": true, "variants": [{ "available": 5 }, { "available": 2 }] } } });
        let key = |k: &str| PathPart::Key(k.to_owned());
        // Recorded in resolution order, which need not be the order in the body.
        let holes = vec![
            StockHole {
                path: vec![key("p"), key("variants"), PathPart::Index(1), key("available")],
                figure: StockFigure::Available {
                    variant_id: VariantId(2),
                },
            },
            StockHole {
                path: vec![key("p"), key("variants"), PathPart::Index(0), key("available")],
                figure: StockFigure::Available {
                    variant_id: VariantId(1),
                },
            },
            StockHole {
                path: vec![key("p"), key("inStock")],
                figure: StockFigure::InStock {
                    variant_ids: vec![VariantId(1), VariantId(2)],
                    entry_validity: None,
                },
            },
        ];
        let cut = CutBody::cut(body, holes).expect("holes are where recorded");
        assert_eq!(cut.variant_ids, [VariantId(1), VariantId(2)]);
        let today = NaiveDate::from_ymd_opt(2026, 9, 1).expect("date");
        let filled: Value =
            serde_json::from_str(&cut.fill(&HashMap::from([(VariantId(1), 0), (VariantId(2), 0)]), today))
                .expect("json");
        assert_eq!(
            filled,
            json!({ "data": { "p": { "inStock": false, "variants": [{ "available": 0 }, { "available": 0 }] } } })
        );
        let filled: Value =
            serde_json::from_str(&cut.fill(&HashMap::from([(VariantId(1), 0), (VariantId(2), 7)]), today))
                .expect("json");
        assert_eq!(filled["data"]["p"]["inStock"], json!(true));
        assert_eq!(filled["data"]["p"]["variants"][1]["available"], json!(7));
        assert_eq!(filled["data"]["p"]["variants"][0]["available"], json!(0));
    }

    #[test]
    fn text_that_looks_like_a_hole_is_left_alone() {
        // Names are anyone's: one written like the old stock marker must stay a name.
        let body = json!({ "data": { "v": [
            { "name": "\u{1}huakai-stock-1\u{1}", "available": 5 },
            { "name": "\u{1}huakai-stock-0\u{1}", "available": 2 },
        ] } });
        let key = |k: &str| PathPart::Key(k.to_owned());
        let holes = (0..2)
            .map(|i| StockHole {
                path: vec![key("v"), PathPart::Index(i), key("available")],
                figure: StockFigure::Available {
                    variant_id: VariantId(i as i64 + 1),
                },
            })
            .collect();
        let cut = CutBody::cut(body, holes).expect("cut");
        let today = NaiveDate::from_ymd_opt(2026, 9, 1).expect("date");
        let filled: Value =
            serde_json::from_str(&cut.fill(&HashMap::from([(VariantId(1), 10), (VariantId(2), 20)]), today))
                .expect("json");
        assert_eq!(
            filled,
            json!({ "data": { "v": [
                { "name": "\u{1}huakai-stock-1\u{1}", "available": 10 },
                { "name": "\u{1}huakai-stock-0\u{1}", "available": 20 },
            ] } })
        );
    }

    #[test]
    fn a_hole_that_is_not_in_the_body_is_not_cached() {
        let body = json!({ "data": { "p": null } });
        let holes = vec![StockHole {
            path: vec![PathPart::Key("p".to_owned()), PathPart::Key("inStock".to_owned())],
            figure: StockFigure::Available {
                variant_id: VariantId(1),
            },
        }];
        assert!(CutBody::cut(body, holes).is_none());
    }

    #[test]
    fn a_lapsed_entry_is_not_in_stock() {
        let body = json!({ "data": { "inStock": true } });
        let holes = vec![StockHole {
            path: vec![PathPart::Key("inStock".to_owned())],
            figure: StockFigure::InStock {
                variant_ids: vec![VariantId(1)],
                entry_validity: Some((
                    NaiveDate::from_ymd_opt(2025, 1, 1).expect("date"),
                    NaiveDate::from_ymd_opt(2025, 12, 31).expect("date"),
                )),
            },
        }];
        let cut = CutBody::cut(body, holes).expect("cut");
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
        assert_eq!(
            cut.fill(&HashMap::from([(VariantId(1), 9)]), today),
            r#"{"data":{"inStock":false}}"#
        );
    }
}
