"""
Issue 5, points 9 and 10: permanent failures and expired recipients come
back to the sender as a DSN (RFC 3464: multipart/report with a
human-readable part, message/delivery-status, the original headers); a
local sender gets it in its Maildir, a remote one through the SMTP client;
never to the null sender; recipients failing together are in one DSN.
"""
import re


from outlib import (A_HOST, DSN, chown_to_run_user, mailnet, needs_127_0_0_2, needs_smtp_sink,  # noqa: F401
                    send_from, sent_line, wait_queue_empty)
from ternlib import WAIT, free_port, header, new_user, uniq

BODY_MARK = "body-text-that-must-not-come-back"


def the_dsn(a, sender, timeout=WAIT):
    """The one DSN in sender's Maildir at A, parsed."""
    msgs = a.wait_count(sender, 1, timeout=timeout)
    raw = msgs[0]
    dsn = DSN(raw)
    assert header(raw, "Return-Path") == "<>", "a DSN comes from the null sender: %r" % raw[:300]
    assert header(raw, "To") == "<%s>" % sender
    assert ("MAILER-DAEMON@%s" % A_HOST) in header(raw, "From")
    assert header(raw, "Auto-Submitted") == "auto-replied"
    return dsn


def check_original_headers(dsn, subject):
    h = dsn.headers.decode("utf-8", "replace")
    assert "Subject: " + subject in h, "original headers missing the Subject:\n%s" % h
    assert "Message-ID: " in h, h
    assert BODY_MARK not in h and BODY_MARK not in dsn.raw.decode("utf-8", "replace"), \
        "the DSN carries the original body"


def test_unknown_user_at_b_bounces_to_the_local_sender(mailnet):
    a, b, sender, rcpt = mailnet.pair()
    bad = "nobody-%s@b.test" % uniq("x")
    qid, subject = send_from(a, sender, bad, body=BODY_MARK + "\r\n")
    m = a.wait_log(sent_line(qid, bad, "bounced"))
    assert m.group(2) == "5.1.1" and m.group(4).startswith("550 5.1.1"), m.group(0)
    assert m.group(1) == "mx.b.test[127.0.0.1]:%d" % b.port, m.group(0)
    a.wait_log(r"%s: sender non-delivery notification: \w+" % qid)

    dsn = the_dsn(a, sender)
    assert dsn.msg["Subject"] == "Undelivered Mail Returned to Sender"
    assert ("Reporting-MTA", "dns; " + A_HOST) in dsn.per_message.items(), dsn.per_message.items()
    r = dsn.recipient(bad)
    assert r["Action"] == "failed", r.items()
    assert r["Status"] == "5.1.1", r.items()
    assert r["Diagnostic-Code"].startswith("smtp; 550 5.1.1"), r.items()
    assert r["Remote-MTA"] == "dns; mx.b.test", r.items()
    assert bad in dsn.text and "550 5.1.1" in dsn.text, dsn.text
    check_original_headers(dsn, subject)
    wait_queue_empty(a)


def test_recipients_failing_together_share_one_dsn(mailnet):
    a, b, sender, rcpt = mailnet.pair()
    bad1, bad2 = "gone-%s@b.test" % uniq("x"), "gone-%s@b.test" % uniq("y")
    qid, subject = send_from(a, sender, [bad1, rcpt, bad2])
    b.wait_count(rcpt, 1)
    a.wait_log(sent_line(qid, bad1, "bounced"))
    a.wait_log(sent_line(qid, bad2, "bounced"))
    a.wait_log(sent_line(qid, rcpt))
    dsn = the_dsn(a, sender)
    assert dsn.final_recipients() == sorted([bad1, bad2]), dsn.final_recipients()
    for bad in (bad1, bad2):
        assert dsn.recipient(bad)["Status"] == "5.1.1"
    assert rcpt not in dsn.text, "the delivered recipient is in the DSN"
    assert len(re.findall(r"%s: sender non-delivery notification" % qid, a.log())) == 1
    wait_queue_empty(a)
    assert len(a.delivered(sender)) == 1


@needs_smtp_sink
def test_hard_reject_after_data_bounces_every_recipient(mailnet):
    """smtp-sink -f . refuses the message at the final dot with 5xx: every
    recipient of the transaction is in one DSN, with the remote reply."""
    port = free_port()
    mailnet.sink(port, "-f", ".")
    mailnet.dns.add("sink.test MX 10 mx.sink.test", "mx.sink.test A 127.0.0.1")
    a = mailnet.make_a(smtp_port=str(port))
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpts = ["one@sink.test", "two@sink.test"]
    qid, subject = send_from(a, sender, rcpts, body=BODY_MARK + "\r\n")
    for r in rcpts:
        m = a.wait_log(sent_line(qid, r, "bounced"))
        assert m.group(4).startswith("5") and m.group(2).startswith("5."), m.group(0)
    dsn = the_dsn(a, sender)
    assert dsn.final_recipients() == sorted(rcpts)
    for r in rcpts:
        rr = dsn.recipient(r)
        assert rr["Action"] == "failed" and rr["Status"].startswith("5."), rr.items()
        assert "smtp; 5" in rr["Diagnostic-Code"], rr.items()
    check_original_headers(dsn, subject)


@needs_smtp_sink
def test_hard_reject_of_rcpt_by_smtp_sink(mailnet):
    port = free_port()
    mailnet.sink(port, "-f", "RCPT", "-B", "550 5.1.1 Error: no such user here")
    mailnet.dns.add("sink.test MX 10 mx.sink.test", "mx.sink.test A 127.0.0.1")
    a = mailnet.make_a(smtp_port=str(port))
    a.start()
    sender = new_user(a, "a.test", "s")
    qid, subject = send_from(a, sender, "who@sink.test")
    m = a.wait_log(sent_line(qid, "who@sink.test", "bounced"))
    assert m.group(2) == "5.1.1" and "no such user here" in m.group(4), m.group(0)
    dsn = the_dsn(a, sender)
    assert dsn.recipient("who@sink.test")["Status"] == "5.1.1"
    check_original_headers(dsn, subject)


def test_no_bounce_to_the_null_sender(mailnet):
    a, b, sender, rcpt = mailnet.pair()
    bad = "nobody-%s@b.test" % uniq("x")
    qid, _ = send_from(a, "", bad)
    a.wait_log(sent_line(qid, bad, "bounced"))
    a.wait_log(r"%s: no bounce: the sender is the null sender" % qid)
    wait_queue_empty(a)
    assert not re.search(r"%s: sender non-delivery notification" % qid, a.log()), a.log_tail()
    # Nothing else left A for B either: only the one transaction.
    assert len(re.findall(r"reject RCPT", b.log())) == 1, b.log_tail()


@needs_127_0_0_2
def test_remote_sender_gets_the_dsn_by_smtp(mailnet):
    """The sender is at c.test, whose MX is a scripted server on
    127.0.0.2: the DSN goes there from the null sender.  When that server
    refuses the DSN too, there is no bounce of the bounce."""
    a, b, _, rcpt = mailnet.pair()
    refuse = {"RCPT": lambda s, arg: "550 5.1.1 gone too" if "gone" in arg else None}
    c = mailnet.mini(host="127.0.0.2", port=b.port, hostname="mx.c.test", reply=refuse)
    mailnet.dns.add("c.test MX 10 mx.c.test", "mx.c.test A 127.0.0.2")
    sender = "writer@c.test"
    bad = "nobody-%s@b.test" % uniq("x")
    qid, subject = send_from(a, sender, bad, body=BODY_MARK + "\r\n")
    a.wait_log(sent_line(qid, bad, "bounced"))
    dsn_id = a.wait_log(r"%s: sender non-delivery notification: (\w+)" % qid).group(1)
    msgs = c.wait_messages(1)
    assert msgs[0]["mail_from"] == "" and msgs[0]["rcpts"] == [sender], msgs[0]
    dsn = DSN(msgs[0]["data"])
    assert dsn.recipient(bad)["Status"] == "5.1.1"
    check_original_headers(dsn, subject)
    a.wait_log(sent_line(dsn_id, sender))

    # The same, but c.test refuses the DSN: it is dropped, not bounced.
    sender2 = "gone@c.test"
    qid2, _ = send_from(a, sender2, bad)
    dsn2 = a.wait_log(r"%s: sender non-delivery notification: (\w+)" % qid2).group(1)
    a.wait_log(sent_line(dsn2, sender2, "bounced"))
    a.wait_log(r"%s: no bounce: the sender is the null sender" % dsn2)
    wait_queue_empty(a)
    assert len(c.messages) == 1


def test_null_mx_bounces_at_once(mailnet):
    mailnet.dns.add("nullmx.test MX 0 .")
    a = mailnet.make_a(queue_retry_min="1h")
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = "anyone@nullmx.test"
    qid, subject = send_from(a, sender, rcpt)
    m = a.wait_log(sent_line(qid, rcpt, "bounced"))
    assert m.group(2) == "5.1.10" and m.group(3) == "1", m.group(0)
    assert "null MX" in m.group(4), m.group(0)
    dsn = the_dsn(a, sender)
    r = dsn.recipient(rcpt)
    assert r["Status"] == "5.1.10" and r["Action"] == "failed", r.items()
    check_original_headers(dsn, subject)
    wait_queue_empty(a)


def test_nonexistent_domain_bounces(mailnet):
    a = mailnet.make_a(queue_retry_min="1h")
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = "anyone@no-such-domain.test"
    qid, _ = send_from(a, sender, rcpt)
    m = a.wait_log(sent_line(qid, rcpt, "bounced"))
    assert m.group(2).startswith("5.1."), m.group(0)
    dsn = the_dsn(a, sender)
    assert dsn.recipient(rcpt)["Action"] == "failed"


def test_unreachable_host_defers_then_bounces_after_lifetime(mailnet):
    """The MX is 127.0.0.1 on a port where nothing listens: deferred at
    each attempt, then, queue_lifetime (3 s) after arrival, bounced with a
    DSN (4.4.7, delivery time expired) naming the last error."""
    dead = free_port()
    mailnet.dns.add("dead.test MX 10 mx.dead.test", "mx.dead.test A 127.0.0.1")
    a = mailnet.make_a(smtp_port=str(dead), queue_retry_min="1s", queue_retry_max="1s",
                       queue_lifetime="3s")
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = "someone@dead.test"
    qid, subject = send_from(a, sender, rcpt)
    m = a.wait_log(sent_line(qid, rcpt, "deferred"))
    assert m.group(3) == "1" and m.group(2).startswith("4."), m.group(0)
    assert "127.0.0.1" in m.group(4) and "refused" in m.group(4).lower(), m.group(0)
    entry = a.cli("queue", "list").out
    assert re.search(r"to=<%s> .*remote deferred attempts=\d+ next=\S+ \S+ \(.*refused" % rcpt, entry), entry

    m = a.wait_log(sent_line(qid, rcpt, "bounced"), timeout=WAIT + 3)
    assert m.group(2) == "4.4.7", m.group(0)
    assert "expired" in m.group(4), m.group(0)
    dsn = the_dsn(a, sender)
    r = dsn.recipient(rcpt)
    assert r["Action"] == "failed" and r["Status"] == "4.4.7", r.items()
    assert "refused" in r["Diagnostic-Code"].lower(), r.items()
    check_original_headers(dsn, subject)
    wait_queue_empty(a)


def test_local_mailbox_failing_past_lifetime_bounces(mailnet):
    """A local Maildir that cannot be written defers the recipient; once
    queue_lifetime (3 s) has passed, the next failure bounces it, with a
    DSN (4.4.7) naming the local error, as for a remote recipient."""
    a = mailnet.make_a(queue_retry_min="1s", queue_retry_max="1s", queue_lifetime="3s")
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = new_user(a, "a.test", "broken")
    send_from(a, sender, sender, subject="makes the domain folder")
    a.wait_count(sender, 1)
    # A plain file where rcpt's Maildir folder goes: every copy fails.
    with open(a.maildir(rcpt), "w"):
        pass
    chown_to_run_user(a.maildir(rcpt))

    qid, subject = send_from(a, sender, rcpt)
    a.wait_log(r"%s: to=<%s> orig_to=<[^>]*> status=deferred attempts=1" % (qid, re.escape(rcpt)))
    m = a.wait_log(sent_line(qid, rcpt, "bounced"), timeout=WAIT + 3)
    assert m.group(1) == "local" and m.group(2) == "4.4.7", m.group(0)
    assert "expired" in m.group(4), m.group(0)
    a.wait_log(r"%s: sender non-delivery notification: \w+" % qid)
    msgs = a.wait_count(sender, 2)
    dsn = DSN(msgs[-1])
    r = dsn.recipient(rcpt)
    assert r["Action"] == "failed" and r["Status"] == "4.4.7", r.items()
    assert "Remote-MTA" not in r, r.items()
    check_original_headers(dsn, subject)
    wait_queue_empty(a)
