#!/usr/bin/python3
"""
make bench: the time `tern mailbox import` takes for a 10,000-message
Maildir++ tree (4 folders, flags, 4 KB messages), median of REPS runs
into a fresh account each, and the second run (nothing to copy) after each;
beside it, on the same tree: `cp -a` (no sync, then with `sync -f`) and
Dovecot's `doveadm import` (its own indexes and uidlists, as an IMAP import
would build them).  Figures only; never fails.  Run as root (the files
are given to tern's user, as an import as root would leave them).

usage: bench/import.py TERN_BIN [MESSAGES] [REPS]
"""
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import time

WORK = "/var/tmp/bench/import"
SIZE = 4096


def chown_tree(root, uid, gid):
    for d, dirs, files in os.walk(root):
        os.chown(d, uid, gid)
        for f in files:
            os.chown(os.path.join(d, f), uid, gid)


def make_source(root, n):
    """n messages: 70% INBOX (a third in new/), 20% Sent, 10% Lists/tern."""
    folders = [("", 0.7), (".Sent", 0.2), (".Lists.tern", 0.1)]
    body = ("x" * 75 + "\n") * (SIZE // 76)
    i = 0
    for folder, share in folders:
        fdir = os.path.join(root, folder)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(fdir, sub), exist_ok=True)
        count = int(n * share) if folder != ".Lists.tern" else n - i
        for _ in range(count):
            data = ("From: <old@example.org>\nSubject: bench %d\n"
                    "Message-ID: <%d@old.example.org>\n\n%s" % (i, i, body)).encode()
            unread = folder == "" and i % 3 == 0
            name = "%d.M%dP1.oldhost,S=%d" % (1600000000 + i, i, len(data))
            path = os.path.join(fdir, "new" if unread else "cur",
                                name if unread else name + ":2,S")
            with open(path, "wb") as f:
                f.write(data)
            os.utime(path, (1577934245 + i, 1577934245 + i))
            i += 1
    return i


def count_messages(maildir):
    n = 0
    for d, dirs, files in os.walk(maildir):
        if os.path.basename(d) in ("cur", "new"):
            n += len(files)
    return n


def timed(args, **kw):
    start = time.monotonic()
    p = subprocess.run(args, capture_output=True, text=True, **kw)
    elapsed = time.monotonic() - start
    if p.returncode != 0:
        print("bench import: %s failed (%d): %s" % (args[0], p.returncode,
              (p.stderr or p.stdout).strip()[-300:]), file=sys.stderr)
        return None
    return elapsed, p.stdout


def tern_setup(tern, base, user):
    state = os.path.join(base, "state")
    conf = os.path.join(base, "tern.conf")
    with open(conf, "w") as f:
        f.write("state_dir = %s\nuser = %s\nhostname = bench.test\n" % (state, user))
    for args in (["domain", "add", "bench.test"], ["user", "add", "alice@bench.test"]):
        subprocess.run([tern, "-c", conf] + args, check=True, capture_output=True)
    return conf


def run_tern(tern, src, rep, user):
    base = os.path.join(WORK, "tern%d" % rep)
    os.makedirs(base)
    os.chmod(base, 0o755)
    conf = tern_setup(tern, base, user)
    first = timed([tern, "-c", conf, "mailbox", "import", "alice@bench.test", src])
    second = timed([tern, "-c", conf, "mailbox", "import", "alice@bench.test", src])
    if first is None or second is None:
        return None
    if "nothing to copy" not in second[1]:
        print("bench import: the second run copied something:\n" + second[1],
              file=sys.stderr)
    got = count_messages(os.path.join(base, "state", "mail"))
    if got != count_messages(src):
        print("bench import: tern copied %d messages of %d" % (got, count_messages(src)),
              file=sys.stderr)
        return None
    return first[0], second[0]


def run_cp(src, rep, sync):
    dst = os.path.join(WORK, "cp%d%s" % (rep, "s" if sync else ""))
    start = time.monotonic()
    subprocess.run(["cp", "-a", src, dst], check=True)
    if sync:
        subprocess.run(["sync", "-f", dst], check=True)
    return time.monotonic() - start


DOVEADM_CONF = """base_dir = %(base)s/run
log_path = /dev/stderr
ssl = no
mail_location = maildir:~
first_valid_uid = 1
namespace inbox {
  inbox = yes
  separator = /
}
"""


def run_doveadm(src, rep, pw):
    base = os.path.join(WORK, "dove%d" % rep)
    for d in ("run", "target", "srcindex"):
        os.makedirs(os.path.join(base, d))
    conf = os.path.join(base, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(DOVEADM_CONF % {"base": base})
    chown_tree(base, pw.pw_uid, pw.pw_gid)

    def drop():
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    # The source's indexes and uidlists go elsewhere: the tree is shared.
    loc = "maildir:%s:INDEX=%s/srcindex:CONTROL=%s/srcindex" % (src, base, base)
    start = time.monotonic()
    p = subprocess.run(["doveadm", "-c", conf, "import", "-s", loc, "", "ALL"],
                       capture_output=True, text=True, preexec_fn=drop,
                       env={"USER": "alice", "HOME": os.path.join(base, "target"),
                            "PATH": "/usr/bin:/bin"})
    elapsed = time.monotonic() - start
    errors = [l for l in p.stderr.splitlines() if "stats-writer" not in l]
    if p.returncode not in (0, 75) or errors:
        print("bench import: doveadm import: %d %s" % (p.returncode, errors[:3]),
              file=sys.stderr)
        return None
    got = count_messages(os.path.join(base, "target"))
    if got != count_messages(src):
        print("bench import: doveadm copied %d messages of %d" % (got, count_messages(src)),
              file=sys.stderr)
        return None
    return elapsed


def show(label, vals, n):
    vals = [v for v in vals if v is not None]
    if not vals:
        print("import | %s | failed" % label)
        return
    med = statistics.median(vals)
    print("import | %s | %.2f s [%.2f-%.2f] (%.0f msgs/s)"
          % (label, med, min(vals), max(vals), n / med if med else 0))


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 0
    tern = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else int(os.environ.get("REPS", "3"))
    if os.geteuid() != 0:
        print("bench import: run as root", file=sys.stderr)
        return 0
    user = "tern"
    pw = pwd.getpwnam(user)
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.chmod(WORK, 0o755)
    src = os.path.join(WORK, "source")
    total = make_source(src, n)
    chown_tree(src, pw.pw_uid, pw.pw_gid)
    subprocess.run(["sync"])
    results = {"tern": [], "tern2": [], "cp": [], "cps": [], "dove": []}
    for rep in range(reps):
        r = run_tern(tern, src, rep, user)
        results["tern"].append(r[0] if r else None)
        results["tern2"].append(r[1] if r else None)
        results["cp"].append(run_cp(src, rep, False))
        results["cps"].append(run_cp(src, rep, True))
        results["dove"].append(run_doveadm(src, rep, pw))
    label = "%d messages" % total
    show("%s: tern mailbox import" % label, results["tern"], total)
    show("%s: tern mailbox import, second run (nothing to copy)" % label,
         results["tern2"], total)
    show("%s: cp -a (no sync)" % label, results["cp"], total)
    show("%s: cp -a, then sync -f" % label, results["cps"], total)
    show("%s: doveadm import" % label, results["dove"], total)
    shutil.rmtree(WORK, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
