//! Alipay's settings, from the variables the API contract names ("WeChat Pay and Alipay,
//! direct"). The key files are read and checked here, so a bad one stops start-up with a line
//! naming its variable.

use std::sync::Arc;
use std::time::Duration;

use crate::payments::direct::{self, SettingError, SigningKey, VerifyingKey};

/// Alipay's open API gateway (the sandbox's is
/// `https://openapi-sandbox.dl.alipaydev.com/gateway.do`).
pub const DEFAULT_GATEWAY: &str = "https://openapi.alipay.com/gateway.do";

pub const APP_ID: &str = "HUAKAI_ALIPAY_APP_ID";
pub const PRIVATE_KEY: &str = "HUAKAI_ALIPAY_PRIVATE_KEY";
pub const PUBLIC_KEY: &str = "HUAKAI_ALIPAY_PUBLIC_KEY";
pub const GATEWAY: &str = "HUAKAI_ALIPAY_GATEWAY";
pub const TIMEOUT: &str = "HUAKAI_ALIPAY_TIMEOUT";

#[derive(Clone, Debug)]
pub struct AlipaySettings {
    /// The application's id on Alipay's open platform.
    pub app_id: String,
    /// The application private key (应用私钥), signing requests.
    pub app_key: Arc<SigningKey>,
    /// Alipay's public key (支付宝公钥), checking answers and notifications.
    pub alipay_key: Arc<VerifyingKey>,
    /// The gateway URL requests are POSTed to.
    pub gateway: String,
    /// How long one call may take before its outcome counts as unknown.
    pub timeout: Duration,
}

impl AlipaySettings {
    /// `None` when no Alipay variable is set (payments by Alipay go through Stripe then).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<AlipaySettings>, SettingError> {
        let Some([app_id, private_key, public_key]) = direct::all_or_none(&lookup, [APP_ID, PRIVATE_KEY, PUBLIC_KEY])?
        else {
            return match lookup(GATEWAY).filter(|value| !value.trim().is_empty()) {
                Some(_) => Err(SettingError::new(APP_ID, format!("is needed with {GATEWAY}"))),
                None => Ok(None),
            };
        };
        Ok(Some(AlipaySettings {
            app_id: direct::visible_ascii(APP_ID, app_id)?,
            app_key: Arc::new(SigningKey::read(PRIVATE_KEY, &private_key)?),
            alipay_key: Arc::new(VerifyingKey::read(PUBLIC_KEY, &public_key)?),
            gateway: direct::base_url(GATEWAY, lookup(GATEWAY), DEFAULT_GATEWAY)?,
            timeout: direct::call_timeout(TIMEOUT, lookup(TIMEOUT))?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_is_off_and_half_set_names_what_is_missing() {
        assert!(matches!(AlipaySettings::from_lookup(|_| None), Ok(None)));
        let only_gateway = |name: &str| (name == GATEWAY).then(|| "http://127.0.0.1:1/gateway.do".to_owned());
        assert_eq!(AlipaySettings::from_lookup(only_gateway).unwrap_err().name, APP_ID);
        let no_public_key = |name: &str| (name != PUBLIC_KEY).then(|| "x".to_owned());
        assert_eq!(AlipaySettings::from_lookup(no_public_key).unwrap_err().name, PUBLIC_KEY);
        let unreadable = |name: &str| Some(format!("/nonexistent/{name}.pem"));
        assert_eq!(AlipaySettings::from_lookup(unreadable).unwrap_err().name, PRIVATE_KEY);
    }
}
