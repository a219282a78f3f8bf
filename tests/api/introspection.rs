//! Introspection answered in full, as client tooling asks for it: graphql-js's standard query
//! (GraphiQL, graphql-codegen, Apollo's tools, Postman and Insomnia send it) and its deepest
//! form, graphql-codegen against the running shop, and GraphiQL's documentation explorer in a
//! real browser; while the depth and cost limits still refuse a deep data query, and an
//! introspection query that walks the schema's graph again from every field.
//!
//! The npm tools (graphql-codegen with its schema-ast plugin, and graphql-js) are installed by
//! `.ci/run` into a folder outside the clone, `HUAKAI_TEST_NODE_TOOLS` (default
//! `/var/tmp/huakai-tools/npm`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::support::browser::Browser;
use crate::support::{Backend, TestApp, error_code, service_missing};

/// The folder whose `node_modules` holds graphql-codegen and graphql-js; `None` when they are
/// not installed (and not required).
fn node_tools() -> Option<PathBuf> {
    let folder = PathBuf::from(
        std::env::var("HUAKAI_TEST_NODE_TOOLS").unwrap_or_else(|_| "/var/tmp/huakai-tools/npm".to_owned()),
    );
    let installed = folder.join("node_modules/.bin/graphql-codegen").exists()
        && folder.join("node_modules/graphql/package.json").exists();
    if !installed {
        service_missing("graphql-codegen and graphql from npm in HUAKAI_TEST_NODE_TOOLS (.ci/run installs them)");
        return None;
    }
    Some(folder)
}

/// Runs a Node script with the tools' packages importable; its standard output.
fn node(tools: &Path, script: &str, args: &[&str]) -> String {
    let output = Command::new("node")
        .arg("-e")
        .arg(script)
        .args(args)
        .env("NODE_PATH", tools.join("node_modules"))
        .output()
        .expect("node runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8")
}

/// graphql-js's `getIntrospectionQuery` with `options` (a JSON object).
fn introspection_query(tools: &Path, options: &str) -> String {
    node(
        tools,
        "process.stdout.write(require('graphql').getIntrospectionQuery(JSON.parse(process.argv[1])))",
        &[options],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standard_introspection_queries_are_answered_in_full() {
    let Some(tools) = node_tools() else {
        return;
    };
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let deepest = r#"{"descriptions": true, "specifiedByUrl": true, "directiveIsRepeatable": true,
        "schemaDescription": true, "inputValueDeprecation": true, "oneOf": true}"#;
    for options in ["{}", deepest] {
        let query = introspection_query(&tools, options);
        let answer = app.graphql(&query, json!({})).await;
        assert!(answer.get("errors").is_none(), "{options}: {answer:#}");
        let types = answer["data"]["__schema"]["types"].as_array().expect("the types");
        let query_type = types.iter().find(|ty| ty["name"] == "Query").expect("Query");
        let products = query_type["fields"]
            .as_array()
            .expect("Query's fields")
            .iter()
            .find(|field| field["name"] == "products")
            .expect("Query.products");
        assert_eq!(products["type"]["ofType"]["name"], "ProductConnection", "{products:#}");
    }
    // graphql-js builds a client schema from the answer, as every tool does.
    let query = introspection_query(&tools, deepest);
    let answer = app.graphql(&query, json!({})).await;
    let fields = piped_node(&tools, &answer.to_string());
    assert!(fields > 10, "the client schema has Query's fields: {fields}");
}

/// `buildClientSchema` over an introspection answer on standard input: Query's field count.
fn piped_node(tools: &Path, answer: &str) -> usize {
    use std::io::Write;
    let mut child = Command::new("node")
        .arg("-e")
        .arg(
            "const g = require('graphql');
             const schema = g.buildClientSchema(JSON.parse(require('fs').readFileSync(0, 'utf8')).data);
             process.stdout.write(String(Object.keys(schema.getQueryType().getFields()).length));",
        )
        .env("NODE_PATH", tools.join("node_modules"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(answer.as_bytes())
        .expect("the answer is sent");
    let output = child.wait_with_output().expect("node ends");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).parse().expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limits_still_refuse_deep_data_and_schema_walking_introspection() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    // Introspection mixed into a deep data query does not lift the data query's limit.
    let mut deep = String::from("id");
    for _ in 0..6 {
        deep = format!("products(first: 1) {{ nodes {{ village {{ {deep} }} }} }}");
    }
    let answer = app
        .graphql(
            &format!("{{ __schema {{ queryType {{ name }} }} village(slug: \"huachong-cun\") {{ {deep} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(error_code(&answer), "QUERY_TOO_DEEP", "{answer:#}");
    // From every field to its type's fields again: the schema's graph walked over and over.
    let walk = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
    let answer = app.graphql(walk, json!({})).await;
    assert_eq!(error_code(&answer), "QUERY_TOO_COMPLEX", "{answer:#}");
    // Many copies of the whole schema in one request (9 fields each, 1,000 at most in all).
    let copy = "types { name fields { name args { name } type { name } } }";
    let copies: String = (0..120).map(|n| format!("s{n}: __schema {{ {copy} }} ")).collect();
    let answer = app.graphql(&format!("{{ {copies} }}"), json!({})).await;
    assert_eq!(error_code(&answer), "QUERY_TOO_COMPLEX", "{answer:#}");
    // One copy is fine.
    let answer = app.graphql(&format!("{{ __schema {{ {copy} }} }}"), json!({})).await;
    assert!(answer.get("errors").is_none(), "{answer:#}");
}

/// graphql-codegen (its schema-ast plugin) reads the running shop's schema by introspection:
/// it is the schema `huakai export-schema` prints into `schema/schema.graphql`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_codegen_reads_the_schema_of_the_schema_file() {
    let Some(tools) = node_tools() else {
        return;
    };
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let dir = tempfile::tempdir().expect("a folder");
    let fetched_file = dir.path().join("fetched.graphql");
    let config = dir.path().join("codegen.json");
    std::fs::write(
        &config,
        json!({
            "schema": app.url("/graphql"),
            "generates": { fetched_file.to_str().expect("a path"): { "plugins": ["schema-ast"] } },
        })
        .to_string(),
    )
    .expect("the config is written");
    // Run from the tools' folder: graphql-codegen finds its plugins from where it runs.
    let codegen = tokio::task::spawn_blocking({
        let tools = tools.clone();
        move || {
            Command::new(tools.join("node_modules/.bin/graphql-codegen"))
                .arg("--config")
                .arg(&config)
                .current_dir(&tools)
                .output()
                .expect("graphql-codegen runs")
        }
    })
    .await
    .expect("the task ends");
    assert!(
        codegen.status.success(),
        "{}{}",
        String::from_utf8_lossy(&codegen.stdout),
        String::from_utf8_lossy(&codegen.stderr)
    );
    // Both printed by graphql-js in one order, so that only a difference of schema shows.
    let normalise = "const g = require('graphql'); const fs = require('fs');
        const print = (file) => g.printSchema(g.lexicographicSortSchema(g.buildSchema(fs.readFileSync(file, 'utf8'))));
        process.stdout.write(print(process.argv[1]));";
    let fetched = node(
        &tools,
        normalise,
        &[dir.path().join("fetched.graphql").to_str().expect("a path")],
    );
    let checked_in = node(
        &tools,
        normalise,
        &[concat!(env!("CARGO_MANIFEST_DIR"), "/schema/schema.graphql")],
    );
    assert!(fetched.contains("type Query"), "{fetched}");
    if fetched != checked_in {
        let differing: Vec<(&str, &str)> = fetched
            .lines()
            .zip(checked_in.lines())
            .filter(|(a, b)| a != b)
            .take(5)
            .collect();
        panic!("the schema read by introspection differs from schema/schema.graphql: {differing:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_documents_query_products() {
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
            "return document.querySelector('.graphiql-sidebar button[aria-label=\"Show Documentation Explorer\"]')",
            "GraphiQL's documentation button",
        )
        .await;
    browser
        .click(".graphiql-sidebar button[aria-label=\"Show Documentation Explorer\"]")
        .await;
    let clicked = |what: &'static str, text: &'static str| {
        format!(
            "const link = [...document.querySelectorAll('.graphiql-doc-explorer {what}')]
                 .find(a => a.textContent === '{text}');
             if (link) {{ link.click(); }}
             return Boolean(link);"
        )
    };
    browser
        .wait_for(
            &clicked("a.graphiql-doc-explorer-type-name", "Query"),
            "the Query type listed",
        )
        .await;
    browser
        .wait_for(
            &clicked("a.graphiql-doc-explorer-field-name", "products"),
            "Query.products listed",
        )
        .await;
    let page = browser
        .wait_for(
            "const title = document.querySelector('.graphiql-doc-explorer-title');
             return title && title.textContent === 'products'
                 && document.querySelector('.graphiql-doc-explorer-content').innerText;",
            "the documentation of Query.products",
        )
        .await;
    let page = page.as_str().expect("text");
    for shown in ["ProductConnection!", "filter", "ProductFilter", "sort", "ProductSort"] {
        assert!(page.contains(shown), "{shown} is not shown: {page}");
    }
    let errors = browser
        .run("return [...document.querySelectorAll('.graphiql-doc-explorer-error')].map(e => e.textContent)")
        .await;
    assert_eq!(errors, json!([]), "the explorer shows an error");
}
