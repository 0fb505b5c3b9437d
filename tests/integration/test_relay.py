"""
Issue 5, points 5 and 6: relayhost (a smarthost for all remote mail, with
AUTH PLAIN from relayhost_password_file only over TLS) and relay_networks
(clients that may relay without AUTH, as Postfix's mynetworks), and an
authenticated submission user relaying.
"""
import os
import re
import smtplib
import pytest

import ternlib
from outlib import (chown_to_run_user, mailnet, needs_127_0_0_2, send_from,  # noqa: F401
                    sent_line, wait_queue_empty)
from ternlib import SubTern, add_account, make_msg, new_user


@pytest.mark.parametrize("form", ["[127.0.0.1]:PORT", "[mx.b.test]:PORT", "relay.test:PORT"])
def test_relayhost(mailnet, form):
    """Everything remote goes to the relayhost, on its port (smtp_port is
    a dead one here): "[host]:port" without an MX lookup (an address: no
    DNS at all), "host:port" with one."""
    b = mailnet.make_b()
    b.start()
    relayhost = form.replace("PORT", str(b.port))
    mailnet.dns.add("relay.test MX 10 mx.b.test")
    a = mailnet.make_a(relayhost=relayhost, smtp_port="9")
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = new_user(b, "b.test", "r")
    qid, subject = send_from(a, sender, rcpt)
    b.wait_count(rcpt, 1)
    m = a.wait_log(sent_line(qid, rcpt))
    host = {"[127.0.0.1]:PORT": "127.0.0.1", "[mx.b.test]:PORT": "mx.b.test",
            "relay.test:PORT": "mx.b.test"}[form]
    assert m.group(1) == "%s[127.0.0.1]:%d" % (host, b.port), m.group(0)
    q = mailnet.dns.queries
    assert ("b.test", "MX") not in q, "relayhost set, yet the recipient's MX was looked up: %r" % q
    if form == "[127.0.0.1]:PORT":
        assert q == [], "an address as relayhost needs no DNS: %r" % q
    elif form == "[mx.b.test]:PORT":
        assert ("mx.b.test", "MX") not in q and ("mx.b.test", "A") in q, q
    else:
        assert ("relay.test", "MX") in q, q
    wait_queue_empty(a)


@ternlib.needs_ipv6_loopback
@pytest.mark.parametrize("form", ["[IPv6:::1]:PORT", "[::1]:PORT", "[ipv6:0:0:0:0:0:0:0:1]:PORT"])
def test_relayhost_ipv6_literal(mailnet, form):
    """A relayhost written as an IPv6 address literal, with or without the
    tag of RFC 5321 ("IPv6:"), is that address: no MX, A or AAAA lookup,
    and the mail arrives at a server on ::1."""
    mini = mailnet.mini(host="::1")
    a = mailnet.make_a(relayhost=form.replace("PORT", str(mini.port)), smtp_port="9")
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = "r@b.test"
    qid, subject = send_from(a, sender, rcpt)
    msgs = mini.wait_messages(1)
    assert msgs[0]["rcpts"] == [rcpt], msgs
    m = a.wait_log(sent_line(qid, rcpt))
    assert m.group(1).endswith("[::1]:%d" % mini.port), m.group(0)
    assert mailnet.dns.queries == [], \
        "an address literal as relayhost needs no DNS: %r" % mailnet.dns.queries
    wait_queue_empty(a)


@needs_127_0_0_2
def test_relay_networks(mailnet):
    """relay_networks = 127.0.0.2/32: a client from 127.0.0.2 relays
    without AUTH, and may use a sender of tern's own domains (exempt from
    reject_unauthenticated_local_sender); its session is logged
    relay=network.  From 127.0.0.1 the same is refused."""
    a, b, sender, rcpt = mailnet.pair(a_settings={"relay_networks": "127.0.0.2/32"})

    with smtplib.SMTP("127.0.0.1", a.port, local_hostname="client.test",
                      source_address=("127.0.0.1", 0), timeout=10) as s:
        s.ehlo()
        code, text = s.mail("someone@elsewhere.test")
        assert code == 250, (code, text)
        code, text = s.rcpt(rcpt)
        assert code == 554 and b"5.7.1" in text, "outside relay_networks: got %d %r" % (code, text)
        s.rset()
        code, text = s.mail(sender)
        assert code == 553, "unauthenticated local sender outside relay_networks: %d %r" % (code, text)

    mark = a.log_mark()
    msg = make_msg(sender=sender, to=rcpt, subject="from the scanner")
    with smtplib.SMTP("127.0.0.1", a.port, local_hostname="scanner.test",
                      source_address=("127.0.0.2", 0), timeout=10) as s:
        s.ehlo()
        code, text = s.mail(sender)
        assert code == 250, "relay_networks client with a local sender: %d %r" % (code, text)
        code, text = s.rcpt(rcpt)
        assert code == 250, "relay_networks client relaying: %d %r" % (code, text)
        code, text = s.data(msg)
        assert code == 250, (code, text)
    a.wait_log(r"connect from \[127\.0\.0\.2\]:\d+ port=smtp relay=network", since=mark)
    msgs = b.wait_count(rcpt, 1)
    assert b"Subject: from the scanner" in msgs[0]
    assert not re.search(r"connect from \[127\.0\.0\.1\]:\d+ port=smtp relay=network", a.log()), \
        "127.0.0.1 marked relay=network"


def test_authenticated_submission_relays(mailnet):
    b = mailnet.make_b()
    b.start()
    a = mailnet.make_a(b, cls=SubTern, relay_networks="")
    a.start()
    password = "sub-secret-123"
    login = add_account(a, "alice@a.test", password)
    rcpt = new_user(b, "b.test", "r")
    # Port 25 without AUTH, from outside relay_networks (it is empty): no relay.
    with a.smtp() as s:
        s.ehlo()
        s.mail("x@elsewhere.test")
        code, _ = s.rcpt(rcpt)
        assert code == 554
    qid = a.send_auth(login, password, [rcpt], subject="submitted")
    msgs = b.wait_count(rcpt, 1)
    assert b"Subject: submitted" in msgs[0]
    m = a.wait_log(sent_line(qid, rcpt))
    assert m.group(1) == "mx.b.test[127.0.0.1]:%d" % b.port
    wait_queue_empty(a)


def test_relayhost_auth_over_tls(mailnet):
    """relayhost_password_file: A logs in at B (AUTH on port 25 inside
    TLS) with AUTH PLAIN and relays there."""
    b = mailnet.make_b(smtpd_auth_on_smtp="yes")
    b.start()
    password = "relay-secret-123"
    login = add_account(b, "relay@b.test", password)
    b.cli("sender", "allow", login, "*@a.test")
    pwfile = os.path.join(mailnet.dir, "relay-password")
    with open(pwfile, "w") as f:
        f.write("%s %s\n" % (login, password))
    chown_to_run_user(pwfile)
    a = mailnet.make_a(relayhost="[127.0.0.1]:%d" % b.port, relayhost_password_file=pwfile)
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = new_user(b, "b.test", "r")
    mark = b.log_mark()
    qid, _ = send_from(a, sender, rcpt)
    b.wait_count(rcpt, 1)
    a.wait_log(sent_line(qid, rcpt))
    b.wait_log(r"TLS established from \[127\.0\.0\.1\]", since=mark)
    b.wait_log(r"auth ok login=%s method=PLAIN" % re.escape(login), since=mark)
    assert password not in a.log(), "the relayhost password is in A's log"


def test_relayhost_auth_never_in_the_clear(mailnet):
    """A relayhost that offers AUTH but no STARTTLS: the password is not
    sent; the mail goes without AUTH."""
    mini = mailnet.mini(ext=("PIPELINING", "AUTH PLAIN LOGIN"))
    pwfile = os.path.join(mailnet.dir, "relay-password")
    with open(pwfile, "w") as f:
        f.write("relay@b.test relay-secret-123\n")
    chown_to_run_user(pwfile)
    a = mailnet.make_a(relayhost="[127.0.0.1]:%d" % mini.port, relayhost_password_file=pwfile)
    a.start()
    sender = new_user(a, "a.test", "s")
    qid, _ = send_from(a, sender, "far@elsewhere.test")
    mini.wait_messages(1)
    a.wait_log(sent_line(qid, "far@elsewhere.test"))
    cmds = [c for s in mini.sessions for c in s.commands]
    assert not any(c.upper().startswith("AUTH") for c in cmds), \
        "AUTH sent without TLS: %r" % cmds


def test_envelope_larger_than_the_write_buffer(mailnet):
    """150 long remote recipients make an envelope of about 80 KB, more
    than smtpd's 64 KiB write buffer: the message is queued whole (smtpd
    once aborted on it, taking every session with it)."""
    a = mailnet.make_a(queue_retry_min="1h")
    a.start()
    domain = ".".join(["d" * 60] * 3) + ".test"
    rcpts = ["%s%03d@%s" % ("r" * 60, i, domain) for i in range(150)]
    qid = a.send(rcpts, msg=make_msg(subject="many recipients"))
    a.wait_log(r"queued id=%s .* nrcpt=150 status=queued" % qid)
    assert a.running(), "smtpd went down:\n%s" % a.log_tail()
    a.send(rcpts[0], msg=make_msg(subject="still serving"))
