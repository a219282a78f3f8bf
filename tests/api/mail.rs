//! Mail (issue 24): the outbox and its workers against a real SMTP server (aiosmtpd), on
//! SQLite and PostgreSQL. A message is enqueued in the event's transaction; what a recipient
//! would notice is what arrives at the server, and how often.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use huakai::infra::i18n::{Language, Message};
use huakai::infra::mail::{self, MailSettings, MailWorker, OutgoingMail};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use tokio::task::JoinHandle;
use tracing::instrument::WithSubscriber;

use crate::on_each_backend;
use crate::support::smtp::SmtpServer;
use crate::support::{Backend, TestDatabase};

on_each_backend!(
    a_committed_message_arrives_once_and_a_rolled_back_one_never,
    two_workers_send_each_of_fifty_messages_exactly_once,
    smtp_down_is_retried_with_backoff_and_delivered_once_it_comes_up,
    a_refused_address_is_given_up_after_the_last_attempt,
    without_smtp_a_message_is_logged_and_marked_sent,
    chinese_subjects_and_bodies_arrive_intact,
    user_text_in_the_html_body_is_escaped,
);

const FROM: &str = "花开 <shop@huakai.test>";

/// A migrated database of the test's own.
async fn database(backend: Backend) -> Option<(TestDatabase, DatabaseConnection)> {
    let database = TestDatabase::create(backend).await?;
    let db = connect(&database).await;
    huakai::infra::db::migrate(&db).await.expect("the migrations run");
    Some((database, db))
}

/// Another pool on the same database, as a second replica has.
async fn connect(database: &TestDatabase) -> DatabaseConnection {
    huakai::infra::db::connect(&database.url, Default::default())
        .await
        .expect("the database opens")
}

fn settings(pairs: &[(&str, &str)]) -> MailSettings {
    MailSettings::from_lookup(|name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
        .expect("the test's mail settings are valid")
}

/// Mail through `server`, retried quickly.
fn through(server: &SmtpServer, attempts: &str) -> MailSettings {
    settings(&[
        ("HUAKAI_SMTP_URL", &server.url()),
        ("HUAKAI_MAIL_FROM", FROM),
        ("HUAKAI_SMTP_TIMEOUT", "5s"),
        ("HUAKAI_MAIL_RETRY", "100ms"),
        ("HUAKAI_MAIL_ATTEMPTS", attempts),
    ])
}

/// Workers that stop with the test (before its database goes).
struct Workers(Vec<JoinHandle<()>>);

impl Workers {
    fn spawn(replicas: &[&DatabaseConnection], settings: &MailSettings) -> Workers {
        Workers(
            replicas
                .iter()
                .map(|db| MailWorker::new((*db).clone(), settings).expect("a worker").spawn())
                .collect(),
        )
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.0.iter().for_each(JoinHandle::abort);
    }
}

fn plain(key: &str, to: &str, subject: &str, text: &str) -> OutgoingMail {
    OutgoingMail {
        dedupe_key: key.to_owned(),
        to: to.to_owned(),
        language: Language::ZhCn,
        subject: subject.to_owned(),
        text: text.to_owned(),
        html: None,
    }
}

/// Enqueues `mail` in a transaction of its own that commits.
async fn enqueue_committed(db: &DatabaseConnection, mail: &OutgoingMail) -> bool {
    let txn = db.begin().await.expect("a transaction");
    let added = mail::enqueue(&txn, mail).await.expect("enqueued");
    txn.commit().await.expect("committed");
    added
}

/// The outbox row of `key`: attempts, sent, failed, last error, Message-ID's left part.
#[derive(Debug)]
struct Row {
    attempts: i32,
    sent: bool,
    failed: bool,
    last_error: Option<String>,
    message_id: String,
    created_at: Time,
    next_attempt_at: Time,
}

type Time = chrono::DateTime<chrono::Utc>;

async fn row(db: &DatabaseConnection, key: &str) -> Row {
    let found = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT attempts, sent_at, failed_at, last_error, message_id, created_at, next_attempt_at \
                 FROM mail_outbox WHERE dedupe_key = '{key}'"
            ),
        ))
        .await
        .expect("the outbox answers")
        .unwrap_or_else(|| panic!("no outbox row for {key}"));
    Row {
        attempts: found.try_get("", "attempts").expect("attempts"),
        sent: found.try_get::<Option<Time>>("", "sent_at").expect("sent_at").is_some(),
        failed: found
            .try_get::<Option<Time>>("", "failed_at")
            .expect("failed_at")
            .is_some(),
        last_error: found.try_get("", "last_error").expect("last_error"),
        message_id: found.try_get("", "message_id").expect("message_id"),
        created_at: found.try_get("", "created_at").expect("created_at"),
        next_attempt_at: found.try_get("", "next_attempt_at").expect("next_attempt_at"),
    }
}

/// Waits (20 s at most) until `done` holds of `key`'s row.
async fn row_when(db: &DatabaseConnection, key: &str, what: &str, done: impl Fn(&Row) -> bool) -> Row {
    let started = Instant::now();
    loop {
        let found = row(db, key).await;
        if done(&found) {
            return found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what} within 20 s: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until nothing is left to send, then a little longer (more than a worker's poll), so
/// that a duplicate would have arrived.
async fn settled(db: &DatabaseConnection) {
    let started = Instant::now();
    while mail::counts(db).await.expect("counts").waiting > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "mail still waiting after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
}

async fn a_committed_message_arrives_once_and_a_rolled_back_one_never(backend: Backend) {
    let (Some((_database, db)), Some(server)) = (database(backend).await, SmtpServer::start().await) else {
        return;
    };
    let placed = plain("order-placed:1", "buyer@example.com", "订单已提交", "您的订单已提交。");
    assert!(enqueue_committed(&db, &placed).await);
    let txn = db.begin().await.expect("a transaction");
    mail::enqueue(
        &txn,
        &plain("order-placed:2", "buyer@example.com", "不该发出", "回滚了"),
    )
    .await
    .expect("enqueued");
    txn.rollback().await.expect("rolled back");
    assert!(
        !enqueue_committed(&db, &placed).await,
        "the same event enqueued again adds nothing"
    );
    let _workers = Workers::spawn(&[&db], &through(&server, "5"));

    server.wait_for(1).await;
    settled(&db).await;
    let received = server.received();
    assert_eq!(received.len(), 1, "{received:#?}");
    let arrived = &received[0];
    assert_eq!(arrived.subject(), "订单已提交");
    assert_eq!(arrived.envelope_to, ["buyer@example.com"]);
    assert_eq!(arrived.envelope_from, "shop@huakai.test");
    assert_eq!(arrived.header("From"), Some(FROM));
    assert_eq!(arrived.text.as_deref().map(str::trim_end), Some("您的订单已提交。"));
    let stored = row(&db, "order-placed:1").await;
    assert!(stored.sent && stored.attempts == 1, "{stored:?}");
    assert_eq!(
        arrived.header("Message-ID"),
        Some(format!("<{}@huakai.test>", stored.message_id).as_str())
    );
}

async fn two_workers_send_each_of_fifty_messages_exactly_once(backend: Backend) {
    let (Some((database, db)), Some(server)) = (database(backend).await, SmtpServer::start().await) else {
        return;
    };
    let txn = db.begin().await.expect("a transaction");
    for n in 0..50 {
        let mail = plain(
            &format!("bulk:{n}"),
            &format!("member{n}@example.com"),
            &format!("慰问品 {n}"),
            "您好",
        );
        mail::enqueue(&txn, &mail).await.expect("enqueued");
    }
    txn.commit().await.expect("committed");
    let replica = connect(&database).await;
    let _workers = Workers::spawn(&[&db, &replica], &through(&server, "5"));

    server.wait_for(50).await;
    settled(&db).await;
    let mut subjects: Vec<String> = server.received().iter().map(|m| m.subject().to_owned()).collect();
    assert_eq!(subjects.len(), 50, "each message once: {subjects:?}");
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 50, "no message twice");
}

async fn smtp_down_is_retried_with_backoff_and_delivered_once_it_comes_up(backend: Backend) {
    let (Some((_database, db)), Some(mut server)) = (database(backend).await, SmtpServer::reserve()) else {
        return;
    };
    let _workers = Workers::spawn(&[&db], &through(&server, "20"));
    let mail = plain("payout-sent:7", "grower@example.com", "货款已打出", "请查收。");
    assert!(enqueue_committed(&db, &mail).await);

    let failing = row_when(&db, "payout-sent:7", "three failed attempts", |row| row.attempts >= 3).await;
    assert!(
        !failing.sent && !failing.failed && failing.last_error.is_some(),
        "{failing:?}"
    );
    // Each wait doubles from 100 ms: after n failures the next attempt is at least
    // 100 ms × (2ⁿ − 1) after the message was enqueued.
    let n = failing.attempts as u32;
    let least = chrono::Duration::milliseconds(100 * (2_i64.pow(n) - 1));
    assert!(
        failing.next_attempt_at - failing.created_at >= least,
        "attempt {n} waits at least {least}: {failing:?}"
    );
    assert!(server.received().is_empty());

    server.come_up().await;
    server.wait_for(1).await;
    settled(&db).await;
    assert_eq!(server.received().len(), 1);
    let delivered = row(&db, "payout-sent:7").await;
    assert!(delivered.sent && delivered.attempts > failing.attempts, "{delivered:?}");
    assert_eq!(delivered.last_error, None);
}

async fn a_refused_address_is_given_up_after_the_last_attempt(backend: Backend) {
    let (Some((_database, db)), Some(server)) = (database(backend).await, SmtpServer::start().await) else {
        return;
    };
    let _workers = Workers::spawn(&[&db], &through(&server, "3"));
    assert!(enqueue_committed(&db, &plain("refund:1", "reject-me@example.com", "退款", "已退款")).await);
    assert!(enqueue_committed(&db, &plain("refund:2", "buyer@example.com", "退款", "已退款")).await);

    let given_up = row_when(&db, "refund:1", "the refused message given up", |row| row.failed).await;
    assert_eq!(given_up.attempts, 3, "{given_up:?}");
    assert!(!given_up.sent);
    assert!(
        given_up.last_error.as_deref().is_some_and(|e| e.contains("550")),
        "{given_up:?}"
    );
    settled(&db).await;
    assert_eq!(row(&db, "refund:1").await.attempts, 3, "no attempt after giving up");
    let received = server.received();
    assert_eq!(received.len(), 1, "the other message is not held up: {received:#?}");
    assert_eq!(received[0].envelope_to, ["buyer@example.com"]);
    assert_eq!(
        mail::counts(&db).await.expect("counts"),
        mail::OutboxCounts { waiting: 0, failed: 1 }
    );
}

/// Log lines written by a test's own subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn without_smtp_a_message_is_logged_and_marked_sent(backend: Backend) {
    let Some((_database, db)) = database(backend).await else {
        return;
    };
    let code = "482913";
    let reset = plain(
        "password-reset:1",
        "buyer@example.com",
        "花开密码重置",
        &format!("验证码：{code}"),
    );
    assert!(enqueue_committed(&db, &reset).await);
    let worker = MailWorker::new(db.clone(), &settings(&[])).expect("a worker that logs");
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .finish();

    let round = worker.send_due().with_subscriber(subscriber).await.expect("a round");

    assert_eq!((round.sent, round.retrying, round.given_up), (1, 0, 0));
    let logged = String::from_utf8(log.0.lock().expect("log").clone()).expect("UTF-8 log");
    assert!(
        logged.contains("INFO") && logged.contains("buyer@example.com") && logged.contains("花开密码重置"),
        "{logged}"
    );
    assert!(!logged.contains(code), "the body stays out of info logs: {logged}");
    assert!(row(&db, "password-reset:1").await.sent);
    assert_eq!(mail::counts(&db).await.expect("counts").waiting, 0);
}

async fn chinese_subjects_and_bodies_arrive_intact(backend: Backend) {
    let (Some((_database, db)), Some(server)) = (database(backend).await, SmtpServer::start().await) else {
        return;
    };
    let subject = "您的订单 HK-20261203-0001 已发货：三旺村百合 2.5 kg 礼盒 ×2，长远村龙虾（鲜活）1 箱 🌸";
    let text = "张女士您好：\n\n您在花开订购的三旺村百合已由顺丰速运发出，运单号 SF1234567890123。\n\
                淦田镇三旺村合作社的农户感谢您的支持！这一行故意写得很长，长过七十八个字符，看看折行和编码之后是否还能原样读出。\n";
    let html = "<p>张女士您好：</p><p>运单号 SF1234567890123。</p>";
    let mail = OutgoingMail {
        html: Some(html.to_owned()),
        ..plain("order-shipped:1", "buyer@example.com", subject, text)
    };
    assert!(enqueue_committed(&db, &mail).await);
    let _workers = Workers::spawn(&[&db], &through(&server, "5"));

    let arrived = server.wait_for(1).await.remove(0);
    assert_eq!(arrived.subject(), subject);
    let raw_subject = arrived.raw_header("Subject").expect("a raw Subject");
    assert!(
        raw_subject.is_ascii() && raw_subject.to_ascii_lowercase().contains("=?utf-8?"),
        "the subject travels as encoded words: {raw_subject}"
    );
    assert!(
        arrived.raw.is_ascii(),
        "headers and bodies are encoded for 7-bit transport"
    );
    // Line ends as sent (CRLF for quoted-printable), and the break before the MIME boundary,
    // are the transport's.
    let as_typed = |body: Option<String>| body.map(|body| body.replace("\r\n", "\n").trim_end().to_owned());
    assert_eq!(as_typed(arrived.text), Some(text.trim_end().to_owned()));
    assert_eq!(as_typed(arrived.html), Some(html.to_owned()));
}

async fn user_text_in_the_html_body_is_escaped(backend: Backend) {
    let (Some((_database, db)), Some(server)) = (database(backend).await, SmtpServer::start().await) else {
        return;
    };
    let typed = "<script>alert('花开')</script> & <b>大促</b>";
    let words = mail::render(
        Language::ZhCn,
        &Message::new("code-NOT_ON_SALE"),
        &Message::new("allowance-product-not-eligible").with("product", typed),
    );
    let mail = OutgoingMail::new("claim-opened:1", "grower@example.com", Language::ZhCn, words);
    assert!(enqueue_committed(&db, &mail).await);
    let _workers = Workers::spawn(&[&db], &through(&server, "5"));

    let arrived = server.wait_for(1).await.remove(0);
    let html = arrived.html.expect("an HTML part");
    assert!(!html.contains("<script>") && !html.contains("<b>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert('花开')&lt;/script&gt; &amp; &lt;b&gt;大促&lt;/b&gt;"),
        "{html}"
    );
    assert!(html.contains("<html lang=\"zh-CN\">"), "{html}");
    let text = arrived.text.expect("a text part");
    assert!(text.contains(typed), "the text part shows what was typed: {text}");
}
