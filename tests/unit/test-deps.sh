#!/bin/sh
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# tools/deps.sh: nothing to do when everything is installed, only the missing packages named, a clear refusal
# without root.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
printf '# a list\ncoreutils\n\ndpkg  # inline comment\n' >"$tmp/present.list"
printf 'coreutils\nasios-no-such-package-xyz\n' >"$tmp/missing.list"

out=$("$top/tools/deps.sh" "$tmp/present.list")
check "all installed: exit 0" test $? = 0
check_eq "all installed: says so" "deps: all 2 build dependencies are installed" "$out"
arch=$(dpkg --print-architecture)
printf 'coreutils:%s\n' "$arch" >"$tmp/qualified.list"
out=$("$top/tools/deps.sh" --check "$tmp/qualified.list")
check_eq "a name with this machine's architecture: installed" "deps: all 1 build dependencies are installed" "$out"
out=$("$top/tools/deps.sh" --check --foreign-arch asios-no-such-arch "$tmp/present.list" 2>&1)
check "--check with an architecture dpkg lacks: exit 1" test $? = 1
check_eq "--check names the missing architecture" "deps: dpkg has no asios-no-such-arch architecture" "$out"
out=$("$top/tools/deps.sh" --check "$tmp/missing.list" 2>&1)
check "--check with a missing package: exit 1" test $? = 1
check_eq "--check names only the missing one" "deps: missing: asios-no-such-package-xyz" "$out"
if command -v setpriv >/dev/null; then
	cp "$top/tools/deps.sh" "$tmp/" && chmod 755 "$tmp/deps.sh"
	check_fail "not root and something missing: refused with the command to run" \
		"installing packages needs root; run: sudo apt-get install asios-no-such-package-xyz" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$tmp/deps.sh" "$tmp/missing.list"
fi
check "the project's own lists parse" "$top/tools/deps.sh" --check
done_testing
