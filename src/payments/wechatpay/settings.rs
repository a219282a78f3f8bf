//! WeChat Pay's settings, from the variables the API contract names ("WeChat Pay and Alipay,
//! direct"). The key files are read and checked here, so a bad one stops start-up with a line
//! naming its variable instead of failing the first payment.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::payments::direct::{self, SettingError, SigningKey, VerifyingKey};

/// WeChat Pay's API, nearest access point.
pub const DEFAULT_API_BASE: &str = "https://api.mch.weixin.qq.com";

pub const MCHID: &str = "HUAKAI_WECHATPAY_MCHID";
pub const APPID: &str = "HUAKAI_WECHATPAY_APPID";
pub const SERIAL: &str = "HUAKAI_WECHATPAY_SERIAL";
pub const PRIVATE_KEY: &str = "HUAKAI_WECHATPAY_PRIVATE_KEY";
pub const APIV3_KEY: &str = "HUAKAI_WECHATPAY_APIV3_KEY";
pub const PLATFORM_PUBLIC_KEY: &str = "HUAKAI_WECHATPAY_PLATFORM_PUBLIC_KEY";
pub const PLATFORM_KEY_ID: &str = "HUAKAI_WECHATPAY_PLATFORM_KEY_ID";
pub const API_BASE: &str = "HUAKAI_WECHATPAY_API_BASE";
pub const TIMEOUT: &str = "HUAKAI_WECHATPAY_TIMEOUT";

/// The APIv3 key (32 bytes), which encrypts notifications' resources.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiV3Key(pub(crate) [u8; 32]);

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key(hidden)")
    }
}

#[derive(Clone, Debug)]
pub struct WechatPaySettings {
    /// 商户号.
    pub mchid: String,
    /// The AppID payments are made under (公众号, 小程序 or the website's).
    pub appid: String,
    /// The merchant API certificate's serial (`serial_no` of each request).
    pub merchant_serial: String,
    pub merchant_key: Arc<SigningKey>,
    pub apiv3_key: ApiV3Key,
    /// 微信支付公钥, which signs answers and notifications.
    pub platform_key: Arc<VerifyingKey>,
    /// Its id (`PUB_KEY_ID_…`): the only `Wechatpay-Serial` accepted.
    pub platform_key_id: String,
    /// Without a trailing slash.
    pub api_base: String,
    /// How long one call may take before its outcome counts as unknown.
    pub timeout: Duration,
}

impl WechatPaySettings {
    /// `None` when no WeChat Pay variable is set (payments by WeChat go through Stripe then).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<WechatPaySettings>, SettingError> {
        let required = [
            MCHID,
            APPID,
            SERIAL,
            PRIVATE_KEY,
            APIV3_KEY,
            PLATFORM_PUBLIC_KEY,
            PLATFORM_KEY_ID,
        ];
        let Some(
            [
                mchid,
                appid,
                serial,
                private_key,
                apiv3_key,
                platform_key,
                platform_key_id,
            ],
        ) = direct::all_or_none(&lookup, required)?
        else {
            return match lookup(API_BASE).filter(|value| !value.trim().is_empty()) {
                Some(_) => Err(SettingError::new(MCHID, format!("is needed with {API_BASE}"))),
                None => Ok(None),
            };
        };
        let apiv3_key: [u8; 32] = apiv3_key
            .as_bytes()
            .try_into()
            .map_err(|_| SettingError::new(APIV3_KEY, "must be the 32 characters set in the merchant platform"))?;
        Ok(Some(WechatPaySettings {
            mchid: direct::visible_ascii(MCHID, mchid)?,
            appid: direct::visible_ascii(APPID, appid)?,
            merchant_serial: direct::visible_ascii(SERIAL, serial)?,
            merchant_key: Arc::new(SigningKey::read(PRIVATE_KEY, &private_key)?),
            apiv3_key: ApiV3Key(apiv3_key),
            platform_key: Arc::new(VerifyingKey::read(PLATFORM_PUBLIC_KEY, &platform_key)?),
            platform_key_id: direct::visible_ascii(PLATFORM_KEY_ID, platform_key_id)?,
            api_base: direct::base_url(API_BASE, lookup(API_BASE), DEFAULT_API_BASE)?,
            timeout: direct::call_timeout(TIMEOUT, lookup(TIMEOUT))?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_is_off_and_half_set_names_what_is_missing() {
        assert!(matches!(WechatPaySettings::from_lookup(|_| None), Ok(None)));
        let only_base = |name: &str| (name == API_BASE).then(|| "http://127.0.0.1:1".to_owned());
        assert_eq!(WechatPaySettings::from_lookup(only_base).unwrap_err().name, MCHID);
        let no_key_id = |name: &str| (name != PLATFORM_KEY_ID).then(|| "x".to_owned());
        assert_eq!(
            WechatPaySettings::from_lookup(no_key_id).unwrap_err().name,
            PLATFORM_KEY_ID
        );
        let short_apiv3 = |name: &str| Some(if name == APIV3_KEY { "short" } else { "x" }.to_owned());
        assert_eq!(WechatPaySettings::from_lookup(short_apiv3).unwrap_err().name, APIV3_KEY);
        let missing_file = |name: &str| {
            Some(match name {
                APIV3_KEY => "0123456789abcdef0123456789abcdef".to_owned(),
                PRIVATE_KEY => "/nonexistent/apiclient_key.pem".to_owned(),
                _ => "x".to_owned(),
            })
        };
        let error = WechatPaySettings::from_lookup(missing_file).unwrap_err();
        assert_eq!(error.name, PRIVATE_KEY);
        assert!(
            error
                .to_string()
                .starts_with("HUAKAI_WECHATPAY_PRIVATE_KEY: cannot read"),
            "{error}"
        );
    }
}
