#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# The test harness itself can fail: in a scratch copy of tests/run-tests and tests/taplib.py, a skipped check
# counts as skipped (not passed), cmocka's "not ok N # SKIP" too (not failed), a program that skips itself whole
# counts as skipped, a missing golden file fails (and is not written), ASIOS_REGEN=1 writes it, and a suite of
# nothing but skips does not make the run pass; tests run side by side (JOBS) are counted as when run in a row. TAP.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0
ok() { # COND-EXIT NAME DETAIL
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); printf '%s\n' "$3" | sed 's/^/#   /'; fi
}
mkdir -p "$tmp/tests/x" "$tmp/tests/golden"
cp "$top/tests/run-tests" "$top/tests/taplib.py" "$tmp/tests/"
cat >"$tmp/tests/x/test-skips.py" <<'PY'
#!/usr/bin/env python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import check, done, skip
check(True, "a real check")
skip("a root-only check", "needs root")
sys.exit(done())
PY
printf '#!/bin/sh\necho "1..0 # SKIP nothing to test here"\n' >"$tmp/tests/x/test-whole.sh"
cat >"$tmp/tests/x/test-golden.py" <<'PY'
#!/usr/bin/env python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import done, golden
golden("absent.txt", "some output\n")
sys.exit(done())
PY
# cmocka (1.1) writes a skipped test "not ok N # SKIP name"
printf '#!/bin/sh\necho 1..2\necho "ok 1 - test_a"\necho "not ok 2 # SKIP test_b"\n' >"$tmp/tests/x/test-cmocka.sh"
chmod +x "$tmp"/tests/x/*
out=$(cd "$tmp" && O=out tests/run-tests x/test-skips 2>&1)
rc=$?
ok "$([[ $out == *"check: 1 passed, 0 failed, 1 skipped"* ]] && [ $rc = 0 ]; echo $?)" \
	"a skipped check is counted as skipped, not passed" "$out"
ok "$([[ $out == *"x/test-skips.py: a root-only check # SKIP needs root"* ]] || [[ $out == *"needs root"* ]]; echo $?)" \
	"the skipped check is listed with its reason" "$out"
out=$(cd "$tmp" && O=out tests/run-tests x/test-whole 2>&1)
rc=$?
ok "$([[ $out == *"check: 0 passed, 0 failed, 1 skipped"* ]] && [ $rc != 0 ]; echo $?)" \
	"a program that skips itself whole is one skip, and a run of only skips does not pass" "$out"
out=$(cd "$tmp" && O=out tests/run-tests x/test-cmocka 2>&1)
rc=$?
ok "$([[ $out == *"check: 1 passed, 0 failed, 1 skipped"* ]] && [[ $out == *"x/test-cmocka.sh: SKIP test_b"* ]] && [ $rc = 0 ]; echo $?)" \
	"cmocka's skipped test (a not-ok line with the SKIP directive) is counted as skipped, not failed" "$out"
out=$(cd "$tmp" && O=out tests/run-tests x/test-golden 2>&1)
rc=$?
ok "$([[ $out == *"1 failed"* ]] && [ $rc != 0 ] && [ ! -e "$tmp/tests/golden/absent.txt" ]; echo $?)" \
	"a missing golden file fails and is not written" "$out"
out=$(cd "$tmp" && ASIOS_REGEN=1 O=out tests/run-tests x/test-golden 2>&1)
ok "$([ -s "$tmp/tests/golden/absent.txt" ]; echo $?)" "ASIOS_REGEN=1 writes the golden file" "$out"
out=$(cd "$tmp" && O=out tests/run-tests x/test-golden 2>&1)
ok "$([[ $out == *"check: 1 passed, 0 failed, 0 skipped"* ]]; echo $?)" "with the golden file in place the check passes" "$out"
# side by side (JOBS): three tests of a parallel suite, each sleeping 2 s, one failing, one that crashes without a
# TAP line; a test of another suite runs after them, alone. Counted as run one by one, and faster than in a row.
mkdir -p "$tmp/tests/p" "$tmp/tests/q"
printf '#!/bin/sh
sleep 2
echo "ok 1 - a"
echo "ok 2 - b"
' >"$tmp/tests/p/test-a.sh"
printf '#!/bin/sh
sleep 2
echo "not ok 1 - c"
' >"$tmp/tests/p/test-b.sh"
printf '#!/bin/sh
sleep 2
exit 3
' >"$tmp/tests/p/test-c.sh"
# (q's test sees whether any p test is still running: their logs' .rc files are all written by then)
printf '#!/bin/sh
ls out/test-logs/p_test-*.rc | wc -l | grep -qx 3 && echo "ok 1 - after"
' >"$tmp/tests/q/test-d.sh"
chmod +x "$tmp"/tests/p/* "$tmp"/tests/q/*
start=$SECONDS
out=$(cd "$tmp" && SUITES="p q" PARALLEL=p JOBS=3 O=out tests/run-tests 2>&1)
rc=$?
secs=$((SECONDS - start))
ok "$([[ $out == *"check: 3 passed, 2 failed, 0 skipped"* ]] && [ $rc != 0 ] && [[ $out == *"failed: "*p/test-b.sh* ]] &&
	[[ $out == *"failed: "*p/test-c.sh* ]]; echo $?)" "tests run side by side (JOBS) are each counted: 3 passed, 2 failed" "$out"
ok "$([ $secs -lt 6 ]; echo $?)" "three 2-second tests side by side take less than 6 s (took $secs s)" "$out"
ok "$([[ $out == *"PASS  q/test-d.sh"* ]]; echo $?)" "a test outside the parallel suites starts after they have all ended" "$out"
out=$(cd "$tmp" && SUITES=p PARALLEL=p JOBS=1 O=out tests/run-tests 2>&1)
ok "$([[ $out == *"check: 2 passed, 2 failed, 0 skipped"* ]]; echo $?)" "JOBS=1 runs them one by one, with the same counts" "$out"
echo "1..$n"
[ "$fails" = 0 ]
