"""aiosmtpd (Debian's python3-aiosmtpd) as a recipients' mail server that records who connected, for the loop,
throttling and outbound identity tests.

Usage: aiosmtpd_peer.py CAPTURE_FILE HOSTNAME ADDRESS [ADDRESS ...] [--refuse-every N --refuse-at ADDRESS]

Listens on every ADDRESS (IPv4 or IPv6 loopback addresses) with one port, which the system picks for the first, prints
"ready PORT", and appends one JSON line per event to CAPTURE_FILE, each with the time (seconds since the epoch):
{"event": "connect", "n": connection number, "peer": client address, "local": address connected to, "refused": bool}
and per message {"event": "message", "n", "helo", "peer", "local", "mail_from", "rcpt_tos", "content" (base64)}.
HOSTNAME is the name in its greeting and EHLO reply. With --refuse-every N, every Nth connection (N, 2N, ...) to the
address of --refuse-at gets "421 4.7.0 too many connections" instead of the greeting and is closed, as a server over its
connection limit does; connections to the other addresses are served.
Stops when its standard input closes, or after 170 seconds at the latest.
"""
import asyncio
import base64
import json
import signal
import sys
import time

from aiosmtpd.smtp import SMTP

args = sys.argv[1:]
refuse_every = 0
refuse_at = None
if "--refuse-every" in args:
    i = args.index("--refuse-every")
    refuse_every = int(args[i + 1])
    del args[i:i + 2]
if "--refuse-at" in args:
    i = args.index("--refuse-at")
    refuse_at = args[i + 1]
    del args[i:i + 2]
capture, hostname, addresses = args[0], args[1], args[2:]
count = [0]
per_address = {}


def record(obj):
    obj["time"] = time.time()
    with open(capture, "a", encoding="utf-8") as f:
        f.write(json.dumps(obj) + "\n")


class Capture:
    def __init__(self, n):
        self.n = n

    async def handle_DATA(self, server, session, envelope):
        record({
            "event": "message",
            "n": self.n,
            "helo": session.host_name,
            "peer": session.peer[0],
            "local": server.transport.get_extra_info("sockname")[0],
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "content": base64.b64encode(envelope.original_content).decode("ascii"),
        })
        return "250 2.0.0 accepted"


class Refuse(asyncio.Protocol):
    def connection_made(self, transport):
        transport.write(b"421 4.7.0 too many connections\r\n")
        transport.close()


def factory():
    count[0] += 1
    return Recorded(count[0])


class Recorded(asyncio.Protocol):
    """Records the connection, then hands it to aiosmtpd (or refuses it)."""

    def __init__(self, n):
        self.n = n
        self.inner = None

    def connection_made(self, transport):
        local = transport.get_extra_info("sockname")[0]
        per_address[local] = per_address.get(local, 0) + 1
        refused = refuse_every > 0 and (refuse_at is None or refuse_at == local) and per_address[local] % refuse_every == 0
        self.inner = Refuse() if refused else SMTP(Capture(self.n), hostname=hostname, decode_data=False, enable_SMTPUTF8=True)
        record({"event": "connect", "n": self.n, "peer": transport.get_extra_info("peername")[0], "local": local, "refused": refused})
        self.inner.connection_made(transport)

    def data_received(self, data):
        self.inner.data_received(data)

    def eof_received(self):
        return self.inner.eof_received()

    def connection_lost(self, exc):
        self.inner.connection_lost(exc)


async def main():
    loop = asyncio.get_running_loop()
    for attempt in range(50):
        servers = []
        try:
            port = 0
            for address in addresses:
                server = await loop.create_server(factory, address, port)
                servers.append(server)
                port = server.sockets[0].getsockname()[1]
            break
        except OSError:
            for server in servers:
                server.close()
            if attempt == 49:
                raise
    print("ready %d" % port, flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    for server in servers:
        server.close()


signal.alarm(170)
asyncio.run(main())
