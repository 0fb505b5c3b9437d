"""
Issue 10, point 6: `tern mailbox sync` pulls an account's mail from the old
server over IMAP into its tern Maildir.

The old server is a second Dovecot that this module sets up itself (IMAPS
on a loopback high port with a test certificate, passwd-file users, its own
Maildirs), run in the foreground as a child of the test and stopped at the
end of the module.  Tern's side is a real `tern serve` that delivers mail to
the account over SMTP, before and between the syncs: the trap of a dsync
into a mailbox tern already delivered into (messages whose UIDs collide
skipped, or renumbered) must not happen, so every test counts Message-IDs
on both sides, and flags and dates too.
"""
import contextlib
import imaplib
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest

from ternlib import (IS_ROOT, RUN_USER, TERN_BIN, WAIT, header, make_tempdir,
                     needs_package, new_user, root_only, uniq, wait_until)

TERN_SETUP = {"domains": ["example.test"]}

# mbsync does the sync; Dovecot is the old server, and doveadm reads
# tern's Maildir the way the served Dovecot will.
pytestmark = [
    needs_package("isync", shutil.which("mbsync") is not None),
    needs_package("dovecot-imapd", os.path.exists("/usr/lib/dovecot/imap")),
    needs_package("dovecot-core", shutil.which("doveadm") is not None),
]

DAY = 86400
# Fixed arrival dates on the old server, whole seconds (INTERNALDATE has
# no fractions), well in the past.
T0 = 1600000000


def one_line_error(r):
    lines = r.err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0], \
        "want exactly one line on stderr, got %d: %r" % (len(lines), r)
    return lines[0]


# ---- the old server: a second Dovecot ---------------------------------

OLD_CONF = """\
base_dir = {base}/run
state_dir = {base}/run/state
instance_name = tern-test-old-{port}
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{base}/cert.pem
ssl_key = <{base}/key.pem
ssl_min_protocol = TLSv1.2
log_path = {base}/dovecot.log
mail_location = maildir:{base}/mail/%u
first_valid_uid = 1
first_valid_gid = 1
default_login_user = {user}
default_internal_user = {user}
# Its sockets' group: Debian's "dovecot" by default, which an ordinary
# user may not chown to.
default_internal_group = {group}
auth_mechanisms = plain
auth_verbose = yes
passdb {{
  driver = passwd-file
  args = {base}/users/%u
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={base}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
{extra}
"""

# Courier and Cyrus keep folders under INBOX: "INBOX.Sent".
INBOX_PREFIX = """\
namespace inbox {
  inbox = yes
  prefix = INBOX.
  separator = .
}
"""


class OldServer:
    """The old IMAP server: Dovecot in the foreground, a child of the
    test.  Users are added at any time."""

    def __init__(self, extra=""):
        self.extra = extra
        self.base = make_tempdir("tern-old-imap-")
        self.port = None
        self.proc = None
        self.cert = os.path.join(self.base, "cert.pem")

    def start(self):
        pw = pwd.getpwnam(RUN_USER)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", os.path.join(self.base, "key.pem"), "-out", self.cert,
             "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            check=True, capture_output=True, timeout=60)
        os.makedirs(os.path.join(self.base, "mail"))
        os.chown(os.path.join(self.base, "mail"), pw.pw_uid, pw.pw_gid)
        os.makedirs(os.path.join(self.base, "users"))
        # The port is free when picked; another may take it before
        # Dovecot binds: then pick again.
        for _ in range(3):
            self.port = _free_port()
            with open(os.path.join(self.base, "dovecot.conf"), "w") as f:
                f.write(OLD_CONF.format(base=self.base, port=self.port,
                                        user=RUN_USER, extra=self.extra,
                                        group=_group_name(pw.pw_gid)))
            self.proc = subprocess.Popen(
                ["dovecot", "-F", "-c", os.path.join(self.base, "dovecot.conf")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(os.path.join(self.base, "stderr.log"), "ab"),
                start_new_session=True)
            if wait_until(self._listening, 3 * WAIT) and self.proc.poll() is None:
                return self
            self.stop()
        raise AssertionError("the old Dovecot did not listen:\n%s" % self.log())

    def _listening(self):
        if self.proc.poll() is not None:
            return True         # exited: start() sees it below
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                return self.proc.poll() is None
        except OSError:
            return False

    def log(self):
        out = ""
        for name in ("stderr.log", "dovecot.log"):
            with contextlib.suppress(OSError):
                with open(os.path.join(self.base, name)) as f:
                    out += f.read()[-4000:]
        return out

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(WAIT)
        if self.proc is not None:
            # Dovecot's own children (imap, auth, ...) share its group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None

    def add_user(self, password=None):
        user = uniq("old")
        password = password or uniq("pw")
        # One passwd-file per user (Dovecot opens it by name at the first
        # login): one file changed within a second may not be read again.
        with open(os.path.join(self.base, "users", user), "w") as f:
            f.write("%s:{PLAIN}%s::::::\n" % (user, password))
        return user, password

    @contextlib.contextmanager
    def imap(self, user, password):
        ctx = ssl.create_default_context(cafile=self.cert)
        m = imaplib.IMAP4_SSL("localhost", self.port, ssl_context=ctx,
                              timeout=WAIT)
        try:
            m.login(user, password)
            yield m
        finally:
            with contextlib.suppress(Exception):
                m.logout()

    def url(self):
        # The certificate names localhost; mbsync checks the name.
        return "imaps://localhost:%d" % self.port


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _group_name(gid):
    import grp
    return grp.getgrgid(gid).gr_name


def _old_server(extra):
    o = OldServer(extra)
    try:
        o.start()
        yield o
    finally:
        o.stop()
        if os.environ.get("TERN_TEST_KEEP") != "1":
            shutil.rmtree(o.base, ignore_errors=True)


@pytest.fixture(scope="module")
def old():
    yield from _old_server("")


@pytest.fixture(scope="module")
def old_inbox_prefix():
    yield from _old_server(INBOX_PREFIX)


def old_message(msgid, subject):
    return ("From: <someone@old.test>\r\nTo: <user@old.test>\r\n"
            "Subject: %s\r\nMessage-ID: %s\r\n\r\nOn the old server.\r\n"
            % (subject, msgid)).encode()


def old_append(m, folder, flags, when, tag):
    """APPENDs one message with flags and INTERNALDATE when; returns its
    Message-ID."""
    msgid = "<%s@old.test>" % uniq(tag)
    typ, data = m.append(folder, "(%s)" % flags,
                         imaplib.Time2Internaldate(when),
                         old_message(msgid, tag))
    assert typ == "OK", "APPEND to %s: %r" % (folder, data)
    return msgid


def fill_old(old_srv, user, password):
    """The old mailbox: INBOX and two levels of folders, with flags and
    dates.  Returns {Message-ID: (folder, flags, date)} as tern must show
    it (folder as a Maildir++ folder, "" for INBOX; flags as Maildir
    letters)."""
    want = {}
    plan = [
        ("INBOX", "\\Seen", "S"), ("INBOX", "", ""),
        ("INBOX", "\\Flagged \\Answered", "FR"),
        ("Work", "\\Seen", "S"), ("Work", "\\Draft", "D"),
        ("Work.Sub", "\\Seen \\Flagged", "FS"),
    ]
    with old_srv.imap(user, password) as m:
        for folder in ("Work", "Work.Sub"):
            typ, data = m.create(folder)
            assert typ == "OK", "CREATE %s: %r" % (folder, data)
        for i, (folder, flags, letters) in enumerate(plan):
            when = T0 + i * DAY
            msgid = old_append(m, folder, flags, when, "first")
            want[msgid] = ("" if folder == "INBOX" else "." + folder,
                           letters, when)
    return want


# ---- what tern's Maildir holds --------------------------------------------

def maildir_messages(maildir):
    """Every message in the account's Maildir++ tree: a list of
    (Message-ID, folder, flags, mtime, path)."""
    out = []
    folders = [""] + sorted(n for n in os.listdir(maildir)
                            if n.startswith(".") and n not in (".", "..")
                            and os.path.isdir(os.path.join(maildir, n)))
    for folder in folders:
        for sub in ("new", "cur"):
            d = os.path.join(maildir, folder, sub)
            if not os.path.isdir(d):
                continue
            for name in sorted(os.listdir(d)):
                p = os.path.join(d, name)
                with open(p, "rb") as f:
                    msgid = header(f.read(), "Message-ID")
                flags = name.split(":2,", 1)[1] if ":2," in name else ""
                out.append((msgid, folder, "".join(sorted(flags)),
                            int(os.stat(p).st_mtime), p))
    return out


def assert_exactly_once(maildir, want, tern_ids):
    """Every old message in its folder with its flags and date, every
    message tern delivered in INBOX, each exactly once, nothing else."""
    got = maildir_messages(maildir)
    ids = [g[0] for g in got]
    dups = sorted({i for i in ids if ids.count(i) > 1})
    assert not dups, "duplicated in tern's Maildir: %r\n%r" % (dups, got)
    expected = set(want) | set(tern_ids)
    assert set(ids) == expected, \
        "tern's Maildir: missing %r, unexpected %r" % (
            sorted(expected - set(ids)), sorted(set(ids) - expected))
    by_id = {g[0]: g for g in got}
    for msgid, (folder, flags, when) in want.items():
        _, gfolder, gflags, gmtime, path = by_id[msgid]
        assert (gfolder, gflags) == (folder, flags), \
            "%s: got folder %r flags %r, want %r %r (%s)" % (
                msgid, gfolder, gflags, folder, flags, path)
        assert gmtime == when, "%s: got date %d, want %d (%s)" % (
            msgid, gmtime, when, path)
    for msgid in tern_ids:
        assert by_id[msgid][1] == "", "%s delivered by tern left INBOX: %r" % (
            msgid, by_id[msgid])
    return got


def tern_deliver(t, addr, n):
    """n messages over SMTP into addr's Maildir; their Message-IDs."""
    ids = []
    for _ in range(n):
        msgid = "<%s@client.test>" % uniq("tern")
        t.send(addr, msgid=msgid)
        ids.append(msgid)
    inbox_new = os.path.join(t.maildir(addr), "new")

    def arrived():
        got = set()
        for d in (inbox_new, os.path.join(t.maildir(addr), "cur")):
            with contextlib.suppress(FileNotFoundError):
                for name in os.listdir(d):
                    with open(os.path.join(d, name), "rb") as f:
                        got.add(header(f.read(), "Message-ID"))
        return set(ids) <= got
    assert wait_until(arrived), "tern did not deliver %r\n%s" % (ids, t.log_tail())
    return ids


def sync(t, old_srv, login, user, pwfile, *extra, expect=0):
    return t.cli("mailbox", "sync", login, "--from", old_srv.url(),
                 "--user", user, "--password-file", pwfile,
                 "--ca-file", old_srv.cert, *extra, expect=expect,
                 timeout=120)


def password_file(t, password):
    """A password file readable by root alone (when root): tern reads it
    before it drops to its user."""
    p = os.path.join(t.base, uniq("pw"))
    with open(p, "w") as f:
        f.write(password + "\n")
    os.chmod(p, 0o600)
    return p


def summary(r, login):
    lines = [l for l in r.out.splitlines() if l.startswith(login + ": ")]
    assert len(lines) == 1, "want one summary line for %s: %r" % (login, r)
    fields = dict(w.split("=", 1) for w in lines[0][len(login) + 2:].split())
    return fields


def doveadm(t, maildir, *args):
    """doveadm on the Maildir alone (no running Dovecot), as tern's user:
    its stdout."""
    conf = os.path.join(t.base, "doveadm.conf")
    run = os.path.join(t.base, "doveadm-run")
    os.makedirs(run, exist_ok=True)
    pw = pwd.getpwnam(RUN_USER)
    os.chown(run, pw.pw_uid, pw.pw_gid)
    with open(conf, "w") as f:
        f.write("base_dir = %s\nstate_dir = %s\nlog_path = /dev/stderr\n"
                "mail_location = maildir:%s\n" % (run, run, maildir))
    os.chmod(conf, 0o644)
    cmd = ["doveadm", "-c", conf] + list(args)
    env = {"HOME": maildir, "USER": RUN_USER, "PATH": "/usr/bin:/bin"}
    if IS_ROOT:
        cmd = ["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid),
               "--init-groups", "--"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 0, "doveadm %s: %r" % (" ".join(args), p)
    return p.stdout


def subscribed(t, maildir):
    return set(doveadm(t, maildir, "mailbox", "list", "-s").split())


def dovecot_view(t, maildir, uids=None):
    """What Dovecot itself reads in the Maildir (doveadm, run as tern's
    user on the Maildir alone): {Message-ID: (mailbox, flags, received)};
    with uids a dict, also fills it with {Message-ID: (mailbox, UID)}."""
    fetched = doveadm(t, maildir, "-f", "tab", "fetch",
                      "mailbox uid flags date.received hdr.message-id", "all")
    out = {}
    for line in fetched.splitlines()[1:]:
        box, uid, flags, received, msgid = line.split("\t")
        if uids is not None:
            uids[msgid] = (box, int(uid))
        out[msgid] = (box, " ".join(sorted(f for f in flags.split()
                                           if f != "\\Recent")), received)
    return out


DOVECOT_FLAGS = {"S": "\\Seen", "F": "\\Flagged", "R": "\\Answered",
                 "D": "\\Draft", "T": "\\Deleted"}


def assert_dovecot_sees(t, maildir, want, tern_ids, uids=None):
    view = dovecot_view(t, maildir, uids)
    assert set(view) == set(want) | set(tern_ids), "Dovecot sees %r" % view
    for msgid, (folder, letters, when) in want.items():
        box = "INBOX" if folder == "" else folder[1:]
        flags = " ".join(sorted(DOVECOT_FLAGS[c] for c in letters))
        received = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))
        assert view[msgid] == (box, flags, received), \
            "Dovecot sees %s as %r, want %r" % (msgid, view[msgid],
                                                (box, flags, received))


# ---- the tests ---------------------------------------------------------------

def test_sync_twice_with_tern_deliveries_between(srv, old):
    """The switch-over sequence: tern delivers into the account before the
    first sync (the dsync trap), the first sync copies everything, tern
    and the old server both get new mail (also in a folder and a new
    folder, and a flag changes on the old side), the second sync copies
    only the new, and
    every message of both sides is there exactly once, with its flags and
    its date; a third sync copies nothing."""
    addr = new_user(srv)
    maildir = srv.maildir(addr)
    user, password = old.add_user()
    want = fill_old(old, user, password)
    tern_ids = tern_deliver(srv, addr, 2)
    pwfile = password_file(srv, password)
    # Dovecot has seen tern's mail and given it UIDs 1 and 2, as the
    # served Dovecot would have: the old server's INBOX has UIDs 1-3 too.
    uids_before = {}
    assert_dovecot_sees(srv, maildir, {}, tern_ids, uids_before)
    assert sorted(uids_before.values()) == [("INBOX", 1), ("INBOX", 2)]

    r = sync(srv, old, addr, user, pwfile)
    assert summary(r, addr) == {"copied": "6", "skipped": "0", "errors": "0",
                                "status": "ok"}, r
    assert_exactly_once(maildir, want, tern_ids)
    # Dovecot, reading the Maildir, sees the same folders, flags and dates
    # (and leaves its index files in it, as the served Dovecot would); the
    # UIDs it gave tern's mail stay (a mail client's cache, POP3 UIDLs).
    uids = {}
    assert_dovecot_sees(srv, maildir, want, tern_ids, uids)
    assert {k: uids[k] for k in uids_before} == uids_before, uids
    # The folders are subscribed, for clients that show only those.  The
    # user unsubscribes one in tern: the next sync leaves it so.
    assert subscribed(srv, maildir) == {"Work", "Work.Sub"}
    doveadm(srv, maildir, "mailbox", "unsubscribe", "Work")

    tern_ids += tern_deliver(srv, addr, 2)
    with old.imap(user, password) as m:
        typ, data = m.create("Later")
        assert typ == "OK", "CREATE Later: %r" % data
        for folder in ("INBOX", "Work.Sub", "Later"):
            msgid = old_append(m, folder, "\\Seen", T0 + 30 * DAY, "second")
            want[msgid] = ("" if folder == "INBOX" else "." + folder, "S",
                           T0 + 30 * DAY)
        # The unread message of the first round is read on the old server.
        m.select("INBOX")
        unread = [k for k, v in want.items() if v[0] == "" and v[1] == ""]
        assert len(unread) == 1
        typ, data = m.search(None, "HEADER", "Message-ID", unread[0])
        assert typ == "OK" and data[0], "SEARCH: %r" % data
        m.store(data[0].split()[0].decode(), "+FLAGS", "(\\Seen)")
        want[unread[0]] = ("", "S", want[unread[0]][2])

    r = sync(srv, old, addr, user, pwfile)
    assert summary(r, addr)["copied"] == "3", r
    assert summary(r, addr)["status"] == "ok", r
    assert_exactly_once(maildir, want, tern_ids)
    uids_after = {}
    assert_dovecot_sees(srv, maildir, want, tern_ids, uids_after)
    assert {k: uids_after[k] for k in uids} == uids, uids_after
    assert subscribed(srv, maildir) == {"Work.Sub", "Later"}

    r = sync(srv, old, addr, user, pwfile)
    assert summary(r, addr)["copied"] == "0", r
    assert_exactly_once(maildir, want, tern_ids)


def test_what_the_user_did_in_tern_stays(srv, old):
    """After the first sync the user works in tern (through Dovecot):
    deletes a message, moves one to another folder, marks one read, and
    the old server's copy of that one is flagged meanwhile.  The next sync
    brings nothing back and duplicates nothing."""
    addr = new_user(srv)
    maildir = srv.maildir(addr)
    user, password = old.add_user()
    want = fill_old(old, user, password)
    pwfile = password_file(srv, password)
    sync(srv, old, addr, user, pwfile)
    assert_exactly_once(maildir, want, [])
    # In the old server's order, so in UID order: the message moved from
    # Work (UID 1 there) lands beside INBOX's own UID 1, which stays.
    inbox = [k for k, v in want.items() if v[0] == ""]
    work = [k for k, v in want.items() if v[0] == ".Work"]
    gone, moved = inbox[-1], work[0]
    unread = [k for k in inbox if want[k][1] == ""][0]
    doveadm(srv, maildir, "expunge", "mailbox", "INBOX",
            "header", "Message-ID", gone)
    doveadm(srv, maildir, "move", "INBOX", "mailbox", "Work",
            "header", "Message-ID", moved)
    doveadm(srv, maildir, "flags", "add", "\\Seen", "mailbox", "INBOX",
            "header", "Message-ID", unread)
    with old.imap(user, password) as m:
        m.select("INBOX")
        typ, data = m.search(None, "HEADER", "Message-ID", unread)
        assert typ == "OK" and data[0], "SEARCH: %r" % data
        m.store(data[0].split()[0].decode(), "+FLAGS", "(\\Flagged)")
    del want[gone]
    want[moved] = ("",) + want[moved][1:]
    want[unread] = ("", "FS", want[unread][2])

    r = sync(srv, old, addr, user, pwfile)
    assert summary(r, addr)["copied"] == "0", r
    got = assert_exactly_once(maildir, want, [])
    assert gone not in [g[0] for g in got]


def test_old_server_with_folders_under_inbox(srv, old_inbox_prefix):
    """An old server that keeps folders under INBOX (Courier, Cyrus:
    "INBOX.Work"): they become tern's .Work, not .INBOX.Work."""
    old = old_inbox_prefix
    addr = new_user(srv)
    user, password = old.add_user()
    want = {}
    with old.imap(user, password) as m:
        for folder in ("INBOX.Work", "INBOX.Work.Sub"):
            typ, data = m.create(folder)
            assert typ == "OK", "CREATE %s: %r" % (folder, data)
        for i, folder in enumerate(("INBOX", "INBOX.Work", "INBOX.Work.Sub")):
            msgid = old_append(m, folder, "\\Seen", T0 + i * DAY, "courier")
            want[msgid] = ("." + folder[6:] if folder != "INBOX" else "",
                           "S", T0 + i * DAY)
    r = sync(srv, old, addr, user, password_file(srv, password))
    assert summary(r, addr)["copied"] == "3", r
    assert_exactly_once(srv.maildir(addr), want, [])
    assert subscribed(srv, srv.maildir(addr)) == {"Work", "Work.Sub"}


def test_state_kept_under_state_dir(srv, old):
    """The sync state lives under state_dir/sync/, per account: nothing of
    mbsync's state in the account's Maildir but its UIDVALIDITY files."""
    addr = new_user(srv)
    user, password = old.add_user()
    fill_old(old, user, password)
    sync(srv, old, addr, user, password_file(srv, password))
    state = os.path.join(srv.state_dir, "sync", addr)
    assert os.path.isdir(state), "no sync state in %s" % state
    names = []
    for _, dirs, files in os.walk(state):
        names += files
    assert {"INBOX", "Work", "Work!Sub"} <= set(names), names
    stray = []
    for root, dirs, files in os.walk(srv.maildir(addr)):
        stray += [os.path.join(root, f) for f in files
                  if f.startswith(".mbsyncstate") or f.endswith(".journal")]
    assert not stray, "mbsync state in the Maildir: %r" % stray


def test_wrong_password(srv, old):
    addr = new_user(srv)
    user, password = old.add_user()
    fill_old(old, user, password)
    r = sync(srv, old, addr, user, password_file(srv, "not-" + password),
             expect=1)
    line = one_line_error(r)
    assert line.startswith("tern: mailbox sync %s: " % addr), line
    assert "AUTHENTICATIONFAILED" in line or "uthentication failed" in line, line
    assert summary(r, addr)["status"] == "failed", r
    assert maildir_messages(srv.maildir(addr)) == [], "copied without login"


def test_certificate_verified_by_default(srv, old):
    """Without --ca-file the test certificate is not trusted: nothing is
    copied and the line says why."""
    addr = new_user(srv)
    user, password = old.add_user()
    fill_old(old, user, password)
    r = srv.cli("mailbox", "sync", addr, "--from", old.url(), "--user", user,
                "--password-file", password_file(srv, password), expect=1,
                timeout=120)
    line = one_line_error(r)
    assert "certificate" in line.lower(), line
    assert maildir_messages(srv.maildir(addr)) == []


def test_all_one_good_one_bad(srv, old):
    """--all: a summary line per account and a total; the bad account
    (wrong password) fails, the good one is still synced, status 1."""
    good, bad = new_user(srv), new_user(srv)
    guser, gpass = old.add_user()
    buser, bpass = old.add_user()
    want = fill_old(old, guser, gpass)
    fill_old(old, buser, bpass)
    listing = os.path.join(srv.base, uniq("accounts"))
    with open(listing, "w") as f:
        f.write("# login  old login  password file\n\n"
                "%s\t%s   %s  # moved on Monday\n"
                "%s %s %s\n" % (bad, buser, password_file(srv, "wrong"),
                                good, guser, password_file(srv, gpass)))
    r = srv.cli("mailbox", "sync", "--all", listing, "--from", old.url(),
                "--ca-file", old.cert, expect=1, timeout=240)
    assert summary(r, good) == {"copied": "6", "skipped": "0",
                                "errors": "0", "status": "ok"}, r
    assert summary(r, bad)["status"] == "failed", r
    assert int(summary(r, bad)["errors"]) >= 1, r
    total = [l for l in r.out.splitlines() if l.startswith("total: ")]
    assert total == ["total: accounts=2 failed=1 copied=6 skipped=0 errors=%s"
                     % summary(r, bad)["errors"]], r
    assert one_line_error(r).startswith("tern: mailbox sync %s: " % bad), r
    assert_exactly_once(srv.maildir(good), want, [])


@pytest.mark.parametrize("args,status,words", [
    (["--from", "imap://localhost:1"], 2, "bad URL"),
    (["--from", "imaps://local\"host"], 2, "bad URL"),
    (["--from", "imaps://localhost:99999"], 2, "bad URL"),
    (["--from", "imaps://localhost/INBOX"], 2, "bad URL"),
    (["--from", "imaps://localhost:1", "--password-file", "/nonexistent/pw"],
     1, "cannot read password file /nonexistent/pw"),
])
def test_bad_input(srv, args, status, words):
    addr = new_user(srv)
    pw = password_file(srv, "x")
    base = ["mailbox", "sync", addr, "--user", "old"]
    if "--password-file" not in args:
        base += ["--password-file", pw]
    r = srv.cli(*(base + args), expect=status)
    assert words in one_line_error(r), r


def test_unknown_login(srv, old):
    """Logins are exact: the account's address in another case is not its
    login."""
    addr = new_user(srv)
    r = srv.cli("mailbox", "sync", addr.upper(), "--from", old.url(),
                "--user", "old", "--password-file", password_file(srv, "x"),
                expect=1)
    assert one_line_error(r) == (
        "tern: mailbox sync %s: no account with login '%s' (did you mean "
        "'%s'?)" % (addr.upper(), addr.upper(), addr)), r
    r = srv.cli("mailbox", "sync", "nobody@example.test", "--from", old.url(),
                "--user", "old", "--password-file", password_file(srv, "x"),
                expect=1)
    assert one_line_error(r) == ("tern: mailbox sync nobody@example.test: no "
                                 "account with login 'nobody@example.test'"), r


def test_usage(srv):
    r = srv.cli("mailbox", "sync", "--from", "imaps://localhost", expect=2)
    assert "usage" in r.err
    r = srv.cli("mailbox", "sync", "a@example.test", "--all", "x",
                "--from", "imaps://localhost", expect=2)
    assert "usage" in r.err


def test_all_list_errors(srv):
    listing = os.path.join(srv.base, uniq("accounts"))
    with open(listing, "w") as f:
        f.write("# comment\none two\n")
    r = srv.cli("mailbox", "sync", "--all", listing, "--from",
                "imaps://localhost", expect=1)
    assert one_line_error(r) == ("tern: mailbox sync: %s:2: want LOGIN "
                                 "OLDLOGIN PASSWORD-FILE" % listing), r


@root_only
def test_files_belong_to_tern_user(srv, old):
    """Run as root, everything the sync writes (mail, folders, its state)
    belongs to tern's user; the password file stays root's."""
    addr = new_user(srv)
    user, password = old.add_user()
    fill_old(old, user, password)
    pwfile = password_file(srv, password)
    sync(srv, old, addr, user, pwfile)
    pw = pwd.getpwnam(RUN_USER)
    wrong = []
    for top in (srv.maildir(addr), os.path.join(srv.state_dir, "sync", addr)):
        for root, dirs, files in os.walk(top):
            for n in [root] + [os.path.join(root, f) for f in files]:
                st = os.lstat(n)
                if (st.st_uid, st.st_gid) != (pw.pw_uid, pw.pw_gid):
                    wrong.append((n, st.st_uid, st.st_gid))
    assert not wrong, "not %s's: %r" % (RUN_USER, wrong)
    assert len(maildir_messages(srv.maildir(addr))) == 6
    assert os.stat(pwfile).st_uid == 0


def test_password_with_quotes_and_spaces(srv, old):
    """The password reaches the old server as it is in the file: quotes,
    backslashes and spaces included (mbsync's config quotes them)."""
    addr = new_user(srv)
    user, password = old.add_user('a"b\\c d %s' % uniq("pw"))
    want = fill_old(old, user, password)
    r = sync(srv, old, addr, user, password_file(srv, password))
    assert summary(r, addr)["copied"] == "6", r
    assert_exactly_once(srv.maildir(addr), want, [])


def _processes_showing(secret):
    """Processes whose command line or environment hold secret, and how
    many mbsync processes were seen at all."""
    showing, seen = [], 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % name) as f:
                comm = f.read().strip()
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmdline = f.read()
            with open("/proc/%s/environ" % name, "rb") as f:
                environ = f.read()
        except OSError:
            continue
        if comm == "mbsync":
            seen += 1
        if secret.encode() in cmdline or secret.encode() in environ:
            showing.append((name, comm))
    return showing, seen


def test_password_not_in_argv_or_environment(srv, old):
    """While mbsync runs, no process (tern, mbsync) shows the password in
    its command line or environment, which ps and /proc show others.
    Watched until an mbsync process was caught at least once (a few
    accounts at most, each sync a bounded run)."""
    caught, showing = 0, []
    for _ in range(5):
        addr = new_user(srv)
        user, password = old.add_user()
        fill_old(old, user, password)
        cmd = [TERN_BIN, "-c", srv.conf_path, "mailbox", "sync", addr,
               "--from", old.url(), "--user", user, "--password-file",
               password_file(srv, password), "--ca-file", old.cert]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            while p.poll() is None:
                s, seen = _processes_showing(password)
                showing += s
                caught += seen
        finally:
            out, err = p.communicate(timeout=120)
        assert p.returncode == 0, (out, err)
        if caught:
            break
    assert caught, "never saw mbsync running"
    assert not showing, "password visible in: %r" % sorted(set(showing))


def test_old_server_unreachable(srv):
    """Nothing listens on the port: status 1, the line says so, nothing
    is written in the Maildir but its empty folders."""
    addr = new_user(srv)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]       # bound, never listening
        r = srv.cli("mailbox", "sync", addr, "--from",
                    "imaps://127.0.0.1:%d" % port, "--user", "old",
                    "--password-file", password_file(srv, "x"), expect=1,
                    timeout=120)
    line = one_line_error(r)
    assert "onnect" in line and "refused" in line, line
    assert summary(r, addr)["status"] == "failed", r
    assert maildir_messages(srv.maildir(addr)) == []
