"""
Helpers for the outbound tests (issue 5): two tern instances on loopback,
A (hostname a.tern.test, domain a.test) delivering to B (b.tern.test,
domain b.test) through a DNS server the test runs (dnsserver.py), a
scriptable SMTP server in a thread (MiniSMTP), Postfix's smtp-sink, a test
CA for the TLS policy, and a parser for the DSNs tern sends.

Ports: B listens on 127.0.0.1:PORT_B and A's smtp_port is PORT_B, so every
MX host is reached on that port; 127.0.0.2:PORT_B is free for a second
server (MiniSMTP, smtp-sink) or, left empty, for a host that is down.  A
listens on its own port, so B is never one of A's listening addresses
(A's loop detection would trip).

Fixture: `mailnet` (function scope; import it into the test module).
"""
import contextlib
import email
import email.policy
import os
import pwd
import re
import shutil
import socket
import socketserver
import subprocess
import threading
import time

import pytest

import conftest
import ternlib
from dnsserver import HAVE_DNSLIB, DNSServer, zone
from ternlib import IS_ROOT, WAIT, Tern, uniq, wait_until

A_HOST = "a.tern.test"
B_HOST = "b.tern.test"
SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"

needs_dnslib = ternlib.needs_package("python3-dnslib", HAVE_DNSLIB)
# smtp-sink comes with the postfix package (docs/testing.md says why).
needs_smtp_sink = ternlib.needs_package("postfix", os.access(SMTP_SINK, os.X_OK))
needs_127_0_0_2 = ternlib.needs_loopback_sources

# The zone every mailnet starts with: b.test's MX is B.
BASE_ZONE = ("b.test MX 10 mx.b.test", "mx.b.test A 127.0.0.1")


# ---------------------------------------------------------------------------
# A scriptable SMTP server
# ---------------------------------------------------------------------------

class MiniSession:
    """What one connection to MiniSMTP said and was told."""

    def __init__(self, server, n):
        self.server = server
        self.n = n                  # connection number, from 1
        self.commands = []
        self.mail_from = None
        self.rcpts = []
        self.tls = False


class ThreadedServer:
    """A TCP server on host:port (0: any free port) that runs serve(sock)
    for each connection in a thread of its own, until stop()."""

    def __init__(self, serve, host="127.0.0.1", port=0):
        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                with contextlib.suppress(OSError):
                    serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

        self._server = Server((host, port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         kwargs={"poll_interval": 0.1}).start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


class MiniSMTP:
    """An SMTP server in threads of the test process, one thread per
    connection, on host:port (port 0: a free one).

      ext        EHLO keywords (PIPELINING only when listed)
      greeting   the greeting line, or None to accept and close at once
      ehlo_ok    False: EHLO gets 502 (the client falls back to HELO)
      reply      {verb: fn(session, arg) -> reply line or None}: a reply of
                 the test's own for MAIL, RCPT, DATA, "." (end of data)...
      dot_delay  seconds to wait before the reply to the final dot

    Records: .messages (dicts: conn, mail_from, rcpts, data), .connections,
    .max_active, .sessions, .violations (pipelined commands that were not
    offered pipelining).  The active count drops before the reply to QUIT
    goes out, so a client that opens its next connection after that reply
    is never counted twice."""

    def __init__(self, host="127.0.0.1", port=0, hostname="mini.tern.test",
                 ext=("PIPELINING", "8BITMIME", "SIZE 10485760"),
                 greeting="220 {host} ESMTP mini", ehlo_ok=True, reply=None,
                 dot_delay=0.0):
        self.host, self.port = host, port
        self.hostname = hostname
        self.ext = list(ext)
        self.greeting = greeting
        self.ehlo_ok = ehlo_ok
        self.reply = dict(reply or {})
        self.dot_delay = dot_delay
        self.lock = threading.Lock()
        self.messages = []
        self.sessions = []
        self.violations = []
        self.connections = 0
        self.active = 0
        self.max_active = 0
        self.counts = {}            # verb -> times seen, over all sessions
        self._server = None

    # ---- life ----

    def start(self):
        self._server = ThreadedServer(self._serve, self.host, self.port)
        self.port = self._server.port
        return self

    def stop(self):
        if self._server is not None:
            self._server.stop()
            self._server = None

    # ---- what happened ----

    def count(self, verb):
        with self.lock:
            return self.counts.get(verb.upper(), 0)

    def wait_messages(self, n, timeout=WAIT):
        wait_until(lambda: len(self.messages) >= n, timeout)
        assert len(self.messages) == n, "MiniSMTP on %s:%d: got %d messages, want %d: %r" % (
            self.host, self.port, len(self.messages), n, self.messages)
        return list(self.messages)

    # ---- the protocol ----

    def _serve(self, sock):
        with self.lock:
            self.connections += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            s = MiniSession(self, self.connections)
            self.sessions.append(s)
        counted = [True]

        def leave():
            if counted[0]:
                counted[0] = False
                with self.lock:
                    self.active -= 1

        buf = [b""]
        sock.settimeout(2 * WAIT)

        def send(line):
            sock.sendall(line.encode() + b"\r\n")

        def readline():
            while b"\r\n" not in buf[0]:
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                buf[0] += chunk
            line, buf[0] = buf[0].split(b"\r\n", 1)
            return line

        try:
            if self.greeting is None:
                return
            send(self.greeting.format(host=self.hostname))
            if not self.greeting.startswith("220"):
                return
            pipelining = False
            while True:
                line = readline()
                if line is None:
                    return
                text = line.decode("utf-8", "replace")
                verb, _, arg = text.partition(" ")
                verb = verb.upper()
                s.commands.append(text)
                with self.lock:
                    self.counts[verb] = self.counts.get(verb, 0) + 1
                if buf[0] and not pipelining:
                    self.violations.append("conn %d: %r sent before the reply to %r"
                                           % (s.n, buf[0][:60], text))
                custom = self.reply.get(verb)
                got = custom(s, arg) if custom else None
                if verb in ("EHLO", "HELO"):
                    s.mail_from, s.rcpts = None, []
                    if got:
                        send(got)
                    elif verb == "EHLO" and not self.ehlo_ok:
                        send("502 5.5.2 EHLO not here")
                    elif verb == "EHLO":
                        lines = [self.hostname] + self.ext
                        for l in lines[:-1]:
                            send("250-" + l)
                        send("250 " + lines[-1])
                        pipelining = "PIPELINING" in self.ext
                    else:
                        send("250 " + self.hostname)
                elif verb == "MAIL":
                    m = re.match(r"(?i)FROM:<([^>]*)>", arg)
                    if got:
                        send(got)
                    elif not m:
                        send("501 5.5.4 syntax")
                    else:
                        s.mail_from, s.rcpts = m.group(1), []
                        send("250 2.1.0 ok")
                elif verb == "RCPT":
                    m = re.match(r"(?i)TO:<([^>]*)>", arg)
                    if got:
                        send(got)
                    elif s.mail_from is None:
                        send("503 5.5.1 need MAIL")
                    elif not m:
                        send("501 5.5.4 syntax")
                    else:
                        s.rcpts.append(m.group(1))
                        send("250 2.1.5 ok")
                    if got and got.startswith("2") and m:
                        s.rcpts.append(m.group(1))
                elif verb == "DATA":
                    if got:
                        send(got)
                        if not got.startswith("354"):
                            continue
                    elif not s.rcpts:
                        send("554 5.5.1 no valid recipients")
                        continue
                    else:
                        send("354 go ahead")
                    lines = []
                    while True:
                        l = readline()
                        if l is None:
                            return
                        if l == b".":
                            break
                        lines.append(l[1:] if l.startswith(b".") else l)
                    data = b"\r\n".join(lines) + b"\r\n"
                    with self.lock:
                        self.counts["."] = self.counts.get(".", 0) + 1
                    if self.dot_delay:
                        time.sleep(self.dot_delay)
                    custom = self.reply.get(".")
                    got = custom(s, data) if custom else None
                    if got is None or got.startswith("2"):
                        with self.lock:
                            self.messages.append({"conn": s.n, "mail_from": s.mail_from,
                                                  "rcpts": list(s.rcpts), "data": data})
                    send(got or "250 2.0.0 ok: queued")
                    s.mail_from, s.rcpts = None, []
                elif verb == "RSET":
                    s.mail_from, s.rcpts = None, []
                    send(got or "250 2.0.0 ok")
                elif verb == "NOOP":
                    send(got or "250 2.0.0 ok")
                elif verb == "AUTH":
                    send(got or "235 2.7.0 ok")
                elif verb == "QUIT":
                    leave()
                    send(got or "221 2.0.0 bye")
                    return
                else:
                    send(got or "502 5.5.2 unknown command")
        except OSError:
            return
        finally:
            leave()
            with contextlib.suppress(OSError):
                sock.close()


# ---------------------------------------------------------------------------
# Postfix's smtp-sink
# ---------------------------------------------------------------------------

class SmtpSink:
    """smtp-sink on host:port with options (e.g. "-f", "RCPT"); started
    and stopped by the test (mailnet stops every one it made)."""

    def __init__(self, port, *options, host="127.0.0.1", log_dir=None):
        self.host, self.port = host, port
        self.options = [str(o) for o in options]
        self.proc = None
        self.log_path = os.path.join(log_dir or "/tmp", "smtp-sink-%d.log" % port)

    def start(self):
        cmd = [SMTP_SINK]
        if IS_ROOT:
            cmd += ["-u", "nobody"]
        cmd += self.options + ["%s:%d" % (self.host, self.port), "100"]
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("smtp-sink exited: %s" % open(self.log_path).read())
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"220"):
                        s.sendall(b"QUIT\r\n")
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("smtp-sink on %s:%d never greeted" % (self.host, self.port))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


# ---------------------------------------------------------------------------
# A test CA
# ---------------------------------------------------------------------------

def make_ca(directory, name="Tern Test CA"):
    """A CA (key and self-signed certificate) in directory; returns
    (ca_cert, ca_key)."""
    cert = os.path.join(directory, "ca.pem")
    key = os.path.join(directory, "ca.key")
    subprocess.run([ternlib.OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + name,
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                   check=True, capture_output=True)
    os.chmod(cert, 0o644)
    return cert, key


def make_server_cert(directory, ca_cert, ca_key, dns_name, prefix="server", san=None):
    """A server certificate for dns_name (CN and subjectAltName, or san
    such as "IP:127.0.0.1") signed by the CA; returns (cert, key),
    readable by the server's user."""
    key = os.path.join(directory, prefix + ".key")
    csr = os.path.join(directory, prefix + ".csr")
    cert = os.path.join(directory, prefix + ".pem")
    ext = os.path.join(directory, prefix + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n"
                "basicConstraints=CA:FALSE\n" % (san or "DNS:" + dns_name))
    subprocess.run([ternlib.OPENSSL, "req", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", csr, "-subj", "/CN=" + dns_name],
                   check=True, capture_output=True)
    subprocess.run([ternlib.OPENSSL, "x509", "-req", "-in", csr, "-CA", ca_cert,
                    "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2",
                    "-extfile", ext], check=True, capture_output=True)
    os.chmod(cert, 0o644)
    os.chmod(key, 0o644)
    return cert, key


# ---------------------------------------------------------------------------
# DSNs
# ---------------------------------------------------------------------------

class DSN:
    """A delivery status notification, parsed with the email package and
    checked for the RFC 3464 shape: multipart/report with
    report-type=delivery-status, a human-readable part, a
    message/delivery-status part, and the original headers
    (text/rfc822-headers)."""

    def __init__(self, raw):
        self.raw = raw
        self.msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        m = self.msg
        assert m.get_content_type() == "multipart/report", \
            "DSN: Content-Type %r, want multipart/report\n%s" % (m.get_content_type(), raw[:2000])
        assert (m.get_param("report-type") or "").lower() == "delivery-status", \
            "DSN: report-type %r" % m.get_param("report-type")
        parts = m.get_payload()
        assert isinstance(parts, list) and len(parts) >= 2, "DSN parts: %r" % parts
        types = [p.get_content_type() for p in parts]
        assert types[0] == "text/plain", "first DSN part: %r" % types
        assert types[1] == "message/delivery-status", "second DSN part: %r" % types
        self.text = parts[0].get_payload(decode=True).decode("utf-8", "replace")
        blocks = parts[1].get_payload()
        assert isinstance(blocks, list) and len(blocks) >= 2, \
            "message/delivery-status: want per-message and per-recipient fields: %r" % blocks
        self.per_message = blocks[0]
        self.recipients = blocks[1:]
        self.headers = None
        if len(parts) > 2:
            assert types[2] in ("text/rfc822-headers", "message/rfc822"), \
                "third DSN part: %r" % types
            if types[2] == "text/rfc822-headers":
                self.headers = parts[2].get_payload(decode=True)
            else:
                self.headers = parts[2].get_payload()[0].as_bytes()

    def recipient(self, addr):
        """The per-recipient block whose Final-Recipient is addr."""
        for r in self.recipients:
            fr = r.get("Final-Recipient", "")
            if fr.split(";", 1)[-1].strip().lower() == addr.lower():
                return r
        raise AssertionError("DSN has no Final-Recipient %s: %r"
                             % (addr, [r.get("Final-Recipient") for r in self.recipients]))

    def final_recipients(self):
        return sorted(r.get("Final-Recipient", "").split(";", 1)[-1].strip().lower()
                      for r in self.recipients)


# ---------------------------------------------------------------------------
# The two servers and their DNS
# ---------------------------------------------------------------------------

def sent_line(qid, rcpt, status="sent"):
    """A regex for A's result line of one recipient."""
    return r"%s: to=<%s> orig_to=<[^>]*> relay=(\S+) delay=\d+s dsn=(\S+) status=%s attempts=(\d+) \((.*)\)" % (
        re.escape(qid), re.escape(rcpt), status)


class MailNet:
    """One test's world: the DNS server, B, A, and any extra SMTP
    servers; all stopped (and the terns checked and removed) at the end."""

    def __init__(self):
        self.dns = DNSServer(zone(*BASE_ZONE)).start()
        self.terns = []
        self.others = []
        self.dir = ternlib.make_tempdir("tern-net-")

    # ---- tern instances ----

    def make_b(self, cls=Tern, domains=("b.test",), **settings):
        """B: hostname b.tern.test, domain b.test; not started."""
        s = {"hostname": B_HOST}
        s.update(settings)
        b = cls(**s)
        self.terns.append(b)
        b.setup(domains=list(domains))
        return b

    def make_a(self, b=None, cls=Tern, domains=("a.test",), **settings):
        """A: hostname a.tern.test, domain a.test, relay_networks
        127.0.0.0/8, its DNS this test's server, smtp_port B's port, short
        retries; not started."""
        s = {
            "hostname": A_HOST,
            "dns_servers": "127.0.0.1:%d" % self.dns.port,
            "relay_networks": "127.0.0.0/8",
            "queue_retry_min": "1s",
            "queue_retry_max": "2s",
            "queue_lifetime": "1h",
            "smtp_connect_timeout": "5s",
            "smtp_command_timeout": "5s",
            "smtp_data_timeout": "%ds" % int(WAIT),
        }
        if b is not None:
            s["smtp_port"] = str(b.port)
        s.update(settings)
        a = cls(**s)
        self.terns.append(a)
        a.setup(domains=list(domains))
        return a

    def pair(self, a_settings=None, b_settings=None, start_b=True):
        """B (started unless told) and A started, with a sender account
        at A and a recipient account at B: (a, b, sender, rcpt)."""
        b = self.make_b(**(b_settings or {}))
        if start_b:
            b.start()
        a = self.make_a(b, **(a_settings or {}))
        a.start()
        sender = ternlib.new_user(a, "a.test", "s")
        rcpt = ternlib.new_user(b, "b.test", "r")
        return a, b, sender, rcpt

    # ---- other servers ----

    def mini(self, **kw):
        m = MiniSMTP(**kw).start()
        self.others.append(m)
        return m

    def sink(self, port, *options, host="127.0.0.1"):
        s = SmtpSink(port, *options, host=host, log_dir=self.dir).start()
        self.others.append(s)
        return s

    def close(self, failed):
        for o in self.others:
            with contextlib.suppress(Exception):
                o.stop()
        self.dns.stop()
        if failed:
            print("\nDNS questions: %r" % self.dns.queries[-40:])
        # A (made last) first: its idle connections to B close at once,
        # and B does not wait for them to stop.
        conftest._finish(list(reversed(self.terns)), failed)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def mailnet(request):
    if not HAVE_DNSLIB:
        pytest.skip("needs package python3-dnslib")
    failed_before = request.session.testsfailed
    net = MailNet()
    try:
        yield net
    finally:
        failed = request.session.testsfailed > failed_before or \
            getattr(request.node, "rep_call_failed", False)
        net.close(failed)


# ---------------------------------------------------------------------------
# Small things
# ---------------------------------------------------------------------------

def send_from(a, sender, rcpts, subject=None, body="Hello from A.\r\n", extra=""):
    """One message into A over port 25 (a relay_networks client), with a
    header From matching the sender; returns (queue id, subject)."""
    subject = subject or uniq("subj")
    if isinstance(rcpts, str):
        rcpts = [rcpts]
    msg = ternlib.make_msg(subject=subject, sender=sender or "nobody@a.test",
                           to=rcpts[0], body=body, extra=extra)
    return a.send(rcpts, msg=msg, sender=sender), subject


def queue_entry(t, qid):
    """tern queue list: the lines of message qid (empty when gone)."""
    out = t.cli("queue", "list").out
    lines, keep = [], False
    for line in out.split("\n"):
        if line and not line.startswith(" "):
            keep = line.startswith(qid)
        if keep and line:
            lines.append(line)
    return lines


def wait_queue_empty(t, timeout=WAIT):
    ok = wait_until(lambda: not t.queue_files(), timeout)
    assert ok, "queue of %s not empty: %r\n%s\n%s" % (
        t.settings["hostname"], t.queue_files(), t.cli("queue", "list").out, t.log_tail())


def chown_to_run_user(path):
    """Files the server's user must read (it reads them after dropping
    root) belong to it; mode 0600."""
    os.chmod(path, 0o600)
    if IS_ROOT:
        pw = pwd.getpwnam(ternlib.RUN_USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)
