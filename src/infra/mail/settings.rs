//! Mail settings from the environment, parsed once at start; a bad value is one line that names
//! the variable.
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `HUAKAI_SMTP_URL` | where to send, in lettre's URL form: `smtp://host:25` (plain), `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://user:pass@host:465` (implicit TLS); user and password percent-encoded | unset: messages are written to the log |
//! | `HUAKAI_MAIL_FROM` | the sender, `花开 <shop@example.com>` or `shop@example.com` | required with `HUAKAI_SMTP_URL` |
//! | `HUAKAI_SMTP_TIMEOUT` | the longest one message's delivery may take | `30s` |
//! | `HUAKAI_MAIL_RETRY` | the wait after a first failed attempt; it doubles after each failure, up to an hour | `1m` |
//! | `HUAKAI_MAIL_ATTEMPTS` | attempts before a message is given up (marked failed) | `10` |

use std::str::FromStr;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, Tokio1Executor};

/// The longest wait between two attempts, however many failed.
const LONGEST_RETRY: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct MailSettingsError {
    name: &'static str,
    problem: String,
}

#[derive(Clone, Debug)]
pub struct MailSettings {
    /// Where messages go; `None` writes them to the log.
    pub smtp: Option<SmtpSettings>,
    pub retry: RetryPolicy,
}

#[derive(Clone)]
pub struct SmtpSettings {
    /// Holds the password when there is one: never logged (see `Debug`).
    pub(super) url: String,
    pub(super) from: Mailbox,
    /// A delivery still running after this counts as failed (and the lease covers it twice).
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("url", &redact(&self.url))
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// When a failed message is tried again, and when it is given up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure; doubled after each further one.
    pub first: Duration,
    /// The longest wait.
    pub longest: Duration,
    /// Attempts in all; the message is marked failed when the last fails.
    pub attempts: u32,
}

impl RetryPolicy {
    /// The wait after attempt `attempt` (1 for the first) failed: `first`, then twice that,
    /// and so on, never more than `longest`.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.first.saturating_mul(1 << doublings).min(self.longest)
    }
}

impl MailSettings {
    pub fn from_env() -> Result<MailSettings, MailSettingsError> {
        MailSettings::from_lookup(|name| std::env::var(name).ok())
    }

    /// The settings from any source of variables (the environment, a test's list).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<MailSettings, MailSettingsError> {
        let get = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let from = get("HUAKAI_MAIL_FROM")
            .map(|value| {
                Mailbox::from_str(&value)
                    .map_err(|e| MailSettingsError::new("HUAKAI_MAIL_FROM", format!("not a mailbox ({e}): {value:?}")))
            })
            .transpose()?;
        let timeout = duration(
            "HUAKAI_SMTP_TIMEOUT",
            get("HUAKAI_SMTP_TIMEOUT"),
            Duration::from_secs(30),
        )?;
        let smtp = match get("HUAKAI_SMTP_URL") {
            None => None,
            Some(url) => {
                // lettre's own reading of the URL, so what is accepted here is what it will use.
                AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                    .map_err(|e| MailSettingsError::new("HUAKAI_SMTP_URL", format!("{e} (got {:?})", redact(&url))))?;
                let from = from.ok_or_else(|| {
                    MailSettingsError::new("HUAKAI_MAIL_FROM", "required when HUAKAI_SMTP_URL is set".into())
                })?;
                Some(SmtpSettings { url, from, timeout })
            }
        };
        let retry = RetryPolicy {
            first: duration("HUAKAI_MAIL_RETRY", get("HUAKAI_MAIL_RETRY"), Duration::from_secs(60))?,
            longest: LONGEST_RETRY,
            attempts: match get("HUAKAI_MAIL_ATTEMPTS") {
                None => 10,
                Some(value) => value
                    .parse::<u32>()
                    .ok()
                    .filter(|attempts| (1..=100).contains(attempts))
                    .ok_or_else(|| {
                        MailSettingsError::new("HUAKAI_MAIL_ATTEMPTS", format!("must be 1 to 100 (got {value:?})"))
                    })?,
            },
        };
        Ok(MailSettings { smtp, retry })
    }
}

impl MailSettingsError {
    pub(super) fn new(name: &'static str, problem: String) -> MailSettingsError {
        MailSettingsError { name, problem }
    }

    /// The variable at fault.
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn problem(&self) -> &str {
        &self.problem
    }
}

fn duration(name: &'static str, value: Option<String>, default: Duration) -> Result<Duration, MailSettingsError> {
    let Some(value) = value else {
        return Ok(default);
    };
    humantime::parse_duration(&value)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| {
            MailSettingsError::new(
                name,
                format!("must be a duration such as 500ms, 30s or 5m (got {value:?})"),
            )
        })
}

/// The URL with its user and password hidden, for errors and logs.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("…");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(not a URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<MailSettings, MailSettingsError> {
        MailSettings::from_lookup(|name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn unset_smtp_writes_to_the_log_with_default_retries() {
        let unset = settings(&[]).expect("no variable is needed");
        assert!(unset.smtp.is_none());
        assert_eq!(unset.retry.first, Duration::from_secs(60));
        assert_eq!(unset.retry.attempts, 10);
    }

    #[test]
    fn each_url_form_is_taken_with_its_sender() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://user:p%40ss@mail.example.com:587?tls=required",
            "smtps://user:pass@smtp.exmail.qq.com:465",
        ] {
            let taken = settings(&[
                ("HUAKAI_SMTP_URL", url),
                ("HUAKAI_MAIL_FROM", "花开 <shop@example.com>"),
            ])
            .unwrap_or_else(|e| panic!("{url}: {e}"));
            let smtp = taken.smtp.expect("SMTP is set");
            assert_eq!(smtp.from.email.to_string(), "shop@example.com");
            assert!(!format!("{smtp:?}").contains("pass"), "{smtp:?}");
        }
    }

    #[test]
    fn a_bad_value_is_one_line_naming_its_variable_without_the_password() {
        let message = |pairs: &[(&str, &str)]| settings(pairs).expect_err("refused").to_string();
        let bad_scheme = message(&[
            ("HUAKAI_SMTP_URL", "http://user:secret@host"),
            ("HUAKAI_MAIL_FROM", "shop@example.com"),
        ]);
        assert!(bad_scheme.starts_with("HUAKAI_SMTP_URL: "), "{bad_scheme}");
        assert!(!bad_scheme.contains("secret"), "{bad_scheme}");
        let missing_from = message(&[("HUAKAI_SMTP_URL", "smtp://127.0.0.1:25")]);
        assert!(missing_from.starts_with("HUAKAI_MAIL_FROM: required"), "{missing_from}");
        for (name, value) in [
            ("HUAKAI_MAIL_FROM", "not an address"),
            ("HUAKAI_SMTP_TIMEOUT", "soon"),
            ("HUAKAI_MAIL_RETRY", "0s"),
            ("HUAKAI_MAIL_ATTEMPTS", "0"),
        ] {
            let text = message(&[(name, value)]);
            assert!(text.starts_with(&format!("{name}: ")) && !text.contains('\n'), "{text}");
        }
    }

    #[test]
    fn retries_double_up_to_an_hour() {
        let policy = RetryPolicy {
            first: Duration::from_secs(60),
            longest: LONGEST_RETRY,
            attempts: 10,
        };
        let waits: Vec<u64> = (1..=9)
            .map(|attempt| policy.delay_after(attempt).as_secs() / 60)
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(policy.delay_after(u32::MAX), LONGEST_RETRY);
    }
}
