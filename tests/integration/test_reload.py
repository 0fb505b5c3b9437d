"""
Issue 8, point 6: SIGHUP reloads the config, but the settings whose value
was used up at start (listen_*, tls_cert, tls_key, dns_servers, user,
state_dir) keep their running value, and master warns once per changed
setting, naming it (log_file_size too: the logger read it at its start).
Every other setting takes its new value.
"""
import re
import signal
import os
import socket
import subprocess
import time

from ternlib import TERN_BIN, WAIT, free_port, make_msg, pids_with_parent


def test_restart_only_settings_kept_and_named(tern_factory):
    t = tern_factory(max_recipients=3)
    t.setup(domains=["example.test"], users=["alice@example.test", "bob@example.test",
                                               "carol@example.test"])
    t.start()
    old_port, new_port = t.port, free_port()
    t.write_config(listen_smtp="127.0.0.1:%d" % new_port,
                   tls_cert="/nonexistent/cert.pem", tls_key="/nonexistent/key.pem",
                   dns_servers="127.0.0.1:10", max_recipients=2, log_file_size="1M")
    mark = t.log_mark()
    t.signal(signal.SIGHUP)
    for kind in ("smtpd", "queue", "lookup", "screen"):
        t.wait_log(r"%s\[\d+\]: reload: config read again" % kind, since=mark)
    log = t.log()[mark:]
    want = {"listen_smtp": "127.0.0.1:%d" % old_port, "tls_cert": "", "tls_key": "",
            "dns_servers": "127.0.0.1:9",
            # the logger took its size at its start: bytes, as read then
            "log_file_size": "104857600"}
    for name, running in want.items():
        lines = re.findall(r".*reload: %s changes only at a restart.*" % name, log)
        assert len(lines) == 1, "want one warning naming %s, got %r\n%s" % (
            name, lines, t.log_tail())
        assert lines[0].startswith("master[") and "keeping '%s'" % running in lines[0], lines[0]
    for name in ("state_dir", "user", "listen_submission", "listen_submissions"):
        assert "reload: %s " % name not in log, "%s did not change:\n%s" % (name, log)

    # The running port still serves, the new one was never bound...
    with socket.socket() as s:
        s.settimeout(2)
        assert s.connect_ex(("127.0.0.1", new_port)) != 0, "port %d bound by a reload" % new_port
    # ...and a reloadable setting changed at the same time took effect.
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@c.test>", 250)
        codes = [c.cmd("RCPT TO:<%s@example.test>" % u)[0] for u in ("alice", "bob", "carol")]
    assert codes == [250, 250, 452], "max_recipients 2 after the reload: got %r" % codes
    t.send("alice@example.test", msg=make_msg(subject="after reload"))
    t.wait_count("alice@example.test", 1)
    # STARTTLS still works with the certificate read at start.
    with t.smtp() as s:
        s.ehlo()
        assert s.has_extn("starttls"), "STARTTLS gone after the reload"
        code, _ = s.starttls()
        assert code == 220
        s.ehlo()
        s.quit()


def sighup_caught(pid):
    """pid has a handler for SIGHUP (SigCgt bit 0), or ignores it (SigIgn:
    the logger, which does not reload), or is the logger, or is gone."""
    try:
        with open("/proc/%d/comm" % pid) as f:
            if f.read().strip() == "tern-logger":
                return 1
        with open("/proc/%d/status" % pid) as f:
            bits = 0
            for line in f:
                if line.startswith(("SigCgt:", "SigIgn:")):
                    bits |= int(line.split()[1], 16) & 1
            return bits
    except OSError:
        pass
    return 1


def logger_lives_on(pid, timeout=WAIT):
    """pid turns out to be the logger (caught before it named itself) and
    is still alive once named: it ignores SIGHUP rather than reloading."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/comm" % pid) as f:
                comm = f.read().strip()
            with open("/proc/%d/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        if state == "Z":
            return False
        if comm == "tern-logger":
            return True
        if comm != "tern":
            return False
        time.sleep(0.05)
    return False


def catch_starting_child(t, timeout=WAIT):
    """Starts tern serve and stops (SIGSTOP) the first child found before
    it has a SIGHUP handler.  Returns its pid, or None when every child
    was caught too late."""
    log = open(t.log_path, "ab")
    try:
        t.proc = subprocess.Popen([TERN_BIN, "-c", t.conf_path, "serve"],
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                  start_new_session=True)
    finally:
        log.close()
    t.pgids.append(t.proc.pid)
    seen = set()
    deadline = time.monotonic() + timeout
    while len(seen) < 3 and time.monotonic() < deadline and t.running():
        for pid in pids_with_parent(t.proc.pid):
            if pid in seen:
                continue
            seen.add(pid)
            os.kill(pid, signal.SIGSTOP)
            if not sighup_caught(pid):
                return pid
            os.kill(pid, signal.SIGCONT)
    return None


def test_sighup_while_child_starts(tern_factory):
    """SIGHUP's default action ends a process: one that reaches a child
    before its handler is in place (just forked, still opening the
    directory or setting up DNS) must wait for it, not kill the child.
    A child is stopped (SIGSTOP) before it has its handler, gets SIGHUP,
    and goes on (SIGCONT)."""
    t = tern_factory()
    t.setup(domains=["example.test"], users=["alice@example.test"])
    victim = None
    for _ in range(20):
        mark = t.log_mark()
        victim = catch_starting_child(t)
        if victim:
            break
        t.stop()
    assert victim, "never caught a child before its SIGHUP handler in 20 starts"
    os.kill(victim, signal.SIGHUP)
    os.kill(victim, signal.SIGCONT)
    if not logger_lives_on(victim):
        # Every other child reloads on SIGHUP; the logger ignores it.
        t.wait_log(r"\[%d\]: reload: config read again|pid=%d killed by signal" % (victim, victim),
                   since=mark)
    assert "killed by signal 1" not in t.log()[mark:], \
        "SIGHUP killed a child that was starting\n" + t.log_tail()
    t.wait_greeting()
    t.send("alice@example.test", msg=make_msg(subject="after"))
    t.wait_count("alice@example.test", 1)
