"""
Issue 9, the screen in front of port 25: the teaser and the greet wait,
clients that talk too early (pregreet) under each action, the access list,
relay_networks, the screen's bound and smtpd's, and the hand-over itself
(a message delivered through it names the real client).  Each client comes
from its own loopback address, as distinct clients on the internet would.
"""
import socket
import time

import pytest

from ternlib import RawTLS, make_msg, needs_loopback_sources, uniq, wait_until

pytestmark = needs_loopback_sources

RCPT = "rcpt@example.test"
TERN_SETTINGS = {
    "screen_greet_wait": "1s",
    "screen_access": "permit 127.0.0.1 127.0.9.0/24, reject 127.0.8.0/24",
    "relay_networks": "127.0.7.0/24",
}
TERN_SETUP = {"domains": ["example.test"], "users": [RCPT]}

_next = [0]


def source():
    """A loopback address no other test of this module used."""
    _next[0] += 1
    return "127.0.1.%d" % _next[0]


def connect(t, src):
    s = socket.create_connection(("127.0.0.1", t.port), timeout=10,
                                 source_address=(src, 0))
    s.settimeout(10)
    return s


def read_until(s, marker, limit=10):
    data = b""
    deadline = time.monotonic() + limit
    while marker not in data and time.monotonic() < deadline:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def quiet_for(s, seconds):
    """True when nothing arrives on s for that long."""
    s.settimeout(seconds)
    try:
        return s.recv(4096) == b""
    except socket.timeout:
        return True
    finally:
        s.settimeout(10)


def test_patient_client_passes_and_its_mail_is_delivered(srv):
    """The teaser, nothing more until the wait ends, then the last line of
    the greeting from smtpd; the session works and Received names the
    client's own address."""
    src = source()
    s = connect(srv, src)
    assert s.recv(4096) == b"220-mx.example.test ESMTP\r\n"
    assert quiet_for(s, 0.3), "the final 220 came before the greet wait"
    s.close()
    mark = srv.log_mark()
    src = source()
    with RawTLS(srv.port, source=src) as c:
        assert c.greeting == (220, "mx.example.test ESMTP\nmx.example.test ESMTP Tern")
        c.expect("EHLO client.test", 250)
        c.expect("MAIL FROM:<sender@client.test>", 250)
        c.expect("RCPT TO:<%s>" % RCPT, 250)
        c.expect("DATA", 354)
        subject = uniq("screen")
        c.send(make_msg(subject=subject) + b".\r\n")
        assert c.reply()[0] == 250
        c.expect("QUIT", 221)
    srv.wait_log(r"screen\[\d+\]: PASS NEW \[%s\]:\d+" % src, since=mark)
    srv.wait_log(r"connect from \[%s\]:\d+ port=smtp screen=pass-new waited=1\.\d+s"
                 % src, since=mark)
    assert wait_until(lambda: any(subject.encode() in m for m in srv.messages(RCPT)))
    mine = [m for m in srv.messages(RCPT) if subject.encode() in m]
    assert b"[%s]" % src.encode() in mine[0], mine[0]


def test_pregreet_enforced(srv):
    """Default action enforce: smtpd serves the client, refuses every
    recipient with 550 5.5.1, logs sender and recipient, and closes after
    the transaction."""
    mark = srv.log_mark()
    src = source()
    s = connect(srv, src)
    s.sendall(b"EHLO early.test\r\n")
    got = read_until(s, b"250 SMTPUTF8\r\n")
    assert b"220 mx.example.test ESMTP Tern\r\n" in got, got
    s.sendall(b"MAIL FROM:<bot@early.test>\r\n")
    assert read_until(s, b"\r\n").startswith(b"250 ")
    s.sendall(b"RCPT TO:<%s>\r\n" % RCPT.encode())
    assert read_until(s, b"\r\n") == b"550 5.5.1 Protocol error\r\n"
    s.sendall(b"DATA\r\n")
    assert read_until(s, b"\r\n") == b"554 5.5.1 Error: no valid recipients\r\n"
    assert s.recv(100) == b"", "the session stayed open after the transaction"
    s.close()
    srv.wait_log(r"screen\[\d+\]: PREGREET 17 after \d\.\d\ds from \[%s\]:\d+: "
                 r"EHLO early\.test\\x0d\\x0a" % src, since=mark)
    srv.wait_log(r"connect from \[%s\]:\d+ port=smtp screen=enforce reason=pregreet" % src,
                 since=mark)
    srv.wait_log(r"screen enforce: from=<bot@early\.test> to=<%s> reason=pregreet" % RCPT,
                 since=mark)


def test_access_list_permit_and_reject(srv):
    """permit: handed over at once, no teaser; reject: 521 and closed,
    before any test."""
    with RawTLS(srv.port, source="127.0.9.1") as c:
        assert c.greeting == (220, "mx.example.test ESMTP Tern")
        c.expect("QUIT", 221)
    s = connect(srv, "127.0.8.1")
    got = read_until(s, b"\r\n")
    assert got == b"521 5.7.1 Service unavailable; client [127.0.8.1] blocked by the access list\r\n"
    assert s.recv(100) == b""
    s.close()
    srv.wait_log(r"connect from \[127\.0\.9\.1\]:\d+ port=smtp screen=permit")
    srv.wait_log(r"REJECT \[127\.0\.8\.1\]:\d+ screen_access")


def test_relay_networks_pass_at_once(srv):
    with RawTLS(srv.port, source="127.0.7.1") as c:
        assert c.greeting == (220, "mx.example.test ESMTP Tern")
        c.expect("QUIT", 221)
    srv.wait_log(r"connect from \[127\.0\.7\.1\]:\d+ port=smtp relay=network screen=permit")


def test_hangup_logged(srv):
    src = source()
    s = connect(srv, src)
    assert s.recv(4096).startswith(b"220-")
    s.close()
    srv.wait_log(r"HANGUP after \d+\.\d\ds from \[%s\]:\d+" % src)


def start(tern_factory, **settings):
    t = tern_factory(**dict(TERN_SETTINGS, **settings))
    t.setup(**TERN_SETUP)
    t.start()
    return t


def test_pregreet_drop(tern_factory):
    t = start(tern_factory, screen_pregreet_action="drop")
    src = source()
    s = connect(t, src)
    s.sendall(b"HELO early.test\r\n")
    got = read_until(s, b"521 5.5.1 Protocol error\r\n")
    assert got == b"220-mx.example.test ESMTP\r\n521 5.5.1 Protocol error\r\n", got
    assert s.recv(100) == b""
    s.close()
    t.wait_log(r"PREGREET 17 after .* from \[%s\]" % src)
    assert "connect from [%s]" % src not in t.log(), "a dropped client reached smtpd"


def test_pregreet_ignore(tern_factory):
    """ignore: logged, the wait runs to its end, and the client is served
    (smtpd reads the early bytes as its first command)."""
    t = start(tern_factory, screen_pregreet_action="ignore")
    src = source()
    s = connect(t, src)
    s.sendall(b"EHLO early.test\r\n")
    got = read_until(s, b"250 SMTPUTF8\r\n")
    assert got.startswith(b"220-mx.example.test ESMTP\r\n220 mx.example.test ESMTP Tern\r\n250-"), got
    s.sendall(b"MAIL FROM:<a@early.test>\r\nRCPT TO:<%s>\r\n" % RCPT.encode())
    got = read_until(s, b"\r\n250 ")
    assert got.count(b"250 ") == 2, got
    s.close()
    t.wait_log(r"connect from \[%s\]:\d+ port=smtp screen=ignored reason=pregreet waited=1\.\d+s"
               % src)
    assert "PASS NEW [%s]" % src not in t.log()


def test_screen_full_and_server_busy(tern_factory):
    """screen_max_clients waiting: the next new client hears 421 4.3.2,
    while a permitted one still passes.  smtpd at its session limit: a
    client that passed the screen hears 421 4.3.2 after the teaser."""
    t = start(tern_factory, screen_max_clients="2", screen_greet_wait="30s",
              max_sessions="1")
    waiting = [connect(t, source()) for _ in range(2)]
    for s in waiting:
        assert s.recv(100).startswith(b"220-")
    src = source()
    s = connect(t, src)
    assert read_until(s, b"\r\n") == b"421 4.3.2 All screening ports are busy\r\n"
    s.close()
    t.wait_log(r"screen full: 2 clients waiting: 421 to \[%s\]" % src)
    # The start's probe (from 127.0.0.1) has left its session.
    t.wait_log(r"disconnect from \[127\.0\.0\.1\]")
    held = RawTLS(t.port, source="127.0.9.2")
    assert held.greeting[0] == 220
    for s in waiting:
        s.close()
    t.write_config(screen_greet_wait="0")
    t.signal(__import__("signal").SIGHUP)
    t.wait_log(r"screen\[\d+\]: reload: config read again")
    s = connect(t, source())
    got = read_until(s, b"421 4.3.2 All server ports are busy\r\n")
    assert got == b"220-mx.example.test ESMTP\r\n421 4.3.2 All server ports are busy\r\n", got
    s.close()
    held.close()


def test_stop_says_421_to_waiting_clients(tern_factory):
    t = start(tern_factory, screen_greet_wait="30s")
    s = connect(t, source())
    assert s.recv(100).startswith(b"220-")
    t.stop()
    got = read_until(s, b"\r\n")
    assert got == b"421 4.3.2 mx.example.test Service shutting down\r\n", got
    s.close()


def test_smtpd_restart_reconnects_the_screen(tern_factory):
    """smtpd killed: master starts another and hands the screen its
    channel; the next client that passes is served."""
    t = start(tern_factory, screen_greet_wait="0")
    kinds = t.child_kinds()
    old = [pid for pid, k in kinds.items() if k == "smtpd"]
    assert old, kinds
    mark = t.log_mark()
    __import__("os").kill(old[0], 9)
    t.wait_log(r"started smtpd pid=", since=mark)

    def served():
        with RawTLS(t.port, source=source()) as c:
            return c.greeting[0] == 220 and c.cmd("NOOP")[0] == 250
    assert wait_until(lambda: _quietly(served)), t.log_tail()


def _quietly(fn):
    try:
        return fn()
    except (OSError, EOFError, ValueError):
        return False


@pytest.mark.parametrize("value", ["permit", "allow 127.0.0.1", "permit 127.0.0.300",
                                   "127.0.0.1"])
def test_bad_access_list_refused(tern_factory, value):
    t = tern_factory(screen_access=value)
    r = t.cli("config", "check", expect=None)
    if value == "permit":
        assert r.rc == 0, r
    else:
        assert r.rc != 0 and "screen_access" in r.err, r


def greet_passes(t, src):
    """One patient session from src, through the greet wait; QUIT."""
    with RawTLS(t.port, source=src) as c:
        assert c.greeting[0] == 220, c.greeting
        c.expect("QUIT", 221)


def test_passed_client_is_remembered(srv):
    """PASS NEW once, then PASS OLD: the next connection is greeted at
    once, with the last line only."""
    src = source()
    mark = srv.log_mark()
    greet_passes(srv, src)
    srv.wait_log(r"PASS NEW \[%s\]" % src, since=mark)
    s = connect(srv, src)
    assert read_until(s, b"\r\n") == b"220 mx.example.test ESMTP Tern\r\n"
    s.close()
    srv.wait_log(r"PASS OLD \[%s\]:\d+" % src, since=mark)
    srv.wait_log(r"connect from \[%s\]:\d+ port=smtp screen=pass-old" % src, since=mark)


def test_remembered_pregreeter_enforced_at_once(srv):
    src = source()
    mark = srv.log_mark()
    s = connect(srv, src)
    s.sendall(b"EHLO early.test\r\n")
    read_until(s, b"250 SMTPUTF8\r\n")
    s.close()
    s = connect(srv, src)
    got = read_until(s, b"\r\n")
    assert got == b"220 mx.example.test ESMTP Tern\r\n", \
        "a remembered pregreeter waited again or heard the teaser: %r" % got
    s.sendall(b"EHLO late.test\r\n")
    read_until(s, b"250 SMTPUTF8\r\n")
    s.sendall(b"MAIL FROM:<a@late.test>\r\nRCPT TO:<%s>\r\n" % RCPT.encode())
    assert b"550 5.5.1 Protocol error\r\n" in read_until(s, b"550 5.5.1 Protocol error\r\n")
    s.close()
    srv.wait_log(r"FAIL OLD \[%s\]:\d+ reason=pregreet" % src, since=mark)
    srv.wait_log(r"connect from \[%s\]:\d+ port=smtp screen=enforce reason=pregreet\n" % src,
                 since=mark)


def test_remembered_pregreeter_dropped_at_once(tern_factory):
    t = start(tern_factory, screen_pregreet_action="drop")
    src = source()
    s = connect(t, src)
    s.sendall(b"EHLO early.test\r\n")
    assert read_until(s, b"521 5.5.1 Protocol error\r\n").endswith(b"521 5.5.1 Protocol error\r\n")
    s.close()
    s = connect(t, src)
    assert read_until(s, b"\r\n") == b"521 5.5.1 Protocol error\r\n"
    assert s.recv(100) == b""
    s.close()
    t.wait_log(r"FAIL OLD \[%s\]:\d+ reason=pregreet" % src)


def test_smtpd_finding_remembered(srv):
    """A client that passed the screen and then spoke HTTP: smtpd refuses
    it and reports it; the screen drops it at its next connection."""
    src = source()
    mark = srv.log_mark()
    with RawTLS(srv.port, source=src) as c:
        assert c.greeting[0] == 220
        c.send(b"GET / HTTP/1.0\r\n")
        assert c.reply()[0] == 521
    srv.wait_log(r"screen\[\d+\]: FAIL \[%s\] reason=non-smtp-command \(found by smtpd\)" % src,
                 since=mark)
    s = connect(srv, src)
    assert read_until(s, b"\r\n") == b"521 5.5.1 Protocol error\r\n"
    s.close()
    srv.wait_log(r"FAIL OLD \[%s\]:\d+ reason=non-smtp-command" % src, since=mark)


def test_remembered_clients_survive_a_restart(tern_factory):
    t = start(tern_factory)
    passed, failed = source(), source()
    greet_passes(t, passed)
    s = connect(t, failed)
    s.sendall(b"HELO early.test\r\n")
    read_until(s, b"250 ")
    s.close()
    t.wait_log(r"PREGREET .* from \[%s\]" % failed)
    t.stop()
    with open("%s/screen.cache" % t.state_dir) as f:
        saved = f.read()
    assert "%s PASS " % passed in saved and "%s FAIL " % failed in saved, saved
    mark = t.log_mark()
    t.start()
    t.wait_log(r"remembered clients: 2 loaded, 0 expired, 0 bad lines", since=mark)
    s = connect(t, passed)
    assert read_until(s, b"\r\n") == b"220 mx.example.test ESMTP Tern\r\n"
    s.close()
    t.wait_log(r"PASS OLD \[%s\]" % passed, since=mark)
    s = connect(t, failed)
    assert read_until(s, b"\r\n") == b"220 mx.example.test ESMTP Tern\r\n"
    s.close()
    t.wait_log(r"FAIL OLD \[%s\]:\d+ reason=pregreet" % failed, since=mark)


def test_per_client_limit_at_the_screen(tern_factory):
    """client_connection_limit on port 25 is the screen's: checked before
    the teaser (one plain 421), counting the clients waiting in the screen
    and, after the hand-over, those in smtpd until their session ends."""
    t = start(tern_factory, screen_greet_wait="30s", client_connection_limit="2",
              client_connection_rate="0")
    src = source()
    waiting = [connect(t, src) for _ in range(2)]
    for s in waiting:
        assert s.recv(100).startswith(b"220-")
    s = connect(t, src)
    assert read_until(s, b"\r\n") == b"421 4.7.0 Too many connections from your address\r\n"
    s.close()
    t.wait_log(r"screen\[\d+\]: warn: \[%s\]:\d+: too many connections from your "
               r"address count=2 limit=2 port=smtp" % src)
    waiting.pop().close()
    t.wait_log(r"HANGUP after .* from \[%s\]" % src)
    s = connect(t, src)
    assert s.recv(100).startswith(b"220-"), "a client that left still counted"
    s.close()
    for s in waiting:
        s.close()


def test_per_client_count_spans_the_hand_over(tern_factory):
    t = start(tern_factory, screen_greet_wait="0", client_connection_limit="1",
              client_connection_rate="0")
    src = source()
    first = RawTLS(t.port, source=src)
    assert first.greeting[0] == 220
    s = connect(t, src)
    assert read_until(s, b"\r\n") == b"421 4.7.0 Too many connections from your address\r\n"
    s.close()
    first.expect("QUIT", 221)
    first.close()

    def served():
        with RawTLS(t.port, source=src) as c:
            return c.greeting[0] == 220
    assert wait_until(lambda: _quietly(served)), \
        "the session ended, yet the screen still counts it\n" + t.log_tail()


def test_greet_wait_shorter_under_stress(tern_factory):
    """screen_greet_wait's stress value (2s) in force once master says
    stress: the client waits 2 s, not 6."""
    t = start(tern_factory, screen_greet_wait="6s", stress="on")
    t.wait_log(r"screen\[\d+\]: stress mode on: waiting=0/1000 greet_wait=2s")
    src = source()
    with RawTLS(t.port, source=src) as c:
        assert c.greeting[0] == 220
    t.wait_log(r"connect from \[%s\]:\d+ port=smtp screen=pass-new waited=2\.\d+s" % src)
