"""
Issue 9, point 8: per-client connection limits.  client_connection_limit
caps the connections one client address holds open at once, and
client_connection_rate the new ones it opens per minute; one more hears
`421 4.7.0 ...` and is closed, on every port, and the refusal is logged
with the address and the count.  Clients in relay_networks are exempt; a
reload takes new values at once.  (IPv6 clients are counted by their /64:
the loopback has one IPv6 address, so tests/unit/test_client_table.c
covers that; here ::1 is checked to be counted like any address.)

Each test uses its own source addresses in 127.0.0.0/8, never 127.0.0.1,
which the harness uses to see that the server is up.
"""
import contextlib
import re
import signal
import socket

import pytest

from ternlib import (WAIT, RawSMTP, free_port6, instance_factory,
                     needs_ipv6_loopback, needs_loopback_sources, wait_until)

TOO_MANY = "421 4.7.0 Too many connections from your address"
TOO_FAST = "421 4.7.0 Too many connections, slow down"

pytestmark = needs_loopback_sources


@pytest.fixture
def sub_factory(request):
    yield from instance_factory(request)


class Client(RawSMTP):
    """A plain connection from a chosen source address; .first is the
    first line the server sent (b"" when it closed without a word)."""

    def __init__(self, port, source, timeout=WAIT, host="127.0.0.1"):
        self.buf = b""
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0))
        try:
            self.first = self._line()
            while self.first.startswith("220-"):    # the screen's teaser
                self.first = self._line()
        except (EOFError, ConnectionResetError):
            self.first = ""

    @property
    def port(self):
        return self.sock.getsockname()[1]


def server(sub_factory, **settings):
    settings.setdefault("screen_access", "permit 127.0.0.1/32 ::1")
    settings.setdefault("screen_greet_wait", "0s")
    t = sub_factory(**settings)
    t.start()
    return t


def greeted(c):
    return c.first.startswith("220 ")


def open_many(port, source, n, host="127.0.0.1"):
    conns = [Client(port, source, host=host) for _ in range(n)]
    for c in conns:
        assert greeted(c), "connection from %s: got %r, want 220" % (source, c.first)
    return conns


def close_all(conns):
    for c in conns:
        c.close()


def refused_log(t, source, port, what, count, limit, kind, since):
    """Waits for the log line of one refusal and returns it."""
    pattern = r"\[%s\]:%d: %s count=%d limit=%d .*port=%s" % (
        re.escape(source), port, re.escape(what), count, limit, kind)
    t.wait_log(pattern, since=since)
    return re.search(pattern, t.log()[since:]).group(0)


def test_connection_limit_per_address(sub_factory):
    """Three open connections from 127.0.0.2; the fourth hears 421 and is
    closed, another address still gets in, and once one of the three
    ends a new one is greeted."""
    t = server(sub_factory, client_connection_limit="3",
               client_connection_rate="0")
    mark = t.log_mark()
    conns = open_many(t.port, "127.0.0.2", 3)
    try:
        with contextlib.closing(Client(t.port, "127.0.0.2")) as c:
            assert c.first == TOO_MANY, "4th connection: got %r" % c.first
            assert c.closed_by_server(), "still open after the 421"
            port = c.port
        refused_log(t, "127.0.0.2", port, "too many connections from your address",
                    3, 3, "smtp", mark)
        with contextlib.closing(Client(t.port, "127.0.0.3")) as other:
            assert greeted(other), "another address: got %r" % other.first
            other.expect("EHLO client.test", 250)
        conns.pop().cmd("QUIT")
        # The server counts the session ended once it has closed it.
        late = []

        def one_more():
            c = Client(t.port, "127.0.0.2")
            late.append(c)
            return greeted(c)
        ok = wait_until(one_more)
        close_all(late[:-1] if ok else late)
        assert ok, "no new connection after one ended: %d tries, the last %r" % (
            len(late), late[-1].first)
        conns.append(late[-1])
        with contextlib.closing(Client(t.port, "127.0.0.2")) as c:
            assert c.first == TOO_MANY, "4th connection again: got %r" % c.first
    finally:
        close_all(conns)


def test_connection_rate_per_address(sub_factory):
    """client_connection_rate = 5: five connections in a row from one
    address, the sixth hears 421 slow down; another address is not
    slowed by it."""
    t = server(sub_factory, client_connection_limit="0",
               client_connection_rate="5")
    mark = t.log_mark()
    for i in range(5):
        with contextlib.closing(Client(t.port, "127.0.0.4")) as c:
            assert greeted(c), "connection %d: got %r" % (i + 1, c.first)
            c.expect("QUIT", 221)
    with contextlib.closing(Client(t.port, "127.0.0.4")) as c:
        assert c.first == TOO_FAST, "6th connection: got %r" % c.first
        assert c.closed_by_server(), "still open after the 421"
        port = c.port
    line = refused_log(t, "127.0.0.4", port, "too many connections, slow down",
                       5, 5, "smtp", mark)
    assert "window=60s" in line, line
    with contextlib.closing(Client(t.port, "127.0.0.5")) as c:
        assert greeted(c), "another address: got %r" % c.first


def test_relay_networks_are_exempt(sub_factory):
    """A client in relay_networks holds and opens more than both limits
    allow; a client outside them does not."""
    t = server(sub_factory, relay_networks="127.0.0.6/32",
               client_connection_limit="2", client_connection_rate="3")
    conns = open_many(t.port, "127.0.0.6", 4)
    conns += open_many(t.port, "127.0.0.7", 2)
    try:
        with contextlib.closing(Client(t.port, "127.0.0.7")) as c:
            assert c.first == TOO_MANY, "outside relay_networks: got %r" % c.first
        conns += open_many(t.port, "127.0.0.6", 2)
    finally:
        close_all(conns)
    assert "too many connections" not in "\n".join(
        l for l in t.log().splitlines() if "[127.0.0.6]" in l), t.log_tail()


def test_submission_ports_count_together(sub_factory):
    """The count covers every port: connections on 25 and 587 add up; on
    587 the refusal is the same 421, on 465 (TLS from the first byte) the
    connection is closed without a word, as when the server is busy."""
    t = server(sub_factory, client_connection_limit="2",
               client_connection_rate="0")
    mark = t.log_mark()
    conns = open_many(t.port, "127.0.0.8", 1) + open_many(t.sub_port, "127.0.0.8", 1)
    try:
        with contextlib.closing(Client(t.sub_port, "127.0.0.8")) as c:
            assert c.first == TOO_MANY, "on 587: got %r" % c.first
            port = c.port
        refused_log(t, "127.0.0.8", port, "too many connections from your address",
                    2, 2, "submission", mark)
        with contextlib.closing(Client(t.subs_port, "127.0.0.8")) as c:
            assert c.first == "", "on 465: got %r, want nothing" % c.first
            port = c.port
        refused_log(t, "127.0.0.8", port, "too many connections from your address",
                    2, 2, "submissions", mark)
    finally:
        close_all(conns)


def test_reload_takes_new_limits(sub_factory):
    """SIGHUP: a higher client_connection_limit lets more in at once, and
    client_connection_limit = 0 turns the limit off."""
    t = server(sub_factory, client_connection_limit="1",
               client_connection_rate="0")
    conns = open_many(t.port, "127.0.0.9", 1)
    try:
        with contextlib.closing(Client(t.port, "127.0.0.9")) as c:
            assert c.first == TOO_MANY, "2nd connection: got %r" % c.first
        for limit, more in (("3", 2), ("0", 5)):
            t.write_config(client_connection_limit=limit)
            mark = t.log_mark()
            t.signal(signal.SIGHUP)
            # Port 25's limits are the screen's, the others smtpd's.
            t.wait_log(r"smtpd\[\d+\]: reload: config read again", since=mark)
            t.wait_log(r"screen\[\d+\]: reload: config read again", since=mark)
            conns += open_many(t.port, "127.0.0.9", more)
            if limit != "0":
                with contextlib.closing(Client(t.port, "127.0.0.9")) as c:
                    assert c.first == TOO_MANY, "past %s: got %r" % (limit, c.first)
    finally:
        close_all(conns)


@needs_ipv6_loopback
def test_ipv6_client_counted(sub_factory):
    """A client on ::1 is counted by its prefix like any other: two open,
    the third refused and logged with its address; IPv4 clients are not
    counted with it."""
    port6 = free_port6()
    t = sub_factory(client_connection_limit="2", client_connection_rate="0",
                    screen_access="permit 127.0.0.1/32", screen_greet_wait="0s")
    t.write_config(listen_smtp="127.0.0.1:%d, [::1]:%d" % (t.port, port6))
    t.start()
    mark = t.log_mark()
    conns = open_many(port6, "::1", 2, host="::1")
    try:
        with contextlib.closing(Client(port6, "::1", host="::1")) as c:
            assert c.first == TOO_MANY, "3rd connection on ::1: got %r" % c.first
            port = c.port
        refused_log(t, "::1", port, "too many connections from your address",
                    2, 2, "smtp", mark)
        conns += open_many(t.port, "127.0.0.10", 2)
    finally:
        close_all(conns)


def test_screen_access_permits_are_exempt(sub_factory):
    """A client the screen permits (screen_access) is handed to smtpd as
    permitted, and smtpd does not count it; one the screen screened is."""
    t = server(sub_factory, screen_access="permit 127.0.0.1/32 127.0.0.12/32",
               client_connection_limit="2", client_connection_rate="3")
    conns = open_many(t.port, "127.0.0.12", 5)
    conns += open_many(t.port, "127.0.0.13", 2)
    try:
        with contextlib.closing(Client(t.port, "127.0.0.13")) as c:
            assert c.first == TOO_MANY, "screened client: got %r" % c.first
    finally:
        close_all(conns)
