"""
Issue 4, points 1 and 2: TLS.  STARTTLS on ports 25 and 587, TLS from the
first byte on 465, TLS 1.2 or newer only, a self-signed certificate made in
state_dir/tls when none is configured, a configured one used, a bad one
refusing to start; after STARTTLS the session starts over and whatever was
pipelined behind the command is thrown away (CVE-2011-0411).
"""
import contextlib
import os
import re
import signal
import socket
import ssl
import stat
import subprocess

import pytest

from ternlib import (OPENSSL, TERN_BIN, WAIT, RawSMTP, add_account, b64,
                     client_tls_context, deliver_marker, instance_factory,
                     make_msg, module_server, subjects, uniq, wait_until)

PASSWORD = "tls-test-password-1"


def prepare(t):
    t.setup(domains=["example.test"])
    add_account(t, "alice@example.test", PASSWORD)


@pytest.fixture(scope="module")
def tls_srv(request):
    yield from module_server(request, prepare=prepare)


@pytest.fixture
def sub_factory(request):
    yield from instance_factory(request)


def session_lines(t, sid):
    return [l for l in t.log().splitlines() if (" %s: " % sid) in l]


def session_id_of(t, mark, port_kind):
    """The id of the last session that connected on port_kind after mark."""
    ids = re.findall(r"(\w+): connect from \[127\.0\.0\.1\]:\d+ port=%s\b" % port_kind,
                     t.log()[mark:])
    assert ids, "no connection on %s in the log\n%s" % (port_kind, t.log_tail())
    return ids[-1]


# ---- the certificate ----

def test_self_signed_certificate_made_on_first_start(tls_srv):
    tls_dir = os.path.join(tls_srv.state_dir, "tls")
    cert, key = os.path.join(tls_dir, "cert.pem"), os.path.join(tls_dir, "key.pem")
    assert os.path.isfile(cert) and os.path.isfile(key), \
        "want cert.pem and key.pem in %s, got %r" % (tls_dir, os.listdir(tls_srv.state_dir))
    assert stat.S_IMODE(os.stat(key).st_mode) & 0o077 == 0, \
        "the generated key must be readable by its owner only: mode %o" % os.stat(key).st_mode
    assert re.search(r"warn: no tls_cert configured: made a self-signed certificate .*%s"
                     % re.escape(tls_dir), tls_srv.log()), tls_srv.log_tail()

    # The client is shown that very certificate.
    with tls_srv.raw_tls("submissions") as c:
        seen = c.sock.getpeercert(binary_form=True)
    der = subprocess.run([OPENSSL, "x509", "-in", cert, "-outform", "DER"],
                         capture_output=True, check=True).stdout
    assert seen == der, "the certificate served is not state_dir/tls/cert.pem"
    subject = subprocess.run([OPENSSL, "x509", "-in", cert, "-noout", "-subject"],
                             capture_output=True, text=True, check=True).stdout
    assert "mx.example.test" in subject, "self-signed subject: %r" % subject


def test_self_signed_certificate_kept_across_restarts(sub_factory):
    t = sub_factory()
    t.start()
    cert = os.path.join(t.state_dir, "tls", "cert.pem")
    with open(cert, "rb") as f:
        first = f.read()
    t.stop()
    mark = t.log_mark()
    t.start()
    with open(cert, "rb") as f:
        assert f.read() == first, "the certificate was made anew at the second start"
    assert "self-signed" not in t.log()[mark:], \
        "second start: no new certificate, no warning\n%s" % t.log_tail()


def make_cert(directory, cn):
    cert, key = os.path.join(directory, "c.pem"), os.path.join(directory, "k.pem")
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=%s/O=Tern Tests" % cn, "-keyout", key,
                    "-out", cert], capture_output=True, check=True, timeout=30)
    os.chmod(key, 0o644)    # the tests may run as root with user = tern
    return cert, key


def test_configured_certificate_used(sub_factory):
    t = sub_factory()
    cn = uniq("cert") + ".tern.test"
    cert, key = make_cert(t.base, cn)
    t.write_config(tls_cert=cert, tls_key=key)
    t.start()
    assert "self-signed" not in t.log(), t.log_tail()
    assert not os.path.exists(os.path.join(t.state_dir, "tls", "cert.pem")), \
        "a configured certificate must not make a self-signed one"
    for kind in ("submissions", "submission", "smtp"):
        p = t.s_client(kind)
        out = p.stdout.decode("utf-8", "replace")
        assert p.returncode == 0, "s_client on %s: rc %d\n%s" % (kind, p.returncode, p.stderr)
        m = re.search(r"^subject=(.*)$", out, re.M)
        assert m and cn in m.group(1) and "Tern Tests" in m.group(1), \
            "%s: want subject CN=%s, got %r" % (kind, cn, m and m.group(1))


def run_serve(t, timeout=2 * WAIT):
    """tern serve in the foreground, expected to exit: (rc, output)."""
    p = subprocess.Popen([TERN_BIN, "-c", t.conf_path, "serve"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    t.pgids.append(p.pid)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        pytest.fail("tern serve did not exit within %ss" % timeout)
    return p.returncode, out.decode("utf-8", "replace")


@pytest.mark.parametrize("case", ["missing-cert", "missing-key", "cert-only", "key-mismatch"])
def test_bad_certificate_refuses_to_start(sub_factory, case):
    t = sub_factory()
    cert, key = make_cert(t.base, "good.tern.test")
    missing = os.path.join(t.base, "no-such-dir", "x.pem")
    if case == "missing-cert":
        t.write_config(tls_cert=missing, tls_key=key)
        want = re.escape(missing)
    elif case == "missing-key":
        t.write_config(tls_cert=cert, tls_key=missing)
        want = re.escape(missing)
    elif case == "cert-only":
        t.write_config(tls_cert=cert)
        want = r"tls_cert and tls_key go together"
    else:
        other = os.path.join(t.base, "other")
        os.mkdir(other)
        _, key2 = make_cert(other, "other.tern.test")
        t.write_config(tls_cert=cert, tls_key=key2)
        want = re.escape(key2)
    rc, out = run_serve(t)
    assert rc != 0, "tern serve with a bad certificate (%s) must not run:\n%s" % (case, out)
    assert re.search(r"TLS: .*%s" % want, out), \
        "%s: want a TLS error naming /%s/, got:\n%s" % (case, want, out)
    assert "tern starting" not in out, out


# ---- STARTTLS and implicit TLS ----

@pytest.mark.parametrize("kind", ["smtp", "submission"])
def test_starttls(tls_srv, kind):
    with tls_srv.client(kind, tls=False) as s:
        assert s.has_extn("starttls"), "%s: STARTTLS not offered: %r" % (kind, s.esmtp_features)
        assert not s.has_extn("auth"), "%s: AUTH offered before TLS: %r" % (kind, s.esmtp_features)
        code, text = s.starttls(context=client_tls_context())
        assert code == 220 and text.startswith(b"2.0.0"), (code, text)
        assert s.sock.version() in ("TLSv1.2", "TLSv1.3"), s.sock.version()
        code, _ = s.ehlo()
        assert code == 250
        assert not s.has_extn("starttls"), "STARTTLS offered inside TLS: %r" % s.esmtp_features
        if kind == "submission":
            assert s.esmtp_features.get("auth", "").split() == ["PLAIN", "LOGIN"], s.esmtp_features
        else:
            assert not s.has_extn("auth"), "AUTH on port 25 by default: %r" % s.esmtp_features
        code, text = s.docmd("STARTTLS")
        assert (code, text[:5]) == (503, b"5.5.1"), "STARTTLS inside TLS: %d %r" % (code, text)


def test_implicit_tls(tls_srv):
    with tls_srv.client("submissions") as s:
        assert s.sock.version() in ("TLSv1.2", "TLSv1.3"), s.sock.version()
        assert not s.has_extn("starttls"), s.esmtp_features
        assert s.esmtp_features.get("auth", "").split() == ["PLAIN", "LOGIN"], s.esmtp_features
    with tls_srv.raw_tls("submissions") as c:
        assert c.greeting[0] == 220 and c.greeting[1].startswith("mx.example.test"), c.greeting


@pytest.mark.parametrize("kind", ["submissions", "submission", "smtp"])
def test_tls_1_1_refused(tls_srv, kind):
    mark = tls_srv.log_mark()
    p = tls_srv.s_client(kind, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    out = (p.stdout + p.stderr).decode("utf-8", "replace")
    assert p.returncode != 0, "TLS 1.1 on %s: s_client succeeded:\n%s" % (kind, out)
    assert not re.search(r"Protocol\s*: TLSv1\.1\s*\n\s*Cipher\s*: (?!0000)", out), out
    # The server said no, not the client: the handshake failure is logged.
    sid = session_id_of(tls_srv, mark, kind)
    tls_srv.wait_log(r"%s: TLS handshake failed from \[127\.0\.0\.1\]: .*unsupported protocol" % sid,
                     since=mark)
    assert not any("TLS established" in l for l in session_lines(tls_srv, sid))


@pytest.mark.parametrize("version", ["1_2", "1_3"])
@pytest.mark.parametrize("kind", ["submissions", "submission", "smtp"])
def test_tls_1_2_and_1_3_accepted(tls_srv, kind, version):
    mark = tls_srv.log_mark()
    p = tls_srv.s_client(kind, "-tls" + version, "-brief")
    out = (p.stdout + p.stderr).decode("utf-8", "replace")
    want = "TLSv" + version.replace("_", ".")
    assert p.returncode == 0, "%s on %s: s_client failed:\n%s" % (want, kind, out)
    assert re.search(r"Protocol version: %s\b" % re.escape(want), out), out
    sid = session_id_of(tls_srv, mark, kind)
    tls_srv.wait_log(r"%s: TLS established from \[127\.0\.0\.1\]: %s with cipher \S+ \(\d+/\d+ bits\)"
                     % (sid, re.escape(want)), since=mark)


def finish_handshake_and_close(port, starttls):
    """A TLS 1.3 client whose Finished, a QUIT inside TLS, its close_notify
    and its FIN reach the server in one segment: the handshake and the
    close arrive together."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        if starttls:
            f = sock.makefile("rb")
            for cmd in (None, b"EHLO client.test\r\n", b"STARTTLS\r\n"):
                if cmd:
                    sock.sendall(cmd)
                while True:
                    line = f.readline()
                    assert line, "connection closed before STARTTLS"
                    if line[3:4] != b"-":
                        break
            assert line.startswith(b"220"), line
        into, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = client_tls_context(ssl.TLSVersion.TLSv1_3).wrap_bio(into, out)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                sock.sendall(out.read())
                data = sock.recv(65536)
                assert data, "server closed during the handshake"
                into.write(data)
        # The Finished is still in out: it goes with the rest.
        tls.write(b"QUIT\r\n")
        try:
            tls.unwrap()
        except ssl.SSLWantReadError:
            pass
        # The server may close first, even reset: what it logged decides.
        with contextlib.suppress(OSError):
            sock.sendall(out.read())
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(WAIT)
            while sock.recv(65536):
                pass


@pytest.mark.parametrize("kind", ["submissions", "submission"])
def test_tls_close_with_the_finished_is_still_established(tls_srv, kind):
    """libevent reports such a close before the handshake: the session must
    still log the handshake that succeeded, not a failed one."""
    for _ in range(3):
        mark = tls_srv.log_mark()
        finish_handshake_and_close(tls_srv.port_of(kind), kind != "submissions")
        sid = session_id_of(tls_srv, mark, kind)
        tls_srv.wait_log(r"%s: disconnect from" % sid, since=mark)
        lines = "\n".join(session_lines(tls_srv, sid))
        assert re.search(r"%s: TLS established from \[127\.0\.0\.1\]: TLSv1\.3 " % sid, lines), lines
        assert "handshake failed" not in lines, lines


def test_swaks_tls_and_tlsc(tls_srv):
    sent = []
    for kind, flag in (("submission", "--tls"), ("submissions", "--tlsc"), ("smtp", "--tls")):
        subject = uniq("swakstls")
        sender = "someone@client.test" if kind == "smtp" else "alice@example.test"
        args = ["--to", "alice@example.test", "--from", sender,
                "--header", "Subject: " + subject, flag]
        if kind != "smtp":
            args += ["--auth", "PLAIN", "--auth-user", "alice@example.test",
                     "--auth-password", PASSWORD]
        p = tls_srv.swaks(*args, kind=kind)
        assert p.returncode == 0, "swaks %s on %s: rc %d\n%s" % (flag, kind, p.returncode, p.stdout)
        assert re.search(r"TLS started", p.stdout), p.stdout
        sent.append(subject)
    got = wait_until(lambda: set(sent) <= set(subjects(tls_srv.messages("alice@example.test"))))
    assert got, "swaks messages %r not all delivered\n%s" % (sent, tls_srv.log_tail())


def test_handshake_failure_logged_and_closed(tls_srv):
    mark = tls_srv.log_mark()
    # Plain text where TLS is due: on 465 from the first byte, on 587
    # after the 220 to STARTTLS.
    with RawSMTP(tls_srv.subs_port, greet=False) as c:
        c.send(b"EHLO client.test\r\n")
        assert c.closed_by_server(), "465: plain text must end the connection"
    sid = session_id_of(tls_srv, mark, "submissions")
    tls_srv.wait_log(r"%s: TLS handshake failed from \[127\.0\.0\.1\]" % sid, since=mark)

    mark = tls_srv.log_mark()
    with tls_srv.raw_tls("submission") as c:
        c.expect("EHLO client.test", 250)
        c.expect("STARTTLS", 220)
        c.send(b"this is no TLS ClientHello\r\n")
        assert c.closed_by_server(), "587: garbage after STARTTLS must end the connection"
    sid = session_id_of(tls_srv, mark, "submission")
    tls_srv.wait_log(r"%s: TLS handshake failed from \[127\.0\.0\.1\]" % sid, since=mark)
    tls_srv.wait_log(r"%s: disconnect from" % sid, since=mark)


@pytest.mark.parametrize("kind", ["submission", "submissions"])
def test_client_drop_logged_as_lost_connection(tls_srv, kind):
    """A client that closes its TCP connection without a TLS close_notify
    is a lost connection, on 465 as on 587; an error line must name a
    real error, never errno 0 ("Success")."""
    mark = tls_srv.log_mark()
    with tls_srv.raw_tls(kind) as c:
        if kind == "submission":
            c.expect("EHLO client.test", 250)
            c.starttls()
        c.expect("EHLO client.test", 250)
    sid = session_id_of(tls_srv, mark, kind)
    tls_srv.wait_log(r"%s: disconnect from" % sid, since=mark)
    lines = session_lines(tls_srv, sid)
    assert not any(l.endswith(": Success") for l in lines), \
        "%s: an error logged with errno 0:\n%s" % (kind, "\n".join(lines))
    assert any("lost connection from [127.0.0.1]" in l for l in lines), "\n".join(lines)


# ---- the session starts over after STARTTLS ----

@pytest.mark.parametrize("kind", ["smtp", "submission"])
def test_session_starts_over_after_starttls(tls_srv, kind):
    with tls_srv.raw_tls(kind) as c:
        c.expect("EHLO client.test", 250)
        if kind == "smtp":
            # A transaction begun in the clear does not survive STARTTLS.
            c.expect("MAIL FROM:<before@client.test>", 250)
        c.starttls()
        code, text = c.cmd("MAIL FROM:<someone@client.test>")
        assert (code, text[:5]) == (503, "5.5.1"), "MAIL before the new EHLO: got %r" % ((code, text),)
        if kind == "submission":
            code, text = c.auth_plain("alice@example.test", PASSWORD)
            assert (code, text[:5]) == (503, "5.5.1"), "AUTH before the new EHLO: got %r" % ((code, text),)
        code, text = c.ehlo()
        assert code == 250 and "STARTTLS" not in text, text
        if kind == "submission":
            c.expect("AUTH PLAIN " + b64("\0alice@example.test\0" + PASSWORD), 235)
            c.expect("MAIL FROM:<alice@example.test>", 250)
        else:
            # A first MAIL, not a nested one.
            c.expect("MAIL FROM:<someone@client.test>", 250)
        c.expect("QUIT", 221)


def test_starttls_out_of_place(tls_srv):
    with tls_srv.raw_tls("submission") as c:
        assert c.cmd("STARTTLS")[:1] == (503,), "STARTTLS before EHLO"
        c.expect("EHLO client.test", 250)
        assert c.cmd("STARTTLS now")[:1] == (501,), "STARTTLS with an argument"
        c.starttls()
        c.expect("EHLO client.test", 250)
        c.expect("QUIT", 221)


@pytest.mark.parametrize("kind", ["smtp", "submission"])
def test_pipelined_plaintext_after_starttls_discarded(tls_srv, kind):
    pipelined = b"MAIL FROM:<x@y.test>\r\n"
    mark = tls_srv.log_mark()
    with tls_srv.raw_tls(kind) as c:
        c.expect("EHLO client.test", 250)
        c.send(b"STARTTLS\r\n" + pipelined)
        code, text = c.reply()
        assert code == 220, "STARTTLS: got %r" % ((code, text),)
        assert c.buf == b"", "reply to the pipelined MAIL in the clear: %r" % c.buf
        c._wrap()
        # Had the MAIL run inside TLS, its reply (503: no EHLO yet) would
        # come first and be read as the answer to this EHLO.
        code, text = c.ehlo()
        assert code == 250 and text.startswith("mx.example.test"), \
            "EHLO inside TLS: got %r (a reply to the discarded MAIL?)" % ((code, text),)
        if kind == "submission":
            c.expect("AUTH PLAIN " + b64("\0alice@example.test\0" + PASSWORD), 235)
            code, text = c.cmd("MAIL FROM:<alice@example.test>")
        else:
            code, text = c.cmd("MAIL FROM:<first@client.test>")
        assert code == 250, "first MAIL inside TLS: got %r" % ((code, text),)
        c.expect("RSET", 250)
        c.expect("QUIT", 221)
    sid = session_id_of(tls_srv, mark, kind)
    tls_srv.wait_log(r"%s: discarded %d bytes pipelined after STARTTLS from \[127\.0\.0\.1\]"
                     % (sid, len(pipelined)), since=mark)
    lines = session_lines(tls_srv, sid)
    assert not any("x@y.test" in l for l in lines), \
        "the discarded MAIL must not have been acted on:\n%s" % "\n".join(lines)


def test_pipelined_auth_after_starttls_discarded(tls_srv):
    """Credentials pipelined in the clear behind STARTTLS log no one in
    (and do not reach the log)."""
    creds = b64("\0alice@example.test\0" + PASSWORD)
    mark = tls_srv.log_mark()
    with tls_srv.raw_tls("submission") as c:
        c.expect("EHLO client.test", 250)
        c.send("STARTTLS\r\nAUTH PLAIN %s\r\n" % creds)
        assert c.reply()[0] == 220
        c._wrap()
        code, text = c.ehlo()
        assert code == 250 and "AUTH PLAIN LOGIN" in text, (code, text)
        code, text = c.cmd("MAIL FROM:<alice@example.test>")
        assert code == 530, "AUTH pipelined before the handshake took effect: %r" % ((code, text),)
    sid = session_id_of(tls_srv, mark, "submission")
    tls_srv.wait_log(r"%s: disconnect" % sid, since=mark)
    assert not any("auth" in l for l in session_lines(tls_srv, sid)), "\n".join(session_lines(tls_srv, sid))
    assert PASSWORD not in tls_srv.log() and creds not in tls_srv.log()


def test_pipelined_data_after_starttls_never_delivered(tls_srv):
    """A whole transaction pipelined behind STARTTLS is not delivered."""
    subject = uniq("smuggled")
    msg = make_msg(subject=subject, to="alice@example.test").decode()
    with tls_srv.raw_tls("smtp") as c:
        c.expect("EHLO client.test", 250)
        c.send("STARTTLS\r\nEHLO client.test\r\nMAIL FROM:<x@client.test>\r\n"
               "RCPT TO:<alice@example.test>\r\nDATA\r\n%s.\r\n" % msg)
        code, _ = c.reply()
        assert code == 220
        c._wrap()
        c.expect("EHLO client.test", 250)
        c.expect("QUIT", 221)
    msgs, _ = deliver_marker(tls_srv, "alice@example.test")
    assert not any(subject.encode() in m for m in msgs), "the pipelined message was delivered"


# ---- issue 8, point 15: a bare LF ends the session on every port ----

@pytest.mark.parametrize("kind,tls", [("smtp", True), ("submission", False),
                                      ("submission", True), ("submissions", True)])
def test_bare_lf_command_ends_session_on_every_port(tls_srv, kind, tls):
    with tls_srv.raw_tls(kind) as c:
        if tls and kind != "submissions":
            c.expect("EHLO client.test", 250)
            c.starttls()
        c.expect("EHLO client.test", 250)
        c.send(b"NOOP\nEHLO client.test\r\nNOOP\r\n")
        replies, closed = c.replies_until_eof()
    assert closed and [r[0] for r in replies] == [500], \
        "%s (tls=%s): got %r (closed=%s), want one 500 and the end" % (
            kind, tls, replies, closed)


# ---- issue 8, point 19: no plaintext 421 on the implicit TLS port ----

def hold_only_session(t):
    """Takes the one session slot with a plain session on port 25 (the
    start-up probe's session may still hold it for a moment)."""
    def attempt():
        try:
            c = RawSMTP(t.port)
        except (EOFError, OSError):
            return None
        if c.greeting[0] == 220:
            return c
        c.close()
        return None
    c = wait_until(attempt)
    assert c is not None, "no session slot came free\n" + t.log_tail()
    return c


def test_full_smtpd_closes_tls_port_without_plaintext(sub_factory):
    t = sub_factory(max_sessions="1")
    prepare(t)
    t.start()
    held = hold_only_session(t)
    try:
        mark = t.log_mark()
        # Raw bytes first: on 465 not one byte may come before TLS.
        with socket.create_connection(("127.0.0.1", t.subs_port), timeout=WAIT) as s:
            s.settimeout(WAIT)
            got = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
            except ConnectionResetError:
                pass
        assert got == b"", "465 with every slot taken sent plain text: %r" % got
        t.wait_log(r"too many sessions: closing \[127\.0\.0\.1\]:\d+ on the TLS port "
                   r"without a reply", since=mark)
        # A TLS client sees the connection end, not a record it cannot read.
        with socket.create_connection(("127.0.0.1", t.subs_port), timeout=WAIT) as s:
            with pytest.raises((ssl.SSLError, OSError)) as e:
                client_tls_context().wrap_socket(s).recv(1)
        assert "WRONG_VERSION_NUMBER" not in str(e.value) and \
            "record layer failure" not in str(e.value), e.value
        # Ports 25 and 587 still say why, in plain text.
        for port in (t.port, t.sub_port):
            with RawSMTP(port) as c:
                assert c.greeting[0] == 421 and c.greeting[1].startswith("4.3.2"), \
                    "port %d full: got %r" % (port, c.greeting)
    finally:
        held.cmd("QUIT")
        held.close()
    # The slot comes free again: 465 greets inside TLS.
    def tls_greets():
        try:
            with t.raw_tls("submissions") as c:
                return c.greeting[0] == 220
        except (ssl.SSLError, OSError, EOFError):
            return False
    assert wait_until(tls_greets), "465 did not greet once the slot was free\n" + t.log_tail()
