#!/usr/bin/env python3
"""Many simultaneous wrong AUTH PLAIN attempts from one address, each on its own connection (raw sockets, threads).

usage: parallel_auth.py PORT COUNT USER

Every connection reads the greeting and says EHLO; when all are ready, every one sends its AUTH PLAIN with a wrong
password at the same moment and reads the one-line reply. Prints one JSON line: {"replies": {"535 5.7.8": n, ...}}
with each reply's code and enhanced status code counted. Bounded: 30 s per socket operation, 120 s in all.
"""
import base64
import json
import socket
import sys
import threading
import time


def read_reply(sock, buf):
    """Reads one complete reply (up to its last 'NNN ' line); returns (last line, rest of the buffer)."""
    while True:
        while b'\n' in buf:
            line, buf = buf.split(b'\n', 1)
            text = line.rstrip(b'\r').decode('ascii', 'replace')
            if len(text) < 4 or text[3] != '-':
                return text, buf
        chunk = sock.recv(4096)
        if not chunk:
            return '<closed>', buf
        buf += chunk


def main(argv):
    port, count, user = int(argv[1]), int(argv[2]), argv[3]
    ready = threading.Barrier(count + 1, timeout=60)
    replies = [None] * count

    def attempt(i):
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=30) as sock:
                buf = b''
                _, buf = read_reply(sock, buf)
                sock.sendall(b'EHLO client.test\r\n')
                _, buf = read_reply(sock, buf)
                token = base64.b64encode(b'\0' + user.encode() + b'\0' + ('wrong-%d' % i).encode()).decode()
                ready.wait()
                sock.sendall(('AUTH PLAIN %s\r\n' % token).encode())
                line, buf = read_reply(sock, buf)
                replies[i] = line
                sock.sendall(b'QUIT\r\n')
        except Exception as e:  # counted as a reply kind of its own
            replies[i] = 'error: %s' % type(e).__name__
            try:
                ready.abort()
            except threading.BrokenBarrierError:
                pass

    threads = [threading.Thread(target=attempt, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    ready.wait()
    deadline = time.monotonic() + 120
    for t in threads:
        t.join(max(0, deadline - time.monotonic()))
    counts = {}
    for r in replies:
        key = r[:9] if r and r[:3].isdigit() else (r or 'no reply')
        counts[key] = counts.get(key, 0) + 1
    print(json.dumps({'replies': counts}))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
