# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Shared helpers of the Python tests: paths, TAP output, golden files. Import after
`sys.path.insert(0, <tests folder>)`."""
import difflib
import os

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("ASIOS_SHARED") or os.path.join(TOP, "..", "shared")
BUILD = os.path.join(TOP, os.environ.get("ASIOS_BUILD", "build"))
ASIOSCTL = os.path.join(BUILD, "asiosctl")
FIXTURES = os.path.join(TOP, "tests", "fixtures")
GOLDEN = os.path.join(TOP, "tests", "golden")
REGEN = os.environ.get("ASIOS_REGEN") == "1"

_count = {"n": 0, "failed": 0}


def check(ok, name, detail=""):
    """One TAP line; on failure the detail follows as comments."""
    _count["n"] += 1
    print(("ok %d - %s" if ok else "not ok %d - %s") % (_count["n"], name))
    if not ok:
        _count["failed"] += 1
        for line in str(detail).splitlines()[:60]:
            print("#   " + line)


def eq(name, expected, actual):
    check(expected == actual, name, "expected %r, got %r" % (expected, actual))


def golden(name, text):
    """Compare TEXT with tests/golden/NAME; ASIOS_REGEN=1 (or a missing file) rewrites it."""
    path = os.path.join(GOLDEN, name)
    if REGEN or not os.path.exists(path):
        with open(path, "w") as f:
            f.write(text)
    want = open(path).read()
    diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True), path, "actual"))
    check(not diff, "golden %s" % name, diff + "\n(ASIOS_REGEN=1 rewrites goldens)")


def need(path):
    """Bail out (TAP) when a program under test is not built."""
    if not os.access(path, os.X_OK):
        print("Bail out! %s not built" % path)
        return False
    return True


def done():
    print("1..%d" % _count["n"])
    return 1 if _count["failed"] else 0
