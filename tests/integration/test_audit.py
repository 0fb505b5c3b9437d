"""
Issue 4, points 14 and 15: the warn modes (login_case, sender_binding) let
through what only the new rules would refuse, log what enforce would have
done, never admit a wrong password and never open relaying; every such
event, in either mode, is counted for `tern audit [--since] [--json]`,
boundedly (audit_max_rows).

`tern audit --ready` (issue 12, point 6) answers whether enforce would
refuse anyone that warn mode let through in a window.
"""
import base64
import json
import re
import time

import pytest

from ternlib import (add_account, instance_factory, make_msg, module_server,
                     needs_loopback_sources, new_user, uniq)

PW = "audit-account-pw-1"
EVE = "eve@example.test"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
FIELDS = {"kind", "login", "existing_login", "address", "client_ip", "count",
          "first_seen", "last_seen", "protocol", "let_in", "last_let_in"}


def prepare(t):
    t.setup(domains=["example.test"])
    add_account(t, EVE, "eve-audit-pw-2")


@pytest.fixture(scope="module")
def wsrv(request):
    yield from module_server(request, {"login_case": "warn", "sender_binding": "warn",
                                       "auth_fail_limit": 100000, "auth_fail_delay": "0s"},
                             prepare)


@pytest.fixture
def sub_factory(request):
    yield from instance_factory(request)


def new_login(t, prefix="aud"):
    """A fresh account (login = address, lower case) with password PW."""
    addr = uniq(prefix) + "@example.test"
    add_account(t, addr, PW)
    return addr


def miscase(login):
    return login[0].upper() + login[1:]


def tls(t, kind="submission", source=None):
    return t.tls_session(kind, source)


def auth(t, login, password, source=None):
    with tls(t, source=source) as c:
        return c.auth_plain(login, password)


def rows_of(t, *logins, args=()):
    return [r for r in t.audit(*args) if r["login"] in logins]


# ---- login_case = warn ----

def test_login_case_warn_admits_miscased_login(wsrv):
    login = new_login(wsrv)
    mis = miscase(login)
    mark = wsrv.log_mark()
    with tls(wsrv) as c:
        assert c.auth_plain(mis, PW)[0] == 235, "warn: a miscased login with its password gets in"
        # The session is the account that exists.
        c.expect("MAIL FROM:<%s>" % login, 250)
    wsrv.wait_log(r"auth case-mismatch login=%s existing=%s client=\[127\.0\.0\.1\] action=would-refuse"
                  % (re.escape(mis), re.escape(login)), since=mark)
    wsrv.wait_log(r"auth ok login=%s method=PLAIN" % re.escape(login), since=mark)
    assert "sender outside binding" not in wsrv.log()[mark:], wsrv.log_tail()


def test_login_case_warn_never_admits_wrong_password(wsrv):
    login = new_login(wsrv)
    mis = miscase(login)
    mark = wsrv.log_mark()
    for who, pw, reason in ((mis, "wrong-" + PW, "case-mismatch"), (login, "wrong-" + PW, "password"),
                            (mis.upper(), "", "case-mismatch"), ("nobody-" + login, PW, "unknown")):
        with tls(wsrv) as c:
            got = c.auth_plain(who, pw) if pw else c.auth_login(who, "x")
            assert got == (535, "5.7.8 Error: authentication failed"), \
                "warn mode, %s with a wrong password: got %r" % (who, got)
            c.expect("MAIL FROM:<%s>" % login, 530)
        wsrv.wait_log(r"auth failed login=%s reason=%s" % (re.escape(who), reason), since=mark)
    assert "auth ok" not in wsrv.log()[mark:], wsrv.log_tail()
    assert "would-refuse" not in wsrv.log()[mark:], "a refused login is no would-refuse"


# ---- sender_binding = warn ----

def test_sender_binding_warn_envelope_and_header(wsrv):
    login = new_login(wsrv)
    rcpt = new_user(wsrv, prefix="wr")
    mark = wsrv.log_mark()
    with wsrv.client("submission", login=login, password=PW) as s:
        code, text = s.mail(EVE)
        assert code == 250, "warn: MAIL FROM outside the binding: %d %r" % (code, text)
        assert s.rcpt(rcpt)[0] == 250
        code, text = s.data(make_msg(sender="someone@remote.test", to=rcpt,
                                     extra="Sender: <%s>\r\n" % EVE))
        assert code == 250, "warn: header From outside the binding: %d %r" % (code, text)
        code, text = s.mail("")
        assert code == 250, "warn: the null sender without a grant: %d %r" % (code, text)
    wsrv.wait_count(rcpt, 1)
    log = wsrv.log()[mark:]
    assert re.search(r"sender outside binding login=%s from=<%s> client=\[127\.0\.0\.1\] action=would-refuse"
                     % (re.escape(login), re.escape(EVE)), log), wsrv.log_tail()
    assert re.search(r"header sender outside binding login=%s address=<someone@remote\.test> "
                     r"client=\[127\.0\.0\.1\] action=would-refuse" % re.escape(login), log), wsrv.log_tail()
    assert re.search(r"sender outside binding login=%s from=<> .*action=would-refuse" % re.escape(login), log), \
        wsrv.log_tail()
    assert "action=refused" not in log


def test_warn_logs_and_counts_every_header_address(wsrv):
    """In warn mode each address outside the binding is an event of its
    own: the audit must name every one, not only the first."""
    login = new_login(wsrv)
    rcpt = new_user(wsrv, prefix="wr")
    outside = ["one-%s@remote.test" % uniq("h"), "two-%s@remote.test" % uniq("h"),
               "three-%s@remote.test" % uniq("h")]
    msg = ("From: <%s>, <%s>\r\nSender: <%s>\r\nTo: <%s>\r\nSubject: several\r\n\r\nbody\r\n"
           % (outside[0], outside[1], outside[2], rcpt)).encode()
    mark = wsrv.log_mark()
    with wsrv.client("submission", login=login, password=PW) as s:
        assert s.sendmail(login, [rcpt], msg) == {}
    wsrv.wait_count(rcpt, 1)
    log = wsrv.log()[mark:]
    counted = sorted(r["address"] for r in rows_of(wsrv, login))
    logged = sorted(a for a in outside if "address=<%s>" % a in log)
    assert counted == sorted(outside) and logged == sorted(outside), \
        "warn mode, header From and Sender outside the binding:\n counted %r\n logged  %r\n want    %r" % (
            counted, logged, sorted(outside))


def test_warn_counts_display_names_and_resent_fields(wsrv):
    """Issue 8, point 17: in warn mode a foreign address in a display name
    (plain or RFC 2047) and in Resent-From or Resent-Sender is let through
    and counted like a foreign From."""
    login = new_login(wsrv)
    rcpt = new_user(wsrv, prefix="wr")
    named = "named-%s@remote.test" % uniq("h")
    encoded = "enc-%s@remote.test" % uniq("h")
    resent_from = "rf-%s@remote.test" % uniq("h")
    resent_sender = "rs-%s@remote.test" % uniq("h")
    b = base64.b64encode(encoded.encode()).decode()
    msg = ("From: \"%s\" <%s>, =?utf-8?B?%s?= <%s>\r\nResent-From: <%s>\r\n"
           "Resent-Sender: <%s>\r\nTo: <%s>\r\nSubject: names\r\n\r\nbody\r\n"
           % (named, login, b, login, resent_from, resent_sender, rcpt)).encode()
    mark = wsrv.log_mark()
    with wsrv.client("submission", login=login, password=PW) as s:
        assert s.sendmail(login, [rcpt], msg) == {}
    wsrv.wait_count(rcpt, 1)
    log = wsrv.log()[mark:]
    want = sorted([named, encoded, resent_from, resent_sender])
    counted = sorted(r["address"] for r in rows_of(wsrv, login))
    logged = sorted(a for a in want if re.search(
        r"address=<%s> client=\[127\.0\.0\.1\] action=would-refuse" % re.escape(a), log))
    assert counted == want and logged == want, \
        "warn mode, names and Resent- fields:\n counted %r\n logged  %r\n want    %r" % (
            counted, logged, want)
    assert re.search(r"address=<%s> .*field=From in=display-name" % re.escape(named), log), log
    assert re.search(r"address=<%s> .*field=Resent-Sender" % re.escape(resent_sender), log), log


def test_warn_never_opens_relaying(wsrv):
    with wsrv.client("smtp", tls=True) as s:
        assert s.mail("someone@client.test")[0] == 250
        code, text = s.rcpt("far@remote.test")
        assert code == 554 and text.startswith(b"5.7.1"), "warn mode, port 25 relay: %d %r" % (code, text)
        s.rset()
        code, text = s.mail(EVE)
        assert code == 553 and text.startswith(b"5.7.1"), "warn mode, unauthenticated local sender: %d %r" % (code, text)
    with wsrv.client("submission") as s:
        code, text = s.mail("someone@client.test")
        assert code == 530, "warn mode, submission without AUTH: %d %r" % (code, text)


# ---- tern audit ----

def make_events(t, login, n_case=2, n_sender=3, n_fail=1, source=None):
    mis = miscase(login)
    for _ in range(n_case):
        assert auth(t, mis, PW, source)[0] == 235
    with t.client("submission", login=login, password=PW, source=source) as s:
        for _ in range(n_sender):
            assert s.mail(EVE)[0] == 250
            s.rset()
    for _ in range(n_fail):
        assert auth(t, login, "wrong-" + PW, source)[0] == 535


def test_audit_json_lists_each_kind(wsrv):
    login = new_login(wsrv)
    mis = miscase(login)
    make_events(wsrv, login)
    assert auth(wsrv, mis, "wrong-" + PW)[0] == 535     # case and password wrong
    rows = rows_of(wsrv, login, mis)
    for r in rows:
        assert set(r) == FIELDS, "audit --json fields: %r" % sorted(r)
        assert ISO.match(r["first_seen"]) and ISO.match(r["last_seen"]), r
        # Warn mode let the right password in the wrong case (twice; the
        # third had a wrong password) and the outside sender (three times)
        # through; nothing else.
        assert r["let_in"] == {"case-mismatch": 2, "sender-outside-binding": 3}.get(r["kind"], 0), r
        assert (r["last_let_in"] is None) == (r["let_in"] == 0), r
        assert r["first_seen"] <= r["last_seen"], r
        assert isinstance(r["count"], int)
    got = sorted((r["kind"], r["login"], r["existing_login"], r["address"], r["client_ip"], r["count"])
                 for r in rows)
    want = sorted([
        ("case-mismatch", mis, login, "", "127.0.0.1", 3),
        ("sender-outside-binding", login, "", EVE, "127.0.0.1", 3),
        ("auth-failure", login, "", "", "127.0.0.1", 1),
        ("auth-failure", mis, login, "", "127.0.0.1", 1),
    ])
    assert got == want, "audit rows:\n got %r\nwant %r" % (got, want)


@needs_loopback_sources
def test_audit_text_grouped_by_login_and_client(wsrv):
    busy, quiet = new_login(wsrv, "busy"), new_login(wsrv, "quiet")
    make_events(wsrv, quiet, n_case=0, n_sender=1, n_fail=0)
    make_events(wsrv, busy, n_case=0, n_sender=4, n_fail=1)
    make_events(wsrv, busy, n_case=0, n_sender=1, n_fail=0, source="127.0.0.2")
    out = wsrv.cli("audit").out
    blocks = {}
    order = []
    for block in out.strip().split("\n\n"):
        head, *events = block.split("\n")
        m = re.match(r"^(\S+) from (\S+): (\d+) events?$", head)
        assert m, "block header: %r\n%s" % (head, out)
        blocks[(m.group(1), m.group(2))] = (int(m.group(3)), events)
        order.append((m.group(1), m.group(2)))
    total, events = blocks[(busy, "127.0.0.1")]
    assert total == 5, out
    # Most frequent first inside the block.
    assert re.match(r"^\s+4\s+sender-outside-binding\s+smtp\s+first \S+\s+last \S+\s+address %s$" % re.escape(EVE),
                    events[0]), events
    assert re.match(r"^\s+1\s+auth-failure\s+smtp\s+first \S+\s+last \S+$", events[1]), events
    assert blocks[(busy, "127.0.0.2")][0] == 1, "another client is another block:\n%s" % out
    assert blocks[(quiet, "127.0.0.1")][0] == 1
    # The busiest block before the quieter ones.
    assert order.index((busy, "127.0.0.1")) < order.index((busy, "127.0.0.2"))
    assert order.index((busy, "127.0.0.1")) < order.index((quiet, "127.0.0.1"))
    js = [(r["login"], r["client_ip"]) for r in wsrv.audit() if r["login"] in (busy, quiet)]
    assert js.index((busy, "127.0.0.1")) < js.index((quiet, "127.0.0.1")), js


def test_audit_counts_increase_and_since_filters(wsrv):
    login = new_login(wsrv)
    with wsrv.client("submission", login=login, password=PW) as s:
        assert s.mail(EVE)[0] == 250
    (first,) = rows_of(wsrv, login)
    assert first["count"] == 1
    with wsrv.client("submission", login=login, password=PW) as s:
        assert s.mail(EVE)[0] == 250
        s.rset()
        assert s.mail(EVE)[0] == 250
    rows = rows_of(wsrv, login)
    assert len(rows) == 1, rows
    (again,) = rows
    assert again["count"] == 3 and again["first_seen"] == first["first_seen"], (first, again)
    assert again["last_seen"] >= first["last_seen"]
    done = time.time()

    assert rows_of(wsrv, login, args=("--since", "1h")) == rows
    # --since 1s: everything last seen at least a whole second ago is out.
    time.sleep(max(0.0, int(done) + 2.05 - time.time()))
    assert rows_of(wsrv, login, args=("--since", "1s")) == [], "--since 1s shows old events"
    assert wsrv.cli("audit", "--since", "1s").out.strip() == "no events in that time"
    fresh = new_login(wsrv)
    with wsrv.client("submission", login=fresh, password=PW) as s:
        assert s.mail(EVE)[0] == 250
    assert [r["login"] for r in wsrv.audit("--since", "1s")] == [fresh]
    r = wsrv.cli("audit", "--since", "soon", expect=None)
    assert r.rc != 0 and "bad duration" in r.err, r


def test_audit_max_rows_caps_the_table(sub_factory):
    # 130 RSETs are junk commands past the default limit of 100.
    t = sub_factory(sender_binding="warn", audit_max_rows=100,
                    smtpd_junk_command_limit=1000)
    t.setup(domains=["example.test"])
    login = new_login(t)
    t.start()
    n = 130
    with tls(t) as c:
        assert c.auth_plain(login, PW)[0] == 235
        # Pipelined in chunks: 130 distinct senders, 130 distinct rows.
        for start in range(0, n, 26):
            c.send("".join("MAIL FROM:<flood%d@remote.test>\r\nRSET\r\n" % i
                           for i in range(start, start + 26)))
            for i in range(start, start + 26):
                assert c.reply()[0] == 250, "MAIL %d" % i
                assert c.reply()[0] == 250, "RSET %d" % i
    rows = t.audit()
    assert len(rows) == 100, "audit_max_rows = 100: got %d rows" % len(rows)
    addrs = {r["address"] for r in rows}
    assert "flood%d@remote.test" % (n - 1) in addrs, "the newest event was dropped"
    assert "flood0@remote.test" not in addrs, "the oldest event was kept past the cap"
    # Past the cap, counting goes on: the newest rows stay.
    with tls(t) as c:
        assert c.auth_plain(login, PW)[0] == 235
        c.expect("MAIL FROM:<flood0@remote.test>", 250)
    rows = t.audit()
    assert len(rows) == 100 and "flood0@remote.test" in {r["address"] for r in rows}


def test_events_counted_in_enforce_mode(sub_factory):
    # Not slowed by its own two failures: no auth-slowed row here.
    t = sub_factory(auth_fail_delay="0s")
    t.setup(domains=["example.test"])
    add_account(t, EVE, "eve-audit-pw-2")
    login = new_login(t)
    mis = miscase(login)
    t.start()
    assert auth(t, mis, PW) == (535, "5.7.8 Error: authentication failed")
    assert auth(t, "ghost@example.test", PW)[0] == 535
    with t.client("submission", login=login, password=PW) as s:
        assert s.mail(EVE)[0] == 553
    got = sorted((r["kind"], r["login"], r["existing_login"], r["address"], r["count"])
                 for r in t.audit())
    assert got == sorted([
        ("case-mismatch", mis, login, "", 1),
        ("auth-failure", "ghost@example.test", "", "", 1),
        ("sender-outside-binding", login, "", EVE, 1),
    ]), got
    out = t.cli("audit").out
    assert re.search(r"^%s from 127\.0\.0\.1: 1 event$" % re.escape(mis), out, re.M), out
    assert "existing login %s" % login in out, out


def test_audit_empty(sub_factory):
    t = sub_factory()
    assert t.cli("audit").out == "no events\n"
    assert t.audit() == []


# ---- tern audit --ready ----

def ready(t, *args):
    return t.cli("audit", "--ready", *args, expect=None)


def test_ready_when_nothing_was_let_through(sub_factory):
    t = sub_factory(login_case="warn", sender_binding="warn", auth_fail_delay="0s")
    t.setup(domains=["example.test"])
    login = new_login(t)
    t.start()
    # Failures are no obstacle to enforce: they fail under both.
    assert auth(t, miscase(login), "wrong-" + PW)[0] == 535
    assert auth(t, "ghost@example.test", PW)[0] == 535
    r = ready(t)
    assert r.rc == 0, r
    assert r.out.startswith("ready: since ") and "would have refused no one" in r.out, r.out


def test_not_ready_lists_miscased_logins_and_outside_senders(sub_factory):
    t = sub_factory(login_case="warn", sender_binding="warn", auth_fail_delay="0s")
    t.setup(domains=["example.test"])
    add_account(t, EVE, "eve-audit-pw-2")
    login, sender = new_login(t), new_login(t, "snd")
    t.start()
    assert auth(t, miscase(login), PW)[0] == 235
    with t.client("submission", login=sender, password=PW) as s:
        assert s.mail(EVE)[0] == 250
    r = ready(t)
    assert r.rc == 1, "enforce would refuse two clients: %r" % (r,)
    assert re.search(r"^%s from 127\.0\.0\.1: 1 event$" % re.escape(miscase(login)), r.out, re.M), r.out
    assert "existing login %s" % login in r.out, r.out
    assert re.search(r"^%s from 127\.0\.0\.1: 1 event$" % re.escape(sender), r.out, re.M), r.out
    assert "address %s" % EVE in r.out, r.out
    assert r.out.rstrip().split("\n")[-1].startswith("not ready: since "), r.out
    js = json.loads(t.cli("audit", "--ready", "--json", expect=1).out)
    assert sorted((x["kind"], x["login"]) for x in js) == sorted(
        [("case-mismatch", miscase(login)), ("sender-outside-binding", sender)]), js


def test_ready_counts_only_the_window(sub_factory):
    t = sub_factory(login_case="warn", auth_fail_delay="0s")
    t.setup(domains=["example.test"])
    login = new_login(t)
    t.start()
    assert auth(t, miscase(login), PW)[0] == 235
    done = time.time()
    assert ready(t, "--since", "1h").rc == 1
    time.sleep(max(0.0, int(done) + 2.05 - time.time()))
    r = ready(t, "--since", "1s")
    assert r.rc == 0, "a let-in older than the window still counts: %r" % (r,)


def test_enforce_refusals_are_not_let_in(sub_factory):
    t = sub_factory(auth_fail_delay="0s")
    t.setup(domains=["example.test"])
    add_account(t, EVE, "eve-audit-pw-2")
    login = new_login(t)
    t.start()
    assert auth(t, miscase(login), PW)[0] == 535
    with t.client("submission", login=login, password=PW) as s:
        assert s.mail(EVE)[0] == 553
    assert [r["let_in"] for r in t.audit()] == [0, 0]
    assert ready(t).rc == 0
