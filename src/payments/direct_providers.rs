//! WeChat Pay and Alipay paid directly, behind the payment provider interface: the payment row
//! is written first and names the trade there (`hk_pay_{payment id}`), so a start whose answer
//! was lost is asked again under the same number; a refund is `hk_refund_{refund id}` there,
//! sent once (`refund_once`: after an unknown outcome it is looked up first). The trade ends
//! with the order's reservation, so nobody pays an order that has expired.

use async_trait::async_trait;
use sea_orm::{DatabaseConnection, EntityTrait};

use super::ProviderKind;
use super::alipay::{self, Alipay};
use super::checkout::{NextAction, PaymentActionKind, PaymentChannel};
use super::direct::CallError;
use super::direct_pay::{out_refund_no, out_trade_no};
use super::entity::{payment, refund};
use super::provider::{PaymentProvider, RefundAttempt, Start, Started, claim_attempt};
use super::wechatpay::{self, WechatPay};
use crate::infra::error::{AppError, AppResult, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::ids::PaymentId;
use crate::infra::money::Fen;
use crate::orders::PaymentMethod;
use crate::orders::entity::order;
use crate::shop::Shop;

pub(super) fn for_method(shop: &Shop, method: PaymentMethod) -> Option<Box<dyn PaymentProvider + '_>> {
    match method {
        PaymentMethod::WechatPay => of_kind(shop, ProviderKind::WechatPay),
        PaymentMethod::Alipay => of_kind(shop, ProviderKind::Alipay),
        _ => None,
    }
}

pub(super) fn of_kind(shop: &Shop, kind: ProviderKind) -> Option<Box<dyn PaymentProvider + '_>> {
    let notify_url = shop.direct().notify_url(kind);
    match kind {
        ProviderKind::WechatPay => shop
            .direct()
            .wechatpay
            .as_ref()
            .map(|client| Box::new(WechatPayProvider { client, notify_url }) as Box<dyn PaymentProvider>),
        ProviderKind::Alipay => shop
            .direct()
            .alipay
            .as_ref()
            .map(|client| Box::new(AlipayProvider { client, notify_url }) as Box<dyn PaymentProvider>),
        _ => None,
    }
}

/// What the provider brings: the order less what the allowance paid when it was placed.
fn due(order: &order::Model) -> Fen {
    order.total_fen - order.allowance_fen
}

fn description(order: &order::Model) -> String {
    format!("花开助农 订单 {}", order.id.0)
}

fn named(start: Start<'_>) -> AppResult<PaymentId> {
    start
        .payment_id
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a direct payment started without its row")))
}

/// A start the provider did not take: the order stands, and `placeOrder` again with the same
/// key asks again under the same trade number.
fn not_started(error: &CallError) -> UserError {
    tracing::warn!(%error, "a direct payment could not be started");
    UserError::new(ErrorCode::PaymentsUnavailable, "payment-not-started")
}

fn next(kind: PaymentActionKind, value: String) -> Started {
    Started {
        next_action: Some(NextAction { kind, value }),
        ..Started::default()
    }
}

async fn order_of(db: &DatabaseConnection, payment: &payment::Model) -> AppResult<order::Model> {
    order::Entity::find_by_id(payment.order_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("payment {} without its order", payment.id)))
}

fn refused(error: CallError) -> RefundAttempt {
    match error {
        CallError::Refused { code, message } => RefundAttempt::Refused(format!("{code}: {message}")),
        CallError::Unknown(reason) => RefundAttempt::Unknown(reason),
    }
}

struct WechatPayProvider<'a> {
    client: &'a WechatPay,
    notify_url: String,
}

#[async_trait]
impl PaymentProvider for WechatPayProvider<'_> {
    fn kind(&self) -> ProviderKind {
        ProviderKind::WechatPay
    }

    fn names_by_row(&self) -> bool {
        true
    }

    async fn start(
        &self,
        order: &order::Model,
        _method: PaymentMethod,
        start: Start<'_>,
    ) -> AppResult<Result<Started, UserError>> {
        let number = out_trade_no(named(start)?);
        let description = description(order);
        let prepay = wechatpay::Prepay {
            out_trade_no: &number,
            description: &description,
            amount: due(order),
            notify_url: &self.notify_url,
            expires_at: order.reserved_until,
        };
        let checkout = start.checkout;
        let made = match checkout.channel {
            PaymentChannel::Native => self
                .client
                .native_prepay(&prepay)
                .await
                .map(|code_url| next(PaymentActionKind::ShowQrCode, code_url)),
            PaymentChannel::Jsapi => {
                let Some(openid) = checkout.payer_openid.as_deref().filter(|id| !id.trim().is_empty()) else {
                    return Ok(Err(UserError::new(ErrorCode::InvalidInput, "payer-openid-required")
                        .on_field(&["input", "payerOpenId"])));
                };
                match self.client.jsapi_prepay(&prepay, openid).await {
                    Ok(params) => {
                        let json = serde_json::to_string(&params).map_err(|e| AppError::Internal(e.into()))?;
                        Ok(next(PaymentActionKind::InvokeJsapi, json))
                    }
                    Err(error) => Err(error),
                }
            }
            PaymentChannel::H5 => {
                let payer_ip = checkout.payer_ip.unwrap_or(std::net::Ipv4Addr::LOCALHOST.into());
                self.client
                    .h5_prepay(&prepay, payer_ip)
                    .await
                    .map(|h5_url| next(PaymentActionKind::Redirect, h5_url))
            }
        };
        Ok(made.map_err(|error| not_started(&error)))
    }

    /// WeChat Pay takes a refund in (PROCESSING) and tells its end by a notification; a lookup
    /// after an unknown outcome finds it by its number instead of sending it again.
    async fn send_refund(
        &self,
        db: &DatabaseConnection,
        row: &refund::Model,
        payment: &payment::Model,
    ) -> AppResult<RefundAttempt> {
        if !claim_attempt(db, row).await? {
            return Ok(RefundAttempt::Waiting);
        }
        let order = order_of(db, payment).await?;
        let (trade, number) = (out_trade_no(payment.id), out_refund_no(row.id));
        let request = wechatpay::RefundRequest {
            out_trade_no: &trade,
            out_refund_no: &number,
            amount: row.amount_fen,
            paid_total: due(&order),
            reason: Some(&row.reason),
            notify_url: Some(&self.notify_url),
        };
        Ok(match self.client.refund_once(&request, row.attempts > 0).await {
            Ok(made) => wechat_refund_attempt(&made.status, made.refund_id),
            Err(error) => refused(error),
        })
    }
}

/// A refund as WeChat Pay reports it, in the one refund path's terms.
pub(super) fn wechat_refund_attempt(status: &wechatpay::RefundStatus, refund_id: String) -> RefundAttempt {
    match status {
        wechatpay::RefundStatus::Success => RefundAttempt::Sent { reference: refund_id },
        wechatpay::RefundStatus::Processing => RefundAttempt::InProgress,
        wechatpay::RefundStatus::Closed => RefundAttempt::Refused("WeChat Pay closed the refund".to_owned()),
        wechatpay::RefundStatus::Abnormal => RefundAttempt::Refused(
            "the buyer's account could not take the refund (ABNORMAL): send it from the merchant platform".to_owned(),
        ),
        wechatpay::RefundStatus::Other(status) => RefundAttempt::Unknown(format!("a refund in state {status}")),
    }
}

struct AlipayProvider<'a> {
    client: &'a Alipay,
    notify_url: String,
}

#[async_trait]
impl PaymentProvider for AlipayProvider<'_> {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Alipay
    }

    fn names_by_row(&self) -> bool {
        true
    }

    async fn start(
        &self,
        order: &order::Model,
        _method: PaymentMethod,
        start: Start<'_>,
    ) -> AppResult<Result<Started, UserError>> {
        let number = out_trade_no(named(start)?);
        let subject = description(order);
        let trade = alipay::TradeRequest {
            out_trade_no: &number,
            subject: &subject,
            amount: due(order),
            notify_url: &self.notify_url,
            expires_at: order.reserved_until,
        };
        let made = match start.checkout.channel {
            PaymentChannel::Native => self
                .client
                .precreate(&trade)
                .await
                .map(|qr_code| next(PaymentActionKind::ShowQrCode, qr_code)),
            // Nothing is sent: the trade is made when the buyer's browser opens the signed URL.
            PaymentChannel::H5 => self
                .client
                .wap_pay_url(&trade, None, None)
                .map(|url| next(PaymentActionKind::Redirect, url)),
            PaymentChannel::Jsapi => {
                return Ok(Err(UserError::new(
                    ErrorCode::InvalidInput,
                    "payment-channel-unsupported",
                )
                .on_field(&["input", "paymentChannel"])));
            }
        };
        Ok(made.map_err(|error| not_started(&error)))
    }

    /// Alipay refunds at once or refuses; after an unknown outcome the refund is looked up by
    /// its number first.
    async fn send_refund(
        &self,
        db: &DatabaseConnection,
        row: &refund::Model,
        payment: &payment::Model,
    ) -> AppResult<RefundAttempt> {
        if !claim_attempt(db, row).await? {
            return Ok(RefundAttempt::Waiting);
        }
        let (trade, number) = (out_trade_no(payment.id), out_refund_no(row.id));
        let request = alipay::RefundRequest {
            out_trade_no: &trade,
            out_request_no: &number,
            amount: row.amount_fen,
            reason: Some(&row.reason),
        };
        Ok(match self.client.refund_once(&request, row.attempts > 0).await {
            Ok(made) => RefundAttempt::Sent {
                reference: made.out_request_no,
            },
            Err(error) => refused(error),
        })
    }
}
