//! Text messages (SMS), beside mail: the interface a provider implements, shaped as mainland
//! providers' send calls are, with only a log implementation (no live provider is wired yet).
//!
//! A mainland SMS is sent by template: the operator registers a sign name (签名, e.g. 【花开】)
//! and a template (模板) with the provider, who approves them; a send names both and gives the
//! template's parameters. The two usual providers' calls map onto [`SmsRequest`] so:
//!
//! | field | Aliyun `SendSms` (dysmsapi 2017-05-25) | Tencent Cloud `SendSms` (sms 2021-01-11) |
//! | --- | --- | --- |
//! | `phone_number` | `PhoneNumbers` (mainland numbers without `+86`) | `PhoneNumberSet` (`+86…`) |
//! | `sign_name` | `SignName` | `SignName` |
//! | `template_code` | `TemplateCode` (`SMS_…`) | `TemplateId` (digits), plus the account's `SmsSdkAppId` |
//! | `template_params` | `TemplateParam`: a JSON object of the names and values | `TemplateParamSet`: the values, in order |
//! | receipt | `BizId` | `SendStatusSet[0].SerialNo` |
//! | refusal | `Code` other than `OK`, and `Message` | `SendStatusSet[0].Code` other than `Ok`, and `Message` |
//!
//! A live provider is an implementation of [`SmsProvider`] that makes that call (signed as its
//! provider documents) and maps the answer back. Like mail, a text for an event belongs in an
//! outbox written in the event's transaction, not sent from inside a request.

use async_trait::async_trait;

/// One text to one phone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsRequest {
    /// In E.164 form: `+8613800138000`.
    pub phone_number: String,
    pub sign_name: String,
    pub template_code: String,
    /// The template's parameters by name, in the template's order (Aliyun reads the names,
    /// Tencent the order).
    pub template_params: Vec<(String, String)>,
}

/// The provider took the text; its id for it, to find the delivery report by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsReceipt {
    pub provider_id: String,
}

/// The provider refused the text or could not be asked: its code (or ours) and message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("SMS not sent: {code}: {message}")]
pub struct SmsError {
    pub code: String,
    pub message: String,
}

#[async_trait]
pub trait SmsProvider: Send + Sync {
    async fn send(&self, request: &SmsRequest) -> Result<SmsReceipt, SmsError>;
}

/// No provider: each text is written to the log (the number masked; the parameters, which
/// may hold a code, only at debug level) and counts as sent.
pub struct LogSms;

#[async_trait]
impl SmsProvider for LogSms {
    async fn send(&self, request: &SmsRequest) -> Result<SmsReceipt, SmsError> {
        let provider_id = format!("log-{}", uuid::Uuid::new_v4().simple());
        tracing::info!(
            to = %masked(&request.phone_number),
            sign_name = %request.sign_name,
            template = %request.template_code,
            %provider_id,
            "text written to the log instead of sent: no SMS provider is configured"
        );
        tracing::debug!(%provider_id, params = ?request.template_params, "text parameters");
        Ok(SmsReceipt { provider_id })
    }
}

/// A phone number as logs may show it (personal information): its last four digits only.
fn masked(phone_number: &str) -> String {
    let digits = phone_number.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    phone_number
        .chars()
        .map(|c| {
            if !c.is_ascii_digit() {
                return c;
            }
            seen += 1;
            if seen + 4 > digits { c } else { '*' }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_log_provider_takes_every_text_with_an_id_of_its_own() {
        let request = SmsRequest {
            phone_number: "+8613800138000".into(),
            sign_name: "花开".into(),
            template_code: "SMS_000001".into(),
            template_params: vec![("code".into(), "482913".into())],
        };
        let first = LogSms.send(&request).await.expect("logged");
        let second = LogSms.send(&request).await.expect("logged");
        assert!(first.provider_id.starts_with("log-"));
        assert_ne!(first, second);
    }

    #[test]
    fn logs_show_only_the_last_four_digits() {
        assert_eq!(masked("+8613800138000"), "+*********8000");
        assert_eq!(masked("138"), "138");
    }
}
