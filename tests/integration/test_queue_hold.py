"""
Issue 11: the hold queue.  `tern queue hold ID` puts a queued message on
hold (queue/hold, as Postfix's postsuper -h): `tern queue list` marks it
with `!` (as mailq does), the queue never tries it (not even at a flush)
and never expires it while held; `tern queue release ID` (postsuper -H)
gives it back and it is tried at once; `tern queue delete ID` drops a held
message.  Held messages stay held across a restart.  The plugins' HOLD
(milter quarantine, policy HOLD, filter hold) commits into the same folder:
here a policy service's HOLD, by a policy server of the test's own.
"""
import contextlib
import json
import os
import re
import socketserver
import threading
import time

from outlib import mailnet, queue_entry, send_from, sent_line, wait_queue_empty  # noqa: F401
from ternlib import make_msg, new_user, uniq, wait_until

TERN_SETUP = {"domains": ["example.test"]}


def held_files(t):
    d = os.path.join(t.state_dir, "queue", "hold")
    try:
        return sorted(n for n in os.listdir(d) if re.fullmatch(r"[0-9A-Z]{12}", n))
    except FileNotFoundError:
        return []


def grey_net(mailnet, **settings):
    """A and a MiniSMTP for grey.test that answers RCPT with 451 until
    state["accept"] is set; retries an hour away, so that only a flush or
    a release makes A try again."""
    state = {"accept": False}

    def rcpt(session, arg):
        return None if state["accept"] else "451 4.7.1 not now"

    mini = mailnet.mini(reply={"RCPT": rcpt})
    mailnet.dns.add("grey.test MX 10 mx.grey.test", "mx.grey.test A 127.0.0.1")
    s = {"smtp_port": str(mini.port), "queue_retry_min": "1h", "queue_retry_max": "1h"}
    s.update(settings)
    a = mailnet.make_a(**s)
    a.start()
    sender = new_user(a, "a.test", "s")
    return a, mini, state, sender


def deferred(a, sender, to):
    qid, _ = send_from(a, sender, to)
    a.wait_log(sent_line(qid, to, "deferred"))
    assert wait_until(lambda: "deferred" in "\n".join(queue_entry(a, qid)))
    return qid


def test_hold_flush_release_delivers(mailnet):
    """Held: out of the queue folder, `ID!` in the list, JSON held=true,
    not tried at a flush that retries the message beside it.  Released:
    tried at once (its retry was an hour away) and sent."""
    a, mini, state, sender = grey_net(mailnet)
    to = "user@grey.test"
    qid = deferred(a, sender, to)
    other = deferred(a, sender, to)

    mark = a.log_mark()
    r = a.cli("queue", "hold", qid)
    assert r.out.strip() == "held %s" % qid, r
    a.wait_log(r"%s: put on hold by tern queue hold" % qid, since=mark)
    assert qid not in a.queue_files() and held_files(a) == [qid], \
        "queue %r hold %r" % (a.queue_files(), held_files(a))

    out = a.cli("queue", "list").out
    assert re.search(r"^%s!  \d+ bytes" % qid, out, re.M), "want %s! in the list:\n%s" % (qid, out)
    assert re.search(r"^%s  \d+ bytes" % other, out, re.M), out
    assert "2 messages in the queue (1 on hold)" in out, out
    assert re.search(r"to=<%s> orig_to=<%s> remote deferred attempts=1" % (to, to), out), \
        "the held message keeps its state:\n%s" % out
    listed = {m["id"]: m for m in json.loads(a.cli("queue", "list", "--json").out)}
    assert listed[qid]["held"] is True and listed[other]["held"] is False, listed
    shown = json.loads(a.cli("queue", "show", qid, "--json").out)
    assert shown["held"] is True and shown["recipients"][0]["attempts"] == 1, shown
    assert a.cli("queue", "show", qid).out.startswith(qid + "!"), "show marks it held"

    # A flush tries the other message, never the held one.
    mark = a.log_mark()
    a.cli("queue", "flush")
    a.wait_log(sent_line(other, to, "deferred"), since=mark)
    assert not re.search(re.escape(qid) + r": to=", a.log()[mark:]), \
        "the held message was tried:\n%s" % a.log()[mark:]

    state["accept"] = True
    mark = a.log_mark()
    r = a.cli("queue", "release", qid)
    assert r.out.strip() == "released %s" % qid, r
    a.wait_log(r"%s: released from hold by tern queue release" % qid, since=mark)
    m = a.wait_log(sent_line(qid, to), since=mark)
    assert m.group(3) == "2", m.group(0)
    assert held_files(a) == []
    msgs = mini.wait_messages(1)
    assert msgs[0]["rcpts"] == [to], msgs
    a.cli("queue", "delete", other)
    wait_queue_empty(a)


def test_held_never_expires_until_released(mailnet):
    """queue_lifetime 2 s: the message beside it bounces for age at the
    flush; the held one stays, unbounced.  Released, it is subject to
    expiry again, from its arrival, as in Postfix: it bounces at its
    first failed attempt (4.4.7)."""
    a, mini, state, sender = grey_net(mailnet, queue_lifetime="2s")
    to = "user@grey.test"
    qid = deferred(a, sender, to)
    other = deferred(a, sender, to)
    a.cli("queue", "hold", qid)
    time.sleep(2.5)        # both past their lifetime
    mark = a.log_mark()
    a.cli("queue", "flush")
    m = a.wait_log(sent_line(other, to, "bounced"), since=mark)
    assert m.group(2) == "4.4.7", m.group(0)
    assert held_files(a) == [qid], "held: %r" % held_files(a)
    assert not re.search(re.escape(qid) + r": to=", a.log()[mark:]), a.log()[mark:]

    mark = a.log_mark()
    a.cli("queue", "release", qid)
    m = a.wait_log(sent_line(qid, to, "bounced"), since=mark)
    assert m.group(2) == "4.4.7", m.group(0)
    wait_queue_empty(a)


def remote_alias(srv):
    src = "%s@example.test" % uniq("fwd")
    srv.cli("alias", "add", src, "far@remote.test")
    return src


def test_delete_held_and_errors(srv):
    """delete finds a held message; hold and release refuse what is not
    there (exit 1, with a reason)."""
    src = remote_alias(srv)
    qid = srv.send(src, msg=make_msg(subject=uniq("hdel")))
    srv.wait_log(r"%s: to=<far@remote.test> .*status=deferred" % qid)
    srv.cli("queue", "hold", qid)
    assert held_files(srv) == [qid]
    r = srv.cli("queue", "hold", qid, expect=1)
    assert "no such message in the queue" in r.err, r
    r = srv.cli("queue", "release", "BCDFGHJKLMNP", expect=1)
    assert "no such message on hold" in r.err, r
    srv.cli("queue", "hold", "not-an-id", expect=1)
    srv.cli("queue", "release", "../../etc", expect=1)

    mark = srv.log_mark()
    r = srv.cli("queue", "delete", qid)
    assert qid in r.out, r
    assert held_files(srv) == [], held_files(srv)
    assert qid not in srv.cli("queue", "list").out
    srv.cli("queue", "show", qid, expect=1)
    srv.cli("queue", "release", qid, expect=1)
    # The queue had forgotten it at the hold: nothing more is said.
    time.sleep(0.3)
    assert not re.search(re.escape(qid) + r": removed", srv.log()[mark:]), srv.log()[mark:]


def test_held_stays_held_across_restart(tern_factory):
    """Held while the server runs, it is not recovered into the queue at
    the next start; released while the server is stopped, it is recovered
    at the start after."""
    t = tern_factory()
    t.setup(domains=["example.test"], aliases=[("fwd@example.test", "far@remote.test")])
    t.start()
    qid = t.send("fwd@example.test", subject="kept held")
    t.wait_log(r"%s: .*status=deferred" % qid)
    t.cli("queue", "hold", qid)
    t.wait_log(r"%s: put on hold by tern queue hold" % qid)
    assert t.stop() == 0, t.log_tail()
    assert re.search(r"^%s!" % qid, t.cli("queue", "list").out, re.M)

    mark = t.log_mark()
    t.start()
    t.wait_greeting()
    assert not re.search(r"recovered \d+ messages?", t.log()[mark:]), t.log()[mark:]
    assert held_files(t) == [qid] and t.queue_files() == []
    assert t.stop() == 0, t.log_tail()

    # Released with no server running: nothing to tell, found at start.
    r = t.cli("queue", "release", qid)
    assert r.out.strip() == "released %s" % qid, r
    mark = t.log_mark()
    t.start()
    t.wait_log(r"recovered 1 messages? from the queue", since=mark)
    assert t.queue_files() == [qid] and held_files(t) == []
    t.cli("queue", "delete", qid)


class HoldPolicy(socketserver.ThreadingTCPServer):
    """A policy service (Postfix's protocol) on 127.0.0.1: HOLD for a
    recipient whose local part starts with "hold", DUNNO for the rest."""
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                attrs = {}
                for line in self.rfile:
                    line = line.decode("utf-8", "replace").rstrip("\n")
                    if line:
                        k, _, v = line.partition("=")
                        attrs[k] = v
                        continue
                    hold = attrs.get("recipient", "").startswith("hold")
                    self.wfile.write(b"action=HOLD held by the test\n\n" if hold
                                     else b"action=DUNNO\n\n")
                    self.wfile.flush()
                    attrs = {}
        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True).start()


def test_policy_hold_commits_into_hold(tern_factory):
    """A policy service's HOLD at RCPT: the client hears 250, the message
    is committed into queue/hold (status=hold), never delivered, shown
    held; the next message of the same session is not held; released, the
    held one is delivered."""
    policy = HoldPolicy()
    try:
        t = tern_factory(smtpd_policy_services="inet:127.0.0.1:%d" % policy.port)
        t.setup(domains=["example.test"])
        t.start()
        held_rcpt = "%s@example.test" % uniq("hold")
        plain_rcpt = "%s@example.test" % uniq("plain")
        for a in (held_rcpt, plain_rcpt):
            t.cli("user", "add", a)
        held_subject, plain_subject = uniq("held"), uniq("plain")
        with contextlib.closing(t.smtp()) as s:
            s.ehlo()
            replies = []
            for rcpt, subject in ((held_rcpt, held_subject), (plain_rcpt, plain_subject)):
                assert s.mail("sender@client.test")[0] == 250
                assert s.rcpt(rcpt)[0] == 250
                code, text = s.data(make_msg(subject=subject, to=rcpt))
                assert code == 250, (code, text)
                replies.append(text.decode())
            s.quit()
        qid = re.search(r"queued as (\S+)", replies[0]).group(1)
        t.wait_log(r"hold at rcpt by policy inet:127\.0\.0\.1:%d: held by the test" % policy.port)
        t.wait_log(r"queued id=%s .*status=hold" % qid)
        t.wait_count(plain_rcpt, 1)
        assert held_files(t) == [qid], held_files(t)
        assert qid not in t.queue_files()
        assert re.search(r"^%s!" % qid, t.cli("queue", "list").out, re.M)
        assert t.delivered(held_rcpt) == []

        mark = t.log_mark()
        t.cli("queue", "release", qid)
        t.wait_log(r"%s: released from hold by tern queue release" % qid, since=mark)
        msgs = t.wait_count(held_rcpt, 1)
        assert ("Subject: " + held_subject).encode() in msgs[0]
        assert held_files(t) == []
    finally:
        policy.shutdown()
        policy.server_close()
