"""The tests' SMTP server (aiosmtpd): takes every message on 127.0.0.1:PORT and writes each one
as a JSON file in FOLDER, its headers and bodies decoded by Python's own email package (RFC 2047
words, quoted-printable, base64), beside the raw message as it arrived.

Recipients whose local part starts with "reject" are refused with 550 (a mailbox that does not
exist), so a test can watch a message fail for good.

Usage: python3 smtp_sink.py PORT FOLDER  (runs until killed)
"""

import email
import email.policy
import json
import os
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].startswith("reject"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content
        message = email.message_from_bytes(raw, policy=email.policy.default)

        def content(subtype):
            part = message.get_body(preferencelist=(subtype,))
            return None if part is None else part.get_content()

        record = {
            "envelope_from": envelope.mail_from,
            "envelope_to": envelope.rcpt_tos,
            "headers": [[name, str(value)] for name, value in message.items()],
            "text": content("plain"),
            "html": content("html"),
            "raw": raw.decode("utf-8", "replace"),
        }
        with self.lock:
            self.count += 1
            name = "%06d" % self.count
        # Written whole, then renamed: a reader never sees half a message.
        partial = os.path.join(self.folder, name + ".part")
        with open(partial, "w", encoding="utf-8") as out:
            json.dump(record, out, ensure_ascii=False)
        os.replace(partial, os.path.join(self.folder, name + ".json"))
        return "250 Message accepted for delivery"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=port, ready_timeout=30)
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
