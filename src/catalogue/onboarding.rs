//! Onboarding a district (operators): villages, producers and categories, created and
//! corrected. Every value is checked before anything is written; unique slugs are the
//! database's to judge (a race between two operators ends in `slug-taken`, not a 500).

use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QuerySelect, Set, SqlErr,
};

use super::entity::{category, producer, village};
use super::management::{control_characters, has_control_characters, invalid};
use super::service::village_by_slug;
use crate::catalogue::ProducerKind;
use crate::infra::error::{AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::{ProducerId, VillageId};

/// A slug: 2 to 80 lower-case ASCII letters, digits and dashes (the URL of its page).
pub fn is_slug(slug: &str) -> bool {
    (2..=80).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The earliest and latest year a village can have left poverty (出列): the reform era.
const EXIT_YEARS: std::ops::RangeInclusive<i32> = 1978..=2100;
const MAX_PLACE_NAME_CHARS: usize = 80;
const MAX_STORY_CHARS: usize = 5_000;
/// A typo guard: no cooperative links more households than this.
const MAX_LINKED_HOUSEHOLDS: i32 = 100_000;

pub struct VillageFields {
    pub slug: String,
    pub name: String,
    pub town: String,
    pub district: String,
    pub registered_poor: bool,
    pub exited_poverty_year: Option<i32>,
    pub story: String,
}

pub struct ProducerFields {
    pub slug: String,
    pub name: String,
    /// `HOUSEHOLD`, `COOPERATIVE` or `WORKSHOP`.
    pub kind: ProducerKind,
    pub village_slug: String,
    pub linked_poor_households: i32,
}

pub struct CategoryFields {
    pub slug: String,
    pub name: String,
}

/// A one-line name of 1 to `max` characters, trimmed.
fn one_line_name<'a>(text: &'a str, path: &[&str], max: usize) -> Result<&'a str, UserError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(invalid(path, Message::new("name-length").with("max", max)));
    }
    if has_control_characters(text) {
        return Err(control_characters(path));
    }
    Ok(text)
}

fn slug_of(slug: &str) -> Result<&str, UserError> {
    if is_slug(slug) {
        Ok(slug)
    } else {
        Err(invalid(&["input", "slug"], "slug-format"))
    }
}

fn checked_village(fields: &VillageFields) -> Result<village::ActiveModel, UserError> {
    let slug = slug_of(&fields.slug)?;
    let name = one_line_name(&fields.name, &["input", "name"], MAX_PLACE_NAME_CHARS)?;
    let town = one_line_name(&fields.town, &["input", "town"], MAX_PLACE_NAME_CHARS)?;
    let district = one_line_name(&fields.district, &["input", "district"], MAX_PLACE_NAME_CHARS)?;
    if let Some(year) = fields.exited_poverty_year {
        if !fields.registered_poor {
            return Err(invalid(&["input", "exitedPovertyYear"], "exit-year-without-register"));
        }
        if !EXIT_YEARS.contains(&year) {
            return Err(invalid(
                &["input", "exitedPovertyYear"],
                Message::new("exit-year-range")
                    .with("from", *EXIT_YEARS.start())
                    .with("to", *EXIT_YEARS.end()),
            ));
        }
    }
    let story = fields.story.trim();
    if story.chars().count() > MAX_STORY_CHARS {
        return Err(invalid(
            &["input", "story"],
            Message::new("story-length").with("max", MAX_STORY_CHARS),
        ));
    }
    if story.chars().any(crate::infra::text::is_refused_control) {
        return Err(control_characters(&["input", "story"]));
    }
    Ok(village::ActiveModel {
        id: NotSet,
        slug: Set(slug.to_owned()),
        name: Set(name.to_owned()),
        town: Set(town.to_owned()),
        district: Set(district.to_owned()),
        registered_poor: Set(fields.registered_poor),
        exited_poverty_year: Set(fields.exited_poverty_year),
        story: Set(story.to_owned()),
    })
}

/// A write that may meet a taken slug: `slug-taken` on `input.slug` then.
fn slug_taken<T>(written: Result<T, DbErr>) -> Outcome<T> {
    match written {
        Ok(row) => Ok(Ok(row)),
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Ok(Err(invalid(&["input", "slug"], "slug-taken")))
        }
        Err(error) => Err(error.into()),
    }
}

/// `createVillage`.
pub async fn create_village(db: &impl ConnectionTrait, fields: VillageFields) -> Outcome<village::Model> {
    match checked_village(&fields) {
        Ok(row) => slug_taken(row.insert(db).await),
        Err(problem) => Ok(Err(problem)),
    }
}

/// `updateVillage`: every field replaced, the slug included (its old links then stop working).
pub async fn update_village(
    db: &impl ConnectionTrait,
    village_id: VillageId,
    fields: VillageFields,
) -> Outcome<village::Model> {
    let mut row = match checked_village(&fields) {
        Ok(row) => row,
        Err(problem) => return Ok(Err(problem)),
    };
    if village::Entity::find_by_id(village_id).one(db).await?.is_none() {
        return Ok(Err(village_not_found(&["villageId"])));
    }
    row.id = Set(village_id);
    slug_taken(row.update(db).await)
}

fn village_not_found(path: &[&str]) -> UserError {
    UserError::new(ErrorCode::NotFound, "village-not-found").on_field(path)
}

async fn checked_producer(db: &impl ConnectionTrait, fields: &ProducerFields) -> Outcome<(String, String, VillageId)> {
    let slug = match slug_of(&fields.slug) {
        Ok(slug) => slug,
        Err(problem) => return Ok(Err(problem)),
    };
    let name = match one_line_name(&fields.name, &["input", "name"], MAX_PLACE_NAME_CHARS) {
        Ok(name) => name,
        Err(problem) => return Ok(Err(problem)),
    };
    if !(0..=MAX_LINKED_HOUSEHOLDS).contains(&fields.linked_poor_households) {
        return Ok(Err(invalid(
            &["input", "linkedPoorHouseholds"],
            Message::new("linked-households-range").with("max", MAX_LINKED_HOUSEHOLDS),
        )));
    }
    let Some(village) = village_by_slug(db, &fields.village_slug).await? else {
        return Ok(Err(village_not_found(&["input", "villageSlug"])));
    };
    Ok(Ok((slug.to_owned(), name.to_owned(), village.id)))
}

/// `createProducer`: its payout account is set afterwards, as for any producer
/// (`setProducerPayoutAccount`).
pub async fn create_producer(db: &impl ConnectionTrait, fields: ProducerFields) -> Outcome<producer::Model> {
    let (slug, name, village_id) = match checked_producer(db, &fields).await? {
        Ok(checked) => checked,
        Err(problem) => return Ok(Err(problem)),
    };
    let row = producer::ActiveModel {
        id: NotSet,
        slug: Set(slug),
        name: Set(name),
        kind: Set(fields.kind),
        village_id: Set(village_id),
        linked_poor_households: Set(fields.linked_poor_households),
        stripe_account_id: Set(None),
        bank_account_name: Set(None),
        bank_account_number: Set(None),
    };
    slug_taken(row.insert(db).await)
}

/// `updateProducer`: its own fields replaced; its payout account and growers stay as they are.
pub async fn update_producer(
    db: &impl ConnectionTrait,
    producer_id: ProducerId,
    fields: ProducerFields,
) -> Outcome<producer::Model> {
    let (slug, name, village_id) = match checked_producer(db, &fields).await? {
        Ok(checked) => checked,
        Err(problem) => return Ok(Err(problem)),
    };
    let Some(existing) = producer::Entity::find_by_id(producer_id).one(db).await? else {
        return Ok(Err(
            UserError::new(ErrorCode::NotFound, "producer-not-found").on_field(&["producerId"])
        ));
    };
    let mut row = existing.into_active_model();
    row.slug = Set(slug);
    row.name = Set(name);
    row.kind = Set(fields.kind);
    row.village_id = Set(village_id);
    row.linked_poor_households = Set(fields.linked_poor_households);
    slug_taken(row.update(db).await)
}

/// `createCategory`: listed after the categories there are.
pub async fn create_category(db: &impl ConnectionTrait, fields: CategoryFields) -> Outcome<category::Model> {
    let slug = match slug_of(&fields.slug) {
        Ok(slug) => slug,
        Err(problem) => return Ok(Err(problem)),
    };
    let name = match one_line_name(&fields.name, &["input", "name"], MAX_PLACE_NAME_CHARS) {
        Ok(name) => name,
        Err(problem) => return Ok(Err(problem)),
    };
    let last: Option<Option<i32>> = category::Entity::find()
        .select_only()
        .column_as(category::Column::Position.max(), "last")
        .into_tuple()
        .one(db)
        .await?;
    let row = category::ActiveModel {
        id: NotSet,
        slug: Set(slug.to_owned()),
        name: Set(name.to_owned()),
        position: Set(last.flatten().map_or(0, |last| last.saturating_add(1))),
    };
    slug_taken(row.insert(db).await)
}

/// The category of `slug`, if there is one.
pub async fn category_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<Option<category::Model>> {
    Ok(category::Entity::find()
        .filter(category::Column::Slug.eq(slug))
        .one(db)
        .await?)
}
