//! The impact report as an attacker meets it: a village's name shown as text in the page, a
//! cost that refuses many aliased reports, one computation for identical ones, and the
//! `/impact*` routes inside the in-flight cap.

use huakai::catalogue::entity::village;
use sea_orm::{ActiveModelTrait, NotSet, Set};
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::on_each_backend;
use crate::support::{Backend, TestApp, error_code};

on_each_backend!(
    a_village_named_like_a_script_is_shown_as_text,
    aliased_reports_are_refused_past_three_and_computed_once
);

const SCRIPT: &str = "<script>alert(\"花开\")</script>";

async fn a_village_named_like_a_script_is_shown_as_text(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    village::ActiveModel {
        id: NotSet,
        slug: Set("script-cun".into()),
        name: Set(SCRIPT.into()),
        town: Set("<b>龙门镇</b>".into()),
        district: Set("渌口区".into()),
        registered_poor: Set(true),
        exited_poverty_year: Set(Some(2019)),
        story: Set(String::new()),
    }
    .insert(app.db())
    .await
    .expect("village");
    let page = app
        .http()
        .get(app.url("/impact?year=2026&village=script-cun"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(!html.contains("<script>"), "no script in the page: {html}");
    assert!(!html.contains("<b>"), "no markup from a town's name either");
    let escaped = "&lt;script&gt;alert(&quot;花开&quot;)&lt;/script&gt;";
    assert!(
        html.contains(&format!("<title>{escaped}：2026 年消费帮扶成效</title>")),
        "the title shows the name as text: {html}"
    );
    assert!(
        html.contains(&format!("<h1>{escaped}：2026 年消费帮扶成效</h1>")),
        "the heading shows the name as text"
    );
}

const REPORT: &str = "impact(from: \"2026-01-01\", to: \"2026-12-31\") { sales { amount } unitsSold }";

async fn aliased_reports_are_refused_past_three_and_computed_once(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let many: String = (0..50).map(|n| format!("r{n}: {REPORT} ")).collect();
    let refused = app.graphql(&format!("{{ {many} }}"), json!({})).await;
    assert_eq!(error_code(&refused), "QUERY_TOO_COMPLEX", "{refused}");
    let four: String = (0..4).map(|n| format!("r{n}: {REPORT} ")).collect();
    let refused = app.graphql(&format!("{{ {four} }}"), json!({})).await;
    assert_eq!(error_code(&refused), "QUERY_TOO_COMPLEX", "{refused}");

    // One report for a period: the statements one computation takes.
    let one_period = |year: i32| format!("impact(from: \"{year}-01-01\", to: \"{year}-12-31\") {{ unitsSold }}");
    let before = app.server.state.statements_executed();
    app.query(&format!("{{ {} }}", one_period(2024)), json!({})).await;
    let one = app.server.state.statements_executed() - before;
    // Three identical reports at once, of a period nobody asked for yet: computed once.
    let before = app.server.state.statements_executed();
    let three: String = (0..3).map(|n| format!("r{n}: {} ", one_period(2025))).collect();
    let data = app.query(&format!("{{ {three} }}"), json!({})).await;
    assert_eq!(data["r0"], data["r2"]);
    let shared = app.server.state.statements_executed() - before;
    assert!(
        shared < one + 10,
        "three identical reports took {shared} statements, one alone {one}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_impact_routes_and_the_socket_are_inside_the_in_flight_cap() {
    let app = TestApp::on(Backend::Sqlite)
        .settings(&[("HUAKAI_MAX_IN_FLIGHT", "2"), ("HUAKAI_REQUEST_TIMEOUT", "30s")])
        .start()
        .await
        .expect("SQLite needs no service");
    // Two requests in flight, waiting for bodies that do not come.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = tokio::net::TcpStream::connect(app.server.addr).await.expect("connects");
        let head = "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n ";
        stream.write_all(head.as_bytes()).await.expect("head sent");
        held.push(stream);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    for path in [
        "/impact",
        "/impact.csv",
        "/impact.json",
        "/l/NOSUCHCODE",
        "/hosts/me/commissions.csv?month=2026-09",
    ] {
        let shed = app.http().get(app.url(path)).send().await.expect("request");
        assert_eq!(shed.status(), 503, "{path} is shed with the rest");
    }
    let socket = crate::guards::sockets::Socket::open(&app, &crate::support::Actor::anonymous()).await;
    assert_eq!(socket.err(), Some(503), "a socket's upgrade is shed too");
    drop(held);
}
