//! The stand-in's HTTP side: requests routed and answered (with Stripe's idempotency), lists
//! and expansions, and webhook deliveries.

use super::*;

impl Shared {
    pub(super) fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn in_flight(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.in_flight.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn signature(&self, payload: &str, timestamp: i64) -> String {
        sign(&self.webhook_secret, payload, timestamp)
    }

    pub(super) async fn post_event(&self, url: &str, event: &Value) -> Result<u16, reqwest::Error> {
        let payload = event.to_string();
        let response = self
            .http
            .post(url)
            .header("Stripe-Signature", self.signature(&payload, now()))
            .header(header::CONTENT_TYPE, "application/json")
            .body(payload)
            .send()
            .await?;
        Ok(response.status().as_u16())
    }

    pub(super) fn record_delivery(&self, event: &Value, status: u16) {
        self.ledger().deliveries.push(Delivery {
            event_id: event["id"].as_str().unwrap_or_default().to_owned(),
            event_type: event["type"].as_str().unwrap_or_default().to_owned(),
            status,
        });
    }
}

/// Sends `event` in the background, as Stripe does after answering the request that caused it.
pub(super) fn spawn_delivery(shared: &Arc<Shared>, event: Value) {
    let url = shared.ledger().webhook_url.clone();
    let Some(url) = url else { return };
    let task_shared = Arc::clone(shared);
    let handle = tokio::spawn(async move {
        let status = match task_shared.post_event(&url, &event).await {
            Ok(status) => status,
            Err(error) => {
                eprintln!(
                    "the Stripe stand-in could not deliver {} to {url}: {error}",
                    event["id"]
                );
                0
            }
        };
        task_shared.record_delivery(&event, status);
    });
    shared.in_flight().push(handle);
}

// ---------------------------------------------------------------------------------------------
// HTTP

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if let Ok(value) = HeaderValue::from_str(&new_id("req", 14)) {
            response.headers_mut().insert("request-id", value);
        }
        response
    }
}

pub(super) async fn serve_request(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorised = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|key| key.trim() == shared.secret_key);
    if !authorised {
        return Reply::invalid(StatusCode::UNAUTHORIZED, "Invalid API Key provided", None, None).into_response();
    }
    let path = uri.path().to_owned();
    let segments: Vec<&str> = path.split('/').filter(|segment| !segment.is_empty()).collect();
    match method {
        Method::GET => {
            let query = Params::decode(uri.query().unwrap_or_default());
            let ledger = shared.ledger();
            route_get(&ledger, &segments, &query)
                .unwrap_or_else(|| Reply::unrecognised(&method, &path))
                .into_response()
        }
        Method::POST => {
            let params = Params::decode(&String::from_utf8_lossy(&body));
            let key = headers
                .get("idempotency-key")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let (reply, replayed, events, delay) = {
                let mut guard = shared.ledger();
                let ledger = &mut *guard;
                *ledger.create_calls.entry(path.clone()).or_default() += 1;
                let fault = ledger
                    .faults
                    .get_mut(&path)
                    .filter(|waiting| !waiting.is_empty())
                    .map(|waiting| waiting.remove(0));
                let earlier = key.as_ref().and_then(|key| ledger.idempotency.get(key));
                match (fault, earlier) {
                    (Some(Fault::KeyInUse), _) => {
                        let reply = Reply::error(
                            StatusCode::CONFLICT,
                            "idempotency_error",
                            "There is currently another in-progress request using this Stripe-Idempotency-Key. \
                             Please try again later.",
                            None,
                            None,
                        );
                        (reply, false, Vec::new(), None)
                    }
                    (_, Some(earlier)) => (earlier.replay(&path, &params), true, Vec::new(), None),
                    (fault, None) => {
                        let request = json!({
                            "id": new_id("req", 14),
                            "idempotency_key": key,
                        });
                        let mut events = Vec::new();
                        let reply = if fault == Some(Fault::Refuse) {
                            Reply::bad(
                                "This request was refused (a test fault).",
                                Some("charge_disputed"),
                                None,
                            )
                        } else {
                            route_post(ledger, &segments, &params, &request, &mut events)
                                .unwrap_or_else(|| Reply::unrecognised(&method, &path))
                        };
                        let reply = if fault == Some(Fault::ServerErrorAfterWork) {
                            Reply::error(
                                StatusCode::INTERNAL_SERVER_ERROR,
                                "api_error",
                                "An unknown error occurred (a test fault).",
                                None,
                                None,
                            )
                        } else {
                            reply
                        };
                        if let Some(key) = key {
                            let params = params.sorted();
                            let remembered = Remembered {
                                path: path.clone(),
                                params,
                                reply: reply.clone(),
                            };
                            ledger.idempotency.insert(key, remembered);
                        }
                        ledger.events.extend(events.iter().cloned());
                        let delay = match fault {
                            Some(Fault::SlowAnswer(delay)) => Some(delay),
                            _ => None,
                        };
                        (reply, false, events, delay)
                    }
                }
            };
            for event in events {
                spawn_delivery(&shared, event);
            }
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            let mut response = reply.into_response();
            if replayed {
                response
                    .headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            response
        }
        _ => Reply::unrecognised(&method, &path).into_response(),
    }
}

impl Remembered {
    /// The first answer again, if the key is reused for the same request, as Stripe does.
    pub(super) fn replay(&self, path: &str, params: &Params) -> Reply {
        if self.path != path {
            return Reply::error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                &format!(
                    "Keys for idempotent requests can only be used for the same endpoint they \
                     were first used for ('{}' vs '{path}'). Try using a key other than the \
                     one used for the original request.",
                    self.path
                ),
                None,
                None,
            );
        }
        if self.params != params.sorted() {
            return Reply::error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they \
                 were first used with. Try using a key other than the one used for the original \
                 request.",
                None,
                None,
            );
        }
        self.reply.clone()
    }
}

/// `None`: no such route.
pub(super) fn route_get(ledger: &Ledger, segments: &[&str], query: &Params) -> Option<Reply> {
    let outcome = match segments {
        ["v1", "payment_intents"] => list(ledger, &ledger.payment_intents, query, "/v1/payment_intents"),
        ["v1", "payment_intents", id] => retrieve(ledger, &ledger.payment_intents, "payment_intent", id, query),
        ["v1", "charges"] => list(ledger, &ledger.charges, query, "/v1/charges"),
        ["v1", "charges", id] => retrieve(ledger, &ledger.charges, "charge", id, query),
        ["v1", "refunds"] => list(ledger, &ledger.refunds, query, "/v1/refunds"),
        ["v1", "refunds", id] => retrieve(ledger, &ledger.refunds, "refund", id, query),
        ["v1", "transfers"] => list(ledger, &ledger.transfers, query, "/v1/transfers"),
        ["v1", "transfers", id] => retrieve(ledger, &ledger.transfers, "transfer", id, query),
        ["v1", "events"] => list(ledger, &ledger.events, query, "/v1/events"),
        ["v1", "events", id] => retrieve(ledger, &ledger.events, "event", id, query),
        _ => return None,
    };
    Some(Reply::from_outcome(outcome))
}

/// `None`: no such route. Events the request causes are added to `events`.
pub(super) fn route_post(
    ledger: &mut Ledger,
    segments: &[&str],
    params: &Params,
    request: &Value,
    events: &mut Vec<Value>,
) -> Option<Reply> {
    let outcome = match segments {
        ["v1", "payment_intents"] => create_payment_intent(ledger, params),
        ["v1", "payment_intents", id] => update_payment_intent(ledger, id, params),
        ["v1", "payment_intents", id, "cancel"] => cancel_payment_intent(ledger, id, params, request, events),
        ["v1", "refunds"] => create_refund(ledger, params, request, events),
        ["v1", "transfers"] => create_transfer(ledger, params),
        _ => return None,
    };
    Some(Reply::from_outcome(outcome))
}

// ---------------------------------------------------------------------------------------------
// Resources

pub(super) fn retrieve(ledger: &Ledger, items: &[Value], kind: &str, id: &str, query: &Params) -> Outcome {
    let mut object = find_by_id(items, id)
        .cloned()
        .ok_or_else(|| Reply::missing(kind, id, Some("id")))?;
    expand(ledger, &mut object, &query.array("expand"));
    Ok(object)
}

/// A page of `items` (kept oldest first), newest first as Stripe lists them.
pub(super) fn list(ledger: &Ledger, items: &[Value], query: &Params, url: &str) -> Outcome {
    let limit = query.integer("limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(Reply::bad(
            &format!("Invalid limit: must be between 1 and 100 (got {limit})"),
            None,
            Some("limit"),
        ));
    }
    let limit = usize::try_from(limit).unwrap_or(10);
    let mut selected: Vec<&Value> = items.iter().rev().collect();
    // `created` filters: which orderings of an item's `created` against the bound are kept.
    let bounds: [(&str, &[Ordering]); 5] = [
        ("created", &[Ordering::Equal]),
        ("created[gt]", &[Ordering::Greater]),
        ("created[gte]", &[Ordering::Greater, Ordering::Equal]),
        ("created[lt]", &[Ordering::Less]),
        ("created[lte]", &[Ordering::Less, Ordering::Equal]),
    ];
    for (key, kept) in bounds {
        if let Some(bound) = query.integer(key)? {
            selected.retain(|item| {
                item["created"]
                    .as_i64()
                    .is_some_and(|created| kept.contains(&created.cmp(&bound)))
            });
        }
    }
    for field in [
        "payment_intent",
        "charge",
        "customer",
        "destination",
        "transfer_group",
        "type",
    ] {
        if let Some(wanted) = query.get(field) {
            selected.retain(|item| item[field].as_str() == Some(wanted));
        }
    }
    let cursor = |param: &str| -> Result<Option<usize>, Reply> {
        match query.get(param) {
            None => Ok(None),
            Some(id) => selected
                .iter()
                .position(|item| item["id"] == id)
                .map(Some)
                .ok_or_else(|| Reply::missing("object", id, Some(param))),
        }
    };
    let (page, has_more): (Vec<&Value>, bool) = match (cursor("starting_after")?, cursor("ending_before")?) {
        (Some(after), _) => {
            let rest = &selected[after + 1..];
            (rest.iter().take(limit).copied().collect(), rest.len() > limit)
        }
        (None, Some(before)) => {
            let start = before.saturating_sub(limit);
            (selected[start..before].to_vec(), start > 0)
        }
        (None, None) => (selected.iter().take(limit).copied().collect(), selected.len() > limit),
    };
    let expansions: Vec<String> = query
        .array("expand")
        .into_iter()
        .filter_map(|path| path.strip_prefix("data.").map(str::to_owned))
        .collect();
    let data: Vec<Value> = page
        .into_iter()
        .map(|item| {
            let mut item = item.clone();
            expand(ledger, &mut item, &expansions);
            item
        })
        .collect();
    Ok(json!({ "object": "list", "data": data, "has_more": has_more, "url": url }))
}

/// Replaces the ids at the (top-level) fields `paths` by the objects they name.
pub(super) fn expand(ledger: &Ledger, object: &mut Value, paths: &[String]) {
    for path in paths {
        let Some(field) = object.get_mut(path.as_str()) else {
            continue;
        };
        let found = field.as_str().and_then(|id| ledger.find(id)).cloned();
        if let Some(found) = found {
            *field = found;
        }
    }
}
