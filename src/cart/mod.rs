//! What a buyer prepares before placing an order: the cart, kept on the server per user (so it
//! follows the buyer from phone to computer), the address book, and what shipping will cost
//! (each producer's rule, and a cart's quote). Placing an order takes its
//! lines from the cart and its destination from the book (`checkout::placing`).

pub mod address;
pub mod addresses;
pub mod door;
pub mod entity;
pub mod graphql;
pub mod lines;
pub mod offers;
pub mod policy;
pub mod quote;
pub mod shipping;
pub mod shipping_rules;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::accounts::entity::user;
use crate::infra::error::AppResult;
use crate::infra::ids::UserId;

/// Takes the user's row for the rest of the transaction, so that the user's concurrent changes
/// (orders, cart lines, addresses) count and read one after the other; answers the row, so that
/// whoever took it need not read it again (placing tells the buyer by mail).
pub async fn take_user(txn: &impl ConnectionTrait, user_id: UserId) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::update_many()
        .col_expr(user::Column::Id, Expr::col(user::Column::Id))
        .filter(user::Column::Id.eq(user_id))
        .exec_with_returning(txn)
        .await?
        .pop())
}
