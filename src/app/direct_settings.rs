//! Settings of WeChat Pay and Alipay paid directly (issue 27), parsed with the rest of the
//! configuration: each provider's own variables (read and checked by its client's settings,
//! key files included), where the providers reach this server, and how long a payment waits
//! for its notification before it is looked up. Each is in docs/configuration.md's table.

use std::time::Duration;

use crate::infra::settings::{ConfigError, error, parse_duration, parse_setting};
use crate::payments::alipay::{Alipay, AlipaySettings};
use crate::payments::direct::{self, SettingError};
use crate::payments::direct_pay::DirectPay;
use crate::payments::wechatpay::{WechatPay, WechatPaySettings};

pub const PUBLIC_URL: &str = "HUAKAI_PUBLIC_URL";
pub const LOOKUP_AFTER: &str = "HUAKAI_PAYMENT_LOOKUP_AFTER";

#[derive(Clone, Debug, Default)]
pub struct DirectSettings {
    pub wechatpay: Option<WechatPaySettings>,
    pub alipay: Option<AlipaySettings>,
    /// This server as the internet reaches it (notification URLs); unset, the address it
    /// listens on.
    pub public_url: Option<String>,
    pub look_up_after: Duration,
}

fn setting_error(problem: SettingError) -> ConfigError {
    error(problem.name, "", &problem.problem)
}

impl DirectSettings {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<DirectSettings, ConfigError> {
        Ok(DirectSettings {
            wechatpay: WechatPaySettings::from_lookup(get).map_err(setting_error)?,
            alipay: AlipaySettings::from_lookup(get).map_err(setting_error)?,
            public_url: get(PUBLIC_URL)
                .map(|url| direct::base_url(PUBLIC_URL, Some(url), ""))
                .transpose()
                .map_err(setting_error)?,
            look_up_after: parse_setting(LOOKUP_AFTER, get(LOOKUP_AFTER), "1m", parse_duration)?,
        })
    }

    /// The clients, with `listening` (`http://{address}`) as the public URL when none is set.
    pub fn direct_pay(&self, listening: &str) -> anyhow::Result<DirectPay> {
        let client = |problem: String| anyhow::anyhow!("the payment client: {problem}");
        Ok(DirectPay {
            wechatpay: self.wechatpay.clone().map(WechatPay::new).transpose().map_err(client)?,
            alipay: self.alipay.clone().map(Alipay::new).transpose().map_err(client)?,
            notify_base: self
                .public_url
                .clone()
                .unwrap_or_else(|| listening.trim_end_matches('/').to_owned()),
            look_up_after: self.look_up_after,
        })
    }
}
