//! GraphiQL in a real browser: headless Chromium opens the shop's explorer, which must load
//! from the shop alone, show its editor and run a query.

use serde_json::Value;

use crate::support::browser::Browser;
use crate::support::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_loads_from_the_shop_alone_and_runs_a_query() {
    let Some(browser) = Browser::start(1280, 900).await else {
        return;
    };
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    browser.open(&app.url("/graphql")).await;
    browser
        .wait_for(
            "return document.querySelector('.graphiql-query-editor .CodeMirror') !== null",
            "the query editor showing",
        )
        .await;
    browser.click(".graphiql-execute-button").await;
    let answer = browser
        .wait_for(
            "const result = document.querySelector('.graphiql-response .CodeMirror');
             return result && result.CodeMirror.getValue();",
            "the query's answer showing",
        )
        .await;
    let answer: Value = serde_json::from_str(answer.as_str().expect("text")).expect("the answer is JSON");
    assert!(
        answer["data"]["products"]["nodes"]
            .as_array()
            .is_some_and(|nodes| nodes.len() == 5),
        "{answer:#}"
    );
    // Everything the page loaded came from the shop.
    let loaded = browser
        .run("return performance.getEntriesByType('resource').map(e => e.name)")
        .await;
    let loaded: Vec<&str> = loaded
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(loaded.len() >= 4, "{loaded:?}");
    assert!(
        loaded.iter().all(|url| url.starts_with(&app.base_url)),
        "loaded from elsewhere: {loaded:?}"
    );
}
