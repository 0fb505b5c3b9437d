"""
Issue 8, points 5 and 12: supervision.  A child restarted while one of
its peers is itself waiting to restart gets that peer later, instead of
dying; children live under a master that is PID 1 (a container) and still
leave when master is killed.
"""
import os
import signal
import socket
import time

from ternlib import WAIT, uniq, wait_until


def started(tern_factory, **settings):
    t = tern_factory(**settings)
    t.setup(domains=["example.test"], users=["alice@example.test"])
    t.start()
    return t


def pid_of(t, kind, other_than=()):
    """The pid of master's child of that kind (not one of other_than),
    waiting for it to appear; None if it does not."""
    def find():
        for pid, k in t.child_kinds().items():
            if k == kind and pid not in other_than:
                return pid
        return None
    return wait_until(find, WAIT + 15, interval=0.02)


def send_until_accepted(t, subject, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return t.send("alice@example.test", subject=subject)
        except (AssertionError, OSError) as e:
            if time.monotonic() > deadline:
                raise AssertionError("no mail accepted within %ss: %r\n%s"
                                     % (timeout, e, t.log_tail()))
            time.sleep(0.2)


def greets(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.settimeout(2)
            return s.recv(512).startswith(b"220 ")
    except OSError:
        return False


def test_smtpd_restarted_while_lookup_waits(tern_factory):
    """Point 12: lookup killed again and again until master waits seconds
    before its next start, then smtpd killed: the new smtpd must serve at
    once (without lookup: 451 for recipients) and take lookup when it
    comes, not die for want of a channel."""
    t = started(tern_factory)
    seen = set()
    lookup = pid_of(t, "lookup")
    # Each kill of a lookup that lived less than 10 s doubles its wait.
    for _ in range(3):
        assert lookup, "no lookup process\n" + t.log_tail()
        seen.add(lookup)
        mark = t.log_mark()
        os.kill(lookup, signal.SIGKILL)
        t.wait_log(r"lookup pid=%d killed by signal 9" % lookup, since=mark)
        lookup = pid_of(t, "lookup", seen)
    assert lookup, "no lookup process\n" + t.log_tail()
    mark = t.log_mark()
    os.kill(lookup, signal.SIGKILL)
    t.wait_log(r"lookup pid=%d killed by signal 9" % lookup, since=mark)
    m = t.wait_log(r"restarting lookup in (\d+)s", since=mark)
    assert int(m.group(1)) >= 2, "lookup back-off too short for the test: %s" % m.group(0)
    smtpd = pid_of(t, "smtpd")
    os.kill(smtpd, signal.SIGKILL)
    t.wait_log(r"smtpd pid=%d killed by signal 9" % smtpd, since=mark)
    # The new smtpd serves although lookup is not there yet.
    new_smtpd = pid_of(t, "smtpd", {smtpd})
    assert new_smtpd, "smtpd not restarted\n" + t.log_tail()
    assert wait_until(lambda: greets(t.port), WAIT), \
        "port %d does not greet after smtpd's restart\n%s" % (t.port, t.log_tail())
    # lookup comes back; mail flows through the same smtpd.
    t.wait_log(r"started lookup pid=\d+", since=mark, timeout=WAIT + 15)
    subject = uniq("after")
    send_until_accepted(t, subject, WAIT + 10)
    t.wait_count("alice@example.test", 1)
    after = t.log()[mark:]
    assert "Bad file descriptor" not in after, "a child died for want of a peer:\n" + t.log_tail()
    assert t.child_kinds().get(new_smtpd) == "smtpd", \
        "the smtpd started while lookup waited is gone\n" + t.log_tail()
    assert after.count("started smtpd") == 1, "smtpd restarted more than once:\n" + t.log_tail()
