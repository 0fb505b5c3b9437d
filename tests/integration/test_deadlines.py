"""
Issue 8, point 14: a slowloris client that trickles bytes is cut off.
smtpd_timeout restarts on every byte; smtpd_command_deadline bounds one
command line from its first byte, and inside DATA the client must keep up
smtpd_min_data_rate after the first smtpd_command_deadline.  Each ends the
session with 421 4.4.2, logged reason=timeout or reason=slow.

Every trickle is a bounded loop: it stops when the server answers or
after a fixed number of bytes, whichever comes first.
"""
import select
import socket
import time

import pytest

from ternlib import WAIT, make_msg, uniq


def trickle(c, data, interval, max_bytes):
    """Sends one byte of data (cycled) every interval seconds, until the
    server has something to say or max_bytes were sent.  Returns how many
    bytes went out."""
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sent = 0
    while sent < max_bytes:
        try:
            c.sock.sendall(data[sent % len(data):sent % len(data) + 1])
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += 1
        readable, _, _ = select.select([c.sock], [], [], interval)
        if readable:
            break
    return sent


def trickle_chunks(c, chunk, interval, max_chunks):
    """As trickle, a chunk at a time."""
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for n in range(max_chunks):
        try:
            c.sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            return n
        readable, _, _ = select.select([c.sock], [], [], interval)
        if readable:
            return n + 1
    return max_chunks


def expect_421_and_close(c, what):
    c.sock.settimeout(WAIT)
    code, text = c.reply()
    assert (code, text[:5]) == (421, "4.4.2"), \
        "%s: got %d %r, want 421 4.4.2" % (what, code, text)
    assert c.closed_by_server(), "%s: connection open after the 421" % what


@pytest.fixture
def slow_srv(tern_factory):
    def make(**settings):
        t = tern_factory(**settings)
        t.cli("domain", "add", "example.test")
        t.start()
        return t
    return make


def test_trickled_command_line_cut_off_by_default(slow_srv):
    """smtpd_command_deadline defaults to smtpd_timeout: a byte every
    0.5 s keeps the idle timeout of 2 s from firing, never the deadline."""
    t = slow_srv(smtpd_timeout="2s")
    mark = t.log_mark()
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        # 60 bytes at 0.5 s would take 30 s: far past the 2 s deadline.
        sent = trickle(c, b"NOOP NOOP NOOP NOOP NOOP ", 0.5, 60)
        assert sent < 60, "the server let a trickled line run for %d bytes" % sent
        expect_421_and_close(c, "trickled command line")
    t.wait_log(r"deadline exceeded from \[127\.0\.0\.1\] .*reason=timeout", since=mark)


def test_command_deadline_setting(slow_srv):
    t = slow_srv(smtpd_timeout="60s", smtpd_command_deadline="2s")
    mark = t.log_mark()
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        # Silence between commands is smtpd_timeout's, not the deadline's.
        time.sleep(3)
        c.expect("NOOP", 250)
        # A line in a few quick pieces is fine.
        for piece in (b"MAIL FR", b"OM:<a@c.", b"test>\r\n"):
            c.send(piece)
            time.sleep(0.2)
        assert c.reply()[0] == 250
        sent = trickle(c, b"RSET RSET RSET ", 0.4, 75)
        assert sent < 75, "the server let a trickled line run for %d bytes" % sent
        expect_421_and_close(c, "trickled line, smtpd_command_deadline=2s")
    t.wait_log(r"deadline exceeded from \[127\.0\.0\.1\] .*reason=timeout", since=mark)


def test_over_long_trickled_line_cut_off(slow_srv):
    """A line without end, discarded in part, still has its deadline."""
    t = slow_srv(smtpd_timeout="60s", smtpd_command_deadline="2s")
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        c.send(b"X" * 13000)
        sent = trickle_chunks(c, b"X" * 100, 0.3, 100)
        assert sent < 100, "the server let an endless line run"
        expect_421_and_close(c, "endless line")


def test_trickled_data_cut_off_as_slow(slow_srv):
    t = slow_srv(smtpd_timeout="60s", smtpd_command_deadline="2s",
                 smtpd_min_data_rate="1000")
    rcpt = "slow@example.test"
    t.cli("user", "add", rcpt)
    mark = t.log_mark()
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@c.test>", 250)
        c.expect("RCPT TO:<%s>" % rcpt, 250)
        c.expect("DATA", 354)
        c.send(b"Subject: slow\r\n\r\n")
        # 20 bytes every 0.25 s is 80 bytes/s, below 1000: after the 2 s
        # allowance (and the few bytes it earned) the server must stop it.
        # 160 chunks would take 40 s.
        sent = trickle_chunks(c, b"x" * 18 + b"\r\n", 0.25, 160)
        assert sent < 160, "the server let a slow DATA run for %d chunks" % sent
        expect_421_and_close(c, "slow DATA")
    t.wait_log(r"deadline exceeded from \[127\.0\.0\.1\] .*reason=slow", since=mark)
    assert t.queue_files() == [], "a cut-off DATA left a queue file"
    assert t.delivered(rcpt) == [], "a cut-off DATA was delivered"


def test_data_at_a_good_rate_passes(slow_srv):
    """A message larger than the allowance alone would take, sent at a
    good rate, is accepted: the allowance grows with the bytes."""
    t = slow_srv(smtpd_timeout="60s", smtpd_command_deadline="2s",
                 smtpd_min_data_rate="1000")
    rcpt = "fast@example.test"
    t.cli("user", "add", rcpt)
    subject = uniq("fast")
    body = (b"x" * 998 + b"\r\n") * 300
    msg = make_msg(subject=subject, to=rcpt, body=body.decode())
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@c.test>", 250)
        c.expect("RCPT TO:<%s>" % rcpt, 250)
        c.expect("DATA", 354)
        # 300 KB in 3 s: 100 KB/s, well above 1000 bytes/s, and past the
        # 2 s the allowance starts with.
        for i in range(0, len(msg), len(msg) // 12 + 1):
            c.send(msg[i:i + len(msg) // 12 + 1])
            time.sleep(0.25)
        c.send(b".\r\n")
        c.sock.settimeout(WAIT)
        code, text = c.reply()
        assert code == 250, "DATA at a good rate: got %d %r" % (code, text)
        c.expect("QUIT", 221)
    t.wait_count(rcpt, 1)
