"""
Issue 9, point 3: the screen asks DNS blocklists and allowlists about each
new client on port 25, from a DNS server the test runs on loopback:
weights, threshold and filters; a listed client refused before the greet
wait ends, an allowlisted one handed over before it ends; the answers
cached for their TTL and shared by concurrent connections; a list that
never answers.
"""
import socket
import time

import pytest

from dnsserver import DNSServer
from ternlib import RawTLS, needs_loopback_sources

pytestmark = needs_loopback_sources

RCPT = "rcpt@example.test"


@pytest.fixture(scope="module")
def dns():
    d = DNSServer().start()
    # 127.0.2.1: in bl.test (127.0.0.2) and bl2.test; 127.0.2.2: in
    # bl.test with a code outside the filter, and in bl2.test; 127.0.2.3:
    # in wl.test; 127.0.2.4: in bl.test, answer kept 300 s.
    d.add("1.2.0.127.bl.test A 127.0.0.2", "1.2.0.127.bl2.test A 127.0.0.2",
          "2.2.0.127.bl.test A 127.0.0.9", "2.2.0.127.bl2.test A 127.0.0.2",
          "3.2.0.127.wl.test A 127.0.0.2")
    d.add("4.2.0.127.bl.test A 127.0.0.2", ttl=300)
    yield d
    d.stop()


def start(tern_factory, dns, **settings):
    base = {
        "dns_servers": "127.0.0.1:%d" % dns.port,
        "screen_access": "permit 127.0.0.1",
        "screen_greet_wait": "1s",
    }
    base.update(settings)
    t = tern_factory(**base)
    t.setup(domains=["example.test"], users=[RCPT])
    t.start()
    return t


def connect(t, src):
    s = socket.create_connection(("127.0.0.1", t.port), timeout=15,
                                 source_address=(src, 0))
    s.settimeout(15)
    return s


def read_until(s, marker):
    data = b""
    deadline = time.monotonic() + 15
    while marker not in data and time.monotonic() < deadline:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def asked(dns, name):
    return sum(1 for q in dns.queries if q == (name, "A"))


def test_listed_client_dropped_before_the_wait_ends(tern_factory, dns):
    """With a 30 s greet wait the 521 comes as soon as the answers are in
    (the socket's 15 s timeout would end the read first otherwise)."""
    t = start(tern_factory, dns, screen_greet_wait="30s",
              screen_dnsbl_sites="bl.test*2, bl2.test", screen_dnsbl_threshold="2",
              screen_dnsbl_action="drop")
    s = connect(t, "127.0.2.1")
    got = read_until(s, b"bl.test\r\n")
    assert got == (b"220-mx.example.test ESMTP\r\n521 5.7.1 Service unavailable; "
                   b"client [127.0.2.1] blocked using bl.test\r\n"), got
    assert s.recv(100) == b""
    s.close()
    # Decided as soon as bl.test is in: 2 or 3, whichever came first.
    t.wait_log(r"DNSBL rank [23] for \[127\.0\.2\.1\]:\d+")
    # Remembered: the next connection is refused at once, no new query.
    n = asked(dns, "1.2.0.127.bl.test")
    s = connect(t, "127.0.2.1")
    assert read_until(s, b"\r\n").startswith(b"521 5.7.1 ")
    s.close()
    t.wait_log(r"FAIL OLD \[127\.0\.2\.1\]:\d+ reason=dnsbl")
    assert asked(dns, "1.2.0.127.bl.test") == n


def test_weights_threshold_and_filter(tern_factory, dns):
    """bl.test's filter takes 127.0.0.2-3 only: 127.0.2.2's 127.0.0.9 is
    no listing, its score is bl2.test's 1, under the threshold of 3."""
    t = start(tern_factory, dns,
              screen_dnsbl_sites="bl.test=127.0.0.[2..3]*2 bl2.test wl.test*-3",
              screen_dnsbl_threshold="3", screen_dnsbl_action="enforce")
    with RawTLS(t.port, source="127.0.2.2") as c:
        assert c.greeting[0] == 220
        c.expect("EHLO client.test", 250)
        c.expect("MAIL FROM:<a@client.test>", 250)
        c.expect("RCPT TO:<%s>" % RCPT, 250)
    t.wait_log(r"PASS NEW \[127\.0\.2\.2\]")
    t.wait_log(r"connect from \[127\.0\.2\.2\]:\d+ port=smtp screen=pass-new dnsbl=1 ")
    with RawTLS(t.port, source="127.0.2.1") as c:
        assert c.greeting[0] == 220
        c.expect("EHLO client.test", 250)
        c.expect("MAIL FROM:<a@client.test>", 250)
        assert c.cmd("RCPT TO:<%s>" % RCPT) == (
            550, "5.7.1 Service unavailable; client [127.0.2.1] blocked using bl.test")
    t.wait_log(r"DNSBL rank 3 for \[127\.0\.2\.1\]")
    t.wait_log(r"connect from \[127\.0\.2\.1\]:\d+ port=smtp screen=enforce "
               r"reason=dnsbl dnsbl=3")


def test_allowlisted_client_handed_over_before_the_wait_ends(tern_factory, dns):
    t = start(tern_factory, dns, screen_greet_wait="30s",
              screen_dnsbl_sites="wl.test*-2", screen_dnsbl_allowlist_threshold="-1")
    s = connect(t, "127.0.2.3")
    got = read_until(s, b"220 mx.example.test ESMTP Tern\r\n")
    assert got == b"220-mx.example.test ESMTP\r\n220 mx.example.test ESMTP Tern\r\n", got
    s.close()
    t.wait_log(r"DNSBL allowed \[127\.0\.2\.3\]:\d+ score=-2")


def test_answers_cached_and_shared(tern_factory, dns):
    """Two clients from one address at once: one query per site.  With
    action ignore nothing is remembered, so a reconnection asks the lists
    again, and finds the answer in the cache (TTL 300 s): no new query."""
    name = "4.2.0.127.bl.test"
    dns.delay("bl.test", 0.5)
    try:
        t = start(tern_factory, dns, screen_dnsbl_sites="bl.test",
                  screen_dnsbl_action="ignore")
        before = asked(dns, name)
        a, b = connect(t, "127.0.2.4"), connect(t, "127.0.2.4")
        for s in (a, b):
            assert read_until(s, b"220 mx.example.test ESMTP Tern\r\n").endswith(
                b"220 mx.example.test ESMTP Tern\r\n")
            s.close()
        assert asked(dns, name) == before + 1, dns.queries
        s = connect(t, "127.0.2.4")
        assert read_until(s, b"Tern\r\n").endswith(b"220 mx.example.test ESMTP Tern\r\n")
        s.close()
        assert asked(dns, name) == before + 1, dns.queries
        t.wait_log(r"connect from \[127\.0\.2\.4\]:\d+ port=smtp screen=ignored "
                   r"reason=dnsbl dnsbl=1")
        assert "PASS NEW [127.0.2.4]" not in t.log()
    finally:
        dns.delay("bl.test", 0)


def test_list_that_never_answers(tern_factory, dns):
    """A list silent past screen_dnsbl_timeout does not list the client
    and is logged; the client passes, but is not remembered (its pass
    rests on an answer that never came)."""
    dns.delay("slow.test", 60)
    try:
        t = start(tern_factory, dns, screen_dnsbl_sites="slow.test",
                  screen_dnsbl_timeout="1s")
        s = connect(t, "127.0.2.5")
        assert read_until(s, b"Tern\r\n").endswith(b"220 mx.example.test ESMTP Tern\r\n")
        s.close()
        t.wait_log(r"dnsbl: slow\.test did not answer for 127\.0\.2\.5 within 1s")
        t.wait_log(r"PASS NEW \[127\.0\.2\.5\]")
        s = connect(t, "127.0.2.5")
        assert s.recv(100).startswith(b"220-"), "a pass without answers was remembered"
        s.close()
    finally:
        dns.delay("slow.test", 0)


def test_reload_changes_the_lists_under_waiting_clients(tern_factory, dns):
    """SIGHUP with other lists while a client's answer is due: its check
    ends (the client goes on without a score, at the end of its wait), and
    the new lists apply to the next client."""
    dns.delay("bl.test", 3)
    try:
        t = start(tern_factory, dns, screen_greet_wait="2s",
                  screen_dnsbl_sites="bl.test", screen_dnsbl_action="drop")
        s = connect(t, "127.0.2.6")
        assert s.recv(100).startswith(b"220-")
        t.wait_log(r"screen\[\d+\]: remembered clients")
        t.write_config(screen_dnsbl_sites="bl2.test")
        mark = t.log_mark()
        t.signal(__import__("signal").SIGHUP)
        t.wait_log(r"screen\[\d+\]: reload: config read again", since=mark)
        assert read_until(s, b"Tern\r\n").endswith(b"220 mx.example.test ESMTP Tern\r\n")
        s.close()
        # At the end of its own wait (2 s), not when bl.test answers (3 s).
        t.wait_log(r"connect from \[127\.0\.2\.6\]:\d+ port=smtp screen=pass-new "
                   r"waited=2\.\d+s")
        # 127.0.2.1 is in bl2.test: the new list refuses it.
        s = connect(t, "127.0.2.1")
        got = read_until(s, b"bl2.test\r\n")
        assert got.endswith(b"blocked using bl2.test\r\n"), got
        s.close()
    finally:
        dns.delay("bl.test", 0)
