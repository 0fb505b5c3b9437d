#!/usr/bin/python3
"""A pass-through milter for the plugin bench (pymilter, python3-milter):
it asks for every event and answers each with CONTINUE, changing nothing,
so that what it costs is the milter protocol itself (one round trip per
event, the message sent in body chunks).  The same milter serves tern and
Postfix.  Usage: pass_milter.py PORT (listens on 127.0.0.1:PORT)."""
import sys

import Milter


class Pass(Milter.Base):
    def connect(self, hostname, family, hostaddr):
        return Milter.CONTINUE

    def hello(self, hostname):
        return Milter.CONTINUE

    def envfrom(self, mailfrom, *params):
        return Milter.CONTINUE

    def envrcpt(self, to, *params):
        return Milter.CONTINUE

    def data(self):
        return Milter.CONTINUE

    def header(self, name, value):
        return Milter.CONTINUE

    def eoh(self):
        return Milter.CONTINUE

    def body(self, chunk):
        return Milter.CONTINUE

    def eom(self):
        return Milter.CONTINUE


def main():
    port = int(sys.argv[1])
    Milter.factory = Pass
    Milter.runmilter("pass_milter", "inet:%d@127.0.0.1" % port, timeout=300)


if __name__ == "__main__":
    main()
