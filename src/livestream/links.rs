//! Promo links: a host's short, hard-to-guess code for a product (what its orders sold is
//! `attribution::figures`).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, SqlErr};

use super::entity::promo_link;
use crate::infra::error::{AppError, AppResult};
use crate::infra::ids::ProductId;
use crate::infra::ids::UserId;
use crate::infra::ids::{LiveSessionId, PromoLinkId};
use crate::infra::paging::{self, Direction, PageRequest};

/// Characters of a code: letters and digits, nothing a viewer could misread in a URL.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
/// 10 characters of 57: about 58 bits, so guessing a live code among millions takes billions
/// of requests (each answered 404 and rate-limited by the overload guard).
const CODE_LENGTH: usize = 10;

fn new_code() -> String {
    let random = uuid::Uuid::new_v4().as_u128();
    let mut value = random;
    let base = ALPHABET.len() as u128;
    (0..CODE_LENGTH)
        .map(|_| {
            let index = usize::try_from(value % base).unwrap_or(0);
            value /= base;
            char::from(ALPHABET[index])
        })
        .collect()
}

/// Whether `code` could be one of ours (so that nonsense never reaches the database).
pub fn well_formed(code: &str) -> bool {
    code.len() == CODE_LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))
}

/// `createPromoLink` for a product that exists (checked by the caller). A clash of random codes
/// is caught by the unique key and tried again.
pub async fn create(
    db: &impl ConnectionTrait,
    host_id: UserId,
    product_id: ProductId,
    session_id: Option<LiveSessionId>,
) -> AppResult<promo_link::Model> {
    for _ in 0..5 {
        let inserted = promo_link::ActiveModel {
            code: Set(new_code()),
            host_id: Set(host_id),
            product_id: Set(product_id),
            session_id: Set(session_id),
            clicks: Set(0),
            retired_at: Set(None),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(db)
        .await;
        match inserted {
            Ok(link) => return Ok(link),
            Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Err(AppError::Internal(anyhow::anyhow!(
        "no free promo code after five tries"
    )))
}

/// The live (not retired) link with this code.
pub async fn live_by_code(db: &impl ConnectionTrait, code: &str) -> AppResult<Option<promo_link::Model>> {
    if !well_formed(code) {
        return Ok(None);
    }
    Ok(promo_link::Entity::find()
        .filter(promo_link::Column::Code.eq(code))
        .filter(promo_link::Column::RetiredAt.is_null())
        .one(db)
        .await?)
}

/// `retirePromoLink` (the caller's right is checked by the resolver): from now on the code
/// neither redirects (within the redirect cache's few seconds) nor credits orders; orders it
/// credited keep their commissions. Retiring again changes nothing. `None` when there is no
/// such link.
pub async fn retire(
    db: &impl ConnectionTrait,
    link_id: PromoLinkId,
    now: DateTime<Utc>,
) -> AppResult<Option<promo_link::Model>> {
    promo_link::Entity::update_many()
        .col_expr(promo_link::Column::RetiredAt, Expr::value(now))
        .filter(promo_link::Column::Id.eq(link_id))
        .filter(promo_link::Column::RetiredAt.is_null())
        .exec(db)
        .await?;
    Ok(promo_link::Entity::find_by_id(link_id).one(db).await?)
}

/// A page of a host's links, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    host_id: UserId,
    page: &PageRequest<PromoLinkId>,
    count_total: bool,
) -> AppResult<(Vec<promo_link::Model>, u64)> {
    let select = promo_link::Entity::find().filter(promo_link::Column::HostId.eq(host_id));
    paging::keyset_page(
        db,
        select,
        promo_link::Column::Id,
        Direction::NewestFirst,
        page,
        count_total,
    )
    .await
}
