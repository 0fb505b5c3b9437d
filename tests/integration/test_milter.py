"""
Issue 11, points 1 to 5: the milter client.  A pymilter milter driven by
flags (flag_milter.py) checks every reply and every change, each seen in
the delivered message; a raw-socket fake milter checks what tern does
with a milter that breaks the protocol, closes, or never answers, for
each milter_default_action.
"""
import contextlib
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from ternlib import (WAIT, add_account, body_of, free_port, header,
                     header_lines, instance_factory, make_msg, make_tempdir,
                     module_server, queue_id, uniq, wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))
ALICE, ALICE_PW = "alice@example.test", "alice-milter-pw-1"
BOB = "bob@example.test"
USERS = ["bob@example.test", "added@example.test", "addedpar@example.test",
         "deleted@example.test", "rcpt-reject@example.test",
         "rcpt-tempfail@example.test", "rcpt-reply@example.test"]


# ---- the pymilter flag milter, once per module ----

class FlagMilter:
    def __init__(self):
        self.dir = make_tempdir("tern-milter-")
        self.record = os.path.join(self.dir, "record.jsonl")
        self.port = free_port()
        self.spec = "inet:127.0.0.1:%d" % self.port
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(HERE, "flag_milter.py"),
             "inet:%d@127.0.0.1" % self.port, self.record],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        wait_until(self.listening, WAIT)

    def listening(self):
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", self.port), 1):
                return True
        assert self.proc.poll() is None, self.proc.stdout.read()
        return False

    def seen(self, subject, timeout=WAIT):
        """The record of the message whose Subject is subject."""
        found = []

        def look():
            with contextlib.suppress(FileNotFoundError):
                with open(self.record) as f:
                    for line in f:
                        r = json.loads(line)
                        if r["subject"] == subject:
                            found.append(r)
            return bool(found)
        wait_until(look, timeout)
        return found[-1]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture(scope="module")
def fm():
    m = FlagMilter()
    yield m
    m.stop()


def prepare(t):
    t.setup(domains=["example.test"], users=USERS)
    add_account(t, ALICE, ALICE_PW)


@pytest.fixture(scope="module")
def msrv(request, fm):
    yield from module_server(request, {
        "smtpd_milters": fm.spec, "submission_milters": fm.spec,
        "auth_fail_delay": "0s"}, prepare)


def send(t, rcpts, subject, extra="", body="Hello.\r\n", sender="sender@client.test"):
    """One message on port 25; returns (code, text) of the final reply
    and the queue id when queued."""
    msg = make_msg(subject=subject, extra=extra, body=body, sender=sender)
    with contextlib.closing(t.smtp()) as s:
        s.ehlo()
        code, text = s.mail(sender)
        assert code == 250, (code, text)
        for r in rcpts:
            code, text = s.rcpt(r)
            assert code == 250, (r, code, text)
        code, text = s.data(msg)
        s.quit()
    return code, text.decode()


def flagged(*flags):
    return "%s %s" % (uniq("s"), " ".join(flags))


# ---- pass-through, events and macros ----

def test_pass_through_delivers_and_milter_sees_everything(msrv, fm):
    subject = flagged("none")
    code, text = send(msrv, [BOB], subject, extra="X-Folded: one\r\n two\r\n",
                      body="line 1\r\nline 2\r\n")
    assert code == 250, text
    qid = queue_id(text)
    r = fm.seen(subject)
    assert r["connect"][0] == "[127.0.0.1]"
    assert r["connect"][2][0] == "127.0.0.1"
    assert r["helo"] == "client.test"
    assert r["mail"][0] == "<sender@client.test>"
    assert r["rcpts"][0][0] == "<%s>" % BOB
    names = [h[0] for h in r["headers"]]
    assert names[:4] == ["From", "To", "Subject", "Message-ID"]
    assert "Received" not in names, "tern's own Received is not shown"
    assert ["X-Folded", "one\n two"] in r["headers"]
    assert r["body"] == "line 1\r\nline 2\r\n"
    m = r["macros"]
    assert m["connect"]["j"] == "mx.example.test"
    assert m["connect"]["{daemon_name}"] == "mx.example.test"
    assert m["connect"]["{daemon_addr}"] == "127.0.0.1"
    assert m["connect"]["_"] == "unknown [127.0.0.1]"
    assert "v" in m["connect"]
    assert m["mail"]["i"] == qid
    assert m["mail"]["{mail_addr}"] == "sender@client.test"
    assert "{auth_type}" not in m["mail"]
    assert m["rcpt"]["{rcpt_addr}"] == BOB
    assert m["eom"]["i"] == qid
    assert "{tls_version}" not in m["helo"]
    wait_until(lambda: any(subject.encode() in x for x in msrv.messages(BOB)))


def test_auth_and_tls_macros_on_submission(msrv, fm):
    subject = flagged("none")
    msg = make_msg(subject=subject, sender=ALICE, to=BOB)
    with msrv.client("submission", login=ALICE, password=ALICE_PW) as s:
        code, text = s.mail(ALICE)
        assert code == 250
        assert s.rcpt(BOB)[0] == 250
        code, text = s.data(msg)
        assert code == 250, text
    qid = queue_id(text)
    m = fm.seen(subject)["macros"]
    assert m["mail"]["{auth_type}"] == "PLAIN"
    assert m["mail"]["{auth_authen}"] == ALICE
    assert m["mail"]["i"] == qid
    assert m["helo"]["{tls_version}"].startswith("TLSv1")
    assert m["helo"]["{cipher}"]


# ---- replies (point 3) ----

def delivered_with(t, addr, subject, timeout=WAIT):
    """The message with subject delivered to addr."""
    found = []

    def look():
        found[:] = [m for m in t.messages(addr) if subject.encode() in m]
        return bool(found)
    wait_until(look, timeout)
    return found[0]


def not_delivered(t, addr, subject):
    """Asserts that nothing with subject reached addr, once a marker sent
    after it has."""
    marker = flagged("marker")
    assert send(t, [addr], marker)[0] == 250
    delivered_with(t, addr, marker)
    assert not any(subject.encode() in m for m in t.messages(addr))


def refused_at_eom(t, subject, rcpts=(BOB,)):
    code, text = send(t, list(rcpts), subject)
    return code, text


@pytest.mark.parametrize("flag,want", [
    ("reject", "550 5.7.1 Command rejected"),
    ("tempfail", "451 4.7.1 Service unavailable - try again later"),
    ("reply", "554 5.7.0 content refused by flag milter"),
])
def test_end_of_message_refusals(msrv, fm, flag, want):
    subject = flagged(flag)
    mark = msrv.log_mark()
    code, text = refused_at_eom(msrv, subject)
    assert "%d %s" % (code, text) == want
    msrv.wait_log(r"milter inet:127\.0\.0\.1:\d+: stage=end-of-message "
                  r"action=%s" % flag, since=mark)
    not_delivered(msrv, BOB, subject)


def test_multiline_custom_reply_passed_through(msrv, fm):
    subject = flagged("replyml")
    r = msrv.raw()
    r.expect("EHLO client.test", 250)
    r.expect("MAIL FROM:<sender@client.test>", 250)
    r.expect("RCPT TO:<%s>" % BOB, 250)
    r.expect("DATA", 354)
    r.send(make_msg(subject=subject) + b".\r\n")
    lines = []
    while True:
        line = r._line()
        lines.append(line)
        if line[3:4] != "-":
            break
    r.close()
    assert lines == ["550-5.7.1 first line", "550 5.7.1 second line"], lines


@pytest.mark.parametrize("local,want", [
    ("rcpt-reject", (550, b"5.7.1 Command rejected")),
    ("rcpt-tempfail", (451, b"4.7.1 Service unavailable - try again later")),
    ("rcpt-reply", (553, b"5.1.3 no such mailbox here")),
])
def test_rcpt_refusal_concerns_that_recipient_only(msrv, fm, local, want):
    subject = flagged("none")
    with contextlib.closing(msrv.smtp()) as s:
        s.ehlo()
        assert s.mail("sender@client.test")[0] == 250
        assert s.rcpt("%s@example.test" % local) == want
        assert s.rcpt(BOB)[0] == 250
        code, text = s.data(make_msg(subject=subject))
        assert code == 250, text
    delivered_with(msrv, BOB, subject)
    assert not any(subject.encode() in m
                   for m in msrv.messages("%s@example.test" % local))


def test_discard_accepts_and_drops(msrv, fm):
    subject = flagged("discard")
    mark = msrv.log_mark()
    code, text = send(msrv, [BOB], subject)
    assert code == 250, text
    msrv.wait_log(r"action=discard", since=mark)
    not_delivered(msrv, BOB, subject)


def test_quarantine_logged(msrv, fm):
    # The hold queue is another helper's: until it is merged, quarantine
    # is checked by the log lines (the milter's decision, the core's hold).
    subject = flagged("quarantine")
    mark = msrv.log_mark()
    code, text = send(msrv, [BOB], subject)
    assert code == 250, text
    msrv.wait_log(r'stage=end-of-message action=quarantine reason="looks odd"',
                  since=mark)
    msrv.wait_log(r"hold at end-of-message by milter inet:127\.0\.0\.1:\d+: "
                  r"quarantined by milter .*looks odd", since=mark)


def test_accept_ends_filtering_for_the_message_only(msrv, fm):
    # ACCEPT at end of message: delivered; after RSET the next message of
    # the same session is filtered again (reject here).
    first, second = flagged("accept"), flagged("reject")
    with contextlib.closing(msrv.smtp()) as s:
        s.ehlo()
        assert s.mail("sender@client.test")[0] == 250
        assert s.rcpt(BOB)[0] == 250
        assert s.data(make_msg(subject=first))[0] == 250
        s.rset()
        assert s.mail("sender@client.test")[0] == 250
        assert s.rcpt(BOB)[0] == 250
        code, text = s.data(make_msg(subject=second))
        assert (code, text) == (550, b"5.7.1 Command rejected")
    delivered_with(msrv, BOB, first)
    fm.seen(second)


# ---- changes at end of message (point 4) ----

def test_header_changes_in_postfix_positions(msrv, fm):
    subject = flagged("addhdr", "inshdr0", "inshdr2", "chghdr", "delhdr")
    extra = ("X-Change-Me: first\r\nX-Change-Me: second\r\n"
             "X-Delete-Me: gone\r\n")
    code, text = send(msrv, [BOB], subject, extra=extra)
    assert code == 250, text
    msg = delivered_with(msrv, BOB, subject)
    names = [n for n, v in header_lines(msg)]
    # after Return-Path, Delivered-To and X-Original-To that delivery adds:
    top = names[names.index("X-Original-To") + 1:]
    assert top[0] == "X-Milter-Top", top          # index 0: above Received
    assert top[1] == "Received", top
    assert top[2] == "X-Milter-Two", top          # index 2: after From
    assert top[-1] == "X-Milter-Added", top
    hs = header_lines(msg)
    assert ("X-Change-Me", "first") in hs
    assert ("X-Change-Me", "changed second") in hs
    assert "X-Delete-Me" not in names
    assert header(msg, "X-Milter-Added") == "added value"


def test_envelope_changes(msrv, fm):
    subject = flagged("chgfrom", "addrcpt", "addrcptpar", "delrcpt")
    code, text = send(msrv, [BOB, "deleted@example.test"], subject)
    assert code == 250, text
    for addr in (BOB, "added@example.test", "addedpar@example.test"):
        msg = delivered_with(msrv, addr, subject)
        assert header(msg, "Return-Path") == "<changed@client.test>"
    not_delivered(msrv, "deleted@example.test", subject)


def test_body_replaced(msrv, fm):
    subject = flagged("body")
    code, text = send(msrv, [BOB], subject, body="original body\r\n")
    assert code == 250, text
    msg = delivered_with(msrv, BOB, subject)
    assert body_of(msg) == b"Replaced body, line one.\nline two.\n"
