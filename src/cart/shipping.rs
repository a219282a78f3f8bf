//! Shipping fees: each producer's rule, and what a shipment of so many grams worth so much to a
//! province costs under it. One shipment per producer; a producer without a rule ships free.
//!
//! **The rule, written down.** A shipment weighs the sum of its lines' `weightGrams × quantity`.
//! Its fee is `firstFee` for the first `firstWeightGrams`, plus `extraPerKg` for every
//! kilogram or part of one beyond them (1 g over is a whole kilogram: rounded **up**), plus the
//! province's surcharge if the rule names one. When the producer's part of the order is worth
//! `freeOver` or more, the first-weight and per-kilogram parts are waived; the surcharge is not
//! (包邮, 偏远地区加收). A province the rule excludes is not delivered to at all. A province of
//! the rule matches an address whose province begins with it, so `新疆` covers `新疆维吾尔自治区`.

use crate::infra::money::Fen;

/// A producer's shipping rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub first_weight_grams: i64,
    pub first_fee: Fen,
    pub extra_per_kg: Fen,
    pub free_over: Option<Fen>,
    pub excluded: Vec<String>,
    /// (province, extra fee)
    pub surcharges: Vec<(String, Fen)>,
}

/// What a shipment costs to a province.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fee {
    Deliverable(Fen),
    /// The rule excludes the province.
    NotDeliverable,
}

fn names(rule_province: &str, province: &str) -> bool {
    let rule_province = rule_province.trim();
    !rule_province.is_empty() && province.trim().starts_with(rule_province)
}

/// The fee of a shipment of `weight_grams`, worth `subtotal`, to `province` under `rule`.
pub fn fee(rule: Option<&Rule>, weight_grams: i64, subtotal: Fen, province: &str) -> Fee {
    let Some(rule) = rule else {
        return Fee::Deliverable(Fen::ZERO);
    };
    if rule.excluded.iter().any(|excluded| names(excluded, province)) {
        return Fee::NotDeliverable;
    }
    let free = rule.free_over.is_some_and(|over| subtotal >= over);
    let base = if free {
        Fen::ZERO
    } else {
        let beyond = (weight_grams - rule.first_weight_grams).max(0);
        let extra_kilograms = (beyond + 999) / 1000;
        Fen::new(rule.first_fee.get() + extra_kilograms * rule.extra_per_kg.get())
    };
    let surcharge = rule
        .surcharges
        .iter()
        .find(|(name, _)| names(name, province))
        .map_or(Fen::ZERO, |(_, extra)| *extra);
    Fee::Deliverable(Fen::new(base.get() + surcharge.get()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> Rule {
        Rule {
            first_weight_grams: 1000,
            first_fee: Fen::new(8_00),
            extra_per_kg: Fen::new(3_00),
            free_over: Some(Fen::new(99_00)),
            excluded: vec!["西藏".to_owned()],
            surcharges: vec![("新疆".to_owned(), Fen::new(15_00))],
        }
    }

    #[test]
    fn a_part_kilogram_costs_a_whole_one() {
        let hunan = "湖南省";
        assert_eq!(
            fee(Some(&rule()), 0, Fen::new(10_00), hunan),
            Fee::Deliverable(Fen::new(8_00))
        );
        assert_eq!(
            fee(Some(&rule()), 1000, Fen::new(10_00), hunan),
            Fee::Deliverable(Fen::new(8_00))
        );
        assert_eq!(
            fee(Some(&rule()), 1001, Fen::new(10_00), hunan),
            Fee::Deliverable(Fen::new(11_00))
        );
        assert_eq!(
            fee(Some(&rule()), 2000, Fen::new(10_00), hunan),
            Fee::Deliverable(Fen::new(11_00))
        );
        assert_eq!(
            fee(Some(&rule()), 2001, Fen::new(10_00), hunan),
            Fee::Deliverable(Fen::new(14_00))
        );
    }

    #[test]
    fn free_over_waives_all_but_the_surcharge() {
        assert_eq!(
            fee(Some(&rule()), 5000, Fen::new(99_00), "湖南省"),
            Fee::Deliverable(Fen::ZERO)
        );
        assert_eq!(
            fee(Some(&rule()), 5000, Fen::new(98_99), "湖南省"),
            Fee::Deliverable(Fen::new(20_00))
        );
        assert_eq!(
            fee(Some(&rule()), 5000, Fen::new(99_00), "新疆维吾尔自治区"),
            Fee::Deliverable(Fen::new(15_00))
        );
        assert_eq!(
            fee(Some(&rule()), 500, Fen::new(10_00), "新疆维吾尔自治区"),
            Fee::Deliverable(Fen::new(23_00))
        );
    }

    #[test]
    fn excluded_provinces_are_not_delivered_and_no_rule_ships_free() {
        assert_eq!(
            fee(Some(&rule()), 500, Fen::new(10_00), "西藏自治区"),
            Fee::NotDeliverable
        );
        assert_eq!(
            fee(None, 50_000, Fen::new(10_00), "西藏自治区"),
            Fee::Deliverable(Fen::ZERO)
        );
    }
}
