#!/usr/bin/python3
"""A pass-through policy service for the plugin bench (Postfix's policy
delegation protocol): reads each request (attribute lines up to an empty
line) and answers `action=DUNNO`, one thread per connection, requests
served in turn on each.  Usage: pass_policy.py PORT (127.0.0.1:PORT)."""
import socketserver
import sys


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        lines = 0
        for line in self.rfile:
            if line in (b"\n", b"\r\n"):
                self.wfile.write(b"action=DUNNO\n\n")
                self.wfile.flush()
                lines = 0
            elif lines > 1000:
                return
            else:
                lines += 1


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    with Server(("127.0.0.1", int(sys.argv[1])), Handler) as srv:
        srv.serve_forever()


if __name__ == "__main__":
    main()
