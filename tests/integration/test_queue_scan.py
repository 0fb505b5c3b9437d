"""
Issue 8, point 13: a message whose queue file is in the queue folder but
was never announced to the queue process (smtpd died between the rename
and its announcement, or wrote it while the queue was away) is found
without a restart of the queue: by the periodic scan
(queue_scan_interval), by `tern queue flush`, and when a new smtpd
arrives.

The unannounced file is made as smtpd would leave it: a real queue file
that smtpd wrote (a message for a remote alias, deferred), copied under a
new id with its recipient changed to a local mailbox, written to
queue/tmp and renamed into the queue as the server's user owns it.
"""
import os
import pwd
import random
import re
import signal
import time

from ternlib import RUN_USER, WAIT, make_msg, uniq, wait_until

B32 = "0123456789BCDFGHJKLMNPQRSTVWXYZ"


def started(tern_factory, **settings):
    t = tern_factory(**settings)
    t.setup(domains=["example.test"], users=["alice@example.test"],
            aliases=[("fwd@example.test", "far@remote.test")])
    t.start()
    return t


def deferred_file(t):
    """The path of a queue file smtpd wrote, for a message now deferred."""
    subject = uniq("held")
    qid = t.send("fwd@example.test", msg=make_msg(subject=subject))
    t.wait_log(r"%s: to=<far@remote.test> .*status=deferred" % qid)
    return os.path.join(t.state_dir, "queue", qid), subject


def plant_unannounced(t, rcpt="alice@example.test"):
    """A whole queue file the queue process was never told about, for the
    local rcpt; returns (new id, subject)."""
    src, subject = deferred_file(t)
    with open(src, "rb") as f:
        data = f.read()
    head, sep, content = data.partition(b"\n\n")
    assert sep, "no blank line after the envelope of %s" % src
    new_id = "".join(random.choice(B32) for _ in range(12))
    lines = []
    for line in head.split(b"\n"):
        if line.startswith(b"id\t"):
            line = b"id\t" + new_id.encode()
        elif line.startswith(b"rcpt\t"):
            line = ("rcpt\t%s\t%s\tlocal" % (rcpt, rcpt)).encode()
        lines.append(line)
    assert any(l.startswith(b"rcpt\t") for l in lines), head
    qdir = os.path.join(t.state_dir, "queue")
    tmp = os.path.join(qdir, "tmp", "planted-" + new_id)
    with open(tmp, "wb") as f:
        f.write(b"\n".join(lines) + sep + content)
    pw = pwd.getpwnam(RUN_USER)
    os.chown(tmp, pw.pw_uid, pw.pw_gid)
    os.chmod(tmp, 0o600)
    os.rename(tmp, os.path.join(qdir, new_id))
    return new_id, subject


def delivered_subjects(t, addr):
    out = []
    for raw in t.messages(addr):
        m = re.search(rb"^Subject: (.*?)\r?$", raw, re.M)
        if m:
            out.append(m.group(1).decode())
    return out


def test_periodic_scan_finds_unannounced_message(tern_factory):
    t = started(tern_factory, queue_scan_interval="1s")
    mark = t.log_mark()
    new_id, subject = plant_unannounced(t)
    assert wait_until(lambda: subject in delivered_subjects(t, "alice@example.test"), WAIT), \
        "planted message %s not delivered\n%s" % (new_id, t.log_tail())
    t.wait_log(r"found 1 messages never announced to the queue \(periodic scan\)",
               since=mark)
    assert wait_until(lambda: new_id not in t.queue_files(), WAIT), \
        "%s still in the queue after delivery" % new_id
    # Known messages are not found again (the deferred original keeps its
    # time); the next scans find nothing.
    time.sleep(3)
    # (The scan when smtpd's channel comes up may find the original, which
    # started() sent, between its rename and its announcement: that one
    # is not a periodic scan's.)
    assert t.log()[mark:].count("never announced to the queue (periodic scan)") == 1, \
        t.log_tail()
    assert "status=deferred attempts=2" not in t.log()[mark:], t.log_tail()


def test_flush_finds_unannounced_message(tern_factory):
    # The default interval (a minute) is far beyond the test's waits: the
    # flush is what finds it.
    t = started(tern_factory)
    mark = t.log_mark()
    new_id, subject = plant_unannounced(t)
    t.cli("queue", "flush")
    assert wait_until(lambda: subject in delivered_subjects(t, "alice@example.test"), WAIT), \
        "planted message %s not delivered after tern queue flush\n%s" % (new_id, t.log_tail())
    t.wait_log(r"found 1 messages never announced to the queue \(flush\)", since=mark)


def test_smtpd_restart_finds_unannounced_message(tern_factory):
    t = started(tern_factory)
    mark = t.log_mark()
    new_id, subject = plant_unannounced(t)
    smtpd = [p for p, k in t.child_kinds().items() if k == "smtpd"]
    assert smtpd, "no smtpd\n" + t.log_tail()
    os.kill(smtpd[0], signal.SIGKILL)
    assert wait_until(lambda: subject in delivered_subjects(t, "alice@example.test"),
                      WAIT + 10), \
        "planted message %s not delivered after smtpd restarted\n%s" % (new_id, t.log_tail())
    t.wait_log(r"found 1 messages never announced to the queue \(smtpd restarted\)",
               since=mark)
