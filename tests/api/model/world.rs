//! What the model test runs in: one shop per backend (the real app, on its own database, taking
//! cards through the Stripe stand-in), shared by every case; and for each case fresh people
//! (two union members with allowances, a buyer of no organisation, a host with a promo link and
//! a live session), so that one database serves every case and a case costs a few inserts.

use chrono::{TimeDelta, Utc};
use huakai::accounts::Role;
use huakai::accounts::entity::user;
use huakai::cart::shipping_rules::{RuleInput, set_rule};
use huakai::catalogue::entity::{producer, product, variant};
use huakai::infra::ids::LiveSessionItemId;
use huakai::infra::ids::OrganisationId;
use huakai::infra::ids::{MembershipId, UserId};
use huakai::infra::ids::{ProducerId, ProductId, VariantId};
use huakai::inventory::entity::stock_level;
use huakai::livestream::plans::{PlanRequest, set_plan};
use huakai::livestream::sessions::{self, ItemRequest, SessionRequest};
use huakai::organisations::OrganisationKind;
use huakai::organisations::funds::{self, GrantRequest};
use huakai::shop::Shop;
use huakai::unions::service::{self as unions, NewOrganisation};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::ops::Goods;
use crate::support::stripe::StripeStandIn;
use crate::support::{Backend, TestApp};

pub const LILY: &str = "sanwang-xian-baihe";
pub const LILY_PRICE: i64 = 3000;
pub const OTHER_PRICE: i64 = 1999;
pub const SESSION_PRICE: i64 = 2550;
pub const SESSION_QUOTA: i64 = 6;
pub const SESSION_LIMIT: i64 = 3;
/// The lily's producer charges one fee per parcel whatever it weighs, waived from
/// `LILY_FREE_OVER` of its goods; the other producer ships free.
pub const LILY_SHIPPING: i64 = 600;
pub const LILY_FREE_OVER: i64 = 9_000;
/// What each member is granted: member A, member B.
pub const GRANTS: [i64; 2] = [10_000, 4_000];
/// The open commission rates on the lily and on the other product.
pub const RATES: [i32; 2] = [1_000, 333];
/// What one buyer may hold unpaid: orders, units in all, units of one variant (low, so that
/// sequences meet them, a first order included).
pub const UNPAID_ORDERS: usize = 4;
pub const UNPAID_UNITS: i64 = 8;
pub const UNPAID_UNITS_PER_VARIANT: i64 = 5;

/// A product the cases buy: its variant, product and producer.
#[derive(Clone, Copy, Debug)]
pub struct Good {
    pub variant: VariantId,
    pub product: ProductId,
    pub producer: ProducerId,
}

/// The shop and what every case shares.
pub struct World {
    pub app: TestApp,
    pub stripe: StripeStandIn,
    pub operator: UserId,
    pub lily: Good,
    pub other: Good,
}

/// A case's people and codes.
pub struct Case {
    pub number: u32,
    pub members: [(UserId, MembershipId); 2],
    pub stranger: UserId,
    pub host: UserId,
    pub organisation: OrganisationId,
    pub link_code: String,
    pub session_code: String,
    pub session_item: LiveSessionItemId,
}

fn expect<T>(outcome: huakai::infra::error::Outcome<T>, what: &str) -> T {
    match outcome {
        Ok(Ok(value)) => value,
        Ok(Err(problem)) => panic!("{what}: {} {}", problem.code, problem.message),
        Err(error) => panic!("{what}: {error:?}"),
    }
}

impl World {
    /// The app on `backend` with Stripe's stand-in (its events are applied by the test, as the
    /// inbox would, so nothing happens in the background) and low unpaid-hold limits, an
    /// operator, the two goods priced and stocked, commission plans on both, and the other
    /// producer paid by Stripe transfer.
    pub async fn start(backend: Backend) -> Option<World> {
        let stripe = StripeStandIn::start().await;
        let (orders, units, per_variant) = (
            UNPAID_ORDERS.to_string(),
            UNPAID_UNITS.to_string(),
            UNPAID_UNITS_PER_VARIANT.to_string(),
        );
        let settings = [
            ("STRIPE_SECRET_KEY", stripe.secret_key.as_str()),
            ("STRIPE_WEBHOOK_SECRET", stripe.webhook_secret.as_str()),
            ("STRIPE_API_BASE", stripe.base_url.as_str()),
            ("HUAKAI_UNPAID_ORDERS_PER_BUYER", orders.as_str()),
            ("HUAKAI_RESERVED_UNITS_PER_BUYER", units.as_str()),
            ("HUAKAI_RESERVED_UNITS_PER_VARIANT", per_variant.as_str()),
        ];
        let app = TestApp::on(backend).settings(&settings).start().await?;
        let db = app.db();
        let operator = huakai::accounts::service::create_user(
            db,
            "operator@model.example",
            "a long enough test password",
            "运营",
            Role::Admin,
            huakai::accounts::service::ProducerAsked::None,
        )
        .await
        .expect("the database answers")
        .expect("an operator")
        .id;
        let lily_product = product::Entity::find()
            .filter(product::Column::Slug.eq(LILY))
            .one(db)
            .await
            .expect("query")
            .expect("the lily");
        let other_product = product::Entity::find()
            .filter(product::Column::CatalogueEntryId.is_not_null())
            .filter(product::Column::ProducerId.ne(lily_product.producer_id))
            .order_by_asc(product::Column::Id)
            .one(db)
            .await
            .expect("query")
            .expect("a catalogue product of another producer");
        let mut goods = Vec::new();
        for (product, price) in [(&lily_product, LILY_PRICE), (&other_product, OTHER_PRICE)] {
            let first = variant::Entity::find()
                .filter(variant::Column::ProductId.eq(product.id))
                .order_by_asc(variant::Column::Sku)
                .one(db)
                .await
                .expect("query")
                .expect("a variant");
            variant::Entity::update_many()
                .col_expr(variant::Column::PriceFen, Expr::value(price))
                .filter(variant::Column::Id.eq(first.id))
                .exec(db)
                .await
                .expect("priced");
            let operator_in = huakai::accounts::SignedIn {
                user_id: operator,
                role: Role::Admin,
                producer_id: None,
                session_id: String::new(),
                language: None,
            };
            expect(
                huakai::catalogue::management::adjust_stock(db, &operator_in, first.id, 1_000_000, "model harvest")
                    .await,
                "stock",
            );
            goods.push(Good {
                variant: first.id,
                product: product.id,
                producer: product.producer_id,
            });
        }
        let world = World {
            operator,
            lily: goods[0],
            other: goods[1],
            app,
            stripe,
        };
        let shop = world.shop(None);
        let db = world.app.db();
        for (good, rate) in [(world.lily, RATES[0]), (world.other, RATES[1])] {
            let request = PlanRequest {
                product_id: good.product,
                host_id: None,
                rate_bps: rate,
            };
            let fee = shop.payout_settings().platform_fee_bps;
            expect(
                set_plan(db, shop.livestream_settings(), fee, operator, request, Utc::now()).await,
                "a plan",
            );
        }
        let rule = RuleInput {
            first_weight_grams: 100_000,
            first_fee: huakai::infra::money::Fen::new(LILY_SHIPPING).to_string(),
            extra_per_kg: "0.00".to_owned(),
            free_over: Some(huakai::infra::money::Fen::new(LILY_FREE_OVER).to_string()),
            excluded_provinces: Vec::new(),
            surcharges: Vec::new(),
        };
        expect(set_rule(db, world.lily.producer, &rule).await, "a shipping rule");
        producer::Entity::update_many()
            .col_expr(producer::Column::StripeAccountId, Expr::value("acct_model_other"))
            .filter(producer::Column::Id.eq(world.other.producer))
            .exec(db)
            .await
            .expect("a connected account");
        Some(world)
    }

    /// The app's shop, with the platform fee at `fee_bps` when given (a restart with another
    /// `HUAKAI_PLATFORM_FEE_BPS`, on the same database).
    pub fn shop(&self, fee_bps: Option<u32>) -> Shop {
        crate::money_rules::shop(&self.app, fee_bps)
    }

    pub fn good(&self, goods: Goods) -> Good {
        match goods {
            Goods::Lily => self.lily,
            Goods::Other => self.other,
        }
    }

    /// On-hand stock of the two goods now.
    pub async fn on_hand(&self) -> [i64; 2] {
        let mut figures = [0; 2];
        for (index, good) in [self.lily, self.other].iter().enumerate() {
            figures[index] = stock_level::Entity::find()
                .filter(stock_level::Column::VariantId.eq(good.variant))
                .one(self.app.db())
                .await
                .expect("query")
                .expect("stock")
                .on_hand;
        }
        figures
    }

    async fn person(&self, case: u32, who: &str, role: Role) -> UserId {
        user::ActiveModel {
            email: Set(format!("{who}-{case}-{}@model.example", uuid::Uuid::new_v4().simple())),
            // No password: nobody signs in; the test calls the shop as they would.
            password_hash: Set("!".to_owned()),
            display_name: Set(format!("{who} {case}")),
            role: Set(role),
            language: Set(None),
            created_at: Set(Utc::now()),
            stripe_account_id: Set(None),
            ..Default::default()
        }
        .insert(self.app.db())
        .await
        .expect("a person")
        .id
    }

    /// Fresh people for case `number`: a union with a fund, two members with their grants, a
    /// stranger, and a host with a promo link and an approved live session.
    pub async fn case(&self, number: u32) -> Case {
        let db = self.app.db();
        let now = Utc::now();
        let organisation = expect(
            unions::create(
                db,
                NewOrganisation {
                    name: format!("模型工会 {number}"),
                    kind: OrganisationKind::Union,
                    invoice_title: None,
                    tax_number: None,
                    allowance_cap_per_member: None,
                },
            )
            .await,
            "an organisation",
        )
        .id;
        let mut members = Vec::new();
        for (who, granted) in ["member-a", "member-b"].into_iter().zip(GRANTS) {
            let member = self.person(number, who, Role::Buyer).await;
            let code = unions::create_invite(db, organisation, self.operator)
                .await
                .expect("an invite");
            let membership = expect(
                unions::join(db, member, &code, std::time::Duration::from_secs(14 * 24 * 3600)).await,
                "a membership",
            )
            .id;
            let reference = format!("MODEL-{number}-{who}");
            let deposit = huakai::infra::money::Fen::new(granted).to_string();
            expect(
                funds::record_deposit(db, organisation, &deposit, &reference, self.operator).await,
                "a deposit",
            );
            let grant = GrantRequest {
                organisation_id: organisation,
                membership_ids: Some(vec![membership]),
                amount: deposit,
                occasion: "模型慰问".to_owned(),
                expires_at: now + TimeDelta::days(30),
                granted_by: self.operator,
            };
            expect(funds::grant(db, grant).await, "a grant");
            members.push((member, membership));
        }
        let stranger = self.person(number, "stranger", Role::Buyer).await;
        let host = self.person(number, "host", Role::Host).await;
        let link = huakai::livestream::links::create(db, host, self.lily.product, None)
            .await
            .expect("a promo link");
        let session = expect(
            sessions::schedule(
                db,
                host,
                SessionRequest {
                    title: format!("模型直播 {number}"),
                    starts_at: now - TimeDelta::seconds(1),
                    ends_at: now + TimeDelta::hours(2),
                    items: vec![ItemRequest {
                        variant_id: Some(self.lily.variant),
                        price: huakai::infra::money::Fen::new(SESSION_PRICE).to_string(),
                        quota: SESSION_QUOTA as i32,
                        per_buyer_limit: SESSION_LIMIT as i32,
                    }],
                },
                now,
            )
            .await,
            "a session",
        );
        let item = sessions::items_of(db, session.id).await.expect("items")[0].id;
        expect(
            sessions::approve(&self.shop(None), item, self.operator, now).await,
            "the item approved",
        );
        let session_link = huakai::livestream::links::create(db, host, self.lily.product, Some(session.id))
            .await
            .expect("a session link");
        Case {
            number,
            members: [members[0], members[1]],
            stranger,
            host,
            organisation,
            link_code: link.code,
            session_code: session_link.code,
            session_item: item,
        }
    }
}
