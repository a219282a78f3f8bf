//! Stripe's objects as the stand-in makes and changes them: PaymentIntents, charges, refunds,
//! transfers and events, from Stripe's fixtures.

use super::*;

impl Ledger {
    pub(super) fn find(&self, id: &str) -> Option<&Value> {
        [
            &self.payment_intents,
            &self.charges,
            &self.refunds,
            &self.transfers,
            &self.events,
        ]
        .into_iter()
        .find_map(|items| find_by_id(items, id))
    }
}

pub(super) fn find_by_id<'a>(items: &'a [Value], id: &str) -> Option<&'a Value> {
    items.iter().find(|item| item["id"] == id)
}

pub(super) fn create_payment_intent(ledger: &mut Ledger, params: &Params) -> Outcome {
    let amount = params.required_integer("amount")?;
    if amount < 1 {
        return Err(Reply::bad(
            "This value must be greater than or equal to 1.",
            Some("amount_too_small"),
            Some("amount"),
        ));
    }
    let currency = params.currency("currency")?.ok_or_else(|| missing_param("currency"))?;
    let id = new_id("pi", 24);
    let automatic = params.get("automatic_payment_methods[enabled]") == Some("true");
    // Newer API versions (the client's, 2026-09-30) name the types asked for
    // `allowed_payment_method_types`; older ones `payment_method_types`. Either way the answer
    // lists them in `payment_method_types`.
    let allowed = params.array("allowed_payment_method_types");
    let mut types = match allowed.is_empty() {
        true => params.array("payment_method_types"),
        false => allowed.clone(),
    };
    if types.is_empty() {
        types.push("card".to_owned());
    }
    let mut intent = fixture("payment_intent");
    overlay(
        &mut intent,
        [
            ("id", json!(id)),
            ("object", json!("payment_intent")),
            ("amount", json!(amount)),
            ("amount_capturable", json!(0)),
            ("amount_received", json!(0)),
            (
                "automatic_payment_methods",
                match automatic {
                    true => json!({ "allow_redirects": "always", "enabled": true }),
                    false => Value::Null,
                },
            ),
            ("canceled_at", Value::Null),
            ("cancellation_reason", Value::Null),
            ("client_secret", json!(format!("{id}_secret_{}", random_alnum(25)))),
            ("created", json!(now())),
            ("currency", json!(currency)),
            ("customer", params.optional_string("customer")),
            ("description", params.optional_string("description")),
            ("last_payment_error", Value::Null),
            ("latest_charge", Value::Null),
            ("livemode", json!(false)),
            ("metadata", Value::Object(params.metadata())),
            ("payment_method_types", json!(types)),
            (
                "allowed_payment_method_types",
                match allowed.is_empty() {
                    true => Value::Null,
                    false => json!(allowed),
                },
            ),
            ("status", json!("requires_payment_method")),
        ],
    );
    overlay_optional_fields(&mut intent, params)?;
    ledger.payment_intents.push(intent.clone());
    Ok(intent)
}

/// Optional scalar parameters of a PaymentIntent that are stored as sent.
pub(super) fn overlay_optional_fields(intent: &mut Value, params: &Params) -> Result<(), Reply> {
    for field in [
        "capture_method",
        "on_behalf_of",
        "payment_method",
        "receipt_email",
        "setup_future_usage",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "transfer_group",
    ] {
        if let Some(value) = params.get(field) {
            intent[field] = if value.is_empty() { Value::Null } else { json!(value) };
        }
    }
    if let Some(fee) = params.integer("application_fee_amount")? {
        intent["application_fee_amount"] = json!(fee);
    }
    Ok(())
}

pub(super) fn update_payment_intent(ledger: &mut Ledger, id: &str, params: &Params) -> Outcome {
    let intent = ledger
        .payment_intents
        .iter_mut()
        .find(|intent| intent["id"] == id)
        .ok_or_else(|| Reply::missing("payment_intent", id, Some("intent")))?;
    let status = intent["status"].as_str().unwrap_or_default().to_owned();
    let amount = params.integer("amount")?;
    let currency = params.currency("currency")?;
    if (amount.is_some() || currency.is_some()) && matches!(status.as_str(), "succeeded" | "canceled") {
        return Err(Reply::bad(
            &format!("This PaymentIntent's amount could not be updated because it has a status of {status}."),
            Some("payment_intent_unexpected_state"),
            None,
        ));
    }
    if let Some(amount) = amount {
        if amount < 1 {
            return Err(Reply::bad(
                "This value must be greater than or equal to 1.",
                Some("amount_too_small"),
                Some("amount"),
            ));
        }
        intent["amount"] = json!(amount);
    }
    if let Some(currency) = currency {
        intent["currency"] = json!(currency);
    }
    if let Some(description) = params.get("description") {
        intent["description"] = if description.is_empty() {
            Value::Null
        } else {
            json!(description)
        };
    }
    overlay_optional_fields(intent, params)?;
    let types = params.array("payment_method_types");
    if !types.is_empty() {
        intent["payment_method_types"] = json!(types);
    }
    params.merge_metadata(&mut intent["metadata"]);
    Ok(intent.clone())
}

pub(super) fn cancel_payment_intent(
    ledger: &mut Ledger,
    id: &str,
    params: &Params,
    request: &Value,
    events: &mut Vec<Value>,
) -> Outcome {
    let intent = ledger
        .payment_intents
        .iter_mut()
        .find(|intent| intent["id"] == id)
        .ok_or_else(|| Reply::missing("payment_intent", id, Some("intent")))?;
    let status = intent["status"].as_str().unwrap_or_default().to_owned();
    if matches!(status.as_str(), "succeeded" | "canceled") {
        return Err(Reply::bad(
            &format!(
                "You cannot cancel this PaymentIntent because it has a status of {status}. Only a \
                 PaymentIntent with one of the following statuses may be canceled: \
                 requires_payment_method, requires_capture, requires_confirmation, \
                 requires_action, processing."
            ),
            Some("payment_intent_unexpected_state"),
            None,
        ));
    }
    let reason = match params.get("cancellation_reason") {
        None | Some("") => Value::Null,
        Some(reason @ ("duplicate" | "fraudulent" | "requested_by_customer" | "abandoned")) => json!(reason),
        Some(other) => {
            return Err(Reply::bad(
                &format!("Invalid cancellation_reason: {other}"),
                None,
                Some("cancellation_reason"),
            ));
        }
    };
    overlay(
        intent,
        [
            ("status", json!("canceled")),
            ("canceled_at", json!(now())),
            ("cancellation_reason", reason),
        ],
    );
    events.push(build_event("payment_intent.canceled", intent.clone(), request.clone()));
    Ok(intent.clone())
}

pub(super) fn create_refund(ledger: &mut Ledger, params: &Params, request: &Value, events: &mut Vec<Value>) -> Outcome {
    let intent_id = match (params.get("payment_intent"), params.get("charge")) {
        (Some(intent), _) => intent.to_owned(),
        (None, Some(charge)) => find_by_id(&ledger.charges, charge)
            .and_then(|charge| charge["payment_intent"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| Reply::missing("charge", charge, Some("charge")))?,
        (None, None) => {
            return Err(Reply::bad(
                "One of the following params should be provided for this request: payment_intent or charge.",
                Some("parameter_missing"),
                Some("payment_intent"),
            ));
        }
    };
    let intent = find_by_id(&ledger.payment_intents, &intent_id)
        .ok_or_else(|| Reply::missing("payment_intent", &intent_id, Some("payment_intent")))?;
    let not_refundable = || {
        Reply::bad(
            &format!("This PaymentIntent ({intent_id}) does not have a successful charge to refund."),
            Some("payment_intent_unexpected_state"),
            Some("payment_intent"),
        )
    };
    if intent["status"] != "succeeded" {
        return Err(not_refundable());
    }
    let received = intent["amount_received"].as_i64().unwrap_or(0);
    let currency = intent["currency"].clone();
    let charge_id = intent["latest_charge"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(not_refundable)?;
    let charge_index = ledger
        .charges
        .iter()
        .position(|charge| charge["id"] == charge_id.as_str())
        .ok_or_else(not_refundable)?;
    let already = ledger.charges[charge_index]["amount_refunded"].as_i64().unwrap_or(0);
    let left = received - already;
    if left <= 0 {
        return Err(Reply::bad(
            &format!("Charge {charge_id} has already been refunded."),
            Some("charge_already_refunded"),
            None,
        ));
    }
    let amount = params.integer("amount")?.unwrap_or(left);
    if amount < 1 {
        return Err(Reply::bad(
            "Refund amount must be a positive integer.",
            Some("amount_too_small"),
            Some("amount"),
        ));
    }
    if amount > left {
        return Err(Reply::bad(
            &format!("Refund amount ({amount}) is greater than unrefunded amount on charge ({left})"),
            Some("amount_too_large"),
            Some("amount"),
        ));
    }
    let reason = match params.get("reason") {
        None | Some("") => Value::Null,
        Some(reason @ ("duplicate" | "fraudulent" | "requested_by_customer")) => json!(reason),
        Some(other) => return Err(Reply::bad(&format!("Invalid reason: {other}"), None, Some("reason"))),
    };
    let mut refund = fixture("refund");
    overlay(
        &mut refund,
        [
            ("id", json!(new_id("re", 24))),
            ("object", json!("refund")),
            ("amount", json!(amount)),
            ("balance_transaction", json!(new_id("txn", 24))),
            ("charge", json!(charge_id)),
            ("created", json!(now())),
            ("currency", currency),
            ("metadata", Value::Object(params.metadata())),
            ("payment_intent", json!(intent_id)),
            ("reason", reason),
            ("status", json!("succeeded")),
        ],
    );
    let charge = &mut ledger.charges[charge_index];
    let refunded = already + amount;
    charge["amount_refunded"] = json!(refunded);
    charge["refunded"] = json!(refunded >= received);
    if let Some(data) = charge["refunds"]["data"].as_array_mut() {
        data.insert(0, refund.clone());
    }
    events.push(build_event("charge.refunded", charge.clone(), request.clone()));
    ledger.refunds.push(refund.clone());
    Ok(refund)
}

pub(super) fn create_transfer(ledger: &mut Ledger, params: &Params) -> Outcome {
    let amount = params.required_integer("amount")?;
    if amount < 1 {
        return Err(Reply::bad(
            "This value must be greater than or equal to 1.",
            Some("amount_too_small"),
            Some("amount"),
        ));
    }
    let currency = params.currency("currency")?.ok_or_else(|| missing_param("currency"))?;
    let destination = params.required("destination")?;
    if ledger.removed_accounts.iter().any(|removed| removed == destination) {
        return Err(Reply::bad(
            &format!("No such destination: '{destination}'"),
            Some("resource_missing"),
            Some("destination"),
        ));
    }
    if std::mem::take(&mut ledger.fail_next_transfer) {
        return Err(Reply::bad(
            "You have insufficient available funds in your Stripe account. Try adding funds \
             directly to your available balance by creating Charges using the 4000000000000077 \
             test card. See: https://stripe.com/docs/testing#available-balance",
            Some("balance_insufficient"),
            None,
        ));
    }
    let id = new_id("tr", 24);
    let mut transfer = fixture("transfer");
    overlay(
        &mut transfer,
        [
            ("id", json!(id)),
            ("object", json!("transfer")),
            ("amount", json!(amount)),
            ("amount_reversed", json!(0)),
            ("balance_transaction", json!(new_id("txn", 24))),
            ("created", json!(now())),
            ("currency", json!(currency)),
            ("description", params.optional_string("description")),
            ("destination", json!(destination)),
            ("destination_payment", json!(new_id("py", 14))),
            ("livemode", json!(false)),
            ("metadata", Value::Object(params.metadata())),
            (
                "reversals",
                json!({
                    "data": [],
                    "has_more": false,
                    "object": "list",
                    "url": format!("/v1/transfers/{id}/reversals"),
                }),
            ),
            ("reversed", json!(false)),
            ("source_transaction", params.optional_string("source_transaction")),
            ("transfer_group", params.optional_string("transfer_group")),
        ],
    );
    ledger.transfers.push(transfer.clone());
    Ok(transfer)
}

/// A charge for `intent` from the "charge" fixture: succeeded and paid, or failed as declined.
pub(super) fn new_charge(intent: &Value, succeeded: bool, payment_method: &str) -> Value {
    let id = new_id("ch", 24);
    let amount = intent["amount"].as_i64().unwrap_or(0);
    let mut charge = fixture("charge");
    overlay(
        &mut charge,
        [
            ("id", json!(id)),
            ("object", json!("charge")),
            ("amount", json!(amount)),
            ("amount_captured", json!(if succeeded { amount } else { 0 })),
            ("amount_refunded", json!(0)),
            (
                "balance_transaction",
                if succeeded {
                    json!(new_id("txn", 24))
                } else {
                    Value::Null
                },
            ),
            ("captured", json!(succeeded)),
            ("created", json!(now())),
            ("currency", intent["currency"].clone()),
            ("customer", intent["customer"].clone()),
            ("description", intent["description"].clone()),
            (
                "failure_code",
                if succeeded { Value::Null } else { json!("card_declined") },
            ),
            (
                "failure_message",
                if succeeded {
                    Value::Null
                } else {
                    json!("Your card was declined.")
                },
            ),
            ("livemode", json!(false)),
            ("metadata", intent["metadata"].clone()),
            ("paid", json!(succeeded)),
            ("payment_intent", intent["id"].clone()),
            ("payment_method", json!(payment_method)),
            ("receipt_email", intent["receipt_email"].clone()),
            (
                "receipt_url",
                if succeeded {
                    json!(format!("https://pay.stripe.com/receipts/payment/{}", random_alnum(40)))
                } else {
                    Value::Null
                },
            ),
            ("refunded", json!(false)),
            (
                "refunds",
                json!({
                    "data": [],
                    "has_more": false,
                    "object": "list",
                    "url": format!("/v1/charges/{id}/refunds"),
                }),
            ),
            ("status", json!(if succeeded { "succeeded" } else { "failed" })),
            ("transfer_group", intent["transfer_group"].clone()),
        ],
    );
    charge
}

/// An event from the "event" fixture about `object`.
pub(super) fn build_event(event_type: &str, object: Value, request: Value) -> Value {
    let mut event = fixture("event");
    overlay(
        &mut event,
        [
            ("id", json!(new_id("evt", 24))),
            ("object", json!("event")),
            ("api_version", json!(API_VERSION)),
            ("created", json!(now())),
            ("data", json!({ "object": object })),
            ("livemode", json!(false)),
            ("pending_webhooks", json!(1)),
            ("request", request),
            ("type", json!(event_type)),
        ],
    );
    event
}

/// The `request` of an event that no API request caused (the buyer paid, say).
pub(super) fn no_request() -> Value {
    json!({ "id": null, "idempotency_key": null })
}

pub(super) fn fixture(resource: &str) -> Value {
    FIXTURES
        .get(resource)
        .cloned()
        .unwrap_or_else(|| panic!("the Stripe fixtures have no {resource}"))
}

pub(super) fn overlay<const N: usize>(object: &mut Value, fields: [(&str, Value); N]) {
    if let Some(object) = object.as_object_mut() {
        for (key, value) in fields {
            object.insert(key.to_owned(), value);
        }
    }
}

pub(super) fn missing_param(param: &str) -> Reply {
    Reply::bad(
        &format!("Missing required param: {param}."),
        Some("parameter_missing"),
        Some(param),
    )
}

// ---------------------------------------------------------------------------------------------
// Form-encoded parameters
