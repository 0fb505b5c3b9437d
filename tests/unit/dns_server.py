#!/usr/bin/python3
"""A tiny authoritative DNS server for test_dns and test_dnsbl: serves the
zone given as argv[1] (master-file text) on 127.0.0.1, UDP and TCP on the
same free port, and prints "PORT <n>" (or "SKIP <why>") on stdout.  It
exits when stdin closes, so it never outlives the test that started it.

Names it has no record for are NXDOMAIN; names with records but none of the
asked type are NODATA; both carry in their authority section the SOA of the
closest enclosing name that has one in the zone, if any (RFC 2308).  CNAMEs
are followed within the zone; a name with a label "servfail" gets SERVFAIL;
a name with a label "drop" gets no answer at all; a name with a label
"delayN" is answered after N milliseconds.  UDP answers over 512 bytes are
truncated, so that the client retries over TCP.  With argv[2], every query
is appended to that file as "name type" lines (lower case, no final dot),
so that a test can count the queries it caused."""

import sys
import threading
import time

try:
    from dnslib import DNSError, DNSHeader, DNSRecord, QTYPE, RCODE, RR
    from dnslib.server import DNSHandler, DNSLogger, DNSServer
except ImportError:
    print("SKIP python3-dnslib is not installed", flush=True)
    sys.exit(0)


class Handler(DNSHandler):
    """Truncates UDP answers over 512 bytes as real servers do: the header
    with TC set and the question kept (dnslib's truncate() drops the
    question, and c-ares ignores an answer to a question it did not ask)."""

    def get_reply(self, data):
        request = DNSRecord.parse(data)
        resolver = self.server.resolver
        labels = str(request.q.qname).lower().rstrip(".").split(".")
        resolver.log_query(request)
        if "drop" in labels:
            # handle() catches DNSError and sends nothing
            raise DNSError("dropped on purpose")
        for label in labels:
            if label.startswith("delay") and label[5:].isdigit():
                time.sleep(int(label[5:]) / 1000.0)
        reply = resolver.resolve(request, self)
        rdata = reply.pack()
        if self.protocol == "udp" and len(rdata) > 512:
            header = DNSHeader(id=reply.header.id,
                               bitmap=reply.header.bitmap, tc=1)
            rdata = DNSRecord(header, q=request.q).pack()
        return rdata


class ZoneResolver:
    def __init__(self, zone, log_path=None):
        self.rrs = RR.fromZone(zone)
        self.names = {str(rr.rname).lower() for rr in self.rrs}
        self.log_path = log_path
        self.log_lock = threading.Lock()

    def log_query(self, request):
        if self.log_path is None:
            return
        name = str(request.q.qname).lower().rstrip(".")
        with self.log_lock, open(self.log_path, "a") as f:
            f.write("%s %s\n" % (name, QTYPE[request.q.qtype]))

    def add_soa(self, reply, name):
        """The SOA of the closest enclosing name that has one."""
        labels = name.rstrip(".").split(".")
        for i in range(len(labels)):
            soa = self.records(".".join(labels[i:]) + ".", QTYPE.SOA)
            if soa:
                reply.add_auth(soa[0])
                return

    def records(self, name, qtype):
        return [rr for rr in self.rrs
                if str(rr.rname).lower() == name and rr.rtype == qtype]

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).lower()
        qtype = request.q.qtype
        if "servfail" in name.split("."):
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if name not in self.names:
            reply.header.rcode = RCODE.NXDOMAIN
            self.add_soa(reply, name)
            return reply
        for _ in range(8):
            found = self.records(name, qtype)
            if found or qtype == QTYPE.CNAME:
                reply.add_answer(*found)
                break
            cname = self.records(name, QTYPE.CNAME)
            if not cname:
                break
            reply.add_answer(*cname)
            name = str(cname[0].rdata.label).lower()
            if name not in self.names:
                break
        if not reply.rr:
            self.add_soa(reply, name)
        return reply


def main():
    resolver = ZoneResolver(sys.argv[1],
                            sys.argv[2] if len(sys.argv) > 2 else None)
    logger = DNSLogger(log="-request,-reply,-truncated,-error")
    # UDP on a free port, then TCP on the same number (it may be taken).
    for _ in range(50):
        udp = DNSServer(resolver, address="127.0.0.1", port=0, logger=logger,
                        handler=Handler)
        port = udp.server.server_address[1]
        try:
            tcp = DNSServer(resolver, address="127.0.0.1", port=port,
                            tcp=True, logger=logger, handler=Handler)
            break
        except OSError:
            udp.server.server_close()
    else:
        print("SKIP no free port for UDP and TCP", flush=True)
        return
    udp.start_thread()
    tcp.start_thread()
    print("PORT %d" % port, flush=True)
    sys.stdin.buffer.read()


if __name__ == "__main__":
    main()
