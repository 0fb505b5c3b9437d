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
import smtplib
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


# ---- hostile and broken milters (point 5), from a raw-socket fake ----

def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def optneg(actions=0x1ff, protocol=0, lists=b""):
    return struct.pack(">III", 6, actions, protocol) + lists


class FakeMilter:
    """A milter on a raw socket: answers OPTNEG with self.optneg, then each
    command by self.script[cmd]: "continue" (default), "silent" (never),
    ("raw", bytes), ("raw-close", bytes), or a list of those sent in turn
    with "sleep:N" between them.  Every packet it got is in self.got."""

    def __init__(self, path=None):
        if path is None:
            self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.lsock.bind(("127.0.0.1", 0))
            self.port = self.lsock.getsockname()[1]
            self.spec = "inet:127.0.0.1:%d" % self.port
        else:
            self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.lsock.bind(path)
            os.chmod(path, 0o666)       # tern runs as its own user
            self.spec = "unix:%s" % path
        self.lsock.listen(16)
        self.reset()
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def reset(self):
        self.optneg = optneg()
        self.script = {}
        self.got = []

    def accept_loop(self):
        while True:
            try:
                conn, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    @staticmethod
    def read_exact(conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def serve(self, conn):
        with conn:
            conn.settimeout(60)
            try:
                while self.one(conn):
                    pass
            except OSError:
                pass

    def one(self, conn):
        head = self.read_exact(conn, 4)
        if head is None:
            return False
        body = self.read_exact(conn, struct.unpack(">I", head)[0])
        if body is None:
            return False
        cmd, data = body[:1], body[1:]
        self.got.append((cmd, data))
        if cmd == b"O":
            conn.sendall(frame(b"O" + self.optneg))
            return True
        if cmd in (b"D", b"A", b"Q"):
            return cmd != b"Q"
        return self.act(conn, self.script.get(cmd, "continue"))

    def act(self, conn, action):
        steps = action if isinstance(action, list) else [action]
        for step in steps:
            if step == "continue":
                conn.sendall(frame(b"c"))
            elif step == "silent":
                pass
            elif isinstance(step, str) and step.startswith("sleep:"):
                time.sleep(float(step[6:]))
            elif step[0] == "raw":
                conn.sendall(step[1])
            elif step[0] == "raw-close":
                conn.sendall(step[1])
                return False
        return True

    def packets(self, cmd):
        return [d for c, d in self.got if c == cmd]

    def close(self):
        # shutdown first: it wakes the thread blocked in accept() and
        # stops the listening at once (a bare close waits for accept).
        with contextlib.suppress(OSError):
            self.lsock.shutdown(socket.SHUT_RDWR)
        self.lsock.close()


@pytest.fixture(scope="module")
def fake():
    f = FakeMilter()
    yield f
    f.close()


@pytest.fixture
def fk(fake):
    fake.reset()
    yield fake
    fake.reset()


@pytest.fixture(scope="module")
def hsrv(request, fake):
    yield from module_server(request, {
        "smtpd_milters": fake.spec, "milter_command_timeout": "2s",
        "milter_content_timeout": "3s"},
        lambda t: t.setup(domains=["example.test"], users=[BOB]))


TEMPFAIL = (451, b"4.7.1 Service unavailable - try again later")

HOSTILE = {
    "malformed-y": (("raw", frame(b"y250 2.0.0 fine\0")), r"reply line without a 4NN/5NN code"),
    "length-2^31": (("raw", b"\x80\x00\x00\x00c"), r"packet length 2147483648"),
    "length-over-bound": (("raw", struct.pack(">I", 300 * 1024) + b"h"), r"packet length 307200"),
    "length-zero": (("raw", b"\x00\x00\x00\x00"), r"packet length 0 "),
    "unknown-byte": (("raw", frame(b"Z")), r"sent unknown reply 0x5a"),
    "closed-mid-reply": (("raw-close", b"\x00\x00\x00"), r"closed the connection before its reply"),
    "continue-with-data": (("raw", frame(b"cxyz")), r"sent SMFIR_CONTINUE with 3 data bytes"),
    "never-replies": ("silent", r"sent no reply to 'M' within 2s"),
    # a byte at a time: bytes do not restart the clock, whole packets do
    "trickle": ([("raw", b"\x00"), "sleep:0.8", ("raw", b"\x00"), "sleep:0.8",
                 ("raw", b"\x00"), "sleep:0.8", ("raw", b"\x01"), "sleep:0.8",
                 ("raw", b"c")], r"sent no reply to 'M' within 2s"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_milter_gets_default_action(hsrv, fk, case):
    action, logged = HOSTILE[case]
    fk.script[b"M"] = action
    mark = hsrv.log_mark()
    with contextlib.closing(hsrv.smtp(timeout=30)) as s:
        s.ehlo()
        assert s.mail("sender@client.test") == TEMPFAIL
        # broken for the rest of the session: its default action stands
        assert s.mail("sender@client.test") == TEMPFAIL
    hsrv.wait_log(r"milter %s: stage=mail .*%s.*; default action tempfail"
                  % (fk.spec.replace(".", r"\."), logged), since=mark)
    # a new session gets a new connection, and a sane milter again
    fk.script = {}
    with contextlib.closing(hsrv.smtp()) as s:
        s.ehlo()
        assert s.mail("sender@client.test")[0] == 250


def test_action_not_offered_fails_negotiation(hsrv, fk):
    fk.optneg = optneg(actions=0x1ff | 0x200)
    mark = hsrv.log_mark()
    with contextlib.closing(hsrv.smtp()) as s:
        s.ehlo()
        assert s.mail("sender@client.test") == TEMPFAIL
    hsrv.wait_log(r"stage=connect actions 0x3ff not offered", since=mark)


def test_progress_extends_the_timeout(hsrv, fk):
    # 4 progress packets 1s apart: 4s in all, past the 2s timeout.
    fk.script[b"M"] = [("raw", frame(b"p")), "sleep:1", ("raw", frame(b"p")),
                       "sleep:1", ("raw", frame(b"p")), "sleep:1",
                       ("raw", frame(b"p")), "sleep:1", "continue"]
    with contextlib.closing(hsrv.smtp(timeout=30)) as s:
        s.ehlo()
        assert s.mail("sender@client.test")[0] == 250


def test_milter_macro_lists_honoured(hsrv, fk):
    lists = struct.pack(">I", 2) + b"j {mail_addr}\0" + struct.pack(">I", 0) + b"\0"
    fk.optneg = optneg(actions=0x1ff, lists=lists)
    with contextlib.closing(hsrv.smtp()) as s:
        s.ehlo()
        assert s.mail("sender@client.test")[0] == 250
    macros = fk.packets(b"D")
    by_cmd = {d[:1]: d[1:].split(b"\0")[:-1] for d in macros}
    assert by_cmd[b"M"] == [b"j", b"mx.example.test", b"{mail_addr}",
                            b"sender@client.test"]
    assert b"C" not in by_cmd, "an empty list sends no macros at connect"


def test_no_and_no_reply_flags_honoured(hsrv, fk):
    # NOHDRS | NOBODY | NR_MAIL | NR_RCPT: no header or body sent, no reply
    # awaited to MAIL and RCPT (the fake stays silent there).
    fk.optneg = optneg(protocol=0x20 | 0x10 | 0x4000 | 0x8000)
    fk.script[b"M"] = "silent"
    fk.script[b"R"] = "silent"
    subject = uniq("s")
    code, text = send(hsrv, [BOB], subject)
    assert code == 250, text
    assert fk.packets(b"L") == [] and fk.packets(b"B") == []
    assert len(fk.packets(b"E")) == 1


def test_body_in_chunks_of_at_most_65535(hsrv, fk):
    body = "".join("line %06d of a long body, quite long\r\n" % i
                   for i in range(5000))
    code, text = send(hsrv, [BOB], uniq("s"), body=body)
    assert code == 250, text
    chunks = fk.packets(b"B")
    assert len(chunks) >= 3
    assert all(len(c) <= 65535 for c in chunks)
    assert b"".join(chunks) == body.encode()
    # headers: name and value, one space eaten after the colon
    assert [b"Subject"] == [h.split(b"\0")[0] for h in fk.packets(b"L")
                            if h.startswith(b"Subject\0")]


def test_skip_ends_the_body(hsrv, fk):
    fk.optneg = optneg(protocol=0x400)
    fk.script[b"B"] = ("raw", frame(b"s"))
    body = "x" * 70 + "\r\n"
    code, text = send(hsrv, [BOB], uniq("s"), body=body * 3000)
    assert code == 250, text
    assert len(fk.packets(b"B")) == 1, "no body chunk after SMFIR_SKIP"
    assert len(fk.packets(b"E")) == 1


def test_broken_body_replacement_commits_nothing(hsrv, fk):
    # a header change, half a body replacement, then the milter closes
    fk.script[b"E"] = [("raw", frame(b"hX-Half\0done\0")),
                       ("raw", frame(b"bnew body\r\n")),
                       ("raw-close", b"\x00\x00\x01\x00bpartial")]
    subject = uniq("s")
    code, text = send(hsrv, [BOB], subject)
    assert (code, text.encode()) == TEMPFAIL
    fk.script = {}
    marker = uniq("marker")
    assert send(hsrv, [BOB], marker)[0] == 250
    delivered_with(hsrv, BOB, marker)
    assert not any(subject.encode() in m for m in hsrv.messages(BOB))


def test_leading_space_flag_keeps_the_space(hsrv, fk):
    fk.optneg = optneg(protocol=0x100000)
    code, text = send(hsrv, [BOB], "lead space", extra="X-Tab:\tx\r\n")
    assert code == 250, text
    hs = [h.split(b"\0")[:2] for h in fk.packets(b"L")]
    assert [b"Subject", b" lead space"] in hs
    assert [b"X-Tab", b"\tx"] in hs
    fk.reset()
    code, text = send(hsrv, [BOB], "no lead space")
    assert [b"Subject", b"no lead space"] in [h.split(b"\0")[:2]
                                              for h in fk.packets(b"L")]


def test_unix_socket_milter(sub_factory):
    d = make_tempdir("tern-milter-")
    fake = FakeMilter(path=os.path.join(d, "milter.sock"))
    try:
        fake.script[b"R"] = ("raw", frame(b"r"))
        t = sub_factory(smtpd_milters=fake.spec)
        t.setup(domains=["example.test"], users=[BOB])
        t.start()
        with contextlib.closing(t.smtp()) as s:
            s.ehlo()
            assert s.mail("sender@client.test")[0] == 250
            assert s.rcpt(BOB) == (550, b"5.7.1 Command rejected")
        assert fake.packets(b"C")[0].startswith(b"[127.0.0.1]\x004")
    finally:
        fake.close()


def test_unix_socket_missing(sub_factory):
    t = sub_factory(smtpd_milters="unix:/nonexistent/milter.sock")
    t.setup(domains=["example.test"], users=[BOB])
    t.start()
    with contextlib.closing(t.smtp()) as s:
        s.ehlo()
        assert s.mail("sender@client.test") == TEMPFAIL
    t.wait_log(r"milter unix:/nonexistent/milter\.sock: stage=connect connect "
               r"failed: No such file or directory; default action tempfail")


def test_abort_at_rset_and_quit_at_end(hsrv, fk):
    with contextlib.closing(hsrv.smtp()) as s:
        s.ehlo()
        assert s.mail("sender@client.test")[0] == 250
        s.rset()
        s.quit()
    wait_until(lambda: fk.packets(b"Q"))
    assert fk.packets(b"A")
    cmds = [c for c, d in fk.got if c != b"D"]
    assert cmds[:5] == [b"O", b"C", b"H", b"M", b"A"], cmds


# ---- a milter down, a milter too slow: each default action ----

@pytest.fixture
def sub_factory(request):
    yield from instance_factory(request)


DEFAULTS = {
    "tempfail": (451, b"4.7.1 Service unavailable - try again later"),
    "reject": (550, b"5.5.0 Service unavailable"),
    "accept": (250, None),
    "shutdown": (421, b"4.7.0 Server closing connection"),
}


def try_message(t, subject):
    """EHLO, MAIL, RCPT, DATA: the first refusal as (code, text), or
    (250, text) when queued; (421, text) when the server closed."""
    try:
        with contextlib.closing(t.smtp(timeout=30)) as s:
            code, text = s.ehlo()
            if code != 250:
                return code, text
            code, text = s.mail("sender@client.test")
            if code != 250:
                return code, text
            code, text = s.rcpt(BOB)
            if code != 250:
                return code, text
            return s.data(make_msg(subject=subject))
    except smtplib.SMTPServerDisconnected:
        return 421, b"disconnected"
    except smtplib.SMTPConnectError as e:
        return e.smtp_code, e.smtp_error


@pytest.mark.parametrize("action", sorted(DEFAULTS))
def test_milter_down_default_action(sub_factory, action):
    # The milter answers while tern starts (its start waits for a 220),
    # then goes away: nothing listens on its port any more.
    down = FakeMilter()
    port = down.port
    t = sub_factory(smtpd_milters=down.spec, milter_default_action=action)
    t.setup(domains=["example.test"], users=[BOB])
    t.start()
    down.close()
    subject = uniq("s")
    code, text = try_message(t, subject)
    want_code, want_text = DEFAULTS[action]
    assert code == want_code, (code, text)
    if want_text is not None and code != 421:
        assert text == want_text
    t.wait_log(r"milter inet:127\.0\.0\.1:%d: stage=connect connect failed: "
               r".*; default action %s" % (port, action))
    if action == "accept":
        delivered_with(t, BOB, subject)


@pytest.mark.parametrize("action", sorted(DEFAULTS))
def test_milter_too_slow_default_action(sub_factory, fk, action):
    fk.script[b"R"] = "silent"
    t = sub_factory(smtpd_milters=fk.spec, milter_default_action=action,
                    milter_command_timeout="1s")
    t.setup(domains=["example.test"], users=[BOB])
    t.start()
    subject = uniq("s")
    code, text = try_message(t, subject)
    want_code, want_text = DEFAULTS[action]
    assert code == want_code, (code, text)
    if want_text is not None and code != 421:
        assert text == want_text
    t.wait_log(r"stage=rcpt sent no reply to 'R' within 1s; default action %s"
               % action)
    if action == "accept":
        delivered_with(t, BOB, subject)


def test_broken_body_replacement_with_accept_delivers_the_original(sub_factory, fk):
    # With milter_default_action = accept the message goes on: exactly as
    # the client sent it, none of the broken milter's changes in it.
    fk.script[b"E"] = [("raw", frame(b"hX-Half\0done\0")),
                       ("raw", frame(b"bnew body\r\n")),
                       ("raw-close", b"\x00\x00\x01\x00bpartial")]
    t = sub_factory(smtpd_milters=fk.spec, milter_default_action="accept")
    t.setup(domains=["example.test"], users=[BOB])
    t.start()
    subject = uniq("s")
    code, text = send(t, [BOB], subject, body="the original body\r\n")
    assert code == 250, text
    msg = delivered_with(t, BOB, subject)
    assert header(msg, "X-Half") is None
    assert body_of(msg) == b"the original body\n"


def test_milters_asked_in_order_first_refusal_decides(sub_factory, fk, fm):
    # fake first, then the flag milter: the fake refuses the second RCPT,
    # which the flag milter then never sees; the flag milter's change to
    # the message is applied after the fake's continue.
    fk.script[b"R"] = [("raw", frame(b"c"))]
    t = sub_factory(smtpd_milters="%s, %s" % (fk.spec, fm.spec))
    t.setup(domains=["example.test"], users=USERS)
    t.start()
    subject = flagged("addhdr")
    with contextlib.closing(t.smtp()) as s:
        s.ehlo()
        assert s.mail("sender@client.test")[0] == 250
        assert s.rcpt(BOB)[0] == 250
        fk.script[b"R"] = ("raw", frame(b"t"))
        assert s.rcpt("added@example.test") == TEMPFAIL
        fk.script[b"R"] = "continue"
        code, text = s.data(make_msg(subject=subject))
        assert code == 250, text
    msg = delivered_with(t, BOB, subject)
    assert header(msg, "X-Milter-Added") == "added value"
    seen = fm.seen(subject)
    assert [r[0] for r in seen["rcpts"]] == ["<%s>" % BOB]
    assert len(fk.packets(b"R")) == 2


def smtpd_nofile(t):
    pid = next(p for p, k in t.child_kinds().items() if k == "smtpd")
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError("no Max open files line")


def test_open_files_limit_counts_the_milters(sub_factory, fk):
    # max_sessions 1500: 2 descriptors per session without milters
    # (3064 in all), 2 + 2 + 1 with two milters (7564).  tern starts with
    # a soft limit of 1024 and raises it itself.
    hard = int(open("/proc/self/limits").read().split("Max open files")[1].split()[1])
    if hard < 7564:
        pytest.skip("machine: the hard open files limit is %d" % hard)
    t = sub_factory(max_sessions=1500, smtpd_milters="%s %s" % (fk.spec, fk.spec))
    t.WRAPPER = ("prlimit", "--nofile=1024:%d" % hard, "--")
    t.start()
    assert smtpd_nofile(t) >= 7564
