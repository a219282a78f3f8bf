//! Notifications from WeChat Pay and Alipay paid directly. The route hands the raw request
//! here: it is verified with the client's own checks and stored in the webhook inbox (once per
//! notification id) before the provider gets its answer; what does not verify is refused and
//! changes nothing. The inbox worker then applies it: a payment is found by its trade number
//! (`hk_pay_{id}`), its amount checked to the fen, and paid through the same success path as a
//! Stripe payment (exactly once; a late one on a cancelled order is refunded); a refund is found
//! by its number (`hk_refund_{id}`) and settled through the one refund path.

use axum::http::HeaderMap;
use sea_orm::{DatabaseConnection, EntityTrait};

use super::alipay::{self, Alipay};
use super::direct_pay::{payment_id_of, refund_id_of};
use super::direct_providers::wechat_refund_attempt;
use super::entity::refund::RefundStatus;
use super::entity::{payment, refund, webhook_event};
use super::provider::RefundAttempt;
use super::wechatpay::{self, WechatPay};
use super::{ProviderKind, service, settling};
use crate::infra::error::{AppError, AppResult};
use crate::infra::money::Fen;
use crate::shop::Shop;

const WECHATPAY: &str = "wechatpay:";
const ALIPAY: &str = "alipay:";

/// A notification not taken: the status and body to answer with (the provider sends it again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub status: u16,
    pub body: String,
}

/// `POST /webhooks/wechatpay`: verified (platform key, time window) and decrypted, then stored
/// with its decrypted resource. `Ok(Ok(()))` means it is safe to answer 204.
pub async fn receive_wechatpay(
    db: &DatabaseConnection,
    client: &WechatPay,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<AppResult<()>, Refused> {
    let notice = wechatpay::notification::verify(client.settings(), headers, body).map_err(|error| {
        tracing::warn!(%error, "a WeChat Pay notification was refused");
        Refused {
            status: error.status(),
            body: wechatpay::notification::failure_body(&error),
        }
    })?;
    let id = format!("{WECHATPAY}{}", notice.id);
    let event_type = format!("{WECHATPAY}{}", notice.event_type);
    Ok(webhook_event::keep(db, &id, &event_type, &notice.plaintext).await)
}

/// `POST /webhooks/alipay`: its signature and application checked, then stored as received
/// (its signature still holds when it is applied). `Ok(Ok(()))` means answer
/// [`alipay::notification::ACKNOWLEDGED`].
pub async fn receive_alipay(db: &DatabaseConnection, client: &Alipay, body: &[u8]) -> Result<AppResult<()>, Refused> {
    let notice = alipay::notification::verify(client.settings(), body).map_err(|error| {
        tracing::warn!(%error, "an Alipay notification was refused");
        Refused {
            status: error.status(),
            body: "fail".to_owned(),
        }
    })?;
    let payload = String::from_utf8_lossy(body);
    let id = format!("{ALIPAY}{}", notice.notify_id);
    Ok(webhook_event::keep(db, &id, &format!("{ALIPAY}trade_status_sync"), &payload).await)
}

/// Applies a stored WeChat Pay or Alipay notification; `None` for any other event.
pub(super) async fn apply(shop: &Shop, event_type: &str, payload: &str) -> Option<AppResult<()>> {
    if let Some(kind) = event_type.strip_prefix(WECHATPAY) {
        return Some(apply_wechatpay(shop, kind, payload).await);
    }
    if event_type.starts_with(ALIPAY) {
        return Some(apply_alipay(shop, payload).await);
    }
    None
}

fn unreadable(error: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("a stored notification does not parse: {error}"))
}

/// Our payment at `provider` that `out_trade_no` names.
async fn payment_named(shop: &Shop, out_trade_no: &str, provider: ProviderKind) -> AppResult<Option<payment::Model>> {
    let Some(payment_id) = payment_id_of(out_trade_no) else {
        return Ok(None);
    };
    let found = payment::Entity::find_by_id(payment_id).one(&shop.db).await?;
    Ok(found.filter(|payment| payment.provider == provider))
}

/// The money of `out_trade_no` arrived: `amount_fen` is what the order asked (WeChat's own
/// coupons are WeChat's affair), checked to the fen by the success path.
pub(super) async fn paid(
    shop: &Shop,
    provider: ProviderKind,
    out_trade_no: &str,
    amount_fen: i64,
    currency: &str,
) -> AppResult<()> {
    let Some(payment) = payment_named(shop, out_trade_no, provider).await? else {
        tracing::warn!(out_trade_no, ?provider, "a payment arrived for no payment of ours");
        return Ok(());
    };
    service::apply_success(shop, &payment, Fen::new(amount_fen), currency).await
}

/// What a provider says of refund `out_refund_no` of trade `out_trade_no`, applied to ours
/// while it is pending.
async fn refund_ended(shop: &Shop, out_trade_no: &str, out_refund_no: &str, attempt: RefundAttempt) -> AppResult<()> {
    let Some(refund_id) = refund_id_of(out_refund_no) else {
        return Ok(());
    };
    let Some(row) = refund::Entity::find_by_id(refund_id).one(&shop.db).await? else {
        return Ok(());
    };
    if row.status != RefundStatus::Pending || payment_id_of(out_trade_no) != Some(row.payment_id) {
        return Ok(());
    }
    settling::apply_attempt(shop, &row, attempt).await.map(|_| ())
}

async fn apply_wechatpay(shop: &Shop, event_type: &str, payload: &str) -> AppResult<()> {
    if event_type.starts_with("TRANSACTION.") {
        let transaction: wechatpay::Transaction = serde_json::from_str(payload).map_err(unreadable)?;
        if !transaction.trade_state.is_paid() {
            return Ok(());
        }
        let currency = transaction.amount.as_ref().and_then(|amount| amount.currency.clone());
        let total = transaction.total().map_or(0, |total| total.get());
        let currency = currency.as_deref().unwrap_or("CNY");
        return paid(
            shop,
            ProviderKind::WechatPay,
            &transaction.out_trade_no,
            total,
            currency,
        )
        .await;
    }
    if event_type.starts_with("REFUND.") {
        let notice: wechatpay::RefundNotice = serde_json::from_str(payload).map_err(unreadable)?;
        let attempt = wechat_refund_attempt(&notice.refund_status, notice.refund_id.clone());
        return refund_ended(shop, &notice.out_trade_no, &notice.out_refund_no, attempt).await;
    }
    Ok(())
}

/// Alipay tells a payment and a refund alike by `trade_status_sync`; a refund's carries its
/// number (`out_biz_no`). Alipay refunds at once, so its notification confirms a refund made.
async fn apply_alipay(shop: &Shop, payload: &str) -> AppResult<()> {
    let Some(client) = &shop.direct().alipay else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "an Alipay notification waits: Alipay is not configured here"
        )));
    };
    let notice = alipay::notification::verify(client.settings(), payload.as_bytes()).map_err(unreadable)?;
    if let Some(out_biz_no) = &notice.out_biz_no {
        let sent = RefundAttempt::Sent {
            reference: out_biz_no.clone(),
        };
        return refund_ended(shop, &notice.out_trade_no, out_biz_no, sent).await;
    }
    if !notice.trade_status.is_paid() {
        return Ok(());
    }
    paid(
        shop,
        ProviderKind::Alipay,
        &notice.out_trade_no,
        notice.total.get(),
        "cny",
    )
    .await
}
