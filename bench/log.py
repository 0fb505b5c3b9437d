#!/usr/bin/python3
"""
make bench: the time `tern log --since 1d --login X` takes over a 1 GB log
file (median of REPS runs, with the load average), and beside it
`grep -F -c login=X` over the same file, the floor of any reader.

The file is made once, by this script, and kept in WORK: realistic lines
as tern writes them (RFC 3339 stamps spread over the last 23 hours, so
that --since 1d covers the whole file): SMTP sessions on ports 25 and 587
with TLS, AUTH (ok, wrong password, miscased), queued messages and their
deliveries, rejected recipients, IMAP logins through lookup; 5,000
accounts, the one asked for among them.  Figures only; never fails.

usage: bench/log.py TERN_BIN [REPS] [SIZE_MB]
"""
import os
import random
import resource
import statistics
import subprocess
import sys
import time

WORK = "/var/tmp/bench/log"
LOGIN = "acct00042@example.org"


def stamp(t):
    lt = time.localtime(t)
    off = lt.tm_gmtoff // 60
    return "%s.%03d%s%02d:%02d" % (time.strftime("%Y-%m-%dT%H:%M:%S", lt),
                                   int((t % 1) * 1000), "+" if off >= 0 else "-",
                                   abs(off) // 60, abs(off) % 60)


B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def qid(rng):
    return "".join(rng.choice(B32) for _ in range(12))


def session(rng, t, accounts):
    """The lines of one session (and its message's deliveries)."""
    sid = qid(rng)
    ip = "198.51.%d.%d" % (rng.randrange(256), rng.randrange(1, 255))
    port = rng.randrange(1024, 65535)
    out = []

    def add(proc, pid, text):
        out.append("%s %s[%d]: %s\n" % (stamp(t + len(out) * 0.003), proc, pid, text))

    sub = rng.random() < 0.6
    add("smtpd", 812, "%s: connect from [%s]:%d port=%s screen=permit"
        % (sid, ip, port, "submission" if sub else "smtp"))
    add("smtpd", 812, "%s: TLS established from [%s]: TLSv1.3 TLS_AES_256_GCM_SHA384"
        % (sid, ip))
    login = rng.choice(accounts)
    if sub:
        r = rng.random()
        if r < 0.9:
            add("smtpd", 812, "%s: auth ok login=%s method=PLAIN client=[%s] proto=smtp"
                % (sid, login, ip))
        elif r < 0.95:
            add("smtpd", 812, "%s: auth failed login=%s reason=password client=[%s] proto=smtp"
                % (sid, login, ip))
            login = None
        else:
            mis = login[0].upper() + login[1:]
            add("smtpd", 812, "%s: auth case-mismatch login=%s existing=%s client=[%s] "
                "action=would-refuse proto=smtp" % (sid, mis, login, ip))
            add("smtpd", 812, "%s: auth ok login=%s method=PLAIN client=[%s] proto=smtp"
                % (sid, login, ip))
    else:
        login = None
    if rng.random() < 0.15:
        add("smtpd", 812, "%s: reject RCPT from [%s]: user unknown to=<nobody%d@example.org>"
            % (sid, ip, rng.randrange(100000)))
    if sub and login is None:
        add("smtpd", 812, "%s: disconnect from [%s]:%d commands=4 errors=1" % (sid, ip, port))
        return out
    q = qid(rng)
    sender = login or "news%d@lists.example.net" % rng.randrange(1000)
    rcpt = rng.choice(accounts) if not sub else "user%d@example.com" % rng.randrange(100000)
    add("smtpd", 812, "%s: queued id=%s from=<%s> size=%d nrcpt=1 status=queued"
        % (sid, q, sender, rng.randrange(2000, 200000)))
    add("smtpd", 812, "%s: disconnect from [%s]:%d commands=7 errors=0" % (sid, ip, port))
    if sub:
        add("queue", 809, "%s: to=<%s> orig_to=<%s> relay=mx.example.com[203.0.113.%d]:25 "
            "delay=0s status=sent (250 2.0.0 Ok: queued as %s)"
            % (q, rcpt, rcpt, rng.randrange(256), qid(rng)))
    else:
        add("queue", 809, "%s: to=<%s> orig_to=<%s> relay=local delay=0s status=sent "
            "(delivered to maildir)" % (q, rcpt, rcpt))
    add("queue", 809, "%s: removed" % q)
    if rng.random() < 0.3:
        add("lookup", 805, "auth ok login=%s client=[%s] proto=imap" % (rng.choice(accounts), ip))
    return out


def make_log(path, size):
    rng = random.Random(12)
    accounts = ["acct%05d@example.org" % i for i in range(5000)]
    span = 23 * 3600
    # A first pass to learn the bytes per session, then the stamps spread.
    sample = sum(len(l) for _ in range(2000) for l in session(rng, 0, accounts)) / 2000
    n = int(size / sample)
    t0 = time.time() - span - 60
    tmp = path + ".tmp"
    with open(tmp, "w", buffering=1 << 22) as f:
        written = 0
        i = 0
        while written < size:
            lines = session(rng, t0 + span * i / n, accounts)
            f.write("".join(lines))
            written += sum(map(len, lines))
            i += 1
    os.rename(tmp, path)


def main():
    tern = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    size_mb = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
    os.makedirs(WORK, exist_ok=True)
    path = os.path.join(WORK, "tern-%dM.log" % size_mb)
    # Made fresh each day: --since 1d must cover it.
    if not os.path.exists(path) or time.time() - os.path.getmtime(path) > 3600:
        t = time.monotonic()
        make_log(path, size_mb << 20)
        print("log: made %s (%d MB) in %.0fs" % (path, os.path.getsize(path) >> 20,
                                                 time.monotonic() - t))
    conf = os.path.join(WORK, "tern.conf")
    with open(conf, "w") as f:
        f.write("state_dir = %s/state\nlog_file = %s\nhostname = bench.test\n" % (WORK, path))
    # Warm the page cache once, so that every run reads from memory.
    subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)
    runs, cpus, greps, lines = [], [], [], None
    for _ in range(reps):
        t = time.monotonic()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run([tern, "-c", conf, "log", "--since", "1d", "--login", LOGIN],
                           stdout=subprocess.PIPE, check=True)
        runs.append(time.monotonic() - t)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        lines = p.stdout.count(b"\n")
        t = time.monotonic()
        # Into a pipe: GNU grep stops at the first match when its
        # output is /dev/null.
        subprocess.run(["grep", "-F", "-c", "login=" + LOGIN, path],
                       stdout=subprocess.PIPE)
        greps.append(time.monotonic() - t)
    load = open("/proc/loadavg").read().split()[:3]
    print("log | tern log --since 1d --login X, %d MB, %d lines out | %.2f s [%.2f-%.2f]"
          % (os.path.getsize(path) >> 20, lines, statistics.median(runs), min(runs), max(runs)))
    print("log | tern log, CPU time (user+sys) | %.2f s [%.2f-%.2f]"
          % (statistics.median(cpus), min(cpus), max(cpus)))
    print("log | grep -F -c login=X, same file | %.2f s [%.2f-%.2f]"
          % (statistics.median(greps), min(greps), max(greps)))
    print("log | load average | %s" % " ".join(load))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:      # figures only: never fail the bench
        print("log: bench failed: %s" % e)
