#!/usr/bin/env python3
"""Many smtplib sessions at once, each sending its share of prepared message files, recording every outcome as it
happens (so that a server killed in the middle leaves a complete record of what it acknowledged).

usage: smtplib_load.py PORT DIR SESSIONS MAX_SECONDS OUTCOMES [SOURCE] [--wait-for FILE]

DIR/manifest.txt has one line per message: "ID MAILFROM RCPT"; the message is DIR/ID.eml, sent as it is (smtplib
dot-stuffs it and ends it with CRLF . CRLF). Session w sends the lines w, w + SESSIONS, w + 2 SESSIONS ... in order over
one connection from SOURCE (a loopback address, default 127.0.0.1). OUTCOMES gets one line per change of a message's
state, flushed at once:
  ID indoubt            the message's data is about to be sent: the server may have it
  ID ack 250 TEXT       the end of data was answered 250
  ID refused CODE TEXT  MAIL, RCPT, DATA or the end of data was answered otherwise
With --wait-for, every session connects and says EHLO first, records "- ready N" (N its number), and sends nothing
until FILE exists. A message with no line was never started; one whose last line is "indoubt" got no answer (the server went away).
A session ends when the server closes or cannot be reached. Bounded: 30 s per socket operation, MAX_SECONDS in all.
"""
import os
import smtplib
import socket
import sys
import threading
import time

lock = threading.Lock()


def main(argv):
    wait_for = None
    if '--wait-for' in argv:
        i = argv.index('--wait-for')
        wait_for = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    port, folder, sessions, max_seconds, outcomes = int(argv[1]), argv[2], int(argv[3]), float(argv[4]), argv[5]
    source = argv[6] if len(argv) > 6 else '127.0.0.1'
    with open(folder + '/manifest.txt', encoding='ascii') as f:
        jobs = [line.split() for line in f if line.strip()]
    deadline = time.monotonic() + max_seconds
    out = open(outcomes, 'a', encoding='utf-8')

    def record(*fields):
        with lock:
            out.write(' '.join(fields) + '\n')
            out.flush()

    def connect():
        smtp = smtplib.SMTP('127.0.0.1', port, local_hostname='load.client.test', source_address=(source, 0), timeout=30)
        smtp.ehlo('load.client.test')
        return smtp

    def worker(w):
        smtp = None
        try:
            if wait_for is not None:
                smtp = connect()
                record('-', 'ready', str(w))
                while not os.path.exists(wait_for):
                    if time.monotonic() > deadline:
                        return
                    time.sleep(0.02)
            for job in jobs[w::sessions]:
                if time.monotonic() > deadline:
                    return
                mid, mailfrom, rcpt = job
                with open('%s/%s.eml' % (folder, mid), 'rb') as f:
                    data = f.read()
                if smtp is None:
                    smtp = connect()
                code, text = smtp.mail(mailfrom)
                if code != 250:
                    record(mid, 'refused', str(code), text.decode('utf-8', 'replace'))
                    smtp.rset()
                    continue
                code, text = smtp.rcpt(rcpt)
                if code != 250:
                    record(mid, 'refused', str(code), text.decode('utf-8', 'replace'))
                    smtp.rset()
                    continue
                record(mid, 'indoubt')
                try:
                    code, text = smtp.data(data)
                except smtplib.SMTPDataError as e:  # DATA itself was not answered 354
                    record(mid, 'refused', str(e.smtp_code), e.smtp_error.decode('utf-8', 'replace'))
                    smtp.rset()
                    continue
                line = text.decode('utf-8', 'replace').replace('\n', ' ')
                record(mid, 'ack' if code == 250 else 'refused', str(code), line)
                if code == 421:
                    return
        except (smtplib.SMTPException, OSError, socket.timeout):
            return  # the server went away: what was recorded stands
        finally:
            if smtp is not None:
                try:
                    smtp.close()
                except OSError:
                    pass

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + 35)
    out.close()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
