#!/usr/bin/python3
"""A tiny authoritative DNS server for test_dns: serves the zone given as
argv[1] (master-file text) on 127.0.0.1, UDP and TCP on the same free port,
and prints "PORT <n>" (or "SKIP <why>") on stdout.  It exits when stdin
closes, so it never outlives the test that started it.

Names it has no record for are NXDOMAIN; names with records but none of the
asked type are NODATA; CNAMEs are followed within the zone; a name starting
with "servfail." gets SERVFAIL.  UDP answers over 512 bytes are truncated,
so that the client retries over TCP."""

import sys

try:
    from dnslib import DNSHeader, DNSRecord, QTYPE, RCODE, RR
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
        reply = self.server.resolver.resolve(request, self)
        rdata = reply.pack()
        if self.protocol == "udp" and len(rdata) > 512:
            header = DNSHeader(id=reply.header.id,
                               bitmap=reply.header.bitmap, tc=1)
            rdata = DNSRecord(header, q=request.q).pack()
        return rdata


class ZoneResolver:
    def __init__(self, zone):
        self.rrs = RR.fromZone(zone)
        self.names = {str(rr.rname).lower() for rr in self.rrs}

    def records(self, name, qtype):
        return [rr for rr in self.rrs
                if str(rr.rname).lower() == name and rr.rtype == qtype]

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).lower()
        qtype = request.q.qtype
        if name.startswith("servfail."):
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if name not in self.names:
            reply.header.rcode = RCODE.NXDOMAIN
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
        return reply


def main():
    resolver = ZoneResolver(sys.argv[1])
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
