"""aiosmtpd (Debian's python3-aiosmtpd) as the recipients' mail server for the relaying tests.

Usage: aiosmtpd_receiver.py ADDRESS CAPTURE_FILE [DELAY_MS]

Listens on ADDRESS (a loopback address) on a port the system picks, prints "ready PORT", and appends one JSON line per
message to CAPTURE_FILE: the envelope and the message content as received (base64), then waits DELAY_MS milliseconds
(default 0) before it answers 250, so a sender can be stopped while a message is in flight. Stops when its standard
input closes, or after 120 seconds at the latest.
"""
import asyncio
import base64
import json
import signal
import sys

from aiosmtpd.smtp import SMTP

address, capture = sys.argv[1], sys.argv[2]
delay = int(sys.argv[3]) / 1000 if len(sys.argv) > 3 else 0


class Capture:
    async def handle_DATA(self, server, session, envelope):
        with open(capture, "a", encoding="utf-8") as f:
            f.write(json.dumps({
                "helo": session.host_name,
                "peer": session.peer[0],
                "mail_from": envelope.mail_from,
                "mail_options": envelope.mail_options,
                "rcpt_tos": envelope.rcpt_tos,
                "content": base64.b64encode(envelope.original_content).decode("ascii"),
            }) + "\n")
        if delay:
            await asyncio.sleep(delay)
        return "250 2.0.0 accepted"


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Capture(), hostname="mx.relay.test", decode_data=False, enable_SMTPUTF8=True), address, 0)
    print("ready %d" % server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()
    await server.wait_closed()


signal.alarm(120)
asyncio.run(main())
