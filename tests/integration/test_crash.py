"""
Issue 3, point 8: kill -9 of any process at any moment loses no accepted
message.  A few hundred messages go in over parallel smtplib sessions while
a killer thread kill -9's random children of master (smtpd, queue, lookup:
found as the children of the pid in tern.pid) and, once, master itself,
which is then started again.  Afterwards the server is restarted cleanly and
every message that got 250 must be in a Maildir (duplicates tolerated).
Messages are told apart by their Message-ID.

TERN_CRASH_SEED=N replays a run's choice of victims and moments.
"""
import collections
import os
import random
import re
import signal
import smtplib
import threading
import time

from ternlib import WAIT, make_msg, queue_id, wait_until

N_MESSAGES = 300
N_SESSIONS = 4
MSGS_PER_CONNECTION = 5
LOAD_WINDOW = 10.0      # the load is paced over about this long
LOAD_DEADLINE = 30.0    # and ends by then, whatever happens
KILLS_PER_KIND = 2      # per life of master: keeps restart back-off short
USERS = ["c0@crash.test", "c1@crash.test", "c2@crash.test"]


class Retry(Exception):
    pass


def rng_body(j):
    """Lines of body for message j: 1 to ~1000 (up to 30 KiB), so that
    writes and syncs take a while some of the time."""
    return 1 + (j * 7919) % 1000


def msgid_of(j):
    return "<crash-%d@client.test>" % j


def delivered_ids(t):
    """Message-ID -> number of copies, over the three Maildirs."""
    seen = collections.Counter()
    for u in USERS:
        for raw in t.messages(u):
            m = re.search(rb"^Message-ID: (<[^>]*>)", raw, re.M | re.I)
            if m:
                seen[m.group(1).decode()] += 1
    return seen


def test_kill9_during_load_loses_nothing(tern_factory):
    seed = int(os.environ.get("TERN_CRASH_SEED", str(random.randrange(1 << 30))))
    rng = random.Random(seed)
    t = tern_factory()
    t.setup(domains=["crash.test"], users=USERS)
    t.start()

    lock = threading.Lock()
    accepted = {}           # Message-ID -> (queue id, recipient)
    hard_errors = []        # 5xx replies: never fair, lookup or not
    kills = []              # (what, pid, seconds since start)
    problems = []           # master gone without our kill, restart failures
    load_done = threading.Event()
    t0 = time.monotonic()
    deadline = t0 + LOAD_DEADLINE

    def client(k):
        conn = None
        on_conn = 0
        for j in range(k, N_MESSAGES, N_SESSIONS):
            due = t0 + j * LOAD_WINDOW / N_MESSAGES
            while time.monotonic() < min(due, deadline):
                time.sleep(0.01)
            msgid = msgid_of(j)
            rcpt = USERS[j % len(USERS)]
            msg = make_msg(subject="crash %d" % j, msgid=msgid, to=rcpt,
                           body=("message %d of the crash test\r\n" % j) * rng_body(j))
            while time.monotonic() < deadline:
                try:
                    if conn is None:
                        conn = smtplib.SMTP("127.0.0.1", t.port, local_hostname="client.test",
                                            timeout=5)
                        conn.ehlo()
                        on_conn = 0
                    for step, args in (("MAIL", ("sender@client.test",)), ("RCPT", (rcpt,)),
                                       ("DATA", (msg,))):
                        code, text = getattr(conn, {"MAIL": "mail", "RCPT": "rcpt",
                                                    "DATA": "data"}[step])(*args)
                        if code >= 500:
                            with lock:
                                hard_errors.append("%s for %s: %d %r" % (step, msgid, code, text))
                        if code not in (250, 354):
                            raise Retry("%s %d" % (step, code))
                    with lock:
                        accepted[msgid] = (queue_id(text), rcpt)
                    on_conn += 1
                    if on_conn >= MSGS_PER_CONNECTION:
                        conn.quit()
                        conn = None
                    break
                except (Retry, OSError, smtplib.SMTPException, EOFError):
                    # Killed under our feet, refused, 4xx: a new connection, the
                    # same message (a duplicate at worst).
                    if conn is not None:
                        try:
                            conn.close()
                        except OSError:
                            pass
                    conn = None
                    time.sleep(0.05)
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()

    def restart_master():
        for _ in range(3):
            if time.monotonic() > deadline + 10:
                break
            try:
                t.start(timeout=WAIT + 15)     # waits for the lock the old children hold
                return
            except AssertionError as e:
                problems.append("restart failed: %s" % str(e).split("\n")[0])
        problems.append("master could not be restarted")

    def killer():
        master_at = t0 + rng.uniform(0.3, 0.6) * LOAD_WINDOW
        master_killed = False
        per_kind = collections.Counter()
        while not load_done.is_set() and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.3, 0.8))
            if load_done.is_set():
                break
            if not t.running():
                problems.append("master exited by itself (status %r)" % t.proc.returncode)
                restart_master()
                per_kind.clear()
                continue
            now = time.monotonic()
            if not master_killed and now >= master_at:
                pid = t.pidfile_pid()
                if pid != t.pid:
                    problems.append("tern.pid says %r, master is %d" % (pid, t.pid))
                os.kill(t.pid, signal.SIGKILL)
                t.proc.wait(5)
                kills.append(("master", t.pid, round(now - t0, 2)))
                master_killed = True
                # Started at once: the new master waits for the lock while the
                # orphaned children (SIGTERM from PR_SET_PDEATHSIG) finish.
                restart_master()
                per_kind.clear()
                continue
            master = t.pidfile_pid()
            if master != t.pid:
                continue        # the new master has not written it yet
            kinds = t.child_kinds()
            kids = [k for k in t.children() if per_kind[kinds.get(k)] < KILLS_PER_KIND]
            if not kids:
                continue
            victim = rng.choice(kids)
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                continue
            per_kind[kinds.get(victim)] += 1
            kills.append((kinds.get(victim, "?"), victim, round(now - t0, 2)))

    clients = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(N_SESSIONS)]
    kt = threading.Thread(target=killer, daemon=True)
    for th in clients:
        th.start()
    kt.start()
    for th in clients:
        th.join(max(1.0, deadline - time.monotonic() + 10))
    load_done.set()
    kt.join(WAIT + 30)
    load_took = time.monotonic() - t0
    assert not kt.is_alive() and not any(th.is_alive() for th in clients), \
        "load or killer thread still running after %.0fs" % load_took

    # A clean restart, then every accepted message must arrive.
    t.stop()
    t.kill_groups()
    assert not t.pgids, "processes left from earlier servers: groups %r" % t.pgids
    t.start()
    want = set(accepted)
    wait_until(lambda: want <= set(delivered_ids(t)), WAIT + 10, interval=0.2)
    seen = delivered_ids(t)
    missing = sorted(want - set(seen), key=lambda m: int(re.search(r"\d+", m).group()))
    strangers = sorted(set(seen) - {msgid_of(j) for j in range(N_MESSAGES)})
    dups = {m: n for m, n in seen.items() if n > 1}

    summary = ("seed %d: %d of %d messages accepted in %.1fs, %d delivered, %d duplicated; "
               "kills: %s; problems: %r; queue at restarts: %s"
               % (seed, len(accepted), N_MESSAGES, load_took, len(seen), len(dups),
                  ", ".join("%s@%ss" % (k[0], k[2]) for k in kills), problems,
                  re.findall(r"recovered \d+ messages? from the queue", t.log())))
    print(summary)
    details = []
    for m in missing[:20]:
        qid, rcpt = accepted[m]
        lines = [l for l in t.log().splitlines() if qid in l]
        details.append("%s (queue id %s, to %s): %s" % (m, qid, rcpt, lines or "no log line"))
    assert not missing, "%d messages got 250 but were never delivered (%s)\n%s\n%s" % (
        len(missing), summary, "\n".join(details), t.cli("queue", "list").out[-3000:])
    assert not strangers, "delivered but never sent: %r" % strangers
    wait_until(lambda: not t.queue_files(), WAIT)
    assert not t.queue_files(), "queue not empty after a clean restart: %r\n%s" % (
        t.queue_files(), t.cli("queue", "list").out[-3000:])
    assert not hard_errors, "5xx replies during the crash test: %r" % hard_errors[:10]
    assert not problems, "master trouble: %r (%s)" % (problems, summary)
    assert any(k[0] == "master" for k in kills), "master was never killed: %s" % summary
    assert sum(k[0] != "master" for k in kills) >= 3, "too few children killed: %s" % summary
    assert len(accepted) >= N_MESSAGES // 2, "too few messages accepted to judge: %s" % summary
