"""aiosmtpd (Debian's python3-aiosmtpd) as a provider's smarthost: STARTTLS required, then AUTH (PLAIN or LOGIN) required.

Usage: aiosmtpd_smarthost.py ADDRESS CAPTURE_FILE CERT_PEM KEY_PEM USER PASSWORD

Listens on ADDRESS on a port the system picks, prints "ready PORT", and appends one JSON line per message to
CAPTURE_FILE: the authenticated login, whether the session was encrypted, the envelope and the content (base64). Stops
when its standard input closes, or after 120 seconds at the latest.
"""
import asyncio
import base64
import json
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

address, capture, cert, key, user, password = sys.argv[1:7]


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() and auth_data.password == password.encode()
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


class Capture:
    async def handle_DATA(self, server, session, envelope):
        with open(capture, "a", encoding="utf-8") as f:
            f.write(json.dumps({
                "login": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
                "tls": session.ssl is not None,
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "content": base64.b64encode(envelope.original_content).decode("ascii"),
            }) + "\n")
        return "250 2.0.0 accepted by the smarthost"


async def main():
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Capture(), hostname="smarthost.test", decode_data=False, tls_context=context, require_starttls=True,
                     authenticator=authenticator, auth_required=True, auth_require_tls=True),
        address, 0)
    print("ready %d" % server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()
    await server.wait_closed()


signal.alarm(120)
asyncio.run(main())
