#!/usr/bin/env bash
# Installs what the tests need (only what is missing, so it is quick on a prepared machine) and runs every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# Clients the integration tests drive: swaks (its --tls needs Perl's IO::Socket::SSL), Python 3 (smtplib and
# ../shared/cases/run-cases), openssl s_client, GNU gsasl (SCRAM-SHA-256-PLUS channel binding), s-nail and mutt,
# prlimit (util-linux).
missing=()
command -v swaks >/dev/null 2>&1 || missing+=(swaks)
perl -MIO::Socket::SSL -e 1 >/dev/null 2>&1 || missing+=(libio-socket-ssl-perl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v gsasl >/dev/null 2>&1 || missing+=(gsasl)
# Mail readers that open the delivered Maildirs.
command -v s-nail >/dev/null 2>&1 || missing+=(s-nail)
command -v mutt >/dev/null 2>&1 || missing+=(mutt)
command -v prlimit >/dev/null 2>&1 || missing+=(util-linux)   # prlimit: tests under a low descriptor limit
# NSD, the authoritative DNS server the DNS tests start on loopback with their own zones.
[ -x /usr/sbin/nsd ] || missing+=(nsd)
# A real SMTP and LMTP server for the client side of the protocol layer, in Debian's own python3 (a python3 earlier
# on PATH, e.g. pyenv's, does not see Debian's packages; the tests run /usr/bin/python3).
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || missing+=(python3-aiosmtpd)
# Dovecot as the LMTP server final delivery hands local mail to (started by the tests, in a temp directory).
[ -x /usr/sbin/dovecot ] || missing+=(dovecot-core)
[ -x /usr/lib/dovecot/lmtp ] || missing+=(dovecot-lmtpd)
# Postfix as a recipients' server for the relaying tests (its own instance in a temp directory; the package's own
# configuration and daemon stay off: "No configuration").
[ -x /usr/sbin/postfix ] || missing+=(postfix)
# Dovecot's IMAP and POP3 servers on the Maildirs Postbote writes, and fetchmail as a POP3 client.
[ -x /usr/lib/dovecot/imap ] || missing+=(dovecot-imapd)
[ -x /usr/lib/dovecot/pop3 ] || missing+=(dovecot-pop3d)
command -v fetchmail >/dev/null 2>&1 || missing+=(fetchmail)
# dkimpy (dkimsign, dkimverify, arcsign, arcverify) signs the messages whose DKIM signatures and ARC chains Postbote
# verifies and checks the ones it makes, with dnspython to ask the test's nsd for keys and authres, which dkimpy's ARC
# signing needs; the Public Suffix List Postbote ships is a copy of Debian's publicsuffix.
/usr/bin/python3 -c 'import dkim' >/dev/null 2>&1 || missing+=(python3-dkim)
/usr/bin/python3 -c 'import dns.resolver' >/dev/null 2>&1 || missing+=(python3-dnspython)
/usr/bin/python3 -c 'import authres' >/dev/null 2>&1 || missing+=(python3-authres)
[ -f /usr/share/publicsuffix/public_suffix_list.dat ] || missing+=(publicsuffix)
# promtool (Debian's prometheus package) checks the /metrics output; curl fetches it.
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# Headless Chromium and its WebDriver for the queue page test (Selenium drives /usr/bin/chromedriver).
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
# systemd-analyze verify checks packaging/postbote.service.
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
if ((${#missing[@]} > 0)); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "test.sh: installing ${missing[*]}"
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: the .NET SDK (dotnet) is not on PATH" >&2
  exit 1
fi

results="$(mktemp -d "${TMPDIR:-/tmp}/postbote-test-results.XXXXXX")"
trap 'rm -rf "$results"' EXIT
set +e
dotnet test Postbote.slnx -c Release \
  --logger "console;verbosity=normal" \
  --logger "trx" \
  --results-directory "$results" \
  --blame-hang-timeout 15m
status=$?
set -e

# One closing line for the whole run, summed over every test project's TRX file.
python3 - "$results" <<'PY' || true
import glob, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for path in glob.glob(sys.argv[1] + '/**/*.trx', recursive=True):
    for counters in ET.parse(path).getroot().iter('{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}Counters'):
        a = counters.attrib
        passed += int(a.get('passed', 0))
        failed += int(a.get('failed', 0)) + int(a.get('error', 0)) + int(a.get('timeout', 0)) + int(a.get('aborted', 0))
        skipped += int(a.get('notExecuted', 0))
print('tests: %d passed, %d failed, %d skipped' % (passed, failed, skipped))
PY
exit "$status"
