//! The merchant accounts paid directly (WeChat Pay, Alipay) that the shop holds, and the names
//! our payments and refunds carry there.

use super::ProviderKind;
use super::alipay::Alipay;
use super::wechatpay::WechatPay;
use crate::infra::ids::{PaymentId, RefundId};
use crate::orders::PaymentMethod;

/// The merchant accounts paid directly, when configured, and where the providers reach the
/// shop (`{notify_base}/webhooks/wechatpay`, `…/alipay`).
#[derive(Clone, Debug, Default)]
pub struct DirectPay {
    pub wechatpay: Option<WechatPay>,
    pub alipay: Option<Alipay>,
    /// The shop's public base URL, without a trailing slash.
    pub notify_base: String,
    /// How long a direct payment waits for its notification before it is looked up (and
    /// between lookups).
    pub look_up_after: std::time::Duration,
}

impl DirectPay {
    /// Whether `method` is paid directly here.
    pub fn takes(&self, method: PaymentMethod) -> bool {
        match method {
            PaymentMethod::WechatPay => self.wechatpay.is_some(),
            PaymentMethod::Alipay => self.alipay.is_some(),
            _ => false,
        }
    }

    pub fn any(&self) -> bool {
        self.wechatpay.is_some() || self.alipay.is_some()
    }

    /// The longest a call to either provider may take, if any is configured.
    pub fn timeout(&self) -> Option<std::time::Duration> {
        let wechatpay = self.wechatpay.as_ref().map(|client| client.settings().timeout);
        let alipay = self.alipay.as_ref().map(|client| client.settings().timeout);
        wechatpay.into_iter().chain(alipay).max()
    }

    pub(super) fn notify_url(&self, kind: ProviderKind) -> String {
        let route = if kind == ProviderKind::Alipay {
            "alipay"
        } else {
            "wechatpay"
        };
        format!("{}/webhooks/{route}", self.notify_base)
    }
}

/// The trade's number at the provider.
pub fn out_trade_no(payment_id: PaymentId) -> String {
    format!("hk_pay_{}", payment_id.0)
}

/// The payment a trade number names, if it is one of ours.
pub fn payment_id_of(out_trade_no: &str) -> Option<PaymentId> {
    out_trade_no.strip_prefix("hk_pay_")?.parse().ok().map(PaymentId)
}

/// The refund's number at the provider.
pub fn out_refund_no(refund_id: RefundId) -> String {
    format!("hk_refund_{}", refund_id.0)
}

/// The refund a refund number names, if it is one of ours.
pub fn refund_id_of(out_refund_no: &str) -> Option<RefundId> {
    out_refund_no.strip_prefix("hk_refund_")?.parse().ok().map(RefundId)
}

impl crate::shop::Shop {
    /// WeChat Pay and Alipay paid directly, as configured.
    pub fn direct(&self) -> &DirectPay {
        self.part()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_at_the_provider_name_our_rows() {
        assert_eq!(out_trade_no(PaymentId(42)), "hk_pay_42");
        assert_eq!(payment_id_of("hk_pay_42"), Some(PaymentId(42)));
        assert_eq!(payment_id_of("hk_refund_42"), None);
        assert_eq!(payment_id_of("other_42"), None);
        assert_eq!(out_refund_no(RefundId(7)), "hk_refund_7");
        assert_eq!(refund_id_of("hk_refund_7"), Some(RefundId(7)));
        assert_eq!(refund_id_of("hk_pay_7"), None);
    }
}
