"""
Fixtures for the integration tests.

  tern_factory   function scope: make(**settings) -> a configured Tern (not
                 started) in a fresh temporary directory; every one is
                 stopped and removed at teardown.
  srv            module scope: one started server per test module, with the
                 module's TERN_SETTINGS (config) and TERN_SETUP (domains,
                 users, aliases: keyword arguments of Tern.setup).

A failing test prints the tail of its server's log; TERN_TEST_KEEP=1 keeps
every temporary directory (state, Maildirs, log) for a look afterwards.  A
sanitizer report in a server's log fails the test that owned the server
(and keeps its directory).
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ternlib  # noqa: E402


def pytest_report_header(config):
    return "tern binary: %s (running as %s)" % (
        ternlib.TERN_BIN, "root" if ternlib.IS_ROOT else "uid %d" % os.getuid())


def pytest_configure(config):
    if not os.access(ternlib.TERN_BIN, os.X_OK):
        raise pytest.UsageError("TERN_BIN %s is not an executable; run make first"
                                % ternlib.TERN_BIN)


def _finish(instances, failed):
    keep = os.environ.get("TERN_TEST_KEEP") == "1"
    problems = []
    for t in instances:
        t.stop()
        reports = t.sanitizer_reports()
        if reports:
            problems.append("sanitizer report in %s:\n%s" % (t.log_path, "\n".join(reports[:20])))
        if failed or reports:
            print("\n" + t.log_tail(60))
            if keep or reports:
                print("kept %s" % t.base)
        t.cleanup(keep=keep or bool(reports))
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture
def tern_factory(request):
    made = []
    failed_before = request.session.testsfailed

    def make(**settings):
        t = ternlib.Tern(**settings)
        made.append(t)
        return t

    yield make
    failed = request.session.testsfailed > failed_before or \
        getattr(request.node, "rep_call_failed", False)
    _finish(made, failed)


@pytest.fixture(scope="module")
def srv(request):
    settings = getattr(request.module, "TERN_SETTINGS", {})
    setup = getattr(request.module, "TERN_SETUP", {})
    failed_before = request.session.testsfailed
    t = ternlib.Tern(**settings)
    try:
        t.setup(**setup)
        t.start()
    except BaseException:
        _finish([t], True)
        raise
    yield t
    _finish([t], request.session.testsfailed > failed_before)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        item.rep_call_failed = True



# ---- no test skips for want of a package --------------------------------
# make test must not pass quietly on a machine that lacks a package: every
# skip is collected here, and one whose reason does not start with
# ternlib.MACHINE (a limit of the machine itself, such as no IPv6 loopback)
# fails the run at its end, with its reason, which names the package.

_skips = []


def _skip_reason(report):
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason


def pytest_runtest_logreport(report):
    if report.skipped:
        _skips.append((report.nodeid, _skip_reason(report)))


def pytest_collectreport(report):
    if report.skipped:
        _skips.append((report.nodeid, _skip_reason(report)))


def _forbidden_skips():
    return [(n, r) for n, r in _skips if not r.startswith(ternlib.MACHINE)]


def pytest_terminal_summary(terminalreporter):
    bad = _forbidden_skips()
    if bad:
        terminalreporter.section("skipped for want of a package (run scripts/deps.sh)")
        for nodeid, reason in bad:
            terminalreporter.write_line("%s: %s" % (nodeid, reason))


def pytest_sessionfinish(session):
    if _forbidden_skips() and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
