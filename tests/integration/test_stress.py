"""
Issue 9, points 9 to 11: the error and junk-command limits on every port,
max_sessions, and stress mode (entered and left by load, forced by
`stress = on | off` and SIGHUP, the stress values of the settings).  Real
`tern serve`, raw sockets and TLS clients; every wait bounded.
"""
import signal
import socket

import pytest

from ternlib import (WAIT, RawSMTP, add_account, instance_factory,
                     wait_until)

TOO_MANY = "Too many errors"


@pytest.fixture
def sub_factory(request):
    yield from instance_factory(request)


def cut_after(c, line):
    """Sends line; returns every reply until the server closes (bounded)."""
    c.send(line + "\r\n")
    replies, closed = c.replies_until_eof()
    assert closed, "connection still open after %r: %r" % (line, replies)
    return replies


def assert_421_too_many(replies):
    assert replies and replies[-1][0] == 421, "want a 421 last: %r" % replies
    assert replies[-1][1].startswith("4.7.0") and TOO_MANY in replies[-1][1], \
        "got %r, want 421 4.7.0 ... %s" % (replies[-1], TOO_MANY)


# ---- point 9: the error limit and the junk-command limit ----

def test_error_limit_default_20_on_port_25(tern_factory):
    t = tern_factory()
    t.start()
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        for i in range(19):
            code, text = c.cmd("FROB %d" % i)
            assert code == 500, "error %d: got %d %r, want 500" % (i + 1, code, text)
        replies = cut_after(c, "FROB 19")
    assert [r[0] for r in replies] == [500, 421], replies
    assert_421_too_many(replies)
    t.wait_log(r"too many errors from \[127\.0\.0\.1\] errors=20 limit=20")


def test_error_limit_setting_on_port_25(tern_factory):
    t = tern_factory(smtpd_hard_error_limit="3")
    t.start()
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("FROB", 500)
        c.expect("MAIL FROM:<bad", 501)
        replies = cut_after(c, "RCPT TO:<a@example.test>")
    assert [r[0] for r in replies] == [503, 421], replies
    assert_421_too_many(replies)


def test_error_limit_on_submission(sub_factory):
    t = sub_factory(smtpd_hard_error_limit="2")
    t.start()
    with RawSMTP(t.sub_port) as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@example.test>", 530)
        replies = cut_after(c, "RCPT TO:<a@example.test>")
    assert [r[0] for r in replies] == [530, 421], replies
    assert_421_too_many(replies)


def test_refused_header_counts_toward_the_limit(sub_factory):
    """A message refused at the end of DATA for its header From is a
    client error like any other: it counts, and the limit ends the
    session (it once bypassed the limit's check)."""
    t = sub_factory(smtpd_hard_error_limit="2")
    t.start()
    t.setup(domains=["example.test"])
    add_account(t, "alice@example.test", "header-limit-password-1")
    body = (b"From: <alice@example.test>\r\nFrom: <alice@example.test>\r\n"
            b"Subject: two From fields\r\n\r\nbody\r\n")
    s = t.client("submission", login="alice@example.test",
                 password="header-limit-password-1")
    try:
        for i in range(2):
            assert s.mail("alice@example.test")[0] == 250
            assert s.rcpt("alice@example.test")[0] == 250
            code, text = s.data(body)
            assert code == 550 and text.startswith(b"5.7.1"), \
                "message %d: got %d %r" % (i + 1, code, text)
        code, text = s.noop()
    finally:
        s.close()
    assert code == 421 and TOO_MANY.encode() in text, \
        "after two refused messages: got %d %r, want 421 %s" % (code, text, TOO_MANY)


def test_junk_commands_count_past_the_limit_on_port_25(tern_factory):
    t = tern_factory(smtpd_junk_command_limit="4", smtpd_hard_error_limit="2")
    t.start()
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("EHLO c.test", 250)    # a repeated EHLO: junk 1
        c.expect("RSET", 250)           # 2
        c.expect("VRFY postmaster", 252)  # 3
        c.expect("NOOP", 250)           # 4: the last free one
        c.expect("HELP", 214)           # 5: error 1, still answered
        replies = cut_after(c, "NOOP")  # 6: error 2 = the limit
    assert [r[0] for r in replies] == [250, 421], replies
    assert_421_too_many(replies)
    t.wait_log(r"junk command limit reached from \[127\.0\.0\.1\] junk=5")


def test_junk_limit_default_100(tern_factory):
    t = tern_factory(smtpd_hard_error_limit="1")
    t.start()
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        c.send("NOOP\r\n" * 100)
        for i in range(100):
            code, _ = c.reply()
            assert code == 250, "NOOP %d: got %d" % (i + 1, code)
        replies = cut_after(c, "NOOP")
    assert [r[0] for r in replies] == [250, 421], replies


def test_junk_count_starts_again_after_a_queued_message(tern_factory):
    t = tern_factory(smtpd_junk_command_limit="2", smtpd_hard_error_limit="1")
    t.setup(domains=["example.test"])
    add_account(t, "rcpt@example.test", "stress-test-password-1")
    t.start()
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("NOOP", 250)
        c.expect("NOOP", 250)
        c.expect("MAIL FROM:<s@client.test>", 250)
        c.expect("RCPT TO:<rcpt@example.test>", 250)
        c.expect("DATA", 354)
        c.expect("Subject: junk\r\n\r\nHello.\r\n.", 250)
        c.expect("NOOP", 250)           # free again
        c.expect("NOOP", 250)
        replies = cut_after(c, "NOOP")
    assert [r[0] for r in replies] == [250, 421], replies
    t.wait_count("rcpt@example.test", 1)


def test_junk_limit_on_submission_ehlo_after_starttls_is_free(sub_factory):
    t = sub_factory(smtpd_junk_command_limit="1", smtpd_hard_error_limit="1")
    t.start()
    with t.raw_tls("submission") as c:
        c.expect("EHLO c.test", 250)
        c.starttls()
        c.expect("EHLO c.test", 250)    # the session starts over: not junk
        c.expect("NOOP", 250)           # junk 1: free
        replies = cut_after(c, "NOOP")
    assert [r[0] for r in replies] == [250, 421], replies
    assert_421_too_many(replies)


# ---- point 11: smtpd_starttls_timeout ----

def test_starttls_timeout_cuts_a_stalled_handshake(tern_factory):
    t = tern_factory(smtpd_starttls_timeout="2s")
    t.start()
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("STARTTLS", 220)
        # No ClientHello: smtpd_timeout (300s) would wait; this may not.
        assert c.closed_by_server(timeout=WAIT + 20), "handshake not cut"
    t.wait_log(r"TLS handshake failed from \[127\.0\.0\.1\]")


def test_starttls_timeout_covers_the_first_command_on_465(sub_factory):
    t = sub_factory(smtpd_starttls_timeout="2s")
    t.start()
    with t.raw_tls("submissions") as c:
        assert c.greeting[0] == 220
        replies, closed = c.replies_until_eof(timeout=WAIT + 20)
    assert closed, "silent client after the handshake not cut: %r" % replies
    assert replies and replies[0][0] == 421 and replies[0][1].startswith("4.4.2"), replies
    t.wait_log(r"reason=timeout")


# ---- points 10 and 11: stress mode ----

def test_stress_on_shortens_timeout_and_error_limit(tern_factory):
    t = tern_factory(stress="on", smtpd_timeout_stress="2s")
    t.start()
    t.wait_log(r"stress: entering stress mode sessions=\d+/\d+ screen=\d+/\d+ stress=on")
    with t.raw() as c:
        replies, closed = c.replies_until_eof(timeout=WAIT + 20)
    assert closed, "silent client not cut under stress: %r" % replies
    assert replies and replies[0][0] == 421 and replies[0][1].startswith("4.4.2"), replies
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        replies = cut_after(c, "FROB")  # the stress limit: 1
    assert [r[0] for r in replies] == [500, 421], replies
    assert_421_too_many(replies)
    t.wait_log(r"errors=1 limit=1 stress=on")


def test_stress_junk_limit_1(tern_factory):
    t = tern_factory(stress="on")
    t.start()
    t.wait_log(r"stress: entering stress mode")
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("NOOP", 250)
        replies = cut_after(c, "NOOP")
    assert [r[0] for r in replies] == [250, 421], replies


def idle_clients(t, n):
    clients = []
    try:
        for _ in range(n):
            clients.append(t.raw())
    except BaseException:
        for c in clients:
            c.close()
        raise
    return clients


def test_stress_auto_entered_and_left_by_load(tern_factory):
    t = tern_factory(max_sessions="5", stress_hold_time="1s")
    t.start()
    mark = t.log_mark()
    clients = idle_clients(t, 4)        # 80% of 5
    try:
        m = t.wait_log(r"master\S*: warn: stress: entering stress mode "
                       r"sessions=(\d+)/5 screen=0/1000\n", since=mark)
        assert int(m.group(1)) >= 4, m.group(0)
        t.wait_log(r"smtpd\S*: stress mode on", since=mark)
        # A session in stress mode: one error is the limit.
        with t.raw() as c:
            c.expect("EHLO c.test", 250)
            replies = cut_after(c, "FROB")
        assert [r[0] for r in replies] == [500, 421], replies
        # The fifth slot taken, a sixth client is refused.
        c5 = t.raw()
        try:
            with socket.create_connection(("127.0.0.1", t.port), timeout=WAIT) as s6:
                s6.settimeout(WAIT)
                assert s6.recv(512).startswith(b"421 4.3.2"), "sixth client not refused"
        finally:
            c5.close()
    finally:
        for c in clients:
            c.close()
    t.wait_log(r"stress: leaving stress mode after \d+s sessions=\d/5 screen=0/1000\n",
               since=mark)
    t.wait_log(r"smtpd\S*: stress mode off", since=mark)
    # Normal limits again.
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("FROB", 500)
        c.expect("NOOP", 250)
        c.expect("NOOP", 250)


def test_sighup_forces_stress_on_and_off(tern_factory):
    t = tern_factory(smtpd_timeout_stress="2s")
    t.start()
    with t.raw() as silent:
        mark = t.log_mark()
        t.write_config(stress="on", max_sessions="10")
        t.signal(signal.SIGHUP)
        t.wait_log(r"stress: entering stress mode sessions=\d+/\d+ screen=\d+/\d+ stress=on",
                   since=mark)
        t.wait_log(r"reload: max_sessions changes only at a restart: keeping "
                   r"'4096' \(the file says '10'\)", since=mark)
        # A session opened before stress takes the short timeout too.
        replies, closed = silent.replies_until_eof(timeout=WAIT + 20)
    assert closed and replies and replies[-1][0] == 421, replies
    mark = t.log_mark()
    t.write_config(stress="off")
    t.signal(signal.SIGHUP)
    t.wait_log(r"stress: leaving stress mode after \d+s sessions=\d+/4096 "
               r"screen=\d+/\d+ stress=off", since=mark)
    t.wait_log(r"smtpd\S*: stress mode off", since=mark)
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("FROB", 500)
        c.expect("NOOP", 250)
        c.expect("NOOP", 250)
        c.expect("QUIT", 221)


def test_config_check_shows_both_values(tern_factory):
    t = tern_factory(smtpd_timeout_stress="5s", smtpd_hard_error_limit="7")
    out = t.cli("config", "check").out
    for line in ("smtpd_timeout = 300s", "smtpd_timeout_stress = 5s",
                 "smtpd_starttls_timeout = 300s", "smtpd_starttls_timeout_stress = 10s",
                 "smtpd_hard_error_limit = 7", "smtpd_hard_error_limit_stress = 1",
                 "smtpd_junk_command_limit = 100", "smtpd_junk_command_limit_stress = 1",
                 "max_sessions = 4096", "stress = auto", "stress_high_water = 80",
                 "stress_low_water = 60", "stress_hold_time = 60s"):
        assert line + "\n" in out, "no line %r in:\n%s" % (line, out)
    t.write_config(smtpd_timeout_stress="0")
    r = t.cli("config", "check", expect=None)
    assert r.rc != 0 and "smtpd_timeout_stress: '0' is below the minimum 1s" in r.err, r


# ---- point 10: max_sessions and the open-files limit ----

def smtpd_nofile(t):
    pid = [p for p, kind in t.child_kinds().items() if kind == "smtpd"][0]
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3]), int(line.split()[4])
    raise AssertionError("no open-files line for smtpd")


def test_max_sessions_raises_the_soft_open_files_limit(tern_factory):
    t = tern_factory(max_sessions="1000")
    t.WRAPPER = ("prlimit", "--nofile=256:4096")
    t.start()
    assert wait_until(lambda: "smtpd" in t.child_kinds().values())
    soft, hard = smtpd_nofile(t)
    assert hard == 4096 and soft >= 2000, (soft, hard)
    assert "open files" not in t.log(), t.log_tail()


def test_max_sessions_beyond_the_hard_limit_is_logged(tern_factory):
    t = tern_factory(max_sessions="1000")
    t.WRAPPER = ("prlimit", "--nofile=512:1024")
    t.start()
    t.wait_log(r"smtpd\S*: warn: max_sessions=1000 needs about \d+ open "
               r"files; the limit is 1024")
    with t.raw() as c:
        c.expect("QUIT", 221)
