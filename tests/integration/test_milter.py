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
