"""Logs in to an IMAP server with Python's imaplib, prints each INBOX message's UID, RFC822.SIZE and flags, marks
message 1 \\Seen, and prints the flags again.

usage: imaplib_check.py PORT USER PASSWORD
"""
import imaplib
import sys

port, user, password = sys.argv[1:4]
imap = imaplib.IMAP4('127.0.0.1', int(port), timeout=30)
imap.login(user, password)
typ, data = imap.select('INBOX')
print('EXISTS', data[0].decode())
typ, data = imap.fetch('1:*', '(UID RFC822.SIZE FLAGS)')
for item in data:
    print('FETCH', item.decode())
typ, data = imap.store('1', '+FLAGS', '\\Seen')
print('STORE', typ, data[0].decode())
typ, data = imap.fetch('1:*', '(FLAGS)')
for item in data:
    print('AFTER', item.decode())
imap.logout()
