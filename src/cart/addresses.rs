//! The address book: a user's saved delivery addresses, one of them the default. Each user
//! changes only their own book (an address of another's is not found, operators included: they
//! may read an address, never write one in a buyer's name). Changes take the user's row first,
//! so a user's concurrent saves count and move the default one at a time (the partial unique
//! index on the default is the last word).

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    TryIntoModel,
};

use super::address::{Address, check_address};
use super::entity::saved_address;
use super::take_user;
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::{SavedAddressId, UserId};

/// A user keeps at most this many addresses.
pub const MAX_ADDRESSES: u64 = 20;

/// The user's addresses, the default first, then oldest first.
pub async fn of_user(db: &impl ConnectionTrait, user_id: UserId) -> AppResult<Vec<saved_address::Model>> {
    Ok(saved_address::Entity::find()
        .filter(saved_address::Column::UserId.eq(user_id))
        .order_by_desc(saved_address::Column::IsDefault)
        .order_by_asc(saved_address::Column::Id)
        .all(db)
        .await?)
}

pub async fn by_id(db: &impl ConnectionTrait, id: SavedAddressId) -> AppResult<Option<saved_address::Model>> {
    Ok(saved_address::Entity::find_by_id(id).one(db).await?)
}

impl From<&saved_address::Model> for Address {
    fn from(row: &saved_address::Model) -> Address {
        Address {
            name: row.name.clone(),
            phone: row.phone.clone(),
            province: row.province.clone(),
            city: row.city.clone(),
            district: row.district.clone(),
            line1: row.line1.clone(),
            postal_code: row.postal_code.clone(),
        }
    }
}

/// What `saveAddress` changes: a new address of `user_id`'s, or (`existing`) one of theirs.
pub struct Saving {
    pub user_id: UserId,
    pub existing: Option<SavedAddressId>,
    pub address: Address,
    /// `None`: a new address is the default when the user has none; an existing one keeps its.
    pub is_default: Option<bool>,
}

/// `saveAddress`: checks the address, saves it, and makes it the default if asked (the
/// previous default stops being one in the same transaction).
pub async fn save(db: &sea_orm::DatabaseConnection, saving: Saving) -> Outcome<saved_address::Model> {
    if let Err((field, problem)) = check_address(&saving.address) {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidInput, problem).on_field(&["input", field])
        ));
    }
    let address = saving.address.trimmed();
    let txn = begin_write(db).await?;
    take_user(&txn, saving.user_id).await?;
    let current_default = saved_address::Entity::find()
        .filter(saved_address::Column::UserId.eq(saving.user_id))
        .filter(saved_address::Column::IsDefault.eq(true))
        .one(&txn)
        .await?;
    let existing = match saving.existing {
        Some(id) => match by_id(&txn, id).await?.filter(|row| row.user_id == saving.user_id) {
            Some(row) => Some(row),
            None => {
                return end_write(txn, Err(not_found(&["addressId"]))).await;
            }
        },
        None => None,
    };
    if existing.is_none() {
        let count = saved_address::Entity::find()
            .filter(saved_address::Column::UserId.eq(saving.user_id))
            .count(&txn)
            .await?;
        if count >= MAX_ADDRESSES {
            return end_write(
                txn,
                Err(UserError::new(
                    ErrorCode::InvalidInput,
                    Message::new("address-book-full").with("max", MAX_ADDRESSES),
                )
                .on_field(&["input"])),
            )
            .await;
        }
    }
    let is_default = match (saving.is_default, &existing) {
        (Some(wanted), _) => wanted,
        (None, Some(row)) => row.is_default,
        (None, None) => current_default.is_none(),
    };
    if is_default && let Some(previous) = current_default.filter(|row| Some(row.id) != saving.existing) {
        saved_address::Entity::update_many()
            .col_expr(saved_address::Column::IsDefault, Expr::value(false))
            .filter(saved_address::Column::Id.eq(previous.id))
            .exec(&txn)
            .await?;
    }
    let mut row = match existing {
        Some(row) => saved_address::ActiveModel::from(row),
        None => saved_address::ActiveModel {
            user_id: Set(saving.user_id),
            created_at: Set(Utc::now()),
            ..Default::default()
        },
    };
    row.name = Set(address.name);
    row.phone = Set(address.phone);
    row.province = Set(address.province);
    row.city = Set(address.city);
    row.district = Set(address.district);
    row.line1 = Set(address.line1);
    row.postal_code = Set(address.postal_code);
    row.is_default = Set(is_default);
    let saved = row.save(&txn).await?.try_into_model()?;
    end_write(txn, Ok(saved)).await
}

/// `deleteAddress`: removes an address of `user_id`'s book; when it was the default, the user's
/// oldest remaining address becomes the default. Returns the address as it was.
pub async fn delete(
    db: &sea_orm::DatabaseConnection,
    user_id: UserId,
    id: SavedAddressId,
) -> Outcome<saved_address::Model> {
    let Some(row) = by_id(db, id).await?.filter(|row| row.user_id == user_id) else {
        return Ok(Err(not_found(&["addressId"])));
    };
    let txn = begin_write(db).await?;
    take_user(&txn, row.user_id).await?;
    let deleted = saved_address::Entity::delete_by_id(id).exec(&txn).await?;
    if deleted.rows_affected != 1 {
        return end_write(txn, Err(not_found(&["addressId"]))).await;
    }
    if row.is_default
        && let Some(next) = saved_address::Entity::find()
            .filter(saved_address::Column::UserId.eq(row.user_id))
            .order_by_asc(saved_address::Column::Id)
            .one(&txn)
            .await?
    {
        saved_address::Entity::update_many()
            .col_expr(saved_address::Column::IsDefault, Expr::value(true))
            .filter(saved_address::Column::Id.eq(next.id))
            .exec(&txn)
            .await?;
    }
    end_write(txn, Ok(row)).await
}

fn not_found(path: &[&str]) -> UserError {
    UserError::new(ErrorCode::NotFound, "address-not-found").on_field(path)
}
