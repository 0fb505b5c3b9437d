#!/usr/bin/python3
"""Submission figures for make bench: authenticated TLS sessions per second
(connect to the implicit-TLS port, EHLO, AUTH PLAIN, QUIT) and messages per
second over TLS (each thread one authenticated session sending many).
Talks only to 127.0.0.1; every loop is bounded in count and time.  Prints
one line of key=value figures; never fails on a figure.

Usage: submission.py PORT LOGIN PASSWORD FROM TO [SESSIONS] [MSGS] [THREADS]
"""
import smtplib
import ssl
import sys
import threading
import time

DEADLINE = 300.0


def context():
    # No CA store to load: the bench certificate is self-signed, and the
    # client's own cost should not be what is measured.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


CTX = context()


def run_threads(n_threads, work):
    errors = []
    lock = threading.Lock()

    def wrap(k):
        try:
            work(k)
        except Exception as e:          # a figure, not a verdict: count it
            with lock:
                errors.append(repr(e))
    threads = [threading.Thread(target=wrap, args=(k,)) for k in range(n_threads)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE)
    return time.monotonic() - t0, errors


def main():
    port, login, password, sender, rcpt = sys.argv[1:6]
    sessions = int(sys.argv[6]) if len(sys.argv) > 6 else 200
    msgs = int(sys.argv[7]) if len(sys.argv) > 7 else 2000
    n_threads = int(sys.argv[8]) if len(sys.argv) > 8 else 8
    body = ("From: <%s>\r\nTo: <%s>\r\nSubject: bench\r\n\r\n" % (sender, rcpt)
            + "x" * 4000 + "\r\n")
    end = time.monotonic() + DEADLINE

    def auth_sessions(k):
        for _ in range(k, sessions, n_threads):
            if time.monotonic() > end:
                return
            with smtplib.SMTP_SSL("127.0.0.1", int(port), context=CTX,
                                  timeout=30) as s:
                s.login(login, password)

    def send_messages(k):
        with smtplib.SMTP_SSL("127.0.0.1", int(port), context=CTX,
                              timeout=30) as s:
            s.login(login, password)
            for _ in range(k, msgs, n_threads):
                if time.monotonic() > end:
                    return
                s.sendmail(sender, [rcpt], body)

    t_auth, e_auth = run_threads(n_threads, auth_sessions)
    t_msg, e_msg = run_threads(n_threads, send_messages)
    print("scenario=submission sessions=%d threads=%d auth_s=%.3f auth_sessions_per_s=%.1f "
          "msgs=%d msgs_s=%.3f tls_msgs_per_s=%.1f errors=%d"
          % (sessions, n_threads, t_auth, sessions / t_auth, msgs, t_msg,
             msgs / t_msg, len(e_auth) + len(e_msg)))
    for e in (e_auth + e_msg)[:3]:
        print("error: " + e, file=sys.stderr)


if __name__ == "__main__":
    main()
