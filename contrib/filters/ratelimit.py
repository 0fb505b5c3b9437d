#!/usr/bin/python3
"""
tern filter: a per-login outbound rate limit.  An authenticated login may
start at most LIMIT messages per WINDOW seconds (default 100 per hour);
past that, its MAIL FROM is deferred with

    451 4.7.1 Rate limit exceeded, try again later

until the oldest message leaves the window.  Each MAIL FROM that tern
accepted for the login counts (the hook is `mail`), whether or not the
message is then sent: a client cannot get around the limit by giving up
late.  Counting at MAIL rather than at each RCPT makes the limit one of
messages, not of recipients (see docs/filters.md).  Sessions without AUTH
are not counted.  State is in memory: a restart of the filter forgets.

    filters = ratelimit /usr/bin/python3 /usr/share/tern/filters/ratelimit.py --limit 100 --window 3600
"""
import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternfilter  # noqa: E402


class RateLimit(ternfilter.Filter):
    hooks = ("mail",)

    def __init__(self, limit, window):
        super().__init__()
        self.limit = limit
        self.window = window
        self.sent = collections.defaultdict(collections.deque)

    def on_hook(self, hook, fields, fd):
        if fd is not None:
            os.close(fd)
        if hook != "mail" or len(fields) < 4:
            return "proceed"
        login = ternfilter.decode(fields[3])
        if not login:
            return "proceed"
        now = time.monotonic()
        q = self.sent[login]
        while q and q[0] <= now - self.window:
            q.popleft()
        if len(q) >= self.limit:
            sys.stderr.write("ratelimit: %r over %d per %ds\n"
                             % (login, self.limit, self.window))
            return "defer 451 4.7.1 Rate limit exceeded, try again later"
        q.append(now)
        return "proceed"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--window", type=int, default=3600)
    a = ap.parse_args()
    RateLimit(a.limit, a.window).run()


if __name__ == "__main__":
    main()
