//! The livestream part of the demo activity: a host, 小梅 (`xiaomei@huakai.demo`, password
//! `huakai demo host`), with links to the lily and the crayfish under open commission plans, a
//! session that ended yesterday and one planned for tomorrow, both approved. Loaded with the
//! rest of the demo activity (the embedded default's first start, `huakai demo load
//! --activity`), never with the catalogue alone.

use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};

use super::entity::{commission_plan, live_session, live_session_item};
use super::links;
use crate::accounts::Role;
use crate::accounts::entity::user;
use crate::accounts::service::{ProducerAsked, create_user};
use crate::catalogue::entity::{product, variant};
use crate::infra::db::begin_write;
use crate::infra::money::Fen;
use crate::inventory::{self, Moved, Movement};

pub const HOST_EMAIL: &str = "xiaomei@huakai.demo";
pub const HOST_PASSWORD: &str = "huakai demo host";
const LINKED: [(&str, i32); 2] = [("sanwang-xian-baihe", 1000), ("changyuan-xiaolongxia", 800)];

/// Loads the host's activity once (nothing when the host exists already).
pub async fn load_activity(db: &DatabaseConnection) -> anyhow::Result<String> {
    let exists = user::Entity::find()
        .filter(user::Column::Email.eq(HOST_EMAIL))
        .one(db)
        .await?
        .is_some();
    if exists {
        return Ok("the demo host exists already".to_owned());
    }
    let host = create_user(
        db,
        HOST_EMAIL,
        HOST_PASSWORD,
        "小梅直播间",
        Role::Host,
        ProducerAsked::None,
    )
    .await?
    .map_err(|problem| anyhow::anyhow!(problem.message))?;
    let now = Utc::now();
    let mut first_variant = None;
    for (slug, rate_bps) in LINKED {
        let Some(linked) = product::Entity::find()
            .filter(product::Column::Slug.eq(slug))
            .one(db)
            .await?
        else {
            continue;
        };
        commission_plan::ActiveModel {
            product_id: Set(linked.id),
            host_id: Set(None),
            rate_bps: Set(rate_bps),
            effective_from: Set(now - Duration::days(30)),
            set_by: Set(None),
            created_at: Set(now - Duration::days(30)),
            ..Default::default()
        }
        .insert(db)
        .await?;
        links::create(db, host.id, linked.id, None).await?;
        if first_variant.is_none() {
            first_variant = variant::Entity::find()
                .filter(variant::Column::ProductId.eq(linked.id))
                .order_by_asc(variant::Column::Id)
                .one(db)
                .await?;
        }
    }
    let Some(lily) = first_variant else {
        return Ok("a host with links (no demo catalogue for sessions)".to_owned());
    };
    let session_price = Fen::new((lily.price_fen.get() * 8 / 10).max(1));
    // Yesterday's session: over, its unsold quota back on sale (set aside and returned, so
    // the stock never moved).
    let ended = live_session::ActiveModel {
        host_id: Set(host.id),
        title: Set("三旺村百合丰收直播".to_owned()),
        starts_at: Set(now - Duration::hours(26)),
        ends_at: Set(now - Duration::hours(24)),
        created_at: Set(now - Duration::days(3)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    live_session_item::ActiveModel {
        session_id: Set(ended.id),
        variant_id: Set(lily.id),
        price_fen: Set(session_price),
        quota: Set(20),
        per_buyer_limit: Set(2),
        remaining: Set(0),
        approved_at: Set(Some(now - Duration::days(2))),
        approved_by: Set(None),
        returned_at: Set(Some(now - Duration::hours(24))),
        returned_units: Set(20),
        ..Default::default()
    }
    .insert(db)
    .await?;
    // Tomorrow's session, approved: its quota is set aside now.
    let txn = begin_write(db).await?;
    let upcoming = live_session::ActiveModel {
        host_id: Set(host.id),
        title: Set("三旺村鲜百合中秋预热直播".to_owned()),
        starts_at: Set(now + Duration::hours(24)),
        ends_at: Set(now + Duration::hours(26)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    live_session_item::ActiveModel {
        session_id: Set(upcoming.id),
        variant_id: Set(lily.id),
        price_fen: Set(session_price),
        quota: Set(30),
        per_buyer_limit: Set(2),
        remaining: Set(30),
        approved_at: Set(Some(now)),
        approved_by: Set(None),
        returned_at: Set(None),
        returned_units: Set(0),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    match inventory::apply_for_session(&txn, Movement::SetAside, lily.id, 30, None).await? {
        Moved::Done { .. } => txn.commit().await?,
        Moved::Refused => {
            txn.rollback().await?;
            anyhow::bail!("the demo lily has fewer than 30 units for tomorrow's session");
        }
    }
    links::create(db, host.id, lily.product_id, Some(upcoming.id)).await?;
    Ok(format!(
        "host {HOST_EMAIL} with 3 links, an ended and an upcoming session"
    ))
}
