"""
Issue 5, point 8: outbound TLS.  smtp_tls_policy may (STARTTLS when
offered), encrypt (TLS or defer), verify (a chain to a trusted CA and the
MX host name, or defer), globally and per destination domain (`tern
tls-policy set`).  B's certificate for mx.b.test is signed by a CA the
test makes; A trusts it through smtp_tls_ca_file.  A policy that cannot be
met defers, with the reason in the log and in `tern queue list`.
"""
import contextlib
import os
import re
import shutil
import socket
import sqlite3
import ssl
import threading

import pytest

from outlib import (mailnet, make_ca, make_server_cert, needs_smtp_sink,  # noqa: F401
                    queue_entry, send_from, sent_line, wait_queue_empty)
from ternlib import WAIT, free_port, make_tempdir, new_user, wait_until


@pytest.fixture(scope="module")
def pki():
    d = make_tempdir("tern-ca-")
    ca, ca_key = make_ca(d)
    cert, key = make_server_cert(d, ca, ca_key, "mx.b.test")
    yield {"ca": ca, "cert": cert, "key": key, "dir": d}
    shutil.rmtree(d, ignore_errors=True)


def tls_pair(mailnet, pki, domains=("b.test",), **a_settings):
    b = mailnet.make_b(domains=domains, tls_cert=pki["cert"], tls_key=pki["key"])
    b.start()
    a = mailnet.make_a(b, queue_retry_min="1h", queue_retry_max="1h", **a_settings)
    a.start()
    sender = new_user(a, "a.test", "s")
    return a, b, sender


def assert_deferred_with(a, qid, rcpt, words):
    """Deferred; the reason, in the log and in `tern queue list`, holds
    each of words (case-insensitive)."""
    m = a.wait_log(sent_line(qid, rcpt, "deferred"))
    reason = m.group(4)
    for w in words:
        assert w.lower() in reason.lower(), "reason %r does not say %r" % (reason, w)
    assert wait_until(lambda: "deferred" in "\n".join(queue_entry(a, qid)))
    entry = "\n".join(queue_entry(a, qid))
    assert reason in entry, "queue list does not give the reason %r:\n%s" % (reason, entry)
    return reason


def test_verify_succeeds_with_the_test_ca(mailnet, pki):
    a, b, sender = tls_pair(mailnet, pki, smtp_tls_policy="verify", smtp_tls_ca_file=pki["ca"])
    rcpt = new_user(b, "b.test", "r")
    mark = b.log_mark()
    qid, _ = send_from(a, sender, rcpt)
    m = a.wait_log(sent_line(qid, rcpt))
    assert m.group(1) == "mx.b.test[127.0.0.1]:%d" % b.port
    msgs = b.wait_count(rcpt, 1)
    b.wait_log(r"TLS established from \[127\.0\.0\.1\]", since=mark)
    assert b"with ESMTPS" in msgs[0], msgs[0][:600]
    wait_queue_empty(a)


def test_verify_a_literal_relayhost_by_its_address(mailnet, pki):
    """relayhost = [127.0.0.1]:PORT under verify: the certificate must name
    that address (an IP subjectAltName), not a DNS name "127.0.0.1"."""
    cert, key = make_server_cert(pki["dir"], pki["ca"], pki["ca"].replace("ca.pem", "ca.key"),
                                 "127.0.0.1", prefix="ip", san="IP:127.0.0.1")
    b = mailnet.make_b(tls_cert=cert, tls_key=key)
    b.start()
    a = mailnet.make_a(relayhost="[127.0.0.1]:%d" % b.port, smtp_tls_policy="verify",
                       smtp_tls_ca_file=pki["ca"])
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = new_user(b, "b.test", "r")
    qid, _ = send_from(a, sender, rcpt)
    a.wait_log(sent_line(qid, rcpt))
    b.wait_count(rcpt, 1)


class SniRecorder:
    """A STARTTLS server on 127.0.0.1 that records the server name (SNI)
    each TLS client asks for, then ends the session with a 421."""

    def __init__(self, cert, key):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.ctx.sni_callback = lambda sock, name, ctx: self.names.append(name)
        self.names = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(WAIT)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        with contextlib.suppress(OSError):
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(WAIT)
                f = conn.makefile("rb")
                conn.sendall(b"220 sni.test ESMTP\r\n")
                f.readline()
                conn.sendall(b"250-sni.test\r\n250 STARTTLS\r\n")
                f.readline()
                conn.sendall(b"220 go ahead\r\n")
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1024)
                    tls.sendall(b"421 4.3.0 seen enough\r\n")

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("literal", [True, False], ids=["address", "name"])
def test_sni_only_for_a_host_name(mailnet, pki, literal):
    """RFC 6066 3: no SNI for an address literal (relayhost [127.0.0.1]);
    the host name otherwise."""
    rec = SniRecorder(pki["cert"], pki["key"])
    try:
        relay = "[127.0.0.1]:%d" % rec.port if literal else "[mx.b.test]:%d" % rec.port
        mailnet.dns.add("mx.b.test A 127.0.0.1")
        a = mailnet.make_a(relayhost=relay)
        a.start()
        sender = new_user(a, "a.test", "s")
        qid, _ = send_from(a, sender, "r@b.test")
        a.wait_log(sent_line(qid, "r@b.test", "deferred"))
        assert rec.names == ([None] if literal else ["mx.b.test"]), rec.names
    finally:
        rec.close()


def verify_failure(mailnet, pki, case):
    """Deferred under verify: "name" (wrong.test's MX is other.wrong.test,
    at B, whose certificate names mx.b.test: trusted chain, wrong name) or
    "ca" (mx.b.test, but A trusts only the system's store).  Returns the
    reason."""
    if case == "name":
        mailnet.dns.add("wrong.test MX 10 other.wrong.test", "other.wrong.test A 127.0.0.1")
        a, b, sender = tls_pair(mailnet, pki, domains=("b.test", "wrong.test"),
                                smtp_tls_policy="verify", smtp_tls_ca_file=pki["ca"])
        rcpt, host = new_user(b, "wrong.test", "r"), "other.wrong.test"
    else:
        a, b, sender = tls_pair(mailnet, pki, smtp_tls_policy="verify")
        rcpt, host = new_user(b, "b.test", "r"), "mx.b.test"
    qid, _ = send_from(a, sender, rcpt)
    reason = assert_deferred_with(a, qid, rcpt, ["TLS", host])
    assert b.delivered(rcpt) == []
    assert not re.search(r"queued id=", b.log()), "B took the mail:\n%s" % b.log_tail()
    return reason


@pytest.mark.parametrize("case", ["name", "ca"], ids=["wrong-name", "without-ca"])
def test_verify_failure_defers(mailnet, pki, case):
    reason = verify_failure(mailnet, pki, case)
    assert "verif" in reason.lower(), reason


@pytest.mark.parametrize("case", ["name", "ca"], ids=["wrong-name", "without-ca"])
def test_verify_failure_says_why(mailnet, pki, case):
    """The reason tells the postmaster what to fix: the name (the MX or
    the certificate) or the trust (smtp_tls_ca_file), not only that
    verification failed."""
    reason = verify_failure(mailnet, pki, case)
    if case == "name":
        assert re.search(r"(?i)hostname|name mismatch|does not match", reason), \
            "the reason does not say that the name did not match: %r" % reason
    else:
        assert re.search(r"(?i)issuer|untrusted|not trusted|self.signed|unable to get", reason), \
            "the reason does not say that the chain is not trusted: %r" % reason


def test_encrypt_takes_any_certificate(mailnet, pki):
    """encrypt wants TLS, not a trusted certificate: B's self-signed one
    (no tls_cert) will do."""
    b = mailnet.make_b()
    b.start()
    a = mailnet.make_a(b, smtp_tls_policy="encrypt")
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = new_user(b, "b.test", "r")
    mark = b.log_mark()
    qid, _ = send_from(a, sender, rcpt)
    a.wait_log(sent_line(qid, rcpt))
    b.wait_count(rcpt, 1)
    b.wait_log(r"TLS established from \[127\.0\.0\.1\]", since=mark)


def sink_dest(mailnet, **a_settings):
    """smtp-sink (which offers no STARTTLS) as the MX of sink.test."""
    port = free_port()
    mailnet.sink(port)
    mailnet.dns.add("sink.test MX 10 mx.sink.test", "mx.sink.test A 127.0.0.1")
    a = mailnet.make_a(smtp_port=str(port), queue_retry_min="1h", queue_retry_max="1h",
                       **a_settings)
    a.start()
    return a, new_user(a, "a.test", "s")


@needs_smtp_sink
@pytest.mark.parametrize("policy", ["encrypt", "verify"])
def test_tls_required_but_not_offered_defers(mailnet, policy):
    a, sender = sink_dest(mailnet, smtp_tls_policy=policy)
    qid, _ = send_from(a, sender, "user@sink.test")
    assert_deferred_with(a, qid, "user@sink.test", ["TLS", "STARTTLS", "mx.sink.test"])


@needs_smtp_sink
def test_may_sends_in_the_clear_without_starttls(mailnet):
    a, sender = sink_dest(mailnet)
    qid, _ = send_from(a, sender, "user@sink.test")
    a.wait_log(sent_line(qid, "user@sink.test"))


@needs_smtp_sink
def test_per_domain_policy_overrides_the_global_one(mailnet):
    """smtp_tls_policy may, but `tern tls-policy set sink.test encrypt`:
    mail to sink.test (no STARTTLS there) defers."""
    a, sender = sink_dest(mailnet)
    r = a.cli("tls-policy", "set", "sink.test", "encrypt")
    assert "sink.test" in r.out and "encrypt" in r.out, r
    assert "sink.test\tencrypt" in a.cli("tls-policy", "list").out
    qid, _ = send_from(a, sender, "user@sink.test")
    m = a.wait_log(r"%s: to=<user@sink.test> .*status=(sent|deferred).*" % qid)
    assert m.group(1) == "deferred", \
        "tls-policy encrypt for sink.test, yet sent without TLS: %s" % m.group(0)
    assert "STARTTLS" in m.group(0), m.group(0)


@needs_smtp_sink
def test_unknown_domain_policy_defers_not_falls_back(mailnet):
    """A domain policy lookup cannot read (here a word this tern does not
    know, written behind its back) must not fall back to smtp_tls_policy
    (may), which could be weaker: the mail waits."""
    a, sender = sink_dest(mailnet)
    a.cli("tls-policy", "set", "sink.test", "encrypt")
    con = sqlite3.connect(os.path.join(a.state_dir, "tern.db"))
    try:
        con.execute("PRAGMA ignore_check_constraints = 1")
        con.execute("UPDATE tls_policies SET policy = 'stricter-than-you-know' "
                    "WHERE domain = 'sink.test'")
        con.commit()
    finally:
        con.close()
    qid, _ = send_from(a, sender, "user@sink.test")
    m = a.wait_log(r"%s: to=<user@sink.test> .*status=(sent|deferred).*" % qid)
    assert m.group(1) == "deferred", "policy unknown, yet sent: %s" % m.group(0)
    assert "TLS policy of sink.test unknown" in m.group(0), m.group(0)


@needs_smtp_sink
def test_relayhost_connection_not_shared_across_policies(mailnet):
    """Through one relayhost (smtp-sink, no STARTTLS), mail for a domain
    set to encrypt must not ride the idle clear-text connection that mail
    for a 'may' domain has just used: it defers."""
    port = free_port()
    mailnet.sink(port)
    a = mailnet.make_a(relayhost="[127.0.0.1]:%d" % port, queue_retry_min="1h",
                       queue_retry_max="1h")
    a.start()
    sender = new_user(a, "a.test", "s")
    a.cli("tls-policy", "set", "strict.test", "encrypt")
    qid, _ = send_from(a, sender, "user@open.test")
    a.wait_log(sent_line(qid, "user@open.test"))
    qid, _ = send_from(a, sender, "user@strict.test")
    m = a.wait_log(r"%s: to=<user@strict.test> .*status=(sent|deferred).*" % qid)
    assert m.group(1) == "deferred", "encrypt domain sent in clear text: %s" % m.group(0)
