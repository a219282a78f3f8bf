//! Growers change their own producer's prices and stock; operators grant roles, the first one
//! made from the command line.

use super::*;

on_each_backend!(a_grower_changes_prices_and_stock_of_its_own_producer,);

async fn a_grower_changes_prices_and_stock_of_its_own_producer(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let grower = app
        .user("grower@example.com", Role::Grower, Some("sanwang-baihe-hezuoshe"))
        .await;
    let storefront = "{ product(slug: \"sanwang-xian-baihe\") { priceRange { min { amount } max { amount } }
        variants { id name price { amount } available } } }";
    let before = app.query(storefront, json!({})).await;
    let variant = before["product"]["variants"][0].clone();
    let available = variant["available"].as_i64().expect("available");

    let update = "mutation($id: ID!, $input: VariantUpdateInput!) {
        updateVariant(variantId: $id, input: $input) { variant { name price { amount } } userErrors { field code } } }";
    let data = app
        .query_as(
            &grower,
            update,
            json!({ "id": variant["id"], "input": { "price": "9.90", "name": "尝鲜装 250 g" } }),
        )
        .await;
    assert_eq!(data["updateVariant"]["userErrors"], json!([]));
    assert_eq!(data["updateVariant"]["variant"]["price"]["amount"], "9.90");

    // The very next storefront query shows the new price, and the price range follows it.
    let after = app.query(storefront, json!({})).await;
    assert_eq!(after["product"]["variants"][0]["price"]["amount"], "9.90");
    assert_eq!(after["product"]["variants"][0]["name"], "尝鲜装 250 g");
    assert_eq!(after["product"]["priceRange"]["min"]["amount"], "9.90");
    assert_eq!(
        after["product"]["priceRange"]["max"],
        before["product"]["priceRange"]["max"]
    );

    for (price, code) in [
        ("abc", "INVALID_INPUT"),
        ("0", "INVALID_INPUT"),
        ("1.005", "INVALID_INPUT"),
        ("-3", "INVALID_INPUT"),
    ] {
        let data = app
            .query_as(
                &grower,
                update,
                json!({ "id": variant["id"], "input": { "price": price } }),
            )
            .await;
        assert_eq!(data["updateVariant"]["userErrors"][0]["code"], code, "{price}");
        assert_eq!(
            data["updateVariant"]["userErrors"][0]["field"],
            json!(["input", "price"])
        );
    }
    let unknown = app
        .query_as(
            &grower,
            update,
            json!({ "id": "VmFyaWFudDo5OTk5OTk", "input": { "name": "x" } }),
        )
        .await;
    assert_eq!(unknown["updateVariant"]["userErrors"][0]["code"], "NOT_FOUND");

    let adjust = "mutation($id: ID!, $delta: Int!, $reason: String!) {
        adjustStock(variantId: $id, delta: $delta, reason: $reason) { variant { available } userErrors { code } } }";
    let data = app
        .query_as(
            &grower,
            adjust,
            json!({ "id": variant["id"], "delta": 25, "reason": "新采收入库" }),
        )
        .await;
    assert_eq!(data["adjustStock"]["userErrors"], json!([]));
    assert_eq!(data["adjustStock"]["variant"]["available"], json!(available + 25));
    let storefront_stock = app.query(storefront, json!({})).await;
    assert_eq!(
        storefront_stock["product"]["variants"][0]["available"],
        json!(available + 25)
    );

    // On-hand stock never goes below zero.
    let data = app
        .query_as(
            &grower,
            adjust,
            json!({ "id": variant["id"], "delta": -(available + 26), "reason": "损耗" }),
        )
        .await;
    assert_eq!(data["adjustStock"]["userErrors"][0]["code"], "OUT_OF_STOCK");
    let data = app
        .query_as(
            &grower,
            adjust,
            json!({ "id": variant["id"], "delta": 0, "reason": "nothing" }),
        )
        .await;
    assert_eq!(data["adjustStock"]["userErrors"][0]["code"], "INVALID_QUANTITY");
    let data = app
        .query_as(
            &grower,
            adjust,
            json!({ "id": variant["id"], "delta": -(available + 25), "reason": "全部售罄" }),
        )
        .await;
    assert_eq!(data["adjustStock"]["userErrors"], json!([]));
    assert_eq!(data["adjustStock"]["variant"]["available"], json!(0));

    // Every change is in the audit trail: who, when, how much, why.
    let history = app
        .query_as(
            &grower,
            "query($id: ID!) { stockHistory(variantId: $id) { onHandDelta reason actorId createdAt } }",
            json!({ "id": variant["id"] }),
        )
        .await;
    let history = history["stockHistory"].as_array().expect("history").clone();
    // Two adjustments after the opening stock; refused adjustments leave no row.
    assert_eq!(history.len(), 3, "{history:?}");
    assert_eq!(history[2]["reason"], "opening stock");
    assert_eq!(history[0]["onHandDelta"], json!(-(available + 25)));
    assert_eq!(history[1]["onHandDelta"], json!(25));
    assert_eq!(history[1]["reason"], "新采收入库");
    assert_eq!(history[1]["actorId"], json!(grower.user_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_grant_roles_and_the_change_applies_at_once() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let buyer = app.user("future.grower@example.com", Role::Buyer, None).await;
    let adjust =
        "mutation($id: ID!) { adjustStock(variantId: $id, delta: 1, reason: \"入库\") { userErrors { code } } }";
    let variant = app
        .query(
            "{ product(slug: \"changyuan-xiaolongxia\") { variants { id } } }",
            json!({}),
        )
        .await;
    let variant_id = variant["product"]["variants"][0]["id"].clone();
    let (_, refused) = app.graphql_as(&buyer, adjust, json!({ "id": variant_id })).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");

    let grant = "mutation($id: ID!, $role: Role!, $producer: String) {
        setUserRole(userId: $id, role: $role, producerSlug: $producer) { user { role producer { slug } } userErrors { field code } } }";
    let missing = app
        .query_as(&operator, grant, json!({ "id": buyer.user_id, "role": "GROWER" }))
        .await;
    assert_eq!(missing["setUserRole"]["userErrors"][0]["code"], "INVALID_INPUT");
    let unknown = app
        .query_as(
            &operator,
            grant,
            json!({ "id": buyer.user_id, "role": "GROWER", "producer": "no-such-producer" }),
        )
        .await;
    assert_eq!(unknown["setUserRole"]["userErrors"][0]["code"], "NOT_FOUND");
    let granted = app
        .query_as(
            &operator,
            grant,
            json!({ "id": buyer.user_id, "role": "GROWER", "producer": "changyuan-longxia-hezuoshe" }),
        )
        .await;
    assert_eq!(granted["setUserRole"]["user"]["role"], "GROWER");
    assert_eq!(
        granted["setUserRole"]["user"]["producer"]["slug"],
        "changyuan-longxia-hezuoshe"
    );

    let allowed = app.query_as(&buyer, adjust, json!({ "id": variant_id })).await;
    assert_eq!(
        allowed["adjustStock"]["userErrors"],
        json!([]),
        "the same token now carries the new role"
    );

    let users = app
        .query_as(
            &operator,
            "{ users(first: 10, role: GROWER) { totalCount nodes { email } } }",
            json!({}),
        )
        .await;
    assert_eq!(users["users"]["totalCount"], json!(1));
    assert_eq!(users["users"]["nodes"][0]["email"], "future.grower@example.com");
}

#[test]
fn the_first_operator_is_made_from_the_command_line() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());
    let create = |args: &[&str], password: &str| {
        Command::new(env!("CARGO_BIN_EXE_huakai"))
            .args(["user", "create"])
            .args(args)
            .env("DATABASE_URL", &url)
            .env("HUAKAI_USER_PASSWORD", password)
            .output()
            .expect("huakai runs")
    };
    let made = create(
        &["--email", "Ops@Example.com", "--role", "admin"],
        "a long operator password",
    );
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    assert!(String::from_utf8_lossy(&made.stdout).contains("ops@example.com"));
    let again = create(
        &["--email", "ops@example.com", "--role", "admin"],
        "a long operator password",
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("EMAIL_TAKEN"));
    let grower = create(
        &["--email", "g@example.com", "--role", "grower"],
        "a long grower password",
    );
    assert!(!grower.status.success(), "a grower needs --producer");
    let bad_role = create(
        &["--email", "r@example.com", "--role", "root"],
        "a long grower password",
    );
    assert!(!bad_role.status.success());

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let db = sea_orm::Database::connect(&url).await.expect("database");
        let operator = user::Entity::find().all(&db).await.expect("users");
        assert_eq!(operator.len(), 1);
        assert_eq!(operator[0].role, Role::Admin);
        assert!(operator[0].password_hash.starts_with("$argon2id$"));
    });
}
