"""
Issue 10, point 5: `tern mailbox import LOGIN PATH` copies an old server's
Maildir++ tree (as rsync leaves it) into an account's Maildir: folders
(subscribed), flags, keywords and received dates kept, nothing copied twice,
safe while tern delivers to the same mailbox.  What arrived is checked on
disk and through Dovecot's own imap binary (pre-authenticated on
stdin/stdout, as the server's user), the reader the mailbox is for.
"""
import imaplib
import os
import pwd
import re
import shutil
import subprocess
import threading
import time

import pytest

from ternlib import (IS_ROOT, RUN_USER, WAIT, make_msg, make_tempdir,
                     root_only, uniq, wait_until)

DOVECOT_IMAP = "/usr/lib/dovecot/imap"
BASE_TIME = 1577934245          # 2020-01-02 03:04:05 UTC

# The source tree: folder -> list of (sub, base name, info, body).  Every
# message gets its own mtime (BASE_TIME + its index * 3600), the date
# Dovecot shows as INTERNALDATE.
SOURCE = {
    "": [("new", "1600000000.M1P1.oldhost", None, "in new, unread"),
         ("new", "1600000001.M2P1.oldhost,S=%d", None, "in new, sized"),
         ("cur", "1600000002.M3P1.oldhost", ":2,S", "seen"),
         ("cur", "1600000003.M4P1.oldhost", ":2,RS", "answered"),
         ("cur", "1600000004.M5P1.oldhost", ":2,FS", "flagged"),
         ("cur", "1600000005.M6P1.oldhost", ":2,ST", "trashed"),
         ("cur", "1600000006.M7P1.oldhost", ":2,D", "draft"),
         ("cur", "1600000007.M8P1.oldhost", ":2,Sab", "keywords"),
         ("cur", "1600000008.M9P1.oldhost,S=999,W=1010", ":2,S", "wrong size")],
    ".Sent": [("cur", "1600000010.M10P1.oldhost", ":2,S", "sent one"),
              ("cur", "1600000011.M11P1.oldhost", ":2,RS", "sent two")],
    ".Lists": [("cur", "1600000020.M20P1.oldhost", ":2,", "list top")],
    ".Lists.tern": [("new", "1600000021.M21P1.oldhost", None, "nested new"),
                    ("cur", "1600000022.M22P1.oldhost", ":2,FS", "nested")],
}
SOURCE_KEYWORDS = "0 $Junk\n1 work\n"
IMAP_NAMES = {"": "INBOX", ".Sent": "Sent", ".Lists": "Lists",
              ".Lists.tern": "Lists/tern"}
IMAP_FLAGS = {"S": "\\Seen", "R": "\\Answered", "F": "\\Flagged",
              "T": "\\Deleted", "D": "\\Draft"}


def message_bytes(body):
    return ("From: <old@example.org>\nSubject: %s\n\n%s\n" % (body, body)).encode()


def build_source(root, tree=SOURCE):
    """Writes the tree under root (readable by the server's user);
    returns {(folder, sub, name): (bytes, mtime)}."""
    out = {}
    n = 0
    for folder, msgs in tree.items():
        fdir = os.path.join(root, folder) if folder else root
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(fdir, sub), exist_ok=True)
        for sub, base, info, body in msgs:
            data = message_bytes(body)
            if "%d" in base:
                base = base % len(data)
            name = base + (info or "")
            path = os.path.join(fdir, sub, name)
            with open(path, "wb") as f:
                f.write(data)
            mtime = BASE_TIME + n * 3600
            n += 1
            os.utime(path, (mtime, mtime))
            out[(folder, sub, name)] = (data, mtime)
    with open(os.path.join(root, "dovecot-keywords"), "w") as f:
        f.write(SOURCE_KEYWORDS)
    make_readable(root)
    return out


def make_readable(root):
    for d, dirs, files in os.walk(root):
        os.chmod(d, 0o755)
        for f in files:
            if not os.path.islink(os.path.join(d, f)):
                os.chmod(os.path.join(d, f), 0o644)


def run_as_user():
    if not IS_ROOT:
        return None
    pw = pwd.getpwnam(RUN_USER)

    def drop():
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return drop


def imap(maildir, commands, base):
    """Runs Dovecot's imap binary pre-authenticated on maildir (Maildir++,
    as tern's Dovecot configuration reads it), as the server's user;
    returns its output."""
    conf = os.path.join(base, "imap.conf")
    if not os.path.exists(conf):
        with open(conf, "w") as f:
            f.write("mail_location = maildir:~\nlog_path = /dev/stderr\n"
                    "ssl = no\nnamespace inbox {\n  inbox = yes\n"
                    "  separator = /\n}\n")
        os.chmod(conf, 0o644)
    script = "".join("a%d %s\r\n" % (i, c) for i, c in enumerate(commands))
    script += "z LOGOUT\r\n"
    p = subprocess.run([DOVECOT_IMAP, "-c", conf], input=script.encode(),
                       capture_output=True, timeout=30, preexec_fn=run_as_user(),
                       env={"USER": "importtest", "HOME": maildir,
                            "PATH": "/usr/bin:/bin"})
    out = p.stdout.decode("utf-8", "replace")
    assert "z OK" in out, "imap failed: %r %r" % (out, p.stderr)
    return out


def imap_folder(maildir, folder, base):
    """{mtime: set of flags} of a folder, through Dovecot."""
    out = imap(maildir, ['SELECT "%s"' % folder,
                         "FETCH 1:* (FLAGS INTERNALDATE)"], base)
    got = {}
    for m in re.finditer(r'\* \d+ FETCH \(FLAGS \(([^)]*)\) INTERNALDATE "([^"]+)"\)', out):
        flags = set(m.group(1).split()) - {"\\Recent"}
        when = int(time.mktime(imaplib.Internaldate2tuple(
            ('INTERNALDATE "%s"' % m.group(2)).encode())))
        got[when] = flags
    return got


def expected_imap_flags(name):
    info = name.split(":2,", 1)[1] if ":2," in name else ""
    flags = {IMAP_FLAGS[c] for c in info if c in IMAP_FLAGS}
    keywords = {"a": "$Junk", "b": "work"}
    flags |= {keywords[c] for c in info if c in keywords}
    return flags


def files_of(maildir):
    """{(folder, sub): sorted names} of every message file under maildir."""
    out = {}
    for folder in [""] + sorted(e for e in os.listdir(maildir) if e.startswith(".")):
        fdir = os.path.join(maildir, folder)
        for sub in ("new", "cur"):
            try:
                out[(folder, sub)] = sorted(os.listdir(os.path.join(fdir, sub)))
            except (FileNotFoundError, NotADirectoryError):
                pass
    return out


def all_names(maildir):
    return sorted(n for names in files_of(maildir).values() for n in names)


def base_of(name):
    base = name.split(":", 1)[0]
    return re.sub(r",[SW]=\d+", "", base)


def one_line_error(r):
    lines = r.err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("tern: "), \
        "want exactly one line on stderr, got %r" % (r,)
    return lines[0]


@pytest.fixture
def acct(tern_factory):
    t = tern_factory()
    t.cli("domain", "add", "example.test")
    addr = "%s@example.test" % uniq("imp")
    t.cli("user", "add", addr)
    src = os.path.join(t.base, "old")
    os.makedirs(src)
    return t, addr, src


def test_import_keeps_folders_flags_keywords_and_dates(acct):
    t, addr, src = acct
    made = build_source(src)
    r = t.cli("mailbox", "import", addr, src)
    lines = r.out.strip().split("\n")
    assert lines == ["INBOX: 9 copied, 0 already present",
                     ".Lists: 1 copied, 0 already present",
                     ".Lists.tern: 2 copied, 0 already present",
                     ".Sent: 2 copied, 0 already present",
                     "total: 4 folders, 14 copied, 0 already present, 0 skipped, "
                     "0 folders skipped"], r
    md = t.maildir(addr)
    for (folder, sub, name), (data, mtime) in made.items():
        if ",S=999" in name:
            # A wrong size field would mislead Dovecot: it is dropped.
            name = name.replace(",S=999,W=1010", "")
        path = os.path.join(md, folder, sub, name)
        assert os.path.exists(path), "missing %s; have %r" % (path, files_of(md))
        st = os.stat(path)
        assert st.st_mtime == mtime, "%s: mtime %s, want %s" % (path, st.st_mtime, mtime)
        with open(path, "rb") as f:
            assert f.read() == data
    # Nothing else, nothing left in tmp/.
    assert len(all_names(md)) == len(made)
    for folder in SOURCE:
        assert os.listdir(os.path.join(md, folder, "tmp")) == []
        if folder:
            assert os.path.exists(os.path.join(md, folder, "maildirfolder"))
    with open(os.path.join(md, "subscriptions")) as f:
        subs = f.read()
    assert subs == "V\t2\n\nLists\nLists\ttern\nSent\n", repr(subs)

    # What Dovecot sees: the folders, subscribed; flags, keywords, dates.
    out = imap(md, ['LIST "" "*"', 'LSUB "" "*"'], t.base)
    for name in IMAP_NAMES.values():
        assert re.search(r'\* LIST \([^)]*\) "/" "?%s"?\r?\n' % re.escape(name), out), out
        if name != "INBOX":
            assert re.search(r'\* LSUB \([^)]*\) "/" "?%s"?\r?\n' % re.escape(name), out), out
    for folder, imap_name in IMAP_NAMES.items():
        got = imap_folder(md, imap_name, t.base)
        want = {mtime: expected_imap_flags(name)
                for (f, sub, name), (data, mtime) in made.items() if f == folder}
        assert got == want, "%s: got %r, want %r" % (imap_name, got, want)


def test_keywords_merge_into_the_targets_own(acct):
    """The target folder already names keywords (Dovecot wrote them):
    the source's letters are mapped onto the target's names."""
    t, addr, src = acct
    build_source(src, {"": [("cur", "1600000100.M1P1.oldhost", ":2,Sb", "work"),
                            ("cur", "1600000101.M2P1.oldhost", ":2,Sac", "junk")]})
    md = t.maildir(addr)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub))
    with open(os.path.join(md, "dovecot-keywords"), "w") as f:
        f.write("0 work\n")
    if IS_ROOT:
        pw = pwd.getpwnam(RUN_USER)
        for d, dirs, files in os.walk(os.path.join(t.state_dir, "mail")):
            os.chown(d, pw.pw_uid, pw.pw_gid)
            for n in files:
                os.chown(os.path.join(d, n), pw.pw_uid, pw.pw_gid)
    r = t.cli("mailbox", "import", addr, src)
    # 'c' has no name in the source's dovecot-keywords: dropped, and said.
    assert r.out.startswith("INBOX: 2 copied, 0 already present, 1 keyword "
                            "flags dropped"), r
    with open(os.path.join(md, "dovecot-keywords")) as f:
        assert f.read() == "0 work\n1 $Junk\n"
    assert sorted(os.listdir(os.path.join(md, "cur"))) == [
        "1600000100.M1P1.oldhost:2,Sa", "1600000101.M2P1.oldhost:2,Sb"]
    got = imap_folder(md, "INBOX", t.base)
    assert sorted(map(sorted, got.values())) == [["$Junk", "\\Seen"], ["\\Seen", "work"]]


def test_second_run_copies_nothing(acct):
    t, addr, src = acct
    made = build_source(src)
    t.cli("mailbox", "import", addr, src)
    md = t.maildir(addr)
    before = files_of(md)
    r = t.cli("mailbox", "import", addr, src)
    assert r.out.strip().split("\n")[-1] == (
        "total: 4 folders, 0 copied, 14 already present, 0 skipped, "
        "0 folders skipped: nothing to copy"), r
    assert "INBOX: 0 copied, 9 already present" in r.out
    assert files_of(md) == before
    # Dovecot reads the mailbox and the user changes flags: files move
    # from new/ to cur/ and are renamed; still nothing is copied again.
    imap(md, ["SELECT INBOX", "STORE 1:* +FLAGS (\\Seen)", "SELECT Lists/tern",
              "STORE 1:* +FLAGS (\\Answered)"], t.base)
    assert files_of(md) != before
    r = t.cli("mailbox", "import", addr, src)
    assert r.out.strip().endswith("14 already present, 0 skipped, 0 folders "
                                  "skipped: nothing to copy"), r
    assert len(all_names(md)) == len(made)


def test_delivered_mail_is_never_taken_for_imported(acct):
    """"Already present" is the same file of the old server, not the same
    bytes: a message tern delivered, copied byte for byte into the source
    under another name, is imported; under its own name it is present."""
    t, addr, src = acct
    t.start()
    subject = uniq("dlv")
    t.send(addr, subject=subject)
    wait_until(lambda: t.delivered(addr), WAIT)
    [delivered] = t.delivered(addr)
    build_source(src, {"": []})
    shutil.copy2(delivered, os.path.join(src, "new", "1600000200.M1P1.oldhost"))
    shutil.copy2(delivered, os.path.join(src, "new", os.path.basename(delivered)))
    make_readable(src)
    r = t.cli("mailbox", "import", addr, src)
    assert r.out.startswith("INBOX: 1 copied, 1 already present\n"), r
    names = sorted(os.listdir(os.path.join(t.maildir(addr), "new")))
    assert names == sorted([os.path.basename(delivered), "1600000200.M1P1.oldhost"])


def test_import_while_tern_delivers_loses_nothing(acct):
    t, addr, src = acct
    t.start()
    n_import, n_send = 1500, 60
    tree = {"": [("cur" if i % 2 else "new", "1600%06d.M%dP7.oldhost" % (i, i),
                  ":2,S" if i % 2 else None, "old %d" % i) for i in range(n_import)],
            ".Archive": [("cur", "1601%06d.M%dP7.oldhost" % (i, i), ":2,S",
                          "arch %d" % i) for i in range(n_import // 3)]}
    build_source(src, tree)
    subjects = ["live-%d-%s" % (i, uniq()) for i in range(n_send)]
    errors = []

    def send():
        try:
            for s in subjects:
                t.send(addr, msg=make_msg(subject=s, to=addr))
        except Exception as e:          # reported below
            errors.append(e)
    sender = threading.Thread(target=send)
    sender.start()
    # The import starts while deliveries are under way.
    wait_until(lambda: t.delivered(addr), WAIT)
    r = t.cli("mailbox", "import", addr, src, timeout=120)
    sender.join(60)
    assert not sender.is_alive() and not errors, errors
    assert "total: 2 folders, %d copied" % (n_import + n_import // 3) in r.out, r
    md = t.maildir(addr)

    def delivered_subjects():
        out = []
        for n in os.listdir(os.path.join(md, "new")):
            if "oldhost" in n:
                continue
            with open(os.path.join(md, "new", n), "rb") as f:
                m = re.search(rb"^Subject: (\S+)", f.read(), re.M)
            out.append(m.group(1).decode() if m else None)
        return out
    wait_until(lambda: len(delivered_subjects()) >= n_send, 3 * WAIT)
    assert sorted(delivered_subjects()) == sorted(subjects)
    imported = [n for n in all_names(md) if "oldhost" in n]
    assert len(imported) == len(set(map(base_of, imported))) == n_import + n_import // 3
    r = t.cli("mailbox", "import", addr, src, timeout=120)
    assert r.out.strip().endswith(": nothing to copy"), r
    assert os.listdir(os.path.join(md, ".Archive", "tmp")) == []


def test_bad_login_and_path(acct):
    t, addr, src = acct
    build_source(src)
    r = t.cli("mailbox", "import", "nobody@example.test", src, expect=1)
    assert "no account with login 'nobody@example.test'" in one_line_error(r)
    # Logins are exact: a miscased one is refused, naming the real one.
    r = t.cli("mailbox", "import", addr.upper(), src, expect=1)
    assert "did you mean '%s'" % addr in one_line_error(r)
    r = t.cli("mailbox", "import", addr, os.path.join(src, "cur"), expect=1)
    assert "is not a Maildir" in one_line_error(r)
    r = t.cli("mailbox", "import", addr, os.path.join(t.base, "missing"), expect=1)
    assert "cannot open" in one_line_error(r)
    assert r.out == ""
    t.cli("mailbox", "import", addr, expect=2)
    t.cli("mailbox", "import", addr, src, "extra", expect=2)
    t.cli("mailbox", "frobnicate", expect=2)
    assert not os.path.exists(t.maildir(addr)), "nothing may be written on a bad input"


def test_write_error_is_one_line_and_leaves_nothing_half_copied(acct):
    t, addr, src = acct
    build_source(src)
    md = t.maildir(addr)
    # The account's Sent folder cannot be created: a file stands there.
    os.makedirs(md)
    with open(os.path.join(md, ".Sent"), "w") as f:
        f.write("in the way\n")
    if IS_ROOT:
        pw = pwd.getpwnam(RUN_USER)
        for p in (os.path.dirname(os.path.dirname(md)), os.path.dirname(md), md,
                  os.path.join(md, ".Sent")):
            os.chown(p, pw.pw_uid, pw.pw_gid)
    r = t.cli("mailbox", "import", addr, src, expect=1)
    assert "cannot create" in one_line_error(r) and ".Sent" in r.err, r
    # What went before is whole; no copy is left in any tmp/.
    for folder in ("", ".Lists", ".Lists.tern"):
        assert os.listdir(os.path.join(md, folder, "tmp")) == []
    assert len(os.listdir(os.path.join(md, "new"))) + len(os.listdir(os.path.join(md, "cur"))) == 9


def test_unreadable_message_is_an_error(acct):
    t, addr, src = acct
    made = build_source(src)
    victim = [os.path.join(src, f, s, n) for (f, s, n) in made if f == ".Sent"][0]
    # As root the file stays root's (0600: tern cannot read it); as an
    # ordinary user, who is the server's user too, no mode bit is left.
    os.chmod(victim, 0o600 if IS_ROOT else 0o000)
    r = t.cli("mailbox", "import", addr, src, expect=1)
    assert "cannot read" in one_line_error(r) and "Permission denied" in r.err
    md = t.maildir(addr)
    assert os.listdir(os.path.join(md, ".Sent", "tmp")) == []
    assert os.listdir(os.path.join(md, ".Sent", "cur")) == []


def test_names_that_could_escape_are_refused(acct):
    t, addr, src = acct
    outside = make_tempdir("tern-it-outside-")
    try:
        build_source(src, {"": [("cur", "1600000300.M1P1.oldhost", ":2,S", "fine")],
                           ".a..b": [("cur", "1600000301.M1P1.oldhost", ":2,S", "dots")],
                           "..x": [("cur", "1600000302.M1P1.oldhost", ":2,S", "lead")],
                           ".end.": [("cur", "1600000303.M1P1.oldhost", ":2,S", "trail")],
                           ".Empty": []})
        os.makedirs(os.path.join(outside, "cur"))
        os.makedirs(os.path.join(outside, "new"))
        os.symlink(outside, os.path.join(src, ".Link"))
        os.symlink("/etc/passwd", os.path.join(src, "cur", "1600000304.M1P1.oldhost:2,S"))
        # In cur/ a name needs ":2,": this one would pass 255 bytes.
        long_name = "1600000305.M1P1." + "h" * (254 - 16)
        with open(os.path.join(src, "cur", long_name), "wb") as f:
            f.write(message_bytes("long"))
        os.chmod(os.path.join(src, "cur", long_name), 0o644)
        os.makedirs(os.path.join(src, ".NotMaildir"))
        # Pigeonhole's link to the active script is not a folder at all.
        os.makedirs(os.path.join(src, "sieve"))
        with open(os.path.join(src, "sieve", "x.sieve"), "w") as f:
            f.write("keep;\n")
        os.symlink("sieve/x.sieve", os.path.join(src, ".dovecot.sieve"))
        with open(os.path.join(src, ".dovecot.lda-dupes"), "w"):
            pass
        r = t.cli("mailbox", "import", addr, src)
        out = r.out.strip().split("\n")
        assert out == [
            "INBOX: 1 copied, 0 already present, 2 skipped (a symbolic link: "
            "cur/1600000304.M1P1.oldhost:2,S, and others)",
            "..x: skipped: not a Maildir++ folder name",
            ".Empty: 0 copied, 0 already present",
            ".Link: skipped: a symbolic link",
            ".NotMaildir: skipped: not a Maildir folder (no cur/ and new/)",
            ".a..b: skipped: not a Maildir++ folder name",
            ".end.: skipped: not a Maildir++ folder name",
            "total: 2 folders, 1 copied, 0 already present, 2 skipped, "
            "5 folders skipped"], r
        md = t.maildir(addr)
        assert sorted(e for e in os.listdir(md) if e.startswith(".")) == [".Empty"]
        assert os.listdir(os.path.join(outside, "cur")) == []
    finally:
        shutil.rmtree(outside, ignore_errors=True)


@root_only
def test_source_the_servers_user_cannot_read(acct):
    """Run as root, the import reads as the server's user: a copy only
    root can read is refused with a line that says so."""
    t, addr, src = acct
    build_source(src)
    os.chmod(src, 0o700)
    r = t.cli("mailbox", "import", addr, src, expect=1)
    assert ("cannot read %s as user %s: Permission denied" % (src, RUN_USER)
            in one_line_error(r)), r
    assert not os.path.exists(t.maildir(addr))


@root_only
def test_run_as_root_files_belong_to_the_servers_user(acct):
    t, addr, src = acct
    build_source(src)
    t.cli("mailbox", "import", addr, src)
    pw = pwd.getpwnam(RUN_USER)
    md = t.maildir(addr)
    for d, dirs, files in os.walk(os.path.dirname(os.path.dirname(md))):
        for p in [d] + [os.path.join(d, f) for f in files]:
            st = os.lstat(p)
            assert (st.st_uid, st.st_gid) == (pw.pw_uid, pw.pw_gid), \
                "%s belongs to %d:%d, want %s" % (p, st.st_uid, st.st_gid, RUN_USER)


def _own_mail_tree(t):
    if IS_ROOT:
        pw = pwd.getpwnam(RUN_USER)
        for d, dirs, files in os.walk(os.path.join(t.state_dir, "mail")):
            os.chown(d, pw.pw_uid, pw.pw_gid)
            for n in files:
                os.chown(os.path.join(d, n), pw.pw_uid, pw.pw_gid)


def test_keywords_wait_for_dovecots_lock_and_take_a_stale_one(acct):
    """dovecot-keywords is changed under Dovecot's dotlock: a lock held
    for a moment is waited for; one left by a dead holder long ago is
    taken over, as Dovecot does."""
    t, addr, src = acct
    build_source(src, {"": [("cur", "1600000400.M1P1.oldhost", ":2,Sa", "junk")],
                       ".Sent": [("cur", "1600000401.M1P1.oldhost", ":2,Sb", "work")]})
    # Each folder names its own letters.
    shutil.copy(os.path.join(src, "dovecot-keywords"), os.path.join(src, ".Sent"))
    make_readable(src)
    md = t.maildir(addr)
    for folder in ("", ".Sent"):
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, folder, sub))
    held = os.path.join(md, "dovecot-keywords.lock")
    stale = os.path.join(md, ".Sent", "dovecot-keywords.lock")
    for lock in (held, stale):
        with open(lock, "w"):
            pass
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    _own_mail_tree(t)
    releaser = threading.Timer(1.0, os.unlink, (held,))
    releaser.start()
    try:
        r = t.cli("mailbox", "import", addr, src)
    finally:
        releaser.join(WAIT)
    assert "INBOX: 1 copied" in r.out and ".Sent: 1 copied" in r.out, r
    assert not os.path.exists(held) and not os.path.exists(stale)
    with open(os.path.join(md, "dovecot-keywords")) as f:
        assert f.read() == "0 $Junk\n"
    with open(os.path.join(md, ".Sent", "dovecot-keywords")) as f:
        assert f.read() == "0 work\n"
