//! The union part of the demo activity: 株洲市总工会 with its admin (`union@huakai.demo`, the
//! demo password), demo buyers as members (so the orders they place afterwards are credited to
//! it), this year's pledge (预留份额), a deposit into its fund and a 中秋 allowance for each
//! member. Loaded with the rest of the demo activity, never with the catalogue alone.

use chrono::{Datelike, TimeDelta, Utc};

use super::OrganisationKind;
use super::funds::{self, GrantRequest};
use super::service::{self, NewOrganisation};
use crate::accounts::Role;
use crate::accounts::service::create_user;
use crate::error::{AppError, AppResult, UserError};
use crate::shop::Shop;

pub const ADMIN_EMAIL: &str = "union@huakai.demo";
const NAME: &str = "株洲市总工会";

fn refused(what: &str, problem: &UserError) -> AppError {
    AppError::Internal(anyhow::anyhow!("demo union: {what} was refused ({})", problem.code))
}

/// Makes the union with `members` (user ids) in it; its admin signs in with `password`.
pub async fn load(shop: &Shop, members: &[i64], password: &str) -> AppResult<()> {
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
    let admin = create_user(db, ADMIN_EMAIL, password, "株洲市总工会 工会干事", Role::Buyer, None)
        .await?
        .map_err(|problem| refused("its admin", &problem))?;
    service::add_admin(db, organisation.id, admin.id)
        .await?
        .map_err(|problem| refused("naming its admin", &problem))?;
    for member in members {
        let code = service::create_invite(db, organisation.id, admin.id).await?;
        service::join(db, *member, &code)
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
    Ok(())
}
