"""
Issue 3, points 2-4: the admin commands and `tern config check`, without a
server.  Bad input: exit 1 and one line on stderr, nothing half-written;
bad usage: exit 2.
"""
import os
import sqlite3
import subprocess

import pytest

from ternlib import TERN_BIN


@pytest.fixture
def t(tern_factory):
    t = tern_factory()
    t.cli("domain", "add", "example.test")
    return t


def one_line_error(r):
    lines = r.err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0], \
        "want exactly one line on stderr, got %d: %r" % (len(lines), r)
    return lines[0]


def lines(out):
    return [l for l in out.split("\n") if l]


def user_logins(t):
    return [l.split("\t")[0] for l in lines(t.cli("user", "list").out)]


def aliases(t):
    return lines(t.cli("alias", "list").out)


# ---- domains ----

def test_domain_add_list_del(t):
    t.cli("domain", "add", "Other.TEST")
    got = lines(t.cli("domain", "list").out)
    assert got == ["example.test", "other.test"], "domain list: got %r" % got
    t.cli("domain", "del", "other.test")
    got = lines(t.cli("domain", "list").out)
    assert got == ["example.test"], "domain list after del: got %r" % got


@pytest.mark.parametrize("args,why", [
    (["domain", "add", "example.test"], "domain that exists"),
    (["domain", "add", "EXAMPLE.test"], "domain that exists in another case"),
    (["domain", "del", "nowhere.test"], "unknown domain"),
    (["domain", "add", "bad..name"], "bad domain name"),
    (["user", "add", "bob@nowhere.test"], "user in an unknown domain"),
    (["user", "add", "not-an-address"], "user without a domain"),
    (["user", "del", "nobody@example.test"], "unknown login"),
    (["address", "add", "x@example.test", "nobody"], "address for an unknown login"),
    (["address", "add", "x@nowhere.test", "alice@example.test"], "address in an unknown domain"),
    (["address", "del", "nothing@example.test"], "unknown address"),
    (["alias", "add", "a@remote.test", "alice@example.test"], "alias source not local"),
    (["alias", "add", "@remote.test", "alice@example.test"], "catch-all of a non-local domain"),
    (["alias", "add", "x@example.test", "missing@example.test"], "alias target that does not exist"),
    (["alias", "add", "alice@example.test", "bob@remote.test"], "alias source that is an account"),
    (["alias", "del", "nothing@example.test"], "unknown alias"),
    (["user", "add", "team@example.test", "--login", "t"], "address that is an alias source"),
    (["address", "add", "TEAM@example.test", "alice@example.test"], "address that is an alias source"),
    (["queue", "show", "AAAAAAAAAAAA"], "queue show of an unknown id"),
    (["queue", "delete", "AAAAAAAAAAAA"], "queue delete of an unknown id"),
    (["queue", "delete", "../../etc"], "queue delete of a bad id"),
    (["queue", "flush"], "queue flush without a server"),
])
def test_bad_input_exit_1_one_line(t, args, why):
    t.cli("user", "add", "alice@example.test")
    t.cli("alias", "add", "team@example.test", "alice@example.test")
    before = (t.cli("domain", "list").out, t.cli("user", "list").out,
              t.cli("alias", "list").out)
    r = t.cli(*args, expect=1)
    line = one_line_error(r)
    assert line.startswith("tern: "), "%s: want 'tern: ...', got %r" % (why, line)
    after = (t.cli("domain", "list").out, t.cli("user", "list").out,
             t.cli("alias", "list").out)
    assert after == before, "%s changed the directory:\nbefore %r\nafter  %r" % (
        why, before, after)


@pytest.mark.parametrize("args", [
    [],
    ["nosuchcommand"],
    ["domain"],
    ["domain", "frob", "x.test"],
    ["domain", "add"],
    ["domain", "add", "a.test", "b.test"],
    ["domain", "list", "extra"],
    ["user"],
    ["user", "add"],
    ["user", "add", "a@example.test", "--bogus"],
    ["user", "add", "a@example.test", "--login"],
    ["user", "add", "a@example.test", "--password-stdin", "--password-hash", "$y$x"],
    ["user", "del"],
    ["user", "del", "a@example.test", "--login", "x"],
    ["user", "passwd", "a@example.test"],
    ["address", "add", "x@example.test"],
    ["address", "del"],
    ["alias", "add", "x@example.test"],
    ["alias", "del"],
    ["alias", "list", "extra"],
    ["queue"],
    ["queue", "show"],
    ["queue", "frob"],
    ["config"],
    ["config", "frob"],
    ["serve", "extra"],
])
def test_bad_usage_exit_2(t, args):
    r = t.cli(*args, expect=2)
    assert r.err.strip(), "bad usage should say how to use it: %r" % r


# ---- users, logins, addresses ----

@pytest.mark.parametrize("args", [["domain", "list"], ["user", "list"], ["alias", "list"],
                                  ["sender", "list"], ["tls-policy", "list"], ["audit"]])
def test_listing_to_a_full_disk_fails(t, args):
    """A listing that cannot be written (stdout on /dev/full) fails with
    one line, never exits 0 with the output lost."""
    t.cli("domain", "add", "full.test")
    t.cli("user", "add", "u@full.test")
    t.cli("alias", "add", "a@full.test", "u@full.test")
    t.cli("sender", "allow", "u@full.test", "*@full.test")
    t.cli("tls-policy", "set", "full.test", "encrypt")
    with open("/dev/full", "w") as full:
        p = subprocess.run([TERN_BIN, "-c", t.conf_path] + args, stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=30)
    assert p.returncode == 1, "tern %s to /dev/full: exit %d %r" % (args, p.returncode, p.stderr)
    assert p.stderr.startswith("tern: cannot write"), p.stderr


def test_user_add_list_del(t):
    r = t.cli("user", "add", "alice@example.test")
    assert "alice@example.test" in r.out, "user add: %r" % r
    got = lines(t.cli("user", "list").out)
    assert len(got) == 1 and got[0].split("\t")[:2] == ["alice@example.test", "alice@example.test"], \
        "user list: got %r" % got
    t.cli("user", "del", "alice@example.test")
    assert user_logins(t) == [], "user list after del: got %r" % user_logins(t)


def test_login_starting_with_dash_c_after_double_dash(t):
    """After "--", "-c..." is a login, not the config option."""
    t.cli("user", "add", "--", "-carl@example.test")
    assert "-carl@example.test" in user_logins(t), user_logins(t)
    t.cli("user", "del", "--", "-carl@example.test")
    assert user_logins(t) == [], user_logins(t)


def test_duplicate_address_in_another_case_refused(t):
    t.cli("user", "add", "alice@example.test")
    for args in (["user", "add", "ALICE@example.test", "--login", "other"],
                 ["user", "add", "Alice@EXAMPLE.TEST", "--login", "other2"],
                 ["address", "add", "aLiCe@example.test", "alice@example.test"]):
        r = t.cli(*args, expect=1)
        one_line_error(r)
    assert user_logins(t) == ["alice@example.test"], \
        "a refused add left an account: %r" % user_logins(t)


def test_logins_are_exact(t):
    # The default login_pattern takes lower case only; a postmaster
    # importing old accounts may allow capitals, and then case matters.
    t.write_config(login_pattern="^[A-Za-z0-9._+-]+(@[a-z0-9.-]+)?$")
    t.cli("user", "add", "alice@example.test", "--login", "Alice")
    t.cli("user", "add", "bob@example.test", "--login", "alice")
    got = sorted(user_logins(t))
    assert got == ["Alice", "alice"], "want two accounts Alice and alice, got %r" % got
    # Another case of an existing login is no login at all.
    r = t.cli("user", "del", "ALICE", expect=1)
    one_line_error(r)
    t.cli("user", "del", "Alice")
    got = lines(t.cli("user", "list").out)
    assert [l.split("\t")[:2] for l in got] == [["alice", "bob@example.test"]], \
        "deleting 'Alice' must leave 'alice' (bob's): got %r" % got


def test_login_exists_already_refused(t):
    t.cli("user", "add", "alice@example.test", "--login", "shared")
    r = t.cli("user", "add", "bob@example.test", "--login", "shared", expect=1)
    one_line_error(r)
    assert user_logins(t) == ["shared"], "got %r" % user_logins(t)


def test_address_add_del(t):
    t.cli("user", "add", "alice@example.test")
    t.cli("address", "add", "Al@Example.test", "alice@example.test")
    got = lines(t.cli("user", "list").out)[0].split("\t")[2].split(",")
    assert sorted(a.lower() for a in got) == ["al@example.test", "alice@example.test"], \
        "addresses of alice: got %r" % got
    t.cli("address", "del", "AL@example.test")
    got = lines(t.cli("user", "list").out)[0].split("\t")[2].split(",")
    assert got == ["alice@example.test"], "addresses after del: got %r" % got
    # The account's own address goes only with the account.
    one_line_error(t.cli("address", "del", "alice@example.test", expect=1))


def test_user_del_removes_its_addresses(t):
    t.cli("user", "add", "carol@example.test")
    t.cli("address", "add", "carol2@example.test", "carol@example.test")
    t.cli("user", "del", "carol@example.test")
    # Both addresses are free again.
    t.cli("user", "add", "carol2@example.test")
    t.cli("user", "add", "carol@example.test", "--login", "carol-again")
    one_line_error(t.cli("address", "del", "nothing@example.test", expect=1))


def test_password_stdin_and_passwd(t):
    t.cli("user", "add", "pw@example.test", "--password-stdin", input="s3cret-Pass\n")
    t.cli("user", "passwd", "pw@example.test", "--password-stdin", input="other-Pass\n")
    one_line_error(t.cli("user", "add", "pw2@example.test", "--password-stdin",
                         input="", expect=1))
    assert "pw2@example.test" not in user_logins(t)


def test_domain_in_use_not_deleted(t):
    t.cli("user", "add", "alice@example.test")
    one_line_error(t.cli("domain", "del", "example.test", expect=1))
    assert lines(t.cli("domain", "list").out) == ["example.test"]


# ---- aliases ----

def test_alias_add_list_del(t):
    t.cli("user", "add", "alice@example.test")
    t.cli("user", "add", "bob@example.test")
    t.cli("alias", "add", "team@example.test", "alice@example.test", "bob@example.test",
          "ext@remote.test")
    t.cli("alias", "add", "@example.test", "alice@example.test")
    got = aliases(t)
    want = ["@example.test -> alice@example.test",
            "team@example.test -> alice@example.test",
            "team@example.test -> bob@example.test",
            "team@example.test -> ext@remote.test"]
    assert sorted(got) == sorted(want), "alias list: got %r, want %r" % (got, want)
    t.cli("alias", "del", "team@example.test")
    t.cli("alias", "del", "@example.test")
    assert aliases(t) == [], "alias list after del: %r" % aliases(t)


@pytest.mark.parametrize("source,targets", [
    # the last target does not exist
    ("new@example.test", ["alice@example.test", "ext@remote.test", "missing@example.test"]),
    # the last target is no address
    ("new@example.test", ["alice@example.test", "ext@remote.test", "not an address"]),
    # loop1 -> loop2 -> loop1: a loop closed by the last target
    ("loop1@example.test", ["bob@example.test", "ext@remote.test", "loop2@example.test"]),
], ids=["missing-target", "bad-target", "loop"])
def test_failed_alias_add_leaves_nothing(t, source, targets):
    t.cli("user", "add", "alice@example.test")
    t.cli("user", "add", "bob@example.test")
    t.cli("alias", "add", "loop1@example.test", "alice@example.test")
    t.cli("alias", "add", "loop2@example.test", "loop1@example.test")
    before = aliases(t)
    one_line_error(t.cli("alias", "add", source, *targets, expect=1))
    assert aliases(t) == before, \
        "a refused alias add changed the aliases:\nbefore %r\nafter  %r" % (before, aliases(t))


def test_alias_loop_refused(t):
    t.cli("user", "add", "alice@example.test")
    t.cli("alias", "add", "a@example.test", "alice@example.test")
    t.cli("alias", "add", "b@example.test", "a@example.test")
    r = t.cli("alias", "add", "a@example.test", "b@example.test", expect=1)
    assert "loop" in one_line_error(r).lower(), "want the loop named: %r" % r
    # A catch-all that sends to an unknown address of its own domain comes
    # back to itself.
    r = t.cli("alias", "add", "@example.test", "nobody@example.test", expect=1)
    one_line_error(r)
    assert sorted(aliases(t)) == ["a@example.test -> alice@example.test",
                                  "b@example.test -> a@example.test"], aliases(t)


# ---- config ----

def test_config_check_prints_settings(tern_factory):
    t = tern_factory(max_recipients=7, smtpd_timeout="5m", max_message_size="10k",
                     log_level="debug")
    got = dict(l.split(" = ", 1) if " = " in l else (l.rstrip(" ="), "")
               for l in lines(t.cli("config", "check").out))
    want = {"hostname": "mx.example.test", "state_dir": t.state_dir,
            "listen_smtp": "127.0.0.1:%d" % t.port, "max_recipients": "7",
            "smtpd_timeout": "300s", "max_message_size": "10K", "log_level": "debug"}
    for k, v in want.items():
        assert got.get(k) == v, "config check %s: got %r, want %r" % (k, got.get(k), v)


def test_config_check_defaults(tern_factory):
    t = tern_factory()
    with open(t.conf_path, "w") as f:
        f.write("# nothing but comments\n\n")
    got = dict(l.split(" = ", 1) if " = " in l else (l.rstrip(" ="), "")
               for l in lines(t.cli("config", "check").out))
    want = {"state_dir": "/var/lib/tern", "user": "tern", "listen_smtp": "0.0.0.0:25",
            "max_message_size": "50M", "max_recipients": "1000",
            "smtpd_timeout": "300s", "log_level": "info"}
    for k, v in want.items():
        assert got.get(k) == v, "default %s: got %r, want %r" % (k, got.get(k), v)
    assert got.get("hostname"), "hostname has a default: %r" % got


@pytest.mark.parametrize("bad_line", [
    "max_recipient = 5",                # unknown key
    "max_message_size = ten",           # bad size
    "max_message_size = 10x",
    "smtpd_timeout = 2h",               # above the maximum
    "smtpd_timeout = soon",
    "max_recipients = 0",               # below the minimum
    "max_recipients = -1",
    "log_level = loud",
    "listen_smtp = nowhere",
    "listen_smtp = 127.0.0.1:99999",
    "just some words",                  # no '='
    "hostname = ",                      # empty text
    "hostname = again",                 # duplicate key
])
def test_config_error_names_file_and_line(tern_factory, bad_line):
    t = tern_factory()
    with open(t.conf_path) as f:
        good = f.read().rstrip("\n").split("\n")
    text = good + ["", "# a comment", bad_line]
    with open(t.conf_path, "w") as f:
        f.write("\n".join(text) + "\n")
    lineno = len(text)
    for args in (["config", "check"], ["domain", "list"]):
        r = t.cli(*args, expect=1)
        line = one_line_error(r)
        want = "%s:%d" % (os.path.basename(t.conf_path), lineno)
        assert want in line, "%s: want %r in the error, got %r" % (bad_line, want, line)


def test_missing_config_file(tern_factory):
    t = tern_factory()
    os.unlink(t.conf_path)
    r = t.cli("config", "check", expect=1)
    assert t.conf_path in one_line_error(r) or "tern.conf" in r.err, r


def test_directory_schema_versioned(t):
    t.cli("user", "add", "alice@example.test")
    db = os.path.join(t.state_dir, "tern.db")
    st = os.stat(db)
    con = sqlite3.connect(db)
    try:
        versions = [r[0] for r in con.execute("SELECT version FROM schema_version ORDER BY version")]
        assert versions and versions == list(range(1, len(versions) + 1)), \
            "schema_version: got %r, want 1..N" % versions
        # A database from a newer tern is refused, not used.
        con.execute("INSERT INTO schema_version (version, applied) VALUES (?, 0)",
                    (versions[-1] + 100,))
        con.commit()
    finally:
        con.close()
    for name in os.listdir(t.state_dir):        # keep the files the server's
        if name.startswith("tern.db"):          # user's when we are root
            os.chown(os.path.join(t.state_dir, name), st.st_uid, st.st_gid)
    line = one_line_error(t.cli("user", "list", expect=1))
    assert "schema" in line, "want the schema version named: %r" % line
