#!/usr/bin/python3
"""
IMAP logins per second through tern's login path, beside Dovecot's own
passdb on the same hashes (issue 10: at least 80% of Dovecot's own rate).

One Dovecot (Debian's 2.3), two configurations this script writes itself,
alike in everything but the passdb:
  tern     passdb lua = src/mailbox/dovecot_auth.lua, as `tern serve`
           writes it (every login: one unix-socket round trip from a
           Dovecot auth-worker to tern's lookup, which checks the hash on
           its crypt threads), userdb prefetch;
  dovecot  passdb passwd-file holding the very same hashes, userdb static.
Both: plaintext LOGIN over loopback without TLS, auth cache off
(auth_cache_size = 0), service auth as tern's user, the same process
settings.  Each hash scheme (SHA-512-crypt and yescrypt, each at
libxcrypt's default cost) is one account on each side.

The load: CONNS client threads, each doing connect, LOGIN, LOGOUT, close,
again and again, until LOGINS logins are done or SECONDS have passed
(whichever comes first; every socket call has a timeout).  REPS runs per
side and scheme, sides interleaved; medians printed.  Figures only:
nothing here passes or fails.

To measure the Dovecot that `tern serve` runs instead of the one written
here, point IMAP_PORT at tern's listen_imap and skip start_dovecot() for
the tern side: the load and the figures do not change.

Usage: bench/imap_login.py [REPS] [LOGINS] [CONNS] [SECONDS]
Run as root (Dovecot starts as root and drops to its users).
"""
import ctypes
import ctypes.util
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("TERN_BUILD", os.path.join(HERE, "..", "build"))
TERN = os.path.abspath(os.path.join(BUILD, "tern"))
LUA_SRC = os.path.join(HERE, "..", "src", "mailbox", "dovecot_auth.lua")
ROOT = os.path.join(os.environ.get("BENCH_DIR", "/var/tmp/bench"), "imap-login")
USER = os.environ.get("TERN_USER", "tern")
TERN_SMTP_PORT = 10128
IMAP_PORT = {"tern": 10143, "dovecot": 10144}
SCHEMES = (("sha512-crypt", "$6$"), ("yescrypt", "$y$"))
PASSWORD = "bench-imap-password-1"


def make_hash(password, scheme):
    lib = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = lib.crypt_gensalt(scheme.encode(), 0, None, 0)
    return lib.crypt(password.encode(), salt).decode()


def wait_port(port, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.settimeout(2)
                if s.recv(256).startswith((b"* OK", b"220")):
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


# ---- tern ----

def start_tern(hashes):
    d = os.path.join(ROOT, "tern")
    conf = os.path.join(d, "tern.conf")
    with open(conf, "w") as f:
        f.write("hostname = tern.bench.localdomain\nstate_dir = %s/state\n"
                "listen_smtp = 127.0.0.1:%d\nlisten_submission =\n"
                "listen_submissions =\nuser = %s\nmailbox_server = none\n"
                % (d, TERN_SMTP_PORT, USER))
    run = lambda *a: subprocess.run([TERN, "-c", conf] + list(a), check=True,
                                    stdout=subprocess.DEVNULL, timeout=60)
    run("domain", "add", "bench.test")
    for name, h in hashes.items():
        run("user", "add", "%s@bench.test" % name, "--password-hash", h)
    log = open(os.path.join(d, "serve.log"), "ab")
    p = subprocess.Popen([TERN, "-c", conf, "serve"], stdout=log, stderr=log,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    sock = os.path.join(d, "state", "auth.sock")
    deadline = time.monotonic() + 20
    while not os.path.exists(sock) and time.monotonic() < deadline:
        time.sleep(0.1)
    if not wait_port(TERN_SMTP_PORT) or not os.path.exists(sock):
        sys.exit("bench: tern did not start; see %s/serve.log" % d)
    return p, sock, os.path.join(d, "state", "mail")


def stop(p, seconds=25):
    if p is None or p.poll() is not None:
        return
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(seconds)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(5)


# ---- Dovecot ----

COMMON = """\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
instance_name = tern-bench-{side}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_cache_size = 0
# Dovecot lowercases logins by default (%Lu): tern compares them exactly.
auth_username_format = %u
mail_uid = {user}
mail_gid = {user}
first_valid_uid = 1
mail_location = maildir:~
default_internal_user = dovecot
default_login_user = dovenull
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service imap {{
  process_limit = 1024
}}
service auth {{
  user = {user}
}}
"""

PASSDB = {
    "tern": """\
passdb {{
  driver = lua
  args = file={lua} blocking=yes
}}
userdb {{
  driver = prefetch
}}
auth_worker_max_count = 128
service auth-worker {{
  user = {user}
  unix_listener auth-worker {{
    user = {user}
    mode = 0600
  }}
}}
""",
    "dovecot": """\
passdb {{
  driver = passwd-file
  args = scheme=CRYPT username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={user} gid={user} home={mail}/%d/%n
}}
""",
}


def start_dovecot(side, hashes, sock, mail):
    d = os.path.join(ROOT, "dovecot-" + side)
    shutil.rmtree(d, ignore_errors=True)
    for sub in ("", "run", "state"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    os.chmod(d, 0o755)
    with open(os.path.join(d, "passwd"), "w") as f:
        for name, h in hashes.items():
            f.write("%s@bench.test:%s::::::\n" % (name, h))
    os.chmod(os.path.join(d, "passwd"), 0o644)
    conf = os.path.join(d, "dovecot.conf")
    # The login script as `tern serve` writes it (dovecot_conf.c).
    lua = os.path.join(d, "auth.lua")
    with open(LUA_SRC) as src, open(lua, "w") as f:
        f.write('local TERN_AUTH_SOCK = "%s"\n' % sock + src.read())
    os.chmod(lua, 0o644)
    args = dict(d=d, side=side, user=USER, port=IMAP_PORT[side], lua=lua,
                sock=sock, mail=mail)
    with open(conf, "w") as f:
        f.write(COMMON.format(**args) + PASSDB[side].format(**args))
    p = subprocess.Popen(["dovecot", "-F", "-c", conf], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                         start_new_session=True)
    if not wait_port(IMAP_PORT[side]):
        stop(p)
        sys.exit("bench: Dovecot (%s) did not start; see %s/dovecot.log" % (side, d))
    return p


# ---- the load ----

def one_login(port, user, timeout=30):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        f = s.makefile("rb")
        if not f.readline().startswith(b"* OK"):
            return False
        s.sendall(b"a LOGIN %s %s\r\n" % (user.encode(), PASSWORD.encode()))
        while True:
            line = f.readline()
            if not line or line.startswith(b"a "):
                break
        ok = line.startswith(b"a OK")
        s.sendall(b"b LOGOUT\r\n")
        while f.readline():
            pass
        return ok


def load(port, user, logins, conns, seconds):
    lock = threading.Lock()
    state = {"left": logins, "ok": 0, "bad": 0}
    deadline = time.monotonic() + seconds

    def worker():
        while time.monotonic() < deadline:
            with lock:
                if state["left"] == 0:
                    return
                state["left"] -= 1
            try:
                good = one_login(port, user)
            except OSError:
                good = False
            with lock:
                state["ok" if good else "bad"] += 1

    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    took = time.monotonic() - start
    return state["ok"] / took, state["ok"], state["bad"]


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    logins = int(sys.argv[2]) if len(sys.argv) > 2 else 600
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 30
    if os.geteuid() != 0:
        print("bench: imap_login.py runs as root (Dovecot needs it)", file=sys.stderr)
        return 0
    pwd.getpwnam(USER)
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(os.path.join(ROOT, "tern"))
    os.chmod(ROOT, 0o755)
    os.chmod(os.path.join(ROOT, "tern"), 0o755)
    hashes = {name: make_hash(PASSWORD, prefix) for name, prefix in SCHEMES}
    tern, sock, mail = start_tern(hashes)
    rates = {}
    try:
        dovecots = {side: start_dovecot(side, hashes, sock, mail) for side in ("tern", "dovecot")}
        try:
            for name, _ in SCHEMES:
                user = "%s@bench.test" % name
                for side in ("tern", "dovecot"):      # warm up: the first imap processes
                    load(IMAP_PORT[side], user, 2 * conns, conns, seconds)
                for rep in range(reps):
                    for side in ("tern", "dovecot") if rep % 2 == 0 else ("dovecot", "tern"):
                        rate, ok, bad = load(IMAP_PORT[side], user, logins, conns, seconds)
                        print("imap_login side=%s scheme=%s rep=%d logins=%d failed=%d "
                              "logins_per_s=%.1f" % (side, name, rep + 1, ok, bad, rate), flush=True)
                        rates.setdefault((name, side), []).append(rate)
        finally:
            for p in dovecots.values():
                stop(p)
    finally:
        stop(tern)
    for name, _ in SCHEMES:
        t = statistics.median(rates[(name, "tern")])
        d = statistics.median(rates[(name, "dovecot")])
        print("imap logins | %s | tern path %.0f/s [%.0f-%.0f] | Dovecot passwd-file %.0f/s "
              "[%.0f-%.0f] | ratio %.0f%%" % (
                  name, t, min(rates[(name, "tern")]), max(rates[(name, "tern")]),
                  d, min(rates[(name, "dovecot")]), max(rates[(name, "dovecot")]),
                  100 * t / d if d else 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
