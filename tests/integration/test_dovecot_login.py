"""
Issue 10, point 3: one login policy for every door.  Dovecot asks tern
about every IMAP and POP3 login through its Lua passdb and userdb
(src/mailbox/dovecot_auth.lua, which `tern serve` writes beside Dovecot's
configuration after a line naming auth.sock), and the script asks lookup
over STATE_DIR/auth.sock.  These tests run that very script under lua5.4
as Dovecot 2.3's auth-worker calls it (lua_passdb.lua: the request's
fields, the password, Dovecot's result codes), as tern's user, as the
auth-worker runs, against a real `tern serve`; the end of the file puts a
real Dovecot in front.
"""
import grp
import imaplib
import os
import poplib
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest

from ternlib import (HERE, IS_ROOT, REPO, RUN_USER, WAIT, add_account,
                     free_port, instance_factory, make_hash,
                     needs_loopback_sources, uniq, wait_until)

SCRIPT_SRC = os.path.join(REPO, "src", "mailbox", "dovecot_auth.lua")
RUNNER = os.path.join(HERE, "lua_passdb.lua")
# What each outcome was as tern-checkpassword's exit status, the driver
# this script replaced: the assertions below read the same.
STATUS = {("verify", "OK"): 0, ("verify", "PASSWORD_MISMATCH"): 1,
          ("verify", "INTERNAL_FAILURE"): 111, ("user", "OK"): 2,
          ("user", "USER_UNKNOWN"): 3, ("user", "INTERNAL_FAILURE"): 111}

ALICE, ALICE_PW = "alice@example.test", "alice-imap-pw-1"
SMTP_FAIL = (535, "5.7.8 Error: authentication failed")


@pytest.fixture
def factory(request):
    yield from instance_factory(request)


def server(factory, **settings):
    t = factory(**settings)
    t.setup(domains=["example.test"])
    add_account(t, ALICE, ALICE_PW)
    t.start()
    assert wait_until(lambda: is_socket(sock_path(t)), WAIT), "no auth.sock"
    return t


def is_socket(path):
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def sock_path(t):
    return os.path.join(t.state_dir, "auth.sock")


def script_for(t, sock):
    """The script as `tern serve` writes it (dovecot_conf.c): a line naming
    the socket, then dovecot_auth.lua; beside it the runner, both where
    tern's user reads them."""
    path = os.path.join(t.base, "auth-%d.lua" % (abs(hash(sock)) % 10**8))
    if not os.path.exists(path):
        shutil.copy(RUNNER, os.path.join(t.base, "lua_passdb.lua"))
        os.chmod(os.path.join(t.base, "lua_passdb.lua"), 0o644)
        with open(SCRIPT_SRC) as f:
            text = 'local TERN_AUTH_SOCK = "%s"\n' % sock + f.read()
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
    return path


def _as_run_user():
    """In the child, before exec: tern's user, as Dovecot's auth-worker."""
    if IS_ROOT:
        pw = pwd.getpwnam(RUN_USER)
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)


def lua_login(t, login, password, service="imap", client="127.0.0.1",
                  authorized=False, sock=None, timeout=None):
    """Runs the login script as Dovecot does: (status as
    tern-checkpassword's was, the fields returned as a dict, the raw
    output, seconds it took).  authorized: a userdb lookup."""
    verb = "user" if authorized else "verify"
    script = script_for(t, sock or sock_path(t))
    start = time.monotonic()
    p = subprocess.run(
        ["lua5.4", os.path.join(t.base, "lua_passdb.lua"), script, verb, login,
         service if service is not None else "-", client if client is not None else "-"],
        input=(password or "").encode(), capture_output=True, preexec_fn=_as_run_user,
        timeout=timeout or 3 * WAIT, env={"PATH": "/usr/bin:/bin"})
    took = time.monotonic() - start
    assert p.returncode == 0, p.stderr
    lines = p.stdout.decode().splitlines()
    rc = STATUS[(verb, lines[0])]
    fields = dict(l.split("=", 1) for l in lines[1:] if not l.startswith("message="))
    return rc, fields, p.stdout + p.stderr, took


def maildir_of(t, mailbox):
    local, domain = mailbox.split("@")
    return os.path.join(t.state_dir, "mail", domain, local)


def want_ok_fields(t, fields, login, mailbox=None):
    assert fields == {"user": login,
                      "userdb_home": maildir_of(t, mailbox or login),
                      "userdb_mail": "maildir:~"}, fields


# ---- the socket itself ----

def test_socket_is_fresh_and_only_for_terns_user(factory):
    t = factory()
    t.setup(domains=["example.test"])
    os.makedirs(t.state_dir, exist_ok=True)
    # A stale file where the socket goes is replaced at start.
    with open(sock_path(t), "w") as f:
        f.write("stale")
    t.start()
    assert wait_until(lambda: is_socket(sock_path(t)), WAIT), "no auth.sock"
    st = os.lstat(sock_path(t))
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
    assert st.st_uid == pwd.getpwnam(RUN_USER).pw_uid


def test_right_login_gives_the_account_and_its_maildir(factory):
    t = server(factory)
    mark = t.log_mark()
    rc, fields, raw, _ = lua_login(t, ALICE, ALICE_PW, client="127.0.0.9")
    assert rc == 0, raw
    want_ok_fields(t, fields, ALICE)
    t.wait_log(r"lookup\[\d+\]: auth ok login=%s client=\[127\.0\.0\.9\] proto=imap"
               % re.escape(ALICE), since=mark)
    # POP3 too, named as such.
    rc, fields, _, _ = lua_login(t, ALICE, ALICE_PW, service="pop3")
    assert rc == 0
    t.wait_log(r"auth ok login=%s client=\[127\.0\.0\.1\] proto=pop3" % re.escape(ALICE), since=mark)


def test_wrong_password_and_unknown_login_get_the_same_answer(factory):
    t = server(factory)
    mark = t.log_mark()
    wrong = lua_login(t, ALICE, "not-" + ALICE_PW, client="127.0.0.11")
    unknown = lua_login(t, "nobody@example.test", ALICE_PW, client="127.0.0.12")
    assert wrong[:2] == (1, {}), wrong
    assert unknown[:2] == (1, {}), unknown
    t.wait_log(r"auth failed login=%s reason=password client=\[127\.0\.0\.11\] proto=imap"
               % re.escape(ALICE), since=mark)
    t.wait_log(r"auth failed login=nobody@example\.test reason=unknown client=\[127\.0\.0\.12\] proto=imap",
               since=mark)
    rows = [(r["kind"], r["login"], r["protocol"]) for r in t.audit()]
    assert ("auth-failure", ALICE, "imap") in rows, rows
    assert ALICE_PW not in t.log(), "a password in the log"


def test_miscased_login_is_refused_with_its_reason(factory):
    t = server(factory)
    mark = t.log_mark()
    rc, fields, _, _ = lua_login(t, "Alice@example.test", ALICE_PW, client="127.0.0.13")
    assert (rc, fields) == (1, {})
    t.wait_log(r"auth failed login=Alice@example\.test reason=case-mismatch existing=%s "
               r"client=\[127\.0\.0\.13\] proto=imap" % re.escape(ALICE), since=mark)
    assert "auth ok" not in t.log()[mark:]


def test_warn_mode_lets_a_miscased_login_in_as_the_real_account(factory):
    t = server(factory, login_case="warn")
    mark = t.log_mark()
    rc, fields, raw, _ = lua_login(t, "ALICE@Example.test", ALICE_PW, client="127.0.0.14")
    assert rc == 0, raw
    # The account's own login: Dovecot keeps the session under it.
    want_ok_fields(t, fields, ALICE)
    t.wait_log(r"auth case-mismatch login=ALICE@Example\.test existing=%s client=\[127\.0\.0\.14\] "
               r"action=would-refuse proto=imap" % re.escape(ALICE), since=mark)
    # Never with a wrong password.
    assert lua_login(t, "ALICE@Example.test", "x" + ALICE_PW)[0] == 1
    rows = [r for r in t.audit() if r["kind"] == "case-mismatch"]
    assert [(r["login"], r["existing_login"], r["client_ip"], r["protocol"]) for r in rows
            if r["client_ip"] == "127.0.0.14"] == [("ALICE@Example.test", ALICE, "127.0.0.14", "imap")], rows
    # The text listing names the protocol beside each event.
    out = t.cli("audit").out
    assert re.search(r"^ALICE@Example\.test from 127\.0\.0\.14: \d+ events?$", out, re.M), out
    assert re.search(r"^\s+1\s+case-mismatch\s+imap\s+first ", out, re.M), out


@needs_loopback_sources
def test_smtp_and_imap_failures_add_up_in_the_brake(factory):
    """auth_fail_limit = 4: two failures over SMTP AUTH and two over IMAP
    from one address refuse the fifth attempt, right password or not, on
    both doors; without the IMAP ones SMTP alone would let it in."""
    t = server(factory, auth_fail_limit="4", auth_fail_delay="0",
               auth_fail_delay_max="0")
    src = "127.0.0.41"
    for i in range(2):
        with t.raw_tls(source=src) as c:
            c.expect("EHLO client.test", 250)
            c.starttls()
            c.expect("EHLO client.test", 250)
            assert c.auth_plain(ALICE, "smtp-wrong-%d" % i) == SMTP_FAIL
    for i in range(2):
        assert lua_login(t, ALICE, "imap-wrong-%d" % i, client=src)[0] == 1
    mark = t.log_mark()
    rc, fields, _, _ = lua_login(t, ALICE, ALICE_PW, client=src)
    assert (rc, fields) == (1, {}), "the fifth login, over IMAP, was let in"
    t.wait_log(r"auth throttled login=%s client=\[%s\] reason=too-many-failures proto=imap"
               % (re.escape(ALICE), re.escape(src)), since=mark)
    with t.raw_tls(source=src) as c:
        c.expect("EHLO client.test", 250)
        c.starttls()
        c.expect("EHLO client.test", 250)
        got = c.auth_plain(ALICE, ALICE_PW)
    assert got[0] == 454, "SMTP after the IMAP failures: got %r" % (got,)
    kinds = {(r["kind"], r["protocol"]) for r in t.audit() if r["client_ip"] == src}
    assert {("auth-failure", "smtp"), ("auth-failure", "imap")} <= kinds, kinds
    # Another login from another address is not held back.
    add_account(t, "bob@example.test", "bob-imap-pw-2")
    assert lua_login(t, "bob@example.test", "bob-imap-pw-2", client="127.0.0.42")[0] == 0


def test_brake_delay_is_waited_out_before_the_answer(factory):
    t = server(factory, auth_fail_delay="1s", auth_fail_delay_max="2s")
    src = "127.0.0.51"
    for i in range(2):
        assert lua_login(t, ALICE, "wrong-%d" % i, client=src)[0] == 1
    mark = t.log_mark()
    rc, _, _, took = lua_login(t, ALICE, "wrong-2", client=src)
    assert rc == 1
    t.wait_log(r"auth slowed login=%s client=\[%s\] delay=1000ms reason=earlier-failures proto=imap"
               % (re.escape(ALICE), re.escape(src)), since=mark)
    # The script sleeps the delay lookup asked for before it answers.
    assert took >= 1.0, "answered after %.2fs, before the brake's delay" % took


def test_login_with_plus(factory):
    t = server(factory)
    addr, pw = "first+tag@example.test", "plus-login-pw-1"
    add_account(t, addr, pw)
    rc, fields, raw, _ = lua_login(t, addr, pw)
    assert rc == 0, raw
    want_ok_fields(t, fields, addr)
    other = add_account(t, "carol@example.test", "carol-pw-1", login="carol+mail@example.test")
    rc, fields, raw, _ = lua_login(t, other, "carol-pw-1", service="pop3")
    assert rc == 0, raw
    want_ok_fields(t, fields, other, "carol@example.test")


@pytest.mark.parametrize("scheme,cost", [("$y$", 0), ("$2b$", 5), ("$6$", 0)],
                         ids=["yescrypt", "bcrypt", "sha512-crypt"])
def test_imported_hashes(factory, scheme, cost):
    t = server(factory)
    addr, pw = uniq("imp") + "@example.test", "imported-pw-" + scheme.strip("$")
    t.cli("user", "add", addr, "--password-hash", make_hash(pw, scheme, cost))
    rc, fields, raw, _ = lua_login(t, addr, pw)
    assert rc == 0, "login with a %s hash: %r" % (scheme, raw)
    want_ok_fields(t, fields, addr)
    assert lua_login(t, addr, pw + "x")[:2] == (1, {})


def test_userdb_lookup(factory):
    """A userdb lookup, no password (doveadm, and Dovecot's userdb): the
    fields for a login that exists exactly, unknown for any other."""
    t = server(factory)
    mark = t.log_mark()
    rc, fields, raw, _ = lua_login(t, ALICE, None, service="doveadm", client=None,
                                   authorized=True)
    assert rc == 2, raw
    # A userdb's own fields: no userdb_ prefix.
    assert fields == {"user": ALICE, "home": maildir_of(t, ALICE),
                      "mail": "maildir:~"}, fields
    assert lua_login(t, "nobody@example.test", None, authorized=True)[:2] == (3, {})
    assert lua_login(t, "Alice@example.test", None, authorized=True)[:2] == (3, {})
    # No login took place: nothing for the brake or the audit.
    assert "auth failed" not in t.log()[mark:]
    assert t.audit() == []


def test_over_long_login_or_password_fails(factory):
    t = server(factory)
    mark = t.log_mark()
    assert lua_login(t, "a" * 300 + "@example.test", "pw")[:2] == (1, {})
    assert lua_login(t, ALICE, "p" * 257)[:2] == (1, {})
    assert lua_login(t, "", "pw")[:2] == (1, {})
    # A password of the longest length still gets checked.
    assert lua_login(t, ALICE, "p" * 256)[:2] == (1, {})
    t.wait_log(r"auth failed login=%s reason=password" % re.escape(ALICE), since=mark)


def test_no_lookup_socket_is_a_temporary_failure(factory):
    t = server(factory)
    assert lua_login(t, ALICE, ALICE_PW, sock=sock_path(t) + ".none")[0] == 111
    t.stop()
    assert lua_login(t, ALICE, ALICE_PW)[0] == 111


class FakeLookup:
    """A stand-in for lookup on a unix socket, answering each connection
    with the given bytes: what the script does with answers tern's lookup
    never sends."""

    def __init__(self, base, answer):
        self.path = os.path.join(base, "fake-%s.sock" % uniq("l"))
        self.answer = answer
        self.requests = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self.sock.listen(4)
        self.sock.settimeout(WAIT)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            c, _ = self.sock.accept()
        except OSError:
            return
        with c:
            c.settimeout(WAIT)
            got = b""
            while not got.endswith(b"\n"):
                b = c.recv(4096)
                if not b:
                    break
                got += b
            self.requests.append(got)
            c.sendall(self.answer)

    def close(self):
        self.sock.close()
        self.thread.join(WAIT)


@pytest.mark.parametrize("answer", [
    b"ok\t0\t\t/m\n", b"ok\t121\ta@b.test\t/m\n", b"ok\t0\ta\\qb\t/m\n",
    b"ok\t0\ta@b.test\trelative\n", b"ok\t0\ta@b.test\t/m\nfail\t0\n",
    b"ok\t0\ta@b.test\t/m", b"fail\tx\n", b"fail\n", b"maybe\n", b"",
    b"ok\t0\t" + b"a" * 256 + b"\t/m\n", b"x" * 9000 + b"\n"],
    ids=["empty-login", "delay-too-long", "bad-escape", "relative-maildir", "two-lines",
         "no-lf", "bad-delay", "fail-no-delay", "unknown-verb", "nothing", "login-too-long",
         "too-long"])
def test_answers_that_break_the_protocol_are_temporary_failures(factory, answer):
    t = factory()
    fake = FakeLookup(t.base, answer)
    try:
        rc, fields, raw, _ = lua_login(t, ALICE, ALICE_PW, sock=fake.path)
    finally:
        fake.close()
    assert (rc, fields) == (111, {}), raw
    assert fake.requests == [b"auth\timap\t127.0.0.1\t%s\t%s\n"
                             % (ALICE.encode(), ALICE_PW.encode())]


def test_fields_are_escaped_both_ways(factory):
    """A backslash, a TAB in a password go out escaped; escapes in the
    answer are undone; the answer's delay is slept."""
    t = factory()
    fake = FakeLookup(t.base, b"ok\t1\tback\\\\slash@b.test\t/m/b\\\\s\n")
    try:
        rc, fields, raw, took = lua_login(t, "back\\slash@b.test", "p\\w\td",
                                          service="pop3", client="::1", sock=fake.path)
    finally:
        fake.close()
    assert rc == 0, raw
    assert fields == {"user": "back\\slash@b.test", "userdb_home": "/m/b\\s",
                      "userdb_mail": "maildir:~"}, fields
    assert fake.requests == [b"auth\tpop3\t::1\tback\\\\slash@b.test\tp\\\\w\\td\n"]
    assert took >= 1.0


# ---- the socket's bounds, with a raw client ----

def raw_ask(t, data, timeout=None):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout or WAIT)
        s.connect(sock_path(t))
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = b""
        try:
            while True:
                b = s.recv(4096)
                if not b:
                    break
                got += b
        except ConnectionResetError:
            pass
        return got


def test_socket_refuses_what_breaks_the_protocol(factory):
    t = server(factory)
    assert raw_ask(t, b"auth\tsmtp\t127.0.0.1\talice@example.test\tpw\n") == b"tempfail\n"
    assert raw_ask(t, b"auth\timap\t127.0.0.1\t\tpw\n") == b"tempfail\n"
    assert raw_ask(t, b"auth\timap\t127.0.0.1\ta\\qb\tpw\n") == b"tempfail\n"
    # Over the longest request: dropped without an answer.
    assert raw_ask(t, b"auth\timap\t127.0.0.1\t" + b"a" * 5000 + b"\n") == b""
    # Escapes are undone: a password with a backslash in it.
    pw = "back\\slash-pw"
    add_account(t, "bs@example.test", pw)
    got = raw_ask(t, b"auth\timap\t127.0.0.2\tbs@example.test\tback\\\\slash-pw\n")
    assert got == ("ok\t0\tbs@example.test\t%s\n" % maildir_of(t, "bs@example.test")).encode(), got
    assert lua_login(t, "bs@example.test", pw)[0] == 0


def test_socket_drops_a_client_that_stalls(factory):
    t = server(factory)
    mark = t.log_mark()
    start = time.monotonic()
    got = raw_ask(t, b"auth\timap\t127.0.0.1\talice", timeout=30)
    assert got == b""
    assert time.monotonic() - start < 30
    t.wait_log(r"auth\.sock: no request within \d+ seconds; dropped reason=timeout", since=mark)
    # And it still answers.
    assert lua_login(t, ALICE, ALICE_PW)[0] == 0


def test_socket_caps_connections_at_once(factory):
    """128 connections that send nothing hold every slot: the next one is
    told tempfail at once; once they are gone, logins go through again."""
    t = server(factory)
    held = []
    try:
        for _ in range(128):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(WAIT)
            s.connect(sock_path(t))
            held.append(s)
        # The last one is surely accepted before the next connects.
        deadline = time.monotonic() + WAIT
        got = b""
        while time.monotonic() < deadline:
            got = raw_ask(t, b"auth\timap\t127.0.0.1\talice@example.test\tx\n")
            if got == b"tempfail\n":
                break
            time.sleep(0.1)
        assert got == b"tempfail\n", got
        assert lua_login(t, ALICE, ALICE_PW)[0] == 111
    finally:
        for s in held:
            s.close()
    assert wait_until(lambda: lua_login(t, ALICE, ALICE_PW)[0] == 0, WAIT)
    t.wait_log(r"auth\.sock: 128 logins under way; one more told to try later")


# ---- through a real Dovecot ----

DOVECOT_CONF = """\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
instance_name = tern-test-{port}
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_cache_size = 0
auth_failure_delay = 0
# Dovecot lowercases logins by default (%Lu): tern compares them exactly.
auth_username_format = %u
mail_uid = {user}
mail_gid = {group}
first_valid_uid = 1
mail_location = maildir:~
{users}
service imap-login {{
{chroot}
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
{chroot}
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service auth {{
  user = {user}
}}
service auth-worker {{
  user = {user}
  unix_listener auth-worker {{
    user = {user}
    mode = 0600
  }}
}}
passdb {{
  driver = lua
  args = file={script} blocking=yes
}}
userdb {{
  driver = prefetch
}}
userdb {{
  driver = lua
  args = file={script} blocking=yes
}}
"""
# Who runs what: Debian's split as root; as an ordinary user every
# process is that user, and none may chroot (as tern's own writer does).
USERS_ROOT = "default_internal_user = dovecot\ndefault_login_user = dovenull"
USERS_SELF = """\
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
service anvil {{
  chroot =
}}
service ipc {{
  chroot =
}}
service old-stats {{
  chroot =
}}"""


@pytest.fixture
def dovecot(request):
    """start(t) -> (imap port, pop3 port, Dovecot's log path): a Dovecot
    whose passdb is the Lua script on t's auth.sock, written here as
    the login path wants it (tern's own writer is another part of issue
    10); stopped at teardown."""
    if shutil.which("dovecot") is None:
        pytest.fail("dovecot is not installed (scripts/deps.sh installs dovecot-imapd)")
    procs = []

    def start(t):
        d = os.path.join(t.base, "dovecot")
        for sub in ("run", "state"):
            os.makedirs(os.path.join(d, sub))
        os.chmod(d, 0o755)
        port, pop3 = free_port(), free_port()
        conf = os.path.join(d, "dovecot.conf")
        with open(conf, "w") as f:
            group = grp.getgrgid(pwd.getpwnam(RUN_USER).pw_gid).gr_name
            users = USERS_ROOT if IS_ROOT else USERS_SELF.format(user=RUN_USER, group=group)
            f.write(DOVECOT_CONF.format(d=d, port=port, pop3=pop3, user=RUN_USER,
                                        group=group, script=script_for(t, sock_path(t)),
                                        users=users,
                                        chroot="" if IS_ROOT else "  chroot ="))
        p = subprocess.Popen(["dovecot", "-F", "-c", conf], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        procs.append(p)

        def greets():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.settimeout(2)
                    return s.recv(64).startswith(b"* OK")
            except OSError:
                return False
        assert wait_until(greets, 2 * WAIT), "Dovecot did not start"
        return port, pop3, os.path.join(d, "dovecot.log")

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(2 * WAIT)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(WAIT)


def imap_login(port, login, password):
    # Failures are slowed by both brakes: a generous bound.
    with imaplib.IMAP4("127.0.0.1", port, timeout=4 * WAIT) as c:
        try:
            typ, _ = c.login(login, password)
        except imaplib.IMAP4.error as e:
            return "NO", str(e)
        typ2, data = c.namespace()
        c.logout()
        return typ, typ2


def test_real_dovecot_asks_tern(factory, dovecot):
    """Dovecot 2.3 with the Lua passdb: the right login is in, a wrong
    password, an unknown login and a miscased one get the same refusal,
    and tern's log says why, with proto=imap or pop3."""
    t = server(factory)
    port, pop3, dlog = dovecot(t)
    mark = t.log_mark()
    assert imap_login(port, ALICE, ALICE_PW) == ("OK", "OK")
    # POP3 first: the failures below slow every later login from this
    # address, in tern's brake and in Dovecot's own auth penalty.
    p = poplib.POP3("127.0.0.1", pop3, timeout=WAIT)
    try:
        p.user(ALICE)
        assert p.pass_(ALICE_PW).startswith(b"+OK")
        p.quit()
    finally:
        p.close()
    t.wait_log(r"auth ok login=%s client=\[127\.0\.0\.1\] proto=pop3" % re.escape(ALICE), since=mark)
    refusals = {imap_login(port, ALICE, "wrong-pw")[1],
                imap_login(port, "nobody@example.test", ALICE_PW)[1],
                imap_login(port, "Alice@example.test", ALICE_PW)[1]}
    assert len(refusals) == 1 and "AUTHENTICATIONFAILED" in refusals.pop()
    t.wait_log(r"auth ok login=%s client=\[127\.0\.0\.1\] proto=imap" % re.escape(ALICE), since=mark)
    t.wait_log(r"auth failed login=%s reason=password client=\[127\.0\.0\.1\] proto=imap"
               % re.escape(ALICE), since=mark)
    t.wait_log(r"auth failed login=nobody@example\.test reason=unknown client=\[127\.0\.0\.1\] proto=imap",
               since=mark)
    t.wait_log(r"auth failed login=Alice@example\.test reason=case-mismatch existing=%s "
               r"client=\[127\.0\.0\.1\] proto=imap" % re.escape(ALICE), since=mark)


def test_real_dovecot_warn_mode_session_is_the_real_account(factory, dovecot):
    t = server(factory, login_case="warn")
    port, _, dlog = dovecot(t)
    assert imap_login(port, "ALICE@example.test", ALICE_PW) == ("OK", "OK")
    # Dovecot keeps the session under the account's own login.
    assert wait_until(lambda: "Login: user=<%s>" % ALICE in open(dlog).read(), WAIT), \
        open(dlog).read()
    assert "user=<ALICE@example.test>" not in open(dlog).read()
    rows = [(r["kind"], r["login"], r["protocol"]) for r in t.audit()]
    assert ("case-mismatch", "ALICE@example.test", "imap") in rows, rows
