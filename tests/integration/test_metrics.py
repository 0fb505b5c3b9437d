"""
Issue 12, point 5: metrics_listen serves Prometheus's text format at
/metrics, only to metrics_allow.  A scrape before and after known traffic
(messages accepted and delivered, refused recipients, good, wrong and
miscased logins over SMTP AUTH) shows the counters moved by exactly that;
the page parses with prometheus_client's parser; a client outside
metrics_allow is refused; a slow or garbage HTTP client stalls neither
another scrape nor an SMTP session.
"""
import imaplib
import os
import poplib
import signal
import socket
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

import ternlib
from ternlib import (IS_ROOT, WAIT, DovecotTern, add_account, free_port,
                     free_port6, instance_factory, needs_loopback_sources,
                     wait_until)

pytestmark = needs_loopback_sources

ALICE, ALICE_PW = "alice@example.test", "alice-secret-pw-1"


@pytest.fixture
def sub_factory(request):
    yield from instance_factory(request)


@pytest.fixture
def dovecot_factory(request):
    yield from instance_factory(request, DovecotTern)


def metrics_server(sub_factory, **settings):
    port = free_port()
    settings.setdefault("auth_fail_limit", "100000")
    settings.setdefault("auth_fail_delay", "0s")
    t = sub_factory(metrics_listen="127.0.0.1:%d" % port, **settings)
    t.metrics_port = port
    t.setup(domains=["example.test"])
    add_account(t, ALICE, ALICE_PW)
    t.start()
    return t


def http(t, request, source="127.0.0.1", timeout=WAIT, host="127.0.0.1",
         port=None):
    """Sends request bytes; returns everything the server sent until it
    closed."""
    with socket.create_connection((host, port or t.metrics_port),
                                  timeout=timeout,
                                  source_address=(source, 0)) as s:
        s.sendall(request)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return out


def response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body.decode("utf-8")


def scrape(t, version="1.0", source="127.0.0.1", timeout=WAIT):
    req = "GET /metrics HTTP/%s\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\n\r\n" % version
    status, headers, body = response(http(t, req.encode(), source=source,
                                          timeout=timeout))
    assert status == 200, (status, body)
    assert headers["content-type"].startswith("text/plain; version=0.0.4"), headers
    assert headers["connection"] == "close", headers
    assert int(headers["content-length"]) == len(body.encode("utf-8")), headers
    return body


def samples(body):
    """{(sample name, sorted labels): value}, through prometheus_client's
    parser, which raises on anything not in the text format."""
    out = {}
    for fam in text_string_to_metric_families(body):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(smp, name, **labels):
    return smp.get((name, tuple(sorted(labels.items()))))


def login(t, user, password):
    c = t.raw_tls("submission")
    try:
        c.expect("EHLO client.test", 250)
        c.starttls()
        c.expect("EHLO client.test", 250)
        code, _ = c.auth_plain(user, password)
        return code
    finally:
        c.close()


def reported(t):
    """A scrape where every child has reported."""
    def ready():
        smp = samples(scrape(t))
        return (value(smp, "tern_logins_total", protocol="smtp", result="ok") is not None
                and value(smp, "tern_queue_messages") is not None
                and value(smp, "tern_messages_accepted_total") is not None
                and value(smp, "tern_screen_waiting") is not None) and smp
    smp = wait_until(ready)
    assert smp, scrape(t)
    return smp


def test_scrape_counts_known_traffic(sub_factory):
    t = metrics_server(sub_factory)
    before = reported(t)
    # Logins over SMTP AUTH: 2 good, 1 wrong password, 1 unknown, 1 miscased.
    assert login(t, ALICE, ALICE_PW) == 235
    assert login(t, ALICE, "wrong-password-x") == 535
    assert login(t, "nobody@example.test", ALICE_PW) == 535
    assert login(t, "Alice@example.test", ALICE_PW) == 535
    # 3 messages accepted (one more good login), each delivered to alice.
    for i in range(3):
        t.send([ALICE], sender="someone@client.test")
    # Refused: one unknown recipient, one relay attempt.
    with t.smtp() as s:
        s.ehlo("client.test")
        assert s.mail("someone@client.test")[0] == 250
        assert s.rcpt("nobody@example.test")[0] == 550
        assert s.rcpt("someone@elsewhere.test")[0] == 554
    want = {
        ("tern_logins_total", (("protocol", "smtp"), ("result", "ok"))): 1,
        ("tern_logins_total", (("protocol", "smtp"), ("result", "password"))): 1,
        ("tern_logins_total", (("protocol", "smtp"), ("result", "unknown"))): 1,
        ("tern_logins_total", (("protocol", "smtp"), ("result", "case-mismatch"))): 1,
        ("tern_logins_total", (("protocol", "smtp"), ("result", "throttled"))): 0,
        ("tern_logins_total", (("protocol", "imap"), ("result", "ok"))): 0,
        ("tern_messages_accepted_total", ()): 3,
        ("tern_recipients_delivered_total", ()): 3,
        ("tern_recipients_bounced_total", ()): 0,
        ("tern_rejected_total", (("reason", "unknown-recipient"),)): 1,
        ("tern_rejected_total", (("reason", "relay"),)): 1,
        ("tern_rejected_total", (("reason", "sender"),)): 0,
        ("tern_rejected_total", (("reason", "data"),)): 0,
    }

    def moved():
        smp = samples(scrape(t))
        got = {k: smp.get(k, 0) - before.get(k, 0) for k in want}
        return got == want and smp, got
    ok = wait_until(lambda: moved()[0])
    assert ok, "counter increments: got %r, want %r" % (moved()[1], want)
    smp = ok
    assert value(smp, "tern_stress_mode") == 0
    assert value(smp, "tern_process_up", process="smtpd") == 1
    assert wait_until(lambda: value(samples(scrape(t)), "tern_queue_messages") == 0)
    for port in ("smtp", "submission", "submissions"):
        assert value(smp, "tern_sessions", port=port) is not None, port
    assert value(smp, "tern_queue_oldest_message_age_seconds") is not None


def login_deltas(t, before, want):
    """Waits until tern_logins_total moved by want ({(protocol, result): n},
    every other pair by 0)."""
    keys = [("tern_logins_total", (("protocol", p), ("result", r)))
            for p in ("smtp", "imap", "pop3")
            for r in ("ok", "unknown", "password", "case-mismatch",
                      "throttled", "tempfail")]

    def moved():
        smp = samples(scrape(t))
        got = {(dict(k[1])["protocol"], dict(k[1])["result"]):
               smp.get(k, 0) - before.get(k, 0) for k in keys}
        got = {k: v for k, v in got.items() if v}
        return got == want, got
    if not wait_until(lambda: moved()[0]):
        assert False, "logins: got %r, want %r" % (moved()[1], want)


@ternlib.needs_package("dovecot-imapd", os.access(ternlib.DOVECOT_BIN, os.X_OK))
def test_imap_and_pop3_logins_counted(dovecot_factory):
    port = free_port()
    t = dovecot_factory(metrics_listen="127.0.0.1:%d" % port,
                        auth_fail_limit="100000", auth_fail_delay="0s")
    t.metrics_port = port
    t.setup(domains=["example.test"])
    add_account(t, ALICE, ALICE_PW)
    t.start()
    before = reported(t)
    c = t.imap()
    assert c.login(ALICE, ALICE_PW)[0] == "OK"
    c.logout()
    for user, pw in (("Alice@example.test", ALICE_PW), (ALICE, "wrong-pw-x1")):
        c = t.imap()
        try:
            with pytest.raises(imaplib.IMAP4.error):
                c.login(user, pw)
        finally:
            c.shutdown()
    p = t.pop3()
    try:
        p.user(ALICE)
        assert p.pass_(ALICE_PW).startswith(b"+OK")
    finally:
        p.quit()
    p = t.pop3()
    try:
        p.user("nobody@example.test")
        with pytest.raises(poplib.error_proto):
            p.pass_(ALICE_PW)
    finally:
        p.close()
    login_deltas(t, before, {("imap", "ok"): 1, ("imap", "case-mismatch"): 1,
                             ("imap", "password"): 1, ("pop3", "ok"): 1,
                             ("pop3", "unknown"): 1})


def test_page_follows_the_text_format(sub_factory):
    t = metrics_server(sub_factory)
    reported(t)
    body = scrape(t, version="1.1")
    names = set()
    for fam in text_string_to_metric_families(body):
        names.add(fam.name)
        assert fam.documentation, fam.name
        if fam.type == "counter":
            assert all(s.name.endswith("_total") for s in fam.samples
                       if not s.name.endswith("_created")), fam
    # Every family has its HELP and TYPE lines, every sample's name the
    # tern_ prefix.
    for line in body.splitlines():
        assert line.startswith("# HELP tern_") or line.startswith("# TYPE tern_") \
            or line.startswith("tern_"), line
    for want in ("tern_sessions", "tern_messages_accepted", "tern_rejected",
                 "tern_recipients_delivered", "tern_recipients_deferred",
                 "tern_recipients_bounced", "tern_logins",
                 "tern_queue_messages", "tern_queue_oldest_message_age_seconds",
                 "tern_stress_mode", "tern_screen_events"):
        assert want in names, (want, sorted(names))


def test_http_answers(sub_factory):
    t = metrics_server(sub_factory)
    cases = [
        (b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
        (b"HEAD /metrics HTTP/1.0\r\n\r\n", 405),
        (b"GET /metrics HTTP/2.0\r\n\r\n", 505),
        (b"GET /metrics\r\n\r\n", 400),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),
        (b"GET /metrics?x=1 HTTP/1.0\r\n\r\n", 200),
        (b"G" * 5000, 431),
    ]
    for req, want in cases:
        status, headers, _ = response(http(t, req))
        assert status == want, (req[:40], status, want)
        assert headers["connection"] == "close"
        if want == 405:
            assert headers["allow"] == "GET"


def test_client_outside_metrics_allow_is_refused(sub_factory):
    t = metrics_server(sub_factory, metrics_allow="127.0.0.1/32")
    mark = t.log_mark()
    for _ in range(2):
        got = http(t, b"GET /metrics HTTP/1.0\r\n\r\n", source="127.0.0.2")
        assert got == b"", got[:200]
    assert t.wait_log(r"metrics: refused \[127\.0\.0\.2\]", since=mark)
    # Logged once, not once per connection.
    assert t.log()[mark:].count("metrics: refused [127.0.0.2]") == 1, t.log_tail()
    assert "tern_stress_mode" in scrape(t)


def test_slow_and_garbage_clients_do_not_stall(sub_factory):
    t = metrics_server(sub_factory)
    hung = []
    try:
        # One trickles half a request line, one sends garbage without a
        # line end, one connects and says nothing.
        for data in (b"GET /met", b"\x00\x01garbage", b""):
            s = socket.create_connection(("127.0.0.1", t.metrics_port), timeout=WAIT)
            if data:
                s.sendall(data)
            hung.append(s)
        assert "tern_stress_mode" in scrape(t)
        with t.smtp() as s:
            assert s.ehlo("client.test")[0] == 250
        # Every connection slot held: a new scrape waits for the
        # deadline of the held ones, then is answered; SMTP meanwhile
        # answers at once.
        for _ in range(4):
            hung.append(socket.create_connection(("127.0.0.1", t.metrics_port),
                                                 timeout=WAIT))
        with t.smtp() as s:
            assert s.ehlo("client.test")[0] == 250
        assert "tern_stress_mode" in scrape(t, timeout=3 * WAIT)
        # The held ones were closed by the server at their deadline.
        s = hung[0]
        s.settimeout(WAIT)
        assert s.recv(100) == b""
    finally:
        for s in hung:
            s.close()


def test_reload_applies_metrics_allow(sub_factory):
    t = metrics_server(sub_factory)
    assert "tern_stress_mode" in scrape(t)
    mark = t.log_mark()
    t.write_config(metrics_allow="127.0.0.2")
    t.signal(signal.SIGHUP)
    t.wait_log(r"master\[\d+\]: reload: config read again", since=mark)
    assert http(t, b"GET /metrics HTTP/1.0\r\n\r\n") == b""
    assert "tern_stress_mode" in scrape(t, source="127.0.0.2")


def privileged_free_port():
    for port in range(990, 900, -1):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return None


@pytest.mark.skipif(not IS_ROOT, reason=ternlib.MACHINE + "binding a port under 1024 needs root")
def test_privileged_port_and_ipv6(sub_factory):
    """A port under 1024 is bound before master drops root; ::1 serves
    too, and is in the default metrics_allow."""
    low, v6 = privileged_free_port(), free_port6()
    if low is None:
        ternlib.machine_skip("no free port under 1024 on 127.0.0.1")
    listen = "127.0.0.1:%d" % low
    if v6 is not None:
        listen += ", [::1]:%d" % v6
    t = sub_factory(metrics_listen=listen)
    t.metrics_port = low
    t.start()
    assert "tern_stress_mode" in scrape(t)
    if v6 is not None:
        got = http(t, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                   source="::1", host="::1", port=v6)
        assert response(got)[0] == 200, got[:200]


def test_delivery_results_and_queue_age(sub_factory):
    """Through a relayhost that takes one recipient, refuses one for good
    and one for now: delivered, bounced and deferred move by one each (and
    delivered once more for the bounce to the local sender); the message
    waiting for its retry is the queue's oldest, and its age grows."""
    from outlib import MiniSMTP

    def rcpt(session, arg):
        if "bad@" in arg:
            return "550 5.1.1 no such user"
        if "later@" in arg:
            return "451 4.3.0 try again later"
        return None
    mini = MiniSMTP(reply={"RCPT": rcpt}).start()
    try:
        t = metrics_server(sub_factory,
                           relayhost="[127.0.0.1]:%d" % mini.port)
        before = reported(t)
        t.send_auth(ALICE, ALICE_PW, ["good@remote.test", "bad@remote.test",
                                      "later@remote.test"])
        want = {"tern_recipients_delivered_total": 2,
                "tern_recipients_bounced_total": 1,
                "tern_recipients_deferred_total": 1,
                "tern_messages_accepted_total": 1}

        def moved():
            smp = samples(scrape(t))
            got = {k: smp.get((k, ()), 0) - before.get((k, ()), 0) for k in want}
            return got == want and smp, got
        smp = wait_until(lambda: moved()[0])
        assert smp, "got %r, want %r" % (moved()[1], want)
        assert value(smp, "tern_queue_messages") == 1
        # Its age grows while it waits (queue_retry_min is 1h here).
        age = wait_until(lambda: value(samples(scrape(t)),
                                       "tern_queue_oldest_message_age_seconds") >= 2)
        assert age, scrape(t)
    finally:
        mini.stop()


def test_rejections_by_reason(sub_factory):
    """One refusal of each kind the log names: a local sender without
    AUTH, a bare LF in the message, a bare LF in a command line."""
    t = metrics_server(sub_factory)
    before = reported(t)
    with t.raw() as c:
        c.expect("EHLO client.test", 250)
        code, _ = c.cmd("MAIL FROM:<%s>" % ALICE)
        assert code == 553
        c.expect("MAIL FROM:<someone@client.test>", 250)
        c.expect("RCPT TO:<%s>" % ALICE, 250)
        c.expect("DATA", 354)
        c.send(b"Subject: x\r\n\r\nbare\nlf\r\n.\r\n")
        assert c.reply()[0] == 550
    with t.raw() as c:
        c.send(b"EHLO client.test\n")
        assert c.closed_by_server()
    want = {"sender": 1, "data": 1, "protocol": 1, "relay": 0,
            "unknown-recipient": 0, "plugin": 0, "screen": 0}

    def moved():
        smp = samples(scrape(t))
        got = {r: smp.get(("tern_rejected_total", (("reason", r),)), 0)
               - before.get(("tern_rejected_total", (("reason", r),)), 0)
               for r in want}
        return got == want, got
    assert wait_until(lambda: moved()[0]), "got %r, want %r" % (moved()[1], want)
