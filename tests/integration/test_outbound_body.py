"""
The SMTP client passes on each message's body type and SMTPUTF8 (RFC 6152,
RFC 6531): what the client of server A declared in MAIL FROM is recorded
in the queue file and declared again to the next hop when it offers the
extension.  8-bit mail goes as it is to a server without 8BITMIME; mail
that needs SMTPUTF8 bounces (5.6.7) at a server without it, before MAIL.
A DSN is declared 8BITMIME and SMTPUTF8 only when it holds UTF-8 itself
(a UTF-8 sender address).
"""

import pytest

from outlib import DSN, mailnet, sent_line, wait_queue_empty  # noqa: F401
from ternlib import WAIT, header, make_msg, new_user, uniq

NO_SMTPUTF8 = ("PIPELINING", "8BITMIME", "SIZE 10485760")
WITH_SMTPUTF8 = NO_SMTPUTF8 + ("SMTPUTF8",)
BODY_8BIT = "Grüße, ça va? 日本語\r\n"


def mini_dest(mailnet, **kw):
    """A MiniSMTP as the MX of mini.test, and A delivering to it; A has a
    local sender account."""
    mini = mailnet.mini(**kw)
    mailnet.dns.add("mini.test MX 10 mx.mini.test", "mx.mini.test A 127.0.0.1")
    a = mailnet.make_a(smtp_port=str(mini.port))
    a.start()
    return a, mini, new_user(a, "a.test", "s")


def send_with(a, sender, rcpts, options=(), body="Hello from A.\r\n"):
    """One message into A over port 25 with MAIL FROM parameters
    (options); returns (queue id, subject)."""
    subject = uniq("subj")
    msg = make_msg(subject=subject, sender=sender, to=rcpts[0], body=body)
    return a.send(rcpts, msg=msg, sender=sender, mail_options=options), subject


def mail_commands(mini):
    return [c for s in mini.sessions for c in s.commands
            if c.upper().startswith("MAIL ")]


def params(mail_cmd):
    """The ESMTP parameters of a MAIL command, upper case, but SIZE."""
    return [p.upper() for p in mail_cmd.split(">", 1)[1].split()
            if not p.upper().startswith("SIZE=")]


def test_8bitmime_passed_on_when_offered(mailnet):
    a, mini, sender = mini_dest(mailnet, ext=NO_SMTPUTF8)
    rcpt = "eight@mini.test"
    qid, _ = send_with(a, sender, [rcpt], ["BODY=8BITMIME"], body=BODY_8BIT)
    msgs = mini.wait_messages(1)
    a.wait_log(sent_line(qid, rcpt))
    cmds = mail_commands(mini)
    assert len(cmds) == 1 and "BODY=8BITMIME" in params(cmds[0]), cmds
    assert "SMTPUTF8" not in params(cmds[0]), cmds
    assert msgs[0]["data"].endswith(BODY_8BIT.encode()), msgs[0]["data"]


def test_plain_message_gets_no_body_parameter(mailnet):
    a, mini, sender = mini_dest(mailnet, ext=WITH_SMTPUTF8)
    rcpt = "plain@mini.test"
    qid, _ = send_with(a, sender, [rcpt])
    mini.wait_messages(1)
    a.wait_log(sent_line(qid, rcpt))
    cmds = mail_commands(mini)
    assert len(cmds) == 1, cmds
    assert not [p for p in params(cmds[0]) if p.startswith("BODY=") or p == "SMTPUTF8"], \
        "a 7bit message without SMTPUTF8 declared more: %r" % cmds


def test_8bit_sent_as_it_is_without_8bitmime(mailnet):
    """The choice written in docs/operations.md: no conversion, no bounce."""
    a, mini, sender = mini_dest(mailnet, ext=("PIPELINING", "SIZE 10485760"))
    rcpt = "old@mini.test"
    qid, _ = send_with(a, sender, [rcpt], ["BODY=8BITMIME"], body=BODY_8BIT)
    msgs = mini.wait_messages(1)
    a.wait_log(sent_line(qid, rcpt))
    cmds = mail_commands(mini)
    assert len(cmds) == 1 and not [p for p in params(cmds[0]) if p.startswith("BODY=")], \
        "BODY= to a server that does not offer 8BITMIME: %r" % cmds
    assert msgs[0]["data"].endswith(BODY_8BIT.encode()), msgs[0]["data"]


def test_smtputf8_passed_on_when_offered(mailnet):
    a, mini, sender = mini_dest(mailnet, ext=WITH_SMTPUTF8)
    rcpt = "jösé@mini.test"
    qid, _ = send_with(a, sender, [rcpt], ["SMTPUTF8", "BODY=8BITMIME"], body=BODY_8BIT)
    msgs = mini.wait_messages(1)
    assert msgs[0]["rcpts"] == [rcpt], msgs[0]
    cmds = mail_commands(mini)
    assert len(cmds) == 1 and "SMTPUTF8" in params(cmds[0]) and \
        "BODY=8BITMIME" in params(cmds[0]), cmds
    wait_queue_empty(a)


def test_smtputf8_not_offered_bounces_before_mail(mailnet):
    a, mini, sender = mini_dest(mailnet, ext=NO_SMTPUTF8)
    rcpt = "jösé@mini.test"
    qid, subject = send_with(a, sender, [rcpt], ["SMTPUTF8"])
    a.wait_log(r"%s: sender non-delivery notification: \w+" % qid)
    m = a.wait_log(r"%s: to=<[^>]*> orig_to=<[^>]*> relay=(\S+) delay=\d+s "
                   r"dsn=(\S+) status=bounced attempts=\d+ \((.*)\)" % qid)
    assert m.group(2) == "5.6.7", m.group(0)
    assert m.group(3) == ("SMTPUTF8 is required, but was not offered by host "
                          "mx.mini.test[127.0.0.1]"), m.group(0)

    raw = a.wait_count(sender, 1)[0]
    assert header(raw, "Return-Path") == "<>", raw[:300]
    dsn = DSN(raw)
    assert len(dsn.recipients) == 1, dsn.recipients
    r = dsn.recipients[0]
    assert r["Action"] == "failed" and r["Status"] == "5.6.7", r.items()
    diag = " ".join(r["Diagnostic-Code"].split())     # unfolded
    assert diag == ("X-Tern; SMTPUTF8 is required, but was not offered by host "
                    "mx.mini.test[127.0.0.1]"), r.items()
    assert ("Subject: " + subject) in dsn.headers.decode("utf-8", "replace")
    wait_queue_empty(a)
    assert mini.count("MAIL") == 0 and mini.messages == [], \
        "sent to a server without SMTPUTF8: %r" % [s.commands for s in mini.sessions]


def test_smtputf8_declared_but_not_needed_is_delivered(mailnet):
    """Issue 8, point 9: SMTPUTF8 declared, but ASCII addresses and
    headers (UTF-8 only in the body): no bounce at a server without
    SMTPUTF8; the message goes without the parameter, declared
    BODY=8BITMIME, as Postfix does."""
    a, mini, sender = mini_dest(mailnet, ext=NO_SMTPUTF8)
    rcpt = "ascii@mini.test"
    qid, subject = send_with(a, sender, [rcpt], ["SMTPUTF8"], body=BODY_8BIT)
    msgs = mini.wait_messages(1)
    a.wait_log(sent_line(qid, rcpt))
    assert msgs[0]["rcpts"] == [rcpt], msgs[0]
    assert msgs[0]["data"].endswith(BODY_8BIT.encode()), msgs[0]["data"]
    cmds = mail_commands(mini)
    assert len(cmds) == 1 and "SMTPUTF8" not in params(cmds[0]) and \
        "BODY=8BITMIME" in params(cmds[0]), cmds
    wait_queue_empty(a)
    assert not a.messages(sender), "a bounce for a message that did not need SMTPUTF8"


@pytest.mark.parametrize("where", ["sender", "header", "other_rcpt"])
def test_smtputf8_needed_bounces(mailnet, where):
    """What needs SMTPUTF8 with ASCII recipients at this hop: a UTF-8
    envelope sender, a raw UTF-8 header, or a UTF-8 address among the
    message's other recipients.  Bounced 5.6.7 before MAIL."""
    a, mini, sender = mini_dest(mailnet, ext=NO_SMTPUTF8)
    rcpt = "ascii@mini.test"
    rcpts, env_sender, extra = [rcpt], sender, ""
    if where == "sender":
        env_sender = "wrïter@mini.test"
    elif where == "header":
        extra = "Comments: Grüße\r\n"
    else:
        mailnet.dns.add("other.test MX 10 mx.other.test", "mx.other.test A 127.0.0.2")
        rcpts = [rcpt, "jösé@other.test"]
    msg = make_msg(subject=uniq("subj"), sender=env_sender, to=rcpt, extra=extra)
    qid = a.send(rcpts, msg=msg, sender=env_sender, mail_options=["SMTPUTF8"])
    m = a.wait_log(r"%s: to=<%s> orig_to=<[^>]*> relay=(\S+) delay=\d+s "
                   r"dsn=(\S+) status=bounced attempts=\d+ \((.*)\)" % (qid, rcpt))
    assert m.group(2) == "5.6.7", m.group(0)
    assert mini.count("MAIL") == 0 and mini.messages == [], \
        "sent to a server without SMTPUTF8: %r" % [s.commands for s in mini.sessions]


def test_dsn_declares_what_it_holds(mailnet):
    """A DSN quotes the original headers as quoted-printable, so the DSN of
    an 8BITMIME message to an ASCII sender is 7bit; a DSN to a UTF-8
    sender holds that address raw and goes with SMTPUTF8 and 8BITMIME."""
    refuse = {"RCPT": lambda s, arg: "550 5.1.1 no such user" if "nobody" in arg else None}
    a, mini, _ = mini_dest(mailnet, ext=WITH_SMTPUTF8, reply=refuse)
    cases = [("writer@mini.test", ["BODY=8BITMIME"], []),
             ("wrïter@mini.test", ["SMTPUTF8", "BODY=8BITMIME"], ["BODY=8BITMIME", "SMTPUTF8"])]
    for n, (sender, options, want) in enumerate(cases, 1):
        qid, _ = send_with(a, sender, ["nobody@mini.test"], options, body=BODY_8BIT)
        dsn_id = a.wait_log(r"%s: sender non-delivery notification: (\w+)" % qid).group(1)
        a.wait_log(sent_line(dsn_id, sender), timeout=WAIT)
        msgs = mini.wait_messages(n)
        assert msgs[-1]["mail_from"] == "" and msgs[-1]["rcpts"] == [sender], msgs[-1]
        DSN(msgs[-1]["data"])
        cmd = [c for c in mail_commands(mini) if c.startswith("MAIL FROM:<>")][-1]
        assert sorted(params(cmd)) == sorted(want), \
            "DSN to <%s>: MAIL parameters %r, want %r" % (sender, params(cmd), want)
    wait_queue_empty(a)
