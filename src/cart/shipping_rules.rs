//! Producers' shipping rules as they are kept: `setShippingRule` replaces a producer's rule
//! whole (its provinces with it, in one transaction), and the rules of the producers of a cart
//! or an order are read in one go.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::entity::{shipping_province, shipping_rule};
use super::shipping::Rule;
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::ProducerId;
use crate::infra::money::Fen;

/// No fee above this (¥10,000): a typo, not a fee.
const MAX_FEE: Fen = Fen::new(1_000_000);
/// Provinces a rule names at most (China has 34 provincial divisions).
const MAX_PROVINCES: usize = 40;

/// `setShippingRule`'s input, as typed.
pub struct RuleInput {
    pub first_weight_grams: i32,
    pub first_fee: String,
    pub extra_per_kg: String,
    pub free_over: Option<String>,
    pub excluded_provinces: Vec<String>,
    /// (province, extra fee)
    pub surcharges: Vec<(String, String)>,
}

fn invalid(path: &[&str], message: impl Into<Message>) -> UserError {
    UserError::new(ErrorCode::InvalidInput, message).on_field(path)
}

fn fee(text: &str, path: &[&str]) -> Result<Fen, UserError> {
    match Fen::parse_yuan(text) {
        Ok(fee) if fee >= Fen::ZERO && fee <= MAX_FEE => Ok(fee),
        Ok(_) => Err(invalid(path, Message::new("shipping-fee-range").with("max", MAX_FEE))),
        Err(problem) => Err(invalid(path, problem.message())),
    }
}

fn province(name: &str, path: &[&str]) -> Result<String, UserError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(invalid(path, Message::new("text-length").with("max", 50)));
    }
    Ok(name.to_owned())
}

/// The rule `input` describes, or what is wrong with it.
fn checked(input: &RuleInput) -> Result<Rule, UserError> {
    if !(1..=100_000).contains(&input.first_weight_grams) {
        return Err(invalid(
            &["input", "firstWeightGrams"],
            Message::new("first-weight-range").with("max", 100_000),
        ));
    }
    let first_fee = fee(&input.first_fee, &["input", "firstFee"])?;
    let extra_per_kg = fee(&input.extra_per_kg, &["input", "extraPerKg"])?;
    let free_over = match input.free_over.as_deref() {
        None => None,
        Some(text) => match Fen::parse_yuan(text) {
            Ok(over) if over > Fen::ZERO => Some(over),
            Ok(_) => return Err(invalid(&["input", "freeOver"], "free-over-positive")),
            Err(problem) => return Err(invalid(&["input", "freeOver"], problem.message())),
        },
    };
    if input.excluded_provinces.len() + input.surcharges.len() > MAX_PROVINCES {
        return Err(invalid(
            &["input"],
            Message::new("shipping-provinces-count").with("max", MAX_PROVINCES),
        ));
    }
    let mut excluded = Vec::new();
    for (index, name) in input.excluded_provinces.iter().enumerate() {
        excluded.push(province(name, &["input", "excludedProvinces", &index.to_string()])?);
    }
    let mut surcharges = Vec::new();
    for (index, (name, extra)) in input.surcharges.iter().enumerate() {
        let at = index.to_string();
        surcharges.push((
            province(name, &["input", "surcharges", &at, "province"])?,
            fee(extra, &["input", "surcharges", &at, "extraFee"])?,
        ));
    }
    let mut named: Vec<&String> = excluded.iter().chain(surcharges.iter().map(|(name, _)| name)).collect();
    named.sort();
    if named.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(invalid(&["input"], "shipping-province-twice"));
    }
    Ok(Rule {
        first_weight_grams: i64::from(input.first_weight_grams),
        first_fee,
        extra_per_kg,
        free_over,
        excluded,
        surcharges,
    })
}

/// `setShippingRule`: the producer's rule, replaced whole.
pub async fn set_rule(db: &DatabaseConnection, producer_id: ProducerId, input: &RuleInput) -> Outcome<Rule> {
    let rule = match checked(input) {
        Ok(rule) => rule,
        Err(problem) => return Ok(Err(problem)),
    };
    let txn = begin_write(db).await?;
    shipping_rule::Entity::insert(shipping_rule::ActiveModel {
        producer_id: Set(producer_id),
        first_weight_grams: Set(rule.first_weight_grams),
        first_fee_fen: Set(rule.first_fee),
        extra_per_kg_fen: Set(rule.extra_per_kg),
        free_over_fen: Set(rule.free_over),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(shipping_rule::Column::ProducerId)
            .update_columns([
                shipping_rule::Column::FirstWeightGrams,
                shipping_rule::Column::FirstFeeFen,
                shipping_rule::Column::ExtraPerKgFen,
                shipping_rule::Column::FreeOverFen,
                shipping_rule::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    shipping_province::Entity::delete_many()
        .filter(shipping_province::Column::ProducerId.eq(producer_id))
        .exec(&txn)
        .await?;
    let provinces = rule.excluded.iter().map(|name| (name.clone(), true, Fen::ZERO)).chain(
        rule.surcharges
            .iter()
            .map(|(name, extra)| (name.clone(), false, *extra)),
    );
    let rows: Vec<shipping_province::ActiveModel> = provinces
        .map(|(province, excluded, extra)| shipping_province::ActiveModel {
            producer_id: Set(producer_id),
            province: Set(province),
            excluded: Set(excluded),
            extra_fee_fen: Set(extra),
            ..Default::default()
        })
        .collect();
    if !rows.is_empty() {
        shipping_province::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
    }
    end_write(txn, Ok(rule)).await
}

/// The rules of these producers (those that have one).
pub async fn rules_of(
    db: &impl ConnectionTrait,
    producer_ids: impl IntoIterator<Item = ProducerId> + Clone,
) -> AppResult<HashMap<ProducerId, Rule>> {
    let rows = shipping_rule::Entity::find()
        .filter(shipping_rule::Column::ProducerId.is_in(producer_ids.clone()))
        .all(db)
        .await?;
    let provinces = shipping_province::Entity::find()
        .filter(shipping_province::Column::ProducerId.is_in(producer_ids))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mine = provinces.iter().filter(|p| p.producer_id == row.producer_id);
            let rule = Rule {
                first_weight_grams: row.first_weight_grams,
                first_fee: row.first_fee_fen,
                extra_per_kg: row.extra_per_kg_fen,
                free_over: row.free_over_fen,
                excluded: mine
                    .clone()
                    .filter(|p| p.excluded)
                    .map(|p| p.province.clone())
                    .collect(),
                surcharges: mine
                    .filter(|p| !p.excluded)
                    .map(|p| (p.province.clone(), p.extra_fee_fen))
                    .collect(),
            };
            (row.producer_id, rule)
        })
        .collect())
}
