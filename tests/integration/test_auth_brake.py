"""
Issue 8, point 3: a brute-force brake that does not lock out the
postmaster's users.  A retry of the same failed login and password counts
once; failures slow an address down before they refuse it; a client that
has logged in to a login before (remembered in tern.db) is never refused
for other addresses' failures against it; every failure is still logged
with its reason and counted for `tern audit`, which marks the clients
slowed or refused; and every failure answers the same 535 5.7.8.
"""
import re
import time

import pytest

from ternlib import (add_account, b64, instance_factory, needs_loopback_sources, uniq,
                     wait_until)

ALICE, ALICE_PW = "alice@example.test", "alice-secret-pw-1"
BOB, BOB_PW = "bob@example.test", "bob-secret-pw-2"
FAIL_REPLY = (535, "5.7.8 Error: authentication failed")

pytestmark = needs_loopback_sources


@pytest.fixture
def sub_factory(request):
    yield from instance_factory(request)


def brake_server(sub_factory, **settings):
    t = sub_factory(**settings)
    t.setup(domains=["example.test"])
    add_account(t, ALICE, ALICE_PW)
    add_account(t, BOB, BOB_PW)
    t.start()
    return t


def tls_session(t, source, kind="submission"):
    c = t.raw_tls(kind, source=source)
    c.expect("EHLO client.test", 250)
    c.starttls()
    c.expect("EHLO client.test", 250)
    return c


def attempt(t, login, password, source):
    """One AUTH PLAIN in a fresh session: (reply, seconds it took)."""
    with tls_session(t, source) as c:
        start = time.monotonic()
        got = c.auth_plain(login, password)
        took = time.monotonic() - start
        if got[0] != 235:
            # Not logged in, whatever the reply.
            c.expect("MAIL FROM:<%s>" % ALICE, 530)
    return got, took


def no_brake_since(t, mark, login, source):
    log = t.log()[mark:]
    for what in ("slowed", "throttled"):
        assert not re.search(r"auth %s login=%s client=\[%s\]" % (what, re.escape(login), re.escape(source)),
                             log), "%s was %s:\n%s" % (login, what, log)


def test_nat_stale_client_does_not_lock_out_colleagues(sub_factory):
    """Switch-over night: one company behind one NAT address, one mail
    client retrying a miscased login, with the right password, again
    and again.  The retries count once: a colleague logs in at once."""
    t = brake_server(sub_factory)       # the defaults: limit 5, window 10m
    nat = "127.0.0.20"
    miscased = "Alice@example.test"
    mark = t.log_mark()
    for i in range(50):
        got, _ = attempt(t, miscased, ALICE_PW, nat)
        assert got == FAIL_REPLY, "retry %d of the miscased login: got %r, want %r" % (i + 1, got, FAIL_REPLY)
    # Every retry is still in the log with its reason, and counted.
    want = (r"auth failed login=%s reason=case-mismatch existing=%s client=\[%s\]"
            % (re.escape(miscased), re.escape(ALICE), re.escape(nat)))
    rx = re.compile(want + r"( repeat=yes)? proto=smtp\n")
    wait_until(lambda: len(rx.findall(t.log()[mark:])) >= 50, 10)
    lines = rx.findall(t.log()[mark:])
    assert len(lines) == 50, "%d failure lines, want 50" % len(lines)
    assert sum(1 for r in lines if r) == 49, "all but the first are marked repeat=yes: %r" % lines
    rows = [r for r in t.audit() if r["login"] == miscased and r["kind"] == "case-mismatch"]
    assert [r["count"] for r in rows] == [50], rows
    # The colleague, first login ever from there: in at once.
    mark = t.log_mark()
    got, _ = attempt(t, BOB, BOB_PW, nat)
    assert got == (235, "2.7.0 Authentication successful"), "colleague behind the NAT: got %r" % (got,)
    no_brake_since(t, mark, BOB, nat)
    # And alice, once her client is fixed.
    got, _ = attempt(t, ALICE, ALICE_PW, nat)
    assert got[0] == 235, "alice with the right case: got %r" % (got,)
    kinds = {r["kind"] for r in t.audit() if r["client_ip"] == nat}
    assert not kinds & {"auth-slowed", "auth-refused"}, kinds


def test_others_failures_do_not_stop_alice_from_her_known_address(sub_factory):
    t = brake_server(sub_factory, auth_fail_delay_max="2s")
    home = "127.0.0.30"
    got, _ = attempt(t, ALICE, ALICE_PW, home)
    assert got[0] == 235, got
    # Known clients live in tern.db: a restart keeps them.
    t.stop()
    t.start()
    # Anyone fails five times against alice's login, from five addresses.
    for i in range(5):
        got, _ = attempt(t, ALICE, uniq("guess-"), "127.0.0.%d" % (31 + i))
        assert got == FAIL_REPLY, "failure %d: got %r" % (i + 1, got)
    mark = t.log_mark()
    got, _ = attempt(t, ALICE, ALICE_PW, home)
    assert got == (235, "2.7.0 Authentication successful"), \
        "alice from her known address after others' failures: got %r" % (got,)
    no_brake_since(t, mark, ALICE, home)
    # From an address she never used, the login is still refused.
    got, took = attempt(t, ALICE, ALICE_PW, "127.0.0.36")
    assert got[0] == 454 and got[1].startswith("4.7.0"), \
        "alice from a new address after 5 failures against her: got %r, want 454" % (got,)
    assert took >= 1.5, "the refusal waits auth_fail_delay_max (2s): came after %.2fs" % took
    t.wait_log(r"auth throttled login=%s client=\[127\.0\.0\.36\] reason=too-many-failures"
               % re.escape(ALICE), since=mark)


def test_known_address_forgotten_after_ttl(sub_factory):
    t = brake_server(sub_factory, auth_fail_delay="0s", auth_fail_delay_max="1s",
                     auth_known_client_ttl="2s")
    home = "127.0.0.40"
    assert attempt(t, ALICE, ALICE_PW, home)[0][0] == 235
    time.sleep(3)
    for i in range(5):
        assert attempt(t, ALICE, uniq("guess-"), "127.0.0.%d" % (41 + i))[0] == FAIL_REPLY
    got, _ = attempt(t, ALICE, ALICE_PW, home)
    assert got[0] == 454, "known for 2s only, 3s ago: got %r, want 454" % (got,)


def test_new_password_forgets_known_addresses(sub_factory):
    """After a break-in the postmaster sets a new password: the addresses
    that logged in with the old one are known no more."""
    t = brake_server(sub_factory, auth_fail_delay="0s", auth_fail_delay_max="1s")
    intruder = "127.0.0.50"
    assert attempt(t, ALICE, ALICE_PW, intruder)[0][0] == 235
    new_pw = "alice-new-secret-pw-9"
    t.cli("user", "passwd", ALICE, "--password-stdin", input=new_pw + "\n")
    for i in range(5):
        assert attempt(t, ALICE, uniq("guess-"), "127.0.0.%d" % (51 + i))[0] == FAIL_REPLY
    got, _ = attempt(t, ALICE, new_pw, intruder)
    assert got[0] == 454, "known before the new password: got %r, want 454" % (got,)


def test_guessing_run_is_slowed_then_refused(sub_factory):
    """Many distinct passwords from one address: each answer waits longer
    (1s, 2s, then the 3s cap), then the address is refused, even with the
    right password.  Unknown login, wrong password and wrong case all
    answer alike."""
    t = brake_server(sub_factory, auth_fail_delay="1s", auth_fail_delay_max="3s")
    src = "127.0.0.50"
    guesses = [
        (ALICE, uniq("guess-")),                # wrong password
        ("ghost@example.test", ALICE_PW),       # unknown login
        ("Alice@example.test", ALICE_PW),       # wrong case, right password
        ("ALICE@example.test", uniq("guess-")),  # wrong case and password
        (ALICE, uniq("guess-")),
    ]
    min_wait = [0, 0, 1, 2, 3]
    mark = t.log_mark()
    for (login, pw), wait in zip(guesses, min_wait):
        got, took = attempt(t, login, pw, src)
        assert got == FAIL_REPLY, "guess %s: got %r, want %r" % (login, got, FAIL_REPLY)
        assert took >= wait * 0.9, "guess %s: answered after %.2fs, want at least %ds" % (login, took, wait)
        if wait:
            t.wait_log(r"auth slowed login=%s client=\[%s\] delay=%dms reason=earlier-failures"
                       % (re.escape(login), src, wait * 1000), since=mark)
    for reason in ("password", "unknown", "case-mismatch"):
        t.wait_log(r"auth failed login=\S+ reason=%s" % reason, since=mark)
    got, took = attempt(t, ALICE, ALICE_PW, src)
    assert got == (454, "4.7.0 Error: too many failed logins, try again later"), \
        "right password after 5 guesses from one address: got %r" % (got,)
    assert took >= 2.7, "the refusal waits the cap (3s): came after %.2fs" % took
    t.wait_log(r"auth throttled login=%s client=\[%s\] reason=too-many-failures" % (re.escape(ALICE), src),
               since=mark)
    # Refused again: logged again, but written to tern.db once a window
    # (a refused attempt costs the client nothing; it must not cost a
    # synced write either).
    assert attempt(t, ALICE, uniq("guess-"), src)[0][0] == 454
    rx = re.compile(r"auth throttled login=%s client=\[%s\]" % (re.escape(ALICE), src))
    assert wait_until(lambda: len(rx.findall(t.log()[mark:])) == 2, 10), t.log_tail()
    # tern audit marks the client slowed and refused.
    rows = [r for r in t.audit() if r["client_ip"] == src]
    assert sum(r["count"] for r in rows if r["kind"] == "auth-refused") == 1, rows
    kinds = {(r["login"], r["kind"]) for r in rows}
    assert (ALICE, "auth-refused") in kinds and ("Alice@example.test", "auth-slowed") in kinds, kinds
    out = t.cli("audit").out
    assert re.search(r"^%s from %s: \d+ events \(slowed, refused\)$" % (re.escape(ALICE), src), out, re.M), out
    assert re.search(r"^\s+1\s+auth-refused\s", out, re.M), out
    # Another address, another login: untouched.
    mark = t.log_mark()
    assert attempt(t, BOB, BOB_PW, "127.0.0.51")[0][0] == 235
    no_brake_since(t, mark, BOB, "127.0.0.51")


def test_guesses_sent_side_by_side_are_refused_past_the_limit(sub_factory):
    """Ten guesses sent at once on ten connections all pass the check on
    arrival; the brake looks again when each has been checked, so no more
    than auth_fail_limit of them get a real answer."""
    t = brake_server(sub_factory, auth_fail_delay="0s", auth_fail_delay_max="1s")
    src = "127.0.0.60"
    conns = [tls_session(t, src) for _ in range(10)]
    try:
        for c in conns:
            c.send("AUTH PLAIN %s\r\n" % b64("\0%s\0%s" % (ALICE, uniq("guess-"))))
        replies = [c.reply() for c in conns]
    finally:
        for c in conns:
            c.close()
    answered = [r for r in replies if r[0] == 535]
    assert all(r in (FAIL_REPLY, (454, "4.7.0 Error: too many failed logins, try again later"))
               for r in replies), replies
    assert len(answered) <= 5, "%d of 10 parallel guesses got a real answer, at most 5 may: %r" % (
        len(answered), replies)
