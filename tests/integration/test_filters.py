"""
Issue 11, points 9 and 10: tern's own filter protocol (docs/filters.md).
Filters are programs master runs (filters = NAME PATH [ARG...]) and
restarts with back-off; smtpd speaks tern-filter 1 with them.  A probe
filter (filter_probe.py) records what tern writes and answers each hook as
the test's addresses tell it; the two example filters of contrib/filters/
run for real.  Every wait is bounded.
"""
import base64
import os
import re
import time

import pytest

from ternlib import (REPO, WAIT, RawSMTP, add_account, b64, header,
                     header_lines,
                     instance_factory, make_msg, make_tempdir, module_server,
                     queue_id, uniq, wait_until)

PYTHON = "/usr/bin/python3"
PROBE = os.path.join(REPO, "tests", "integration", "filter_probe.py")
RATELIMIT = os.path.join(REPO, "contrib", "filters", "ratelimit.py")
AUTHFAIL = os.path.join(REPO, "contrib", "filters", "authfail.py")

ALL_REPORTS = ("connect+tls+auth+helo+mail+rcpt+queued+delivered+deferred+"
               "bounced+disconnect")
ALL_HOOKS = "connect+helo+mail+rcpt+data-end"

ALICE, ALICE_PW = "alice@example.test", "alice-secret-pw-1"
BOB, BOB_PW = "bob@example.test", "bob-secret-pw-2"


def shared_dir():
    """A folder the filters (running as the server's user) may write."""
    d = make_tempdir("tern-filter-")
    os.chmod(d, 0o777)
    return d


def probe_item(name, record, *extra):
    return "%s %s %s --record %s %s" % (name, PYTHON, PROBE, record,
                                       " ".join(extra))


def prepare(t):
    t.setup(domains=["example.test"])
    add_account(t, ALICE, ALICE_PW)
    add_account(t, BOB, BOB_PW)
    # Any recipient passes tern's own check: the filter decides.
    t.cli("alias", "add", "@example.test", BOB)


def wait_ready(t, name, count=1, since=0):
    """Until smtpd logged the filter's handshake count times."""
    pat = re.compile(r"filter %s ready:" % re.escape(name))
    assert wait_until(lambda: len(pat.findall(t.log()[since:])) >= count,
                      timeout=3 * WAIT), t.log_tail(40)


class Record:
    """The lines a probe wrote down."""

    def __init__(self, path):
        self.path = path

    def lines(self):
        try:
            with open(self.path) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def wait(self, pred, what):
        got = []

        def check():
            got[:] = [l for l in self.lines() if pred(l)]
            return got
        assert wait_until(check, timeout=2 * WAIT), \
            "no %s in the record:\n%s" % (what, "\n".join(self.lines()[-40:]))
        return got

    def wait_prefix(self, prefix):
        return self.wait(lambda l: l.startswith(prefix), repr(prefix))


def decode(field):
    """A field as tern escapes it (the test's own decoder)."""
    if field == "-":
        return b""
    out, i = bytearray(), 0
    while i < len(field):
        if field[i] == "%":
            out.append(int(field[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(ord(field[i]))
            i += 1
    return bytes(out)


# ---- one server with a probe that records everything ----

@pytest.fixture(scope="module")
def probe_srv(request):
    d = shared_dir()
    rec = os.path.join(d, "record.txt")
    item = probe_item("probe", rec, "--reports", ALL_REPORTS,
                      "--hooks", ALL_HOOKS)
    settings = {"filters": item, "filter_timeout": "5s",
                "filter_default_action": "defer",
                "auth_fail_limit": 100000, "auth_fail_delay": "0s"}
    for t in module_server(request, settings, prepare):
        wait_ready(t, "probe")
        t.record = Record(rec)
        yield t


def session_lines(record, sid):
    return [l for l in record.lines() if len(l.split(" ")) > 2 and
            (l.split(" ")[2] == sid or
             (l.startswith("hook ") and l.split(" ")[3] == sid))]


def test_one_message_reports_and_hooks(probe_srv):
    t = probe_srv
    qid = t.send_auth(ALICE, ALICE_PW, [BOB], subject="reports")
    rec = t.record
    delivered = rec.wait_prefix("report delivered %s " % qid)[0]
    assert delivered.split(" ") == ["report", "delivered", qid, BOB, "local"]
    queued = rec.wait_prefix("report queued ")
    queued = [l for l in queued if l.split(" ")[3] == qid][0].split(" ")
    sid = queued[2]
    assert queued[5:] == ["1", BOB] and int(queued[4]) > 0
    lines = session_lines(rec, sid)
    words = [l.split(" ") for l in lines]
    events = [w[1] for w in words if w[0] == "report"]
    for ev in ("connect", "tls", "auth", "helo", "mail", "rcpt", "queued"):
        assert ev in events, "no %s report for %s:\n%s" % (ev, sid, "\n".join(lines))
    connect = [w for w in words if w[:2] == ["report", "connect"]][0]
    assert connect[3] == "127.0.0.1" and connect[5] == "submission"
    auth = [w for w in words if w[:2] == ["report", "auth"]][0]
    assert auth[3:] == ["127.0.0.1", "ok", "PLAIN", ALICE, "ok"]
    tls = [w for w in words if w[:2] == ["report", "tls"]][0]
    assert decode(tls[3]).startswith(b"TLSv1.")
    assert ["report", "mail", sid, qid, ALICE] in words
    assert ["report", "rcpt", sid, qid, BOB] in words
    # Hooks carry a token, the session id, and for MAIL and RCPT the login.
    hooks = [w for w in words if w[0] == "hook"]
    assert [w[2] for w in hooks] == ["connect", "helo", "helo", "mail",
                                     "rcpt", "data-end"], lines
    assert len({w[1] for w in hooks}) == len(hooks)    # one token each
    mail = [w for w in hooks if w[2] == "mail"][0]
    assert mail[3:] == [sid, qid, ALICE, ALICE]
    data_end = [w for w in hooks if w[2] == "data-end"][0]
    assert data_end[3:5] == [sid, qid] and data_end[6] == ALICE
    # The message came as a file descriptor, from tern's Received header.
    seen = [l for l in rec.lines() if l.startswith("MESSAGE Received: from")]
    assert any("size=%s" % data_end[5] in l for l in seen), seen
    disc = rec.wait_prefix("report disconnect %s" % sid)
    assert disc == ["report disconnect %s" % sid]


def test_deferred_report_from_the_queue(probe_srv):
    t = probe_srv
    # No DNS answers on this machine: the remote recipient is deferred.
    qid = t.send_auth(ALICE, ALICE_PW, ["someone@remote.test"])
    line = t.record.wait_prefix("report deferred %s " % qid)[0].split(" ")
    assert line[3] == "someone@remote.test" and len(line) == 5
    assert decode(line[4])[:2] == b"4."


def test_bounced_report_from_the_queue(factory):
    d = shared_dir()
    rec = Record(os.path.join(d, "record.txt"))
    t = factory(filters=probe_item("probe", rec.path, "--reports",
                                   "deferred+bounced+delivered"),
                queue_lifetime="1s", queue_retry_min="1s",
                queue_retry_max="1s")
    prepare(t)
    t.start()
    wait_ready(t, "probe")
    # No DNS answers here: deferred, then past queue_lifetime, bounced.
    qid = t.send_auth(ALICE, ALICE_PW, ["someone@remote.test"])
    line = rec.wait_prefix("report bounced %s " % qid)[0].split(" ")
    assert line[3] == "someone@remote.test" and len(line) == 5
    assert decode(line[4]).startswith(b"4.4.7 delivery time expired")
    # The bounce itself reaches the sender.
    rec.wait(lambda l: l.startswith("report delivered ") and
             l.endswith(" %s local" % ALICE), "the bounce delivered")


# No space (tern refuses a HELO with one), but the rest of a forger's kit.
HOSTILE_HELO = "evil.test%0D%0Areport\x1b[31m\t-x"
HOSTILE_LOCAL = '"a b\\"%0Areport rcpt FORGED"'


def test_hostile_helo_and_mail_cannot_forge_a_field(probe_srv):
    t = probe_srv
    with RawSMTP(t.port) as c:
        c.expect("EHLO " + HOSTILE_HELO, 250)
        c.expect("MAIL FROM:<%s@client.test>" % HOSTILE_LOCAL, 250)
        c.expect("QUIT", 221)
    rec = t.record
    helo = rec.wait(lambda l: l.startswith("report helo ") and
                    "evil.test" in l, "hostile helo")[0].split(" ")
    assert len(helo) == 4, helo
    assert decode(helo[3]).startswith(b"evil.test%0D%0Areport")
    assert "%250D%250Areport" in helo[3]
    assert not any(c in helo[3] for c in "\x1b\t\r")
    mail = rec.wait(lambda l: l.startswith("report mail ") and
                    "%20b" in l, "hostile mail")[0].split(" ")
    assert len(mail) == 5, mail
    assert decode(mail[4]).startswith(b'"a b')
    assert not any("FORGED" in l.split(" ")[1] for l in rec.lines())


def test_hostile_login_cannot_forge_a_field(probe_srv):
    t = probe_srv
    login = "x y\r\nreport auth forged 127.0.0.9 ok"
    c = t.raw_tls("submission")
    try:
        c.expect("EHLO client.test", 250)
        c.starttls()
        c.expect("EHLO client.test", 250)
        code, _ = c.cmd("AUTH PLAIN " + b64("\0%s\0whatever" % login))
        assert code == 535
        c.cmd("QUIT")
    finally:
        c.close()
    auth = t.record.wait(lambda l: l.startswith("report auth ") and
                         " fail " in l and "x%20y" in l, "hostile auth")
    w = auth[0].split(" ")
    assert len(w) == 8, w
    assert w[3:5] == ["127.0.0.1", "fail"] and decode(w[6]) == login.encode()
    assert w[7] == "unknown", w
    assert not any(l.startswith("report auth forged") for l in t.record.lines())


def rcpt_reply(t, rcpt, sender="someone@client.test"):
    with RawSMTP(t.port) as c:
        c.expect("EHLO client.test", 250)
        c.expect("MAIL FROM:<%s>" % sender, 250)
        return c.cmd("RCPT TO:<%s>" % rcpt)


def test_hook_reject_and_defer(probe_srv):
    t = probe_srv
    assert rcpt_reply(t, "reject-%s@example.test" % uniq()) == \
        (550, "5.7.1 RCPT refused by the probe")
    # No enhanced code from the filter: tern adds one of the right class.
    assert rcpt_reply(t, "defer-%s@example.test" % uniq()) == \
        (450, "4.7.1 Try this one later")
    with RawSMTP(t.port) as c:
        c.expect("EHLO client.test", 250)
        assert c.cmd("MAIL FROM:<defer-x@client.test>") == \
            (451, "4.7.1 MAIL deferred by the probe")
        c.expect("MAIL FROM:<fine@client.test>", 250)
    t.wait_log(r"reject MAIL from \[127\.0\.0\.1\] by filter probe: "
               r"451 4\.7\.1 MAIL deferred by the probe")


def test_hook_disconnect(probe_srv):
    t = probe_srv
    with RawSMTP(t.port) as c:
        c.expect("EHLO client.test", 250)
        assert c.cmd("MAIL FROM:<disc-x@client.test>") == \
            (421, "4.7.0 The probe hangs up")
        assert c.closed_by_server()


def test_hook_helo_reject_answers_the_session(probe_srv):
    t = probe_srv
    with RawSMTP(t.port) as c:
        code, text = c.cmd("EHLO reject-me.client.test")
        assert (code, text) == (550, "5.7.1 HELO refused by the probe")
        # As a milter's refusal at HELO: every later transaction hears it.
        assert c.cmd("MAIL FROM:<a@client.test>")[0] == 550


def test_hook_data_end_add_header(probe_srv):
    t = probe_srv
    msg = make_msg(subject="add", sender=ALICE, extra="X-Probe-Action: add-header\r\n")
    t.send_auth(ALICE, ALICE_PW, [BOB], msg=msg)
    assert wait_until(lambda: any(header(m, "X-Probe") for m in t.messages(BOB)),
                      timeout=2 * WAIT), t.log_tail()
    m = [m for m in t.messages(BOB) if header(m, "X-Probe")][0]
    assert header(m, "X-Probe").startswith("seen by the probe, size=")
    # Added at the end of the header, below the client's own fields.
    names = [n for n, _ in header_lines(m)]
    assert names.count("X-Probe") == 1
    assert names.index("X-Probe") > names.index("Message-ID"), names
    assert names.index("X-Probe") > names.index("Received"), names


def test_hook_data_end_reject(probe_srv):
    t = probe_srv
    msg = make_msg(subject="rej", sender=ALICE, extra="X-Probe-Action: reject\r\n")
    with t.client("submission", login=ALICE, password=ALICE_PW) as s:
        s.mail(ALICE)
        s.rcpt(BOB)
        code, text = s.data(msg)
    assert (code, text) == (554, b"5.7.1 Content refused by the probe")


def test_hook_data_end_hold(probe_srv):
    t = probe_srv
    mark = t.log_mark()
    msg = make_msg(subject="hold", sender=ALICE, extra="X-Probe-Action: hold\r\n")
    qid = t.send_auth(ALICE, ALICE_PW, [BOB], msg=msg)
    t.wait_log(r"hold at end-of-message by filter probe: the probe holds it",
               since=mark)
    assert qid


# ---- broken filters: each on its own server ----

@pytest.fixture
def factory(request):
    yield from instance_factory(request)


def probe_server(factory, name="probe", hooks="mail", extra=(), **settings):
    d = shared_dir()
    rec = os.path.join(d, "record.txt")
    item = probe_item(name, rec, "--hooks", hooks, *extra)
    settings.setdefault("filter_timeout", "3s")
    t = factory(filters=item, **settings)
    prepare(t)
    t.start()
    wait_ready(t, name)
    t.record = Record(rec)
    return t


def mail_reply(t, sender, timeout=WAIT):
    with RawSMTP(t.port, timeout=timeout) as c:
        c.expect("EHLO client.test", 250)
        got = c.cmd("MAIL FROM:<%s>" % sender)
        # The session goes on after the filter's trouble.
        c.expect("RSET", 250)
        c.expect("QUIT", 221)
        return got


def starts(t, name, since=0):
    return len(re.findall(r"started filter %s pid=" % re.escape(name),
                          t.log()[since:]))


def test_crashing_filter_gets_the_default_action_and_is_restarted(factory):
    t = probe_server(factory)
    mark = t.log_mark()
    assert mail_reply(t, "crash-%s@client.test" % uniq()) == \
        (451, "4.7.1 Service unavailable - try again later")
    t.wait_log(r"filter probe: it closed its socket", since=mark)
    t.wait_log(r"filter probe pid=\d+ exited with status 3", since=mark)
    # Restarted by master, with its back-off, and asked again.
    wait_ready(t, "probe", since=mark)
    assert starts(t, "probe", mark) == 1
    assert mail_reply(t, "fine@client.test")[0] == 250


def test_crashing_filter_with_default_proceed(factory):
    t = probe_server(factory, filter_default_action="reject, probe=proceed")
    assert mail_reply(t, "crash-%s@client.test" % uniq())[0] == 250
    t.wait_log(r"filter probe stage=mail action=default-proceed")


def test_default_reject(factory):
    t = probe_server(factory, filter_default_action="reject")
    assert mail_reply(t, "crash-%s@client.test" % uniq()) == \
        (550, "5.7.1 Refused: a filter is not available")


def test_hanging_filter_times_out(factory):
    t = probe_server(factory, extra=("--hang", "6"), filter_timeout="2s")
    mark = t.log_mark()
    # Without the timeout the probe would answer proceed (250) after 6s.
    assert mail_reply(t, "hang-%s@client.test" % uniq(), timeout=3 * WAIT) == \
        (451, "4.7.1 Service unavailable - try again later")
    t.wait_log(r"filter probe: hook mail token=\d+: no reply within 2s: "
               r"default action defer", since=mark)
    # Its answer, when it comes, is too late and ignored; the filter
    # stays in service.
    t.wait_log(r"filter probe: late reply ignored: reply \d+ proceed",
               since=mark, timeout=3 * WAIT)
    assert mail_reply(t, "fine@client.test")[0] == 250
    assert starts(t, "probe", mark) == 0


def test_garbage_from_a_filter(factory):
    t = probe_server(factory)
    mark = t.log_mark()
    assert mail_reply(t, "garbage-%s@client.test" % uniq())[0] == 451
    t.wait_log(r"filter probe: protocol error \(unknown line\): this is not "
               r"a reply at all; calls in flight: 1, given the default "
               r"action defer; restarting it", since=mark)
    wait_ready(t, "probe", since=mark)
    assert mail_reply(t, "fine@client.test")[0] == 250


def test_forged_token_from_a_filter(factory):
    t = probe_server(factory)
    mark = t.log_mark()
    assert mail_reply(t, "forge-%s@client.test" % uniq())[0] == 451
    t.wait_log(r"filter probe: reply to a hook never asked: reply "
               r"99999999999 proceed", since=mark)
    wait_ready(t, "probe", since=mark)
    assert mail_reply(t, "fine@client.test")[0] == 250


def test_wrong_version_is_refused_at_start(factory):
    d = shared_dir()
    item = probe_item("future", os.path.join(d, "r.txt"), "--hooks", "mail",
                      "--version", "2")
    t = factory(filters=item)
    prepare(t)
    t.start()
    t.wait_log(r"filter future refused: it speaks tern-filter 2, tern "
               r"speaks tern-filter 1; it is not restarted and its hooks "
               r"are not called until tern restarts")
    t.wait_log(r"filter future is not restarted until tern restarts")
    # Mail flows; the filter stays stopped (no restart loop).
    assert mail_reply(t, "fine@client.test")[0] == 250
    time.sleep(2)
    assert starts(t, "future") == 1
    assert len(re.findall(r"filter future refused", t.log())) == 1


def test_bad_filters_setting_is_refused(factory):
    t = factory(filters="x relative/path.py")
    r = t.cli("config", "check", expect=None)
    assert r.rc != 0
    assert "filters: filter x: needs an absolute program path" in r.err


# ---- the two example filters of contrib/filters/, run by tern ----

def test_ratelimit_example(factory):
    t = factory(filters="rate %s %s --limit 2 --window 3600" % (PYTHON, RATELIMIT))
    prepare(t)
    t.start()
    wait_ready(t, "rate")
    for _ in range(2):
        t.send_auth(ALICE, ALICE_PW, [BOB])
    with t.client("submission", login=ALICE, password=ALICE_PW) as s:
        code, text = s.mail(ALICE)
    assert (code, text) == (451, b"4.7.1 Rate limit exceeded, try again later")
    # Another login has its own count; mail without AUTH is not counted.
    t.send_auth(BOB, BOB_PW, [ALICE])
    for _ in range(3):
        assert mail_reply(t, "someone@client.test")[0] == 250


def test_authfail_example(factory):
    d = shared_dir()
    out = os.path.join(d, "authfail.txt")
    t = factory(filters="authfail %s %s --file %s --limit 3 --window 600"
                % (PYTHON, AUTHFAIL, out),
                auth_fail_limit=100000, auth_fail_delay="0s")
    prepare(t)
    t.start()
    wait_ready(t, "authfail")

    def fail_once(login):
        c = t.raw_tls("submission")
        try:
            c.expect("EHLO client.test", 250)
            c.starttls()
            c.expect("EHLO client.test", 250)
            assert c.cmd("AUTH PLAIN " + b64("\0%s\0wrong" % login))[0] == 535
        finally:
            c.close()

    assert wait_until(lambda: os.path.exists(out), timeout=WAIT)
    fail_once(ALICE)
    fail_once("nobody@example.test")
    # A success does not count.
    t.send_auth(ALICE, ALICE_PW, [BOB])
    time.sleep(0.5)
    with open(out) as f:
        assert f.read() == ""
    fail_once(ALICE)

    def listed():
        with open(out) as f:
            return f.read()
    assert wait_until(lambda: listed() == "127.0.0.1\n", timeout=2 * WAIT), \
        repr(listed())
