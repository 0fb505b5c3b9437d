"""
Issue 3, point 7, strict input: a bare LF or bare CR in a command or in
DATA, and NUL bytes, are refused with a 5xx; nothing acts on a line that
did not end in CRLF, and nothing from a refused transaction is queued
(the SMTP smuggling family, CVE-2023-51764).  Issue 8, point 15: such a
command line ends the session after its 500.
"""
import socket
import time

import pytest

from ternlib import assert_nothing_but_marker, new_user, uniq

TERN_SETUP = {"domains": ["example.test"]}
TERN_SETTINGS = {"smtpd_timeout": "60s"}


# Each case: where the session is when the bad line comes, and the bytes.
# A good command follows in the same write: no server may act on it,
# because a server in front could have cut the bytes into other commands
# (issue 8, point 15: the reply, then the session ends).
COMMAND_CASES = [
    ("helo", b"MAIL FROM:<a@c.test>\n"),
    ("helo", b"MAIL FROM:<a@c.test>\r\r\n"),
    ("helo", b"MAIL FROM:<a@c.test>\rNOOP\r\n"),
    ("helo", b"MAIL FROM:<a@c.test>\x00\r\n"),
    ("helo", b"MAIL\x00 FROM:<a@c.test>\r\n"),
    ("helo", b"NOOP\n"),
    ("helo", b"QUIT\n"),
    ("helo", b"QUIT\r"),
    ("helo", b"NO\x00OP\r\n"),
    ("mail", b"RCPT TO:<{rcpt}>\n"),
    ("mail", b"RCPT TO:<{rcpt}>\rX\r\n"),
    ("rcpt", b"DATA\n"),
    ("rcpt", b"DATA\r\r\n"),
    ("rcpt", b"RSET\n"),
    ("init", b"EHLO c.test\n"),
]


@pytest.mark.parametrize("state,bad", COMMAND_CASES)
def test_bare_lf_cr_nul_in_command_ends_session(srv, state, bad):
    rcpt = new_user(srv)
    mark = srv.log_mark()
    with srv.raw() as c:
        if state != "init":
            c.expect("EHLO c.test", 250)
        if state in ("mail", "rcpt"):
            c.expect("MAIL FROM:<a@c.test>", 250)
        if state == "rcpt":
            c.expect("RCPT TO:<%s>" % rcpt, 250)
        bad = bad.replace(b"{rcpt}", rcpt.encode())
        c.send(bad + b"MAIL FROM:<x@y.test>\r\nNOOP\r\n")
        replies, closed = c.replies_until_eof()
    assert closed, "%r: the session stayed open; replies %r" % (bad, replies)
    assert len(replies) == 1 and replies[0][0] == 500 and \
        replies[0][1].startswith("5.5.2"), \
        "%r: got replies %r, want one 500 5.5.2 and the end" % (bad, replies)
    srv.wait_log(r"(bare LF|bare CR or NUL) in a command from \[127\.0\.0\.1\]; closing",
                 since=mark)
    assert "x@y.test" not in srv.log()[mark:], srv.log_tail()


def test_noop_bare_lf_then_mail_is_not_run(srv):
    """The probe's own case: the MAIL after "NOOP\\n" never runs."""
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.send(b"NOOP\nMAIL FROM:<x@y>\r\n")
        replies, closed = c.replies_until_eof()
    assert closed and [r[0] for r in replies] == [500], \
        "NOOP\\nMAIL: got %r (closed=%s), want [500] and the end" % (replies, closed)


def data_session(srv, rcpt, payload, chunks=None):
    """MAIL, RCPT, DATA, then payload (in pieces if chunks is a list of
    cut offsets), then QUIT; returns every reply after the 354 and whether
    the server closed."""
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<sender@client.test>", 250)
        c.expect("RCPT TO:<%s>" % rcpt, 250)
        c.expect("DATA", 354)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cuts = [0] + list(chunks or []) + [len(payload)]
        for a, b in zip(cuts, cuts[1:]):
            c.send(payload[a:b])
            if chunks:
                time.sleep(0.05)
        c.send(b"QUIT\r\n")
        return c.replies_until_eof()


DATA_CASES = [
    ("bare LF in body", b"Subject: s\r\n\r\nline one\nline two\r\n"),
    ("bare LF in header", b"Subject: s\nX-A: b\r\n\r\nbody\r\n"),
    ("bare CR in body", b"Subject: s\r\n\r\nline one\rline two\r\n"),
    ("bare CR at line end", b"Subject: s\r\n\r\nline one\r\r\n"),
    ("CR CR LF", b"Subject: s\r\n\r\nline\r\r\nmore\r\n"),
    ("NUL in body", b"Subject: s\r\n\r\nnul \x00 here\r\n"),
    ("NUL in header", b"Subject: s\x00\r\n\r\nbody\r\n"),
    ("bare LF before CRLF", b"Subject: s\r\n\r\nbody\n\r\n"),
    ("LF dot LF", b"Subject: s\r\n\r\nbody\n.\nmore\r\n"),
    ("bare LF after dot", b"Subject: s\r\n\r\nbody\r\n.\nmore\r\n"),
]


@pytest.mark.parametrize("name,content", DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_bare_lf_cr_nul_in_data_refused(srv, name, content):
    rcpt = new_user(srv)
    mark = srv.log_mark()
    replies, closed = data_session(srv, rcpt, content + b".\r\n")
    codes = [r[0] for r in replies]
    assert closed, "%s: server did not close after QUIT; replies %r" % (name, replies)
    assert len(codes) == 2 and 500 <= codes[0] < 600 and codes[1] == 221, \
        "%s: got replies %r, want [5xx, 221]" % (name, replies)
    after = srv.log()[mark:]
    assert "reject DATA" in after, "%s: no 'reject DATA' log line\n%s" % (name, srv.log_tail())
    assert "status=queued" not in after, "%s: refused message was queued\n%s" % (name, srv.log_tail())
    assert_nothing_but_marker(srv, rcpt)


SMUGGLE_SEPS = [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n", b"\r\n.\r", b"\r.\r",
                b"\n.\r", b"\r.\n", b"\r\n\x00.\r\n"]


@pytest.mark.parametrize("split", [False, True], ids=["one-write", "split-writes"])
@pytest.mark.parametrize("sep", SMUGGLE_SEPS, ids=[repr(s)[2:-1] for s in SMUGGLE_SEPS])
def test_smuggling_never_delivered(srv, sep, split):
    rcpt = new_user(srv)
    victim = new_user(srv, prefix="victim")
    cover = b"From: <sender@client.test>\r\nSubject: cover\r\n\r\ncover text"
    smuggled = (b"MAIL FROM:<evil@x.test>\r\nRCPT TO:<" + victim.encode() + b">\r\n"
                b"DATA\r\nFrom: <evil@x.test>\r\nSubject: smuggled\r\n\r\nevil\r\n")
    payload = cover + sep + smuggled + b".\r\n"
    chunks = [len(cover), len(cover) + 1, len(cover) + len(sep)] if split else None
    mark = srv.log_mark()
    replies, closed = data_session(srv, rcpt, payload, chunks)
    codes = [r[0] for r in replies]
    assert closed and len(codes) == 2 and 500 <= codes[0] < 600 and codes[1] == 221, \
        "smuggling with %r: got replies %r, want [5xx, 221]" % (sep, replies)
    after = srv.log()[mark:]
    assert "status=queued" not in after, "a message was queued\n" + srv.log_tail()
    assert_nothing_but_marker(srv, victim)
    assert_nothing_but_marker(srv, rcpt)


def test_dot_after_bare_lf_does_not_end_data(srv):
    """"\n.\r\n" is no end of data: what follows is still message text,
    never a command, and the message is refused once it really ends."""
    rcpt = new_user(srv)
    mark = srv.log_mark()
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@c.test>", 250)
        c.expect("RCPT TO:<%s>" % rcpt, 250)
        c.expect("DATA", 354)
        c.send(b"Subject: s\r\n\r\nbody\n.\r\nNOOP\r\n")
        c.sock.settimeout(1)
        try:
            early = c.reply()
        except socket.timeout:
            early = None
        assert early is None, "after \\n.\\r\\n the server answered %r: it took the dot for the end" % (early,)
        c.sock.settimeout(10)
        c.send(b"\r\n.\r\n")
        code, text = c.reply()
        assert 500 <= code < 600, "end of a message with a bare LF: got %d %r, want 5xx" % (code, text)
        c.expect("NOOP", 250)
    assert "status=queued" not in srv.log()[mark:], srv.log_tail()
    assert_nothing_but_marker(srv, rcpt)


def test_clean_message_after_refused_one_same_session(srv):
    """A refused DATA resets the transaction; the next one in the same
    session is judged on its own."""
    rcpt = new_user(srv)
    subject = uniq("clean")
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@c.test>", 250)
        c.expect("RCPT TO:<%s>" % rcpt, 250)
        c.expect("DATA", 354)
        c.send(b"Subject: dirty\r\n\r\nbare\nlf\r\n.\r\n")
        code, text = c.reply()
        assert 500 <= code < 600, "dirty DATA: got %d %r" % (code, text)
        c.expect("MAIL FROM:<a@c.test>", 250)
        c.expect("RCPT TO:<%s>" % rcpt, 250)
        c.expect("DATA", 354)
        c.send(("Subject: %s\r\n\r\nclean\r\n.\r\n" % subject).encode())
        code, text = c.reply()
        assert code == 250, "clean DATA after a dirty one: got %d %r" % (code, text)
    msgs = srv.wait_count(rcpt, 1)
    assert subject.encode() in msgs[0] and b"dirty" not in msgs[0], msgs[0]


@pytest.mark.parametrize("start", [b" X-Folded: into Received\r\n",
                                   b"\tcontinued\r\n",
                                   b". dot-stuffed space\r\n"],
                         ids=["space", "tab", "dot-space"])
def test_header_starting_with_continuation_refused(srv, start):
    """Issue 8, point 16: a first line starting with white space would be
    a continuation of tern's own Received header."""
    rcpt = new_user(srv)
    mark = srv.log_mark()
    replies, closed = data_session(srv, rcpt, start + b"Subject: s\r\n\r\nbody\r\n.\r\n")
    assert closed and len(replies) == 2 and replies[1][0] == 221, replies
    code, text = replies[0]
    assert (code, text[:5]) == (550, "5.6.0"), \
        "%r first: got %d %r, want 550 5.6.0" % (start, code, text)
    srv.wait_log(r"reject DATA from \[127\.0\.0\.1\] .*reason=header-continuation", since=mark)
    assert "status=queued" not in srv.log()[mark:], srv.log_tail()
    assert_nothing_but_marker(srv, rcpt)


def test_header_with_folded_second_line_accepted(srv):
    """Folding after the first line is ordinary and stays accepted."""
    rcpt = new_user(srv)
    subject = uniq("fold")
    replies, closed = data_session(
        srv, rcpt, ("Subject: %s\r\nX-Long: one\r\n two\r\n\r\nbody\r\n.\r\n" % subject).encode())
    assert [r[0] for r in replies] == [250, 221], replies
    msgs = srv.wait_count(rcpt, 1)
    assert subject.encode() in msgs[0]
