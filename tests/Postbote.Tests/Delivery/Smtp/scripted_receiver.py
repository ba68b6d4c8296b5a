"""A scripted SMTP/LMTP receiver for the relay client tests: answers what the test's script says and records what
the client sent, byte for byte.

Usage: scripted_receiver.py SCRIPT_JSON CAPTURE_FILE

The script: {"addresses": ["127.0.0.31", ...], "hosts": {"127.0.0.31": {...}, "default": {...}}, "tls": {"cert": PEM,
"key": PEM}}. Per host (every value a raw reply with its CRLFs; lists are indexed and the last entry repeats):
greeting, ehlo, helo, mail, rcpt (list, per RCPT of a transaction), data, end (list, per transaction on that host),
lmtp_end (list, per accepted recipient: LMTP's replies after the data), tls_broken (answer STARTTLS with 220 and then
plain text instead of a handshake), delay_ms (wait after each command line before
looking how many bytes are already buffered behind it, "ahead"). A reply "" sends nothing.

It binds every address on one port the system picks for the first, prints "ready PORT", and appends one JSON line per
event to CAPTURE_FILE: connect, cmd (with "ahead"), data (the raw DATA octets up to and including ".CRLF", base64),
bdat (the chunk octets, base64). It stops when its standard input closes, or after 120 seconds at the latest.
"""
import base64
import json
import signal
import socket
import ssl
import sys
import threading
import time

spec = json.load(open(sys.argv[1], encoding="utf-8"))
capture = sys.argv[2]
lock = threading.Lock()
counter = [0]
transactions = {}

DEFAULTS = {
    "greeting": "220 peer.test ESMTP\r\n",
    "ehlo": "250-peer.test\r\n250 8BITMIME\r\n",
    "helo": "250 peer.test\r\n",
    "mail": "250 2.1.0 ok\r\n",
    "rcpt": ["250 2.1.5 ok\r\n"],
    "data": "354 go ahead\r\n",
    "end": ["250 2.0.0 queued\r\n"],
    "lmtp_end": ["250 2.0.0 delivered\r\n"],
    "delay_ms": 0,
}


def behaviour(host):
    b = dict(DEFAULTS)
    b.update(spec.get("hosts", {}).get("default", {}))
    b.update(spec.get("hosts", {}).get(host, {}))
    return b


def record(obj):
    with lock:
        with open(capture, "a", encoding="utf-8") as f:
            f.write(json.dumps(obj) + "\n")


def pick(values, index):
    return values[min(index, len(values) - 1)]


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def readline(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def readexact(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def drain(self):
        self.sock.settimeout(0.0)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.buf += data
        except (BlockingIOError, ssl.SSLWantReadError, socket.timeout):
            pass
        finally:
            self.sock.settimeout(30)

    def send(self, text):
        if text:
            self.sock.sendall(text.encode("utf-8"))


def handle(sock, host):
    with lock:
        counter[0] += 1
        n = counter[0]
    b = behaviour(host)
    c = Conn(sock)
    sock.settimeout(30)
    record({"conn": n, "host": host, "event": "connect"})
    try:
        c.send(b["greeting"])
        if b["greeting"][:1] in "45":
            time.sleep(0.2)
            return
        rcpt_index = 0
        accepted = 0
        while True:
            line = c.readline()
            if b["delay_ms"]:
                time.sleep(b["delay_ms"] / 1000.0)
                c.drain()
            text = line.decode("utf-8", "replace")
            record({"conn": n, "host": host, "cmd": text, "ahead": c.buf.decode("utf-8", "replace")})
            verb = text[:4].upper()
            if verb == "EHLO":
                c.send(b["ehlo"])
            elif verb == "LHLO":
                c.send(b.get("lhlo", b["ehlo"]))
            elif verb == "HELO":
                c.send(b["helo"])
            elif verb == "STAR":
                c.send("220 2.0.0 ready for TLS\r\n")
                if b.get("tls_broken"):
                    c.send("this is no TLS handshake\r\n")
                    return
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(spec["tls"]["cert"], spec["tls"]["key"])
                c.sock = ctx.wrap_socket(sock, server_side=True)
                c.buf = b""
                record({"conn": n, "host": host, "event": "tls", "version": c.sock.version()})
            elif verb == "MAIL":
                rcpt_index = 0
                accepted = 0
                c.send(b["mail"])
            elif verb == "RCPT":
                reply = pick(b["rcpt"], rcpt_index)
                rcpt_index += 1
                if reply.startswith("2"):
                    accepted += 1
                c.send(reply)
            elif verb == "DATA":
                c.send(b["data"])
                if not b["data"].startswith("354"):
                    continue
                raw = b""
                while True:
                    data_line = c.readline() + b"\r\n"
                    raw += data_line
                    if data_line == b".\r\n":
                        break
                record({"conn": n, "host": host, "data": base64.b64encode(raw).decode("ascii")})
                finish(c, b, host, accepted)
            elif verb == "BDAT":
                parts = text.split()
                chunk = c.readexact(int(parts[1]))
                record({"conn": n, "host": host, "bdat": base64.b64encode(chunk).decode("ascii")})
                if len(parts) > 2 and parts[2].upper() == "LAST":
                    finish(c, b, host, accepted)
                else:
                    c.send("250 2.0.0 chunk ok\r\n")
            elif verb == "RSET":
                rcpt_index = 0
                accepted = 0
                c.send("250 2.0.0 ok\r\n")
            elif verb == "NOOP":
                c.send("250 2.0.0 ok\r\n")
            elif verb == "QUIT":
                c.send("221 2.0.0 bye\r\n")
                return
            else:
                c.send("500 5.5.2 what\r\n")
    except (EOFError, OSError):
        pass
    finally:
        record({"conn": n, "host": host, "event": "close"})
        try:
            c.sock.close()
        except OSError:
            pass


def finish(c, b, host, accepted):
    with lock:
        t = transactions.get(host, 0)
        transactions[host] = t + 1
    if b.get("lmtp"):
        for i in range(accepted):
            c.send(pick(b["lmtp_end"], i))
    else:
        c.send(pick(b["end"], t))


def serve(listener, host):
    while True:
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=handle, args=(sock, host), daemon=True).start()


def bind_all(addresses):
    for _ in range(50):
        listeners = []
        try:
            port = 0
            for address in addresses:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                listeners.append(s)
                s.bind((address, port))
                s.listen(16)
                port = s.getsockname()[1]
            return port, listeners
        except OSError:
            for s in listeners:
                s.close()
    raise SystemExit("no common port")


signal.alarm(120)
port, listeners = bind_all(spec["addresses"])
for address, listener in zip(spec["addresses"], listeners):
    threading.Thread(target=serve, args=(listener, address), daemon=True).start()
print("ready %d" % port, flush=True)
sys.stdin.read()
for listener in listeners:
    listener.close()
