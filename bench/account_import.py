#!/usr/bin/python3
"""
make bench: `tern import csv` of N accounts (default 10,000), each with a
{SHA512-CRYPT} hash (the scheme Dovecot's passwd-files hold most often;
rounds=5000, its default), an extra address and an alias, into a fresh
state_dir: wall time and peak memory (/usr/bin/time -v's maximum
resident set size), median of REPS runs, and the rerun that finds
nothing to change.  Figures only; never fails.  Run as root (tern import
drops to tern's user as it does for a postmaster).

usage: bench/account_import.py TERN_BIN [ACCOUNTS] [REPS] [SCHEME]
       SCHEME: $6$ (default), $y$, $2y$ (cost 5)
"""
import ctypes
import ctypes.util
import multiprocessing
import os
import pwd
import re
import shutil
import statistics
import subprocess
import sys

WORK = "/var/tmp/bench/account_import"
PREFIX = {"$6$": "{SHA512-CRYPT}", "$y$": "{YESCRYPT}", "$2y$": "{BLF-CRYPT}"}
COST = {"$6$": 0, "$y$": 0, "$2y$": 5}


def make_hash(arg):
    i, scheme = arg
    lib = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong,
                                  ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = lib.crypt_gensalt(scheme.encode(), COST[scheme], None, 0)
    return lib.crypt(("password-%d" % i).encode(), salt).decode()


def make_csv(path, n, scheme):
    """The CSV is kept between runs: hashing it is most of the set-up."""
    if os.path.exists(path):
        with open(path) as f:
            if sum(1 for _ in f) == n + 1:
                return
    with multiprocessing.Pool() as pool:
        hashes = pool.map(make_hash, [(i, scheme) for i in range(n)], 64)
    with open(path + ".tmp", "w") as f:
        f.write("login,address,password_hash,addresses,aliases\n")
        for i, h in enumerate(hashes):
            f.write("user%05d@d%d.bench.test,user%05d@d%d.bench.test,%s%s,"
                    "alias%05d@d%d.bench.test,info%05d@d%d.bench.test\n"
                    % (i, i % 10, i, i % 10, PREFIX[scheme], h, i, i % 10,
                       i, i % 10))
    os.rename(path + ".tmp", path)


def timed_import(tern, conf, csv):
    """(wall seconds, max RSS KiB, stdout) of one run under time -v."""
    p = subprocess.run(["/usr/bin/time", "-v", tern, "-c", conf, "import",
                        "--create-domains", "csv", csv],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print("bench account import: failed (%d): %s" % (p.returncode,
              p.stderr.strip()[-300:]), file=sys.stderr)
        return None
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", p.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    h, m, s = wall.groups()
    return (int(h or 0) * 3600 + int(m) * 60 + float(s), int(rss.group(1)),
            p.stdout)


def run(tern, csv, rep, user):
    base = os.path.join(WORK, "tern%d" % rep)
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    os.chmod(base, 0o755)
    conf = os.path.join(base, "tern.conf")
    with open(conf, "w") as f:
        f.write("state_dir = %s/state\nuser = %s\nhostname = bench.test\n"
                % (base, user))
    first = timed_import(tern, conf, csv)
    second = timed_import(tern, conf, csv)
    shutil.rmtree(base, ignore_errors=True)
    if first is None or second is None:
        return None
    if "nothing to change" not in second[2]:
        print("bench account import: the rerun changed something", file=sys.stderr)
    return first[:2], second[:2]


def med(vals):
    return "%.2f [%.2f-%.2f]" % (statistics.median(vals), min(vals), max(vals))


def main():
    tern = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    scheme = sys.argv[4] if len(sys.argv) > 4 else "$6$"
    user = "tern"
    try:
        pwd.getpwnam(user)
    except KeyError:
        print("bench account import: no user %s" % user, file=sys.stderr)
        return 0
    os.makedirs(WORK, exist_ok=True)
    csv = os.path.join(WORK, "users-%d-%s.csv" % (n, scheme.strip("$")))
    make_csv(csv, n, scheme)
    os.chmod(csv, 0o644)
    runs = [r for r in (run(tern, csv, i, user) for i in range(reps)) if r]
    if not runs:
        return 0
    label = "%d accounts, %s%s" % (n, PREFIX[scheme], scheme)
    print("account import | %s | wall s | %s" % (label, med([r[0][0] for r in runs])))
    print("account import | %s | max RSS MiB | %s" % (
        label, med([r[0][1] / 1024 for r in runs])))
    print("account import | rerun, nothing to change | wall s | %s" % med([r[1][0] for r in runs]))
    print("account import | rerun, nothing to change | max RSS MiB | %s" % med(
        [r[1][1] / 1024 for r in runs]))
    with open("/proc/loadavg") as f:
        print("account import | load average during the runs (1, 5, 15 min) | %s"
              % " ".join(f.read().split()[:3]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
