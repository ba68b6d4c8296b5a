"""aiosmtpd (Debian's python3-aiosmtpd) as a recipients' server that answers the end of each message with the next reply
of a script, e.g. "451 4.3.0 try again later" twice and then "250 2.0.0 accepted".

Usage: aiosmtpd_scripted.py ADDRESS CAPTURE_FILE REPLY...

Listens on ADDRESS on a port the system picks, prints "ready PORT", appends one JSON line per message to CAPTURE_FILE
(the envelope and the reply given), and answers the n-th message with the n-th REPLY (the last one again after the
script ends). Stops when its standard input closes, or after 120 seconds at the latest.
"""
import asyncio
import json
import signal
import sys

from aiosmtpd.smtp import SMTP

address, capture, replies = sys.argv[1], sys.argv[2], sys.argv[3:]


count = 0  # messages answered so far, across connections


class Scripted:
    async def handle_DATA(self, server, session, envelope):
        global count
        reply = replies[min(count, len(replies) - 1)]
        count += 1
        with open(capture, "a", encoding="utf-8") as f:
            f.write(json.dumps({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "reply": reply}) + "\n")
        return reply


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Scripted(), hostname="mx.scripted.test", decode_data=False), address, 0)
    print("ready %d" % server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()
    await server.wait_closed()


signal.alarm(120)
asyncio.run(main())
