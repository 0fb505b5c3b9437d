"""
Issue 8, points 5 and 12: supervision.  A child restarted while one of
its peers is itself waiting to restart gets that peer later, instead of
dying; children live under a master that is PID 1 (a container) and still
leave when master is killed.
"""
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

import ternlib
from ternlib import IS_ROOT, WAIT, Tern, pids_with_parent, uniq, wait_until

UNSHARE = shutil.which("unshare")


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


def kill_until_waiting(t, kind):
    """Kills the child of that kind, then each replacement as it appears,
    until master waits at least 2 s before starting the next one.  Returns
    a log mark from before the last kill."""
    seen = set()
    pid = pid_of(t, kind)
    # Each kill of a child that lived less than 10 s doubles its wait.
    for _ in range(3):
        assert pid, "no %s process\n%s" % (kind, t.log_tail())
        seen.add(pid)
        mark = t.log_mark()
        os.kill(pid, signal.SIGKILL)
        t.wait_log(r"%s pid=%d killed by signal 9" % (kind, pid), since=mark)
        pid = pid_of(t, kind, seen)
    assert pid, "no %s process\n%s" % (kind, t.log_tail())
    mark = t.log_mark()
    os.kill(pid, signal.SIGKILL)
    t.wait_log(r"%s pid=%d killed by signal 9" % (kind, pid), since=mark)
    m = t.wait_log(r"restarting %s in (\d+)s" % kind, since=mark)
    assert int(m.group(1)) >= 2, "%s back-off too short for the test: %s" % (kind, m.group(0))
    return mark


@pytest.mark.parametrize("peer", ["lookup", "queue"])
def test_smtpd_restarted_while_peer_waits(tern_factory, peer):
    """Point 12: lookup (or queue) killed again and again until master
    waits seconds before its next start, then smtpd killed: the new smtpd
    must serve at once (without lookup, 451 for recipients; without the
    queue, mail is written and found by the queue at its start) and take
    the peer when it comes, not die for want of a channel."""
    t = started(tern_factory)
    mark = kill_until_waiting(t, peer)
    smtpd = pid_of(t, "smtpd")
    os.kill(smtpd, signal.SIGKILL)
    t.wait_log(r"smtpd pid=%d killed by signal 9" % smtpd, since=mark)
    # The new smtpd serves although its peer is not there yet.
    new_smtpd = pid_of(t, "smtpd", {smtpd})
    assert new_smtpd, "smtpd not restarted\n" + t.log_tail()
    assert wait_until(lambda: greets(t.port), WAIT), \
        "port %d does not greet after smtpd's restart\n%s" % (t.port, t.log_tail())
    if peer == "queue":
        # Accepted with the queue away: on disk, announced to nobody.
        send_until_accepted(t, uniq("early"), WAIT)
    # The peer comes back; mail flows through the same smtpd.
    t.wait_log(r"started %s pid=\d+" % peer, since=mark, timeout=WAIT + 15)
    send_until_accepted(t, uniq("after"), WAIT + 10)
    t.wait_count("alice@example.test", 2 if peer == "queue" else 1)
    after = t.log()[mark:]
    assert "Bad file descriptor" not in after, "a child died for want of a peer:\n" + t.log_tail()
    assert t.child_kinds().get(new_smtpd) == "smtpd", \
        "the smtpd started while %s waited is gone\n%s" % (peer, t.log_tail())
    assert after.count("started smtpd") == 1, "smtpd restarted more than once:\n" + t.log_tail()


def alive(pid):
    """pid runs (a zombie does not count)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].split()[0] != "Z"


class Pid1Tern(Tern):
    """tern serve as PID 1 of a new PID namespace, as in a container:
    unshare forks, and its child, PID 1 inside, runs tern serve.  Master's
    pid here (outside) is that child's."""

    WRAPPER = (UNSHARE, "--pid", "--fork", "--mount-proc")

    @property
    def pid(self):
        kids = pids_with_parent(self.proc.pid)
        return kids[0] if kids else None

    def children(self):
        master = self.pid if self.running() else None
        return pids_with_parent(master) if master else []

    def signal(self, sig):
        # unshare blocks SIGTERM and SIGINT while it waits: master gets them.
        os.kill(self.pid, sig)

    def stop(self, timeout=25):
        if self.running() and self.pid:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill_groups()
        return self.proc.returncode if self.proc else None


@pytest.mark.skipif(not IS_ROOT, reason=ternlib.MACHINE + "a new PID namespace needs root")
def test_master_as_pid1_keeps_serving():
    """Point 5: as PID 1, master is every child's parent and also init:
    getppid() == 1 no longer means that master died."""
    t = Pid1Tern()
    try:
        t.setup(domains=["example.test"], users=["alice@example.test"])
        t.start()
        assert t.pidfile_pid() == 1, "tern.pid: got %r, want 1 (PID 1 of the namespace)" \
            % t.pidfile_pid()
        kids = wait_until(lambda: len(t.children()) == 5 and t.children(), WAIT)
        assert kids and sorted(t.child_kinds().values()) == ["logger", "lookup", "queue",
                                                             "screen", "smtpd"], \
            "children of master %r: %r\n%s" % (t.pid, t.child_kinds(), t.log_tail())
        t.send("alice@example.test", subject="pid1")
        t.wait_count("alice@example.test", 1)
        # A while later the same children still serve: none left, none restarted.
        time.sleep(2)
        t.send("alice@example.test", subject="pid1 again")
        t.wait_count("alice@example.test", 2)
        assert sorted(t.children()) == sorted(kids), \
            "children changed: %r, then %r\n%s" % (kids, t.children(), t.log_tail())
        log = t.log()
        assert "master went away" not in log and "exited with status" not in log, t.log_tail()
        assert t.stop() == 0, "tern serve as PID 1 did not stop cleanly\n" + t.log_tail()
        assert not t.sanitizer_reports(), "\n".join(t.sanitizer_reports()[:20])
    except BaseException:
        t.stop()
        print(t.log_tail(60))
        raise
    finally:
        t.cleanup()


def test_children_leave_when_master_is_killed(tern_factory):
    """Point 5, the other half: what getppid() == 1 was for.  With master
    gone (kill -9), its children must not linger holding the port and the
    queue: their control channel ends, and smtpd gets SIGTERM."""
    t = started(tern_factory)
    # The logger too: it leaves when the last writer has gone.
    kids = wait_until(lambda: len(t.children()) == 5 and t.children(), WAIT)
    assert kids, "no children\n" + t.log_tail()
    os.kill(t.pid, signal.SIGKILL)
    t.proc.wait(WAIT)
    gone = wait_until(lambda: not any(alive(k) for k in kids), WAIT)
    assert gone, "children still running after master was killed: %r\n%s" % (
        [k for k in kids if alive(k)], t.log_tail())
    # The port is free for the next server.
    t.start()
    t.send("alice@example.test", subject="after")
    t.wait_count("alice@example.test", 1)
