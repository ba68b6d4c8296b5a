"""Fetches every message of a POP3 maildrop with Python's poplib and writes each to OUTDIR/N.eml (CRLF line ends).

usage: poplib_fetch.py stls|ssl PORT USER PASSWORD OUTDIR [dele]
Prints the LIST and UIDL lines and, per message, the size RETR reported.
"""
import os
import poplib
import ssl
import sys

mode, port, user, password, outdir = sys.argv[1:6]
dele = len(sys.argv) > 6 and sys.argv[6] == 'dele'
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if mode == 'ssl':
    pop = poplib.POP3_SSL('127.0.0.1', int(port), context=ctx, timeout=30)
else:
    pop = poplib.POP3('127.0.0.1', int(port), timeout=30)
    pop.stls(context=ctx)
pop.set_debuglevel(1)
print('user', pop.user(user).decode())
print('pass', pop.pass_(password).decode())
resp, listing, _ = pop.list()
for line in listing:
    print('LIST', line.decode())
resp, uidls, _ = pop.uidl()
for line in uidls:
    print('UIDL', line.decode())
for line in listing:
    n = int(line.split()[0])
    resp, lines, octets = pop.retr(n)
    print('RETR', n, octets)
    with open(os.path.join(outdir, '%d.eml' % n), 'wb') as f:
        f.write(b''.join(l + b'\r\n' for l in lines))
    if dele:
        pop.dele(n)
print('quit', pop.quit().decode())
