"""
Issue 5, outbound delivery between two `tern serve` instances on loopback:
A routes by the MX records of a DNS server the test runs (dnsserver.py)
and delivers to B.  Routing per RFC 5321 section 5 (MX by preference, the
next host when one is down, A record without MX), loop detection, the
ESMTP client (SIZE, HELO fallback, PIPELINING only when offered,
dot-stuffing) and the connection limits.
"""
import re

import pytest

from outlib import (A_HOST, B_HOST, mailnet, needs_127_0_0_2, queue_entry,  # noqa: F401
                    send_from, sent_line, wait_queue_empty)
from ternlib import WAIT, can_bind, header, header_lines, make_msg, new_user


def test_delivery_through_mx(mailnet):
    a, b, sender, rcpt = mailnet.pair()
    body = "first line\r\n.a line that starts with a dot\r\n..two dots\r\n.\r\nlast\r\n"
    qid, subject = send_from(a, sender, rcpt, body=body)

    msgs = b.wait_count(rcpt, 1)
    raw = msgs[0]
    assert header(raw, "Subject") == subject
    assert header(raw, "Return-Path") == "<%s>" % sender
    received = [v for n, v in header_lines(raw) if n == "Received"]
    assert received and received[0].startswith("from %s ([127.0.0.1])" % A_HOST) and \
        ("by %s" % B_HOST) in received[0], "B's Received header: %r" % received
    # Dot-stuffing undone by B: the body arrives as it was sent.
    assert raw.replace(b"\n", b"\r\n").endswith(body.encode()), \
        "body changed on the way: %r" % raw

    m = a.wait_log(sent_line(qid, rcpt))
    assert m.group(1) == "mx.b.test[127.0.0.1]:%d" % b.port, m.group(0)
    assert m.group(2) == "2.0.0" and m.group(3) == "1", m.group(0)
    assert m.group(4).startswith("250 "), m.group(0)
    wait_queue_empty(a)
    q = mailnet.dns.queries
    assert ("b.test", "MX") in q and ("mx.b.test", "A") in q, q


def test_recipients_of_one_domain_share_one_transaction(mailnet):
    a, b, sender, rcpt = mailnet.pair()
    rcpt2 = new_user(b, "b.test", "r")
    qid, subject = send_from(a, sender, [rcpt, rcpt2])
    b.wait_count(rcpt, 1)
    b.wait_count(rcpt2, 1)
    a.wait_log(sent_line(qid, rcpt))
    a.wait_log(sent_line(qid, rcpt2))
    queued = re.findall(r"queued id=\S+ from=<%s> size=\d+ nrcpt=(\d+)" % re.escape(sender), b.log())
    assert queued == ["2"], "B: want one transaction with both recipients, got nrcpt=%r" % queued


def test_no_mx_uses_the_address_record(mailnet):
    mailnet.dns.add("nomx.test A 127.0.0.1")
    b = mailnet.make_b(domains=("b.test", "nomx.test"))
    b.start()
    a = mailnet.make_a(b)
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = new_user(b, "nomx.test", "r")
    qid, _ = send_from(a, sender, rcpt)
    b.wait_count(rcpt, 1)
    m = a.wait_log(sent_line(qid, rcpt))
    assert m.group(1) == "nomx.test[127.0.0.1]:%d" % b.port, m.group(0)
    q = mailnet.dns.queries
    assert ("nomx.test", "MX") in q and ("nomx.test", "A") in q, q


def test_lower_preference_first(mailnet):
    """The MX with the lower preference number is used; the other (a
    server that would take the mail too) is not."""
    b = mailnet.make_b(domains=("b.test", "pref.test"))
    b.start()
    other = mailnet.mini(host="127.0.0.2", port=b.port) if can_bind("127.0.0.2") else None
    mailnet.dns.add("pref.test MX 20 other.pref.test", "pref.test MX 10 mx.b.test",
                    "other.pref.test A 127.0.0.2")
    a = mailnet.make_a(b)
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = new_user(b, "pref.test", "r")
    qid, _ = send_from(a, sender, rcpt)
    b.wait_count(rcpt, 1)
    m = a.wait_log(sent_line(qid, rcpt))
    assert m.group(1).startswith("mx.b.test["), m.group(0)
    if other is not None:
        assert other.connections == 0, "the preference 20 host was used"


@needs_127_0_0_2
def test_next_mx_when_the_first_is_down(mailnet):
    """Preference 10 points at 127.0.0.2, where nothing listens (B listens
    on 127.0.0.1 only): the preference 20 host takes the mail."""
    b = mailnet.make_b(domains=("b.test", "down.test"))
    b.start()
    mailnet.dns.add("down.test MX 10 dead.down.test", "down.test MX 20 mx.b.test",
                    "dead.down.test A 127.0.0.2")
    a = mailnet.make_a(b)
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = new_user(b, "down.test", "r")
    qid, _ = send_from(a, sender, rcpt)
    b.wait_count(rcpt, 1)
    m = a.wait_log(sent_line(qid, rcpt))
    assert m.group(1) == "mx.b.test[127.0.0.1]:%d" % b.port, m.group(0)
    assert ("dead.down.test", "A") in mailnet.dns.queries, "the first MX was never tried"


@needs_127_0_0_2
def test_equal_preference_fallback(mailnet):
    """Six domains, each with two MX of equal preference: one at
    127.0.0.2 where nothing listens, one at B.  The order among equals is
    random, so about half of them meet the dead host first; every message
    still arrives, through B."""
    domains = ["eq%d.test" % i for i in range(1, 7)]
    b = mailnet.make_b(domains=["b.test"] + domains)
    b.start()
    mailnet.dns.add("dead.eq.test A 127.0.0.2",
                    *["%s MX 10 dead.eq.test" % d for d in domains],
                    *["%s MX 10 mx.b.test" % d for d in domains])
    a = mailnet.make_a(b)
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpts = [new_user(b, d, "r") for d in domains]
    qid, _ = send_from(a, sender, rcpts)
    for r in rcpts:
        b.wait_count(r, 1)
        m = a.wait_log(sent_line(qid, r))
        assert m.group(1) == "mx.b.test[127.0.0.1]:%d" % b.port, m.group(0)
    wait_queue_empty(a)


@needs_127_0_0_2
@pytest.mark.parametrize("greeting", [None, "421 4.3.2 {host} going down"],
                         ids=["closes-at-once", "greets-421"])
def test_next_mx_when_the_first_will_not_talk(mailnet, greeting):
    """A first MX that accepts the connection and then closes it without
    a greeting, or greets with 421, is down for this delivery: the next
    MX takes the mail (RFC 5321 5.1: try the next host)."""
    b = mailnet.make_b(domains=("b.test", "flaky.test"))
    b.start()
    flaky = mailnet.mini(host="127.0.0.2", port=b.port, greeting=greeting)
    mailnet.dns.add("flaky.test MX 10 mx1.flaky.test", "flaky.test MX 20 mx.b.test",
                    "mx1.flaky.test A 127.0.0.2")
    a = mailnet.make_a(b)
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = new_user(b, "flaky.test", "r")
    qid, _ = send_from(a, sender, rcpt)
    a.wait_log(r"%s: to=<%s> .*status=(sent|deferred)" % (qid, re.escape(rcpt)))
    assert flaky.connections >= 1, "the first MX was never tried"
    m = a.wait_log(sent_line(qid, rcpt), timeout=2)
    assert m.group(1) == "mx.b.test[127.0.0.1]:%d" % b.port, m.group(0)
    b.wait_count(rcpt, 1)


# ---- loops ----

def test_mx_pointing_at_myself_defers(mailnet):
    """loop.test's MX is A itself (A's listening address and port): a
    configuration error that defers with a clear reason and never
    connects to itself."""
    mailnet.dns.add("loop.test MX 10 mx.loop.test", "mx.loop.test A 127.0.0.1")
    a = mailnet.make_a()
    a.write_config(smtp_port=str(a.port))
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = "someone@loop.test"
    qid, _ = send_from(a, sender, rcpt)
    m = a.wait_log(sent_line(qid, rcpt, "deferred"))
    assert "loops back to myself" in m.group(4), m.group(0)
    assert m.group(2).startswith("4."), m.group(0)
    # Let a retry come (queue_retry_min 1s): it defers the same way.
    a.wait_log(r"%s: to=<%s> .*status=deferred attempts=2 .*loops back to myself"
               % (qid, re.escape(rcpt)))
    # Only the test's own sessions reached A: no delivery to itself.
    assert len(re.findall(r": connect from", a.log())) == 2, \
        "A connected to itself:\n%s" % a.log_tail()
    assert len(re.findall(r"queued id=", a.log())) == 1
    entry = "\n".join(queue_entry(a, qid))
    assert "loops back to myself" in entry, entry
    a.cli("queue", "delete", qid)


def test_peer_greeting_with_my_hostname_defers(mailnet):
    """B answers EHLO with A's own hostname (a server that is really A
    behind some NAT, or a copy of A's config): deferred, "loops back to
    myself", nothing delivered."""
    a, b, sender, rcpt = mailnet.pair(b_settings={"hostname": A_HOST})
    qid, _ = send_from(a, sender, rcpt)
    m = a.wait_log(sent_line(qid, rcpt, "deferred"))
    assert "loops back to myself" in m.group(4), m.group(0)
    assert b.delivered(rcpt) == []
    assert not re.search(r"queued id=", b.log()), "B took the mail:\n%s" % b.log_tail()
    a.cli("queue", "delete", qid)


# ---- the ESMTP client against a scripted server ----

def mini_dest(mailnet, **kw):
    """A MiniSMTP as the MX of mini.test, and A delivering to it."""
    mini = mailnet.mini(**kw)
    mailnet.dns.add("mini.test MX 10 mx.mini.test", "mx.mini.test A 127.0.0.1")
    a = mailnet.make_a(smtp_port=str(mini.port))
    a.start()
    sender = new_user(a, "a.test", "s")
    return a, mini, sender


def test_size_checked_before_sending(mailnet):
    a, mini, sender = mini_dest(mailnet, ext=("PIPELINING", "SIZE 1000"))
    rcpt = "big@mini.test"
    qid, _ = send_from(a, sender, rcpt, body="x" * 70 + "\r\n" * 1 + ("y" * 70 + "\r\n") * 30)
    m = a.wait_log(sent_line(qid, rcpt, "bounced"))
    assert m.group(2) == "5.3.4", m.group(0)
    assert mini.count("MAIL") == 0 and mini.count("DATA") == 0, \
        "sent though the server's SIZE is smaller: %r" % [s.commands for s in mini.sessions]
    a.wait_log(r"%s: sender non-delivery notification" % qid)


def test_helo_when_ehlo_is_refused(mailnet):
    a, mini, sender = mini_dest(mailnet, ehlo_ok=False)
    rcpt = "old@mini.test"
    qid, subject = send_from(a, sender, rcpt)
    a.wait_log(sent_line(qid, rcpt))
    msgs = mini.wait_messages(1)
    assert msgs[0]["rcpts"] == [rcpt]
    cmds = mini.sessions[-1].commands
    assert cmds[0].startswith("EHLO ") and cmds[1] == "HELO " + A_HOST, cmds
    assert not any(c.upper().startswith("MAIL FROM:<%s> SIZE" % sender.upper()) for c in cmds), \
        "ESMTP parameters after HELO: %r" % cmds


def test_no_pipelining_unless_offered(mailnet):
    a, mini, sender = mini_dest(mailnet, ext=("8BITMIME",))
    rcpts = ["p1@mini.test", "p2@mini.test", "p3@mini.test"]
    qid, _ = send_from(a, sender, rcpts)
    msgs = mini.wait_messages(1)
    assert sorted(msgs[0]["rcpts"]) == sorted(rcpts)
    for r in rcpts:
        a.wait_log(sent_line(qid, r))
    assert mini.violations == [], "pipelined without PIPELINING: %r" % mini.violations


def test_pipelining_and_partial_rcpt_failure(mailnet):
    """With PIPELINING the replies still come back in order: the refused
    recipient bounces, the others are sent."""
    refuse = {"RCPT": lambda s, arg: "550 5.1.1 no such user" if "nobody" in arg else None}
    a, mini, sender = mini_dest(mailnet, reply=refuse)
    good, bad = "good@mini.test", "nobody@mini.test"
    qid, _ = send_from(a, sender, [good, bad])
    msgs = mini.wait_messages(1)
    assert msgs[0]["rcpts"] == [good]
    a.wait_log(sent_line(qid, good))
    m = a.wait_log(sent_line(qid, bad, "bounced"))
    assert m.group(2) == "5.1.1" and "550 5.1.1 no such user" in m.group(4), m.group(0)


# ---- connections ----

def test_destination_limit_and_connection_reuse(mailnet):
    """smtp_destination_limit = 2: twelve messages queued at once reach B
    over at most two connections at a time, and connections carry several
    messages (fewer connects at B than messages)."""
    a, b, sender, rcpt = mailnet.pair(a_settings={"smtp_destination_limit": "2"})
    mark = b.log_mark()
    n = 12
    with a.smtp() as s:
        s.ehlo()
        for i in range(n):
            msg = make_msg(subject="conc %d" % i, sender=sender, to=rcpt)
            s.sendmail(sender, [rcpt], msg)
    b.wait_count(rcpt, n, timeout=2 * WAIT)
    wait_queue_empty(a)
    log = b.log()[mark:]
    connects = re.findall(r"(\w+): connect from \[127\.0\.0\.1\]", log)
    assert 1 <= len(connects) < n, \
        "B saw %d connections for %d messages: no reuse\n%s" % (len(connects), n, log)
    # At most two at once: walk B's connect and disconnect lines.
    open_now, most = set(), 0
    for m in re.finditer(r"(\w+): (connect|disconnect) from", log):
        if m.group(2) == "connect":
            open_now.add(m.group(1))
        else:
            open_now.discard(m.group(1))
        most = max(most, len(open_now))
    assert most <= 2, "B had %d connections from A at once\n%s" % (most, log)


def test_destination_limit_exact(mailnet):
    """The same with a slow scripted server that counts open connections
    exactly: never more than smtp_destination_limit at once."""
    mini = mailnet.mini(dot_delay=0.2)
    mailnet.dns.add("mini.test MX 10 mx.mini.test", "mx.mini.test A 127.0.0.1")
    a = mailnet.make_a(smtp_port=str(mini.port), smtp_destination_limit="2")
    a.start()
    sender = new_user(a, "a.test", "s")
    n = 10
    with a.smtp() as s:
        s.ehlo()
        for i in range(n):
            s.sendmail(sender, ["c%d@mini.test" % i],
                       make_msg(subject="exact %d" % i, sender=sender, to="c@mini.test"))
    mini.wait_messages(n, timeout=3 * WAIT)
    assert mini.max_active <= 2, "%d connections at once" % mini.max_active
    assert mini.connections < n, "%d connections for %d messages" % (mini.connections, n)
    wait_queue_empty(a)


def test_every_connection_hears_its_greeting(mailnet):
    """Twelve destination domains, all with B as their MX: twelve
    connections opened at once on loopback, where the greeting often
    arrives with the connect itself.  Every one must read its greeting
    and deliver at the first attempt (none waits for a greeting that
    came already, until the command timeout)."""
    domains = ["g%d.test" % i for i in range(1, 13)]
    b = mailnet.make_b(domains=["b.test"] + domains)
    b.start()
    mailnet.dns.add(*["%s MX 10 mx.b.test" % d for d in domains])
    a = mailnet.make_a(b, smtp_command_timeout="3s", queue_retry_min="1h")
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpts = [new_user(b, d, "r") for d in domains]
    qid, _ = send_from(a, sender, rcpts)
    results = {}
    for r in rcpts:
        m = a.wait_log(r"%s: to=<%s> .*status=(sent|deferred).*" % (qid, re.escape(r)))
        results[r] = m.group(0)
    failed = [v for v in results.values() if "status=sent attempts=1" not in v]
    assert not failed, "%d of %d first attempts failed:\n%s" % (len(failed), len(rcpts), "\n".join(failed))


def test_large_mx_set_over_tcp(mailnet):
    """An MX answer too large for UDP (40 records with long names) comes
    truncated; the client asks again over TCP and delivers to the best
    MX."""
    b = mailnet.make_b(domains=("b.test", "big.test"))
    b.start()
    filler = "a-rather-long-mail-exchanger-name-to-fill-the-answer"
    mailnet.dns.add("big.test MX 5 mx.b.test",
                    *["big.test MX 50 %s-%d.big.test" % (filler, i) for i in range(40)])
    a = mailnet.make_a(b)
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = new_user(b, "big.test", "r")
    qid, _ = send_from(a, sender, rcpt)
    b.wait_count(rcpt, 1)
    m = a.wait_log(sent_line(qid, rcpt))
    assert m.group(1) == "mx.b.test[127.0.0.1]:%d" % b.port, m.group(0)
    assert ("big.test", "MX") in mailnet.dns.tcp_queries, \
        "the truncated answer was not asked again over TCP: %r" % mailnet.dns.queries
