"""
Issue 3, points 2, 8 and 9: `tern queue list|show|delete|flush`, with a
message for a remote alias target waiting, deferred, in the queue; queued
mail survives a restart.
"""
import re

from ternlib import make_msg, new_user, uniq, wait_until

TERN_SETUP = {"domains": ["example.test"]}


def remote_alias(srv):
    """A local alias whose one target is remote: its mail stays queued."""
    src = "%s@example.test" % uniq("fwd")
    srv.cli("alias", "add", src, "far@remote.test")
    return src


def queue_deferred(srv, subject, body="queued body text\r\n"):
    src = remote_alias(srv)
    qid = srv.send(src, msg=make_msg(subject=subject, body=body))
    srv.wait_log(r"%s: to=<far@remote.test> orig_to=<%s> .*status=deferred attempts=1" % (qid, src))
    # The log line comes as the queue decides; the state file just after.
    assert wait_until(lambda: "remote deferred" in srv.cli("queue", "show", qid).out), \
        "queue show %s never said deferred" % qid
    return qid, src


def test_queue_list_show_delete(srv):
    subject = uniq("qshow")
    qid, src = queue_deferred(srv, subject)
    assert qid in srv.queue_files(), "queue file %s missing: %r" % (qid, srv.queue_files())

    out = srv.cli("queue", "list").out
    head = [l for l in out.split("\n") if l.startswith(qid)]
    assert head and "from=<sender@client.test>" in head[0], "queue list: want %s from=<...>:\n%s" % (qid, out)
    assert re.search(r"to=<far@remote.test> orig_to=<%s> remote deferred attempts=1" % re.escape(src), out), \
        "queue list: want the deferred remote recipient:\n%s" % out
    assert re.search(r"^\d+ messages? in the queue$", out, re.M), out

    r = srv.cli("queue", "show", qid)
    assert r.out.startswith(qid), "queue show: want the envelope first:\n%s" % r.out
    assert "to=<far@remote.test>" in r.out and "from=<sender@client.test>" in r.out, r.out
    for h in ("Received: ", "Subject: " + subject, "Message-ID: "):
        assert h in r.out, "queue show: want header %r in\n%s" % (h, r.out)
    assert "queued body text" not in r.out, "queue show prints headers, not the body:\n%s" % r.out

    mark = srv.log_mark()
    r = srv.cli("queue", "delete", qid)
    assert qid in r.out, r
    srv.wait_log(r"%s: removed from the queue by tern queue delete" % qid, since=mark)
    assert qid not in srv.queue_files(), "queue delete left the file"
    assert qid not in srv.cli("queue", "list").out
    srv.cli("queue", "show", qid, expect=1)
    srv.cli("queue", "delete", qid, expect=1)


def test_queue_flush_retries_now(srv):
    qid, src = queue_deferred(srv, uniq("qflush"))
    mark = srv.log_mark()
    r = srv.cli("queue", "flush")
    assert r.out.strip(), "queue flush says nothing: %r" % r
    srv.wait_log(r"flush: every message is due now", since=mark)
    srv.wait_log(r"%s: to=<far@remote.test> orig_to=<%s> .*status=deferred attempts=2" % (qid, src),
                 since=mark)
    out = srv.cli("queue", "list").out
    assert re.search(r"to=<far@remote.test> orig_to=<%s> remote deferred attempts=2" % re.escape(src), out), out
    srv.cli("queue", "delete", qid)


def test_local_part_done_remote_part_waits(srv):
    local = new_user(srv)
    src = "%s@example.test" % uniq("mix")
    srv.cli("alias", "add", src, local, "far@remote.test")
    qid = srv.send(src, subject=uniq("mix"))
    srv.wait_count(local, 1)
    srv.wait_log(r"%s: to=<far@remote.test> .*status=deferred" % qid)
    out = srv.cli("queue", "show", qid).out
    assert re.search(r"to=<%s> orig_to=<%s> local done" % (re.escape(local), re.escape(src)), out), out
    assert "remote deferred" in out, out
    srv.cli("queue", "delete", qid)
    # Deleted while the server runs: nothing comes of it later.
    srv.cli("queue", "flush")
    srv.wait_log(r"flush: every message is due now")
    assert len(srv.delivered(local)) == 1


def test_queue_kept_across_restart(tern_factory):
    t = tern_factory()
    t.setup(domains=["example.test"], aliases=[("fwd@example.test", "far@remote.test")])
    t.start()
    qid = t.send("fwd@example.test", subject="kept")
    t.wait_log(r"%s: .*status=deferred" % qid)
    assert t.stop() == 0, "tern serve did not exit 0 on SIGTERM\n" + t.log_tail()
    out = t.cli("queue", "list").out
    assert qid in out, "queue list with the server stopped:\n%s" % out
    t.cli("queue", "flush", expect=1)
    mark = t.log_mark()
    t.start()
    t.wait_log(r"recovered 1 messages? from the queue", since=mark)
    assert qid in t.cli("queue", "list").out
    assert t.queue_files() == [qid]
    t.cli("queue", "delete", qid)
    out = t.cli("queue", "list").out
    assert out.strip() == "0 messages in the queue", "empty queue list: got %r" % out


def test_queue_show_escapes_control_bytes(srv):
    """Issue 8, point 7: header bytes that would drive the terminal (ESC,
    BEL, DEL...) come out of `tern queue show` as \\xNN; the tab of a
    folded line stays, UTF-8 stays, a backslash is \\x5c."""
    src = remote_alias(srv)
    subject = uniq("esc")
    extra = ("X-Evil: a\x1b[2Jb\x07c\x7fd\\e\r\n"
             "X-Folded: one\r\n\ttwo\r\n"
             "X-Utf8: Grüße\r\n")
    qid = srv.send(src, msg=make_msg(subject=subject, extra=extra))
    srv.wait_log(r"%s: to=<far@remote.test> .*status=deferred" % qid)
    r = srv.cli("queue", "show", qid)
    assert "X-Evil: a\\x1b[2Jb\\x07c\\x7fd\\x5ce\n" in r.out, r.out
    assert "\x1b" not in r.out and "\x07" not in r.out and "\x7f" not in r.out, repr(r.out)
    assert "X-Folded: one\n\ttwo\n" in r.out, repr(r.out)
    assert "X-Utf8: Grüße\n" in r.out, r.out
    srv.cli("queue", "delete", qid)


def test_queue_json(srv):
    """Issue 8, point 11: `queue list --json` is an array of messages,
    `queue show ID --json` one message with its header lines; the fields
    of docs/cli.md."""
    import json

    assert json.loads(srv.cli("queue", "list", "--json").out) == []
    subject = uniq("json")
    qid, src = queue_deferred(srv, subject)
    r = srv.cli("queue", "list", "--json")
    msgs = json.loads(r.out)
    assert [m["id"] for m in msgs] == [qid], r.out
    m = msgs[0]
    assert set(m) == {"id", "held", "arrival", "size", "sender", "client_ip", "body", "smtputf8",
                      "recipients"}, m
    assert m["held"] is False, m
    assert m["sender"] == "sender@client.test" and m["client_ip"] == "127.0.0.1", m
    assert m["body"] == "7bit" and m["smtputf8"] is False, m
    assert isinstance(m["size"], int) and m["size"] > 0, m
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["arrival"]), m
    assert len(m["recipients"]) == 1, m
    rc = m["recipients"][0]
    assert set(rc) == {"to", "orig_to", "route", "status", "attempts", "next_attempt",
                       "last_error"}, rc
    assert rc["to"] == "far@remote.test" and rc["orig_to"] == src, rc
    assert rc["route"] == "remote" and rc["status"] == "deferred" and rc["attempts"] == 1, rc
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rc["next_attempt"]), rc
    assert rc["last_error"].startswith("4."), rc

    shown = json.loads(srv.cli("queue", "show", qid, "--json").out)
    assert {k: v for k, v in shown.items() if k != "headers"} == m, shown
    assert "Subject: " + subject in shown["headers"], shown["headers"]
    assert any(h.startswith("Received: ") for h in shown["headers"]), shown["headers"]
    assert shown == json.loads(srv.cli("queue", "show", "--json", qid).out)
    srv.cli("queue", "list", "--json", "--json", expect=2)
    srv.cli("queue", "show", "--json", expect=2)
    srv.cli("queue", "delete", qid)


def test_queue_json_escapes(srv):
    """Control bytes of headers are JSON escapes; the output is UTF-8 that
    any JSON parser takes."""
    import json

    src = remote_alias(srv)
    extra = "X-Evil: a\x1b[2J\"q\"\r\nX-Utf8: Grüße\r\n"
    qid = srv.send(src, msg=make_msg(subject=uniq("jesc"), extra=extra))
    srv.wait_log(r"%s: to=<far@remote.test> .*status=deferred" % qid)
    r = srv.cli("queue", "show", qid, "--json")
    assert "\x1b" not in r.out and "\\u001b" in r.out, repr(r.out)
    headers = json.loads(r.out)["headers"]
    assert "X-Evil: a\x1b[2J\"q\"" in headers and "X-Utf8: Grüße" in headers, headers
    srv.cli("queue", "delete", qid)
