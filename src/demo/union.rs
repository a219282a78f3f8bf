//! The union part of the demo activity: 株洲市总工会 with its admin (`union@huakai.demo`, the
//! demo password), demo buyers as members (so the orders they place afterwards are credited to
//! it), this year's pledge (预留份额), a deposit into its fund, a 中秋 allowance for each
//! member, and a 中秋 bulk order of gifts for eight staff paid from the fund: delivered, and
//! accepted by all but one recipient, whose box arrived crushed. Loaded with the rest of the
//! demo activity, never with the catalogue alone.

use chrono::{Datelike, TimeDelta, Utc};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::accounts::Role;
use crate::accounts::service::{ProducerAsked, create_user};
use crate::accounts::session_cache::SessionCache;
use crate::catalogue::entity::{product, variant};
use crate::catalogue::service::on_sale_condition;
use crate::catalogue::today_in_china;
use crate::checkout::bulk::{self, BulkOrderRequest, LinePlace, RecipientLine, VariantRef};
use crate::checkout::placing::Address;
use crate::infra::error::{AppError, AppResult, UserError};
use crate::infra::ids::ProductId;
use crate::infra::ids::UserId;
use crate::orders::PaymentMethod;
use crate::orders::service::{acceptance, lifecycle, state};
use crate::organisations::OrganisationKind;
use crate::organisations::entity::organisation;
use crate::organisations::funds::{self, GrantRequest};
use crate::shop::Shop;
use crate::unions::service::{self, NewOrganisation};

pub const ADMIN_EMAIL: &str = "union@huakai.demo";
const NAME: &str = "株洲市总工会";

fn refused(what: &str, problem: &UserError) -> AppError {
    AppError::Internal(anyhow::anyhow!("demo union: {what} was refused ({})", problem.code))
}

/// Makes the union with `members` (user ids) in it; its admin signs in with `password`.
pub async fn load(shop: &Shop, members: &[UserId], password: &str) -> AppResult<()> {
    let db = &shop.db;
    let organisation = service::create(
        db,
        NewOrganisation {
            name: NAME.to_owned(),
            kind: OrganisationKind::Union,
            invoice_title: Some(NAME.to_owned()),
            tax_number: Some("81430200MC0000000Y".to_owned()),
            allowance_cap_per_member: Some("2000".to_owned()),
        },
    )
    .await?
    .map_err(|problem| refused("the organisation", &problem))?;
    let admin = create_user(
        db,
        ADMIN_EMAIL,
        password,
        "株洲市总工会 工会干事",
        Role::Buyer,
        ProducerAsked::None,
    )
    .await?
    .map_err(|problem| refused("its admin", &problem))?;
    service::add_admin(db, &SessionCache::off(), organisation.id, admin.id)
        .await?
        .map_err(|problem| refused("naming its admin", &problem))?;
    for member in members {
        let code = service::create_invite(db, organisation.id, admin.id).await?;
        service::join(db, *member, &code, std::time::Duration::MAX)
            .await?
            .map_err(|problem| refused("a member joining", &problem))?;
    }
    let this_year = (Utc::now() + TimeDelta::hours(8)).year();
    service::set_pledge(db, organisation.id, this_year, "3000")
        .await?
        .map_err(|problem| refused("the pledge", &problem))?;
    funds::record_deposit(db, organisation.id, "5000", "ICBC-UNION-DEMO-1", admin.id)
        .await?
        .map_err(|problem| refused("the deposit", &problem))?;
    funds::grant(
        db,
        GrantRequest {
            organisation_id: organisation.id,
            membership_ids: None,
            amount: "300".to_owned(),
            occasion: "中秋慰问".to_owned(),
            expires_at: Utc::now() + TimeDelta::days(60),
            granted_by: admin.id,
        },
    )
    .await?
    .map_err(|problem| refused("the 中秋 allowance", &problem))?;
    mid_autumn_gifts(shop, &organisation, admin.id).await
}

const STAFF: [&str; 8] = ["陈静", "刘洋", "王磊", "李娜", "张伟", "杨帆", "赵敏", "周强"];

/// A gift for each of the staff from the fund: one catalogue (目录) product or another, shipped,
/// delivered, and accepted by every recipient but the last, who reports a problem.
async fn mid_autumn_gifts(shop: &Shop, organisation: &organisation::Model, admin_id: UserId) -> AppResult<()> {
    let db = &shop.db;
    let gifts: Vec<ProductId> = product::Entity::find()
        .filter(product::Column::CatalogueEntryId.is_not_null())
        .filter(on_sale_condition(today_in_china()))
        .order_by_asc(product::Column::Id)
        .limit(2)
        .all(db)
        .await?
        .into_iter()
        .map(|product| product.id)
        .collect();
    let mut variants = Vec::new();
    for product_id in gifts {
        variants.extend(
            variant::Entity::find()
                .filter(variant::Column::ProductId.eq(product_id))
                .order_by_asc(variant::Column::Id)
                .one(db)
                .await?
                .map(|variant| variant.id),
        );
    }
    if variants.is_empty() {
        return Err(AppError::Internal(anyhow::anyhow!(
            "demo union: no catalogue product on sale for the 中秋 gifts"
        )));
    }
    let lines = STAFF
        .iter()
        .enumerate()
        .map(|(index, name)| RecipientLine {
            place: LinePlace::Input(index),
            recipient: Address {
                name: (*name).to_owned(),
                phone: format!("1380733{index:04}"),
                province: "湖南省".to_owned(),
                city: "株洲市".to_owned(),
                district: "天元区".to_owned(),
                line1: format!("职工之家 {} 号楼", index + 1),
                postal_code: None,
            },
            variant: VariantRef::Id(Some(variants[index % variants.len()])),
            quantity: 1,
        })
        .collect();
    let request = BulkOrderRequest {
        organisation_id: organisation.id,
        organisation_name: organisation.name.clone(),
        lines,
        idempotency_key: "demo-zhongqiu-gifts".to_owned(),
        payment_method: PaymentMethod::OrganisationFund,
    };
    let placed = bulk::place_bulk(shop, admin_id, request).await?.map_err(|problems| {
        let codes: Vec<&str> = problems.iter().map(|problem| problem.code.as_str()).collect();
        AppError::Internal(anyhow::anyhow!("demo union: the 中秋 gifts were refused ({codes:?})"))
    })?;
    let order_id = placed.order.id;
    // Each parcel goes to its own recipient, under its own number.
    let shipments = state::shipments_of(db, order_id).await?;
    for (index, parcel) in shipments.iter().enumerate() {
        let tracking_number = format!("SF-ZHONGQIU-{:04}", index + 1);
        let dispatch = lifecycle::Dispatch {
            producer: None,
            shipment: Some(parcel.id),
            tracking_number: &tracking_number,
            carrier: Some("SF"),
        };
        lifecycle::mark_shipped(shop, order_id, dispatch)
            .await?
            .map_err(|problem| refused("shipping the gifts", &problem))?;
    }
    lifecycle::confirm_delivery(shop, order_id)
        .await?
        .map_err(|problem| refused("delivering the gifts", &problem))?;
    for (index, shipment) in shipments.iter().enumerate() {
        let code = shipment.acceptance_code.as_deref().unwrap_or_default();
        let crushed = index + 1 == shipments.len();
        let note = crushed.then_some("礼盒外包装压坏，请补发一盒");
        acceptance::answer(db, code, !crushed, note)
            .await?
            .map_err(|problem| refused("accepting a gift", &problem))?;
    }
    Ok(())
}
