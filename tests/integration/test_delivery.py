"""
Issue 3, points 4, 7 and 9: recipients resolved without regard to case,
exact address > alias > catch-all, aliases with several targets, one copy
per mailbox, the headers in front of each delivered copy, dot-unstuffing,
pipelining, real clients (smtplib, swaks).
"""
import os
import shutil
import socket
import subprocess

import pytest

import ternlib
from ternlib import (assert_nothing_but_marker, body_of, header, header_lines,
                     make_msg, new_user, subjects, uniq, wait_until)

TERN_SETUP = {
    "domains": ["example.test", "prec.test", "Multi.Test"],
    "users": ["alice@example.test", "exact@prec.test", "catchbox@prec.test",
              "alitarget@prec.test", "t1@multi.test", "t2@multi.test", "t3@multi.test"],
    "aliases": [
        ("al@prec.test", "alitarget@prec.test"),
        ("@prec.test", "catchbox@prec.test"),
        ("team@multi.test", "t1@multi.test", "t2@multi.test", "t3@multi.test"),
        ("inner@multi.test", "t1@multi.test"),
        ("nested@multi.test", "inner@multi.test", "t1@multi.test", "T1@MULTI.test"),
    ],
}


def only_subject(msgs, subject):
    return [m for m in msgs if header(m, "Subject") == subject]


@pytest.mark.parametrize("spelling", [
    "alice@example.test", "Alice@Example.TEST", "ALICE@EXAMPLE.TEST", "aLiCe@eXaMpLe.TeSt",
])
def test_recipient_case_insensitive(srv, spelling):
    subject = uniq("case")
    before = len(srv.delivered("alice@example.test"))
    srv.send(spelling, subject=subject)
    wait_until(lambda: only_subject(srv.messages("alice@example.test"), subject))
    msgs = only_subject(srv.messages("alice@example.test"), subject)
    assert len(msgs) == 1, "RCPT %s: got %d copies in alice's Maildir, want 1" % (spelling, len(msgs))
    assert header(msgs[0], "Delivered-To") == "alice@example.test", header_lines(msgs[0])
    assert header(msgs[0], "X-Original-To").lower() == spelling.lower(), \
        "X-Original-To: got %r, want %r" % (header(msgs[0], "X-Original-To"), spelling)
    assert len(srv.delivered("alice@example.test")) == before + 1


PRECEDENCE = [
    # (recipient, mailbox it must reach)
    ("exact@prec.test", "exact@prec.test"),         # exact beats the catch-all
    ("EXACT@Prec.Test", "exact@prec.test"),
    ("al@prec.test", "alitarget@prec.test"),        # alias beats the catch-all
    ("Al@PREC.test", "alitarget@prec.test"),
    ("alitarget@prec.test", "alitarget@prec.test"),
    ("whoever@prec.test", "catchbox@prec.test"),    # the rest: the catch-all
    ("Someone.Else@prec.test", "catchbox@prec.test"),
]


@pytest.mark.parametrize("rcpt,mailbox", PRECEDENCE)
def test_precedence_exact_alias_catchall(srv, rcpt, mailbox):
    subject = uniq("prec")
    boxes = ["exact@prec.test", "catchbox@prec.test", "alitarget@prec.test"]
    srv.send(rcpt, subject=subject)
    wait_until(lambda: only_subject(srv.messages(mailbox), subject))
    for box in boxes:
        got = only_subject(srv.messages(box), subject)
        want = 1 if box == mailbox else 0
        assert len(got) == want, "RCPT %s: %s got %d copies, want %d" % (rcpt, box, len(got), want)
    copy = only_subject(srv.messages(mailbox), subject)[0]
    assert header(copy, "Delivered-To") == mailbox, header_lines(copy)
    assert header(copy, "X-Original-To").lower() == rcpt.lower(), \
        "RCPT %s: X-Original-To got %r, want the original recipient" % (rcpt, header(copy, "X-Original-To"))


def test_alias_with_several_targets_one_copy_each(srv):
    subject = uniq("team")
    srv.send("team@multi.test", subject=subject)
    for t in ("t1@multi.test", "t2@multi.test", "t3@multi.test"):
        wait_until(lambda: only_subject(srv.messages(t), subject))
        got = only_subject(srv.messages(t), subject)
        assert len(got) == 1, "%s: got %d copies, want 1" % (t, len(got))
        assert header(got[0], "Delivered-To") == t, header_lines(got[0])
        assert header(got[0], "X-Original-To") == "team@multi.test", header_lines(got[0])


@pytest.mark.parametrize("rcpts", [
    ["t1@multi.test", "team@multi.test"],                 # directly and through an alias
    ["team@multi.test", "t1@multi.test"],
    ["t1@multi.test", "T1@Multi.Test"],                   # twice in another case
    ["nested@multi.test"],                                # nested alias reaching t1 thrice
    ["inner@multi.test", "nested@multi.test", "team@multi.test"],
])
def test_mailbox_reached_twice_gets_one_copy(srv, rcpts):
    subject = uniq("twice")
    srv.send(rcpts, subject=subject)
    # A marker after it: by then the message is delivered if it ever will be.
    assert_marker = uniq("after")
    srv.send("t1@multi.test", subject=assert_marker)
    wait_until(lambda: only_subject(srv.messages("t1@multi.test"), assert_marker))
    got = only_subject(srv.messages("t1@multi.test"), subject)
    assert len(got) == 1, "RCPT %r: t1 got %d copies, want 1" % (rcpts, len(got))


def test_delivered_headers_in_order(srv):
    subject = uniq("hdr")
    qid = srv.send("Al@prec.test", subject=subject, sender="Bounce.Me@Client.Test")
    wait_until(lambda: only_subject(srv.messages("alitarget@prec.test"), subject))
    copy = only_subject(srv.messages("alitarget@prec.test"), subject)[0]
    names = [n for n, _ in header_lines(copy)]
    assert names[:4] == ["Return-Path", "Delivered-To", "X-Original-To", "Received"], \
        "first headers: got %r, want Return-Path, Delivered-To, X-Original-To, Received" % names[:4]
    assert header(copy, "Return-Path") == "<Bounce.Me@Client.Test>" or \
        header(copy, "Return-Path").lower() == "<bounce.me@client.test>", header(copy, "Return-Path")
    assert header(copy, "Delivered-To") == "alitarget@prec.test"
    assert header(copy, "X-Original-To").lower() == "al@prec.test"
    received = header(copy, "Received")
    for part in ("client.test", "127.0.0.1", "mx.example.test", qid):
        assert part in received, "Received: %r lacks %r" % (received, part)
    # The client's own headers follow unchanged.
    assert names[4:] == ["From", "To", "Subject", "Message-ID"], "got %r" % names
    assert b"\r\n" not in copy, "a Maildir copy has LF line ends"
    maildir = srv.maildir("alitarget@prec.test")
    for sub in ("tmp", "new", "cur"):
        assert os.path.isdir(os.path.join(maildir, sub)), "Maildir lacks %s/" % sub
    assert os.listdir(os.path.join(maildir, "tmp")) == [], "a copy left in tmp/"


def test_null_sender_return_path(srv):
    subject = uniq("null")
    with srv.smtp() as s:
        s.ehlo()
        assert s.mail("<>")[0] == 250
        assert s.rcpt("alice@example.test")[0] == 250
        code, text = s.data(make_msg(subject=subject))
        assert code == 250, (code, text)
    wait_until(lambda: only_subject(srv.messages("alice@example.test"), subject))
    copy = only_subject(srv.messages("alice@example.test"), subject)[0]
    assert header(copy, "Return-Path") == "<>", "got %r" % header(copy, "Return-Path")


def test_dot_unstuffing(srv):
    rcpt = new_user(srv)
    body = (b"..x\r\n"          # arrives as .x
            b"...y\r\n"         # arrives as ..y
            b"..\r\n"           # arrives as .
            b". z\r\n"          # a single dot then text: the dot goes (RFC 5321 4.5.2)
            b"a.b\r\n"
            b"last\r\n")
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@c.test>", 250)
        c.expect("RCPT TO:<%s>" % rcpt, 250)
        c.expect("DATA", 354)
        c.send(b"Subject: dots\r\n\r\n" + body + b".\r\n")
        code, text = c.reply()
        assert code == 250, "DATA: got %d %r" % (code, text)
    got = body_of(srv.wait_count(rcpt, 1)[0])
    want = b".x\n..y\n.\n z\na.b\nlast\n"
    assert got == want, "unstuffed body: got %r, want %r" % (got, want)


def test_dot_lines_round_trip_through_smtplib(srv):
    rcpt = new_user(srv)
    body = ".starts with a dot\r\n..two dots\r\n.\r\nend\r\n"
    srv.send(rcpt, msg=make_msg(subject="dots", body=body))
    got = body_of(srv.wait_count(rcpt, 1)[0])
    want = body.replace("\r\n", "\n").encode()
    assert got == want, "body: got %r, want %r" % (got, want)


def test_8bit_and_smtputf8_body_intact(srv):
    rcpt = new_user(srv)
    body = "Grüße, ça va? 日本語 — ok\r\n" + "z" * 990 + "\r\n\r\n\r\ntrailing\r\n"
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@c.test> BODY=8BITMIME SMTPUTF8", 250)
        c.expect("RCPT TO:<%s>" % rcpt, 250)
        c.expect("DATA", 354)
        c.send(b"Subject: utf8\r\n\r\n" + body.encode() + b".\r\n")
        code, text = c.reply()
        assert code == 250, "DATA: got %d %r" % (code, text)
    got = body_of(srv.wait_count(rcpt, 1)[0])
    assert got == body.replace("\r\n", "\n").encode(), "body: got %r" % got


@pytest.mark.parametrize("variant", ["commands", "commands-with-refusal", "whole-session"])
def test_pipelining(srv, variant):
    a, b = new_user(srv), new_user(srv)
    subject = uniq("pipe")
    msg = ("Subject: %s\r\n\r\npipelined\r\n.\r\n" % subject).encode()
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if variant == "whole-session":
            # Two transactions, bodies and QUIT in one write.
            c.send(b"".join([b"MAIL FROM:<s@c.test>\r\n", b"RCPT TO:<%s>\r\n" % a.encode(),
                             b"DATA\r\n", msg, b"MAIL FROM:<s@c.test>\r\n",
                             b"RCPT TO:<%s>\r\n" % b.encode(), b"DATA\r\n", msg, b"QUIT\r\n"]))
            replies, closed = c.replies_until_eof()
            codes = [r[0] for r in replies]
            assert codes == [250, 250, 354, 250, 250, 250, 354, 250, 221], "got %r" % replies
        else:
            bad = b"RCPT TO:<nobody-here@example.test>\r\n" if variant == "commands-with-refusal" else b""
            c.send(b"MAIL FROM:<s@c.test>\r\nRCPT TO:<%s>\r\n" % a.encode() + bad +
                   b"RCPT TO:<%s>\r\nDATA\r\n" % b.encode())
            codes = [c.reply()[0] for _ in range(5 if bad else 4)]
            want = [250, 250, 550, 250, 354] if bad else [250, 250, 250, 354]
            assert codes == want, "pipelined replies: got %r, want %r" % (codes, want)
            c.send(msg + b"QUIT\r\n")
            codes = [r[0] for r in c.replies_until_eof()[0]]
            assert codes == [250, 221], "end of data and QUIT: got %r" % codes
    for rcpt in (a, b):
        got = srv.wait_count(rcpt, 1)
        assert subjects(got) == [subject], "%s: got %r" % (rcpt, subjects(got))


SWAKS = shutil.which("swaks")


def swaks(srv, *args):
    return subprocess.run([SWAKS, "--server", "127.0.0.1:%d" % srv.port, "--helo", "client.test",
                           "--timeout", "10"] + list(args),
                          capture_output=True, text=True, timeout=30)


@ternlib.needs_package("swaks", SWAKS is not None)
@pytest.mark.parametrize("extra", [[], ["--pipeline"]], ids=["plain", "pipeline"])
def test_swaks_delivers(srv, extra):
    rcpt = new_user(srv)
    subject = uniq("swaks")
    r = swaks(srv, "--from", "someone@elsewhere.test", "--to", rcpt.upper(),
              "--header", "Subject: " + subject, "--body", "from swaks", *extra)
    assert r.returncode == 0, "swaks: exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr)
    msgs = srv.wait_count(rcpt, 1)
    assert subjects(msgs) == [subject]
    assert b"from swaks" in body_of(msgs[0])


@ternlib.needs_package("swaks", SWAKS is not None)
@pytest.mark.parametrize("to,reply", [("someone@remote.test", "554 5.7.1"),
                                      ("nobody-at-all@example.test", "550 5.1.1")])
def test_swaks_refused(srv, to, reply):
    r = swaks(srv, "--from", "someone@elsewhere.test", "--to", to)
    assert r.returncode != 0, "swaks to %s: exit 0, want a failure\n%s" % (to, r.stdout)
    assert reply in r.stdout + r.stderr, "swaks to %s: want %r in\n%s" % (to, reply, r.stdout)


def test_remote_alias_target_waits_deferred(srv):
    local = new_user(srv)
    src = "%s@example.test" % uniq("fwd")
    srv.cli("alias", "add", src, local, "Friend@Remote.Test")
    subject = uniq("remote")
    qid = srv.send(src, subject=subject)
    msgs = srv.wait_count(local, 1)
    assert header(msgs[0], "X-Original-To") == src
    srv.wait_log(r"(?i)%s: to=<Friend@Remote.Test> orig_to=<%s> .*status=deferred" % (qid, src))
    out = srv.cli("queue", "list").out
    entry = [l for l in out.split("\n") if "friend@remote.test" in l.lower()]
    assert entry and "remote deferred" in entry[0], "queue list: want the remote target deferred:\n%s" % out
    assert qid in out, "queue list: want %s in\n%s" % (qid, out)
    srv.cli("queue", "delete", qid)


def test_user_del_and_purge(srv):
    addr = new_user(srv, prefix="gone")
    srv.send(addr, subject="one")
    srv.wait_count(addr, 1)
    maildir = srv.maildir(addr)
    srv.cli("user", "del", addr)
    assert os.path.isdir(maildir), "user del without --purge removed the Maildir"
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@c.test>", 250)
        code, text = c.cmd("RCPT TO:<%s>" % addr)
        assert (code, text[:5]) == (550, "5.1.1"), "RCPT to a deleted user: got %d %r" % (code, text)
    srv.cli("user", "add", addr)
    srv.send(addr, subject="two")
    srv.wait_count(addr, 2)
    r = srv.cli("user", "del", addr, "--purge")
    assert not os.path.exists(maildir), "user del --purge left %s (%r)" % (maildir, r)
    assert os.path.isdir(os.path.dirname(maildir)), "purge removed more than the Maildir"


def test_address_added_while_running_receives(srv):
    """The directory is read live: an address added after start is a
    recipient at once."""
    owner = new_user(srv)
    extra = "%s@example.test" % uniq("extra")
    srv.cli("address", "add", extra, owner)
    srv.send(extra, subject="extra")
    msgs = srv.wait_count(owner, 1)
    assert header(msgs[0], "Delivered-To") == owner.lower()
    assert header(msgs[0], "X-Original-To") == extra
    srv.cli("address", "del", extra)
    with srv.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@c.test>", 250)
        c.expect("RCPT TO:<%s>" % extra, 550)
    assert_nothing_but_marker(srv, new_user(srv))
