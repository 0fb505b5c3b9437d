"""
Issue 4, points 3 to 7: AUTH PLAIN and LOGIN only inside TLS, exact
logins, one 535 for every failure with the truth in the log, the
brute-force brake, the rules for new logins and passwords, and hashes
imported from other servers.
"""
import re
import select
import smtplib
import time

import pytest

from ternlib import (add_account, b64, instance_factory, make_hash,
                     module_server, needs_loopback_sources, uniq)

ALICE, ALICE_PW = "alice@example.test", "alice-secret-pw-1"
# A login that is not an address, for the LOGIN tests.
CAROL, CAROL_PW = "carol.login", "carol-secret-pw-2"

FAIL_REPLY = (535, "5.7.8 Error: authentication failed")

# Every password typed in this module: none may ever reach the log.
USED_PASSWORDS = {ALICE_PW, CAROL_PW}


def prepare(t):
    t.setup(domains=["example.test"])
    add_account(t, ALICE, ALICE_PW)
    add_account(t, "carol@example.test", CAROL_PW, login=CAROL)


@pytest.fixture(scope="module")
def auth_srv(request):
    # Failures here must neither trip nor slow the brake: it has its own
    # tests below.
    yield from module_server(request, {"auth_fail_limit": 100000, "auth_fail_delay": "0s"},
                             prepare)


@pytest.fixture
def sub_factory(request):
    yield from instance_factory(request)


def tls_session(t, kind="submission", source=None):
    """A raw client after EHLO, STARTTLS (unless on 465) and EHLO again."""
    c = t.raw_tls(kind, source=source)
    if kind != "submissions":
        c.expect("EHLO client.test", 250)
        c.starttls()
    c.expect("EHLO client.test", 250)
    return c


def assert_no_secret_in_log(t, *passwords):
    log = t.log()
    for pw in passwords or USED_PASSWORDS:
        assert pw not in log, "a password is in the log: %r" % pw
        assert b64(pw) not in log, "a base64 password is in the log: %r" % pw


# ---- where AUTH is offered ----

@pytest.mark.parametrize("kind", ["submission", "smtp"])
def test_auth_not_offered_before_tls(auth_srv, kind):
    with auth_srv.raw_tls(kind) as c:
        code, text = c.ehlo()
        assert code == 250 and "AUTH" not in text, "%s: EHLO before TLS: %r" % (kind, text)
        want = (538, "5.7.11") if kind == "submission" else (503, "5.5.1")
        for cmd in ("AUTH PLAIN " + b64("\0%s\0%s" % (ALICE, ALICE_PW)), "AUTH LOGIN", "AUTH PLAIN"):
            code, text = c.cmd(cmd)
            assert (code, text[:len(want[1])]) == want, \
                "%s: %s before TLS: got %r, want %r" % (kind, cmd.split()[1], (code, text), want)
        if kind == "submission":
            assert "Encryption required" in text, text
            # Still not authenticated: MAIL is refused.
            code, text = c.cmd("MAIL FROM:<%s>" % ALICE)
            assert (code, text[:5]) == (530, "5.7.0"), (code, text)
    assert "auth ok" not in auth_srv.log()


def test_auth_not_on_port_25_by_default(auth_srv):
    with tls_session(auth_srv, "smtp") as c:
        code, text = c.ehlo()
        assert "AUTH" not in text, "AUTH offered on port 25 inside TLS: %r" % text
        code, text = c.auth_plain(ALICE, ALICE_PW)
        assert (code, text[:5]) == (503, "5.5.1"), "AUTH on port 25: got %r" % ((code, text),)


def test_auth_on_port_25_when_enabled(sub_factory):
    t = sub_factory(smtpd_auth_on_smtp="yes")
    t.setup(domains=["example.test"])
    add_account(t, ALICE, ALICE_PW)
    t.start()
    with t.raw_tls("smtp") as c:
        code, text = c.ehlo()
        assert "AUTH" not in text, "AUTH before TLS on port 25: %r" % text
        code, text = c.auth_plain(ALICE, ALICE_PW)
        assert (code, text[:6]) == (538, "5.7.11"), (code, text)
        c.starttls()
        code, text = c.ehlo()
        assert re.search(r"^AUTH PLAIN LOGIN$", text, re.M), text
        assert c.auth_plain(ALICE, ALICE_PW)[0] == 235
        c.expect("MAIL FROM:<%s>" % ALICE, 250)
        c.expect("RCPT TO:<someone@remote.test>", 250)
        c.expect("QUIT", 221)


@pytest.mark.parametrize("kind", ["submission", "submissions"])
def test_mail_before_auth_refused(auth_srv, kind):
    with tls_session(auth_srv, kind) as c:
        for sender in (ALICE, "someone@client.test", ""):
            code, text = c.cmd("MAIL FROM:<%s>" % sender)
            assert (code, text) == (530, "5.7.0 Authentication required"), \
                "%s: MAIL FROM:<%s> before AUTH: got %r" % (kind, sender, (code, text))
        # Every transaction command needs AUTH first (the command table).
        for cmd in ("RCPT TO:<%s>" % ALICE, "DATA"):
            code, text = c.cmd(cmd)
            assert (code, text) == (530, "5.7.0 Authentication required"), \
                "%s: %s before AUTH: got %r" % (kind, cmd, (code, text))


def test_command_preconditions_on_submission(auth_srv):
    """The command table's needs, checked before any command runs: each
    refusal names what is missing, in the same order for every command."""
    with auth_srv.raw_tls("submission") as c:
        c.expect("AUTH PLAIN", 538)                     # needs TLS, before HELO
        c.expect("STARTTLS", 503)                       # needs EHLO
        c.expect("EHLO client.test", 250)
        c.starttls()
        c.expect("STARTTLS", 503)                       # TLS already active
        c.expect("AUTH PLAIN %s" % b64("\0%s\0%s" % (ALICE, ALICE_PW)), 503)  # EHLO again first
        c.expect("EHLO client.test", 250)
        c.expect("AUTH PLAIN %s" % b64("\0%s\0%s" % (ALICE, ALICE_PW)), 235)
        c.expect("AUTH PLAIN %s" % b64("\0%s\0%s" % (ALICE, ALICE_PW)), 503)  # already
        c.expect("RCPT TO:<%s>" % ALICE, 503)           # needs MAIL
        c.expect("MAIL FROM:<%s>" % ALICE, 250)
        c.expect("MAIL FROM:<%s>" % ALICE, 503)         # nested
        c.expect("DATA", 554)                           # no good RCPT yet
        c.expect("QUIT", 221)


# ---- the mechanisms ----

@pytest.mark.parametrize("kind", ["submission", "submissions"])
@pytest.mark.parametrize("how", ["plain-initial", "plain-334", "login"])
def test_auth_mechanisms(auth_srv, kind, how):
    mark = auth_srv.log_mark()
    with tls_session(auth_srv, kind) as c:
        if how == "plain-initial":
            got = c.auth_plain(CAROL, CAROL_PW, initial=True)
        elif how == "plain-334":
            code, text = c.cmd("AUTH PLAIN")
            assert (code, text) == (334, ""), "AUTH PLAIN: want a bare 334, got %r" % ((code, text),)
            got = c.cmd(b64("\0%s\0%s" % (CAROL, CAROL_PW)))
        else:
            code, text = c.cmd("AUTH LOGIN")
            assert (code, text) == (334, "VXNlcm5hbWU6"), (code, text)
            code, text = c.cmd(b64(CAROL))
            assert (code, text) == (334, "UGFzc3dvcmQ6"), (code, text)
            got = c.cmd(b64(CAROL_PW))
        assert got == (235, "2.7.0 Authentication successful"), "%s %s: got %r" % (kind, how, got)
        code, text = c.ehlo()
        assert "AUTH" not in text, "AUTH offered again after success: %r" % text
        code, text = c.auth_plain(CAROL, CAROL_PW)
        assert (code, text[:5]) == (503, "5.5.1"), "second AUTH: got %r" % ((code, text),)
        c.expect("MAIL FROM:<carol@example.test>", 250)
        code, text = c.auth_plain(CAROL, CAROL_PW)
        assert code == 503, "AUTH inside a transaction: got %r" % ((code, text),)
    method = "LOGIN" if how == "login" else "PLAIN"
    auth_srv.wait_log(r"auth ok login=%s method=%s client=\[127\.0\.0\.1\]"
                      % (re.escape(CAROL), method), since=mark)
    assert_no_secret_in_log(auth_srv)


def test_auth_plain_authzid(auth_srv):
    with tls_session(auth_srv) as c:
        # The same identity twice is fine; acting for another is not.
        assert c.auth_plain(CAROL, CAROL_PW, authzid=CAROL)[0] == 235
    mark = auth_srv.log_mark()
    with tls_session(auth_srv) as c:
        got = c.auth_plain(CAROL, CAROL_PW, authzid=ALICE)
        assert got == FAIL_REPLY, "PLAIN for another identity: got %r" % (got,)
    auth_srv.wait_log(r"reason=authzid", since=mark)


def test_smtplib_and_swaks_login(auth_srv):
    with auth_srv.client("submission") as s:
        code, _ = s.login(ALICE, ALICE_PW)
        assert code == 235
    with auth_srv.client("submissions") as s:
        s.login(CAROL, CAROL_PW)
        code, _ = s.mail("carol@example.test")
        assert code == 250
    for kind, tls, mech in (("submission", "--tls", "PLAIN"), ("submission", "--tls", "LOGIN"),
                            ("submissions", "--tlsc", "PLAIN"), ("submissions", "--tlsc", "LOGIN")):
        p = auth_srv.swaks("--to", ALICE, "--from", ALICE, tls, "--auth", mech,
                           "--auth-user", ALICE, "--auth-password", ALICE_PW,
                           "--quit-after", "AUTH", kind=kind)
        assert p.returncode == 0, "swaks %s --auth %s: rc %d\n%s" % (tls, mech, p.returncode, p.stdout)
        assert "235 2.7.0" in p.stdout, p.stdout
        p = auth_srv.swaks("--to", ALICE, "--from", ALICE, tls, "--auth", mech,
                           "--auth-user", ALICE, "--auth-password", "not-" + ALICE_PW,
                           "--quit-after", "AUTH", kind=kind)
        USED_PASSWORDS.add("not-" + ALICE_PW)
        assert p.returncode == 28, "swaks wrong password: rc %d\n%s" % (p.returncode, p.stdout)
        assert "535 5.7.8" in p.stdout, p.stdout


def test_auth_abort(auth_srv):
    with tls_session(auth_srv) as c:
        c.expect("AUTH PLAIN", 334)
        assert c.cmd("*") == (501, "5.7.0 Error: authentication aborted")
        c.expect("AUTH LOGIN", 334)
        c.expect(b64(ALICE), 334)
        assert c.cmd("*")[:1] == (501,)
        c.expect("MAIL FROM:<%s>" % ALICE, 530)
        # The session goes on: a new AUTH works.
        assert c.auth_login(ALICE, ALICE_PW)[0] == 235
        c.expect("MAIL FROM:<%s>" % ALICE, 250)


def test_auth_login_initial_response_and_odd_commands(auth_srv):
    with tls_session(auth_srv) as c:
        assert c.cmd("AUTH CRAM-MD5")[:1] == (504,)
        assert c.cmd("AUTH")[:1] == (501,)
        assert c.cmd("AUTH PLAIN =")[:1] == (501,)
        assert c.cmd("AUTH LOGIN " + b64(CAROL)) == (334, "UGFzc3dvcmQ6")
        assert c.cmd(b64(CAROL_PW))[0] == 235


def test_mail_auth_parameter_accepted(auth_srv):
    """RFC 4954 section 5: a server that offers AUTH takes the AUTH=
    parameter of MAIL FROM (at the least parses and discards it; Exim and
    Postfix as smarthost clients send AUTH=<>).  It changes nothing of
    the sender binding."""
    with tls_session(auth_srv) as c:
        assert c.auth_plain(ALICE, ALICE_PW)[0] == 235
        for param in ("AUTH=<>", "AUTH=alice@example.test", "AUTH=alice+2Btag@example.test"):
            got = c.cmd("MAIL FROM:<%s> %s" % (ALICE, param))
            assert got[0] == 250, "MAIL FROM:<%s> %s: got %r, want 250" % (ALICE, param, got)
            c.expect("RSET", 250)
        got = c.cmd("MAIL FROM:<eve@example.test> AUTH=<>")
        assert got[0] == 553, "AUTH=<> must not lift the binding: got %r" % (got,)


@pytest.mark.parametrize("line", ["!!!notbase64", b64("no-nuls-at-all"), b64("\0\0"),
                                  b64("\0%s\0" % ALICE)])
def test_auth_plain_malformed(auth_srv, line):
    with tls_session(auth_srv) as c:
        c.expect("AUTH PLAIN", 334)
        code, text = c.cmd(line)
        assert code in (501, 535), "malformed PLAIN %r: got %r" % (line, (code, text))
        c.expect("MAIL FROM:<%s>" % ALICE, 530)


# ---- failures: one reply, the truth in the log ----

@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_failures_answer_alike_and_log_the_reason(auth_srv, mech):
    wrong = uniq("wrong-pw-")
    unknown = uniq("nobody") + "@example.test"
    miscased = "Alice@example.test"
    USED_PASSWORDS.add(wrong)
    cases = [
        ("password", ALICE, wrong, None),
        ("unknown", unknown, ALICE_PW, None),
        ("case-mismatch", miscased, ALICE_PW, ALICE),       # right password, wrong case
        ("case-mismatch", miscased, wrong, ALICE),
        ("case-mismatch", "CAROL.LOGIN", CAROL_PW, CAROL),
    ]
    replies = []
    for reason, login, pw, existing in cases:
        mark = auth_srv.log_mark()
        with tls_session(auth_srv) as c:
            got = c.auth_plain(login, pw) if mech == "PLAIN" else c.auth_login(login, pw)
            replies.append(got)
            # Not logged in after all.
            code, text = c.cmd("MAIL FROM:<%s>" % ALICE)
            assert code == 530, "after a failed AUTH: MAIL got %r" % ((code, text),)
        want = r"auth failed login=%s reason=%s" % (re.escape(login), reason)
        if existing:
            want += r" existing=%s" % re.escape(existing)
        want += r" client=\[127\.0\.0\.1\]"
        auth_srv.wait_log(want, since=mark)
    for (reason, login, _, _), got in zip(cases, replies):
        assert got == FAIL_REPLY, "%s %s (%s): got %r, want %r" % (mech, login, reason, got, FAIL_REPLY)
    assert "auth ok login=Alice" not in auth_srv.log()
    assert_no_secret_in_log(auth_srv)


def test_logins_are_exact_smtplib(auth_srv):
    with auth_srv.client("submission") as s:
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login("ALICE@EXAMPLE.TEST", ALICE_PW)
        assert e.value.smtp_code == 535 and e.value.smtp_error == b"5.7.8 Error: authentication failed"
        # The right case still works in the same session.
        assert s.login(ALICE, ALICE_PW)[0] == 235


# ---- the brute-force brake ----

def throttled_attempt(t, login, password, source):
    """One AUTH PLAIN that is expected to be held and refused: (reply,
    seconds it took)."""
    with tls_session(t, source=source) as c:
        start = time.monotonic()
        got = c.auth_plain(login, password)
        took = time.monotonic() - start
        if got[0] == 454:
            c.expect("MAIL FROM:<%s>" % login, 530)
    return got, took


def brake_server(sub_factory, **settings):
    settings.setdefault("auth_fail_delay_max", "2s")
    t = sub_factory(auth_fail_limit=3, auth_fail_window=settings.pop("window", "60s"), **settings)
    t.setup(domains=["example.test"])
    add_account(t, ALICE, ALICE_PW)
    add_account(t, "bob@example.test", "bob-secret-pw-3")
    t.start()
    return t


def fail_once(t, login, password, source):
    with tls_session(t, source=source) as c:
        got = c.auth_plain(login, password)
    assert got == FAIL_REPLY, "failure %s from %s: got %r" % (login, source, got)


@needs_loopback_sources
def test_brake_per_client(sub_factory):
    t = brake_server(sub_factory)
    src = "127.0.0.2"
    # Three failures from one client, each against another login: only
    # the client's count reaches the limit.
    for i in range(3):
        fail_once(t, uniq("guess") + "@example.test", "guess-pw-%d" % i, src)
    mark = t.log_mark()
    got, took = throttled_attempt(t, ALICE, ALICE_PW, src)
    assert got[0] == 454 and got[1].startswith("4.7.0"), \
        "4th attempt from %s, right password: got %r, want 454 4.7.0" % (src, got)
    assert took >= 1.0, "the refusal must be delayed (about 2 s), came after %.2fs" % took
    t.wait_log(r"auth throttled login=%s client=\[%s\] reason=too-many-failures"
               % (re.escape(ALICE), re.escape(src)), since=mark)
    assert "auth ok" not in t.log()[mark:]
    # Another client is not held: alice has no failures of her own.
    with tls_session(t, source="127.0.0.3") as c:
        assert c.auth_plain(ALICE, ALICE_PW)[0] == 235
    assert_no_secret_in_log(t, ALICE_PW)


@needs_loopback_sources
def test_brake_per_login(sub_factory):
    t = brake_server(sub_factory)
    # Three failures against bob, each from another client (and one in
    # another case: the brake counts the login folded).
    fail_once(t, "bob@example.test", "wrong-bob-1", "127.0.0.4")
    fail_once(t, "bob@example.test", "wrong-bob-2", "127.0.0.5")
    fail_once(t, "Bob@example.test", "bob-secret-pw-3", "127.0.0.6")
    mark = t.log_mark()
    got, took = throttled_attempt(t, "bob@example.test", "bob-secret-pw-3", "127.0.0.7")
    assert got[0] == 454 and got[1].startswith("4.7.0"), \
        "bob from a fresh client after 3 failures: got %r, want 454" % (got,)
    t.wait_log(r"auth throttled login=bob@example\.test client=\[127\.0\.0\.7\] reason=too-many-failures",
               since=mark)
    # The same fresh client may still log in as someone else.
    with tls_session(t, source="127.0.0.7") as c:
        assert c.auth_plain(ALICE, ALICE_PW)[0] == 235


@needs_loopback_sources
def test_brake_exact_limit_and_window(sub_factory):
    t = brake_server(sub_factory, window="3s")
    src = "127.0.0.8"
    with tls_session(t, source=src) as c:
        for i in range(3):
            got = c.auth_plain(ALICE, "wrong-%d" % i)
            assert got == FAIL_REPLY, "failure %d (limit 3): got %r" % (i + 1, got)
    fail_end = time.time()
    got, _ = throttled_attempt(t, ALICE, ALICE_PW, src)
    assert got[0] == 454, "past the limit: got %r" % (got,)
    # The window (3s, counted in whole seconds from the first failure)
    # has passed at the latest 3 s after the second of the last failure.
    time.sleep(max(0.0, int(fail_end) + 3.2 - time.time()))
    with tls_session(t, source=src) as c:
        got = c.auth_plain(ALICE, ALICE_PW)
    assert got[0] == 235, "after the window: got %r" % (got,)


# ---- hashing off the session loop ----

def test_slow_hash_does_not_block_other_sessions(auth_srv):
    slow_pw = "slow-bcrypt-pw-1"
    USED_PASSWORDS.add(slow_pw)
    addr = uniq("slow") + "@example.test"
    auth_srv.cli("user", "add", addr, "--password-hash", make_hash(slow_pw, "$2b$", 13))
    with tls_session(auth_srv) as a, tls_session(auth_srv, "smtp") as b:
        a.send("AUTH PLAIN %s\r\n" % b64("\0%s\0%s" % (addr, slow_pw)))
        # While lookup hashes, smtpd still answers others at once.
        b.expect("NOOP", 250)
        b.expect("EHLO client.test", 250)
        pending = a.buf or a.sock.pending() or select.select([a.sock], [], [], 0)[0]
        got = a.reply()
    assert got[0] == 235, got
    assert not pending, "the other session was answered only after the bcrypt check: " \
        "hashing ran on the session loop?"


# ---- logins and passwords: the rules ----

@pytest.fixture
def cli_t(sub_factory):
    t = sub_factory()
    t.setup(domains=["example.test"])
    return t


@pytest.mark.parametrize("args,password,rule", [
    (["Upper@example.test"], "long-enough-pw", r"login 'Upper@example\.test' does not match login_pattern"),
    (["u1@example.test", "--login", "has space"], "long-enough-pw", r"does not match login_pattern"),
    (["u2@example.test", "--login", "Mixed.Case"], "long-enough-pw", r"does not match login_pattern"),
    (["u3@example.test", "--login", "semi;colon"], "long-enough-pw", r"does not match login_pattern"),
    (["u4@example.test"], "short-pw1", r"password too short: at least 10 characters \(password_min_length\)"),
    (["u5@example.test"], "u5@example.test", r"password must differ from the login"),
    (["u6@example.test", "--login", "sixth.login"], "SIXTH.LOGIN", r"password must differ from the login"),
])
def test_user_add_rules(cli_t, args, password, rule):
    r = cli_t.cli("user", "add", *args, "--password-stdin", input=password + "\n", expect=1)
    assert re.search(rule, r.err), "want /%s/ in %r" % (rule, r.err)
    assert r.err.count("\n") == 1, "one line: %r" % r.err
    assert password not in r.err or password in args, "the password is echoed: %r" % r.err
    assert args[0] not in cli_t.cli("user", "list").out, "a refused account was created"


def test_user_passwd_rules(cli_t):
    add_account(cli_t, "pw@example.test", "first-good-pw")
    r = cli_t.cli("user", "passwd", "pw@example.test", "--password-stdin", input="tooshort\n", expect=1)
    assert "password too short" in r.err, r.err
    r = cli_t.cli("user", "passwd", "pw@example.test", "--password-stdin",
                  input="PW@example.test\n", expect=1)
    assert "differ from the login" in r.err, r.err
    cli_t.cli("user", "passwd", "pw@example.test", "--password-stdin", input="second-good-pw\n")


def test_configured_rules(sub_factory):
    t = sub_factory(login_pattern="^[a-z]+$", password_min_length=20)
    t.setup(domains=["example.test"])
    r = t.cli("user", "add", "dave@example.test", "--password-stdin",
              input="twenty-characters-pw\n", expect=1)
    assert "does not match login_pattern ^[a-z]+$" in r.err, r.err
    r = t.cli("user", "add", "dave@example.test", "--login", "dave", "--password-stdin",
              input="nineteen-chars-pw!\n", expect=1)
    assert "at least 20 characters" in r.err, r.err
    t.cli("user", "add", "dave@example.test", "--login", "dave", "--password-stdin",
          input="twenty-characters-pw\n")


# ---- imported hashes ----

HASHES = [
    ("$y$", "", 0), ("$6$", "", 0), ("$5$", "", 0), ("$2b$", "", 5), ("$2y$", "", 5),
    ("$6$", "{SHA512-CRYPT}", 0), ("$5$", "{SHA256-CRYPT}", 0), ("$2y$", "{BLF-CRYPT}", 5),
    ("$2b$", "{BLF-CRYPT}", 5), ("$y$", "{YESCRYPT}", 0), ("$6$", "{CRYPT}", 0),
    ("$2y$", "{CRYPT}", 5), ("$y$", "{crypt}", 0),
]


@pytest.mark.parametrize("scheme,prefix,cost", HASHES,
                         ids=["%s%s" % (p, s.strip("$")) for s, p, cost in HASHES])
def test_password_hash_import_then_login(auth_srv, scheme, prefix, cost):
    pw = uniq("imported-pw-")
    USED_PASSWORDS.add(pw)
    addr = uniq("imp") + "@example.test"
    hashed = prefix + make_hash(pw, scheme, cost)
    auth_srv.cli("user", "add", addr, "--password-hash", hashed)
    with tls_session(auth_srv) as c:
        assert c.auth_plain(addr, "x" + pw) == FAIL_REPLY
    with tls_session(auth_srv, "submissions") as c:
        got = c.auth_login(addr, pw)
        assert got[0] == 235, "login with a %s%s hash: got %r" % (prefix, scheme, got)
        c.expect("MAIL FROM:<%s>" % addr, 250)


def test_password_hash_import_with_passwd(auth_srv):
    addr = uniq("re") + "@example.test"
    add_account(auth_srv, addr, "before-import-pw")
    auth_srv.cli("user", "passwd", addr, "--password-hash", "{SHA512-CRYPT}" + make_hash("after-import-pw", "$6$"))
    USED_PASSWORDS.update({"before-import-pw", "after-import-pw"})
    with tls_session(auth_srv) as c:
        assert c.auth_plain(addr, "before-import-pw") == FAIL_REPLY
    with tls_session(auth_srv) as c:
        assert c.auth_plain(addr, "after-import-pw")[0] == 235


GOOD_6 = make_hash("some-password-x", "$6$")
GOOD_2B = make_hash("some-password-x", "$2b$", 5)


@pytest.mark.parametrize("given,want", [
    ("$1$abcdefgh$abcdefghijklmnopqrstuv", r"unknown hash scheme '\$1\$'"),
    (GOOD_2B.replace("$2b$", "$2a$"), r"\$2a\$ bcrypt hashes are refused"),
    ("{MD5}" + GOOD_6, r"unknown hash scheme '\{MD5\}'"),
    ("{PLAIN}secretsecret", r"unknown hash scheme '\{PLAIN\}'"),
    ("{SHA512-CRYPT}" + GOOD_2B, r"\{SHA512-CRYPT\} does not match a \$2b\$ hash"),
    ("{BLF-CRYPT}" + GOOD_6, r"\{BLF-CRYPT\} does not match a \$6\$ hash"),
    (GOOD_6[:-5], r"malformed \$6\$ hash"),
    (GOOD_6[:-1] + "!", r"malformed \$6\$ hash"),
    (GOOD_2B[:-3], r"malformed \$2b\$ hash"),
    ("$2b$31$" + GOOD_2B[7:], r"cost 31"),
    ("$y$j9T$", r"malformed \$y\$ hash"),
    ("$6$rounds=99999999$abcdefgh$" + GOOD_6.rsplit("$", 1)[1], r"rounds="),
    ("MyPlainTextPassword", r"not a crypt\(3\) hash"),
    ("{SHA512-CRYPT", r"unclosed"),
])
def test_password_hash_import_refused(auth_srv, given, want):
    addr = uniq("bad") + "@example.test"
    r = auth_srv.cli("user", "add", addr, "--password-hash", given, expect=1)
    assert re.search(want, r.err), "hash %r: want /%s/ in %r" % (given, want, r.err)
    if given == "MyPlainTextPassword":
        assert given not in r.err, "a password given for its hash is echoed: %r" % r.err
    assert addr not in auth_srv.cli("user", "list").out, "refused import created the account"


def test_zz_no_password_in_log(auth_srv):
    """Last in the module: no password used above is in the server's log."""
    assert_no_secret_in_log(auth_srv)
