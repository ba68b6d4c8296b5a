#!/usr/bin/env python3
"""Send one message file with Python's smtplib.sendmail.

usage: smtplib_send.py PORT FROM TO[,TO...] FILE [BODY=8BITMIME ...]

The file's bytes are passed to sendmail() as they are (smtplib dot-stuffs them and ends them with CRLF . CRLF).
With debug output on, smtplib prints every reply to stderr, including the one to the end of data.
Exit status 0 when every recipient was accepted and the message was queued.
"""
import json
import smtplib
import sys


def main(argv):
    port, sender, rcpts, path = int(argv[1]), argv[2], argv[3].split(','), argv[4]
    mail_options = argv[5:]
    with open(path, 'rb') as f:
        data = f.read()
    with smtplib.SMTP('127.0.0.1', port, local_hostname='client.test', timeout=30) as smtp:
        smtp.set_debuglevel(1)
        refused = smtp.sendmail(sender, rcpts, data, mail_options=mail_options)
        print(json.dumps({'refused': {k: [v[0], v[1].decode('utf-8', 'replace')] for k, v in refused.items()}}))
    return 0 if not refused else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
