#!/usr/bin/python3
"""
tern filter: writes the client addresses that failed AUTH at least LIMIT
times within WINDOW seconds (default 5 in 600) to FILE, one address per
line, for a firewall to read (an nftables set, fail2ban, a cron job).
The file is rewritten atomically (a temporary file in the same folder,
fsync, rename) whenever the list changes, so a reader never sees half of
it.  An address leaves the list when its failures leave the window (seen
at the next auth event).  It registers the `auth` report only: it never
delays or refuses mail.

    filters = authfail /usr/bin/python3 /usr/share/tern/filters/authfail.py --file /var/lib/tern/authfail.txt --limit 5 --window 600
"""
import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternfilter  # noqa: E402


class AuthFail(ternfilter.Filter):
    reports = ("auth",)

    def __init__(self, path, limit, window):
        super().__init__()
        self.path = path
        self.limit = limit
        self.window = window
        self.fails = collections.defaultdict(collections.deque)
        self.listed = None
        self.write(set())

    def write(self, addrs):
        if addrs == self.listed:
            return
        tmp = "%s.tmp.%d" % (self.path, os.getpid())
        with open(tmp, "w") as f:
            for a in sorted(addrs):
                f.write(a + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, self.path)
        self.listed = set(addrs)

    def on_report(self, event, fields):
        # report auth SID CLIENT_IP RESULT MECH LOGIN REASON
        if event != "auth" or len(fields) < 3:
            return
        ip, result = ternfilter.text(fields[1]), fields[2]
        now = time.monotonic()
        if result == "fail":
            self.fails[ip].append(now)
        for addr in list(self.fails):
            q = self.fails[addr]
            while q and q[0] <= now - self.window:
                q.popleft()
            if not q:
                del self.fails[addr]
        self.write({a for a, q in self.fails.items() if len(q) >= self.limit})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", required=True)
    ap.add_argument("--limit", type=int, default=5)
    ap.add_argument("--window", type=int, default=600)
    a = ap.parse_args()
    AuthFail(a.file, a.limit, a.window).run()


if __name__ == "__main__":
    main()
