//! The demo's livestream activity: a host with links and sessions, loaded once, its quota set
//! aside.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_activity_shows_a_host_with_links_and_sessions() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let lily_before: i64 = variants(&app, LILY)
        .await
        .values()
        .map(|(_, available)| available)
        .sum();
    huakai::livestream::demo::load_activity(app.db()).await.expect("loads");
    let again = huakai::livestream::demo::load_activity(app.db()).await.expect("loads");
    assert!(again.contains("exists already"), "loaded once: {again}");
    let host = app
        .login(
            huakai::livestream::demo::HOST_EMAIL,
            huakai::livestream::demo::HOST_PASSWORD,
        )
        .await;
    let account = app
        .query_as(
            &host,
            "{ myHost { host { displayName } links { totalCount nodes { code product { slug } session { status } } }
                sessions { totalCount nodes { title status items { quota sold remaining approved } } } } }",
            json!({}),
        )
        .await["myHost"]
        .clone();
    assert_eq!(all_nodes(&account["links"]).len(), 3);
    all_nodes(&account["sessions"]);
    let statuses: Vec<&str> = account["sessions"]["nodes"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| s["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, vec!["SCHEDULED", "ENDED"]);
    assert_eq!(account["sessions"]["nodes"][0]["items"][0]["remaining"], 30);
    let lily_after: i64 = variants(&app, LILY)
        .await
        .values()
        .map(|(_, available)| available)
        .sum();
    assert_eq!(lily_after, lily_before - 30, "tomorrow's quota is set aside");
}
