"""
Issue 4, points 8 to 13: an authenticated session sends only as its
account's addresses and grants (envelope MAIL FROM, header From and
Sender), grants with tern sender allow|revoke|list, tern user del revokes
at once, relaying only when authenticated, local senders on port 25 must
authenticate, and the Received header (RFC 3848 keywords, TLS version and
cipher, never the login or the password).
"""
import contextlib
import re
import ssl

import pytest

from ternlib import (add_account, assert_nothing_but_marker, b64, client_tls_context,
                     header, header_lines, instance_factory, make_msg,
                     module_server, new_user, queue_id, uniq, wait_until)

ALICE, ALICE_PW = "alice@example.test", "alice-sender-pw-1"
EVE, EVE_PW = "eve@example.test", "eve-sender-pw-2"
# A company server: one account sending for its whole domain.
COMPANY, COMPANY_PW = "company.relay", "company-sender-pw-3"
# An account whose login is not its address, for the Received header.
CAROL, CAROL_PW = "carol.secret.login", "carol-sender-pw-4"

SINK = "sink@example.test"


def prepare(t):
    t.setup(domains=["example.test", "other.test", "company.test"])
    add_account(t, ALICE, ALICE_PW)
    add_account(t, EVE, EVE_PW)
    add_account(t, "server@company.test", COMPANY_PW, login=COMPANY)
    add_account(t, "carol@example.test", CAROL_PW, login=CAROL)
    t.cli("user", "add", SINK)
    t.cli("address", "add", "alias-alice@example.test", ALICE)
    t.cli("sender", "allow", ALICE, "shared@other.test")
    t.cli("sender", "allow", COMPANY, "*@company.test")


@pytest.fixture(scope="module")
def bsrv(request):
    yield from module_server(request, {"auth_fail_limit": 100000, "auth_fail_delay": "0s"},
                             prepare)


@pytest.fixture
def sub_factory(request):
    yield from instance_factory(request)


PASSWORDS = {ALICE: ALICE_PW, EVE: EVE_PW, COMPANY: COMPANY_PW, CAROL: CAROL_PW}


@contextlib.contextmanager
def authed(t, login, password=None, kind="submission"):
    s = t.client(kind, login=login, password=password or PASSWORDS[login])
    try:
        yield s
    finally:
        s.close()


def try_mail(t, login, sender, kind="submission"):
    with authed(t, login, kind=kind) as s:
        return s.mail(sender)


def try_message(t, login, env_from, headers, rcpt, subject=None):
    """An authenticated message with the header fields given (a list of
    "Name: value"); returns the reply to DATA (or to MAIL/RCPT when those
    fail)."""
    subject = subject or uniq("bind")
    text = "".join(h + "\r\n" for h in headers)
    text += "To: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@client.test>\r\n\r\nbody\r\n" % (
        rcpt, subject, uniq("id"))
    with authed(t, login) as s:
        code, msg = s.mail(env_from)
        if code != 250:
            return code, msg
        code, msg = s.rcpt(rcpt)
        if code != 250:
            return code, msg
        return s.data(text.encode())


# ---- the spoofing matrix ----

ENVELOPE = [
    # (login, MAIL FROM, allowed?, what)
    (ALICE, ALICE, True, "owned"),
    (ALICE, "ALICE@EXAMPLE.TEST", True, "owned, other case"),
    (ALICE, "Alice@Example.Test", True, "owned, mixed case"),
    # Issue 8, point 18: quotes nothing needs make the same address.
    (ALICE, '"alice"@example.test', True, "owned, quoted local part"),
    (ALICE, '"\\alice"@Example.Test', True, "owned, quoted-pair local part"),
    (ALICE, "alias-alice@example.test", True, "added address"),
    (ALICE, "Alias-Alice@EXAMPLE.test", True, "added address, other case"),
    (ALICE, "shared@other.test", True, "granted address"),
    (ALICE, "SHARED@other.TEST", True, "granted address, other case"),
    (COMPANY, "server@company.test", True, "company: owned"),
    (COMPANY, "anyone@company.test", True, "company: granted domain"),
    (COMPANY, "Someone.Else@COMPANY.TEST", True, "company: granted domain, other case"),
    (ALICE, EVE, False, "another account's address"),
    (ALICE, "EVE@example.test", False, "another account's address, other case"),
    (EVE, "shared@other.test", False, "a grant of another account"),
    (EVE, "alias-alice@example.test", False, "an added address of another account"),
    (ALICE, "anyone@company.test", False, "a domain granted to another account"),
    (COMPANY, "x@sub.company.test", False, "company: subdomain of the granted domain"),
    (COMPANY, "company@example.test", False, "company: outside its domain"),
    (ALICE, "nobody-here@example.test", False, "unknown address in a local domain"),
    (ALICE, "someone@remote.test", False, "remote address"),
    (ALICE, "", False, "null sender"),
]


@pytest.mark.parametrize("login,sender,allowed,what", ENVELOPE,
                         ids=[c[3].replace(" ", "-") for c in ENVELOPE])
def test_envelope_sender(bsrv, login, sender, allowed, what):
    mark = bsrv.log_mark()
    code, text = try_mail(bsrv, login, sender)
    if allowed:
        assert code == 250, "%s: %s as <%s>: got %d %r, want 250" % (what, login, sender, code, text)
        return
    assert code == 553 and text.startswith(b"5.7.1"), \
        "%s: %s as <%s>: got %d %r, want 553 5.7.1" % (what, login, sender, code, text)
    bsrv.wait_log(r"reject MAIL: sender outside binding login=%s from=<%s> client=\[127\.0\.0\.1\] action=refused"
                  % (re.escape(login), re.escape(sender)), since=mark)


HEADERS = [
    # (login, header fields, allowed?, refused address, what)
    (ALICE, ["From: <%s>" % ALICE], True, None, "owned"),
    (ALICE, ["From: Alice <ALICE@example.TEST>"], True, None, "owned, other case, display name"),
    (ALICE, ["From: alias-alice@example.test (Alice)"], True, None, "added address, comment"),
    (ALICE, ["From: \"Shared Box\" <shared@other.test>"], True, None, "granted address"),
    (ALICE, ["From: <%s>, <alias-alice@example.test>" % ALICE, "Sender: <%s>" % ALICE],
     True, None, "several From owned, Sender owned"),
    (COMPANY, ["From: Billing <billing@company.test>"], True, None, "company: granted domain"),
    (ALICE, ['From: Alice <"alice"@example.test>'], True, None, "owned, quoted local part"),
    (ALICE, ['From: <"eve"@example.test>'], False, EVE, "another account's, quoted local part"),
    (ALICE, ["From: Eve <%s>" % EVE], False, EVE, "another account's address"),
    (ALICE, ["From: =?utf-8?q?Alice?= <EVE@EXAMPLE.TEST>"], False, "EVE@EXAMPLE.TEST",
     "another account's address, other case"),
    (ALICE, ["From: <%s>, <%s>" % (ALICE, EVE)], False, EVE, "several From, one not owned"),
    (ALICE, ["From: Team: <%s>, <%s>;" % (ALICE, EVE)], False, EVE, "group with one not owned"),
    (ALICE, ["From: <%s>" % ALICE, "Sender: <%s>" % EVE], False, EVE, "owned From, Sender not owned"),
    (ALICE, ["From: <%s>" % EVE, "Sender: <%s>" % ALICE], False, EVE, "Sender owned, From not owned"),
    (ALICE, ["From: <someone@remote.test>"], False, "someone@remote.test", "remote address"),
    (COMPANY, ["From: <x@sub.company.test>"], False, "x@sub.company.test", "company: subdomain"),
    # Spoofing tricks: the owned address where a reader may see it, the
    # real one elsewhere.
    (ALICE, ["From: \"%s\" <%s>" % (ALICE, EVE)], False, EVE, "owned address as display name"),
    (ALICE, ["From: =?utf-8?q?alice=40example=2Etest?= <%s>" % EVE], False, EVE,
     "owned address as encoded display name"),
    (ALICE, ["From: %s (%s)" % (EVE, ALICE)], False, EVE, "owned address in a comment"),
    (ALICE, ["From: <%s>,\r\n <%s>" % (ALICE, EVE)], False, EVE, "not owned on a folded line"),
    (ALICE, ["FROM: <%s>" % EVE], False, EVE, "field name in capitals"),
    (ALICE, ["From : <%s>" % EVE], False, EVE, "space before the colon"),
    (ALICE, ["X-Junk a line without a colon", "From: <%s>" % EVE], False, EVE, "after a line without colon"),
    (ALICE, ["From: <@%s:%s>" % ("alice.example.test", EVE)], False, EVE, "source route"),
    (ALICE, ["From: <%s>" % ALICE, "sender:<%s>" % EVE], False, EVE, "sender lower case, no space"),
    # Issue 8, point 17: a display name that is a foreign address, plain
    # or RFC 2047-encoded, and the Resent- fields.
    (ALICE, ["From: \"%s\" <%s>" % (EVE, ALICE)], False, EVE, "foreign address as display name"),
    (ALICE, ["From: \"Eve <%s>\" <%s>" % (EVE, ALICE)], False, EVE,
     "foreign name-addr as display name"),
    (ALICE, ["From: =?utf-8?B?ZXZlQGV4YW1wbGUudGVzdA==?= <%s>" % ALICE], False, EVE,
     "foreign address as B-encoded display name"),
    (ALICE, ["From: =?UTF-8?Q?eve=40example=2Etest?= <%s>" % ALICE], False, EVE,
     "foreign address as Q-encoded display name"),
    (ALICE, ["From: %s (%s)" % (ALICE, EVE)], False, EVE, "foreign address in a comment"),
    (ALICE, ["From: <%s>" % ALICE, "Sender: \"%s\" <%s>" % (EVE, ALICE)], False, EVE,
     "foreign address as Sender display name"),
    (ALICE, ["From: \"%s\" <%s>" % (ALICE, ALICE)], True, None, "own address as display name"),
    (ALICE, ["From: \"Alice (alias-alice@example.test)\" <%s>" % ALICE], True, None,
     "own added address in the display name"),
    (ALICE, ["From: <%s>" % ALICE, "Resent-From: <%s>" % EVE], False, EVE, "Resent-From not owned"),
    (ALICE, ["From: <%s>" % ALICE, "Resent-Sender: <%s>" % EVE], False, EVE, "Resent-Sender not owned"),
    (ALICE, ["From: <%s>" % ALICE, "Resent-From: \"%s\" <%s>" % (EVE, ALICE)], False, EVE,
     "Resent-From display name not owned"),
    (ALICE, ["From: <%s>" % ALICE, "Resent-From: <%s>" % ALICE,
             "Resent-Sender: <alias-alice@example.test>"], True, None, "Resent-From and -Sender owned"),
    (ALICE, ["Resent-From: <%s>" % EVE], False, EVE, "Resent-From not owned, no From"),
]


@pytest.mark.parametrize("login,headers,allowed,refused,what", HEADERS,
                         ids=[c[4].replace(" ", "-").replace(",", "") for c in HEADERS])
def test_header_sender(bsrv, login, headers, allowed, refused, what):
    rcpt = new_user(bsrv, prefix="hdr")
    env_from = ALICE if login == ALICE else "server@company.test"
    mark = bsrv.log_mark()
    subject = uniq("hdr")
    code, text = try_message(bsrv, login, env_from, headers, rcpt, subject)
    if allowed:
        assert code == 250, "%s: %r: got %d %r, want 250" % (what, headers, code, text)
        msgs = bsrv.wait_count(rcpt, 1)
        assert header(msgs[0], "Subject") == subject
        return
    assert code == 550 and text.startswith(b"5.7.1"), \
        "%s: %r: got %d %r, want 550 5.7.1 at the end of DATA" % (what, headers, code, text)
    assert refused.lower().encode() in text.lower(), "the refusal should name <%s>: %r" % (refused, text)
    # (?i): the address is logged as parsed, its domain folded.
    bsrv.wait_log(r"(?i)reject DATA: header sender outside binding login=%s address=<%s> "
                  r"client=\[127\.0\.0\.1\] action=refused" % (re.escape(login), re.escape(refused)),
                  since=mark)
    assert "status=queued" not in bsrv.log()[mark:], \
        "a refused message was queued\n%s" % bsrv.log_tail()
    assert_nothing_but_marker(bsrv, rcpt)


@pytest.mark.parametrize("headers", [
    ["From: <%s>" % ALICE, "From: <%s>" % ALICE],               # several From fields
    ["From: <%s>" % ALICE, "Sender: <%s>" % ALICE, "Sender: <%s>" % ALICE],
    ["From: %s <%s>" % (ALICE, EVE)],                           # unquoted @ in a display name
    ["From: <%s> <%s>" % (ALICE, EVE)],
    ["From: %s;%s" % (ALICE, EVE)],
    ["From: <%s>" % ALICE, "Sender: "],
    ["From:"],
    ["From: undisclosed-recipients:;"],
], ids=["two-from", "two-sender", "unquoted-display-name", "two-angle-addrs", "semicolon",
        "empty-sender", "empty-from", "empty-group"])
def test_unreadable_or_repeated_from_refused(bsrv, headers):
    """What cannot be read one way only is refused, never passed unchecked."""
    rcpt = new_user(bsrv, prefix="hdr")
    code, text = try_message(bsrv, ALICE, ALICE, headers, rcpt)
    assert code == 550 and text.startswith(b"5.7.1"), "%r: got %d %r" % (headers, code, text)
    assert_nothing_but_marker(bsrv, rcpt)


def test_swaks_header_from(bsrv):
    rcpt = new_user(bsrv, prefix="swk")
    common = ["--to", rcpt, "--from", ALICE, "--tls", "--auth", "LOGIN",
              "--auth-user", ALICE, "--auth-password", ALICE_PW]
    p = bsrv.swaks(*common, "--header", "From: Eve <%s>" % EVE)
    assert p.returncode == 26 and "550 5.7.1" in p.stdout, "rc %d\n%s" % (p.returncode, p.stdout)
    p = bsrv.swaks(*common, "--header", "From: Alice <%s>" % ALICE)
    assert p.returncode == 0, "rc %d\n%s" % (p.returncode, p.stdout)
    p = bsrv.swaks(*common[:3], EVE, *common[4:])
    assert p.returncode == 23 and "553 5.7.1" in p.stdout, "rc %d\n%s" % (p.returncode, p.stdout)
    bsrv.wait_count(rcpt, 1)


def test_miscased_login_gets_no_session(bsrv):
    with bsrv.client("submission") as s:
        code, text = s.docmd("AUTH", "PLAIN " + b64("\0ALICE@example.test\0" + ALICE_PW))
        assert code == 535, (code, text)
        code, text = s.mail(ALICE)
        assert code == 530, (code, text)
    r = bsrv.cli("sender", "allow", "ALICE@example.test", "x@other.test", expect=1)
    assert "no account with login 'ALICE@example.test'" in r.err and ALICE in r.err, r.err


# ---- the null sender and grants ----

def test_null_sender_needs_a_grant(bsrv):
    login = new_account(bsrv)
    code, text = try_mail(bsrv, login, "")
    assert code == 553 and text.startswith(b"5.7.1"), "<> without a grant: %d %r" % (code, text)
    bsrv.cli("sender", "allow", login, "<>")
    assert try_mail(bsrv, login, "")[0] == 250, "<> with a grant"
    assert "%s\t<>" % login in bsrv.cli("sender", "list", login).out
    bsrv.cli("sender", "revoke", login, "<>")
    assert try_mail(bsrv, login, "")[0] == 553, "<> after revoke"


def new_account(t, password="new-account-pw-9"):
    addr = uniq("acct") + "@example.test"
    add_account(t, addr, password)
    PASSWORDS[addr] = password
    return addr


def test_sender_allow_revoke_list(bsrv):
    login = new_account(bsrv)
    dom = uniq("granted") + ".test"
    # Before: refused.
    assert try_mail(bsrv, login, "one@" + dom)[0] == 553
    bsrv.cli("sender", "allow", login, "*@" + dom.upper())
    bsrv.cli("sender", "allow", login, "Exact@Other.test")
    out = bsrv.cli("sender", "list", login).out
    lines = set(out.splitlines())
    assert "%s\t*@%s" % (login, dom) in lines, "grant domain folded: %r" % out
    assert any(l.lower() == ("%s\texact@other.test" % login).lower() for l in lines), out
    assert all(l.startswith(login + "\t") for l in lines), "list LOGIN shows only LOGIN's: %r" % out
    everyone = bsrv.cli("sender", "list").out
    assert "%s\tshared@other.test" % ALICE in everyone and "%s\t*@company.test" % COMPANY in everyone, everyone
    assert "%s\t*@%s" % (login, dom) in everyone

    assert try_mail(bsrv, login, "one@" + dom)[0] == 250
    assert try_mail(bsrv, login, "TWO@" + dom.upper())[0] == 250
    assert try_mail(bsrv, login, "exact@other.test")[0] == 250
    assert try_mail(bsrv, login, "other@other.test")[0] == 553

    r = bsrv.cli("sender", "revoke", login, "*@" + dom)
    assert "no longer" in r.out, r
    assert try_mail(bsrv, login, "one@" + dom)[0] == 553, "after revoke"
    assert "*@" + dom not in bsrv.cli("sender", "list", login).out
    bsrv.cli("sender", "revoke", login, "*@" + dom, expect=1)
    bsrv.cli("sender", "allow", "no-such-login", "x@other.test", expect=1)
    bsrv.cli("sender", "allow", login, "not an address", expect=1)
    bsrv.cli("sender", "allow", login, expect=2)


def test_address_del_revokes(bsrv):
    login = new_account(bsrv)
    extra = uniq("extra") + "@example.test"
    bsrv.cli("address", "add", extra, login)
    with authed(bsrv, login) as s:
        assert s.mail(extra)[0] == 250
        s.rset()
        bsrv.cli("address", "del", extra)
        code, text = s.mail(extra)
        assert code == 553, "an open session after address del: %d %r" % (code, text)


# ---- tern user del revokes at once ----

def test_user_del_revokes_at_once(bsrv):
    victim, pw = uniq("victim") + "@example.test", "victim-pw-123"
    add_account(bsrv, victim, pw)
    PASSWORDS[victim] = pw
    extra = uniq("valias") + "@example.test"
    dom = uniq("vdom") + ".test"
    bsrv.cli("address", "add", extra, victim)
    bsrv.cli("sender", "allow", victim, "*@" + dom)
    # Another account that sends the victim's domain too: its grant stays.
    other = new_account(bsrv)
    rcpt = new_user(bsrv, prefix="vrcpt")

    with authed(bsrv, victim) as own, authed(bsrv, ALICE) as foreign:
        for a in (victim, extra, "x@" + dom):
            code, _ = own.mail(a)
            assert code == 250, "before del: %s as %s: %d" % (victim, a, code)
            own.rset()
        bsrv.cli("user", "del", victim)
        # The session that logged in before the del can no longer send
        # as anything of the account's.
        for a in (victim, extra, "x@" + dom):
            code, text = own.mail(a)
            assert code == 553, "after del, the victim's own open session as <%s>: %d %r" % (a, code, text)
        # Nor can another account's session.
        for a in (victim, extra, "x@" + dom):
            code, text = foreign.mail(a)
            assert code == 553, "after del, %s as <%s>: %d %r" % (ALICE, a, code, text)
        code, _ = foreign.mail(ALICE)
        assert code == 250
        foreign.rcpt(rcpt)
        code, text = foreign.data(make_msg(sender=victim, to=rcpt))
        assert code == 550 and text.startswith(b"5.7.1"), "header From of the deleted account: %d %r" % (code, text)

    # The account and its grants are gone; nobody logs in as it.
    assert victim not in bsrv.cli("user", "list").out
    assert victim not in bsrv.cli("sender", "list").out, "grants of a deleted account remain"
    with bsrv.client("submission") as s:
        with pytest.raises(Exception):
            s.login(victim, pw)
    bsrv.wait_log(r"auth failed login=%s reason=unknown" % re.escape(victim))
    # An account made again with the same login starts with nothing.
    add_account(bsrv, victim, pw)
    assert try_mail(bsrv, victim, "x@" + dom)[0] == 553, "a new account inherited the old grant"
    assert try_mail(bsrv, victim, extra)[0] == 553, "a new account inherited the old address"
    assert try_mail(bsrv, other, "x@" + dom)[0] == 553
    assert_nothing_but_marker(bsrv, rcpt)


# ---- relaying and local senders on port 25 ----

@pytest.mark.parametrize("kind", ["submission", "submissions"])
def test_authenticated_relay_queued(bsrv, kind):
    far = "%s@remote.test" % uniq("far")
    subject = uniq("relay")
    with authed(bsrv, ALICE, kind=kind) as s:
        assert s.mail(ALICE)[0] == 250
        code, text = s.rcpt(far)
        assert code == 250, "authenticated RCPT to a remote domain: %d %r" % (code, text)
        code, text = s.data(make_msg(subject=subject, sender=ALICE, to=far))
        assert code == 250, (code, text)
    qid = queue_id(text)
    # Outbound delivery cannot reach remote.test from here: deferred.
    bsrv.wait_log(r"%s: to=<%s> .*status=deferred" % (qid, re.escape(far)))
    out = wait_until(lambda: (lambda o: o if re.search(r"to=<%s> .*deferred" % re.escape(far), o)
                              else None)(bsrv.cli("queue", "list").out))
    assert out, "tern queue list: want %s deferred\n%s" % (far, bsrv.cli("queue", "list").out)
    head = [l for l in out.splitlines() if l.startswith(qid)]
    assert head and "from=<%s>" % ALICE in head[0], out
    bsrv.cli("queue", "delete", qid)


@pytest.mark.parametrize("tls", [False, True])
def test_unauthenticated_never_relays(bsrv, tls):
    with bsrv.client("smtp", tls=tls) as s:
        assert s.mail("someone@client.test")[0] == 250
        code, text = s.rcpt("far@remote.test")
        assert code == 554 and text.startswith(b"5.7.1"), "relay without AUTH: %d %r" % (code, text)
        assert s.rcpt(SINK)[0] == 250


@pytest.mark.parametrize("sender", [ALICE, "ALICE@EXAMPLE.TEST", "anyone@company.test",
                                    "nobody-at-all@example.test"])
def test_port25_local_sender_must_authenticate(bsrv, sender):
    mark = bsrv.log_mark()
    with bsrv.client("smtp", tls=False) as s:
        code, text = s.mail(sender)
        assert code == 553 and text.startswith(b"5.7.1"), "port 25 MAIL FROM:<%s>: %d %r" % (sender, code, text)
        assert b"authenticate" in text, text
        assert s.mail("someone@client.test")[0] == 250
    bsrv.wait_log(r"(?i)unauthenticated local sender from=<%s>" % re.escape(sender), since=mark)


def test_port25_null_and_foreign_senders(bsrv):
    with bsrv.client("smtp", tls=True) as s:
        assert s.mail("")[0] == 250
        s.rset()
        assert s.mail("someone@client.test")[0] == 250


def test_port25_local_sender_allowed_when_configured(sub_factory):
    t = sub_factory(reject_unauthenticated_local_sender="no")
    t.setup(domains=["example.test"], users=[SINK])
    with t.start().client("smtp", tls=False) as s:
        assert s.mail(SINK)[0] == 250, "local sender with reject_unauthenticated_local_sender = no"
        code, text = s.rcpt("far@remote.test")
        assert code == 554, "still no relay: %d %r" % (code, text)
        assert s.rcpt(SINK)[0] == 250
        assert s.data(make_msg(sender=SINK, to=SINK))[0] == 250
    t.wait_count(SINK, 1)


# ---- the Received header ----

def received(msg):
    return [v for n, v in header_lines(msg) if n.lower() == "received"][0]


TLS_TEXT = r"\(using (TLSv1\.[23]) with cipher ([A-Z0-9_-]+) \((\d+)/(\d+) bits\)\)"


def test_received_esmtps_on_port_25(bsrv):
    rcpt = new_user(bsrv, prefix="rcv")
    with bsrv.client("smtp", tls=True) as s:
        s.sendmail("someone@client.test", [rcpt], make_msg(to=rcpt))
    with bsrv.client("smtp", tls=False) as s:
        s.sendmail("someone@client.test", [rcpt], make_msg(to=rcpt))
    tls_msg, plain_msg = bsrv.wait_count(rcpt, 2)
    r = received(tls_msg)
    assert re.search(r" with ESMTPS id ", r), r
    m = re.search(TLS_TEXT, r)
    assert m and m.group(1) == "TLSv1.3" and m.group(3) == m.group(4) == "256", \
        "want (using TLSv1.3 with cipher ... (256/256 bits)) in %r" % r
    r = received(plain_msg)
    assert re.search(r" with ESMTP id ", r) and "using" not in r, r


@pytest.mark.parametrize("kind", ["submission", "submissions"])
def test_received_esmtpsa_never_login_or_password(bsrv, kind):
    rcpt = new_user(bsrv, prefix="rcv")
    bsrv.send_auth(CAROL, CAROL_PW, rcpt, sender="carol@example.test", kind=kind)
    msg = bsrv.wait_count(rcpt, 1)[0]
    r = received(msg)
    assert re.search(r"^from client\.test \(\[127\.0\.0\.1\]\)", r), r
    assert re.search(r"by mx\.example\.test \(Tern\) with ESMTPSA id \w+", r), r
    m = re.search(TLS_TEXT, r)
    assert m and m.group(1) == "TLSv1.3", "TLS text missing: %r" % r
    low = msg.lower()
    for secret in (CAROL, CAROL_PW):
        assert secret.lower().encode() not in low, "%r in the delivered copy:\n%s" % (secret, msg.decode())


def test_received_utf8smtpsa(bsrv):
    rcpt = new_user(bsrv, prefix="rcv")
    with authed(bsrv, ALICE) as s:
        assert s.mail(ALICE, ["SMTPUTF8"])[0] == 250
        assert s.rcpt(rcpt)[0] == 250
        assert s.data(make_msg(sender=ALICE, to=rcpt, subject="caf\u00e9 " + uniq("u8")))[0] == 250
    r = received(bsrv.wait_count(rcpt, 1)[0])
    assert re.search(r" with UTF8SMTPSA id ", r), r


def test_received_tls_1_2_cipher(bsrv):
    rcpt = new_user(bsrv, prefix="rcv")
    ctx = client_tls_context(maximum=ssl.TLSVersion.TLSv1_2)
    with bsrv.client("smtp", ctx=ctx) as s:
        assert s.sock.version() == "TLSv1.2"
        cipher = s.sock.cipher()
        s.sendmail("someone@client.test", [rcpt], make_msg(to=rcpt))
    r = received(bsrv.wait_count(rcpt, 1)[0])
    m = re.search(TLS_TEXT, r)
    assert m and m.group(1) == "TLSv1.2" and m.group(2) == cipher[0] and int(m.group(3)) == cipher[2], \
        "want TLSv1.2 with cipher %s (%d/..) in %r" % (cipher[0], cipher[2], r)


# ---- in either mode, what enforce refuses is counted ----

def test_enforce_refusals_are_audited(bsrv):
    login = new_account(bsrv)
    for _ in range(2):
        assert try_mail(bsrv, login, EVE)[0] == 553
    rows = [r for r in bsrv.audit() if r["login"] == login]
    assert [(r["kind"], r["address"], r["client_ip"], r["count"]) for r in rows] == \
        [("sender-outside-binding", EVE, "127.0.0.1", 2)], rows
