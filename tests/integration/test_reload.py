"""
Issue 8, point 6: SIGHUP reloads the config, but the settings whose value
was used up at start (listen_*, tls_cert, tls_key, dns_servers, user,
state_dir) keep their running value, and master warns once per changed
setting, naming it.  Every other setting takes its new value.
"""
import re
import signal
import socket

from ternlib import free_port, make_msg


def test_restart_only_settings_kept_and_named(tern_factory):
    t = tern_factory(max_recipients=3)
    t.setup(domains=["example.test"], users=["alice@example.test", "bob@example.test",
                                               "carol@example.test"])
    t.start()
    old_port, new_port = t.port, free_port()
    t.write_config(listen_smtp="127.0.0.1:%d" % new_port,
                   tls_cert="/nonexistent/cert.pem", tls_key="/nonexistent/key.pem",
                   dns_servers="127.0.0.1:10", max_recipients=2)
    mark = t.log_mark()
    t.signal(signal.SIGHUP)
    for kind in ("smtpd", "queue", "lookup"):
        t.wait_log(r"%s\[\d+\]: reload: config read again" % kind, since=mark)
    log = t.log()[mark:]
    want = {"listen_smtp": "127.0.0.1:%d" % old_port, "tls_cert": "", "tls_key": "",
            "dns_servers": "127.0.0.1:9"}
    for name, running in want.items():
        lines = re.findall(r".*reload: %s changes only at a restart.*" % name, log)
        assert len(lines) == 1, "want one warning naming %s, got %r\n%s" % (
            name, lines, t.log_tail())
        assert lines[0].startswith("master[") and "keeping '%s'" % running in lines[0], lines[0]
    for name in ("state_dir", "user", "listen_submission", "listen_submissions"):
        assert "reload: %s " % name not in log, "%s did not change:\n%s" % (name, log)

    # The running port still serves, the new one was never bound...
    with socket.socket() as s:
        s.settimeout(2)
        assert s.connect_ex(("127.0.0.1", new_port)) != 0, "port %d bound by a reload" % new_port
    # ...and a reloadable setting changed at the same time took effect.
    with t.raw() as c:
        c.expect("EHLO c.test", 250)
        c.expect("MAIL FROM:<a@c.test>", 250)
        codes = [c.cmd("RCPT TO:<%s@example.test>" % u)[0] for u in ("alice", "bob", "carol")]
    assert codes == [250, 250, 452], "max_recipients 2 after the reload: got %r" % codes
    t.send("alice@example.test", msg=make_msg(subject="after reload"))
    t.wait_count("alice@example.test", 1)
    # STARTTLS still works with the certificate read at start.
    with t.smtp() as s:
        s.ehlo()
        assert s.has_extn("starttls"), "STARTTLS gone after the reload"
        code, _ = s.starttls()
        assert code == 220
        s.ehlo()
        s.quit()
