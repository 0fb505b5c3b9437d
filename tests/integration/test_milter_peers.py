"""
Issue 11, real milters from Debian's packages through tern's milter client:

- OpenDKIM (opendkim, opendkim-genkey from opendkim-tools) signs what an
  authenticated user submits on port 587: the delivered copy carries
  DKIM-Signature above tern's Received header (Debian's OpenDKIM inserts at
  index 0, as under Postfix), and the signature verifies with python3-dkim
  given the test's public key (no DNS), and fails once one body byte is
  changed.  The same OpenDKIM verifies mail on port 25 and adds
  Authentication-Results with dkim=pass to a message the test signed.
  OpenDKIM reads the public keys from a file (its TestPublicKeys option),
  so it asks no DNS server.
- rspamd 3.4 as a milter (its proxy worker with self_scan, no redis, every
  DNS question to a closed local port): GTUBE is rejected with rspamd's 554
  reply, a clean message is delivered, and tern waits for no reply rspamd
  said it would not send (the session ends long before
  milter_command_timeout).

Both daemons are slow to start, so each is started once for the module;
every test starts its own tern.
"""
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

import conftest
import ternlib
from ternlib import SubTern, WAIT, add_account, free_port, make_msg, new_user, uniq, wait_until

try:
    import dkim
    HAVE_DKIM = True
except ImportError:
    HAVE_DKIM = False

OPENDKIM = shutil.which("opendkim") or "/usr/sbin/opendkim"
GENKEY = shutil.which("opendkim-genkey") or "/usr/sbin/opendkim-genkey"
RSPAMD = shutil.which("rspamd") or "/usr/bin/rspamd"

needs_opendkim = ternlib.needs_package("opendkim", os.access(OPENDKIM, os.X_OK))
needs_genkey = ternlib.needs_package("opendkim-tools", os.access(GENKEY, os.X_OK))
needs_dkim = ternlib.needs_package("python3-dkim", HAVE_DKIM)
needs_rspamd = ternlib.needs_package("rspamd", os.access(RSPAMD, os.X_OK))

DOMAIN = "example.test"          # tern's domain; OpenDKIM signs for it
SELECTOR = "tern"
EXT_DOMAIN = "sender.test"       # a stranger whose mail the test signs
EXT_SELECTOR = "ext"
AUTHSERV = "dkim.tern.test"      # OpenDKIM's AuthservID
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
RSPAMD_GTUBE = b"5.7.1 Gtube pattern"     # rspamd's own reply to GTUBE


def wait_port(port, proc, what, timeout):
    """Until something listens on 127.0.0.1:port; fails if proc exits."""
    def up():
        if proc.poll() is not None:
            raise AssertionError("%s exited with %s" % (what, proc.returncode))
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        return False
    assert wait_until(up, timeout, 0.2), "%s did not listen on %d within %ss" % (what, port, timeout)


def stop(proc):
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def genkey(d, domain, selector):
    """opendkim-genkey: (private key path, the p= of the public key)."""
    subprocess.run([GENKEY, "-b", "2048", "-d", domain, "-s", selector, "-D", d],
                   check=True, capture_output=True, timeout=60)
    with open(os.path.join(d, selector + ".txt")) as f:
        txt = "".join(re.findall(r'"([^"]*)"', f.read()))
    p = re.search(r"p=([A-Za-z0-9+/=]+)", txt).group(1)
    return os.path.join(d, selector + ".private"), p


# ---------------------------------------------------------------------------
# OpenDKIM
# ---------------------------------------------------------------------------

class OpenDKIM:
    """opendkim -f on 127.0.0.1:port: Mode sv, signing DOMAIN with
    SELECTOR; InternalHosts is an address no test uses, so it signs only
    for authenticated clients (the {auth_type} macro) and verifies the
    rest; public keys from a file (TestPublicKeys), no DNS."""

    def __init__(self):
        self.dir = ternlib.make_tempdir("tern-dkim-")
        self.port = free_port()
        self.key, self.pub = genkey(self.dir, DOMAIN, SELECTOR)
        ext_dir = os.path.join(self.dir, "ext")
        os.mkdir(ext_dir)
        self.ext_key, self.ext_pub = genkey(ext_dir, EXT_DOMAIN, EXT_SELECTOR)
        keys = os.path.join(self.dir, "public-keys")
        with open(keys, "w") as f:
            f.write("%s._domainkey.%s v=DKIM1; k=rsa; p=%s\n" % (SELECTOR, DOMAIN, self.pub))
            f.write("%s._domainkey.%s v=DKIM1; k=rsa; p=%s\n" % (EXT_SELECTOR, EXT_DOMAIN, self.ext_pub))
        self.conf = os.path.join(self.dir, "opendkim.conf")
        with open(self.conf, "w") as f:
            f.write(self.config_text(keys))
        self.log = open(os.path.join(self.dir, "opendkim.out"), "w+")
        self.proc = subprocess.Popen([OPENDKIM, "-f", "-x", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_port(self.port, self.proc, "opendkim", WAIT)

    def config_text(self, keys):
        # These lines are the ones docs/plugins.md shows.
        return "\n".join([
            "Mode sv",
            "Socket inet:%d@127.0.0.1" % self.port,
            "Domain %s" % DOMAIN,
            "Selector %s" % SELECTOR,
            "KeyFile %s" % self.key,
            "InternalHosts 192.0.2.1",
            "AuthservID %s" % AUTHSERV,
            "TestPublicKeys %s" % keys,
            "Background no",
            "Syslog no",
            "RequireSafeKeys no",
            "PidFile %s/opendkim.pid" % self.dir,
            ""])

    def stop(self):
        stop(self.proc)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def dns(self, name, timeout=5):
        """python3-dkim's DNS: the test's keys, nothing else."""
        name = name.decode() if isinstance(name, bytes) else name
        for sel, dom, pub in ((SELECTOR, DOMAIN, self.pub), (EXT_SELECTOR, EXT_DOMAIN, self.ext_pub)):
            if name.rstrip(".") == "%s._domainkey.%s" % (sel, dom):
                return ("v=DKIM1; k=rsa; p=%s" % pub).encode()
        return None


@pytest.fixture(scope="module")
def opendkim():
    d = OpenDKIM()
    try:
        yield d
    finally:
        d.stop()


@contextlib.contextmanager
def tern(request, **settings):
    """A SubTern with DOMAIN, started; stopped (and checked for sanitizer
    reports) at the end."""
    failed_before = request.session.testsfailed
    t = SubTern(**settings)
    try:
        t.setup(domains=[DOMAIN])
        t.start()
        yield t
    finally:
        conftest._finish([t], request.session.testsfailed > failed_before or
                         getattr(request.node, "rep_call_failed", False))


def header_names(raw):
    """The header field names of raw, in order, lower case."""
    return [name.lower() for name, _ in ternlib.header_lines(raw)]


def crlf(raw):
    return re.sub(rb"\r?\n", b"\r\n", raw)


@needs_opendkim
@needs_genkey
@needs_dkim
def test_opendkim_signs_authenticated_submission(request, opendkim):
    with tern(request, submission_milters="inet:127.0.0.1:%d" % opendkim.port) as t:
        password = "dkim-secret-%s" % uniq()
        login = add_account(t, "%s@%s" % (uniq("alice"), DOMAIN), password)
        rcpt = new_user(t, DOMAIN, "bob")
        subject = uniq("signed")
        body = "A line to sign.\r\nAnd another one.\r\n"
        msg = make_msg(subject=subject, sender=login, to=rcpt, body=body)
        t.send_auth(login, password, [rcpt], msg=msg)
        raw = t.wait_count(rcpt, 1)[0]

    names = header_names(raw)
    assert "dkim-signature" in names, "no DKIM-Signature in the delivered copy:\n%r" % raw[:3000]
    sig = names.index("dkim-signature")
    received = names.index("received")
    assert sig < received, "DKIM-Signature (header %d) must be above tern's Received (%d): %r" % (
        sig, received, names)
    assert names.count("dkim-signature") == 1, names
    value = ternlib.header(raw, "DKIM-Signature")
    assert re.search(r"\bd=%s;" % re.escape(DOMAIN), value) and \
        re.search(r"\bs=%s;" % SELECTOR, value), value

    msg_crlf = crlf(raw)
    assert dkim.verify(msg_crlf, dnsfunc=opendkim.dns), \
        "the signature does not verify:\n%r" % msg_crlf[:3000]
    changed = msg_crlf.replace(b"A line to sign.", b"A line to sigN.", 1)
    assert changed != msg_crlf
    assert not dkim.verify(changed, dnsfunc=opendkim.dns), "a changed body still verifies"


@needs_opendkim
@needs_genkey
@needs_dkim
def test_opendkim_verifies_on_port_25(request, opendkim):
    with tern(request, smtpd_milters="inet:127.0.0.1:%d" % opendkim.port) as t:
        rcpt = new_user(t, DOMAIN, "carol")
        sender = "news@%s" % EXT_DOMAIN
        msgs = {}
        for kind in ("good", "tampered"):
            subject = uniq(kind)
            msg = make_msg(subject=subject, sender=sender, to=rcpt,
                           body="Signed by the test (%s).\r\n" % kind)
            with open(opendkim.ext_key, "rb") as f:
                sig = dkim.sign(msg, EXT_SELECTOR.encode(), EXT_DOMAIN.encode(), f.read(),
                                include_headers=[b"From", b"To", b"Subject", b"Message-ID"])
            signed = sig + msg
            if kind == "tampered":
                signed = signed.replace(b"Signed by", b"Signed bY", 1)
            msgs[kind] = subject
            t.send([rcpt], msg=signed, sender=sender)
        got = t.wait_count(rcpt, 2)

    by_subject = {}
    for raw in got:
        by_subject[ternlib.header(raw, "Subject")] = raw
    good = by_subject[msgs["good"]]
    ar = ternlib.header(good, "Authentication-Results")
    assert ar is not None, "no Authentication-Results:\n%r" % good[:3000]
    assert ar.startswith(AUTHSERV) and re.search(r"\bdkim=pass\b", ar) and \
        ("header.d=%s" % EXT_DOMAIN) in ar, ar
    bad = ternlib.header(by_subject[msgs["tampered"]], "Authentication-Results")
    assert bad is not None and re.search(r"\bdkim=fail\b", bad), bad


# ---------------------------------------------------------------------------
# rspamd
# ---------------------------------------------------------------------------

class Rspamd:
    """rspamd -f with Debian's /etc/rspamd/rspamd.conf and a local
    configuration folder of the test's own: only the proxy worker, as a
    milter that scans itself (self_scan), on 127.0.0.1:port; the normal
    and controller workers off; DNS to a closed port (no question leaves
    the machine); no redis (the modules that need it disable
    themselves)."""

    def __init__(self):
        self.dir = ternlib.make_tempdir("tern-rspamd-")
        self.port = free_port()
        local = os.path.join(self.dir, "local")
        for sub in ("local/local.d", "local/override.d", "run", "db", "log"):
            os.makedirs(os.path.join(self.dir, sub))
        files = {
            # These lines are the ones docs/plugins.md shows.
            "override.d/worker-proxy.inc": "\n".join([
                'bind_socket = "127.0.0.1:%d";' % self.port,
                "milter = yes;",
                "timeout = 120s;",
                # Scans in the proxy itself: no normal worker behind it.
                'upstream "local" {',
                "  default = yes;",
                "  self_scan = yes;",
                "}",
                "count = 1;", ""]),
            "override.d/worker-normal.inc": "enabled = false;\n",
            "override.d/worker-controller.inc": "enabled = false;\n",
            "override.d/logging.inc": 'type = "file";\nfilename = "%s/log/rspamd.log";\nlevel = "info";\n'
                                      % self.dir,
            "local.d/options.inc": "\n".join([
                "dns {",
                '  nameserver = ["127.0.0.1:%d"];' % free_port(),
                "  timeout = 0.5s;",
                "  retransmits = 1;",
                "}",
                "local_addrs = [];", ""]),
        }
        for name, text in files.items():
            with open(os.path.join(local, name), "w") as f:
                f.write(text)
        self.out = open(os.path.join(self.dir, "rspamd.out"), "w+")
        args = [RSPAMD, "-f", "-i", "-u", "root", "-g", "root", "-c", "/etc/rspamd/rspamd.conf"]
        for var, val in (("LOCAL_CONFDIR", local), ("RUNDIR", self.dir + "/run"),
                         ("DBDIR", self.dir + "/db"), ("LOGDIR", self.dir + "/log")):
            args += ["--var", "%s=%s" % (var, val)]
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        # It compiles its regular expressions at the first start: slow.
        wait_port(self.port, self.proc, "rspamd", 180)

    def log_tail(self, n=30):
        with contextlib.suppress(OSError), open(os.path.join(self.dir, "log", "rspamd.log")) as f:
            return "".join(f.readlines()[-n:])
        return ""

    def stop(self):
        stop(self.proc)
        self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def rspamd():
    r = Rspamd()
    try:
        yield r
    finally:
        r.stop()


COMMAND_TIMEOUT = 10


@needs_rspamd
def test_rspamd_rejects_gtube_delivers_clean(request, rspamd):
    settings = {"smtpd_milters": "inet:127.0.0.1:%d" % rspamd.port,
                "milter_command_timeout": "%ds" % COMMAND_TIMEOUT,
                "milter_content_timeout": "%ds" % COMMAND_TIMEOUT}
    with tern(request, **settings) as t:
        rcpt = new_user(t, DOMAIN, "dave")
        mark = t.log_mark()
        with t.smtp() as s:
            s.ehlo("client.test")
            assert s.mail("someone@elsewhere.test")[0] == 250
            assert s.rcpt(rcpt)[0] == 250
            code, text = s.data(make_msg(subject=uniq("gtube"), to=rcpt,
                                         body="Spam:\r\n%s\r\n" % GTUBE))
        assert code == 554 and text == RSPAMD_GTUBE, \
            "GTUBE: got %d %r\n%s" % (code, text, rspamd.log_tail())

        # A clean message goes through; and the whole session does not
        # wait out milter_command_timeout for a reply rspamd said (NR_*
        # flags) it would not send.
        subject = uniq("clean")
        started = time.monotonic()
        t.send([rcpt], msg=make_msg(subject=subject, to=rcpt, body="Nothing to see.\r\n"),
               sender="someone@elsewhere.test")
        took = time.monotonic() - started
        raw = t.wait_count(rcpt, 1)[0]
        assert ("Subject: " + subject).encode() in raw
        assert took < COMMAND_TIMEOUT, "the clean message took %.1fs: a wait for a reply " \
            "that never came?" % took
        log = t.log()[mark:]
        assert not re.search(r"milter .*(timeout|timed out)", log, re.I), log
