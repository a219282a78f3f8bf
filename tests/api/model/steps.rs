//! Each operation run through the shop's own code (the domain calls the GraphQL resolvers, the
//! webhook inbox and the workers make), its answer compared with what the model expects, and
//! the model moved on.

use chrono::{TimeDelta, Utc};
use huakai::checkout::cancel;
use huakai::checkout::placing::{self, Address, Destination, LineRequest, LineSource, OrderRequest};
use huakai::infra::error::{AppResult, UserError};
use huakai::infra::ids::UserId;
use huakai::infra::ids::VariantId;
use huakai::infra::money::Fen;
use huakai::orders::entity::{order, order_line, shipment};
use huakai::orders::service::lifecycle;
use huakai::orders::{OrderStatus, PaymentMethod};
use huakai::payments::entity::refund::RefundStatus;
use huakai::payments::entity::{payment, refund};
use huakai::payments::records::payment_of;
use huakai::payments::{ProviderKind, bank_refunds, refunds, service as payments};
use huakai::payouts::{PayoutMethod, PayoutStatus, runs};
use huakai::shop::Shop;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::ops::{Buyer, Goods, Method, Op, Via};
use super::state::{Model, Order, buyer_index};
use super::world::{Case, LILY_FREE_OVER, LILY_PRICE, LILY_SHIPPING, OTHER_PRICE, SESSION_LIMIT, SESSION_PRICE, World};

/// What a step came to, for the transcript; `Err` is a broken rule.
pub type Step = Result<String, String>;

/// One case being run: the world, the case's people, the model, and the shop as configured now.
pub struct Runner<'w> {
    pub world: &'w World,
    pub case: Case,
    pub model: Model,
    pub shop: Shop,
    step: usize,
}

/// The outcome of a call that answers with a user error or not.
fn code_of<T>(outcome: AppResult<Result<T, UserError>>) -> Result<Option<String>, String> {
    match outcome {
        Ok(Ok(_)) => Ok(None),
        Ok(Err(problem)) => Ok(Some(problem.code.to_string())),
        Err(error) => Err(format!("the shop failed: {error:?}")),
    }
}

/// Compares an answer (`None`: done) with the expected one.
fn expect_code(what: &str, got: Option<String>, expected: Option<&str>) -> Step {
    if got.as_deref() == expected {
        Ok(format!("{what}: {}", expected.unwrap_or("done")))
    } else {
        Err(format!("{what}: expected {expected:?}, the shop answered {got:?}"))
    }
}

impl<'w> Runner<'w> {
    pub async fn new(world: &'w World, number: u32) -> Runner<'w> {
        let shop = world.shop(None);
        let model = Model::new(shop.payout_settings().platform_fee_bps, world.on_hand().await);
        Runner {
            case: world.case(number).await,
            world,
            model,
            shop,
            step: 0,
        }
    }

    fn user(&self, buyer: Buyer) -> UserId {
        match buyer {
            Buyer::MemberA => self.case.members[0].0,
            Buyer::MemberB => self.case.members[1].0,
            Buyer::Stranger => self.case.stranger,
            Buyer::Host => self.case.host,
        }
    }

    pub async fn apply(&mut self, op: &Op) -> Step {
        self.step += 1;
        let order = match op {
            Op::Place {
                buyer,
                lines,
                method,
                via,
            } => return self.place(*buyer, lines, *method, *via).await,
            Op::RecordBankRefund { which } => return self.record_bank_refund(*which).await,
            Op::RunPayouts => return self.run_payouts().await,
            Op::ChangeFee { bps } => {
                self.model.fee_bps = *bps;
                self.shop = self.world.shop(Some(*bps));
                return Ok(format!("fee {bps} bps"));
            }
            Op::Pay { order } => self.model.pick(*order, |o| o.cash_due() > 0 && !o.money_in),
            Op::Cancel { order } => self.model.pick(*order, |o| {
                o.status == OrderStatus::PendingPayment || (o.status == OrderStatus::Paid && o.shipped.is_empty())
            }),
            Op::Expire { order } => self.model.pick(*order, |o| o.status == OrderStatus::PendingPayment),
            Op::Ship { order, .. } => self.model.pick(*order, |o| o.status.awaits_shipment()),
            Op::Deliver { order } => self.model.pick(*order, |o| o.status == OrderStatus::Shipped),
            Op::Refund { order, .. } | Op::RefundAll { order } => {
                self.model.pick(*order, |o| o.money_in && o.left() > 0)
            }
        };
        let Some(index) = order else {
            return Ok("no order yet".to_owned());
        };
        let id = self.model.orders[index].id;
        let outcome = match op {
            Op::Pay { .. } => self.pay(index).await,
            Op::Cancel { .. } => self.cancel(index).await,
            Op::Expire { .. } => self.expire(index).await,
            Op::Ship { part, .. } => self.ship(index, *part).await,
            Op::Deliver { .. } => {
                let expected = (self.model.orders[index].status != OrderStatus::Shipped).then_some("NOT_DELIVERABLE");
                let got = code_of(lifecycle::confirm_delivery(&self.shop, id).await)?;
                if expected.is_none() {
                    self.model.orders[index].status = OrderStatus::Delivered;
                }
                expect_code("deliver", got, expected)
            }
            Op::Refund { permille, .. } => self.refund(index, Some(*permille)).await,
            Op::RefundAll { .. } => self.refund(index, None).await,
            _ => unreachable!("handled above"),
        };
        outcome.map(|done| format!("order {id}: {done}"))
    }

    async fn place(&mut self, buyer: Buyer, lines: &[(Goods, u8)], method: Method, via: Via) -> Step {
        let world = self.world;
        let price = |goods: Goods| match (goods, via) {
            (Goods::Lily, Via::Session) => SESSION_PRICE,
            (Goods::Lily, _) => LILY_PRICE,
            (Goods::Other, _) => OTHER_PRICE,
        };
        let goods_of = |kind: Goods| -> i64 {
            lines
                .iter()
                .filter(|(goods, _)| *goods == kind)
                .map(|(goods, n)| price(*goods) * i64::from(*n))
                .sum()
        };
        // One parcel per producer: the lily's costs its fee below the free amount.
        let lilies = lines.iter().any(|(goods, _)| *goods == Goods::Lily);
        let shipping = if lilies && goods_of(Goods::Lily) < LILY_FREE_OVER {
            LILY_SHIPPING
        } else {
            0
        };
        let total: i64 = goods_of(Goods::Lily) + goods_of(Goods::Other) + shipping;
        let session_units: i64 = lines
            .iter()
            .filter(|(goods, _)| via == Via::Session && *goods == Goods::Lily)
            .map(|(_, n)| i64::from(*n))
            .sum();
        let wanted: Vec<(VariantId, i64)> = lines
            .iter()
            .map(|(goods, n)| (world.good(*goods).variant, i64::from(*n)))
            .collect();
        let member = match buyer {
            Buyer::MemberA => Some(0),
            Buyer::MemberB => Some(1),
            _ => None,
        };
        let balance = member.map_or(0, |m| self.model.allowance[m]);
        let allowance = if method.uses_allowance() { balance.min(total) } else { 0 };
        let at_once = method.uses_allowance() && allowance == total;
        let held = self.model.quota_held[buyer_index(buyer)];
        let expected = if method.uses_allowance() && member.is_none() {
            Some("NOT_ELIGIBLE")
        } else if method == Method::Allowance && balance < total {
            Some("INSUFFICIENT_ALLOWANCE")
        } else if !at_once && !self.model.within_limits(buyer, &wanted) {
            Some("RATE_LIMITED")
        } else if session_units > 0 && held + session_units > SESSION_LIMIT {
            Some("PURCHASE_LIMIT_REACHED")
        } else if session_units > 0 && self.model.quota_left < session_units {
            Some("QUOTA_EXHAUSTED")
        } else {
            None
        };
        let (payment_method, remainder_method) = match method {
            Method::Bank => (PaymentMethod::BankTransfer, None),
            Method::Card => (PaymentMethod::Card, None),
            Method::Allowance => (PaymentMethod::WelfareAllowance, None),
            Method::SplitBank => (PaymentMethod::WelfareAllowance, Some(PaymentMethod::BankTransfer)),
            Method::SplitCard => (PaymentMethod::WelfareAllowance, Some(PaymentMethod::Card)),
        };
        let request = OrderRequest {
            lines: LineSource::Given(
                lines
                    .iter()
                    .map(|(goods, n)| LineRequest {
                        variant_id: Some(world.good(*goods).variant),
                        quantity: i32::from(*n),
                    })
                    .collect(),
            ),
            destination: Destination::Address(Address {
                name: "李华".to_owned(),
                phone: "13800138000".to_owned(),
                province: "湖南省".to_owned(),
                city: "株洲市".to_owned(),
                district: "渌口区".to_owned(),
                line1: "朱亭镇幸福路 8 号".to_owned(),
                postal_code: None,
            }),
            idempotency_key: format!("model-{}-{}", self.case.number, self.step),
            payment_method,
            remainder_method,
            referral_code: match via {
                Via::Direct => None,
                Via::Link => Some(self.case.link_code.clone()),
                Via::Session => Some(self.case.session_code.clone()),
            },
            checkout: Default::default(),
        };
        let placed = match placing::place(&self.shop, self.user(buyer), request).await {
            Ok(Ok(placed)) => placed,
            Ok(Err(problem)) => return expect_code("place", Some(problem.code.to_string()), expected),
            Err(error) => return Err(format!("placing failed: {error:?}")),
        };
        expect_code("place", None, expected)?;
        if let Some(problem) = placed.payment_problem {
            return Err(format!("the payment did not start: {}", problem.code));
        }
        let row = placed.order;
        let db = self.world.app.db();
        let order_lines = order_line::Entity::find()
            .filter(order_line::Column::OrderId.eq(row.id))
            .all(db)
            .await
            .map_err(|e| e.to_string())?;
        let expected_status = if at_once {
            OrderStatus::Paid
        } else {
            OrderStatus::PendingPayment
        };
        if (row.total_fen.get(), row.allowance_fen.get(), row.status) != (total, allowance, expected_status) {
            return Err(format!(
                "placed {} {}, allowance {} {:?}; the model expected {total}, allowance {allowance}, {expected_status:?}",
                row.id,
                row.total_fen.get(),
                row.allowance_fen.get(),
                row.status
            ));
        }
        let fee = i32::try_from(self.model.fee_bps).ok();
        if let Some(line) = order_lines.iter().find(|line| line.platform_fee_bps != fee) {
            return Err(format!(
                "line {} keeps fee {:?}, not {fee:?}",
                line.id, line.platform_fee_bps
            ));
        }
        let mut producers: Vec<_> = order_lines.iter().map(|line| line.producer_id).collect();
        producers.sort_unstable();
        producers.dedup();
        let shipments = shipment::Entity::find()
            .filter(shipment::Column::OrderId.eq(row.id))
            .all(db)
            .await
            .map_err(|e| e.to_string())?;
        if shipments.len() != producers.len() {
            return Err(format!(
                "order {} has {} shipments for {producers:?}",
                row.id,
                shipments.len()
            ));
        }
        let intent = if method.by_card() && !at_once {
            payment_of(db, row.id)
                .await
                .map_err(|e| format!("{e:?}"))?
                .and_then(|p| p.stripe_payment_intent_id)
        } else {
            None
        };
        let lily = world.lily.variant;
        self.model.orders.push(Order {
            id: row.id,
            buyer,
            method,
            via,
            lines: order_lines
                .iter()
                .map(|line| {
                    let session = via == Via::Session && line.variant_id == lily;
                    (line.variant_id, line.producer_id, i64::from(line.quantity), session)
                })
                .collect(),
            producers,
            shipped: Default::default(),
            status: OrderStatus::PendingPayment,
            total,
            allowance,
            intent,
            money_in: false,
            allowance_left: allowance,
            cash_left: 0,
            fee_bps: self.model.fee_bps,
        });
        if let Some(m) = member {
            self.model.allowance[m] -= allowance;
        }
        self.model.quota_left -= session_units;
        self.model.quota_held[buyer_index(buyer)] += session_units;
        let index = self.model.orders.len() - 1;
        if at_once {
            self.model.paid(index, lily);
        }
        Ok(format!("placed order {} of {total} ({expected_status:?})", row.id))
    }

    async fn pay(&mut self, index: usize) -> Step {
        let order = self.model.orders[index].clone();
        if order.cash_due() == 0 {
            return Ok("nothing to pay".to_owned());
        }
        if order.money_in {
            if order.method.by_card() {
                return Ok("paid already".to_owned());
            }
            let got = code_of(payments::record_bank_transfer(&self.shop, order.id, "MODEL-PAY-AGAIN").await)?;
            return expect_code("a second bank transfer", got, Some("NOT_PAYABLE"));
        }
        if let Some(intent) = &order.intent {
            self.world.stripe.succeed(intent).await;
            let received = self
                .world
                .stripe
                .payment_intent(intent)
                .and_then(|seen| seen["amount_received"].as_i64())
                .ok_or("the stand-in lost the intent")?;
            let row = payment_of(self.world.app.db(), order.id)
                .await
                .map_err(|e| format!("{e:?}"))?
                .ok_or("no payment row")?;
            payments::apply_success(&self.shop, &row, Fen::new(received), "cny")
                .await
                .map_err(|e| format!("applying the card payment failed: {e:?}"))?;
        } else {
            let got = code_of(payments::record_bank_transfer(&self.shop, order.id, "MODEL-PAY").await)?;
            expect_code("bank transfer", got, None)?;
        }
        let lily = self.world.lily.variant;
        match order.status {
            OrderStatus::PendingPayment => self.model.paid(index, lily),
            OrderStatus::Cancelled => self.model.paid_late(index),
            other => return Err(format!("money arrived for an order the model has {other:?} unpaid")),
        }
        Ok(format!("{} arrived", Fen::new(order.cash_due())))
    }

    async fn cancel(&mut self, index: usize) -> Step {
        let order = &self.model.orders[index];
        let expected = match order.status {
            OrderStatus::PendingPayment => None,
            OrderStatus::Paid if order.shipped.is_empty() => None,
            _ => Some("NOT_CANCELLABLE"),
        };
        let (id, was) = (order.id, order.status);
        let got = code_of(cancel::cancel(&self.shop, id, self.user(order.buyer)).await)?;
        let answer = expect_code("cancel", got, expected)?;
        match (expected, was) {
            (None, OrderStatus::PendingPayment) => self.model.cancelled_unpaid(index),
            (None, _) => self.model.cancelled_paid(index, self.world.lily.variant),
            _ => {}
        }
        Ok(answer)
    }

    async fn expire(&mut self, index: usize) -> Step {
        if self.model.orders[index].status != OrderStatus::PendingPayment {
            return Ok("holds nothing".to_owned());
        }
        let id = self.model.orders[index].id;
        order::Entity::update_many()
            .col_expr(
                order::Column::ReservedUntil,
                sea_orm::sea_query::Expr::value(Utc::now() - TimeDelta::minutes(1)),
            )
            .filter(order::Column::Id.eq(id))
            .exec(self.world.app.db())
            .await
            .map_err(|e| e.to_string())?;
        lifecycle::expire_reservations(&self.shop, Utc::now())
            .await
            .map_err(|e| format!("the expiry failed: {e:?}"))?;
        // The app's own expiry worker may have taken it first: wait for its commit.
        for _ in 0..200 {
            if crate::money_rules::status_of(&self.world.app, id).await == OrderStatus::Cancelled {
                self.model.cancelled_unpaid(index);
                return Ok("expired".to_owned());
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        Err(format!("order {id} did not expire"))
    }

    async fn ship(&mut self, index: usize, part: u8) -> Step {
        let order = &self.model.orders[index];
        let which = usize::from(part) % (order.producers.len() + 1);
        let producer = order.producers.get(which).copied();
        let possible = match producer {
            Some(producer) => !order.shipped.contains(&producer),
            None => order.shipped.len() < order.producers.len(),
        };
        let expected = (!(order.status.awaits_shipment() && possible)).then_some("NOT_SHIPPABLE");
        let dispatch = lifecycle::Dispatch {
            producer,
            shipment: None,
            tracking_number: "SF-MODEL",
            carrier: None,
        };
        let got = code_of(lifecycle::mark_shipped(&self.shop, order.id, dispatch).await)?;
        let answer = expect_code("ship", got, expected)?;
        if expected.is_none() {
            self.model.shipped(index, producer);
        }
        Ok(answer)
    }

    async fn refund(&mut self, index: usize, permille: Option<u16>) -> Step {
        let order = &self.model.orders[index];
        let left = order.left();
        let amount = match permille {
            Some(permille) => (left * i64::from(permille) / 1000).max(1).min(left),
            None => left,
        };
        let expected = (!order.money_in || left == 0).then_some("NOT_REFUNDABLE");
        let asked = permille.map(|_| Fen::new(amount));
        let got = code_of(refunds::refund_order(&self.shop, order.id, asked).await)?;
        let answer = expect_code(&format!("refund {}", Fen::new(amount)), got, expected)?;
        if expected.is_none() {
            self.model.refunded(index, amount, self.world.lily.variant);
        }
        Ok(answer)
    }

    async fn record_bank_refund(&mut self, which: u8) -> Step {
        let db = self.world.app.db();
        let ids: Vec<_> = self.model.orders.iter().map(|o| o.id).collect();
        let payments: Vec<_> = payment::Entity::find()
            .filter(payment::Column::OrderId.is_in(ids))
            .filter(payment::Column::Provider.eq(ProviderKind::BankTransfer))
            .all(db)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|p| p.id)
            .collect();
        let waiting = refund::Entity::find()
            .filter(refund::Column::PaymentId.is_in(payments))
            .filter(refund::Column::Status.eq(RefundStatus::Pending))
            .order_by_asc(refund::Column::Id)
            .all(db)
            .await
            .map_err(|e| e.to_string())?;
        let Some(chosen) = waiting.get(usize::from(which) % waiting.len().max(1)) else {
            return Ok("no bank refund waits".to_owned());
        };
        let got = code_of(bank_refunds::record_bank_refund(&self.shop, chosen.id, "MODEL-BACK").await)?;
        expect_code(
            &format!("bank refund {} of {}", chosen.id, chosen.amount_fen),
            got,
            None,
        )
    }

    async fn run_payouts(&mut self) -> Step {
        let made = runs::run(&self.shop, Utc::now() + TimeDelta::days(8))
            .await
            .map_err(|e| format!("the payout run failed: {e:?}"))?;
        for payout in made
            .iter()
            .filter(|p| p.method == PayoutMethod::Bank && p.status == PayoutStatus::Pending)
        {
            let got = code_of(runs::confirm(self.world.app.db(), payout.id, "MODEL-PAYOUT").await)?;
            expect_code("confirm a bank payout", got, None)?;
        }
        let paid: i64 = made.iter().map(|p| p.amount_fen.get()).sum();
        Ok(format!("{} payouts of {}", made.len(), Fen::new(paid)))
    }
}
