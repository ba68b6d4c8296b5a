#!/usr/bin/env python3
"""AUTH SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677) after STARTTLS, written against Python's ssl module alone.

usage: scram_plus.py PORT CAFILE USER PASSWORD TLSVERSION CBTYPE

TLSVERSION is 1.2 or 1.3 (the only version the client allows). CBTYPE is tls-unique (RFC 5929 section 3, from
ssl.SSLSocket.get_channel_binding) or tls-server-end-point (RFC 5929 section 4, SHA-256 of the server certificate), or y:
plain SCRAM-SHA-256 with the gs2 flag "y" (the client could bind but thinks the server cannot, RFC 5802 section 6).
Prints one JSON line: {"tls": ..., "offered": ..., "cb_len": ..., "auth": [code, text]} or {"error": ...}.
Exit status 0 when the server answered 235 and proved itself (v=), 3 when it refused, 4 when the mechanism was not offered,
1 for anything else.
"""
import base64
import hashlib
import hmac
import json
import os
import smtplib
import ssl
import sys


def b64(data):
    return base64.b64encode(data).decode('ascii')


def main(argv):
    port, cafile, user, password, version, cbtype = argv[1:7]
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = False  # connected by IP address; the chain is still checked against CAFILE
    tls_version = {'1.2': ssl.TLSVersion.TLSv1_2, '1.3': ssl.TLSVersion.TLSv1_3}[version]
    context.minimum_version = tls_version
    context.maximum_version = tls_version
    result = {}
    with smtplib.SMTP('127.0.0.1', int(port), local_hostname='client.test', timeout=30) as smtp:
        smtp.ehlo()
        smtp.starttls(context=context)
        smtp.ehlo()
        result['tls'] = smtp.sock.version()
        result['offered'] = smtp.esmtp_features.get('auth', '').strip()
        mechanism = 'SCRAM-SHA-256' if cbtype == 'y' else 'SCRAM-SHA-256-PLUS'
        if mechanism not in result['offered'].split():
            print(json.dumps(result))
            return 4
        if cbtype == 'y':
            cbdata = b''
        elif cbtype == 'tls-unique':
            cbdata = smtp.sock.get_channel_binding('tls-unique')
        else:
            cbdata = hashlib.sha256(smtp.sock.getpeercert(binary_form=True)).digest()
        result['cb_len'] = len(cbdata)

        gs2 = b'y,,' if cbtype == 'y' else ('p=%s,,' % cbtype).encode('ascii')
        nonce = b64(os.urandom(18))
        first_bare = 'n=%s,r=%s' % (user.replace('=', '=3D').replace(',', '=2C'), nonce)
        code, reply = smtp.docmd('AUTH', mechanism + ' ' + b64(gs2 + first_bare.encode('utf-8')))
        if code != 334:
            result['auth'] = [code, reply.decode('utf-8', 'replace')]
            print(json.dumps(result))
            return 3
        server_first = base64.b64decode(reply).decode('utf-8')
        fields = dict(item.split('=', 1) for item in server_first.split(','))
        if not fields['r'].startswith(nonce):
            result['error'] = 'server nonce does not extend the client nonce'
            print(json.dumps(result))
            return 1
        salted = hashlib.pbkdf2_hmac('sha256', password.encode('utf-8'), base64.b64decode(fields['s']), int(fields['i']))
        client_key = hmac.new(salted, b'Client Key', hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        final_without_proof = 'c=%s,r=%s' % (b64(gs2 + cbdata), fields['r'])
        auth_message = ','.join([first_bare, server_first, final_without_proof]).encode('utf-8')
        signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        code, reply = smtp.docmd(b64((final_without_proof + ',p=' + b64(proof)).encode('utf-8')))
        if code != 334:
            result['auth'] = [code, reply.decode('utf-8', 'replace')]
            print(json.dumps(result))
            return 3
        server_key = hmac.new(salted, b'Server Key', hashlib.sha256).digest()
        expected = 'v=' + b64(hmac.new(server_key, auth_message, hashlib.sha256).digest())
        if base64.b64decode(reply).decode('utf-8') != expected:
            result['error'] = 'server signature does not verify'
            print(json.dumps(result))
            return 1
        code, reply = smtp.docmd('')
        result['auth'] = [code, reply.decode('utf-8', 'replace')]
        print(json.dumps(result))
        return 0 if code == 235 else 3


if __name__ == '__main__':
    sys.exit(main(sys.argv))
