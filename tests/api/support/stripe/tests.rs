use super::*;

#[test]
fn hmac_sha256_matches_known_vectors() {
    let mac = hmac_sha256(b"key", b"The quick brown fox jumps over the lazy dog");
    assert_eq!(
        hex::encode(mac),
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    );
    // RFC 4231, test cases 1 and 6 (a key longer than the block is hashed first).
    let mac = hmac_sha256(&[0x0b; 20], b"Hi There");
    assert_eq!(
        hex::encode(mac),
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    );
    let mac = hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First");
    assert_eq!(
        hex::encode(mac),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
}

#[test]
fn signatures_have_stripes_shape() {
    let signature = sign("key", "payload", 1_700_000_000);
    let expected = hex::encode(hmac_sha256(b"key", b"1700000000.payload"));
    assert_eq!(signature, format!("t=1700000000,v1={expected}"));
}

#[test]
fn decodes_stripe_form_bodies() {
    let params = Params::decode(
        "amount=1200&currency=CNY&metadata[order_id]=12&metadata%5Bbuyer%5D=li+wei\
         &payment_method_types[1]=alipay&payment_method_types[0]=card\
         &description=Two+jars%20of%20honey%2C%20%E8%9C%82%E8%9C%9C&expand[]=latest_charge",
    );
    assert_eq!(params.get("amount"), Some("1200"));
    assert_eq!(params.integer("amount").ok().flatten(), Some(1200));
    assert_eq!(params.currency("currency").ok().flatten().as_deref(), Some("cny"));
    assert_eq!(params.get("description"), Some("Two jars of honey, 蜂蜜"));
    assert_eq!(
        Value::Object(params.metadata()),
        json!({ "order_id": "12", "buyer": "li wei" })
    );
    assert_eq!(params.array("payment_method_types"), ["card", "alipay"]);
    assert_eq!(params.array("expand"), ["latest_charge"]);
    assert!(params.array("metadata").is_empty());
    assert_eq!(params.get("missing"), None);
}

#[test]
fn decoding_survives_odd_input() {
    assert_eq!(Params::decode(""), Params::default());
    assert_eq!(percent_decode("100%"), "100%");
    assert_eq!(percent_decode("%zz%4"), "%zz%4");
    assert_eq!(percent_decode("a%2Bb+c"), "a+b c");
    assert_eq!(percent_decode("%e8%9c"), "\u{fffd}");
    let params = Params::decode("flag&&a=1=2&amount=12x&metadata[k]=1&metadata[k]=2");
    assert_eq!(params.get("flag"), Some(""));
    assert_eq!(params.get("a"), Some("1=2"));
    assert!(params.integer("amount").is_err());
    assert_eq!(params.hash("metadata"), [("k".to_owned(), "2".to_owned())]);
}

#[test]
fn events_are_made_from_the_fixture() {
    let event = build_event("payment_intent.succeeded", json!({ "id": "pi_1" }), no_request());
    assert!(
        event["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("evt_") && id.len() == 28)
    );
    assert_eq!(event["object"], "event");
    assert_eq!(event["type"], "payment_intent.succeeded");
    assert_eq!(event["api_version"], API_VERSION);
    assert_eq!(event["livemode"], false);
    assert_eq!(event["pending_webhooks"], 1);
    assert_eq!(event["data"], json!({ "object": { "id": "pi_1" } }));
    assert_eq!(event["request"], no_request());
}

async fn post(stand_in: &StripeStandIn, path: &str, key: Option<&str>, body: &str) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", stand_in.base_url))
        .bearer_auth(&stand_in.secret_key)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.expect("the stand-in answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

async fn get(stand_in: &StripeStandIn, path_and_query: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path_and_query}", stand_in.base_url))
        .bearer_auth(&stand_in.secret_key)
        .send()
        .await
        .expect("the stand-in answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

#[tokio::test]
async fn refuses_a_wrong_key() {
    let stand_in = StripeStandIn::start().await;
    let response = reqwest::Client::new()
        .get(format!("{}/v1/payment_intents", stand_in.base_url))
        .bearer_auth("sk_test_wrong")
        .send()
        .await
        .expect("the stand-in answers");
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().await.expect("a JSON answer");
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn creates_payment_intents_once_per_idempotency_key() {
    let stand_in = StripeStandIn::start().await;
    let body = "amount=1999&currency=cny&metadata[order_id]=12&payment_method_types[0]=card";
    let (status, first) = post(&stand_in, "/v1/payment_intents", Some("order-12"), body).await;
    assert_eq!(status, 200, "{first}");
    let id = first["id"].as_str().expect("an id");
    assert!(id.starts_with("pi_") && id.len() == 27);
    assert_eq!(first["amount"], 1999);
    assert_eq!(first["currency"], "cny");
    assert_eq!(first["metadata"], json!({ "order_id": "12" }));
    assert_eq!(first["payment_method_types"], json!(["card"]));
    assert_eq!(first["status"], "requires_payment_method");
    assert!(
        first["client_secret"]
            .as_str()
            .is_some_and(|secret| secret.starts_with(&format!("{id}_secret_")))
    );
    assert!(first["created"].as_i64().is_some_and(|created| created > 1_700_000_000));
    // Fields the request does not set stay as in the fixture.
    assert_eq!(first["capture_method"], "automatic");

    let (status, again) = post(&stand_in, "/v1/payment_intents", Some("order-12"), body).await;
    assert_eq!((status, &again), (200, &first));
    let (status, reused) = post(
        &stand_in,
        "/v1/payment_intents",
        Some("order-12"),
        "amount=1&currency=cny",
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(reused["error"]["type"], "idempotency_error");
    assert_eq!(stand_in.create_calls("/v1/payment_intents"), 3);
    assert_eq!(stand_in.payment_intents().len(), 1);

    let (status, missing) = post(&stand_in, "/v1/payment_intents", None, "currency=cny").await;
    assert_eq!(status, 400);
    assert_eq!(missing["error"]["code"], "parameter_missing");
    let (status, unknown) = get(&stand_in, "/v1/payment_intents/pi_nope").await;
    assert_eq!(status, 404);
    assert_eq!(unknown["error"]["code"], "resource_missing");
    let (status, fetched) = get(&stand_in, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!((status, &fetched), (200, &first));
}

#[tokio::test]
async fn lists_payment_intents_newest_first() {
    let stand_in = StripeStandIn::start().await;
    let mut ids = Vec::new();
    for amount in 1..=3 {
        let (_, intent) = post(
            &stand_in,
            "/v1/payment_intents",
            None,
            &format!("amount={amount}&currency=usd"),
        )
        .await;
        ids.push(intent["id"].as_str().expect("an id").to_owned());
    }
    let (status, page) = get(&stand_in, "/v1/payment_intents?limit=2&created%5Bgte%5D=0").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["object"], "list");
    assert_eq!(page["url"], "/v1/payment_intents");
    assert_eq!(page["has_more"], true);
    assert_eq!(page["data"][0]["id"], ids[2].as_str());
    assert_eq!(page["data"][1]["id"], ids[1].as_str());
    let (_, rest) = get(
        &stand_in,
        &format!("/v1/payment_intents?limit=2&starting_after={}", ids[1]),
    )
    .await;
    assert_eq!(rest["has_more"], false);
    assert_eq!(rest["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest["data"][0]["id"], ids[0].as_str());
    let (_, none) = get(&stand_in, "/v1/payment_intents?created[gte]=99999999999").await;
    assert_eq!(none["data"], json!([]));
}

#[tokio::test]
async fn refunds_what_was_paid_and_no_more() {
    let stand_in = StripeStandIn::start().await;
    let (_, intent) = post(&stand_in, "/v1/payment_intents", None, "amount=1000&currency=cny").await;
    let id = intent["id"].as_str().expect("an id");
    let (status, early) = post(&stand_in, "/v1/refunds", None, &format!("payment_intent={id}")).await;
    assert_eq!(status, 400, "{early}");

    let event = stand_in.succeed(id).await;
    assert_eq!(event["type"], "payment_intent.succeeded");
    assert_eq!(event["data"]["object"]["status"], "succeeded");
    let paid = stand_in.payment_intent(id).expect("the intent");
    assert_eq!(paid["amount_received"], 1000);
    let charge_id = paid["latest_charge"].as_str().expect("a charge");
    let charge = stand_in.charge(charge_id).expect("the charge");
    assert_eq!(
        (charge["status"].as_str(), charge["paid"].as_bool()),
        (Some("succeeded"), Some(true))
    );
    assert_eq!(charge["payment_intent"], id);

    let (status, refund) = post(
        &stand_in,
        "/v1/refunds",
        Some("refund-1"),
        &format!("payment_intent={id}&amount=300"),
    )
    .await;
    assert_eq!(status, 200, "{refund}");
    assert!(refund["id"].as_str().is_some_and(|id| id.starts_with("re_")));
    assert_eq!(
        (refund["amount"].as_i64(), refund["charge"].as_str()),
        (Some(300), Some(charge_id))
    );
    assert_eq!(refund["currency"], "cny");
    let (status, too_much) = post(
        &stand_in,
        "/v1/refunds",
        None,
        &format!("payment_intent={id}&amount=701"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(too_much["error"]["code"], "amount_too_large");
    let (status, rest) = post(&stand_in, "/v1/refunds", None, &format!("payment_intent={id}")).await;
    assert_eq!(status, 200);
    assert_eq!(rest["amount"], 700);
    let charge = stand_in.charge(charge_id).expect("the charge");
    assert_eq!(
        (charge["amount_refunded"].as_i64(), charge["refunded"].as_bool()),
        (Some(1000), Some(true))
    );
    assert_eq!(stand_in.refunds().len(), 2);
    let (status, _) = post(&stand_in, "/v1/refunds", None, &format!("payment_intent={id}")).await;
    assert_eq!(status, 400);
    let refunded: Vec<Value> = stand_in
        .events()
        .into_iter()
        .filter(|event| event["type"] == "charge.refunded")
        .collect();
    assert_eq!(refunded.len(), 2);
    assert_eq!(refunded[0]["request"]["idempotency_key"], "refund-1");
    assert_eq!(refunded[1]["data"]["object"]["amount_refunded"], 1000);
}

#[tokio::test]
async fn fails_the_next_transfer_only() {
    let stand_in = StripeStandIn::start().await;
    let body = "amount=500&currency=cny&destination=acct_123&transfer_group=order-7&metadata[payout]=3";
    stand_in.fail_next_transfer();
    let (status, failed) = post(&stand_in, "/v1/transfers", None, body).await;
    assert_eq!(status, 400);
    assert_eq!(failed["error"]["type"], "invalid_request_error");
    let (status, transfer) = post(&stand_in, "/v1/transfers", None, body).await;
    assert_eq!(status, 200, "{transfer}");
    assert_eq!(transfer["destination"], "acct_123");
    assert_eq!(transfer["transfer_group"], "order-7");
    assert_eq!(transfer["metadata"], json!({ "payout": "3" }));
    assert_eq!(transfer["reversed"], false);
    assert_eq!(stand_in.transfers(), [transfer]);
}

#[tokio::test]
async fn faults_happen_once_each_as_stripe_would_answer() {
    let stand_in = StripeStandIn::start().await;
    let body = "amount=500&currency=cny&destination=acct_123&transfer_group=payout-9";
    // 409: nothing done, nothing remembered; the same key then does the work.
    stand_in.fault_next("/v1/transfers", Fault::KeyInUse);
    let (status, conflict) = post(&stand_in, "/v1/transfers", Some("k1"), body).await;
    assert_eq!(status, 409);
    assert_eq!(conflict["error"]["type"], "idempotency_error");
    assert!(stand_in.transfers().is_empty());
    let (status, made) = post(&stand_in, "/v1/transfers", Some("k1"), body).await;
    assert_eq!(status, 200, "{made}");
    // 500 after the work: the transfer exists, and the key replays the 500.
    stand_in.fault_next("/v1/transfers", Fault::ServerErrorAfterWork);
    let (status, _) = post(&stand_in, "/v1/transfers", Some("k2"), body).await;
    assert_eq!(status, 500);
    assert_eq!(stand_in.transfers().len(), 2);
    let (status, _) = post(&stand_in, "/v1/transfers", Some("k2"), body).await;
    assert_eq!(status, 500, "Stripe replays a 500 for the same key");
    // A slow answer: the work is done before the answer comes.
    stand_in.fault_next("/v1/transfers", Fault::SlowAnswer(Duration::from_millis(300)));
    let started = std::time::Instant::now();
    let (status, _) = post(&stand_in, "/v1/transfers", Some("k3"), body).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(stand_in.transfers().len(), 3);
    // Forgotten keys make new objects, as Stripe does after 24 hours.
    stand_in.forget_idempotency_keys();
    let (status, _) = post(&stand_in, "/v1/transfers", Some("k3"), body).await;
    assert_eq!(status, 200);
    assert_eq!(stand_in.transfers().len(), 4);
    stand_in.fault_next("/v1/transfers", Fault::Refuse);
    let (status, refused) = post(&stand_in, "/v1/transfers", Some("k4"), body).await;
    assert_eq!(status, 400);
    assert_eq!(refused["error"]["type"], "invalid_request_error");
    assert_eq!(stand_in.transfers().len(), 4);
}

#[tokio::test]
async fn delivers_signed_events() {
    use axum::routing::post as route_post;

    let received: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let sink = Arc::clone(&received);
    let app = Router::new().route(
        "/webhooks/stripe",
        route_post(move |headers: HeaderMap, body: String| async move {
            let signature = headers
                .get("stripe-signature")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((signature, body));
            StatusCode::OK
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address");
    let receiver = tokio::spawn(async move { axum::serve(listener, app).await });

    let stand_in = StripeStandIn::start().await;
    stand_in.send_webhooks_to(format!("http://{address}/webhooks/stripe"));
    let (_, intent) = post(&stand_in, "/v1/payment_intents", None, "amount=800&currency=cny").await;
    let id = intent["id"].as_str().expect("an id");
    let failed = stand_in.decline(id).await;
    assert_eq!(failed["data"]["object"]["last_payment_error"]["code"], "card_declined");
    assert_eq!(failed["data"]["object"]["status"], "requires_payment_method");
    stand_in.succeed(id).await;
    post(&stand_in, "/v1/refunds", None, &format!("payment_intent={id}")).await;
    stand_in.settle().await;
    let custom = stand_in.event("payment_intent.succeeded", intent.clone());
    assert_eq!(stand_in.deliver(&custom).await, 200);

    let received = received.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let types: Vec<String> = received
        .iter()
        .map(|(_, body)| {
            let event: Value = serde_json::from_str(body).expect("a JSON event");
            event["type"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(
        types,
        [
            "payment_intent.payment_failed",
            "payment_intent.succeeded",
            "charge.refunded",
            "payment_intent.succeeded"
        ]
    );
    for (signature, body) in &received {
        let timestamp: i64 = signature
            .strip_prefix("t=")
            .and_then(|rest| rest.split(',').next())
            .and_then(|t| t.parse().ok())
            .expect("a timestamp");
        assert!((now() - timestamp).abs() < 60);
        assert_eq!(signature, &stand_in.signature(body, timestamp));
    }
    assert!(stand_in.deliveries().iter().all(|delivery| delivery.status == 200));
    assert_eq!(stand_in.deliveries().len(), 4);
    receiver.abort();
}
