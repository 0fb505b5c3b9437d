"""
A small authoritative DNS server on loopback for the outbound tests, built
on Debian's python3-dnslib (adapted from tests/unit/dns_server.py): UDP and
TCP on one free 127.0.0.1 port, served from threads of the test process, so
that a test can change the zone while tern runs and see which questions
were asked.

Names it has no record for are NXDOMAIN; names with records but none of the
asked type are NODATA; CNAMEs are followed within the zone.  UDP answers
over 512 bytes are truncated as real servers do: the header with TC set and
the question kept (dnslib's own truncate() drops the question, and c-ares
ignores an answer to a question it did not ask), so the client retries
over TCP.
"""
import threading

try:
    from dnslib import DNSHeader, DNSRecord, QTYPE, RCODE, RR
    from dnslib.server import DNSHandler, DNSLogger, DNSServer as _DNSServer
    HAVE_DNSLIB = True
except ImportError:     # the tests that need it skip
    HAVE_DNSLIB = False


def zone(*lines, ttl=60):
    """Master-file text from short lines "name TYPE data" (names made
    absolute, a TTL and the class added): zone("b.test MX 10 mx.b.test",
    "mx.b.test A 127.0.0.1")."""
    out = []
    for line in lines:
        name, rtype, data = line.split(None, 2)
        if not name.endswith("."):
            name += "."
        if rtype.upper() in ("MX", "CNAME", "NS") and not data.endswith("."):
            data += "."
        out.append("%s %d IN %s %s" % (name, ttl, rtype.upper(), data))
    return "\n".join(out) + "\n"


if HAVE_DNSLIB:
    class _Handler(DNSHandler):
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
    def __init__(self, text=""):
        self.lock = threading.Lock()
        self.queries = []       # (name without the final dot, type name)
        self.delays = {}        # zone -> seconds its names wait for an answer
        self.tcp_queries = []   # the same, of the questions asked over TCP
        self.set(text)

    def set(self, text):
        rrs = RR.fromZone(text) if text.strip() else []
        names = {str(rr.rname).lower() for rr in rrs}
        with self.lock:
            self.rrs, self.names = rrs, names

    def _records(self, rrs, name, qtype):
        return [rr for rr in rrs
                if str(rr.rname).lower() == name and rr.rtype == qtype]

    def resolve(self, request, handler):
        with self.lock:
            rrs, names = self.rrs, self.names
            name = str(request.q.qname).lower()
            qtype = request.q.qtype
            self.queries.append((name.rstrip("."), QTYPE[qtype]))
            if getattr(handler, "protocol", "udp") == "tcp":
                self.tcp_queries.append((name.rstrip("."), QTYPE[qtype]))
            delay = max([d for z, d in self.delays.items()
                         if name.rstrip(".").endswith("." + z)] or [0])
        if delay:
            # Each request has its thread (dnslib's servers thread).
            threading.Event().wait(delay)
        reply = request.reply()
        if name.startswith("servfail."):
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if name not in names:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for _ in range(8):
            found = self._records(rrs, name, qtype)
            if found or qtype == QTYPE.CNAME:
                reply.add_answer(*found)
                break
            cname = self._records(rrs, name, QTYPE.CNAME)
            if not cname:
                break
            reply.add_answer(*cname)
            name = str(cname[0].rdata.label).lower()
            if name not in names:
                break
        return reply


class DNSServer:
    """dns = DNSServer(zone(...)); dns.start(); ... dns.stop().
    dns.port, dns.set_zone(text), dns.add(*lines), dns.queries (and
    dns.tcp_queries, those that came over TCP); dns.delay(zone, seconds)
    holds every answer for names in zone that long."""

    def __init__(self, text=""):
        self.text = text
        self.resolver = ZoneResolver(text)
        self.port = None
        self._servers = []

    @property
    def queries(self):
        with self.resolver.lock:
            return list(self.resolver.queries)

    @property
    def tcp_queries(self):
        with self.resolver.lock:
            return list(self.resolver.tcp_queries)

    def set_zone(self, text):
        self.text = text
        self.resolver.set(text)

    def add(self, *lines, ttl=60):
        self.set_zone(self.text + zone(*lines, ttl=ttl))

    def delay(self, zone_name, seconds):
        with self.resolver.lock:
            self.resolver.delays[zone_name] = seconds

    def start(self):
        logger = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data",
                           prefix=False)
        # UDP on a free port, then TCP on the same number (it may be taken).
        for _ in range(50):
            udp = _DNSServer(self.resolver, address="127.0.0.1", port=0,
                             logger=logger, handler=_Handler)
            port = udp.server.server_address[1]
            try:
                tcp = _DNSServer(self.resolver, address="127.0.0.1", port=port,
                                 tcp=True, logger=logger, handler=_Handler)
                break
            except OSError:
                udp.server.server_close()
        else:
            raise RuntimeError("no free port for DNS over UDP and TCP")
        self._servers = [udp, tcp]
        for s in self._servers:
            s.server.daemon_threads = True
            threading.Thread(target=s.server.serve_forever, daemon=True,
                             kwargs={"poll_interval": 0.05}).start()
        self.port = port
        return self

    def stop(self):
        for s in self._servers:
            try:
                s.server.shutdown()
                s.server.server_close()
            except OSError:
                pass
        self._servers = []
