"""
Helpers for the integration tests: a real `tern serve` in a temporary
directory on a loopback high port, the admin commands, a raw SMTP client for
what smtplib will not send (bare LF/CR, NUL, long lines, pipelining), and
bounded waits on the log and the Maildirs.

Every wait here is bounded; every process started here is stopped by
Tern.stop() (SIGTERM to master, then SIGKILL of its whole process group).
"""
import collections
import contextlib
import itertools
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TERN_BIN = os.environ.get("TERN_BIN") or os.path.join(REPO, "build", "tern")

IS_ROOT = os.geteuid() == 0
# The account the server drops to when started by root; as an ordinary user
# no switch happens and the setting is not used.
RUN_USER = "tern" if IS_ROOT else pwd.getpwuid(os.getuid()).pw_name

# Under ASan everything is slower: waits are generous but always bounded.
WAIT = float(os.environ.get("TERN_TEST_WAIT", "10"))

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer",
                   "SUMMARY: AddressSanitizer")

# A test may skip only for what the machine itself cannot give (root, IPv6
# on the loopback, extra loopback source addresses): its reason then starts
# with MACHINE.  A missing package is never such a reason: scripts/deps.sh
# installs every one, and conftest.py fails the run on any other skip,
# naming the package (needs_package).
MACHINE = "machine: "


def machine_skip(reason):
    pytest.skip(MACHINE + reason)


def needs_package(package, present):
    """Marks a test that needs a Debian package; without it the test skips
    and the run fails at its end with the package's name."""
    return pytest.mark.skipif(not present, reason="needs package %s" % package)


root_only = pytest.mark.skipif(not IS_ROOT,
                               reason=MACHINE + "checks the privilege drop: needs root")

_counter = itertools.count(1)


def uniq(prefix="m"):
    """A short name unique in this test run (lower case, Maildir-safe)."""
    return "%s%d%s" % (prefix, next(_counter), uuid.uuid4().hex[:6])


_recent_ports = collections.deque(maxlen=256)


def free_port():
    """A free 127.0.0.1 port, never one of the last 256 handed out: the
    kernel may give the same one to two bind(0) calls in a row once the
    first socket is closed, and one instance's listeners must differ
    (Dovecot refused a config with a port twice)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _recent_ports:
            _recent_ports.append(port)
            return port


def make_tempdir(prefix="tern-it-"):
    """A directory the server's user can traverse: /tmp, mode 0755
    (pytest's tmp_path is 0700 under a root-only parent)."""
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(d, 0o755)
    return d


def make_msg(subject=None, msgid=None, body="Hello.\r\n", sender="sender@client.test",
             to="rcpt@example.test", extra=""):
    """A small RFC 5322 message with CRLF line ends, as bytes."""
    subject = subject or uniq("subj")
    msgid = msgid or "<%s@client.test>" % uuid.uuid4().hex
    text = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: %s\r\n%s\r\n%s"
            % (sender, to, subject, msgid, extra, body))
    return text.encode("utf-8")


def header_lines(raw):
    """The header section of a delivered message, unfolded, as a list of
    (name, value) in order."""
    text = raw.decode("utf-8", "replace").replace("\r\n", "\n")
    head = text.split("\n\n", 1)[0]
    out = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + " " + line.strip())
        elif ":" in line:
            name, value = line.split(":", 1)
            out.append((name, value.strip()))
    return out


def header(raw, name):
    for n, v in header_lines(raw):
        if n.lower() == name.lower():
            return v
    return None


def body_of(raw):
    text = raw.replace(b"\r\n", b"\n")
    parts = text.split(b"\n\n", 1)
    return parts[1] if len(parts) == 2 else b""


def wait_until(pred, timeout=WAIT, interval=0.05):
    """Polls pred until it returns something true or timeout passes;
    returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def pids_where(field, value):
    """Live processes whose /proc/PID/stat field (counted after the
    command name: 0 state, 1 ppid, 2 process group, 3 session) is value."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > field and int(fields[field]) == value and fields[0] != "Z":
            out.append(int(name))
    return out


def pids_with_parent(ppid):
    """Processes whose parent is ppid, from /proc."""
    return pids_where(1, ppid)


def proc_status(pid):
    """/proc/PID/status as a dict of strings."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class CliResult:
    def __init__(self, args, proc):
        self.args = args
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return ("tern %s -> rc=%d\nstdout: %r\nstderr: %r"
                % (" ".join(self.args), self.rc, self.out, self.err))


class Tern:
    """One tern instance: its config, state_dir, log and server process."""

    # A command that runs `tern serve` (unshare, say); none by default.
    WRAPPER = ()

    def __init__(self, base=None, **settings):
        self.base = base or make_tempdir()
        self.conf_path = os.path.join(self.base, "tern.conf")
        self.state_dir = os.path.join(self.base, "state")
        self.log_path = os.path.join(self.base, "serve.log")
        self.port = free_port()
        self.settings = {
            "hostname": "mx.example.test",
            "state_dir": self.state_dir,
            "listen_smtp": "127.0.0.1:%d" % self.port,
            # The submission ports default to 587 and 465 on every
            # address: a test that wants them names its own.
            "listen_submission": "",
            "listen_submissions": "",
            # No DNS query may leave the machine: a port where no server
            # answers makes every lookup fail at once, as a temporary error.
            "dns_servers": "127.0.0.1:9",
            # Port 25's screen lets loopback in at once, as a site lets
            # its own networks: the screen's own tests connect from
            # addresses it does not permit.
            "screen_access": "permit 127.0.0.0/8 ::1",
            "queue_retry_min": "1h",
            "user": RUN_USER,
            # No IMAP/POP3 unless a test asks (DovecotTern): Dovecot's
            # default ports are 143, 993, 110 and 995 on every address.
            "mailbox_server": "none",
        }
        self.settings.update(settings)
        self.proc = None
        self.started_once = False
        self.pgids = []         # every process group we started
        self.write_config()

    # ---- config and admin commands ----

    def write_config(self, **changes):
        self.settings.update(changes)
        lines = ["# written by tests/integration/ternlib.py"]
        lines += ["%s = %s" % (k, v) for k, v in self.settings.items()]
        tmp = self.conf_path + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(tmp, 0o644)
        os.rename(tmp, self.conf_path)

    def cli(self, *args, expect=0, input=None, timeout=30):
        """Runs `tern -c CONF ARGS`; checks the exit status (expect=None
        to take any) and that no sanitizer spoke."""
        args = [str(a) for a in args]
        p = subprocess.run([TERN_BIN, "-c", self.conf_path] + args,
                           input=input, capture_output=True, text=True,
                           timeout=timeout)
        r = CliResult(args, p)
        assert not any(m in r.err for m in SANITIZER_MARKS), \
            "sanitizer report from the admin command: %r" % r
        if expect is not None:
            assert r.rc == expect, "got exit %d, want %d: %r" % (r.rc, expect, r)
        return r

    def setup(self, domains=(), users=(), aliases=()):
        for d in domains:
            self.cli("domain", "add", d)
        for u in users:
            self.cli("user", "add", u)
        for src, *targets in aliases:
            self.cli("alias", "add", src, *targets)

    # ---- the server ----

    def start(self, timeout=None):
        """Starts `tern serve` and waits until the port greets.  At the
        first start only, a port taken meanwhile by someone else is
        replaced by another free one."""
        for attempt in range(3):
            mark = self.log_mark()
            try:
                return self._start(timeout)
            except AssertionError:
                taken = "Address already in use" in self.log()[mark:]
                if not taken or self.started_once or attempt == 2:
                    raise
                self.port = free_port()
                self.write_config(listen_smtp="127.0.0.1:%d" % self.port)

    def _start(self, timeout=None):
        timeout = timeout or 2 * WAIT
        assert self.proc is None or self.proc.poll() is not None, "already running"
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                list(self.WRAPPER) + [TERN_BIN, "-c", self.conf_path, "serve"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True)
        finally:
            log.close()
        self.pgids.append(self.proc.pid)
        self.wait_greeting(timeout)
        self.started_once = True
        return self

    def wait_greeting(self, timeout=None):
        deadline = time.monotonic() + (timeout or 2 * WAIT)
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("tern serve exited with %s before greeting\n%s"
                                     % (self.proc.returncode, self.log_tail()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    s.settimeout(2)
                    line = s.recv(512)
                    # "220-": the screen's teaser, when it screens
                    # 127.0.0.1; smtpd started before it.
                    if line.startswith(b"220 "):
                        s.sendall(b"QUIT\r\n")
                        return
                    if line.startswith(b"220-"):
                        return
                    last = line
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise AssertionError("no 220 greeting on port %d within %ss (last: %r)\n%s"
                             % (self.port, timeout, last, self.log_tail()))

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=25):
        """SIGTERM to master, bounded wait, then SIGKILL of every process
        group this instance started.  Returns master's exit status (None
        if it had to be killed)."""
        rc = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        elif self.proc is not None:
            rc = self.proc.returncode
        self.kill_groups()
        return rc

    def kill_groups(self, wait=5):
        for pgid in self.pgids:
            if group_alive(pgid):
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                pass
        wait_until(lambda: not any(group_alive(g) for g in self.pgids), wait)
        self.pgids = [g for g in self.pgids if group_alive(g)]

    def children(self):
        return pids_with_parent(self.proc.pid) if self.running() else []

    def child_kinds(self):
        """pid -> process name (lookup, queue, smtpd) of master's children,
        from the name each takes at fork (tern-smtpd...): master's "started"
        log line may come after the child's own first lines."""
        kinds = {}
        for pid in self.children():
            try:
                with open("/proc/%d/comm" % pid) as f:
                    comm = f.read().strip()
            except OSError:
                continue
            if comm.startswith("tern-"):
                kinds[pid] = comm[len("tern-"):]
        return kinds

    def pidfile_pid(self):
        try:
            with open(os.path.join(self.state_dir, "tern.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    # ---- the log ----

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=40):
        lines = self.log().splitlines()
        return "---- last %d lines of %s ----\n%s" % (
            min(n, len(lines)), self.log_path, "\n".join(lines[-n:]))

    def log_mark(self):
        """A position in the log, to wait only for what comes after it."""
        return len(self.log())

    def wait_log(self, pattern, timeout=WAIT, since=0):
        rx = re.compile(pattern)
        m = wait_until(lambda: rx.search(self.log()[since:]), timeout)
        assert m, "log line /%s/ did not appear within %ss\n%s" % (
            pattern, timeout, self.log_tail())
        return m

    def sanitizer_reports(self):
        text = self.log()
        return [l for l in text.splitlines() if any(m in l for m in SANITIZER_MARKS)]

    # ---- mail ----

    def maildir(self, addr):
        local, domain = addr.rsplit("@", 1)
        return os.path.join(self.state_dir, "mail", domain.lower(), local.lower())

    def delivered(self, addr):
        """Files in the Maildir new/ of addr, oldest first."""
        new = os.path.join(self.maildir(addr), "new")
        try:
            names = sorted(os.listdir(new))
        except FileNotFoundError:
            return []
        return [os.path.join(new, n) for n in names]

    def messages(self, addr):
        out = []
        for p in self.delivered(addr):
            try:
                with open(p, "rb") as f:
                    out.append(f.read())
            except FileNotFoundError:
                pass
        return out

    def wait_count(self, addr, n, timeout=WAIT):
        """Waits until addr's Maildir holds at least n messages; returns
        them (asserting exactly n)."""
        wait_until(lambda: len(self.delivered(addr)) >= n, timeout)
        msgs = self.messages(addr)
        assert len(msgs) == n, "Maildir of %s: got %d messages, want %d\n%s" % (
            addr, len(msgs), n, self.log_tail())
        return msgs

    def queue_files(self):
        q = os.path.join(self.state_dir, "queue")
        try:
            return sorted(n for n in os.listdir(q)
                          if re.fullmatch(r"[0-9A-Z]{12}", n))
        except FileNotFoundError:
            return []

    # ---- clients ----

    def smtp(self, timeout=WAIT):
        return smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.test",
                            timeout=timeout)

    def raw(self, timeout=WAIT):
        return RawSMTP(self.port, timeout)

    def send(self, rcpts, msg=None, sender="sender@client.test", mail_options=(), **kw):
        """One message over smtplib (MAIL FROM with mail_options); asserts
        every step is 2xx/3xx and returns the queue id from the 250 after
        DATA."""
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        if msg is None:
            msg = make_msg(**kw)
        with contextlib.closing(self.smtp()) as s:
            s.ehlo()
            # smtplib sends UTF-8 commands only after MAIL ... SMTPUTF8.
            code, text = s.mail(sender, list(mail_options))
            assert code == 250, "MAIL FROM: got %d %r, want 250" % (code, text)
            for r in rcpts:
                code, text = s.rcpt(r)
                assert code == 250, "RCPT TO:<%s>: got %d %r, want 250" % (r, code, text)
            code, text = s.data(msg)
            assert code == 250, "DATA: got %d %r, want 250" % (code, text)
            s.quit()
        return queue_id(text)

    def cleanup(self, keep=False):
        self.stop()
        if not keep:
            shutil.rmtree(self.base, ignore_errors=True)


def queue_id(reply_text):
    if isinstance(reply_text, bytes):
        reply_text = reply_text.decode("utf-8", "replace")
    m = re.search(r"queued as ([0-9A-Z]+)", reply_text)
    assert m, "no queue id in %r" % reply_text
    return m.group(1)


class RawSMTP:
    """A byte-exact SMTP client on a plain socket (greet=False: does not
    wait for a greeting, for talking clear text to the TLS port)."""

    def __init__(self, port, timeout=WAIT, greet=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.greeting = self.reply() if greet else None

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed (pending %r)" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        """One reply: (code, text of all lines joined by newlines)."""
        lines = []
        while True:
            line = self._line()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                break
        return int(lines[0][:3]), "\n".join(l[4:] for l in lines)

    def cmd(self, line):
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.send(line + b"\r\n")
        return self.reply()

    def expect(self, line, code):
        got = self.cmd(line)
        assert got[0] == code, "%r: got %r, want %d" % (line, got, code)
        return got

    def replies_until_eof(self, timeout=WAIT):
        """Every reply until the server closes (bounded)."""
        out = []
        deadline = time.monotonic() + timeout
        self.sock.settimeout(1)
        while time.monotonic() < deadline:
            try:
                out.append(self.reply())
            except EOFError:
                return out, True
            except socket.timeout:
                continue
            except ConnectionResetError:
                return out, True
        return out, False

    def closed_by_server(self, timeout=WAIT):
        """True when the server closes the connection within timeout
        (any data still to come is read and dropped)."""
        deadline = time.monotonic() + timeout
        self.sock.settimeout(0.5)
        while time.monotonic() < deadline:
            try:
                if not self.sock.recv(65536):
                    return True
            except socket.timeout:
                continue
            except ConnectionResetError:
                return True
        return False


def new_user(t, domain="example.test", prefix="u"):
    """Adds an account with a fresh address and returns the address."""
    addr = "%s@%s" % (uniq(prefix), domain)
    t.cli("user", "add", addr)
    return addr


def subjects(msgs):
    return [header(m, "Subject") for m in msgs]


def deliver_marker(t, addr, timeout=WAIT):
    """Sends a marker message to addr and waits until it is delivered;
    returns every message in addr's Maildir then.  Whatever an earlier
    refused transaction would have queued is in the queue before the
    marker and so delivered by then."""
    subject = uniq("marker")
    t.send(addr, subject=subject)
    found = wait_until(lambda: subject in subjects(t.messages(addr)), timeout)
    assert found, "marker %s not delivered to %s within %ss\n%s" % (
        subject, addr, timeout, t.log_tail())
    return t.messages(addr), subject


def assert_nothing_but_marker(t, addr):
    msgs, subject = deliver_marker(t, addr)
    got = subjects(msgs)
    assert got == [subject], "Maildir of %s: got subjects %r, want only the marker %r" % (
        addr, got, subject)


# ---------------------------------------------------------------------------
# Submission, TLS and authentication (issue 4).  Everything below is
# additive: a Tern subclass that also listens on the two submission ports,
# TLS clients (smtplib, a raw byte-exact one, swaks, openssl s_client),
# password hashes made the way other servers make them, and tern audit.
# ---------------------------------------------------------------------------

import base64  # noqa: E402
import ctypes  # noqa: E402
import ctypes.util  # noqa: E402
import json  # noqa: E402
import ssl  # noqa: E402

SWAKS = shutil.which("swaks") or "/usr/bin/swaks"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


def client_tls_context(minimum=None, maximum=None, ciphers=None):
    """A client context that takes any certificate (tern's is self-signed)
    and, when told, speaks only the TLS versions given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if ciphers:
        ctx.set_ciphers(ciphers)
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx


def _port_of(hostport):
    return int(hostport.rsplit(":", 1)[1]) if hostport else None


class SubTern(Tern):
    """A Tern listening also for submission (STARTTLS) and submissions
    (implicit TLS), each on its own free 127.0.0.1 high port unless the
    settings name one (or "" to leave it off)."""

    def __init__(self, base=None, **settings):
        picked = {}
        for key in ("listen_submission", "listen_submissions"):
            if key not in settings:
                picked[key] = "127.0.0.1:%d" % free_port()
        self._picked = set(picked)
        picked.update(settings)
        super().__init__(base, **picked)

    @property
    def sub_port(self):
        return _port_of(self.settings.get("listen_submission"))

    @property
    def subs_port(self):
        return _port_of(self.settings.get("listen_submissions"))

    def start(self, timeout=None):
        """As Tern.start; a port of ours taken meanwhile by someone else
        is replaced at the first start, the submission ports included."""
        for attempt in range(3):
            mark = self.log_mark()
            try:
                return self._start(timeout)
            except AssertionError:
                taken = "Address already in use" in self.log()[mark:]
                if not taken or self.started_once or attempt == 2:
                    raise
                self.port = free_port()
                changes = {"listen_smtp": "127.0.0.1:%d" % self.port}
                for key in self._picked:
                    changes[key] = "127.0.0.1:%d" % free_port()
                self.write_config(**changes)

    # ---- clients ----

    def port_of(self, kind):
        return {"smtp": self.port, "submission": self.sub_port,
                "submissions": self.subs_port}[kind]

    def client(self, kind="submission", tls=True, login=None, password=None,
               source=None, timeout=WAIT, ctx=None):
        """smtplib on port kind ("smtp", "submission", "submissions"):
        EHLO, STARTTLS and EHLO again when tls (always TLS on
        submissions), then AUTH when login is given (smtplib picks PLAIN).
        The caller closes it (contextlib.closing or `with`)."""
        ctx = ctx or client_tls_context()
        src = (source, 0) if source else None
        if kind == "submissions":
            s = smtplib.SMTP_SSL("127.0.0.1", self.subs_port,
                                 local_hostname="client.test", timeout=timeout,
                                 context=ctx, source_address=src)
        else:
            s = smtplib.SMTP("127.0.0.1", self.port_of(kind),
                             local_hostname="client.test", timeout=timeout,
                             source_address=src)
        try:
            s.ehlo()
            if tls and kind != "submissions":
                code, text = s.starttls(context=ctx)
                assert code == 220, "STARTTLS: got %d %r" % (code, text)
                s.ehlo()
            if login is not None:
                s.login(login, password)
        except BaseException:
            s.close()
            raise
        return s

    def raw_tls(self, kind="submission", source=None, timeout=WAIT,
                ctx=None):
        """A byte-exact client: on submissions TLS from the first byte,
        elsewhere plain until .starttls()."""
        return RawTLS(self.port_of(kind), implicit=(kind == "submissions"),
                      source=source, timeout=timeout, ctx=ctx)

    @contextlib.contextmanager
    def tls_session(self, kind="submission", source=None):
        """A raw client inside TLS, greeted with EHLO there (STARTTLS
        first, except on submissions); closed after the block."""
        c = self.raw_tls(kind, source=source)
        try:
            if kind != "submissions":
                c.expect("EHLO client.test", 250)
                c.starttls()
            c.expect("EHLO client.test", 250)
            yield c
        finally:
            c.close()

    def send_auth(self, login, password, rcpts, msg=None, sender=None,
                  kind="submission", source=None, **kw):
        """One message over an authenticated TLS session; asserts every
        step and returns the queue id."""
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        sender = login if sender is None else sender
        if msg is None:
            kw.setdefault("sender", sender or "nobody@client.test")
            kw.setdefault("to", rcpts[0])
            msg = make_msg(**kw)
        with self.client(kind, login=login, password=password,
                         source=source) as s:
            code, text = s.mail(sender)
            assert code == 250, "MAIL FROM:<%s>: got %d %r" % (sender, code, text)
            for r in rcpts:
                code, text = s.rcpt(r)
                assert code == 250, "RCPT TO:<%s>: got %d %r" % (r, code, text)
            code, text = s.data(msg)
            assert code == 250, "DATA: got %d %r" % (code, text)
        return queue_id(text)

    def swaks(self, *args, kind="submission", timeout=30):
        """Runs swaks against port kind; returns the CompletedProcess
        (text; swaks writes the transcript to stdout)."""
        cmd = [SWAKS, "--server", "127.0.0.1:%d" % self.port_of(kind),
               "--helo", "client.test", "--timeout", "%d" % int(WAIT)]
        cmd += [str(a) for a in args]
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def s_client(self, kind, *args, input=b"QUIT\r\n", timeout=30):
        """openssl s_client to port kind (-starttls smtp unless
        submissions); returns the CompletedProcess (bytes)."""
        cmd = [OPENSSL, "s_client", "-connect",
               "127.0.0.1:%d" % self.port_of(kind)]
        if kind != "submissions":
            cmd += ["-starttls", "smtp"]
        cmd += [str(a) for a in args]
        return subprocess.run(cmd, input=input, capture_output=True,
                              timeout=timeout)

    def audit(self, *args):
        """tern audit --json [ARGS], parsed."""
        r = self.cli("audit", "--json", *args)
        return json.loads(r.out)


class RawTLS(RawSMTP):
    """RawSMTP that can bind a source address and speak TLS: implicit (TLS
    before the greeting) or after .starttls()."""

    def __init__(self, port, implicit=False, source=None, timeout=WAIT,
                 ctx=None):
        self.ctx = ctx or client_tls_context()
        self.buf = b""
        src = (source, 0) if source else None
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout,
                                             source_address=src)
        if implicit:
            self._wrap()
        self.greeting = self.reply()

    def _wrap(self):
        try:
            self.sock = self.ctx.wrap_socket(self.sock)
        except BaseException:
            self.close()
            raise

    @property
    def tls_version(self):
        return self.sock.version() if isinstance(self.sock, ssl.SSLSocket) else None

    def starttls(self):
        """STARTTLS (after EHLO); nothing may follow the 220 in the clear."""
        code, text = self.cmd("STARTTLS")
        assert code == 220, "STARTTLS: got %d %r" % (code, text)
        assert self.buf == b"", "bytes after the 220 to STARTTLS: %r" % self.buf
        self._wrap()

    def ehlo(self, name="client.test"):
        return self.cmd("EHLO " + name)

    def auth_plain(self, login, password, initial=True, authzid=""):
        """AUTH PLAIN, with the initial response or after the 334."""
        token = b64("%s\0%s\0%s" % (authzid, login, password))
        if initial:
            return self.cmd("AUTH PLAIN " + token)
        code, text = self.cmd("AUTH PLAIN")
        if code != 334:
            return code, text
        return self.cmd(token)

    def auth_login(self, login, password):
        code, text = self.cmd("AUTH LOGIN")
        if code != 334:
            return code, text
        code, text = self.cmd(b64(login))
        if code != 334:
            return code, text
        return self.cmd(b64(password))


def b64(text):
    if isinstance(text, str):
        text = text.encode("utf-8")
    return base64.b64encode(text).decode("ascii")


def add_account(t, address, password, login=None):
    """tern user add ADDRESS [--login LOGIN] --password-stdin; returns the
    login (the address unless one is given)."""
    args = ["user", "add", address]
    if login is not None:
        args += ["--login", login]
    t.cli(*(args + ["--password-stdin"]), input=password + "\n")
    return address if login is None else login


# ---- password hashes as other servers left them ----

_libcrypt = None


def _crypt_lib():
    global _libcrypt
    if _libcrypt is None:
        name = ctypes.util.find_library("crypt") or "libcrypt.so.1"
        lib = ctypes.CDLL(name)
        lib.crypt_gensalt.restype = ctypes.c_char_p
        lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong,
                                      ctypes.c_char_p, ctypes.c_int]
        lib.crypt.restype = ctypes.c_char_p
        lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        _libcrypt = lib
    return _libcrypt


def make_hash(password, scheme, count=0):
    """A crypt(3) hash of password in scheme ("$y$", "$2b$", "$2y$",
    "$6$", "$5$"), made by the system's libxcrypt as mkpasswd would
    (count 0: its default cost)."""
    lib = _crypt_lib()
    salt = lib.crypt_gensalt(scheme.encode(), count, None, 0)
    assert salt, "libxcrypt cannot make a %s salt" % scheme
    out = lib.crypt(password.encode(), salt)
    assert out and not out.startswith(b"*"), "libxcrypt cannot hash with %s" % scheme
    return out.decode()


def module_server(request, settings=None, prepare=None, cls=None):
    """Body of a module-scoped fixture (`yield from module_server(...)`):
    a SubTern with settings, prepare(t) run before it starts (domains,
    accounts), started; stopped, checked and removed at the end like
    conftest's srv."""
    import conftest
    failed_before = request.session.testsfailed
    t = (cls or SubTern)(**(settings or {}))
    try:
        if prepare is not None:
            prepare(t)
        t.start()
    except BaseException:
        conftest._finish([t], True)
        raise
    try:
        yield t
    finally:
        conftest._finish([t], request.session.testsfailed > failed_before)


def instance_factory(request, cls=None):
    """Body of a function-scoped fixture (`yield from
    instance_factory(request)`): like conftest's tern_factory, with
    SubTern (or cls) instances."""
    import conftest
    made = []
    failed_before = request.session.testsfailed

    def make(**settings):
        t = (cls or SubTern)(**settings)
        made.append(t)
        return t

    try:
        yield make
    finally:
        failed = request.session.testsfailed > failed_before or \
            getattr(request.node, "rep_call_failed", False)
        conftest._finish(made, failed)


def can_bind(addr):
    """True when a client socket can use addr as its source (127.0.0.2..
    on Linux's loopback)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((addr, 0))
        return True
    except OSError:
        return False


def free_port6():
    """A free TCP port on ::1, or None when the machine has no IPv6
    loopback."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
            s6.bind(("::1", 0))
            return s6.getsockname()[1]
    except OSError:
        return None


needs_ipv6_loopback = pytest.mark.skipif(
    free_port6() is None, reason=MACHINE + "no IPv6 loopback here")

needs_loopback_sources = pytest.mark.skipif(
    not can_bind("127.0.0.2"),
    reason=MACHINE + "needs source addresses 127.0.0.2 and up on the loopback")


# ---------------------------------------------------------------------------
# IMAP and POP3 through Dovecot (issue 10): a Tern that also runs Dovecot
# (mailbox_server = dovecot) on four free 127.0.0.1 high ports, clients
# for them, and the processes of one instance found by its session.
# ---------------------------------------------------------------------------

import imaplib  # noqa: E402
import poplib  # noqa: E402

DOVECOT_BIN = "/usr/sbin/dovecot"
MAILBOX_LISTEN_KEYS = ("listen_imap", "listen_imaps", "listen_pop3", "listen_pop3s")


def session_pids(sid):
    """Live processes of session sid (tern serve starts one of its own:
    Dovecot's processes stay in it, in a process group of their own)."""
    return pids_where(3, sid)


def comm_of(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


class DovecotTern(Tern):
    """A Tern that serves IMAP and POP3 through Dovecot, each listener on
    its own free 127.0.0.1 high port unless the settings name one ("" to
    leave it off).  start() waits until every listener greets."""

    def __init__(self, base=None, **settings):
        base = base or make_tempdir()
        picked = {"mailbox_server": "dovecot"}
        for key in MAILBOX_LISTEN_KEYS:
            if key not in settings:
                picked[key] = "127.0.0.1:%d" % free_port()
        self._mailbox_picked = set(k for k in MAILBOX_LISTEN_KEYS if k not in settings)
        picked.update(settings)
        super().__init__(base, **picked)

    def mailbox_port(self, key):
        """The port of listen_imap, listen_imaps... (key without listen_)."""
        return _port_of(self.settings.get("listen_" + key))

    def start(self, timeout=None):
        """As Tern.start, then waits for Dovecot's greetings.  At the
        first start a port taken meanwhile is replaced by another."""
        for attempt in range(3):
            mark = self.log_mark()
            try:
                self._start(timeout)
                self.wait_mailbox(timeout)
                self.started_once = True
                return self
            except AssertionError:
                taken = "in use" in self.log()[mark:]
                if not taken or self.started_once or attempt == 2:
                    raise
                self.stop()
                self.port = free_port()
                changes = {"listen_smtp": "127.0.0.1:%d" % self.port}
                for key in self._mailbox_picked:
                    changes[key] = "127.0.0.1:%d" % free_port()
                self.write_config(**changes)

    def greeting(self, key, timeout=5):
        """The first line of listener key ("imap", "imaps", "pop3",
        "pop3s"), TLS first on the implicit ones."""
        with socket.create_connection(("127.0.0.1", self.mailbox_port(key)),
                                      timeout=timeout) as s:
            s.settimeout(timeout)
            if key.endswith("s"):
                s = client_tls_context().wrap_socket(s)
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(512)
                if not chunk:
                    break
                data += chunk
            return data.split(b"\r\n", 1)[0]

    def wait_mailbox(self, timeout=None):
        """Waits (bounded) until every configured IMAP/POP3 listener
        greets: Dovecot binds its ports after tern's."""
        deadline = time.monotonic() + (timeout or 2 * WAIT)
        keys = [k[len("listen_"):] for k in MAILBOX_LISTEN_KEYS if self.settings.get(k)]
        last = None
        for key in keys:
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError("tern serve exited with %s\n%s"
                                         % (self.proc.returncode, self.log_tail()))
                try:
                    line = self.greeting(key)
                    if line.startswith((b"* OK", b"+OK")):
                        break
                    last = line
                except (OSError, ssl.SSLError) as e:
                    last = e
                if time.monotonic() >= deadline:
                    raise AssertionError("%s on port %s did not greet within %ss "
                                         "(last: %r)\n%s" % (key, self.mailbox_port(key),
                                                             timeout or 2 * WAIT, last,
                                                             self.log_tail()))
                time.sleep(0.1)

    # ---- clients ----

    def imap(self, tls="starttls", timeout=WAIT, ctx=None):
        """imaplib: tls "starttls" (port listen_imap, STARTTLS done),
        "implicit" (listen_imaps) or None (clear text)."""
        ctx = ctx or client_tls_context()
        if tls == "implicit":
            return imaplib.IMAP4_SSL("127.0.0.1", self.mailbox_port("imaps"),
                                     ssl_context=ctx, timeout=timeout)
        c = imaplib.IMAP4("127.0.0.1", self.mailbox_port("imap"), timeout=timeout)
        if tls == "starttls":
            c.starttls(ssl_context=ctx)
        return c

    def pop3(self, tls="stls", timeout=WAIT, ctx=None):
        """poplib: tls "stls" (listen_pop3, STLS done), "implicit"
        (listen_pop3s) or None."""
        ctx = ctx or client_tls_context()
        if tls == "implicit":
            return poplib.POP3_SSL("127.0.0.1", self.mailbox_port("pop3s"),
                                   context=ctx, timeout=timeout)
        c = poplib.POP3("127.0.0.1", self.mailbox_port("pop3"), timeout=timeout)
        if tls == "stls":
            c.stls(context=ctx)
        return c

    # ---- Dovecot's processes ----

    def dovecot_pids(self):
        """Dovecot's processes of this instance: those of tern serve's
        session that are not tern's own (which start with "tern")."""
        if self.proc is None:
            return []
        return [p for p in session_pids(self.proc.pid)
                if not (comm_of(p) or "tern").startswith("tern")]

    def dovecot_master_pid(self):
        """The pid of Dovecot's master: the child of tern-dovecot."""
        for pid, kind in self.child_kinds().items():
            if kind == "dovecot":
                kids = pids_with_parent(pid)
                return kids[0] if kids else None
        return None

    def stop(self, timeout=25):
        """As Tern.stop; then Dovecot's processes of this instance that
        are left (a test that failed half-way) are killed too."""
        left = self.dovecot_pids() if self.running() else []
        rc = super().stop(timeout)
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        return rc
