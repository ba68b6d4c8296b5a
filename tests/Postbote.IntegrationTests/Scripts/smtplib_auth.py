#!/usr/bin/env python3
"""Submit one message with Python's smtplib: STARTTLS (certificate checked against a CA file), login(), sendmail().

usage: smtplib_auth.py PORT CAFILE SERVERNAME USER PASSWORD MECHANISM FROM TO FILE

MECHANISM is "default" (smtplib.login() picks one of the offered mechanisms) or PLAIN / LOGIN (forced).
The server certificate must chain to CAFILE and name SERVERNAME (connected to 127.0.0.1, so the name is checked here).
Prints one JSON line: {"mechanism": ..., "tls": ..., "login": [code, text]} and "queued" or "auth_error".
Exit status 0 when the message was queued, 3 when authentication failed, 1 for anything else.
"""
import json
import smtplib
import ssl
import sys


def main(argv):
    port, cafile, servername, user, password, mechanism, sender, rcpt, path = argv[1:10]
    with open(path, 'rb') as f:
        data = f.read()
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = False  # connected by IP address; the name is checked below instead
    context.verify_mode = ssl.CERT_REQUIRED
    with smtplib.SMTP('127.0.0.1', int(port), local_hostname='client.test', timeout=30) as smtp:
        smtp.set_debuglevel(1)
        smtp.ehlo()
        if smtp.has_extn('auth'):
            print(json.dumps({'error': 'AUTH offered before STARTTLS'}))
            return 1
        smtp.starttls(context=context)
        names = [v for k, v in smtp.sock.getpeercert().get('subjectAltName', ()) if k == 'DNS']
        if servername not in names:
            print(json.dumps({'error': 'certificate names %r, not %s' % (names, servername)}))
            return 1
        smtp.ehlo()
        result = {'tls': smtp.sock.version(), 'offered': smtp.esmtp_features.get('auth', '')}
        try:
            if mechanism == 'default':
                code, text = smtp.login(user, password)
            else:
                smtp.user, smtp.password = user, password
                code, text = smtp.auth(mechanism, getattr(smtp, 'auth_' + mechanism.lower()))
        except smtplib.SMTPAuthenticationError as e:
            result['auth_error'] = [e.smtp_code, e.smtp_error.decode('utf-8', 'replace')]
            print(json.dumps(result))
            return 3
        result['login'] = [code, text.decode('utf-8', 'replace')]
        refused = smtp.sendmail(sender, [rcpt], data)
        result['refused'] = {k: [v[0], v[1].decode('utf-8', 'replace')] for k, v in refused.items()}
        print(json.dumps(result))
    return 0 if not refused else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
