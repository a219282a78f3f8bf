//! Where a message goes: an SMTP server (lettre over tokio, TLS by rustls), or, when
//! `HUAKAI_SMTP_URL` is unset, the log.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::entity;
use super::settings::{MailSettings, MailSettingsError};

#[derive(Clone)]
pub enum Transport {
    Smtp {
        /// Keeps a few connections open between messages (lettre's pool).
        smtp: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
        timeout: Duration,
    },
    /// No SMTP server configured: each message is written to the log and counts as sent.
    Log,
}

/// Why an attempt did not deliver.
#[derive(Debug)]
pub(super) enum Failure {
    /// The message cannot be made (an address lettre refuses): every attempt would fail alike.
    Unbuildable(String),
    /// The server could not be reached, refused, or did not answer in time: worth another try.
    Delivery(String),
}

impl Transport {
    pub fn new(settings: &MailSettings) -> Result<Transport, MailSettingsError> {
        let Some(smtp) = &settings.smtp else {
            return Ok(Transport::Log);
        };
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&smtp.url)
            .map_err(|e| MailSettingsError::new("HUAKAI_SMTP_URL", e.to_string()))?;
        Ok(Transport::Smtp {
            smtp: builder.timeout(Some(smtp.timeout)).build(),
            from: smtp.from.clone(),
            timeout: smtp.timeout,
        })
    }

    /// How long one delivery may take at most; the worker's lease is twice this.
    pub fn timeout(&self) -> Duration {
        match self {
            Transport::Smtp { timeout, .. } => *timeout,
            Transport::Log => Duration::from_secs(5),
        }
    }

    pub(super) async fn deliver(&self, mail: &entity::Model) -> Result<(), Failure> {
        match self {
            Transport::Log => {
                tracing::info!(
                    to = %mail.recipient,
                    subject = %mail.subject,
                    message_id = %mail.message_id,
                    "mail written to the log instead of sent: HUAKAI_SMTP_URL is unset"
                );
                // Bodies may hold a reset code: shown only to whoever turned debug logs on.
                tracing::debug!(message_id = %mail.message_id, body = %mail.text_body, "mail body");
                Ok(())
            }
            Transport::Smtp { smtp, from, timeout } => {
                let message = build(mail, from).map_err(Failure::Unbuildable)?;
                match tokio::time::timeout(*timeout, smtp.send(message)).await {
                    Ok(Ok(_response)) => Ok(()),
                    Ok(Err(error)) => Err(Failure::Delivery(error.to_string())),
                    Err(_) => Err(Failure::Delivery(format!("no answer within {timeout:?}"))),
                }
            }
        }
    }
}

/// The message as sent: its `Message-ID` is the stored one at the sender's domain, the same on
/// every attempt. lettre encodes non-ASCII headers (RFC 2047) and bodies (quoted-printable or
/// base64, whichever is shorter).
fn build(mail: &entity::Model, from: &Mailbox) -> Result<Message, String> {
    let to: Mailbox = mail
        .recipient
        .parse()
        .map_err(|e| format!("the recipient {:?} is not an address: {e}", mail.recipient))?;
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.as_str())
        .message_id(Some(format!("<{}@{}>", mail.message_id, from.email.domain())));
    let built = match &mail.html_body {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(mail.text_body.clone(), html.clone())),
        None => builder.header(ContentType::TEXT_PLAIN).body(mail.text_body.clone()),
    };
    built.map_err(|e| format!("the message cannot be built: {e}"))
}
