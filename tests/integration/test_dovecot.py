"""
IMAP and POP3 through Dovecot, run by tern (issue 10, points 1 and 2):
tern writes Dovecot's configuration, runs it as a supervised child, and
carries its log.  Real `tern serve`, real Dovecot (Debian's 2.3), real
clients (imaplib, poplib, raw sockets, openssl s_client).
"""
import contextlib
import os
import re
import signal
import socket
import ssl
import subprocess

import pytest

import ternlib
from ternlib import WAIT, DovecotTern, wait_until

pytestmark = ternlib.needs_package("dovecot-imapd", os.access(ternlib.DOVECOT_BIN, os.X_OK))


def _finish(t, request, failed_before):
    failed = request.session.testsfailed > failed_before
    reports = t.sanitizer_reports()
    if failed or reports:
        print("\n" + t.log_tail(80))
    t.cleanup(keep=bool(reports) or os.environ.get("TERN_TEST_KEEP") == "1")
    assert not reports, "sanitizer report in %s:\n%s" % (t.log_path, "\n".join(reports[:20]))


@pytest.fixture(scope="module")
def dsrv(request):
    """One tern with Dovecot for the tests that only look."""
    failed_before = request.session.testsfailed
    t = DovecotTern()
    try:
        t.start()
    except BaseException:
        _finish(t, request, failed_before)
        raise
    yield t
    _finish(t, request, failed_before)


@pytest.fixture
def dovecot_factory(request):
    """make(**settings) -> a configured DovecotTern, not started; each is
    stopped and removed at teardown."""
    made = []
    failed_before = request.session.testsfailed

    def make(**settings):
        t = DovecotTern(**settings)
        made.append(t)
        return t

    yield make
    for t in made:
        _finish(t, request, failed_before)


class RawLines:
    """A line client for IMAP and POP3 from a chosen source address."""

    def __init__(self, port, source=None, timeout=WAIT):
        src = (source, 0) if source else None
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                             source_address=src)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError("closed (pending %r)" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def until(self, prefix):
        """Lines up to and including the one starting with prefix."""
        out = []
        while True:
            out.append(self.line())
            if out[-1].startswith(prefix):
                return out

    def send(self, text):
        self.sock.sendall(text.encode("utf-8") + b"\r\n")

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()


# ---- the four doors ----

def test_imap_starttls(dsrv):
    c = dsrv.imap(tls=None)
    try:
        assert "STARTTLS" in c.capabilities, c.capabilities
        c.starttls(ssl_context=ternlib.client_tls_context())
        typ, data = c.capability()
        assert typ == "OK", data
        caps = data[0].decode().split()
        assert "STARTTLS" not in caps, caps
        assert isinstance(c.sock, ssl.SSLSocket)
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3"), c.sock.version()
    finally:
        c.shutdown()


def test_imaps(dsrv):
    c = dsrv.imap(tls="implicit")
    try:
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3"), c.sock.version()
        assert "IMAP4REV1" in c.capabilities, c.capabilities
    finally:
        c.shutdown()


def test_pop3_stls(dsrv):
    p = dsrv.pop3(tls=None)
    try:
        assert p.getwelcome().startswith(b"+OK"), p.getwelcome()
        assert "STLS" in p.capa(), p.capa()
        p.stls(context=ternlib.client_tls_context())
        assert p.sock.version() in ("TLSv1.2", "TLSv1.3"), p.sock.version()
        assert "STLS" not in p.capa()
    finally:
        p.close()


def test_pop3s(dsrv):
    p = dsrv.pop3(tls="implicit")
    try:
        assert p.getwelcome().startswith(b"+OK"), p.getwelcome()
        assert p.sock.version() in ("TLSv1.2", "TLSv1.3"), p.sock.version()
        assert "UIDL" in p.capa(), p.capa()
    finally:
        p.close()


def test_imap_capabilities_before_login(dsrv):
    """What Dovecot announces before a login; the rest (UIDPLUS, MOVE,
    CONDSTORE, QRESYNC, SPECIAL-USE) comes after it."""
    c = dsrv.imap()
    try:
        typ, data = c.capability()
        caps = data[0].decode().split()
        for want in ("IMAP4rev1", "IDLE", "LITERAL+", "ENABLE", "AUTH=PLAIN"):
            assert want in caps, "CAPABILITY: %s missing from %r" % (want, caps)
    finally:
        c.shutdown()


# ---- plaintext logins only inside TLS ----

@ternlib.needs_loopback_sources
def test_imap_login_refused_before_tls(dsrv):
    """From another address than the server's (Dovecot counts a client on
    the server's own address as secure), LOGIN before STARTTLS is refused
    and CAPABILITY says LOGINDISABLED."""
    c = RawLines(dsrv.mailbox_port("imap"), source="127.0.0.2")
    try:
        assert c.line().startswith("* OK"), "no IMAP greeting"
        c.send("a CAPABILITY")
        caps = " ".join(c.until("a "))
        assert "LOGINDISABLED" in caps and "STARTTLS" in caps, caps
        assert "AUTH=PLAIN" not in caps, caps
        c.send("b LOGIN someone@example.test secret")
        reply = c.until("b ")[-1]
        assert reply.startswith("b NO") or reply.startswith("b BAD"), reply
        assert "PRIVACYREQUIRED" in reply or "lain" in reply, reply
    finally:
        c.close()


@ternlib.needs_loopback_sources
def test_pop3_login_refused_before_tls(dsrv):
    c = RawLines(dsrv.mailbox_port("pop3"), source="127.0.0.3")
    try:
        assert c.line().startswith("+OK"), "no POP3 greeting"
        c.send("USER someone@example.test")
        reply = c.line()
        assert reply.startswith("-ERR"), reply
        assert "lain" in reply, reply
    finally:
        c.close()


# ---- TLS 1.2 at least ----

@pytest.mark.parametrize("kind", ["imaps", "imap", "pop3s", "pop3"])
def test_tls_1_1_refused(dsrv, kind):
    cmd = [ternlib.OPENSSL, "s_client", "-connect",
           "127.0.0.1:%d" % dsrv.mailbox_port(kind), "-tls1_1",
           "-cipher", "DEFAULT@SECLEVEL=0"]
    if not kind.endswith("s"):
        cmd += ["-starttls", kind]
    p = subprocess.run(cmd, input=b"", capture_output=True, timeout=30)
    out = (p.stdout + p.stderr).decode("utf-8", "replace")
    assert p.returncode != 0, "TLS 1.1 on %s: s_client succeeded:\n%s" % (kind, out)
    assert not re.search(r"Protocol\s*: TLSv1\.1\s*\n\s*Cipher\s*: (?!0000)", out), out


@pytest.mark.parametrize("kind", ["imaps", "pop3s"])
def test_tls_1_2_accepted(dsrv, kind):
    p = subprocess.run([ternlib.OPENSSL, "s_client", "-connect",
                        "127.0.0.1:%d" % dsrv.mailbox_port(kind), "-tls1_2", "-brief"],
                       input=b"", capture_output=True, timeout=30)
    out = (p.stdout + p.stderr).decode("utf-8", "replace")
    assert "Protocol version: TLSv1.2" in out, out


def test_same_certificate_as_smtp(dsrv):
    with open(os.path.join(dsrv.state_dir, "tls", "cert.pem")) as f:
        smtp_der = ssl.PEM_cert_to_DER_cert(f.read())
    with socket.create_connection(("127.0.0.1", dsrv.mailbox_port("imaps")), timeout=WAIT) as s:
        with ternlib.client_tls_context().wrap_socket(s) as t:
            assert t.getpeercert(binary_form=True) == smtp_der


# ---- the generated configuration and the log ----

def test_config_written_with_warning_line(dsrv):
    path = os.path.join(dsrv.state_dir, "dovecot", "dovecot.conf")
    with open(path) as f:
        text = f.read()
    assert text.startswith("# Written by tern serve"), text[:200]
    assert "do not edit" in text.splitlines()[1], text[:200]
    base = re.search(r"^base_dir = (\S+)$", text, re.M).group(1)
    # Room for Dovecot's socket names under it (sockaddr_un: 108 bytes).
    assert len(base) <= 60, base
    assert "mail_max_userip_connections = 20" in text


def test_login_script_written_beside_the_config(dsrv):
    """auth.lua: the line naming lookup's socket, then the script built
    into tern; root's when tern runs as root, readable by all."""
    path = os.path.join(dsrv.state_dir, "dovecot", "auth.lua")
    with open(path) as f:
        text = f.read()
    with open(os.path.join(ternlib.REPO, "src", "mailbox", "dovecot_auth.lua")) as f:
        src = f.read()
    sock = os.path.join(dsrv.state_dir, "auth.sock")
    assert text == 'local TERN_AUTH_SOCK = "%s"\n' % sock + src
    st = os.stat(path)
    assert st.st_mode & 0o777 == 0o644
    assert st.st_uid == os.geteuid()
    with open(os.path.join(dsrv.state_dir, "dovecot", "dovecot.conf")) as f:
        conf = f.read()
    assert conf.count("  args = file=%s blocking=yes\n" % path) == 2, conf


def test_log_lines_carried_with_prefix(dsrv):
    dsrv.wait_log(r"dovecot\[\d+\]: master: Info: Dovecot v2\.3")
    mark = dsrv.log_mark()
    assert dsrv.greeting("imap").startswith(b"* OK")
    dsrv.wait_log(r"(?m)^dovecot\[\d+\]: imap-login: Info: Disconnected", since=mark)


def test_long_and_binary_log_lines_bounded_and_escaped(dovecot_factory, tmp_path):
    """Dovecot's complaint about a bad line of the extra config is long
    and holds a control byte: tern logs it cut and escaped."""
    extra = os.path.join(ternlib.make_tempdir("tern-extra-"), "extra.conf")
    with open(extra, "wb") as f:
        f.write(b"x" * 3000 + b"\x01bad = 1\n")
    os.chmod(extra, 0o644)
    t = dovecot_factory(dovecot_extra_config=extra)
    try:
        t._start()          # SMTP greets; Dovecot keeps failing
        m = t.wait_log(r"dovecot\[\d+\]: error: .*Fatal: .*xxxx[^\n]*")
        line = m.group(0)
        assert len(line) < 1200, "line of %d bytes" % len(line)
        assert line.endswith("..."), line[-80:]
        assert "\x01" not in t.log()
        t.wait_log(r"restarting dovecot in \d+s")
    finally:
        os.unlink(extra)
        os.rmdir(os.path.dirname(extra))


def test_extra_config_included_last(dovecot_factory):
    """A line of the postmaster's own file wins over tern's: the greeting
    it sets is the one clients see."""
    d = ternlib.make_tempdir("tern-extra-")
    extra = os.path.join(d, "extra.conf")
    with open(extra, "w") as f:
        f.write("login_greeting = Tern test greeting 4711\n")
    os.chmod(extra, 0o644)
    t = dovecot_factory(dovecot_extra_config=extra)
    try:
        t.start()
        assert b"Tern test greeting 4711" in t.greeting("imap")
        assert b"Tern test greeting 4711" in t.greeting("pop3s")
    finally:
        os.unlink(extra)
        os.rmdir(d)


# ---- supervision ----

def test_killed_dovecot_is_restarted(dovecot_factory):
    t = dovecot_factory()
    t.start()
    old = t.dovecot_master_pid()
    assert old, t.log_tail()
    mark = t.log_mark()
    os.kill(old, signal.SIGKILL)
    t.wait_log(r"dovecot pid=%d killed by signal 9" % old, since=mark)
    t.wait_log(r"restarting dovecot in \d+s", since=mark)
    new = wait_until(lambda: (t.dovecot_master_pid() or old) != old and t.dovecot_master_pid(),
                     timeout=3 * WAIT)
    assert new and new != old, t.log_tail()
    t.wait_mailbox()
    c = t.imap(tls="implicit")
    c.shutdown()
    # Nothing of the killed instance is left.
    assert not os.path.exists("/proc/%d" % old) or \
        open("/proc/%d/stat" % old).read().split()[2] == "Z"


def test_sigterm_stops_every_dovecot_process(dovecot_factory):
    t = dovecot_factory()
    t.start()
    # A live login process too: connected, not logged in.
    c = RawLines(t.mailbox_port("imap"))
    assert c.line().startswith("* OK")
    sid = t.proc.pid
    pids = t.dovecot_pids()
    names = sorted(ternlib.comm_of(p) or "?" for p in pids)
    assert "dovecot" in names and "imap-login" in names, names
    t.signal(signal.SIGTERM)
    rc = t.proc.wait(3 * WAIT)
    c.close()
    assert rc == 0, t.log_tail()
    left = [p for p in pids if os.path.exists("/proc/%d" % p)]
    assert left == [], "dovecot processes left: %r" % [(p, ternlib.comm_of(p)) for p in left]
    assert ternlib.session_pids(sid) == [], "processes left in the session"
    assert "dovecot stopped" in t.log()


def dovecot_setting(t, name):
    with open(os.path.join(t.state_dir, "dovecot", "dovecot.conf")) as f:
        for line in f:
            if line.startswith(name + " = "):
                return line.split(" = ", 1)[1].strip()
    raise AssertionError("no %s in dovecot.conf" % name)


def test_stop_removes_what_dovecot_ran_from(dovecot_factory):
    t = dovecot_factory()
    t.start()
    base, state = dovecot_setting(t, "base_dir"), dovecot_setting(t, "state_dir")
    assert os.path.isdir(base) and os.path.isdir(state)
    run_conf = base + ".conf" if os.geteuid() == 0 else None
    if run_conf:
        assert os.path.isfile(run_conf), run_conf
    t.signal(signal.SIGTERM)
    assert t.proc.wait(3 * WAIT) == 0, t.log_tail()
    assert not os.path.exists(base), "base_dir %s left after the stop" % base
    if run_conf:
        # As root the state and the config copy live in /run beside it.
        assert not os.path.exists(state) and not os.path.exists(run_conf), os.listdir(os.path.dirname(base))
    # The config in state_dir stays, for the postmaster to read.
    assert os.path.isfile(os.path.join(t.state_dir, "dovecot", "dovecot.conf"))


def test_mailbox_server_none_starts_no_dovecot(dovecot_factory):
    t = dovecot_factory(mailbox_server="none")
    t._start()
    assert "dovecot" not in t.child_kinds().values(), t.child_kinds()
    assert t.dovecot_pids() == []
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", t.mailbox_port("imap")), timeout=2).close()
    assert "dovecot" not in t.log()


# ---------------------------------------------------------------------------
# With logins (the Lua passdb asking lookup): mail tern delivers, read
# over IMAP and POP3.
# ---------------------------------------------------------------------------

import imaplib  # noqa: E402
import poplib  # noqa: E402
import time  # noqa: E402

from ternlib import add_account, header, make_hash, make_msg, uniq  # noqa: E402

OFFICE, OFFICE_PW = "office@example.test", "office-pop3-pw-1"


@pytest.fixture(scope="module")
def msrv(request):
    """A tern with Dovecot, a domain whose catch-all is the collective
    mailbox OFFICE."""
    failed_before = request.session.testsfailed
    # Its tests fail logins on purpose, all from 127.0.0.1: the brake
    # (tested in test_dovecot_login and below) must not slow the rest.
    t = DovecotTern(auth_fail_limit="1000", auth_fail_delay="0s")
    try:
        t.setup(domains=["example.test"])
        add_account(t, OFFICE, OFFICE_PW)
        t.cli("alias", "add", "@example.test", OFFICE)
        t.start()
    except BaseException:
        _finish(t, request, failed_before)
        raise
    yield t
    _finish(t, request, failed_before)


def account(t, prefix="u"):
    addr = "%s@example.test" % uniq(prefix)
    pw = "pw-%s-secret" % uniq("p")
    add_account(t, addr, pw)
    return addr, pw


def login_imap(t, addr, pw, tls="starttls"):
    c = t.imap(tls=tls)
    typ, data = c.login(addr, pw)
    assert typ == "OK", data
    return c


def deliver(t, addr, n=1, **kw):
    """Sends a message to addr and waits until its Maildir holds n."""
    subject = kw.pop("subject", None) or uniq("subj")
    t.send(addr, subject=subject, **kw)
    t.wait_count(addr, n)
    return subject


def imap_subjects(c, mailbox="INBOX"):
    typ, data = c.select(mailbox)
    assert typ == "OK", data
    typ, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])") \
        if int(data[0]) else ("OK", [])
    return [header(part[1], "Subject") for part in data if isinstance(part, tuple)]


def test_delivered_message_seen_over_imap_and_pop3(msrv):
    addr, pw = account(msrv)
    subject = deliver(msrv, addr)
    c = login_imap(msrv, addr, pw, tls="implicit")
    try:
        assert imap_subjects(c) == [subject]
    finally:
        c.logout()
    p = msrv.pop3()
    try:
        p.user(addr)
        p.pass_(pw)
        count, _ = p.stat()
        assert count == 1
        raw = b"\r\n".join(p.retr(1)[1])
        assert header(raw, "Subject") == subject
    finally:
        p.quit()


def test_capabilities_after_login(msrv):
    addr, pw = account(msrv)
    c = login_imap(msrv, addr, pw)
    try:
        typ, data = c.capability()
        caps = data[0].decode().split()
        for want in ("IDLE", "UIDPLUS", "MOVE", "CONDSTORE", "QRESYNC",
                     "SPECIAL-USE", "LITERAL+", "ENABLE"):
            assert want in caps, "CAPABILITY after login: %s missing from %r" % (want, caps)
    finally:
        c.logout()


def test_special_use_folders_present_and_subscribed(msrv):
    addr, pw = account(msrv)
    c = login_imap(msrv, addr, pw)
    try:
        want = {"Drafts", "Sent", "Trash", "Junk", "Archive"}
        for cmd in (c.list, c.lsub):
            typ, data = cmd()
            assert typ == "OK", data
            got = {}
            for line in data:
                m = re.match(rb'\(([^)]*)\) "." (\S+)', line)
                got[m.group(2).decode()] = m.group(1).decode()
            for name in want:
                assert name in got, "%s: %s missing from %r" % (cmd.__name__, name, data)
                assert "\\" + name in got[name], "%s has no \\%s: %r" % (name, name, data)
        # Created at first use, a Maildir++ folder inside the account's
        # Maildir, as tern's user.
        typ, data = c.select("Sent")
        assert typ == "OK", data
    finally:
        c.logout()
    md = msrv.maildir(addr)
    assert os.path.isdir(os.path.join(md, ".Sent", "cur")), os.listdir(md)
    st = os.stat(os.path.join(md, ".Sent"))
    assert st.st_uid == os.stat(md).st_uid


def test_idle_sees_exists(msrv):
    addr, pw = account(msrv)
    deliver(msrv, addr)
    c = login_imap(msrv, addr, pw)
    try:
        typ, data = c.select("INBOX")
        assert data == [b"1"], data
        tag = c._new_tag().decode()
        c.send(("%s IDLE\r\n" % tag).encode())
        assert c.readline().startswith(b"+"), "no continuation for IDLE"
        subject = uniq("idle")
        msrv.send(addr, subject=subject)
        deadline = time.monotonic() + 3 * WAIT
        c.sock.settimeout(3 * WAIT)
        seen = []
        while time.monotonic() < deadline:
            line = c.readline()
            assert line, "connection closed during IDLE: %r" % seen
            seen.append(line)
            if re.match(rb"\* 2 EXISTS", line):
                break
        assert any(re.match(rb"\* 2 EXISTS", l) for l in seen), seen
        c.send(b"DONE\r\n")
        while True:
            line = c.readline()
            if line.startswith(tag.encode()):
                assert b" OK" in line, line
                break
        assert subject in imap_subjects(c)
    finally:
        c.logout()


def test_uid_move_appenduid_uid_expunge(msrv):
    addr, pw = account(msrv)
    c = login_imap(msrv, addr, pw)
    try:
        msg = make_msg(subject="appended", to=addr)
        typ, data = c.append("INBOX", None, None, msg)
        assert typ == "OK", data
        m = re.search(rb"\[APPENDUID (\d+) (\d+)\]", data[0])
        assert m, "no APPENDUID in %r" % data
        uid = m.group(2).decode()
        c.select("INBOX")
        typ, data = c.uid("MOVE", uid, "Archive")
        assert typ == "OK", data
        assert any(b"COPYUID" in (d or b"") for d in data) or \
            b"COPYUID" in b" ".join(r for r in c.untagged_responses.get("OK", [])), \
            (data, c.untagged_responses)
        assert imap_subjects(c, "INBOX") == []
        assert imap_subjects(c, "Archive") == ["appended"]
        c.select("Archive")
        typ, data = c.uid("SEARCH", None, "ALL")
        auid = data[0].split()[0].decode()
        c.uid("STORE", auid, "+FLAGS", "(\\Deleted)")
        typ, data = c.uid("EXPUNGE", auid)
        assert typ == "OK", data
        assert imap_subjects(c, "Archive") == []
    finally:
        c.logout()


def test_two_sessions_stay_consistent(msrv):
    addr, pw = account(msrv)
    deliver(msrv, addr, subject="first")
    a = login_imap(msrv, addr, pw)
    b = login_imap(msrv, addr, pw, tls="implicit")
    try:
        a.select("INBOX")
        b.select("INBOX")
        # b flags and expunges; a hears of it at its next command.
        b.store("1", "+FLAGS", "(\\Deleted)")
        b.expunge()
        a.noop()
        assert a.untagged_responses.get("EXPUNGE") or \
            imap_subjects(a) == [], a.untagged_responses
        # tern delivers; both see it, with the same UID.
        msrv.send(addr, subject="second")
        assert wait_until(lambda: imap_subjects(b) == ["second"], 3 * WAIT), \
            imap_subjects(b)
        uids = []
        for c in (a, b):
            c.select("INBOX")
            typ, data = c.uid("SEARCH", None, "ALL")
            uids.append(data[0].split())
            assert imap_subjects(c) == ["second"]
        assert uids[0] == uids[1] and len(uids[0]) == 1, uids
        # a marks it seen; b sees the flag.
        a.uid("STORE", uids[0][0].decode(), "+FLAGS", "(\\Seen)")
        typ, data = b.uid("FETCH", uids[0][0].decode(), "(FLAGS)")
        assert b"\\Seen" in data[0], data
    finally:
        a.logout()
        b.logout()


def test_collective_catchall_emptied_over_pop3(msrv):
    """fetchmail's multidrop: RETR every message, DELE it, QUIT; each one
    carries its original recipient for the company server to sort."""
    p = msrv.pop3(tls="implicit")
    p.user(OFFICE)
    p.pass_(OFFICE_PW)
    for i in range(1, p.stat()[0] + 1):
        p.dele(i)
    p.quit()
    rcpts = ["%s@example.test" % uniq("nobody") for _ in range(3)]
    for r in rcpts:
        msrv.send(r, subject="to " + r)
    msrv.wait_count(OFFICE, 3, timeout=3 * WAIT)
    p = msrv.pop3()
    try:
        p.user(OFFICE)
        p.pass_(OFFICE_PW)
        count, _ = p.stat()
        assert count == 3, count
        seen = []
        for i in range(1, count + 1):
            raw = b"\r\n".join(p.retr(i)[1])
            seen.append(header(raw, "X-Original-To"))
            assert header(raw, "Delivered-To"), raw[:400]
            p.dele(i)
        assert sorted(seen) == sorted(rcpts), seen
    finally:
        p.quit()
    p = msrv.pop3()
    try:
        p.user(OFFICE)
        p.pass_(OFFICE_PW)
        assert p.stat()[0] == 0
    finally:
        p.quit()
    md = msrv.maildir(OFFICE)
    assert os.listdir(os.path.join(md, "new")) == [] and \
        os.listdir(os.path.join(md, "cur")) == []


def test_pop3_uidl_same_across_restart(dovecot_factory):
    t = dovecot_factory()
    t.setup(domains=["example.test"])
    addr, pw = "keep@example.test", "keep-pop3-pw-1"
    add_account(t, addr, pw)
    t.start()
    deliver(t, addr, subject="one")
    deliver(t, addr, n=2, subject="two")

    def uidl():
        p = t.pop3()
        try:
            p.user(addr)
            p.pass_(pw)
            return [l.split()[1] for l in p.uidl()[1]]
        finally:
            p.quit()

    before = uidl()
    assert len(before) == 2 and len(set(before)) == 2, before
    assert t.stop() == 0, t.log_tail()
    t.start()
    assert uidl() == before


def test_login_reaches_tern_as_typed(msrv):
    """Dovecot passes the login on unchanged (auth_username_format = %u,
    no character filter): a '+' in it works, and a miscased one reaches
    tern's exact comparison, which names the reason."""
    addr = "%s+tag@example.test" % uniq("plus")
    pw = "plus-imap-pw-1"
    add_account(msrv, addr, pw)
    c = login_imap(msrv, addr, pw)
    c.logout()
    mark = msrv.log_mark()
    c = msrv.imap()
    try:
        with pytest.raises(imaplib.IMAP4.error):
            c.login(addr.upper(), pw)
    finally:
        c.shutdown()
    msrv.wait_log(r"auth failed login=%s reason=case-mismatch existing=%s .*proto=imap"
                  % (re.escape(addr.upper()), re.escape(addr)), since=mark)


@ternlib.root_only
def test_root_dovecot_reads_only_root_owned_files(dsrv):
    """As root, Dovecot's master reads its config from a root-owned copy
    outside state_dir (which tern's user owns and could rearrange), the
    same text as state_dir/dovecot/dovecot.conf."""
    pid = dsrv.dovecot_master_pid()
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        args = f.read().split(b"\0")
    conf = args[args.index(b"-c") + 1].decode()
    assert conf.startswith("/run/tern-dovecot/"), args
    st = os.stat(conf)
    assert st.st_uid == 0 and st.st_mode & 0o022 == 0, (conf, oct(st.st_mode), st.st_uid)
    assert os.stat(os.path.dirname(conf)).st_uid == 0
    with open(conf) as f, open(os.path.join(dsrv.state_dir, "dovecot", "dovecot.conf")) as g:
        text = f.read()
        assert text == g.read()
    state = re.search(r"^state_dir = (\S+)$", text, re.M).group(1)
    assert state.startswith("/run/tern-dovecot/"), state
    assert os.stat(state).st_uid == 0


# ---- point 4: revoking is immediate ----------------------------------------

def assert_session_ended(poll, what):
    """poll() runs one command on an open session; it must fail (Dovecot
    closed the session) within a bounded wait."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            poll()
        except (imaplib.IMAP4.abort, imaplib.IMAP4.error, poplib.error_proto,
                OSError, EOFError):
            return
        time.sleep(0.1)
    raise AssertionError("%s: the session is still open 10s later" % what)


def close_quietly(*closers):
    """Closes sessions the server may have ended already."""
    for close in closers:
        try:
            close()
        except Exception:
            pass


def assert_login_refused(t, addr, pw):
    c = t.imap()
    try:
        with pytest.raises(imaplib.IMAP4.error):
            c.login(addr, pw)
    finally:
        c.shutdown()


def test_user_del_ends_a_live_imap_session(msrv):
    addr, pw = account(msrv, "del")
    c = login_imap(msrv, addr, pw)
    pop = msrv.pop3()
    pop.user(addr)
    pop.pass_(pw)
    try:
        assert c.select("INBOX")[0] == "OK"
        msrv.cli("user", "del", addr)
        assert_session_ended(c.noop, "IMAP after user del")
        assert_session_ended(pop.noop, "POP3 after user del")
    finally:
        close_quietly(c.shutdown, pop.close)
    # A second later nobody gets in under the deleted login.
    assert_login_refused(msrv, addr, pw)


def test_user_passwd_ends_sessions_and_the_old_password(msrv):
    addr, pw = account(msrv, "pwd")
    c = login_imap(msrv, addr, pw)
    try:
        new_pw = "pw-%s-new" % uniq("n")
        msrv.cli("user", "passwd", addr, "--password-stdin", input=new_pw + "\n")
        assert_session_ended(c.noop, "IMAP after user passwd")
    finally:
        close_quietly(c.shutdown)
    assert_login_refused(msrv, addr, pw)
    login_imap(msrv, addr, new_pw).logout()


@pytest.mark.parametrize("scheme,cost", [("$y$", 0), ("$2b$", 5), ("$6$", 0)],
                         ids=["yescrypt", "bcrypt", "sha512-crypt"])
def test_imap_login_with_an_old_servers_hash(msrv, scheme, cost):
    """Accounts moved over with `tern user add --password-hash` log in
    over IMAP and POP3 with their old passwords, and only with those."""
    addr = "%s@example.test" % uniq("hash")
    pw = "old-server-pw-" + scheme.strip("$")
    msrv.cli("user", "add", addr, "--password-hash", make_hash(pw, scheme, cost))
    login_imap(msrv, addr, pw).logout()
    pop = msrv.pop3()
    try:
        pop.user(addr)
        assert pop.pass_(pw).startswith(b"+OK")
    finally:
        close_quietly(pop.quit)
    assert_login_refused(msrv, addr, pw + "x")


class SourcedIMAP(imaplib.IMAP4):
    """imaplib from a chosen source address in 127.0.0.0/8."""

    def __init__(self, port, source, timeout=WAIT):
        self._source = source
        super().__init__("127.0.0.1", port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self._source, 0))


def imap_login_from(t, source, login, pw):
    """STARTTLS and LOGIN from source; the seconds it took and whether
    it got in."""
    c = SourcedIMAP(t.mailbox_port("imap"), source)
    try:
        c.starttls(ssl_context=ternlib.client_tls_context())
        started = time.monotonic()
        try:
            c.login(login, pw)
            ok = True
        except imaplib.IMAP4.error:
            ok = False
        return time.monotonic() - started, ok
    finally:
        close_quietly(c.shutdown)


def test_one_brake_colleagues_behind_one_address_are_not_slowed(dovecot_factory):
    """tern's brake is the only one: Dovecot's own auth penalty, which
    slows every login of an address after failures there, is off, so a
    user from an address she logged in from before is not slowed by a
    colleague's failures from it (the NAT of issue 8, over IMAP)."""
    t = dovecot_factory(auth_fail_delay="0s")
    t.setup(domains=["example.test"])
    add_account(t, "alice@example.test", "alice-nat-pw-1")
    add_account(t, "bob@example.test", "bob-nat-pw-2")
    t.start()
    nat = "127.0.0.7"
    assert imap_login_from(t, nat, "alice@example.test", "alice-nat-pw-1")[1]
    for i in range(4):
        assert not imap_login_from(t, nat, "bob@example.test", "stale-%d" % i)[1]
    took, ok = imap_login_from(t, nat, "alice@example.test", "alice-nat-pw-1")
    assert ok, "alice refused after bob's failures from her address\n%s" % t.log_tail()
    assert took < 5, "alice's login took %.1fs after bob's failures from her " \
        "address: a brake beside tern's slows her" % took
    cfg = open(os.path.join(t.state_dir, "dovecot", "dovecot.conf")).read()
    assert re.search(r"unix_listener anvil-auth-penalty \{\s*mode = 0\s*\}", cfg), cfg
