"""
Issue 5, points 1 to 3 and 9 with a real destination: 4xx defers and the
retry succeeds; `tern queue list` shows each recipient's state, next
attempt and last error; `tern queue flush` retries now; `tern queue
delete` removes one; deferred mail survives a restart and goes out after
it; a destination that fails is not hammered by every message queued for
it.
"""
import re
import time

from outlib import (mailnet, needs_smtp_sink, queue_entry, send_from,  # noqa: F401
                    sent_line, wait_queue_empty)
from ternlib import WAIT, free_port, new_user, wait_until


def test_4xx_then_250_retry_succeeds(mailnet):
    """The first RCPT gets 451, later ones 250: deferred (dsn 4.7.1, the
    reply in the log and the queue), then sent at the retry
    (queue_retry_min 1 s)."""
    seen = []

    def rcpt(session, arg):
        seen.append(arg)
        return "451 4.7.1 greylisted, try again later" if len(seen) == 1 else None

    mini = mailnet.mini(reply={"RCPT": rcpt})
    mailnet.dns.add("grey.test MX 10 mx.grey.test", "mx.grey.test A 127.0.0.1")
    a = mailnet.make_a(smtp_port=str(mini.port), queue_retry_min="1s", queue_retry_max="1s")
    a.start()
    sender = new_user(a, "a.test", "s")
    to = "user@grey.test"
    qid, _ = send_from(a, sender, to)
    m = a.wait_log(sent_line(qid, to, "deferred"))
    assert m.group(2) == "4.7.1" and m.group(3) == "1", m.group(0)
    assert m.group(4) == "451 4.7.1 greylisted, try again later", m.group(0)
    m = a.wait_log(sent_line(qid, to), timeout=WAIT + 2)
    assert m.group(3) == "2", "sent at the second attempt: %s" % m.group(0)
    msgs = mini.wait_messages(1)
    assert msgs[0]["rcpts"] == [to] and msgs[0]["mail_from"] == sender
    wait_queue_empty(a)
    assert a.delivered(sender) == [], "a DSN for a message that went out"


@needs_smtp_sink
def test_soft_reject_then_flush_after_the_server_changes(mailnet):
    """smtp-sink -r RCPT answers 4xx: deferred, with the reply in `tern
    queue list`.  smtp-sink restarted without -r and `tern queue flush`:
    sent now, though the next retry was an hour away."""
    port = free_port()
    sink = mailnet.sink(port, "-r", "RCPT")
    mailnet.dns.add("sink.test MX 10 mx.sink.test", "mx.sink.test A 127.0.0.1")
    a = mailnet.make_a(smtp_port=str(port), queue_retry_min="1h", queue_retry_max="1h")
    a.start()
    sender = new_user(a, "a.test", "s")
    to = "user@sink.test"
    qid, _ = send_from(a, sender, to)
    m = a.wait_log(sent_line(qid, to, "deferred"))
    assert m.group(4).startswith("450 4.3.0"), m.group(0)
    entry = "\n".join(queue_entry(a, qid))
    assert re.search(r"to=<%s> orig_to=<%s> remote deferred attempts=1 next=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "
                     r"\(4\.3\.0 450 4\.3\.0 Error: command failed\)" % (to, to), entry), entry

    sink.stop()
    mailnet.sink(port)
    mark = a.log_mark()
    a.cli("queue", "flush")
    m = a.wait_log(sent_line(qid, to), since=mark)
    assert m.group(3) == "2", m.group(0)
    wait_queue_empty(a)


def test_queue_list_flush_delete_with_the_destination_down(mailnet):
    """B is not running: both messages are deferred with the connection
    error, next attempt and attempts in `tern queue list`.  One is
    deleted (and never delivered); B starts; `tern queue flush` sends the
    other now, though its next retry was an hour away."""
    b = mailnet.make_b()
    a = mailnet.make_a(b, queue_retry_min="1h", queue_retry_max="1h")
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = new_user(b, "b.test", "r")
    keep, _ = send_from(a, sender, rcpt, subject="keep me")
    gone, _ = send_from(a, sender, rcpt, subject="delete me")
    for qid in (keep, gone):
        m = a.wait_log(sent_line(qid, rcpt, "deferred"))
        assert m.group(2).startswith("4."), m.group(0)
    # The state file follows the log line.
    assert wait_until(lambda: all("deferred" in "\n".join(queue_entry(a, q)) for q in (keep, gone)))
    for qid in (keep, gone):
        entry = queue_entry(a, qid)
        assert entry and "from=<%s>" % sender in entry[0], entry
        line = "\n".join(entry[1:])
        assert re.search(r"to=<%s> orig_to=<%s> remote deferred attempts=1 "
                         r"next=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(4\.\d+\.\d+ .*127\.0\.0\.1.*\)"
                         % (re.escape(rcpt), re.escape(rcpt)), line), \
            "queue list: want state, next attempt and last error:\n%s" % line

    mark = a.log_mark()
    r = a.cli("queue", "delete", gone)
    assert gone in r.out
    # The server's log says so, as Postfix's maillog does for postsuper -d.
    a.wait_log(r"%s: removed from the queue by tern queue delete" % gone, since=mark)
    assert queue_entry(a, gone) == []

    b.start()
    mark = a.log_mark()
    a.cli("queue", "flush")
    a.wait_log(r"flush: every message is due now", since=mark)
    m = a.wait_log(sent_line(keep, rcpt), since=mark)
    assert m.group(3) == "2", m.group(0)
    msgs = b.wait_count(rcpt, 1)
    assert b"Subject: keep me" in msgs[0]
    wait_queue_empty(a)
    assert not re.search(sent_line(gone, rcpt), a.log()), "the deleted message went out"


def test_deferred_mail_survives_a_restart(mailnet):
    """Deferred while B is down; A stops and starts again (its queue
    recovered with the state); B comes up; a flush after the restart
    delivers."""
    b = mailnet.make_b()
    a = mailnet.make_a(b, queue_retry_min="1h", queue_retry_max="1h")
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = new_user(b, "b.test", "r")
    qid, subject = send_from(a, sender, rcpt)
    a.wait_log(sent_line(qid, rcpt, "deferred"))
    assert wait_until(lambda: "deferred" in "\n".join(queue_entry(a, qid)))
    assert a.stop() == 0, "tern serve did not exit 0 on SIGTERM\n" + a.log_tail()
    entry = "\n".join(queue_entry(a, qid))
    assert "remote deferred attempts=1" in entry, "state lost at the stop:\n%s" % entry

    b.start()
    mark = a.log_mark()
    a.start()
    a.wait_log(r"recovered 1 messages? from the queue", since=mark)
    # Not due for an hour: nothing goes by itself...
    time.sleep(1.5)
    assert b.delivered(rcpt) == []
    assert "remote deferred attempts=1" in "\n".join(queue_entry(a, qid))
    # ...until the flush.
    a.cli("queue", "flush")
    m = a.wait_log(sent_line(qid, rcpt), since=mark)
    assert m.group(3) == "2", m.group(0)
    msgs = b.wait_count(rcpt, 1)
    assert ("Subject: " + subject).encode() in msgs[0]
    wait_queue_empty(a)


def test_deferred_mail_retried_after_a_restart_when_due(mailnet):
    """The same without flush: with queue_retry_min 1 s the retry after
    the restart comes by itself."""
    b = mailnet.make_b()
    a = mailnet.make_a(b, queue_retry_min="1s", queue_retry_max="1s")
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = new_user(b, "b.test", "r")
    qid, _ = send_from(a, sender, rcpt)
    a.wait_log(sent_line(qid, rcpt, "deferred"))
    a.stop()
    b.start()
    a.start()
    a.wait_log(sent_line(qid, rcpt))
    b.wait_count(rcpt, 1)
    wait_queue_empty(a)


def test_failing_destination_not_hammered(mailnet):
    """A destination whose server greets with 421 is tried once; the
    messages that come for it meanwhile are deferred without a connection
    of their own, with the same reason."""
    mini = mailnet.mini(greeting="421 4.3.2 {host} busy, come back later")
    mailnet.dns.add("busy.test MX 10 mx.busy.test", "mx.busy.test A 127.0.0.1")
    a = mailnet.make_a(smtp_port=str(mini.port), queue_retry_min="1h", queue_retry_max="1h")
    a.start()
    sender = new_user(a, "a.test", "s")
    to = "user@busy.test"
    qid, _ = send_from(a, sender, to)
    m = a.wait_log(sent_line(qid, to, "deferred"))
    assert "421 4.3.2" in m.group(4), m.group(0)
    assert mini.connections == 1
    for i in range(4):
        q, _ = send_from(a, sender, to)
        m = a.wait_log(sent_line(q, to, "deferred"))
        assert "421 4.3.2" in m.group(4), m.group(0)
    assert mini.connections == 1, "%d connections to a failing destination" % mini.connections


@needs_smtp_sink
def test_idle_connection_closed_by_the_server_is_no_failure(mailnet):
    """A connection that carried only a refused recipient waits idle for
    more mail; the server closes it (it restarts, or its idle timeout is
    shorter).  That is not a failure of the destination: the next message
    for it is tried at once and goes out."""
    port = free_port()
    sink = mailnet.sink(port, "-r", "RCPT")
    mailnet.dns.add("sink.test MX 10 mx.sink.test", "mx.sink.test A 127.0.0.1")
    a = mailnet.make_a(smtp_port=str(port), queue_retry_min="1h", queue_retry_max="1h")
    a.start()
    sender = new_user(a, "a.test", "s")
    first, _ = send_from(a, sender, "one@sink.test")
    a.wait_log(sent_line(first, "one@sink.test", "deferred"))
    sink.stop()             # closes A's idle connection
    mailnet.sink(port)
    time.sleep(0.3)
    second, _ = send_from(a, sender, "two@sink.test")
    m = a.wait_log(r"%s: to=<two@sink.test> .*status=(sent|deferred).*" % second)
    assert m.group(1) == "sent", "a new message after the server closed an idle connection: %s" % m.group(0)
    a.cli("queue", "delete", first)
