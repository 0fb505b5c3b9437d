"""
Issue 3, point 7: the SMTP commands, ESMTP keywords, replies with enhanced
status codes, and the limits (recipients, size, line length, errors,
timeout).
"""
import re
import time

import pytest

from ternlib import WAIT, assert_nothing_but_marker, header, make_msg, new_user, uniq

MAX_SIZE = 64 * 1024
MAX_RCPT = 5

TERN_SETTINGS = {"max_recipients": MAX_RCPT, "max_message_size": "64k",
                 "smtpd_timeout": "60s"}
TERN_SETUP = {"domains": ["example.test", "second.test"]}


def test_greeting_names_host(srv):
    with srv.raw() as c:
        code, text = c.greeting
        assert code == 220, "greeting: got %r" % (c.greeting,)
        assert text.startswith("mx.example.test"), "greeting: got %r" % text
        c.expect("QUIT", 221)
        assert c.closed_by_server(), "QUIT must close the connection"


def test_ehlo_keywords(srv):
    with srv.smtp() as s:
        code, text = s.ehlo("client.test")
        assert code == 250, "EHLO: got %d %r" % (code, text)
        feats = s.esmtp_features
        for kw in ("pipelining", "size", "8bitmime", "enhancedstatuscodes", "smtputf8"):
            assert kw in feats, "EHLO keywords: %s missing from %r" % (kw, feats)
        assert feats["size"] == str(MAX_SIZE), "SIZE: got %r, want %d" % (feats["size"], MAX_SIZE)
        assert text.decode().split("\n")[0] == "mx.example.test", text


def test_helo_plain(srv):
    with srv.raw() as c:
        code, text = c.cmd("HELO client.test")
        assert code == 250 and "\n" not in text, "HELO: got %r" % ((code, text),)
        c.expect("MAIL FROM:<a@client.test>", 250)


@pytest.mark.parametrize("cmd,code,enhanced", [
    ("NOOP", 250, "2.0.0"),
    ("HELP", 214, "2.0.0"),
    ("RSET", 250, "2.0.0"),
    ("VRFY postmaster", 252, "2.5.2"),
    ("EXPN staff", 502, "5.5.1"),
    ("FROB", 500, "5.5.2"),
    ("MAIL FROM:<a@client.test> FROB=1", 555, "5.5.4"),
    ("MAIL FROM:<not an address>", None, "5."),
    ("EHLO", 501, "5.5.4"),
])
def test_command_replies(srv, cmd, code, enhanced):
    with srv.raw() as c:
        c.expect("EHLO client.test", 250)
        got_code, text = c.cmd(cmd)
        if code is not None:
            assert got_code == code, "%s: got %d %r, want %d" % (cmd, got_code, text, code)
        else:
            assert 500 <= got_code < 600, "%s: got %d %r, want 5xx" % (cmd, got_code, text)
        assert text.startswith(enhanced), "%s: got %r, want enhanced code %s" % (cmd, text, enhanced)


def test_vrfy_never_enumerates(srv):
    alice = new_user(srv)
    with srv.raw() as c:
        c.expect("EHLO client.test", 250)
        known = c.cmd("VRFY " + alice)
        unknown = c.cmd("VRFY nobody-at-all@example.test")
        remote = c.cmd("VRFY someone@remote.test")
    assert known[0] == 252, "VRFY: got %r, want 252" % (known,)
    assert known == unknown == remote, \
        "VRFY must answer alike for every address: %r %r %r" % (known, unknown, remote)


def test_help_lists_commands(srv):
    with srv.raw() as c:
        code, text = c.cmd("HELP")
    for verb in ("EHLO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "VRFY"):
        assert verb in text, "HELP: %s missing from %r" % (verb, text)


@pytest.mark.parametrize("steps", [
    # (command, reply code) in order, in a fresh session
    [("MAIL FROM:<a@client.test>", 503)],                       # before EHLO
    [("EHLO c.test", 250), ("RCPT TO:<{rcpt}>", 503)],          # RCPT before MAIL
    [("EHLO c.test", 250), ("DATA", 503)],                      # DATA before MAIL
    [("EHLO c.test", 250), ("MAIL FROM:<a@c.test>", 250), ("DATA", 554)],  # no valid RCPT
    [("EHLO c.test", 250), ("MAIL FROM:<a@c.test>", 250), ("MAIL FROM:<b@c.test>", 503)],
    [("EHLO c.test", 250), ("MAIL FROM:<a@c.test>", 250), ("RCPT TO:<{rcpt}>", 250),
     ("RSET", 250), ("RCPT TO:<{rcpt}>", 503), ("DATA", 503),
     ("MAIL FROM:<b@c.test>", 250)],                            # RSET drops the transaction
    [("EHLO c.test", 250), ("MAIL FROM:<a@c.test>", 250), ("RCPT TO:<{rcpt}>", 250),
     ("EHLO c.test", 250), ("RCPT TO:<{rcpt}>", 503)],          # EHLO too
    [("EHLO c.test", 250), ("MAIL FROM:<>", 250), ("RCPT TO:<{rcpt}>", 250)],  # null sender
])
def test_command_sequence(srv, steps):
    rcpt = new_user(srv)
    with srv.raw() as c:
        for cmd, want in steps:
            cmd = cmd.format(rcpt=rcpt)
            code, text = c.cmd(cmd)
            assert code == want, "%s: got %d %r, want %d (steps %r)" % (cmd, code, text, want, steps)
            if not cmd.startswith(("EHLO", "HELO")):
                assert re.match(r"\d\.\d{1,3}\.\d{1,3}( |$)", text), \
                    "%s: no enhanced status code in %r" % (cmd, text)


def test_rcpt_postmaster_without_domain_is_local(srv):
    """RFC 5321 4.5.1: "RCPT TO:<Postmaster>" with no domain MUST be
    supported.  It names this server's postmaster, so it is never relaying:
    250 when a postmaster address exists, else 550, but not 554 5.7.1."""
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@c.test>", 250)
        code, text = c.cmd("RCPT TO:<Postmaster>")
    assert code in (250, 550), "RCPT TO:<Postmaster>: got %d %r, want 250 or 550" % (code, text)


def test_relay_denied(srv):
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@c.test>", 250)
        for rcpt in ("someone@remote.test", "someone@example.test.evil", "x@sub.example.test"):
            code, text = c.cmd("RCPT TO:<%s>" % rcpt)
            assert (code, text[:5]) == (554, "5.7.1"), \
                "RCPT %s: got %d %r, want 554 5.7.1" % (rcpt, code, text)
    assert re.search(r"relay access denied to=<someone@remote.test>", srv.log()), srv.log_tail()


def test_unknown_user_in_local_domain(srv):
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@c.test>", 250)
        for rcpt in ("nobody@example.test", "Nobody@SECOND.test"):
            code, text = c.cmd("RCPT TO:<%s>" % rcpt)
            assert (code, text[:5]) == (550, "5.1.1"), \
                "RCPT %s: got %d %r, want 550 5.1.1" % (rcpt, code, text)


def test_quoted_local_part_is_the_same_address(srv):
    """Issue 8, point 18: <"alice"@example.test> is alice@example.test
    (RFC 5321 4.1.2); a local part that needs its quotes stays another
    address."""
    rcpt = new_user(srv)
    local, domain = rcpt.split("@")
    subject = uniq("quoted")
    mark = srv.log_mark()
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<\"a\"@c.test>", 250)
        c.expect('RCPT TO:<"%s"@%s>' % (local, domain.upper()), 250)
        c.expect('RCPT TO:<"\\%s"@%s>' % (local, domain), 250)
        for other in ('"%s "@%s' % (local, domain), '"%s.."@%s' % (local, domain),
                      '"%s@x"@%s' % (local, domain)):
            code, text = c.cmd("RCPT TO:<%s>" % other)
            assert (code, text[:5]) == (550, "5.1.1"), \
                "RCPT %s: got %d %r, want 550 5.1.1 (not %s)" % (other, code, text, rcpt)
        c.expect("DATA", 354)
        c.send(make_msg(subject=subject, to=rcpt) + b".\r\n")
        assert c.reply()[0] == 250
        c.expect("QUIT", 221)
    msgs = srv.wait_count(rcpt, 1)
    assert header(msgs[0], "X-Original-To") == rcpt, msgs[0][:400]
    assert "from=<a@c.test>" in srv.log()[mark:], srv.log_tail()


def test_max_recipients(srv):
    rcpts = [new_user(srv) for _ in range(MAX_RCPT)]
    extra = new_user(srv)
    subject = uniq("maxrcpt")
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@c.test>", 250)
        for r in rcpts:
            c.expect("RCPT TO:<%s>" % r, 250)
        for _ in range(2):
            code, text = c.cmd("RCPT TO:<%s>" % extra)
            assert (code, text[:5]) == (452, "4.5.3"), \
                "RCPT number %d: got %d %r, want 452 4.5.3" % (MAX_RCPT + 1, code, text)
        c.expect("DATA", 354)
        c.send(make_msg(subject=subject) + b".\r\n")
        code, text = c.reply()
        assert code == 250, "DATA: got %d %r" % (code, text)
    for r in rcpts:
        msgs = srv.wait_count(r, 1)
        assert subject in msgs[0].decode(), msgs[0]
    assert_nothing_but_marker(srv, extra)


def test_size_parameter_over_limit(srv):
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        code, text = c.cmd("MAIL FROM:<a@c.test> SIZE=%d" % (MAX_SIZE + 1))
        assert (code, text[:5]) == (552, "5.3.4"), "SIZE over: got %d %r, want 552 5.3.4" % (code, text)
        code, text = c.cmd("MAIL FROM:<a@c.test> SIZE=99999999999999999999999")
        assert code in (552, 501), "huge SIZE: got %d %r" % (code, text)
        c.expect("MAIL FROM:<a@c.test> SIZE=%d" % MAX_SIZE, 250)


def test_oversized_data_refused_nothing_queued(srv):
    rcpt = new_user(srv)
    body = ("x" * 78 + "\r\n") * (MAX_SIZE // 80 + 100)
    msg = make_msg(subject=uniq("big"), body=body)
    assert len(msg) > MAX_SIZE
    mark = srv.log_mark()
    queue_before = srv.queue_files()
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@c.test>", 250)
        c.expect("RCPT TO:<%s>" % rcpt, 250)
        c.expect("DATA", 354)
        c.send(msg + b".\r\n")
        code, text = c.reply()
        assert (code, text[:5]) == (552, "5.3.4"), "oversized DATA: got %d %r, want 552 5.3.4" % (code, text)
        # The session goes on, with a fresh transaction.
        c.expect("RCPT TO:<%s>" % rcpt, 503)
        c.expect("NOOP", 250)
    assert srv.queue_files() == queue_before, "oversized message left a queue file"
    after = srv.log()[mark:]
    assert "reason=size" in after, "want a log line with reason=size\n" + srv.log_tail()
    assert "status=queued" not in after, "oversized message was queued\n" + srv.log_tail()
    assert_nothing_but_marker(srv, rcpt)


def test_message_just_under_limit_accepted(srv):
    rcpt = new_user(srv)
    msg = make_msg(subject=uniq("fits"))
    msg += b"y" * (MAX_SIZE - len(msg) - 2) + b"\r\n"
    assert len(msg) == MAX_SIZE
    srv.send(rcpt, msg=msg)
    got = srv.wait_count(rcpt, 1)[0]
    assert got.endswith(b"y" * 100 + b"\n"), "tail of the delivered copy: %r" % got[-120:]


@pytest.mark.parametrize("length,code", [
    (512, 250),     # CRLF included: the longest line allowed
    (513, 500),
    (600, 500),
    (100000, 500),  # far beyond, no line end for a long while
])
def test_command_line_length(srv, length, code):
    line = b"NOOP " + b"x" * (length - 7) + b"\r\n"
    assert len(line) == length
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.send(line)
        got, text = c.reply()
        assert got == code, "line of %d bytes: got %d %r, want %d" % (length, got, text, code)
        if code == 500:
            assert text.startswith("5.5.2"), "got %r, want 500 5.5.2" % text
        # Nothing left over is taken for a command; the session goes on.
        code2, text2 = c.cmd("NOOP")
        assert code2 == 250, "after a %d-byte line, NOOP: got %d %r" % (length, code2, text2)


def test_too_many_errors_421_and_close(srv):
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        codes = []
        closed = False
        for i in range(30):
            try:
                c.send(b"FROB %d\r\n" % i)
                code, text = c.reply()
            except (EOFError, ConnectionError):
                closed = True
                break
            codes.append(code)
            if code == 421:
                assert text.startswith("4.7.0"), "got 421 %r, want 4.7.0" % text
                closed = c.closed_by_server()
                break
        assert 421 in codes, "no 421 after %d bad commands: %r" % (len(codes), codes)
        assert closed, "connection still open after the 421"
        assert all(cd == 500 for cd in codes[:-1]), "replies before 421: %r" % codes
    assert "too many errors" in srv.log(), srv.log_tail()


def test_timeout_421_and_close(tern_factory):
    t = tern_factory(smtpd_timeout="2s")
    t.cli("domain", "add", "example.test")
    t.start()
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        start = time.monotonic()
        c.sock.settimeout(WAIT)
        code, text = c.reply()
        waited = time.monotonic() - start
        assert (code, text[:5]) == (421, "4.4.2"), "idle client: got %d %r, want 421 4.4.2" % (code, text)
        assert waited > 1.0, "timeout came after %.1fs, before the 2s set" % waited
        assert c.closed_by_server(), "connection open after the timeout 421"
    # In the middle of DATA too.
    rcpt = "t@example.test"
    t.cli("user", "add", rcpt)
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@c.test>", 250)
        c.expect("RCPT TO:<%s>" % rcpt, 250)
        c.expect("DATA", 354)
        c.send(b"Subject: half\r\n\r\nhalf a message\r\n")
        c.sock.settimeout(WAIT)
        code, text = c.reply()
        assert code == 421, "idle in DATA: got %d %r, want 421" % (code, text)
        assert c.closed_by_server()
    t.wait_log(r"reason=timeout")
    assert t.queue_files() == [], "a timed-out DATA left a queue file"
    assert t.delivered(rcpt) == [], "a timed-out DATA was delivered"
