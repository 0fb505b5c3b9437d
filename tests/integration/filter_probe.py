#!/usr/bin/python3
"""
A tern filter for the tests (test_filters.py), standard library only: it
records every line tern writes to it (and the start of each message it
is given) in --record, and answers each hook as the addresses and the
message tell it:

  HELO reject-*               reject 550
  MAIL FROM:<crash-*>         exits at once (no reply)
  MAIL FROM:<hang-*>          sleeps --hang seconds, then answers proceed
  MAIL FROM:<garbage-*>       writes a line that is no reply
  MAIL FROM:<forge-*>         answers a token tern never sent
  MAIL FROM:<defer-*>         defer 451 4.7.1
  MAIL FROM:<disc-*>          disconnect 421
  RCPT TO:<reject-*>          reject 550 5.7.1
  RCPT TO:<defer-*>           defer 450 (no enhanced code: tern adds one)
  a message with "X-Probe-Action: add-header"   add-header X-Probe ...
  a message with "X-Probe-Action: hold"         hold
  a message with "X-Probe-Action: reject"       reject 554
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), "contrib", "filters"))
import ternfilter  # noqa: E402


class Probe(ternfilter.Filter):
    def __init__(self, a):
        super().__init__()
        self.a = a
        self.version = a.version
        self.reports = tuple(x for x in a.reports.split("+") if x)
        self.hooks = tuple(x for x in a.hooks.split("+") if x)

    def record(self, line):
        if self.a.record:
            with open(self.a.record, "a") as f:
                f.write(line + "\n")

    def lines(self):
        for line in super().lines():
            self.record(line)
            yield line

    def on_hook(self, hook, fields, fd):
        if hook == "helo" and ternfilter.text(fields[1]).startswith("reject-"):
            return "reject 550 5.7.1 HELO refused by the probe"
        if hook == "mail":
            sender = ternfilter.text(fields[2])
            if sender.startswith("crash-"):
                os._exit(3)
            if sender.startswith("hang-"):
                time.sleep(self.a.hang)
            if sender.startswith("garbage-"):
                self.send("this is not a reply at all")
                return "proceed"
            if sender.startswith("forge-"):
                self.send("reply 99999999999 proceed")
                return "proceed"
            if sender.startswith("defer-"):
                return "defer 451 4.7.1 MAIL deferred by the probe"
            if sender.startswith("disc-"):
                return "disconnect 421 4.7.0 The probe hangs up"
        if hook == "rcpt":
            rcpt = ternfilter.text(fields[2])
            if rcpt.startswith("reject-"):
                return "reject 550 5.7.1 RCPT refused by the probe"
            if rcpt.startswith("defer-"):
                return "defer 450 Try this one later"
        if hook == "data-end":
            with os.fdopen(fd, "rb") as f:
                msg = f.read()
            self.record("MESSAGE " + msg.split(b"\r\n", 1)[0].decode(
                "ascii", "replace") + " size=%d" % len(msg))
            if b"X-Probe-Action: add-header" in msg:
                return "add-header X-Probe seen by the probe, size=%d" % len(msg)
            if b"X-Probe-Action: hold" in msg:
                return "hold the probe holds it"
            if b"X-Probe-Action: reject" in msg:
                return "reject 554 5.7.1 Content refused by the probe"
        elif fd is not None:
            os.close(fd)
        return "proceed"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--record", default="")
    ap.add_argument("--reports", default="")
    ap.add_argument("--hooks", default="")
    ap.add_argument("--version", type=int, default=1)
    ap.add_argument("--hang", type=float, default=5)
    Probe(ap.parse_args()).run()


if __name__ == "__main__":
    main()
