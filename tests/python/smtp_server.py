"""A local SMTP server for tests/integrations.rs, on aiosmtpd (an implementation that is not
klk-etl's): STARTTLS or implicit TLS with the given certificate, AUTH required, every message
received appended as one JSON line to --out. Prints "PORT <n>" once it accepts connections.

    python smtp_server.py --mode starttls|tls --cert C --key K --user U --password P --out F
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import socket
import ssl
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            "login": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
            "headers": {k: str(v) for k, v in message.items()},
            "body": message.get_content(),
            "raw": envelope.content.decode("utf-8", "replace"),
        }
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return "250 OK"


def main():
    # aiosmtpd's own notes (deprecations, "AUTH without TLS" for the implicit-TLS mode) are
    # noise in the test output; errors still show.
    warnings.filterwarnings("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["starttls", "tls"], required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == args.user
            and auth_data.password.decode() == args.password
        )
        # handled=False: aiosmtpd answers 535 itself when the credentials are wrong.
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    port = free_port()
    common = dict(
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
    )
    if args.mode == "starttls":
        controller = Controller(
            Recorder(args.out), tls_context=context, require_starttls=True, auth_require_tls=True, **common
        )
    else:
        # Implicit TLS: every byte is TLS, but aiosmtpd 1.4 only counts STARTTLS as TLS for
        # auth_require_tls (the "tls" field of each message checks the transport itself).
        controller = Controller(Recorder(args.out), ssl_context=context, auth_require_tls=False, **common)
    controller.start()
    print(f"PORT {port}", flush=True)
    try:
        # Until the test closes our stdin (or kills us).
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
