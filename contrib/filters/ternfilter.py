"""
A small helper for writing tern filters in Python, standard library only:
the handshake, the line reader (with the message file descriptors that
ride along with data-end hooks), the field decoding, and the replies.
See docs/filters.md for the protocol itself (tern-filter 1).

    import ternfilter

    class MyFilter(ternfilter.Filter):
        reports = ("auth",)
        hooks = ("rcpt",)

        def on_report(self, event, fields):
            ...

        def on_hook(self, hook, fields, fd):
            return "proceed"        # or "defer 451 4.7.1 later", ...

    MyFilter().run()

A filter is a child of tern's master: stdin and stdout are one socket to
tern; stderr goes to tern's log.  Exit at the end of stdin.
"""
import os
import socket
import sys

VERSION = 1
LINE_MAX = 4096


def decode(field):
    """One field as tern wrote it: "-" is empty, %XX is the byte XX.
    Returns bytes (a client may send anything)."""
    if field == "-":
        return b""
    out = bytearray()
    i = 0
    while i < len(field):
        c = field[i]
        if c == "%":
            out.append(int(field[i + 1:i + 3], 16))
            i += 3
        else:
            out += c.encode("ascii")
            i += 1
    return bytes(out)


def text(field):
    """A field decoded to str, bytes that are not UTF-8 replaced."""
    return decode(field).decode("utf-8", "replace")


class Filter:
    """Subclass and set reports, hooks; override on_report, on_hook."""
    reports = ()
    hooks = ()
    version = VERSION

    def __init__(self):
        self.sock = socket.socket(fileno=0)
        self.buf = b""
        self.fds = []

    # ---- to override ----

    def on_report(self, event, fields):
        """event: "auth", ...; fields: the raw (still escaped) fields
        after the event name, the first being the session or queue id."""

    def on_hook(self, hook, fields, fd):
        """hook: "rcpt", ...; fields as for on_report; fd: for data-end,
        the message, open for reading at its first byte (close it).
        Returns the reply after the token: "proceed", "reject 550 ...",
        "defer 451 ...", "disconnect 421 ...", "add-header NAME VALUE",
        "hold [REASON]"."""
        if fd is not None:
            os.close(fd)
        return "proceed"

    # ---- the protocol ----

    def send(self, line):
        self.sock.sendall(line.encode() + b"\n")

    def lines(self):
        """Each line tern writes, as str without its LF; the end of the
        input ends the loop."""
        while True:
            while b"\n" not in self.buf:
                try:
                    data, anc, _flags, _addr = self.sock.recvmsg(
                        65536, socket.CMSG_SPACE(16 * 4))
                except InterruptedError:
                    continue
                for level, kind, payload in anc:
                    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                        n = len(payload) // 4
                        self.fds += list(memoryview(payload)[:n * 4].cast("i"))
                if not data:
                    return
                self.buf += data
            line, self.buf = self.buf.split(b"\n", 1)
            yield line.decode("ascii", "replace")

    def handshake(self, lines):
        hello = next(lines)
        if hello != "tern-filter %d" % VERSION:
            sys.stderr.write("ternfilter: tern said %r\n" % hello)
            sys.exit(1)
        self.send("tern-filter %d" % self.version)
        for r in self.reports:
            self.send("register report %s" % r)
        for h in self.hooks:
            self.send("register hook %s" % h)
        self.send("ready")

    def run(self):
        lines = self.lines()
        self.handshake(lines)
        for line in lines:
            words = line.split(" ")
            if words[0] == "report":
                self.on_report(words[1], words[2:])
            elif words[0] == "hook":
                token, hook, fields = words[1], words[2], words[3:]
                fd = self.fds.pop(0) if hook == "data-end" and self.fds else None
                reply = self.on_hook(hook, fields, fd)
                self.send("reply %s %s" % (token, reply))
