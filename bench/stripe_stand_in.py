#!/usr/bin/env python3
"""A Stripe stand-in for the order benchmarks: answers `POST /v1/payment_intents` with a
PaymentIntent made from Stripe's own fixture (the one the tests' stand-in uses), so that card
orders can be placed and profiled without the network. Nothing else is served.

    python3 bench/stripe_stand_in.py PORT
"""
import json
import os
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "tests", "api", "fixtures", "stripe-fixtures3-2023-10.json")
with open(FIXTURES) as f:
    INTENT = json.load(f)["resources"]["payment_intent"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        params = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if self.path.split("?")[0] != "/v1/payment_intents":
            return self.answer(404, {"error": {"type": "invalid_request_error", "message": "not served"}})
        intent_id = "pi_" + uuid.uuid4().hex[:24]
        intent = dict(INTENT)
        intent.update({
            "id": intent_id,
            "amount": int(params.get("amount", "0")),
            "amount_received": 0,
            "currency": params.get("currency", "cny"),
            "status": "requires_payment_method",
            "client_secret": intent_id + "_secret_bench",
            "metadata": {k[len("metadata["):-1]: v for k, v in params.items() if k.startswith("metadata[")},
            "canceled_at": None,
            "payment_method_types": ["card"],
        })
        self.answer(200, intent)

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
