"""A real SMTP or LMTP server that is not Postbote, for the client-side protocol tests.

Usage: aiosmtpd_peer.py smtp|lmtp CAPTURE_FILE SIZE_LIMIT

Listens on a port of 127.0.0.1 that the system picks (so it never races another test for a port) with aiosmtpd
(Debian's python3-aiosmtpd), prints "ready PORT" once it accepts connections, and
appends one JSON line per message to CAPTURE_FILE: the envelope as the server understood it and the message content it
received (base64). In LMTP mode the DATA reply is one line per recipient (RFC 2033 4.2); recipients whose local part
is "nobody" get 550. It stops when its standard input closes, or after 120 seconds at the latest.
"""
import asyncio
import base64
import json
import signal
import sys

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

mode, capture, size_limit = sys.argv[1], sys.argv[2], int(sys.argv[3])


class Capture:
    async def handle_DATA(self, server, session, envelope):
        record = {
            "helo": session.host_name,
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "rcpt_options": envelope.rcpt_options,
            "content": base64.b64encode(envelope.original_content).decode("ascii"),
        }
        with open(capture, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if mode != "lmtp":
            return "250 2.0.0 Message accepted"
        return "\r\n".join(
            "550 5.1.1 <%s> no such user" % r if r.startswith("nobody@") else "250 2.1.5 <%s> delivered" % r
            for r in envelope.rcpt_tos)


async def main():
    loop = asyncio.get_running_loop()
    kind = LMTP if mode == "lmtp" else SMTP
    # hostname keeps aiosmtpd from asking the resolver for this machine's name.
    server = await loop.create_server(
        lambda: kind(Capture(), hostname="peer.test", data_size_limit=size_limit, decode_data=False,
                     enable_SMTPUTF8=True),
        "127.0.0.1", 0)
    print("ready %d" % server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()
    await server.wait_closed()


signal.alarm(120)
asyncio.run(main())
