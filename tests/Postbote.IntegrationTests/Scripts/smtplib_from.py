#!/usr/bin/env python3
"""One SMTP transaction with Python's smtplib from a chosen loopback source address.

usage: smtplib_from.py PORT SOURCE FROM TO [SUBJECT]

Prints one line per step as JSON: {"step": "rcpt", "code": 451, "text": "4.7.1 Greylisted, ..."}; steps are
"connect" (the greeting), "mail", "rcpt" and, when RCPT was accepted, "data" (the reply to the end of data).
A refused connection (421 greeting) is printed as the "connect" step. Exit status 0 when the message was queued.
"""
import json
import smtplib
import sys


def say(step, code, text):
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    print(json.dumps({'step': step, 'code': code, 'text': text}), flush=True)


def main(argv):
    port, source, sender, rcpt = int(argv[1]), argv[2], argv[3], argv[4]
    subject = argv[5] if len(argv) > 5 else 'test'
    smtp = smtplib.SMTP(local_hostname='client.test', timeout=30, source_address=(source, 0))
    try:
        code, text = smtp.connect('127.0.0.1', port)
    except smtplib.SMTPConnectError as e:
        say('connect', e.smtp_code, e.smtp_error)
        return 1
    except smtplib.SMTPServerDisconnected as e:
        say('connect', 0, str(e))
        return 1
    say('connect', code, text)
    if code != 220:
        return 1
    smtp.ehlo()
    code, text = smtp.mail(sender)
    say('mail', code, text)
    if code != 250:
        smtp.quit()
        return 1
    code, text = smtp.rcpt(rcpt)
    say('rcpt', code, text)
    if code != 250:
        smtp.quit()
        return 1
    body = f'From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\n\r\nhello\r\n'
    code, text = smtp.data(body.encode('ascii'))
    say('data', code, text)
    smtp.quit()
    return 0 if code == 250 else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
