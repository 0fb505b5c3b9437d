"""
Issue 9, point 12: `tern status` (and --json) asks the running server over
its control socket: sessions per port and the limit, stress mode, the
screen's figures since start, the remembered clients, the queue's size;
exit 1 with a clear line when no server runs, or for a user who may not
ask.
"""
import json
import os
import pwd
import socket
import subprocess

import pytest

from ternlib import (IS_ROOT, TERN_BIN, RawTLS, SubTern, instance_factory,
                     needs_loopback_sources, wait_until)

pytestmark = needs_loopback_sources


@pytest.fixture
def sub_factory(request):
    yield from instance_factory(request, SubTern)


def status(t, *args, expect=0):
    return t.cli("status", *args, expect=expect)


def figures(t):
    return json.loads(status(t, "--json").out)


def test_status_reports_sessions_screen_and_queue(sub_factory):
    t = sub_factory(screen_access="permit 127.0.0.1", screen_greet_wait="1s",
                    screen_pregreet_action="drop", max_sessions="100")
    t.start()
    # One session held on port 25 (passed the screen), one on 587, one
    # pregreeter dropped by the screen.
    smtp = RawTLS(t.port, source="127.0.3.1")
    sub = RawTLS(t.sub_port, source="127.0.3.2")
    s = socket.create_connection(("127.0.0.1", t.port), source_address=("127.0.3.3", 0))
    s.sendall(b"EHLO early\r\n")
    s.recv(100)
    try:
        def ready():
            f = figures(t)
            return (f["smtpd"]["smtp"] == 1 and f["smtpd"]["submission"] == 1
                    and f["screen"]["pregreet"] == 1) and f
        f = wait_until(ready)
        assert f, figures(t)
        assert f["smtpd"]["sessions"] == 2 and f["smtpd"]["max_sessions"] == 100
        assert f["screen"]["pass_new"] == 1 and f["screen"]["remembered"] >= 1
        assert f["screen"]["max_clients"] == 1000
        assert f["stress"] == {"on": False, "mode": "auto"}
        assert f["queue"]["messages"] == 0
        text = status(t).out
        assert text.startswith("tern: running pid=%d since=" % t.pid), text
        assert "stress: off mode=auto\n" in text
        assert " smtp=1 submission=1 " in text, text
        assert " pregreet=1 " in text, text
    finally:
        smtp.close()
        sub.close()
        s.close()


def test_status_shows_forced_stress(sub_factory):
    t = sub_factory(stress="on")
    t.start()
    f = wait_until(lambda: figures(t)["stress"]["on"] and figures(t))
    assert f["stress"]["mode"] == "on" and "seconds" in f["stress"], f
    assert "stress: on for=" in status(t).out


def test_status_without_a_server(sub_factory):
    t = sub_factory()
    r = status(t, expect=1)
    assert r.err.startswith("tern: no server is running ("), r
    t.start()
    t.stop()
    r = status(t, expect=1)
    assert "no server is running" in r.err, r


def test_status_usage(sub_factory):
    t = sub_factory()
    r = status(t, "--yaml", expect=2)
    assert "usage: tern status [--json]" in r.err


@pytest.mark.skipif(not IS_ROOT, reason="machine: needs root to run as another user")
def test_only_the_server_user_may_ask(sub_factory):
    t = sub_factory()
    t.start()
    nobody = pwd.getpwnam("nobody")
    os.chmod(t.conf_path, 0o644)
    p = subprocess.run([TERN_BIN, "-c", t.conf_path, "status"], capture_output=True,
                       text=True, timeout=30,
                       preexec_fn=lambda: (os.setgid(nobody.pw_gid), os.setuid(nobody.pw_uid)))
    assert p.returncode == 1, p
    assert "only the server's user and root may ask it" in p.stderr, p.stderr

