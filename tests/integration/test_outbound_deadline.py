"""
Issue 8, point 4: a remote server cannot stretch one reply for ever by
sending a byte just inside each timeout.  Every reply has a deadline of
its own (smtp_reply_deadline for the reply to the final dot, half of it
for any other): a server that trickles a reply, a byte every half second
while smtp_command_timeout and smtp_data_timeout are 5s, is dropped at the
deadline and the message deferred.
"""
import socket
import threading
import time

import pytest

from outlib import ThreadedServer, mailnet, queue_entry, sent_line  # noqa: F401
from ternlib import WAIT, new_user, wait_until

DEADLINE = 4            # smtp_reply_deadline in these tests: 2s for a command
DRIP_EVERY = 0.5        # well inside every timeout (5s)
DRIP_MAX = 120          # the trickle gives up on its own after this


class DripSMTP:
    """An SMTP server that answers normally, but trickles one reply (the
    greeting, the reply to MAIL, or the reply to the final dot) a byte at
    a time, never ending it.  Records whether the client hung up while
    the trickle went on, and after how long."""

    def __init__(self, where):
        self.where = where
        self.hung_up_after = None
        self.dripped = threading.Event()
        self._server = None
        self.port = 0

    def start(self):
        self._server = ThreadedServer(self._serve)
        self.port = self._server.port
        return self

    def stop(self):
        if self._server is not None:
            self._server.stop()
            self._server = None

    def _trickle(self, sock):
        """A reply that never ends: "250 " and then a byte at a time."""
        self.dripped.set()
        t0 = time.monotonic()
        sock.settimeout(DRIP_EVERY)
        data = b"250 2.0.0 " + b"x" * 900
        for i in range(len(data)):
            if time.monotonic() - t0 > DRIP_MAX:
                return
            try:
                sock.sendall(data[i:i + 1])
                # The client hung up: recv returns b"" (or the send fails).
                if sock.recv(4096) == b"":
                    self.hung_up_after = time.monotonic() - t0
                    return
            except socket.timeout:
                continue
            except OSError:
                self.hung_up_after = time.monotonic() - t0
                return

    def _serve(self, sock):
        sock.settimeout(2 * WAIT)
        buf = b""

        def readline():
            nonlocal buf
            while b"\r\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                buf += chunk
            line, buf = buf.split(b"\r\n", 1)
            return line

        if self.where == "greeting":
            self._trickle(sock)
            return
        sock.sendall(b"220 drip.tern.test ESMTP\r\n")
        while True:
            line = readline()
            if line is None:
                return
            verb = line.split(b" ", 1)[0].upper()
            if verb == b"EHLO":
                sock.sendall(b"250-drip.tern.test\r\n250 8BITMIME\r\n")
            elif verb == b"MAIL" and self.where == "mail":
                self._trickle(sock)
                return
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                sock.sendall(b"250 2.0.0 ok\r\n")
            elif verb == b"DATA":
                sock.sendall(b"354 go ahead\r\n")
                while True:
                    line = readline()
                    if line is None:
                        return
                    if line == b".":
                        break
                self._trickle(sock)
                return
            elif verb == b"QUIT":
                sock.sendall(b"221 bye\r\n")
                return
            else:
                sock.sendall(b"502 5.5.2 no\r\n")


@pytest.mark.parametrize("where,late", [
    ("greeting", "the greeting took over 2s"),
    ("mail", "a reply took over 2s"),
    ("dot", "the reply to the end of the message took over 4s"),
])
def test_trickled_reply_meets_its_deadline(mailnet, where, late):
    drip = DripSMTP(where).start()
    mailnet.others.append(drip)
    mailnet.dns.add("drip.test MX 10 mx.drip.test", "mx.drip.test A 127.0.0.1")
    a = mailnet.make_a(smtp_port=str(drip.port), smtp_reply_deadline="%ds" % DEADLINE,
                       queue_retry_min="1h", queue_retry_max="1h")
    a.start()
    sender = new_user(a, "a.test", "s")
    rcpt = "r@drip.test"
    qid = a.send([rcpt], sender=sender)

    # Well past the deadline, well before the trickle would end by itself.
    m = a.wait_log(sent_line(qid, rcpt, status="deferred"), timeout=DEADLINE + 3 * WAIT)
    assert "timeout with mx.drip.test[127.0.0.1]" in m.group(4) and late in m.group(4) and \
        "(smtp_reply_deadline)" in m.group(4), m.group(0)
    assert drip.dripped.is_set()
    assert wait_until(lambda: drip.hung_up_after is not None, WAIT), \
        "the client never hung up on the trickling server"
    entry = queue_entry(a, qid)
    assert any("deferred" in l and "smtp_reply_deadline" in l for l in entry), entry
