"""
Issue 12, points 3 and 4: tern writes its log to log_file (state_dir/log/
tern.log when stderr is not a terminal, as here), each line stamped,
rotated at log_file_size keeping log_file_keep files, mode 0640 in a
folder of the server's user; `tern log` shows whole sessions and messages
by login, client (IP or CIDR), address and id, the failures with their
reason, as JSON, and follows the file across a rotation.  Real server,
real clients from distinct loopback addresses.
"""
import json
import os
import re
import stat
import subprocess
import threading
import time

import pytest

from ternlib import (RUN_USER, TERN_BIN, WAIT, add_account, instance_factory,
                     module_server, needs_loopback_sources, uniq, wait_until)

PW = "log-account-pw-1"
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"
LINE = re.compile(r"^%s \S+\[\d+\]: " % STAMP)
SID = re.compile(r"^%s smtpd\[\d+\]: ([0-9A-Z]{8,32}): " % STAMP)

pytestmark = needs_loopback_sources


def logfile(t):
    return os.path.join(t.state_dir, "log", "tern.log")


def file_text(t):
    with open(logfile(t), encoding="utf-8", errors="replace") as f:
        return f.read()


def wait_file(t, pattern, timeout=WAIT):
    rx = re.compile(pattern, re.M)
    m = wait_until(lambda: os.path.exists(logfile(t)) and rx.search(file_text(t)),
                   timeout)
    assert m, "/%s/ not in %s within %ss" % (pattern, logfile(t), timeout)
    return m


def tern_log(t, *args, expect=0):
    return t.cli("log", *args, expect=expect).out


def groups(out):
    """Text output: groups apart by an empty line, each a list of lines."""
    return [g.splitlines() for g in out.strip("\n").split("\n\n") if g.strip()]


def session_of(lines):
    ids = {m.group(1) for m in map(SID.match, lines) if m}
    assert len(ids) == 1, "one session per group: %r" % lines
    return ids.pop()


def tls(t, source):
    return t.tls_session("submission", source)


def session_id(t, source, mark_text):
    """The id of the last session from source in the file."""
    ids = re.findall(r"smtpd\[\d+\]: ([0-9A-Z]+): connect from \[%s\]"
                     % re.escape(source), file_text(t))
    assert ids, "no session from %s in the file" % source
    return ids[-1]


def prepare(t):
    t.setup(domains=["example.test"])


@pytest.fixture(scope="module")
def lsrv(request):
    yield from module_server(request, {"login_case": "warn",
                                       "auth_fail_limit": 100000,
                                       "auth_fail_delay": "0s"}, prepare)


@pytest.fixture
def factory(request):
    yield from instance_factory(request)


def drive(t):
    """Four sessions: good login from .2 (with a message), miscased from
    .3, wrong password from .4, unknown login from .5."""
    alice = uniq("alice") + "@example.test"
    rcpt = uniq("rcpt") + "@example.test"
    add_account(t, alice, PW)
    add_account(t, rcpt, "rcpt-account-pw-2")
    qid = t.send_auth(alice, PW, rcpt, source="127.0.0.2")
    with tls(t, "127.0.0.3") as c:
        assert c.auth_plain(alice[0].upper() + alice[1:], PW)[0] == 235
    with tls(t, "127.0.0.4") as c:
        assert c.auth_plain(alice, "wrong-password")[0] == 535
    with tls(t, "127.0.0.5") as c:
        assert c.auth_plain("nobody-" + alice, PW)[0] == 535
    wait_file(t, r"queue\[\d+\]: %s: to=<%s> .*status=sent" % (qid, re.escape(rcpt)))
    wait_file(t, r"disconnect from \[127\.0\.0\.5\]")
    sids = {ip: session_id(t, ip, None) for ip in
            ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")}
    return alice, rcpt, qid, sids


def test_log_file_mode_owner_and_stamps(lsrv):
    wait_file(lsrv, r"tern starting")
    st = os.stat(logfile(lsrv))
    assert stat.S_IMODE(st.st_mode) == 0o640, oct(st.st_mode)
    d = os.stat(os.path.dirname(logfile(lsrv)))
    import pwd
    assert d.st_uid == pwd.getpwnam(RUN_USER).pw_uid
    assert st.st_uid == pwd.getpwnam(RUN_USER).pw_uid
    for line in file_text(lsrv).splitlines():
        assert LINE.match(line), "unstamped line %r" % line
    # stderr keeps every line, unstamped, as before.
    assert re.search(r"^master\[\d+\]: tern starting", lsrv.log(), re.M)


def test_login_client_id_and_groups(lsrv):
    alice, rcpt, qid, sids = drive(lsrv)
    # --login: the good, miscased and wrong-password sessions, each whole;
    # not the unknown login's.
    gs = groups(tern_log(lsrv, "--login", alice))
    got = {session_of([l for l in g if " smtpd[" in l]) for g in gs}
    assert got == {sids["127.0.0.2"], sids["127.0.0.3"], sids["127.0.0.4"]}, gs
    for g in gs:
        assert re.search(r": connect from \[", g[0]), g
        assert any(": disconnect from [" in l for l in g), g
    good = [g for g in gs if sids["127.0.0.2"] in g[0]][0]
    # The message, from its acceptance to its delivery, in its session.
    assert any("queued id=%s" % qid in l for l in good), good
    assert any(re.search(r"queue\[\d+\]: %s: to=<%s>.*status=sent" % (qid, re.escape(rcpt)), l)
               for l in good), good

    # --client, an address, then a network.
    gs = groups(tern_log(lsrv, "--client", "127.0.0.3"))
    assert [session_of(g) for g in gs] == [sids["127.0.0.3"]], gs
    gs = groups(tern_log(lsrv, "--client", "127.0.0.2/31", "--login", alice))
    assert {session_of([l for l in g if " smtpd[" in l]) for g in gs} == \
        {sids["127.0.0.2"], sids["127.0.0.3"]}, gs
    gs = groups(tern_log(lsrv, "--client", "127.0.0.4/30"))
    assert sids["127.0.0.4"] in {session_of(g) for g in gs}
    assert sids["127.0.0.2"] not in {session_of(g) for g in gs}

    # --id: the message and the session that sent it, nothing else.
    gs = groups(tern_log(lsrv, "--id", qid))
    assert len(gs) == 1, gs
    assert any("queued id=%s" % qid in l for l in gs[0])
    assert any(re.search(r"queue\[\d+\]: %s: " % qid, l) for l in gs[0])
    assert session_of([l for l in gs[0] if " smtpd[" in l]) == sids["127.0.0.2"]

    # --address: the recipient's delivery, with the session that queued it.
    gs = groups(tern_log(lsrv, "--address", rcpt.upper()))
    assert any("status=sent" in l for g in gs for l in g), gs

    # --since: an hour covers it all, a stamp in the past hides nothing.
    assert tern_log(lsrv, "--since", "1h", "--id", qid) == tern_log(lsrv, "--id", qid)

    # No filter: every line, as in the file.
    out = tern_log(lsrv)
    assert out and file_text(lsrv).startswith(out)
    objs = [json.loads(l) for l in tern_log(lsrv, "--json").splitlines()]
    assert "session:" + sids["127.0.0.4"] in {o["group"] for o in objs}

    # Nothing found: no output, status 0.
    assert tern_log(lsrv, "--login", "nobody-at-all") == ""


def test_failures_and_json(lsrv):
    alice, rcpt, qid, sids = drive(lsrv)
    out = tern_log(lsrv, "--failures", "--login", alice)
    lines = out.splitlines()
    miscased = alice[0].upper() + alice[1:]
    assert any("client=127.0.0.3" in l and "reason=case-mismatch" in l and
               "existing=%s" % alice in l and "login=%s" % miscased in l
               for l in lines), out
    assert any("client=127.0.0.4" in l and "reason=password" in l for l in lines), out
    out = tern_log(lsrv, "--failures", "--client", "127.0.0.5")
    assert any("reason=unknown" in l and "login=nobody-%s" % alice in l
               for l in out.splitlines()), out
    assert "127.0.0.2" not in tern_log(lsrv, "--failures", "--login", alice)

    # --json: one object per line; groups named; failures explained.
    objs = [json.loads(l) for l in tern_log(lsrv, "--json", "--login", alice).splitlines()]
    assert {o["group"] for o in objs} >= {"session:" + sids["127.0.0.2"],
                                          "session:" + sids["127.0.0.3"]}
    for o in objs:
        assert LINE.match(o["line"]) and o["time"] == o["line"][:29]
    sent = [o for o in objs if o.get("proc") == "queue" and o.get("id") == qid
            and "status" in o["fields"]]
    assert sent and sent[-1]["fields"]["status"] == "sent"
    assert sent[-1]["group"] == "session:" + sids["127.0.0.2"]
    fails = [json.loads(l) for l in
             tern_log(lsrv, "--json", "--failures", "--login", alice).splitlines()]
    f = [o["failure"] for o in fails if o["failure"]["client"] == "127.0.0.3"]
    assert f and f[0]["reason"] == "case-mismatch" and f[0]["existing"] == alice \
        and f[0]["login"] == miscased and f[0]["proto"] == "smtp", fails


def test_usage_and_errors(lsrv):
    lsrv.cli("log", "--since", "soon", expect=2)
    lsrv.cli("log", "--client", "300.1.1.1", expect=2)
    lsrv.cli("log", "--bogus", expect=2)
    lsrv.cli("log", "--login", expect=2)
    lsrv.write_config(log_file="")
    try:
        r = lsrv.cli("log", "--login", "x", expect=1)
        assert r.err.startswith("tern: ")
    finally:
        lsrv.write_config(log_file="auto")


class Follower:
    """`tern log --follow ARGS` in the background, its lines collected."""

    def __init__(self, t, *args):
        self.proc = subprocess.Popen([TERN_BIN, "-c", t.conf_path, "log", "--follow"]
                                     + list(args), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=WAIT)
        self.thread.join(timeout=WAIT)


def test_follow_since_shows_the_past_then_goes_on(lsrv):
    with tls(lsrv, "127.0.0.9") as c:
        c.cmd("NOOP")
    wait_file(lsrv, r"disconnect from \[127\.0\.0\.9\]")
    f = Follower(lsrv, "--since", "1h", "--client", "127.0.0.9")
    try:
        assert wait_until(lambda: any("disconnect from [127.0.0.9]" in l
                                      for l in f.lines)), f.lines
        with tls(lsrv, "127.0.0.9") as c:
            c.cmd("NOOP")
        assert wait_until(lambda: sum("disconnect from [127.0.0.9]" in l
                                      for l in f.lines) == 2), f.lines
    finally:
        f.stop()


def test_follow_sees_a_new_session(lsrv):
    f = Follower(lsrv, "--client", "127.0.0.6/31")
    try:
        # It starts at the end of the file: sessions from .6 until it
        # shows one, then the one to see.
        follower_ready(lsrv, f, "127.0.0.6")
        with tls(lsrv, "127.0.0.7") as c:
            c.cmd("NOOP")
        assert wait_until(lambda: any("disconnect from [127.0.0.7]" in l
                                      for l in f.lines), WAIT), f.lines
        assert any("TLS established from [127.0.0.7]" in l for l in f.lines)
        assert all("[127.0.0.6]" in l or "[127.0.0.7]" in l or " smtpd[" in l
                   for l in f.lines), f.lines
    finally:
        f.stop()


SESSIONS = 100
REJECTS = 15


def rotate_traffic(t, source):
    for i in range(SESSIONS):
        c = t.raw_tls("smtp", source=source)
        try:
            c.expect("EHLO client.test", 250)
            c.expect("MAIL FROM:<s@client.test>", 250)
            for j in range(REJECTS):
                code, _ = c.cmd("RCPT TO:<nobody-%d-%d@example.test>" % (i, j))
                assert code == 550
            c.expect("QUIT", 221)
        finally:
            c.close()


def per_session(lines, client="127.0.0.7"):
    """Lines per session, of the sessions from client."""
    counts, ours = {}, set()
    for l in lines:
        m = re.search(r"smtpd\[\d+\]: ([0-9A-Z]{8,32}): ", l)
        if m:
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
            if ": connect from [%s]" % client in l:
                ours.add(m.group(1))
    return {s: n for s, n in counts.items() if s in ours}


def follower_ready(t, f, source):
    """Sessions from source until the follower shows one: it has opened
    the file (a loaded machine may take a while to start it)."""
    deadline = time.monotonic() + 2 * WAIT
    while time.monotonic() < deadline:
        with t.raw_tls("smtp", source=source) as c:
            c.expect("QUIT", 221)
        if wait_until(lambda: any("[%s]" % source in l for l in f.lines), 1):
            return
    raise AssertionError("tern log --follow showed nothing: %r" % f.proc.stderr)


def test_rotation_keeps_lines_whole_and_follow_survives(factory):
    t = factory(log_file_size="64k", log_file_keep="2")
    t.setup(domains=["example.test"])
    t.start()
    wait_file(t, r"tern starting")
    f = Follower(t, "--client", "127.0.0.6/31")
    try:
        follower_ready(t, f, "127.0.0.6")
        rotate_traffic(t, "127.0.0.7")
        want = REJECTS + 2      # connect, the rejects, disconnect
        assert wait_until(lambda: len(per_session(f.lines)) == SESSIONS and
                          all(n == want for n in per_session(f.lines).values()),
                          3 * WAIT), per_session(f.lines)
    finally:
        f.stop()
    # Rotated, two kept, none beyond: tern.log.1, tern.log.2.
    base = logfile(t)
    assert os.path.exists(base + ".1") and os.path.exists(base + ".2")
    assert not os.path.exists(base + ".3")
    names = [base + ".2", base + ".1", base]
    text = []
    for n in names:
        st = os.stat(n)
        assert stat.S_IMODE(st.st_mode) == 0o640
        assert st.st_size <= 64 * 1024, (n, st.st_size)
        with open(n) as fh:
            data = fh.read()
        assert data.endswith("\n")
        text += data.splitlines()
    # Every line whole; every session whole but the oldest kept one,
    # which may have begun in a file that fell off.
    for line in text:
        assert LINE.match(line), "split or unstamped line %r" % line
    counts = per_session(text)
    assert len(counts) >= 40, counts
    # The oldest session kept may have begun in the file that fell off,
    # and then shows no connect line: every one counted here is whole.
    for s, n in counts.items():
        assert n == want, (s, n)
    # stderr got every line too.
    counts = per_session(t.log().splitlines())
    assert len(counts) == SESSIONS and set(counts.values()) == {want}


def test_logger_killed_is_restarted_and_loses_no_line(factory):
    t = factory()
    t.setup(domains=["example.test"])
    t.start()
    wait_file(t, r"tern starting")
    logger = [p for p, k in t.child_kinds().items() if k == "logger"]
    assert len(logger) == 1, t.child_kinds()
    os.kill(logger[0], 9)
    wait_file(t, r"the logger pid=%d ended" % logger[0])
    assert wait_until(lambda: [p for p, k in t.child_kinds().items()
                               if k == "logger" and p != logger[0]])
    for i in range(5):
        with t.raw_tls("smtp", source="127.0.0.8") as c:
            c.expect("QUIT", 221)
    assert wait_until(lambda: file_text(t).count("disconnect from [127.0.0.8]") == 5), \
        file_text(t)[-2000:]
    # Stopping writes the last lines before tern serve exits.
    assert t.stop() == 0
    assert re.search(r"master\[\d+\]: stopped$", file_text(t), re.M)


def test_log_file_elsewhere_keeps_its_folder_owner(factory):
    t = factory()
    logs = os.path.join(t.base, "logs")
    os.mkdir(logs)
    os.chmod(logs, 0o1777)      # the user may write; its owner keeps it
    owner = os.stat(logs).st_uid
    t.write_config(log_file=os.path.join(logs, "mail.log"))
    t.setup(domains=["example.test"])
    t.start()
    path = os.path.join(logs, "mail.log")
    assert wait_until(lambda: os.path.exists(path) and "tern starting" in open(path).read())
    assert os.stat(logs).st_uid == owner
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert not os.path.exists(logfile(t))
    # tern log reads it there.
    assert "connect from [127.0.0.1]" in t.cli("log", "--client", "127.0.0.1").out
    t.stop()
    # A path that climbs out is refused when the config is read.
    t.write_config(log_file="log/../../etc/x.log")
    r = t.cli("config", "check", expect=1)
    assert "log_file" in r.err


def test_syslog_gets_every_line_facility_mail(factory):
    """syslog = yes: each line reaches /dev/log, facility mail, tagged
    tern/PROC[PID] as Postfix tags its own.  The test plays syslogd, on a
    machine that has none."""
    import socket as so
    from ternlib import machine_skip
    if os.path.exists("/dev/log"):
        machine_skip("a syslog daemon owns /dev/log")
    if os.geteuid() != 0:
        machine_skip("only root may make /dev/log")
    sock = so.socket(so.AF_UNIX, so.SOCK_DGRAM)
    try:
        sock.bind("/dev/log")
        os.chmod("/dev/log", 0o666)
        sock.settimeout(0.2)
        t = factory(syslog="yes", log_file="")
        t.setup(domains=["example.test"])
        t.start()
        got = []

        def seen():
            try:
                while True:
                    got.append(sock.recv(8192).decode("utf-8", "replace"))
            except OSError:
                pass
            return any("tern starting" in g for g in got) and \
                any("disconnect from [127.0.0.1]" in g for g in got)
        assert wait_until(seen, WAIT), got
        start = [g for g in got if "tern starting" in g][0]
        # <22>: facility mail (2) * 8 + info (6).
        assert re.match(r"<22>.*tern/master\[\d+\]: tern starting", start), start
        warn = [g for g in got if "no tls_cert configured" in g]
        assert warn and warn[0].startswith("<20>"), warn      # mail.warning
        assert not os.path.exists(logfile(t))                 # log_file = ""
        t.stop()
    finally:
        sock.close()
        os.unlink("/dev/log")


def test_failures_on_imap_and_pop3_logins(factory):
    """IMAP and POP3 logins come through lookup (the Lua passdb, as
    Dovecot runs it): their failures are listed too, with the door."""
    from test_dovecot_login import ALICE, ALICE_PW, lua_login, server
    t = server(factory)
    assert lua_login(t, "Alice@example.test", ALICE_PW, client="127.0.0.14")[0] == 1
    assert lua_login(t, ALICE, "wrong-password", service="pop3",
                     client="127.0.0.15")[0] == 1
    wait_file(t, r"auth failed login=%s reason=password client=\[127\.0\.0\.15\] proto=pop3"
              % re.escape(ALICE))
    lines = tern_log(t, "--failures", "--login", ALICE).splitlines()
    assert any(" imap client=127.0.0.14 reason=case-mismatch login=Alice@example.test "
               "existing=%s" % ALICE in l for l in lines), lines
    assert any(" pop3 client=127.0.0.15 reason=password login=%s" % ALICE in l
               for l in lines), lines
    objs = [json.loads(l) for l in
            tern_log(t, "--json", "--failures", "--client", "127.0.0.14").splitlines()]
    assert [o["failure"]["proto"] for o in objs] == ["imap"], objs
    assert objs[0]["group"] is None and objs[0]["proc"] == "lookup"
