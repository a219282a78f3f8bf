//! Issue 24's notifications: password reset by a code mailed through a real SMTP server
//! (aiosmtpd), the mail each step of an order and each payout sends, and phone numbers.

mod events;
mod password_reset;
mod phone;

use crate::support::smtp::{ReceivedMail, SmtpServer};
use crate::support::{Backend, TestApp};

/// An SMTP server and an app that mails through it (retried quickly), with `settings` too.
async fn app_with_mail(backend: Backend, settings: &[(&str, &str)]) -> Option<(SmtpServer, TestApp)> {
    let server = SmtpServer::start().await?;
    let url = server.url();
    let mut all = vec![
        ("HUAKAI_SMTP_URL", url.as_str()),
        ("HUAKAI_MAIL_FROM", "花开 <shop@huakai.test>"),
        ("HUAKAI_MAIL_RETRY", "100ms"),
    ];
    all.extend_from_slice(settings);
    let app = TestApp::on(backend).settings(&all).start().await?;
    Some((server, app))
}

/// What arrived for `address`.
fn to(received: &[ReceivedMail], address: &str) -> Vec<ReceivedMail> {
    received
        .iter()
        .filter(|mail| mail.envelope_to.iter().any(|to| to == address))
        .cloned()
        .collect()
}

/// The six-digit code in a reset message.
fn code_in(mail: &ReceivedMail) -> String {
    let text = mail.text.as_deref().expect("a text part");
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .unwrap_or_else(|| panic!("a six-digit code in {text}"))
        .to_owned()
}
