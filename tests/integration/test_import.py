"""
Issue 12, points 1 and 2: `tern import FORMAT FILE...` brings an old
server's accounts over in one directory transaction.  Each format with a
fixture written here, every conflict in its own test (named with its
FILE:LINE, exit 1, nothing written), the option that resolves it, the dry
run writing nothing, the rerun changing nothing, and imported hashes
logging in over submission on a real server.
"""
import os
import re

import pytest

from ternlib import instance_factory, make_hash, uniq

EXIT_CONFLICT = 1
EXIT_UNREADABLE = 2


@pytest.fixture
def imp_factory(request):
    yield from instance_factory(request)


@pytest.fixture
def t(imp_factory):
    return imp_factory()


def lines(out):
    return [l for l in out.split("\n") if l]


def write(t, name, text):
    path = os.path.join(t.base, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def users(t):
    """login -> (mailbox, [addresses])"""
    got = {}
    for l in lines(t.cli("user", "list").out):
        login, mailbox, addrs = l.split("\t")
        got[login] = (mailbox, addrs.split(","))
    return got


def aliases(t):
    return sorted(lines(t.cli("alias", "list").out))


def domains(t):
    return lines(t.cli("domain", "list").out)


def state(t):
    return users(t), aliases(t), domains(t)


def counts(out, kind):
    """(created, updated, unchanged) from the report's count line."""
    m = re.search(r"^%s: (\d+) created, (\d+) updated, (\d+) unchanged$" % kind,
                  out, re.M)
    assert m, "no %s count in the report:\n%s" % (kind, out)
    return tuple(int(x) for x in m.groups())


def conflicts(r):
    return [l for l in lines(r.out) if l.startswith("conflict ")]


def refused(t, *args):
    """An import that must stop on conflicts: exit 1, one line on stderr,
    nothing written.  Returns the result."""
    before = state(t)
    r = t.cli("import", *args, expect=EXIT_CONFLICT)
    assert lines(r.err) and len(lines(r.err)) == 1 and "nothing written" in r.err, r
    assert state(t) == before, "a refused import wrote something: %r" % r
    return r


def has_conflict(r, where, *words):
    for l in conflicts(r):
        if l.startswith("conflict %s:" % where) and all(w in l for w in words):
            return l
    raise AssertionError("no conflict at %s with %r in:\n%s" % (where, words, r.out))


CSV_HEADER = "login,address,password_hash,addresses,aliases\n"


# ---- the formats ----

def test_csv_accounts_addresses_aliases(t):
    y = make_hash("pw-alice-1", "$y$")
    path = write(t, "users.csv", CSV_HEADER +
                 'alice@example.test,alice@example.test,%s,"a2@example.test, a3@example.test",'
                 'info@example.test\r\n' % y +
                 '"bob.smith",bob@example.test,,,"sales@example.test info@example.test"\r\n'
                 '\r\n'
                 'carol@other.test,carol@other.test,"{SHA512-CRYPT}%s",,\r\n'
                 % make_hash("pw-carol-1", "$6$"))
    r = t.cli("import", "--create-domains", "csv", path)
    assert counts(r.out, "accounts") == (3, 0, 0), r
    assert counts(r.out, "alias targets") == (3, 0, 0), r
    assert counts(r.out, "domains") == (2, 0, 0), r
    assert "create account 'bob.smith' bob@example.test [no password] (%s:3)" % path in r.out, r
    u = users(t)
    assert u["alice@example.test"] == ("alice@example.test",
                                       ["alice@example.test", "a2@example.test",
                                        "a3@example.test"]), u
    assert u["bob.smith"][0] == "bob@example.test", u
    assert u["carol@other.test"][0] == "carol@other.test", u
    assert aliases(t) == ["info@example.test -> alice@example.test",
                          "info@example.test -> bob@example.test",
                          "sales@example.test -> bob@example.test"], aliases(t)
    assert domains(t) == ["example.test", "other.test"]


def test_postfix_virtual(t):
    t.cli("domain", "add", "example.test")
    vmail = write(t, "vmailbox", "# virtual_mailbox_maps\n"
                  "alice@example.test   example.test/alice/\n"
                  "\n"
                  "bob@example.test\texample.test/bob/\n")
    virtual = write(t, "virtual", "# virtual_alias_maps\n"
                    "lists.example.test   anything\n"
                    "postmaster@example.test  alice@example.test\n"
                    "team@lists.example.test  alice@example.test,\n"
                    "    bob@example.test  friend@remote.test\n"
                    "   # a comment inside is skipped\n"
                    "@lists.example.test  bob@example.test\n")
    r = t.cli("import", "postfix-virtual", vmail, virtual)
    assert counts(r.out, "accounts") == (2, 0, 0), r
    assert counts(r.out, "domains") == (1, 0, 0), r
    assert counts(r.out, "alias targets") == (5, 0, 0), r
    assert "create alias team@lists.example.test -> friend@remote.test (%s:4)" % virtual \
        in r.out, r
    assert domains(t) == ["example.test", "lists.example.test"]
    assert sorted(users(t)) == ["alice@example.test", "bob@example.test"]
    assert aliases(t) == ["@lists.example.test -> bob@example.test",
                          "postmaster@example.test -> alice@example.test",
                          "team@lists.example.test -> alice@example.test",
                          "team@lists.example.test -> bob@example.test",
                          "team@lists.example.test -> friend@remote.test"], aliases(t)
    # The catch-all works for mail, as the directory resolves it.
    r = t.cli("import", "postfix-virtual", vmail, virtual)
    assert "nothing to change" in r.out, r


def test_dovecot_passwd_with_domain(t):
    t.cli("domain", "add", "example.test")
    path = write(t, "passwd", "# Dovecot passwd-file\n"
                 "alice@example.test:{SHA512-CRYPT}%s:5000:5000::/home/alice::userdb_quota_rule=*:storage=1G\n"
                 "bob:{BLF-CRYPT}%s:5000:5000::/home/bob::\n"
                 "carol@example.test:%s\n"
                 % (make_hash("pw-a-1", "$6$"), make_hash("pw-b-1", "$2y$", 5),
                    make_hash("pw-c-1", "$y$")))
    r = t.cli("import", "--domain", "example.test", "dovecot-passwd", path)
    assert counts(r.out, "accounts") == (3, 0, 0), r
    u = users(t)
    assert u["bob"][0] == "bob@example.test", u
    assert u["alice@example.test"][0] == "alice@example.test", u
    assert u["carol@example.test"][0] == "carol@example.test", u


def test_dovecot_login_without_domain_is_a_conflict(t):
    t.cli("domain", "add", "example.test")
    path = write(t, "passwd", "bob:%s\n" % make_hash("pw-b-1", "$6$"))
    r = refused(t, "dovecot-passwd", path)
    has_conflict(r, path + ":1", "'bob'", "--domain")


# ---- a rerun, a dry run ----

def test_rerun_changes_nothing_and_says_so(t):
    path = write(t, "users.csv", CSV_HEADER +
                 "alice,alice@example.test,%s,a2@example.test,info@example.test\n"
                 % make_hash("pw-alice-1", "$6$"))
    t.cli("import", "--create-domains", "csv", path)
    before = state(t)
    r = t.cli("import", "--create-domains", "csv", path)
    assert counts(r.out, "accounts") == (0, 0, 1), r
    assert counts(r.out, "alias targets") == (0, 0, 1), r
    assert counts(r.out, "domains") == (0, 0, 0), r
    assert "nothing to change" in r.out, r
    assert not [l for l in lines(r.out) if l.startswith("create") or l.startswith("update")], r
    assert state(t) == before
    # -v names the unchanged items too.
    r = t.cli("import", "-v", "csv", path)
    assert "unchanged account 'alice' alice@example.test + a2@example.test" in r.out, r


def test_rerun_with_a_new_hash_and_address_updates(t):
    path = write(t, "users.csv", CSV_HEADER +
                 "alice,alice@example.test,%s,,\n" % make_hash("pw-alice-1", "$6$"))
    t.cli("import", "--create-domains", "csv", path)
    write(t, "users.csv", CSV_HEADER + "alice,alice@example.test,%s,a2@example.test,\n"
          % make_hash("pw-alice-2", "$6$"))
    r = t.cli("import", "csv", path)
    assert counts(r.out, "accounts") == (0, 1, 0), r
    assert "update account 'alice' alice@example.test + a2@example.test" in r.out, r
    assert users(t)["alice"][1] == ["alice@example.test", "a2@example.test"]


def test_dry_run_writes_nothing(t):
    t.cli("domain", "add", "example.test")
    path = write(t, "users.csv", CSV_HEADER +
                 "alice,alice@example.test,%s,a2@example.test,info@example.test\n"
                 "bob@new.test,bob@new.test,,,\n" % make_hash("pw-alice-1", "$6$"))
    before = state(t)
    db = os.path.join(t.state_dir, "tern.db")
    with open(db, "rb") as f:
        db_before = f.read()
    r = t.cli("import", "--dry-run", "--create-domains", "csv", path)
    assert "would create account 'alice' alice@example.test + a2@example.test" in r.out, r
    assert "would create domain new.test" in r.out, r
    assert counts(r.out, "accounts") == (2, 0, 0), r
    assert lines(r.out)[-1] == "dry run: nothing written", r
    assert state(t) == before
    with open(db, "rb") as f:
        assert f.read() == db_before, "the dry run changed tern.db"
    # The same run for real writes what the dry run announced.
    r = t.cli("import", "--create-domains", "csv", path)
    assert counts(r.out, "accounts") == (2, 0, 0), r
    assert sorted(users(t)) == ["alice", "bob@new.test"]


# ---- the conflicts, each in its own test ----

def test_case_twins_within_the_files(t):
    t.cli("domain", "add", "example.test")
    path = write(t, "users.csv", CSV_HEADER +
                 "alice,alice@example.test,,,\n"
                 "carol,carol@example.test,,,\n"
                 "Alice,alice2@example.test,,,\n")
    r = refused(t, "csv", path)
    has_conflict(r, path + ":2", "'alice'", "'Alice'", "differ only in case")
    has_conflict(r, path + ":4", "'Alice'", "'alice'", "--rename")
    assert len(conflicts(r)) == 2, r
    # --rename picks: the twin becomes another login, both are imported.
    r = t.cli("import", "--rename", "Alice=alice2", "csv", path)
    assert counts(r.out, "accounts") == (3, 0, 0), r
    assert sorted(users(t)) == ["alice", "alice2", "carol"]


def test_case_twin_of_an_existing_login(t):
    t.cli("domain", "add", "example.test")
    t.cli("user", "add", "alice@example.test", "--login", "alice")
    path = write(t, "passwd", "Alice:%s\n" % make_hash("pw-1-x", "$6$"))
    r = refused(t, "--domain", "other.test", "--create-domains", "dovecot-passwd", path)
    has_conflict(r, path + ":1", "'Alice'", "existing login 'alice'", "--rename")
    r = t.cli("import", "--domain", "other.test", "--create-domains",
              "--rename", "Alice=alice.other", "dovecot-passwd", path)
    # The login is renamed; the address stays the one the file gives.
    assert users(t)["alice.other"][0] == "Alice@other.test"


def test_address_claimed_by_two_accounts(t):
    t.cli("domain", "add", "example.test")
    path = write(t, "users.csv", CSV_HEADER +
                 "alice,alice@example.test,,shared@example.test,\n"
                 "bob,bob@example.test,,,\n"
                 "carol,carol@example.test,,Shared@example.test,\n")
    r = refused(t, "csv", path)
    has_conflict(r, path + ":2", "shared@example.test", "two accounts")
    has_conflict(r, path + ":4", "Shared@example.test", "two accounts")


def test_address_owned_by_an_existing_account(t):
    t.cli("domain", "add", "example.test")
    t.cli("user", "add", "zed@example.test")
    path = write(t, "users.csv", CSV_HEADER + "alice,alice@example.test,,ZED@example.test,\n")
    r = refused(t, "csv", path)
    has_conflict(r, path + ":2", "ZED@example.test", "zed@example.test")


def test_login_breaking_login_pattern(t, imp_factory):
    t.cli("domain", "add", "example.test")
    path = write(t, "users.csv", CSV_HEADER + "Bob.Smith,bob@example.test,,,\n"
                 "carol,carol@example.test,,,\n")
    r = refused(t, "csv", path)
    has_conflict(r, path + ":2", "'Bob.Smith'", "login_pattern", "--keep-logins")
    assert len(conflicts(r)) == 1, r
    r = t.cli("import", "--keep-logins", "csv", path)
    assert "create account 'Bob.Smith' bob@example.test [legacy login" in r.out, r
    assert counts(r.out, "accounts") == (2, 0, 0), r
    audit = t.cli("audit").out
    assert "legacy logins" in audit and "  Bob.Smith bob@example.test" in audit, audit
    assert "carol" not in audit, audit


def test_hash_scheme_tern_cannot_check(t):
    t.cli("domain", "add", "example.test")
    path = write(t, "passwd", "alice@example.test:{PLAIN-MD5}1a1dc91c907325c69271ddf0c944bc72\n"
                 "bob@example.test:{SHA512-CRYPT}%s\n" % make_hash("pw-b-1", "$6$"))
    r = refused(t, "dovecot-passwd", path)
    has_conflict(r, path + ":1", "'alice@example.test'", "{PLAIN-MD5}", "--allow-no-password")
    assert len(conflicts(r)) == 1, r
    r = t.cli("import", "--allow-no-password", "dovecot-passwd", path)
    assert "create account 'alice@example.test' alice@example.test [no password:" in r.out, r
    assert "accounts without a password: 1" in r.out, r
    assert sorted(users(t)) == ["alice@example.test", "bob@example.test"]


def test_alias_loop(t):
    t.cli("domain", "add", "example.test")
    path = write(t, "virtual", "a@example.test  b@example.test\n"
                 "b@example.test  c@example.test\n"
                 "c@example.test  a@example.test\n"
                 "ok@example.test  friend@remote.test\n")
    r = refused(t, "postfix-virtual", path)
    has_conflict(r, path + ":1", "a@example.test", "loop")
    assert not [l for l in conflicts(r) if ":4:" in l], r


def test_domain_not_local(t):
    t.cli("domain", "add", "example.test")
    path = write(t, "users.csv", CSV_HEADER + "alice,alice@example.test,,,\n"
                 "bob,bob@elsewhere.test,,,\n")
    r = refused(t, "csv", path)
    has_conflict(r, path + ":3", "elsewhere.test", "not local", "--create-domains")
    assert len(conflicts(r)) == 1, r
    r = t.cli("import", "--create-domains", "csv", path)
    assert domains(t) == ["elsewhere.test", "example.test"]


def test_conflict_writes_none_of_the_good_items(t):
    t.cli("domain", "add", "example.test")
    path = write(t, "users.csv", CSV_HEADER + "alice,alice@example.test,,,\n"
                 "bob,bob@example.test,{MD5}x,,\n")
    r = refused(t, "csv", path)
    assert "create account 'alice'" in r.out, "the report names what would be done: %r" % r
    assert users(t) == {}


# ---- files that cannot be read ----

@pytest.mark.parametrize("fmt,text,line", [
    ("csv", "login,address,colour\nalice,alice@example.test,red\n", 1),
    ("csv", CSV_HEADER + "alice,alice@example.test,,\n", 2),
    ("csv", CSV_HEADER + 'alice,"alice@example.test,,,\n', 2),
    ("postfix-virtual", "  continued@example.test x@example.test\n", 1),
    ("postfix-virtual", "# c\nalone@example.test\n", 2),
    ("dovecot-passwd", "# c\n\njust-a-name\n", 3),
])
def test_malformed_line_is_an_error_naming_it(t, fmt, text, line):
    path = write(t, "bad", text)
    r = t.cli("import", fmt, path, expect=EXIT_UNREADABLE)
    assert len(lines(r.err)) == 1 and r.err.startswith("tern: %s:%d: " % (path, line)), r
    assert r.out == "", r


def test_unreadable_file(t):
    r = t.cli("import", "csv", os.path.join(t.base, "missing.csv"), expect=EXIT_UNREADABLE)
    assert len(lines(r.err)) == 1 and "missing.csv: cannot read" in r.err, r
    r = t.cli("import", "ldif", os.path.join(t.base, "x"), expect=EXIT_UNREADABLE)


# ---- imported hashes log in ----

def test_imported_hashes_log_in_over_submission(t):
    pws = {"yes": "pw-yescrypt-1", "sha": "pw-sha512-1", "blf": "pw-bcrypt-1"}
    path = write(t, "passwd",
                 "yes@example.test:{YESCRYPT}%s\n" % make_hash(pws["yes"], "$y$") +
                 "sha@example.test:{SHA512-CRYPT}%s\n" % make_hash(pws["sha"], "$6$") +
                 "blf@example.test:{BLF-CRYPT}%s\n" % make_hash(pws["blf"], "$2y$", 5))
    t.cli("import", "--create-domains", "dovecot-passwd", path)
    t.start()
    for who, pw in pws.items():
        addr = who + "@example.test"
        qid = t.send_auth(addr, pw, "yes@example.test")
        assert qid, "no queue id for %s" % addr
        with pytest.raises(Exception):
            t.client(login=addr, password=pw + "x").close()


def test_one_run_names_every_conflict_of_an_account(t):
    t.cli("domain", "add", "example.test")
    path = write(t, "users.csv", CSV_HEADER + "Carol.Jones,carol@example.test,{SSHA}abcd,,\n")
    r = refused(t, "csv", path)
    has_conflict(r, path + ":2", "login_pattern")
    has_conflict(r, path + ":2", "{SSHA}", "--allow-no-password")
    r = t.cli("import", "--keep-logins", "--allow-no-password", "csv", path)
    assert counts(r.out, "accounts") == (1, 0, 0), r


def test_postfix_accounts_then_dovecot_hashes(t):
    vmail = write(t, "vmailbox", "example.test  virtual\n"
                  "alice@example.test  example.test/alice/\n")
    r = t.cli("import", "postfix-virtual", vmail)
    assert counts(r.out, "accounts") == (1, 0, 0), r
    passwd = write(t, "passwd", "alice@example.test:{SHA512-CRYPT}%s\n"
                   % make_hash("pw-alice-1", "$6$"))
    r = t.cli("import", "dovecot-passwd", passwd)
    assert counts(r.out, "accounts") == (0, 1, 0), r
    assert "update account 'alice@example.test' alice@example.test (%s:1)" % passwd in r.out, r
    r = t.cli("import", "dovecot-passwd", passwd)
    assert counts(r.out, "accounts") == (0, 0, 1), r
