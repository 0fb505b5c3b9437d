"""
Issue 8, point 8: one password length limit everywhere (256 bytes, the
same for tern user add, for AUTH and for the password check): an
imported hash of a password up to that limit logs in; a longer password
in AUTH is refused with 501 5.5.2, never cut to a prefix that might
match, and never checked.
"""
import re

import pytest

from ternlib import add_account, b64, make_hash, module_server, uniq

PASSWORD_MAX = 256
TOO_LONG = (501, "5.5.2 Error: password longer than %d bytes" % PASSWORD_MAX)


def prepare(t):
    t.setup(domains=["example.test"])


@pytest.fixture(scope="module")
def srv(request):
    yield from module_server(request, {"auth_fail_limit": 100000, "auth_fail_delay": "0s"}, prepare)


def long_password(n):
    # Printable, varied, and no prefix of one another's.
    base = uniq("pw-") + "-"
    return (base * (n // len(base) + 1))[:n]


def tls_session(t, kind="submission"):
    c = t.raw_tls(kind)
    if kind != "submissions":
        c.expect("EHLO client.test", 250)
        c.starttls()
    c.expect("EHLO client.test", 250)
    return c


@pytest.mark.parametrize("scheme,cost", [("$y$", 0), ("$6$", 0), ("$2b$", 5)])
def test_imported_hash_of_longest_password_logs_in(srv, scheme, cost):
    pw = long_password(PASSWORD_MAX)
    addr = uniq("imp") + "@example.test"
    srv.cli("user", "add", addr, "--password-hash", make_hash(pw, scheme, cost))
    with tls_session(srv) as c:
        got = c.auth_plain(addr, pw)
        assert got[0] == 235, "%s hash of a %d-byte password, AUTH PLAIN: got %r" % (scheme, len(pw), got)
    with tls_session(srv, "submissions") as c:
        got = c.auth_login(addr, pw)
        assert got[0] == 235, "%s hash of a %d-byte password, AUTH LOGIN: got %r" % (scheme, len(pw), got)


def test_user_add_takes_the_same_limit(srv):
    addr = uniq("cli") + "@example.test"
    pw = long_password(PASSWORD_MAX)
    add_account(srv, addr, pw)
    with tls_session(srv) as c:
        assert c.auth_plain(addr, pw)[0] == 235
    r = srv.cli("user", "add", uniq("cli") + "@example.test", "--password-stdin",
                input=long_password(PASSWORD_MAX + 1) + "\n", expect=1)
    assert "1 to %d bytes" % PASSWORD_MAX in r.err, r.err


@pytest.mark.parametrize("how", ["plain-initial", "plain-334", "login"])
def test_longer_password_refused_not_cut(srv, how):
    """The account's password is the first 256 bytes of what is sent: a
    server that cut the password would let it in."""
    pw = long_password(PASSWORD_MAX)
    sent = pw + "x"
    addr = uniq("long") + "@example.test"
    add_account(srv, addr, pw)
    mark = srv.log_mark()
    with tls_session(srv) as c:
        if how == "plain-initial":
            got = c.auth_plain(addr, sent)
        elif how == "plain-334":
            got = c.auth_plain(addr, sent, initial=False)
        else:
            got = c.auth_login(addr, sent)
        assert got == TOO_LONG, "%s with %d bytes: got %r, want %r" % (how, len(sent), got, TOO_LONG)
        c.expect("MAIL FROM:<%s>" % addr, 530)
        # The session goes on; the right password works.
        assert c.auth_plain(addr, pw)[0] == 235
    srv.wait_log(r"auth refused login=%s client=\[127\.0\.0\.1\] reason=password-too-long"
                 % re.escape(addr), since=mark)
    log = srv.log()[mark:]
    assert "auth failed login=%s" % addr not in log, "a too-long password was checked:\n" + log
    assert pw[:40] not in log and b64(sent)[:40] not in log, "the password is in the log"
    assert not [r for r in srv.audit() if r["login"] == addr], "a refused AUTH was counted as a failure"
