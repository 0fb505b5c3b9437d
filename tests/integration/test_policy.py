"""
Issue 11, points 6 to 8: policy delegation, Postfix's policy protocol,
against a recording policy server (a few lines of Python below, one per
module) that records every request and answers by the recipient's local
part: the request's attributes as Postfix writes them, `instance` the same
within a message and new for the next, `recipient_count` per stage, SASL
and TLS attributes, every action (the reply on the wire with its enhanced
code, 421 closing, DISCARD, HOLD, PREPEND once per message, WARN, INFO, an
unknown action), one connection serving many requests, and a service that
is down or too slow getting policy_default_action.

The real peers, started here on loopback and stopped after: Debian's
postgrey (the first RCPT greylisted with 450 4.2.0, a retry after the
delay accepted, one X-Greylist header with two recipients) and
policyd-rate-limit (limiting by client address: the RCPT past the limit
deferred).
"""
import contextlib
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from ternlib import (WAIT, add_account, free_port, header_lines,
                     instance_factory, make_msg, make_tempdir, module_server,
                     needs_package, queue_id, uniq, wait_until)

POSTGREY = "/usr/sbin/postgrey"
RATELIMIT = "/usr/bin/policyd-rate-limit"

DOMAIN = "example.test"
LOGIN, PASSWORD = "pol@example.test", "policy-test-pw-1"
# Recipients whose local part picks the recording server's answer.
ACTIONS = {
    "rej": "REJECT go away",
    "rejplain": "REJECT",
    "defer": "DEFER come back later",
    "dip": "DEFER_IF_PERMIT 4.2.0 Greylisted, see http://x.test/",
    "dir": "DEFER_IF_REJECT maybe",
    "c550": "550 5.1.1 no such person here",
    "c452": "452 too busy",
    "c421": "421 4.7.0 go away now",
    "hold": "HOLD suspicious",
    "discard": "DISCARD spam trap",
    "prep1": "PREPEND X-Policy-Test: tagged once",
    "prep2": "PREPEND X-Policy-Test: tagged once",
    "warn": "WARN looks odd",
    "info": "INFO noted",
    "weird": "FROBNICATE now",
    "ok": "OK",
    "slow": "SLOW",
    # hostile answers: raw bytes instead of an action
    "longline": b"action=DUNNO " + b"x" * 5000 + b"\n\n",
    "nolf": b"action=" + b"y" * 5000,
    "garbage": b"this is not an attribute\n\n",
    "manyattrs": b"a=b\n" * 500 + b"action=DUNNO\n\n",
    "noaction": b"foo=bar\n\n",
    "midclose": b"action=REJ",
    "nul": b"action=RE\0JECT\n\n",
    "prepcr": b"action=PREPEND X-A: b\rX-Evil: c\n\n",
    "double": b"action=DUNNO\n\naction=REJECT out of step\n\n",
    "trickle": "TRICKLE",
}
HOSTILE = [k for k, v in ACTIONS.items() if isinstance(v, bytes)]
USERS = sorted(ACTIONS) + ["plain", "plain2"]
SLOW_SECONDS = 6


class PolicyServer:
    """A policy server: one thread per connection, requests recorded
    (dicts, in order), answered by rule(request) -> action."""

    def __init__(self, path=None, rule=None):
        if path is None:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
            self.spec = "inet:127.0.0.1:%d" % self.port
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(path)
            os.chmod(path, 0o666)       # tern's smtpd runs as its user
            self.spec = "unix:" + path
        if rule is not None:
            self.rule = rule
        self.sock.listen(16)
        self.requests = []
        self.connections = 0
        self.closed = 0
        self.lock = threading.Lock()
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def rule(self, req):
        if req.get("protocol_state") != "RCPT":
            return "DUNNO"
        return ACTIONS.get(req["recipient"].split("@")[0], "DUNNO")

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        f = conn.makefile("rb")
        try:
            while True:
                req = {}
                while True:
                    line = f.readline()
                    if not line:
                        return
                    line = line.rstrip(b"\n").decode("utf-8", "replace")
                    if line == "":
                        break
                    name, _, value = line.partition("=")
                    req[name] = value
                with self.lock:
                    self.requests.append(req)
                action = self.rule(req)
                if action == "SLOW":
                    time.sleep(SLOW_SECONDS)
                    action = "DUNNO"
                if action == "TRICKLE":     # one byte per segment
                    for b in b"action=REJECT 5.7.9 trickled in\n\n":
                        conn.sendall(bytes([b]))
                        time.sleep(0.005)
                    continue
                if isinstance(action, bytes):
                    conn.sendall(action)
                    if not action.endswith(b"\n\n"):
                        return          # closes mid-reply
                    continue
                conn.sendall(b"action=" + action.encode() + b"\n\n")
        except OSError:
            return
        finally:
            conn.close()
            with self.lock:
                self.closed += 1

    def since(self, n):
        with self.lock:
            return list(self.requests[n:])

    def mark(self):
        with self.lock:
            return len(self.requests)

    def stop(self):
        self.stopping = True
        self.sock.close()


@pytest.fixture(scope="module")
def pol():
    p = PolicyServer()
    yield p
    p.stop()


def prepare(t):
    t.setup(domains=[DOMAIN], users=["%s@%s" % (u, DOMAIN) for u in USERS])
    add_account(t, LOGIN, PASSWORD)


@pytest.fixture(scope="module")
def psrv(request, pol):
    svc = "inet:127.0.0.1:%d" % pol.port
    yield from module_server(request, {
        "smtpd_policy_services": svc,
        "submission_policy_services": svc,
        "policy_stages": "connect helo mail rcpt data end-of-message",
        "policy_timeout": "3s",
        "auth_fail_limit": 100000, "auth_fail_delay": "0s",
    }, prepare)


@pytest.fixture
def factory(request):
    yield from instance_factory(request)


def addr(local):
    return "%s@%s" % (local, DOMAIN)


@contextlib.contextmanager
def smtp25(t):
    s = t.smtp()
    try:
        yield s
    finally:
        with contextlib.suppress(Exception):
            s.close()


def by_port(reqs, port):
    return [r for r in reqs if r.get("client_port") == str(port)]


def rcpt_reply(t, local):
    """The reply to RCPT TO:<local@example.test> on port 25."""
    with smtp25(t) as s:
        s.ehlo()
        assert s.mail("sender@client.test")[0] == 250
        return s.rcpt(addr(local))


# ---- the request ----

def test_request_attributes_per_stage(psrv, pol):
    mark = pol.mark()
    with smtp25(psrv) as s:
        port = s.sock.getsockname()[1]
        s.ehlo()
        assert s.mail("from1@client.test", ["SIZE=1234"])[0] == 250
        assert s.rcpt(addr("plain"))[0] == 250
        assert s.rcpt(addr("plain2"))[0] == 250
        code, text = s.data(make_msg(subject=uniq("attrs")))
        assert code == 250, text
        qid = queue_id(text)
        assert s.mail("from2@client.test")[0] == 250
        assert s.rcpt(addr("plain"))[0] == 250
        code, text = s.data(make_msg(subject=uniq("attrs2")))
        assert code == 250, text
        qid2 = queue_id(text)
        s.quit()
    reqs = by_port(pol.since(mark), port)
    states = [r["protocol_state"] for r in reqs]
    assert states == ["CONNECT", "EHLO", "MAIL", "RCPT", "RCPT", "DATA",
                      "END-OF-MESSAGE", "MAIL", "RCPT", "DATA",
                      "END-OF-MESSAGE"], states
    for r in reqs:
        assert r["request"] == "smtpd_access_policy"
        assert r["client_address"] == "127.0.0.1"
        assert r["client_name"] == "unknown"
        assert r["reverse_client_name"] == "unknown"
        assert r["server_address"] == "127.0.0.1"
        assert r["server_port"] == str(psrv.port)
        assert r["stress"] == ""
        assert r["etrn_domain"] == ""
        assert r["sasl_username"] == "" and r["sasl_method"] == ""
        assert r["encryption_protocol"] == "" and r["encryption_keysize"] == "0"
        assert r["ccert_subject"] == "" and r["policy_context"] == ""
    connect, ehlo, mail, rcpt1, rcpt2, data, eom = reqs[:7]
    assert connect["protocol_name"] == "SMTP" and connect["helo_name"] == ""
    assert connect["instance"] == "" and connect["queue_id"] == ""
    assert ehlo["protocol_name"] == "ESMTP"
    assert ehlo["helo_name"] == "client.test"
    assert mail["sender"] == "from1@client.test" and mail["size"] == "1234"
    assert mail["recipient"] == "" and mail["recipient_count"] == "0"
    assert mail["queue_id"] == qid
    assert rcpt1["recipient"] == addr("plain")
    assert rcpt2["recipient"] == addr("plain2")
    # Postfix counts recipients only at DATA and END-OF-MESSAGE, and
    # names the recipient there only when there is one.
    assert rcpt1["recipient_count"] == rcpt2["recipient_count"] == "0"
    assert data["recipient_count"] == eom["recipient_count"] == "2"
    assert data["recipient"] == eom["recipient"] == ""
    assert int(eom["size"]) > 0
    first = {r["instance"] for r in reqs[2:7]}
    second = {r["instance"] for r in reqs[7:]}
    assert len(first) == 1 and len(second) == 1 and first != second, (first, second)
    assert "" not in first | second
    assert all(r["queue_id"] == qid2 for r in reqs[7:])
    assert reqs[9]["recipient"] == addr("plain")
    assert reqs[9]["recipient_count"] == "1"


def test_sasl_and_tls_on_submission(psrv, pol):
    mark = pol.mark()
    with psrv.client("submission", login=LOGIN, password=PASSWORD) as s:
        port = s.sock.getsockname()[1]
        assert s.mail(LOGIN)[0] == 250
        assert s.rcpt(addr("plain"))[0] == 250
    reqs = [r for r in by_port(pol.since(mark), port)
            if r["protocol_state"] == "RCPT"]
    assert len(reqs) == 1, pol.since(mark)
    r = reqs[0]
    assert r["sasl_method"] == "PLAIN"
    assert r["sasl_username"] == LOGIN
    assert r["sasl_sender"] == ""
    assert r["server_port"] == str(psrv.sub_port)
    assert r["encryption_protocol"].startswith("TLSv1."), r
    assert r["encryption_cipher"] != ""
    assert int(r["encryption_keysize"]) >= 128


def test_starttls_on_port_25(psrv, pol):
    mark = pol.mark()
    with psrv.client("smtp", tls=True) as s:
        port = s.sock.getsockname()[1]
        assert s.mail("tls@client.test")[0] == 250
    reqs = by_port(pol.since(mark), port)
    before = [r for r in reqs if r["protocol_state"] == "CONNECT"]
    after = [r for r in reqs if r["protocol_state"] == "MAIL"]
    assert before[0]["encryption_protocol"] == ""
    assert after[0]["encryption_protocol"].startswith("TLSv1.")
    assert after[0]["sasl_username"] == ""


# ---- the actions ----

@pytest.mark.parametrize("local,want", [
    ("rej", (554, "5.7.1 <rej@example.test>: Recipient address rejected: go away")),
    ("rejplain", (554, "5.7.1 <rejplain@example.test>: Recipient address rejected: Access denied")),
    ("defer", (450, "4.7.1 <defer@example.test>: Recipient address rejected: come back later")),
    ("dip", (450, "4.2.0 <dip@example.test>: Recipient address rejected: Greylisted, see http://x.test/")),
    ("c550", (550, "5.1.1 <c550@example.test>: Recipient address rejected: no such person here")),
    ("c452", (452, "4.7.1 <c452@example.test>: Recipient address rejected: too busy")),
])
def test_refusals_on_the_wire(psrv, local, want):
    code, text = rcpt_reply(psrv, local)
    assert (code, text.decode()) == want


def test_refused_recipient_is_not_delivered(psrv):
    with smtp25(psrv) as s:
        s.ehlo()
        assert s.mail("sender@client.test")[0] == 250
        assert s.rcpt(addr("rej"))[0] == 554
        assert s.rcpt(addr("plain2"))[0] == 250
        subject = uniq("onlyone")
        code, text = s.data(make_msg(subject=subject))
        assert code == 250, text
    wait_until(lambda: any(subject.encode() in m for m in psrv.messages(addr("plain2"))))
    assert not any(subject.encode() in m for m in psrv.messages(addr("rej")))


def test_421_answers_and_closes(psrv):
    mark = psrv.log_mark()
    with psrv.raw() as r:
        r.expect("EHLO client.test", 250)
        r.expect("MAIL FROM:<sender@client.test>", 250)
        code, text = r.cmd("RCPT TO:<%s>" % addr("c421"))
        assert code == 421, text
        assert text == "4.7.0 <c421@example.test>: Recipient address rejected: go away now"
        assert r.closed_by_server()
    psrv.wait_log(r"reject RCPT from \[127\.0\.0\.1\] by policy inet:127\.0\.0\.1:\d+: "
                  r"421 4\.7\.0 <c421@example\.test>: Recipient address rejected: "
                  r"go away now; closing", since=mark)


def test_defer_if_reject_is_logged_and_passes(psrv):
    mark = psrv.log_mark()
    code, _ = rcpt_reply(psrv, "dir")
    assert code == 250
    psrv.wait_log(r"rcpt: DEFER_IF_REJECT \(nothing to reject\): maybe", since=mark)


@pytest.mark.parametrize("local,pattern", [
    ("warn", r"policy inet:127\.0\.0\.1:\d+ rcpt: WARN looks odd"),
    ("info", r"policy inet:127\.0\.0\.1:\d+ rcpt: INFO noted"),
    ("weird", r"rcpt: unsupported action taken as DUNNO: FROBNICATE now"),
    ("ok", r"rcpt: OK: OK"),
])
def test_logged_actions_continue(psrv, local, pattern):
    mark = psrv.log_mark()
    subject = uniq(local)
    with smtp25(psrv) as s:
        s.ehlo()
        assert s.mail("sender@client.test")[0] == 250
        assert s.rcpt(addr(local))[0] == 250
        code, text = s.data(make_msg(subject=subject))
        assert code == 250, text
    psrv.wait_log(pattern, since=mark)
    wait_until(lambda: any(subject.encode() in m for m in psrv.messages(addr(local))))


def test_discard_accepts_and_drops(psrv):
    mark = psrv.log_mark()
    subject = uniq("discard")
    with smtp25(psrv) as s:
        s.ehlo()
        assert s.mail("sender@client.test")[0] == 250
        assert s.rcpt(addr("discard"))[0] == 250
        assert s.rcpt(addr("plain"))[0] == 250
        code, text = s.data(make_msg(subject=subject))
        assert code == 250, text
    psrv.wait_log(r"discard at rcpt by policy inet:127\.0\.0\.1:\d+: spam trap",
                  since=mark)
    # A marker sent after it arrives; the discarded message never does.
    marker = uniq("after-discard")
    psrv.send(addr("plain"), subject=marker)
    wait_until(lambda: any(marker.encode() in m for m in psrv.messages(addr("plain"))))
    for who in ("plain", "discard"):
        assert not any(subject.encode() in m for m in psrv.messages(addr(who)))


def test_hold_is_logged(psrv):
    # The hold queue is another part of issue 11: until it is merged, the
    # hold is checked by its log line.
    mark = psrv.log_mark()
    with smtp25(psrv) as s:
        s.ehlo()
        assert s.mail("sender@client.test")[0] == 250
        assert s.rcpt(addr("hold"))[0] == 250
        code, text = s.data(make_msg(subject=uniq("hold")))
        assert code == 250, text
    psrv.wait_log(r"hold at rcpt by policy inet:127\.0\.0\.1:\d+: suspicious",
                  since=mark)


def test_prepend_once_with_two_recipients(psrv):
    subject = uniq("prepend")
    psrv.send([addr("prep1"), addr("prep2")], subject=subject)
    msgs = wait_until(lambda: [m for m in psrv.messages(addr("prep1"))
                               if subject.encode() in m])
    assert msgs
    lines = header_lines(msgs[0])
    tagged = [(n, v) for n, v in lines if n.lower() == "x-policy-test"]
    assert tagged == [("X-Policy-Test", "tagged once")], lines
    # Above tern's Received header, as in Postfix.
    names = [n.lower() for n, _ in lines]
    assert names.index("x-policy-test") < names.index("received")
    # The next message is tagged again.
    subject2 = uniq("prepend2")
    psrv.send([addr("prep1")], subject=subject2)
    msgs = wait_until(lambda: [m for m in psrv.messages(addr("prep1"))
                               if subject2.encode() in m])
    assert [(n, v) for n, v in header_lines(msgs[0])
            if n.lower() == "x-policy-test"] == [("X-Policy-Test", "tagged once")]


def test_prepend_with_a_cr_is_refused(psrv):
    mark = psrv.log_mark()
    subject = uniq("prepcr")
    psrv.send(addr("prepcr"), subject=subject)
    msgs = wait_until(lambda: [m for m in psrv.messages(addr("prepcr"))
                               if subject.encode() in m])
    assert msgs and b"X-Evil" not in msgs[0] and b"X-A:" not in msgs[0]
    psrv.wait_log(r"rcpt: unsupported action taken as DUNNO: "
                  r"PREPEND X-A: b\\x0dX-Evil: c", since=mark)


def test_reply_trickled_a_byte_at_a_time(psrv):
    code, text = rcpt_reply(psrv, "trickle")
    assert (code, text.decode()) == (
        554, "5.7.9 <trickle@example.test>: Recipient address rejected: trickled in")


def test_two_replies_to_one_request(psrv, pol):
    # The first reply counts; the connection is out of step and is
    # replaced before the next request.
    mark = psrv.log_mark()
    assert rcpt_reply(psrv, "double")[0] == 250
    conns = pol.connections
    assert rcpt_reply(psrv, "rej")[0] == 554
    assert pol.connections == conns + 1
    assert "out of step" not in psrv.log()[mark:]


def test_one_connection_serves_many_requests(psrv, pol):
    psrv.send(addr("plain"), subject=uniq("warm"))
    conns, mark = pol.connections, pol.mark()
    for i in range(5):
        psrv.send([addr("plain"), addr("plain2")], subject=uniq("many"))
    assert len(pol.since(mark)) >= 5 * 6
    assert pol.connections == conns


def test_slow_service_gets_default_action(psrv, pol):
    mark = psrv.log_mark()
    code, text = rcpt_reply(psrv, "slow")
    assert (code, text.decode()) == (
        451, "4.3.5 <slow@example.test>: Recipient address rejected: "
        "Server configuration problem")
    psrv.wait_log(r"policy inet:127\.0\.0\.1:\d+: timeout \(attempt 2 of 2, giving up\)",
                  since=mark)
    psrv.wait_log(r"rcpt: no answer \(timeout\); policy_default_action: "
                  r"451 4\.3\.5 Server configuration problem", since=mark)
    # The service is used again afterwards.
    assert rcpt_reply(psrv, "plain")[0] == 250


@pytest.mark.parametrize("local,why", [
    ("longline", "reply line too long"),
    ("nolf", "reply line too long"),
    ("garbage", "reply line without '='"),
    ("manyattrs", "too many reply attributes"),
    ("noaction", "reply without action"),
    ("midclose", "connection closed before the reply"),
    ("nul", "NUL in reply"),
])
def test_hostile_service_gets_default_action(psrv, pol, local, why):
    mark = psrv.log_mark()
    code, text = rcpt_reply(psrv, local)
    assert (code, text.decode()) == (
        451, "4.3.5 <%s>: Recipient address rejected: "
        "Server configuration problem" % addr(local))
    psrv.wait_log(r"policy inet:127\.0\.0\.1:\d+: %s \(attempt 2 of 2, giving up\)"
                  % re.escape(why), since=mark)
    # The next request gets a sound answer on a new connection.
    assert rcpt_reply(psrv, "plain")[0] == 250


@pytest.fixture
def own_pol():
    made = []

    def make(**kw):
        p = PolicyServer(**kw)
        made.append(p)
        return p
    yield make
    for p in made:
        p.stop()


def test_unix_socket_service(factory, own_pol):
    base = make_tempdir("tern-policy-unix-")
    try:
        p = own_pol(path=os.path.join(base, "policy"))
        t = factory(smtpd_policy_services=p.spec)
        t.setup(domains=[DOMAIN], users=[addr("rej"), addr("plain")])
        t.start()
        code, text = rcpt_reply(t, "rej")
        assert (code, text.decode()) == (
            554, "5.7.1 <rej@example.test>: Recipient address rejected: go away")
        assert rcpt_reply(t, "plain")[0] == 250
        assert [r["recipient"] for r in p.since(0)] == [addr("rej"), addr("plain")]
        assert p.connections == 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_each_port_asks_its_own_list(factory, own_pol):
    p25, psub = own_pol(), own_pol()
    t = factory(smtpd_policy_services=p25.spec,
                submission_policy_services=psub.spec)
    prepare(t)
    t.start()
    assert rcpt_reply(t, "plain")[0] == 250
    for kind in ("submission", "submissions"):
        with t.client(kind, login=LOGIN, password=PASSWORD) as s:
            assert s.mail(LOGIN)[0] == 250
            assert s.rcpt(addr("plain2"))[0] == 250
    assert [r["recipient"] for r in p25.since(0)] == [addr("plain")]
    assert [(r["recipient"], r["sasl_username"]) for r in psub.since(0)] == [
        (addr("plain2"), LOGIN)] * 2
    assert psub.since(0)[1]["server_port"] == str(t.subs_port)


def test_stress_is_told(factory, own_pol):
    p = own_pol()
    t = factory(smtpd_policy_services=p.spec, stress="on")
    t.setup(domains=[DOMAIN], users=[addr("plain")])
    t.start()
    assert rcpt_reply(t, "plain")[0] == 250
    assert [r["stress"] for r in p.since(0)] == ["yes"]


def test_helo_refusal_answers_the_session(factory, own_pol):
    def rule(req):
        if req["protocol_state"] == "EHLO" and req["helo_name"] == "bad.test":
            return "REJECT 5.7.0 not you"
        return "DUNNO"
    p = own_pol(rule=rule)
    t = factory(smtpd_policy_services=p.spec, policy_stages="helo rcpt")
    t.setup(domains=[DOMAIN], users=[addr("plain")])
    t.start()
    with t.raw() as r:
        code, text = r.cmd("EHLO bad.test")
        assert (code, text) == (554, "5.7.0 <bad.test>: Helo command rejected: not you")
        code, text = r.cmd("MAIL FROM:<sender@client.test>")
        assert (code, text) == (554, "5.7.0 <bad.test>: Helo command rejected: not you")
    # Only the stages asked for are asked.
    assert {r["protocol_state"] for r in p.since(0)} == {"EHLO"}
    assert rcpt_reply(t, "plain")[0] == 250


def test_prepend_at_data_and_end_of_message(factory, own_pol):
    def rule(req):
        return {"DATA": "PREPEND X-At-Data: yes",
                "END-OF-MESSAGE": "PREPEND X-At-Eom: yes"}.get(
                    req["protocol_state"], "DUNNO")
    p = own_pol(rule=rule)
    t = factory(smtpd_policy_services=p.spec,
                policy_stages="data end-of-message")
    t.setup(domains=[DOMAIN], users=[addr("plain")])
    t.start()
    subject = uniq("stages")
    t.send(addr("plain"), subject=subject)
    msgs = wait_until(lambda: [m for m in t.messages(addr("plain"))
                               if subject.encode() in m])
    assert msgs
    names = [n.lower() for n, _ in header_lines(msgs[0])]
    # END-OF-MESSAGE's goes on top (index 0), DATA's above tern's Received.
    at = [names.index(n) for n in ("x-at-eom", "x-at-data", "received")]
    assert at == sorted(at), names
    assert names.count("x-at-eom") == names.count("x-at-data") == 1
    assert [r["protocol_state"] for r in p.since(0)] == ["DATA", "END-OF-MESSAGE"]


def test_max_idle_and_max_ttl(factory, own_pol):
    p = own_pol()
    t = factory(smtpd_policy_services=p.spec, policy_max_idle="1s")
    t.setup(domains=[DOMAIN], users=[addr("plain")])
    t.start()
    assert rcpt_reply(t, "plain")[0] == 250
    # Unused for policy_max_idle, the connection is closed by tern...
    assert wait_until(lambda: p.closed == 1), "tern kept the idle connection"
    # ... and a new one opened for the next request.
    assert rcpt_reply(t, "plain")[0] == 250
    assert p.connections == 2
    t.stop()
    t.write_config(policy_max_idle="300s", policy_max_ttl="1s")
    t.start()
    base = p.connections
    assert rcpt_reply(t, "plain")[0] == 250
    assert p.connections == base + 1
    time.sleep(1.5)     # past policy_max_ttl: the next request reconnects
    assert rcpt_reply(t, "plain")[0] == 250
    assert p.connections == base + 2


def test_client_gone_while_its_request_is_out(psrv, pol):
    # A's request is in flight (slow), B's waits behind it on the one
    # connection; A hangs up.  B is answered once A's attempts end, and
    # nothing is left dangling (the module's log is checked for ASan).
    mark = pol.mark()
    a = psrv.raw()
    a.expect("EHLO a.test", 250)
    a.expect("MAIL FROM:<a@client.test>", 250)
    a.send("RCPT TO:<%s>\r\n" % addr("slow"))
    assert wait_until(lambda: any(r.get("recipient") == addr("slow")
                                  for r in pol.since(mark)))
    with psrv.raw(timeout=4 * SLOW_SECONDS) as b:
        b.expect("EHLO b.test", 250)
        b.expect("MAIL FROM:<b@client.test>", 250)
        b.send("RCPT TO:<%s>\r\n" % addr("plain"))
        a.close()
        assert b.reply()[0] == 250
    assert rcpt_reply(psrv, "plain")[0] == 250


def test_service_down(factory):
    down = free_port()
    t = factory(smtpd_policy_services="inet:127.0.0.1:%d" % down,
                policy_retry_delay="1s")
    t.setup(domains=[DOMAIN], users=[addr("plain")])
    t.start()
    mark = t.log_mark()
    code, text = rcpt_reply(t, "plain")
    assert (code, text.decode()) == (
        451, "4.3.5 <plain@example.test>: Recipient address rejected: "
        "Server configuration problem")
    t.wait_log(r"policy inet:127\.0\.0\.1:%d: .*\(attempt 1 of 2, retrying in 1s\)" % down,
               since=mark)
    t.wait_log(r"\(attempt 2 of 2, giving up\)", since=mark)


def test_service_down_default_dunno(factory):
    down = free_port()
    t = factory(smtpd_policy_services="inet:127.0.0.1:%d" % down,
                policy_default_action="DUNNO", policy_try_limit=1)
    t.setup(domains=[DOMAIN], users=[addr("plain")])
    t.start()
    assert rcpt_reply(t, "plain")[0] == 250


def test_bad_settings_refused(factory):
    t = factory(smtpd_policy_services="tcp:127.0.0.1:1")
    r = t.cli("config", "check", expect=None)
    assert r.rc != 0 and "want inet:HOST:PORT or unix:PATH" in r.err, r
    t.write_config(smtpd_policy_services="", policy_stages="rcpt, bogus")
    r = t.cli("config", "check", expect=None)
    assert r.rc != 0 and "'bogus' is not a stage" in r.err, r
    t.write_config(policy_stages="rcpt", policy_default_action="FROB")
    r = t.cli("config", "check", expect=None)
    assert r.rc != 0 and "is not an action tern takes" in r.err, r


# ---- real policy services: postgrey and policyd-rate-limit ----

def _user_exists(name):
    try:
        pwd.getpwnam(name)
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


class Peer:
    """A daemon started in its own process group, its output in a file;
    stopped (TERM, then KILL of the group) at the end."""

    def __init__(self, args, base, port):
        self.base, self.port = base, port
        self.log_path = os.path.join(base, "peer.log")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log,
                                         start_new_session=True)
        up = wait_until(self._listening, timeout=3 * WAIT)
        assert up, "%s did not listen on %d:\n%s" % (args[0], port, self.log())

    def _listening(self):
        assert self.proc.poll() is None, "exited:\n%s" % self.log()
        with contextlib.suppress(OSError), \
                socket.create_connection(("127.0.0.1", self.port), timeout=1):
            return True
        return False

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        shutil.rmtree(self.base, ignore_errors=True)


def _dir_for(base, name, user):
    d = os.path.join(base, name)
    os.mkdir(d)
    if os.geteuid() == 0:
        os.chown(d, pwd.getpwnam(user).pw_uid, grp.getgrnam(user).gr_gid)
    return d


GREY_DELAY = 3


@pytest.fixture(scope="module")
def postgrey():
    base, port = make_tempdir("tern-postgrey-"), free_port()
    db = _dir_for(base, "db", "postgrey")
    p = Peer([POSTGREY, "--inet=127.0.0.1:%d" % port, "--delay=%d" % GREY_DELAY,
              "--dbdir=%s" % db, "--pidfile=%s" % os.path.join(base, "pid"),
              "--auto-whitelist-clients=0"], base, port)
    yield p
    p.stop()


RATE_LIMIT = 2


@pytest.fixture(scope="module")
def ratelimit():
    base, port = make_tempdir("tern-ratelimit-"), free_port()
    conf = os.path.join(base, "policyd-rate-limit.yaml")
    # Its own config: sqlite in base/db (created empty here, chowned by
    # the daemon before it drops to its user), limits by client address.
    with open(conf, "w") as f:
        f.write("""debug: True
user: "policyd-rate-limit"
group: "policyd-rate-limit"
pidfile: "%(base)s/run/policyd-rate-limit.pid"
backend: 0
sqlite_config:
    database: "%(base)s/db/db.sqlite3"
SOCKET: ["127.0.0.1", %(port)d]
limits:
    - [%(limit)d, 3600]
limits_by_id: {}
limit_by_sasl: True
limit_by_sender: False
limit_by_ip: True
limited_networks: ["127.0.0.0/8"]
success_action: "dunno"
fail_action: "defer_if_permit Rate limit reach, retry later"
db_error_action: "dunno"
report: False
delay_to_close: 300
""" % {"base": base, "port": port, "limit": RATE_LIMIT})
    os.mkdir(os.path.join(base, "run"))
    os.mkdir(os.path.join(base, "db"))
    p = Peer([RATELIMIT, "--file", conf], base, port)
    yield p
    p.stop()


@needs_package("postgrey", os.path.exists(POSTGREY) and _user_exists("postgrey"))
def test_postgrey_greylists_then_accepts(factory, postgrey):
    t = factory(smtpd_policy_services="inet:127.0.0.1:%d" % postgrey.port)
    t.setup(domains=[DOMAIN], users=[addr("gl1"), addr("gl2")])
    t.start()
    sender = uniq("grey") + "@client.test"
    with smtp25(t) as s:
        s.ehlo()
        assert s.mail(sender)[0] == 250
        for who in ("gl1", "gl2"):
            code, text = s.rcpt(addr(who))
            assert (code, text.decode()) == (
                450, "4.2.0 <%s>: Recipient address rejected: Greylisted, see "
                "http://postgrey.schweikert.ch/help/example.test.html" % addr(who))
    subject = uniq("greylisted")

    def retry():
        with smtp25(t) as s:
            s.ehlo()
            assert s.mail(sender)[0] == 250
            if s.rcpt(addr("gl1"))[0] != 250:
                return False
            assert s.rcpt(addr("gl2"))[0] == 250
            code, text = s.data(make_msg(subject=subject, sender=sender))
            assert code == 250, text
            return True
    time.sleep(GREY_DELAY)
    assert wait_until(retry, timeout=GREY_DELAY + 2 * WAIT, interval=1)
    for who in ("gl1", "gl2"):
        msgs = wait_until(lambda: [m for m in t.messages(addr(who))
                                   if subject.encode() in m])
        assert len(msgs) == 1
        grey = [v for n, v in header_lines(msgs[0]) if n.lower() == "x-greylist"]
        assert len(grey) == 1, header_lines(msgs[0])
        assert grey[0].startswith("delayed "), grey


@needs_package("policyd-rate-limit",
               os.path.exists(RATELIMIT) and _user_exists("policyd-rate-limit"))
def test_policyd_rate_limit_by_address(factory, ratelimit):
    t = factory(smtpd_policy_services="inet:127.0.0.1:%d" % ratelimit.port)
    users = ["rl%d" % i for i in range(RATE_LIMIT + 1)]
    t.setup(domains=[DOMAIN], users=[addr(u) for u in users])
    t.start()
    with smtp25(t) as s:
        s.ehlo()
        assert s.mail("sender@client.test")[0] == 250
        for u in users[:RATE_LIMIT]:
            code, text = s.rcpt(addr(u))
            assert code == 250, (u, code, text)
        code, text = s.rcpt(addr(users[-1]))
        assert (code, text.decode()) == (
            450, "4.7.1 <%s>: Recipient address rejected: "
            "Rate limit reach, retry later" % addr(users[-1]))
        subject = uniq("limited")
        code, text = s.data(make_msg(subject=subject))
        assert code == 250, text
    for u in users[:RATE_LIMIT]:
        assert wait_until(lambda: any(subject.encode() in m
                                      for m in t.messages(addr(u))))
    assert not any(subject.encode() in m for m in t.messages(addr(users[-1])))
