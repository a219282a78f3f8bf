//! Stores and their clerks.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    SqlErr,
};

use crate::accounts::Role;
use crate::accounts::entity::user;
use crate::accounts::session_cache::SessionCache;
use crate::infra::db::begin_write;
use crate::infra::error::{AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::{StoreId, UserId};
use crate::inventory::entity::store;
use crate::stores::entity::store_clerk;

const MAX_NAME_CHARS: usize = 100;
const MAX_ADDRESS_CHARS: usize = 200;
const MAX_HOURS_CHARS: usize = 100;

pub struct NewStore {
    pub slug: String,
    pub name: String,
    pub address: String,
    pub opening_hours: Option<String>,
}

fn is_slug(slug: &str) -> bool {
    (2..=80).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// One line of visible text of at most `max` characters.
fn check_text(text: &str, max: usize, path: &[&str]) -> Result<(), UserError> {
    let chars = text.chars().count();
    if chars == 0 || chars > max || text.chars().any(char::is_control) {
        return Err(
            UserError::new(ErrorCode::InvalidInput, Message::new("text-length").with("max", max)).on_field(path),
        );
    }
    Ok(())
}

/// `createStore` (operators): a new store with a unique slug.
pub async fn create_store(db: &impl ConnectionTrait, new: NewStore) -> Outcome<store::Model> {
    let slug = new.slug.trim();
    if !is_slug(slug) {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidInput, "slug-format").on_field(&["input", "slug"])
        ));
    }
    let (name, address) = (new.name.trim(), new.address.trim());
    let hours = new.opening_hours.as_deref().map(str::trim).filter(|h| !h.is_empty());
    let checked = check_text(name, MAX_NAME_CHARS, &["input", "name"])
        .and(check_text(address, MAX_ADDRESS_CHARS, &["input", "address"]))
        .and(hours.map_or(Ok(()), |h| check_text(h, MAX_HOURS_CHARS, &["input", "openingHours"])));
    if let Err(problem) = checked {
        return Ok(Err(problem));
    }
    let made = store::ActiveModel {
        slug: Set(slug.to_owned()),
        name: Set(name.to_owned()),
        address: Set(address.to_owned()),
        opening_hours: Set(hours.map(str::to_owned)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await;
    match made {
        Ok(store) => Ok(Ok(store)),
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Ok(Err(
                UserError::new(ErrorCode::InvalidInput, "slug-taken").on_field(&["input", "slug"])
            ))
        }
        Err(error) => Err(error.into()),
    }
}

pub async fn find(db: &impl ConnectionTrait, store_id: StoreId) -> AppResult<Option<store::Model>> {
    Ok(store::Entity::find_by_id(store_id).one(db).await?)
}

pub async fn by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<Option<store::Model>> {
    Ok(store::Entity::find()
        .filter(store::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

/// Every store, by slug.
pub async fn all(db: &impl ConnectionTrait) -> AppResult<Vec<store::Model>> {
    Ok(store::Entity::find().order_by_asc(store::Column::Slug).all(db).await?)
}

/// The store `user_id` is a clerk of.
pub async fn clerk_store(db: &impl ConnectionTrait, user_id: UserId) -> AppResult<Option<StoreId>> {
    Ok(store_clerk::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .map(|clerk| clerk.store_id))
}

/// `addStoreClerk` (operators): a buyer becomes a `STORE_CLERK` of this store, and of no other
/// (a clerk of another store is refused; adding again changes nothing). Growers, hosts, union
/// admins and operators keep their roles: a clerk is an account of its own.
pub async fn add_clerk(
    db: &DatabaseConnection,
    sessions: &SessionCache,
    store_id: StoreId,
    user_id: UserId,
) -> Outcome<store::Model> {
    let Some(store) = find(db, store_id).await? else {
        return Ok(Err(
            UserError::new(ErrorCode::NotFound, "store-not-found").on_field(&["storeId"])
        ));
    };
    let Some(user) = user::Entity::find_by_id(user_id).one(db).await? else {
        return Ok(Err(
            UserError::new(ErrorCode::NotFound, "user-not-found").on_field(&["userId"])
        ));
    };
    if user.role != Role::Buyer && user.role != Role::StoreClerk {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidInput, "clerk-must-be-buyer").on_field(&["userId"])
        ));
    }
    let txn = begin_write(db).await?;
    let seated = store_clerk::ActiveModel {
        user_id: Set(user_id),
        store_id: Set(store_id),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await;
    match seated {
        Ok(_) => {}
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            txn.rollback().await?;
            return Ok(match clerk_store(db, user_id).await? {
                Some(theirs) if theirs == store_id => Ok(store),
                _ => Err(UserError::new(ErrorCode::AlreadyClerk, "clerk-of-another-store").on_field(&["userId"])),
            });
        }
        Err(error) => return Err(error.into()),
    }
    user::Entity::update_many()
        .col_expr(user::Column::Role, Expr::value(Role::StoreClerk))
        .filter(user::Column::Id.eq(user_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    // The role changed: sessions remembered as a buyer's would be refused at the till.
    sessions.forget_user(user_id).await;
    Ok(Ok(store))
}
