"""
Issue 3, points 5, 6 and 8: the process model (master and its children,
their user and process group, state_dir's owner), reload on SIGHUP,
SIGTERM with a session in progress, restart of a crashed child.
"""
import os
import pwd
import signal
import smtplib
import socket
import stat
import threading
import time

import pytest

import ternlib
from ternlib import (RUN_USER, WAIT, group_alive, make_msg, proc_status, root_only,
                     uniq, wait_until)


def started(tern_factory, **settings):
    t = tern_factory(**settings)
    t.setup(domains=["example.test"], users=["alice@example.test", "bob@example.test"])
    t.start()
    return t


# lookup, queue, smtpd, screen, and the logger (log_file is on: stderr
# is a file here).
def live_children(t, want=5):
    kids = wait_until(lambda: len(t.children()) >= want and t.children())
    assert kids and len(kids) == want, "children of master %d: got %r, want %d\n%s" % (
        t.pid, kids, want, t.log_tail())
    return kids


def test_processes_and_process_group(tern_factory):
    t = started(tern_factory)
    t.send("alice@example.test", subject="wake every process")
    assert t.pidfile_pid() == t.pid, "tern.pid: got %r, want master's pid %d" % (t.pidfile_pid(), t.pid)
    kids = live_children(t)
    kinds = t.child_kinds()
    assert sorted(kinds.get(k) for k in kids) == ["logger", "lookup", "queue", "screen", "smtpd"], \
        "children: got %r (log says %r)" % (kids, kinds)
    for pid in [t.pid] + kids:
        assert os.getpgid(pid) == t.pid, "process %d (%s): process group %d, want serve's %d" % (
            pid, kinds.get(pid, "master"), os.getpgid(pid), t.pid)
    # Only lookup opens the directory.
    for pid in [t.pid] + kids:
        fds = os.listdir("/proc/%d/fd" % pid)
        open_files = set()
        for fd in fds:
            try:
                open_files.add(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
            except OSError:
                pass
        has_db = any(os.path.basename(f).startswith("tern.db") for f in open_files)
        want = kinds.get(pid) == "lookup"
        assert has_db == want, "process %d (%s): tern.db open: %s, want %s" % (
            pid, kinds.get(pid, "master"), has_db, want)


def test_signal_to_the_group_stops_all(tern_factory):
    """As Ctrl-C in a terminal: SIGINT to the whole group."""
    t = started(tern_factory)
    kids = live_children(t)
    os.killpg(t.pid, signal.SIGINT)
    try:
        rc = t.proc.wait(20)
    except Exception:
        rc = None
    assert rc == 0, "tern serve after SIGINT to its group: exit %r, want 0\n%s" % (rc, t.log_tail())
    left = wait_until(lambda: not any(os.path.exists("/proc/%d" % k) for k in kids), WAIT)
    assert left, "children still running after the group got SIGINT: %r" % kids
    assert not os.path.exists(os.path.join(t.state_dir, "tern.pid")), "tern.pid left behind"


@root_only
def test_children_run_as_user(tern_factory):
    t = started(tern_factory)
    pw = pwd.getpwnam(RUN_USER)
    kids = live_children(t)
    for pid in [t.pid] + kids:
        st = proc_status(pid)
        uids = st["Uid"].split()
        gids = st["Gid"].split()
        assert uids == [str(pw.pw_uid)] * 4, "process %d: Uid %r, want %d everywhere" % (pid, uids, pw.pw_uid)
        assert gids == [str(pw.pw_gid)] * 4, "process %d: Gid %r, want %d everywhere" % (pid, gids, pw.pw_gid)
        groups = st["Groups"].split()
        assert groups in ([], [str(pw.pw_gid)]), "process %d: supplementary groups %r" % (pid, groups)


@root_only
def test_state_dir_owned_by_user(tern_factory):
    t = started(tern_factory)
    t.send("alice@example.test", subject="owner")
    t.wait_count("alice@example.test", 1)
    t.cli("user", "add", "carol@example.test")      # the admin commands too
    pw = pwd.getpwnam(RUN_USER)
    wrong = []
    for root, dirs, files in os.walk(t.state_dir):
        for name in [""] + dirs + files:
            p = os.path.join(root, name)
            st = os.lstat(p)
            if st.st_uid != pw.pw_uid:
                wrong.append("%s (uid %d, mode %o)" % (p, st.st_uid, stat.S_IMODE(st.st_mode)))
    assert not wrong, "owned by another user than %s:\n%s" % (RUN_USER, "\n".join(wrong))
    mode = stat.S_IMODE(os.stat(t.state_dir).st_mode)
    assert not mode & 0o007, "state_dir open to everyone: mode %o" % mode


def test_sighup_reload(tern_factory):
    t = started(tern_factory, max_recipients=3)
    rcpts = ["alice@example.test", "bob@example.test"]
    # The directory is read live: a user added now is a recipient at once.
    t.cli("user", "add", "late@example.test")
    rcpts.append("late@example.test")
    t.cli("user", "add", "fourth@example.test")

    def rcpt_codes():
        with t.raw() as c:
            c.expect("EHLO c.test", 250)
            c.expect("MAIL FROM:<a@c.test>", 250)
            return [c.cmd("RCPT TO:<%s>" % r)[0] for r in rcpts + ["fourth@example.test"]]

    assert rcpt_codes() == [250, 250, 250, 452], "max_recipients 3 before reload"
    t.write_config(max_recipients=2)
    mark = t.log_mark()
    t.signal(signal.SIGHUP)
    t.wait_log(r"smtpd\[\d+\]: reload: config read again", since=mark)
    got = rcpt_codes()
    assert got == [250, 250, 452, 452], "after SIGHUP with max_recipients = 2: got %r" % got
    # A broken file is refused and the running settings stay.
    with open(t.conf_path, "a") as f:
        f.write("no_such_key = 1\n")
    mark = t.log_mark()
    t.signal(signal.SIGHUP)
    t.wait_log(r"reload refused: .*tern.conf:\d+", since=mark)
    assert t.running(), "a bad config on SIGHUP stopped the server\n" + t.log_tail()
    assert rcpt_codes() == [250, 250, 452, 452], "settings after a refused reload"
    t.send("late@example.test", subject="late")
    t.wait_count("late@example.test", 1)


def test_sigterm_mid_session(tern_factory):
    t = started(tern_factory)
    accepted = []           # subjects that got 250
    errors = []
    stop_sender = threading.Event()
    sent_some = threading.Event()

    def sender():
        # One connection, message after message, until the server ends it.
        try:
            with t.smtp() as s:
                s.ehlo()
                for i in range(1000):
                    if stop_sender.is_set():
                        break
                    subject = uniq("term")
                    s.mail("a@client.test")
                    code, text = s.rcpt("bob@example.test")
                    if code != 250:
                        # 4xx while stopping is fair; a 5xx would lose mail.
                        errors.append("RCPT %d %r" % (code, text))
                        break
                    code, text = s.data(make_msg(subject=subject))
                    if code != 250:
                        errors.append("DATA %d %r" % (code, text))
                        break
                    accepted.append(subject)
                    if len(accepted) >= 3:
                        sent_some.set()
                    time.sleep(0.02)
        except Exception as e:     # 421 and close, or reset: both expected
            errors.append(repr(e))
        finally:
            sent_some.set()

    th = threading.Thread(target=sender, daemon=True)
    th.start()
    assert sent_some.wait(WAIT), "no message accepted before SIGTERM\n" + t.log_tail()

    c = t.raw()
    c.expect("EHLO c.test", 250)
    c.expect("MAIL FROM:<a@c.test>", 250)
    mark = t.log_mark()
    t0 = time.monotonic()
    t.signal(signal.SIGTERM)
    t.wait_log(r"smtpd\[\d+\]: stopping", since=mark)
    # The session in progress may finish (250 at the end of DATA) or is
    # told 421; anything else leaves the client with mail it cannot send.
    mid_subject = uniq("mid")
    steps = []
    try:
        for cmd in ("RCPT TO:<alice@example.test>", "DATA"):
            code, text = c.cmd(cmd)
            steps.append((cmd, code, text))
            if code not in (250, 354):
                break
        else:
            c.send(make_msg(subject=mid_subject) + b".\r\n")
            code, text = c.reply()
            steps.append(("end of data", code, text))
            if code == 250:
                accepted.append(mid_subject)
    except (EOFError, ConnectionError) as e:
        steps.append(("closed", None, repr(e)))
    session_ok = steps[-1][1] in (250, 421, None)
    c.close()
    try:
        rc = t.proc.wait(16)
    except Exception:
        rc = None
    took = time.monotonic() - t0
    stop_sender.set()
    th.join(WAIT)
    print("accepted %d, client errors %r, mid-session %r, exit after %.1fs"
          % (len(accepted), errors, steps, took))
    assert not [e for e in errors if e.startswith(("RCPT 5", "DATA 5"))], \
        "permanent refusal while stopping: %r" % errors
    assert rc == 0, "after SIGTERM tern serve: exit %r after %.1fs, want 0 within ~15s\n%s" % (
        rc, took, t.log_tail())
    assert not group_alive(t.pid), "processes of the group left after master exited"
    assert not th.is_alive(), "client thread hangs after the server stopped"

    # Every message that got 250 is delivered, after a restart if need be.
    t.start()
    want = set(accepted)
    boxes = ("alice@example.test", "bob@example.test")

    def delivered():
        return {m.decode("utf-8", "replace").split("Subject: ", 1)[1].split("\n", 1)[0]
                for b in boxes for m in t.messages(b)}

    wait_until(lambda: want <= delivered(), WAIT)
    missing = want - delivered()
    assert not missing, "accepted (250) but not delivered after SIGTERM and restart: %r\n%s" % (
        sorted(missing), t.log_tail())
    assert session_ok, \
        "session in progress after SIGTERM: got %r, want it to finish (250) or 421" % steps


def test_sigterm_idle_session_gets_421(tern_factory):
    t = started(tern_factory)
    c = t.raw()
    c.expect("EHLO c.test", 250)
    t0 = time.monotonic()
    t.signal(signal.SIGTERM)
    c.sock.settimeout(20)
    try:
        code, text = c.reply()
    except (EOFError, ConnectionError) as e:
        code, text = None, repr(e)
    assert code == 421, "idle session at shutdown: got %r %r, want 421" % (code, text)
    assert c.closed_by_server(), "connection still open after the 421"
    c.close()
    try:
        rc = t.proc.wait(16)
    except Exception:
        rc = None
    assert rc == 0, "exit %r %.1fs after SIGTERM, want 0 within ~15s\n%s" % (
        rc, time.monotonic() - t0, t.log_tail())


def test_sigterm_stops_accepting(tern_factory):
    """Once stopping, a new client is refused at once (connection refused,
    or a 421 greeting): it is not left waiting in the listen queue until
    the server is gone."""
    t = started(tern_factory)
    c = t.raw()                 # a session keeps the server in its grace period
    c.expect("EHLO c.test", 250)
    mark = t.log_mark()
    t.signal(signal.SIGTERM)
    t.wait_log(r"smtpd\[\d+\]: stopping", since=mark)
    time.sleep(0.2)             # let master act on it too
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", t.port), timeout=2)
    except ConnectionRefusedError:
        outcome = "refused"
    else:
        s.settimeout(2)
        try:
            data = s.recv(512)
            outcome = "greeting %r" % data if data else "closed"
        except socket.timeout:
            outcome = "nothing"
        except ConnectionResetError:
            outcome = "reset"
        s.close()
    waited = time.monotonic() - t0
    c.close()
    assert outcome in ("refused", "closed", "reset") or outcome.startswith("greeting b'421"), \
        "new connection while stopping: got %s after %.1fs, want refused or 421 at once" % (
            outcome, waited)
    assert outcome != "nothing", "new connection waited %.1fs in the listen queue" % waited


@ternlib.needs_ipv6_loopback
def test_listen_ipv4_and_ipv6(tern_factory):
    port6 = ternlib.free_port6()
    t = tern_factory()
    t.write_config(listen_smtp="127.0.0.1:%d, [::1]:%d" % (t.port, port6))
    t.setup(domains=["example.test"], users=["alice@example.test"])
    t.start()
    with socket.create_connection(("::1", port6), timeout=WAIT) as s:
        s.settimeout(WAIT)
        assert s.recv(512).startswith(b"220 "), "no greeting on [::1]:%d" % port6
    with smtplib.SMTP("::1", port6, local_hostname="client.test", timeout=WAIT) as s:
        s.sendmail("a@client.test", ["alice@example.test"], make_msg(subject="v6"))
    t.wait_count("alice@example.test", 1)


def test_crashed_child_is_restarted(tern_factory):
    t = started(tern_factory)
    for kind in ("smtpd", "lookup", "queue", "screen"):
        kids = live_children(t)
        victim = [k for k in kids if t.child_kinds().get(k) == kind]
        assert victim, "no %s child among %r" % (kind, kids)
        mark = t.log_mark()
        os.kill(victim[0], signal.SIGKILL)
        t.wait_log(r"%s pid=%d killed by signal 9" % (kind, victim[0]), since=mark)
        t.wait_log(r"started %s pid=\d+" % kind, since=mark, timeout=WAIT + 5)
        # Mail flows again (lookup, smtpd and queue all take part).
        subject = uniq("after-" + kind)
        deadline = time.monotonic() + WAIT
        while True:
            try:
                t.send("alice@example.test", subject=subject)
                break
            except (AssertionError, OSError) as e:
                if time.monotonic() > deadline:
                    raise AssertionError("no mail accepted after %s was killed: %r\n%s" % (
                        kind, e, t.log_tail()))
                time.sleep(0.2)
        wait_until(lambda: any(subject.encode() in m for m in t.messages("alice@example.test")))
        assert any(subject.encode() in m for m in t.messages("alice@example.test")), \
            "not delivered after %s restarted\n%s" % (kind, t.log_tail())
    assert t.running()


def test_lock_file_link_refused(tern_factory):
    """tern.lock lies in a folder the server's user owns: a link planted
    there must not make root open (and give away) the file it points to."""
    t = tern_factory()
    t.setup(domains=["example.test"])
    victim = os.path.join(t.state_dir, "..", "victim-" + uniq("v"))
    with open(victim, "w") as f:
        f.write("root's own\n")
    os.chmod(victim, 0o600)
    before = os.stat(victim)
    lock = os.path.join(t.state_dir, "tern.lock")
    if os.path.lexists(lock):
        os.unlink(lock)
    os.symlink(os.path.abspath(victim), lock)
    r = t.cli("serve", expect=1)
    assert "tern.lock" in r.err, r
    after = os.stat(victim)
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid), \
        "the link's target was given away"
    os.unlink(victim)
