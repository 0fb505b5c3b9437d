"""
A test milter on pymilter (python3-milter), driven by flags, for
test_milter.py: flag_milter.py SOCKET RECORD_FILE.

The flags are words of the Subject (at end of message) or the local part
of a recipient (at RCPT):
  rcpt-reject@, rcpt-tempfail@, rcpt-reply@   refuse that recipient
  Subject words: reject tempfail reply replyml discard accept quarantine
                 addhdr inshdr0 inshdr2 chghdr delhdr chgfrom addrcpt
                 addrcptpar delrcpt body
Every message's view (connect data, HELO, MAIL and RCPT arguments,
macros at each stage, headers, body) is appended to RECORD_FILE as one
JSON line, keyed by its Subject.
"""
import json
import sys

import Milter

RECORD = sys.argv[2]
MACROS = {
    "connect": ["j", "{daemon_name}", "{daemon_addr}", "v", "_"],
    "helo": ["{tls_version}", "{cipher}", "{cipher_bits}"],
    "mail": ["i", "{auth_type}", "{auth_authen}", "{mail_addr}"],
    "rcpt": ["i", "{rcpt_addr}"],
    "data": ["i"],
    "eoh": ["i"],
    "eom": ["i"],
}


class FlagMilter(Milter.Base):
    def __init__(self):
        self.seen = {"macros": {}}
        self.reset()

    def reset(self):
        self.seen.update({"mail": None, "rcpts": [], "headers": [],
                          "body": b"", "subject": ""})

    def macros(self, stage):
        got = {}
        for m in MACROS[stage]:
            v = self.getsymval(m)
            if v is not None:
                got[m] = v
        self.seen["macros"][stage] = got

    def connect(self, hostname, family, hostaddr):
        self.seen["connect"] = [hostname, family, list(hostaddr)]
        self.macros("connect")
        return Milter.CONTINUE

    def hello(self, name):
        self.seen["helo"] = name
        self.macros("helo")
        return Milter.CONTINUE

    def envfrom(self, f, *args):
        self.reset()
        self.seen["mail"] = [f] + list(args)
        self.macros("mail")
        return Milter.CONTINUE

    def envrcpt(self, to, *args):
        self.seen["rcpts"].append([to] + list(args))
        self.macros("rcpt")
        local = to.strip("<>").split("@")[0]
        if local == "rcpt-reject":
            return Milter.REJECT
        if local == "rcpt-tempfail":
            return Milter.TEMPFAIL
        if local == "rcpt-reply":
            self.setreply("553", "5.1.3", "no such mailbox here")
            return Milter.REJECT
        return Milter.CONTINUE

    def data(self):
        self.macros("data")
        return Milter.CONTINUE

    def header(self, name, value):
        self.seen["headers"].append([name, value])
        if name.lower() == "subject":
            self.seen["subject"] = value
        return Milter.CONTINUE

    def eoh(self):
        self.macros("eoh")
        return Milter.CONTINUE

    def body(self, chunk):
        self.seen["body"] += chunk
        return Milter.CONTINUE

    def record(self):
        out = dict(self.seen)
        out["body"] = out["body"].decode("utf-8", "replace")
        with open(RECORD, "a") as f:
            f.write(json.dumps(out) + "\n")

    def eom(self):
        self.macros("eom")
        self.record()
        flags = self.seen["subject"].split()
        if "addhdr" in flags:
            self.addheader("X-Milter-Added", "added value")
        if "inshdr0" in flags:
            self.addheader("X-Milter-Top", "at index 0", 0)
        if "inshdr2" in flags:
            self.addheader("X-Milter-Two", "at index 2", 2)
        if "chghdr" in flags:
            self.chgheader("X-Change-Me", 2, "changed second")
        if "delhdr" in flags:
            self.chgheader("X-Delete-Me", 1, "")
        if "chgfrom" in flags:
            self.chgfrom("<changed@client.test>")
        if "addrcpt" in flags:
            self.addrcpt("<added@example.test>")
        if "addrcptpar" in flags:
            self.addrcpt("<addedpar@example.test>", "NOTIFY=NEVER")
        if "delrcpt" in flags:
            self.delrcpt("<deleted@example.test>")
        if "body" in flags:
            self.replacebody(b"Replaced body, line one.\r\n")
            self.replacebody(b"line two.\r\n")
        if "quarantine" in flags:
            self.quarantine("looks odd")
        if "reject" in flags:
            return Milter.REJECT
        if "tempfail" in flags:
            return Milter.TEMPFAIL
        if "reply" in flags:
            self.setreply("554", "5.7.0", "content refused by flag milter")
            return Milter.REJECT
        if "replyml" in flags:
            self.setreply("550", "5.7.1", "first line", "second line")
            return Milter.REJECT
        if "discard" in flags:
            return Milter.DISCARD
        if "accept" in flags:
            return Milter.ACCEPT
        return Milter.CONTINUE

    def abort(self):
        return Milter.CONTINUE

    def close(self):
        return Milter.CONTINUE


def main():
    Milter.factory = FlagMilter
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.ADDRCPT |
                     Milter.ADDRCPT_PAR | Milter.DELRCPT | Milter.CHGFROM |
                     Milter.CHGBODY | Milter.QUARANTINE)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    Milter.runmilter("flagmilter", sys.argv[1], 60)


if __name__ == "__main__":
    main()
