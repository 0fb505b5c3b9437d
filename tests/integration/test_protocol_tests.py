"""
Issue 9, point 5: the deep protocol tests run inside the real smtpd
session, so that a client that behaves is never made to reconnect.  A
forbidden command (screen_forbidden_commands: CONNECT GET POST) or a line
shaped like a header field gets 521 and the end of the session; so does
pipelining behind HELO/EHLO before the reply could have been read (554
5.5.0, as Postfix's smtpd_forbid_unauth_pipelining); a bare LF gets its
500 as before.  On every port; only on port 25 is the client reported to
the screen (logged at debug level until the screen takes the report).
Pipelining after the EHLO reply announced PIPELINING keeps working.
"""
import re

import pytest

from ternlib import module_server, new_user


def prepare(t):
    t.setup(domains=["example.test"])


@pytest.fixture(scope="module")
def srv(request):
    yield from module_server(request, {"log_level": "debug",
                                       "smtpd_timeout": "60s"}, prepare)


def session_id(t, client, since):
    """The session id smtpd gave the connection of client (a RawSMTP),
    from its connect line."""
    cport = client.sock.getsockname()[1]
    m = t.wait_log(r"(\w+): connect from \[127\.0\.0\.1\]:%d port=" % cport,
                   since=since)
    return m.group(1)


def connect(t, kind):
    """A raw client on port kind; on submissions TLS from the first byte."""
    if kind == "smtp":
        return t.raw()
    return t.raw_tls(kind)


def assert_refused(client, code, enhanced, what):
    replies, closed = client.replies_until_eof()
    assert closed, "%s: the session stayed open; replies %r" % (what, replies)
    assert len(replies) == 1 and replies[0][0] == code and \
        replies[0][1].startswith(enhanced), \
        "%s: got replies %r, want one %d %s and the end" % (what, replies, code, enhanced)


def assert_reported(t, sid, reason, kind, since):
    """On port 25 the report line; elsewhere none, once the session ended."""
    report = r"%s: screen: report \[127\.0\.0\.1\] reason=%s" % (sid, reason)
    if kind == "smtp":
        t.wait_log(report, since=since)
        return
    t.wait_log(r"%s: disconnect from" % sid, since=since)
    assert not re.search(r"%s: screen: report" % sid, t.log()[since:]), \
        "a session on port %s was reported to the screen\n%s" % (kind, t.log_tail())


# The client's bytes, sent in one write, and where the session is then.
FORBIDDEN = [
    ("init", b"CONNECT mx.example.test:25 HTTP/1.0\r\n\r\n"),
    ("init", b"GET / HTTP/1.0\r\nHost: mx.example.test\r\n\r\n"),
    ("init", b"POST /form HTTP/1.1\r\nContent-Length: 3\r\n\r\na=b"),
    ("init", b"Host: mx.example.test\r\n"),
    ("helo", b"get /index.html HTTP/1.1\r\n"),
    ("helo", b"Host: mx.example.test\r\n"),
    ("mail", b"Subject: lost its place\r\nNOOP\r\n"),
]


@pytest.mark.parametrize("kind", ["smtp", "submission", "submissions"])
@pytest.mark.parametrize("state,data", FORBIDDEN)
def test_forbidden_command_ends_session(srv, kind, state, data):
    mark = srv.log_mark()
    with connect(srv, kind) as c:
        sid = session_id(srv, c, mark)
        if state != "init":
            c.expect("EHLO c.test", 250)
        if state == "mail":
            # Only port 25 takes MAIL without AUTH; elsewhere the session
            # is still outside a transaction, which changes nothing here.
            c.expect("MAIL FROM:<a@c.test>", 250 if kind == "smtp" else 530)
        c.send(data)
        assert_refused(c, 521, "5.7.0", data)
    first = data.split(b"\r\n")[0].decode()
    srv.wait_log(r"%s: non-SMTP command from \[127\.0\.0\.1\]: %s"
                 % (sid, re.escape(first)), since=mark)
    assert_reported(srv, sid, "non-smtp-command", kind, mark)


def test_mail_from_and_rcpt_to_are_no_headers(srv):
    rcpt = new_user(srv)
    mark = srv.log_mark()
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@b.test>", 250)
        c.expect("RCPT TO:<%s>" % rcpt, 250)
        c.expect("RSET", 250)
        c.expect("mail from:<a@b.test>", 250)
        c.expect("rcpt to:<%s>" % rcpt, 250)
        c.expect("QUIT", 221)
    assert "non-SMTP command" not in srv.log()[mark:], srv.log_tail()


def test_empty_list_keeps_only_the_header_test(tern_factory):
    t = tern_factory(screen_forbidden_commands="", log_level="debug")
    t.start()
    with t.raw() as c:
        code, _ = c.cmd("GET / HTTP/1.0")
        assert code == 500, "GET with an empty list: got %d, want 500" % code
        c.send(b"Host: x\r\n")
        assert_refused(c, 521, "5.7.0", "Host: with an empty list")


@pytest.mark.parametrize("kind", ["smtp", "submission", "submissions"])
@pytest.mark.parametrize("verb", ["EHLO", "HELO"])
def test_pipelining_before_helo_reply_is_refused(srv, kind, verb):
    mark = srv.log_mark()
    with connect(srv, kind) as c:
        sid = session_id(srv, c, mark)
        c.send(b"%s c.test\r\nMAIL FROM:<a@c.test>\r\n" % verb.encode())
        assert_refused(c, 554, "5.5.0", verb)
    srv.wait_log(r"%s: improper command pipelining after %s from "
                 r"\[127\.0\.0\.1\]: MAIL FROM:<a@c\.test>" % (sid, verb),
                 since=mark)
    assert_reported(srv, sid, "pipelining", kind, mark)
    assert "a@c.test" not in re.sub(r"improper command pipelining[^\n]*", "",
                                    srv.log()[mark:]), \
        "the pipelined MAIL was acted on\n%s" % srv.log_tail()


def test_pipelining_after_ehlo_reply_works(srv):
    """A whole transaction in one write once EHLO's reply (with
    PIPELINING) is in: every reply, and the message delivered."""
    rcpt = new_user(srv)
    mark = srv.log_mark()
    with srv.raw() as c:
        code, text = c.cmd("EHLO c.test")
        assert code == 250 and "PIPELINING" in text.split("\n"), (code, text)
        c.send(b"MAIL FROM:<a@c.test>\r\nRCPT TO:<%s>\r\nDATA\r\n"
               b"Subject: piped\r\n\r\nHello.\r\n.\r\nQUIT\r\n" % rcpt.encode())
        replies, closed = c.replies_until_eof()
    assert closed and [r[0] for r in replies] == [250, 250, 354, 250, 221], \
        "pipelined transaction: got %r (closed=%s)" % (replies, closed)
    srv.wait_count(rcpt, 1)
    assert "improper command pipelining" not in srv.log()[mark:], srv.log_tail()
    assert "screen: report" not in srv.log()[mark:], srv.log_tail()


def test_ehlo_alone_then_polite_client_is_not_refused(srv):
    """A client that waits for each reply, EHLO twice included."""
    mark = srv.log_mark()
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("NOOP", 250)
        c.expect("HELO c.test", 250)
        c.expect("QUIT", 221)
    assert "screen: report" not in srv.log()[mark:], srv.log_tail()


@pytest.mark.parametrize("kind", ["smtp", "submission"])
def test_bare_lf_is_reported(srv, kind):
    mark = srv.log_mark()
    with connect(srv, kind) as c:
        sid = session_id(srv, c, mark)
        c.expect("EHLO c.test", 250)
        c.send(b"NOOP\nNOOP\r\n")
        assert_refused(c, 500, "5.5.2", "bare LF")
    assert_reported(srv, sid, "bare-lf", kind, mark)


def test_starttls_discard_is_not_reported(srv):
    """Bytes pipelined behind STARTTLS are thrown away (session_tls.c), as
    before; that is not the pipelining test's business."""
    mark = srv.log_mark()
    with srv.raw() as c:
        sid = session_id(srv, c, mark)
        c.expect("EHLO c.test", 250)
        c.send(b"STARTTLS\r\nNOOP\r\n")
        code, _ = c.reply()
        assert code == 220
    srv.wait_log(r"%s: discarded \d+ bytes pipelined after STARTTLS" % sid,
                 since=mark)
    # The report, were there one, comes before the session's last line.
    srv.wait_log(r"%s: disconnect from" % sid, since=mark)
    assert not re.search(r"%s: screen: report" % sid, srv.log()[mark:]), \
        srv.log_tail()
