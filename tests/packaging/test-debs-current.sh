#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# tools/debs-current: the image, ISO and repository tests reuse their .debs only when no source file changed
# after them. Run on a throwaway git repository holding a copy of the tool, with file times set by hand.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/lib.sh
. "$top/tests/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
repo=$work/repo
mkdir -p "$repo/tools" "$repo/packages" "$repo/build/debs"
cp "$top/tools/debs-current" "$repo/tools/"
cd "$repo" || exit 1
git init -q . && printf 'ignored.txt\n' >.gitignore
echo 'int main(void) { return 0; }' >packages/a.c
git add -A && git -c user.name=t -c user.email=t@t commit -qm source
changes=build/debs/asios_1.0_amd64.changes
set_time() { touch -d "@$1" "${@:2}"; }
check_fail "no .changes: build" '^$' tools/debs-current "$changes"
echo built >"$changes"
set_time 1000 .gitignore packages/a.c tools/debs-current packages tools
set_time 2000 "$changes"
check "a .changes newer than every source file: reused" tools/debs-current "$changes"
set_time 3000 packages/a.c
check_fail "a tracked file changed after it: build, the file named" 'packages/a.c changed after asios_1.0_amd64.changes' \
	tools/debs-current "$changes"
set_time 1000 packages/a.c
echo new >packages/b.c && set_time 3000 packages/b.c
check_fail "a new file git does not ignore: build" 'packages/b.c changed after' tools/debs-current "$changes"
rm packages/b.c && set_time 1000 packages
echo x >ignored.txt && echo y >build/log && set_time 3000 ignored.txt build/log
check "a newer ignored file and a newer file under build/: reused" tools/debs-current "$changes"
echo 'int f;' >packages/c.c && git add packages/c.c && set_time 1000 packages/c.c packages
check "the same, with a file added before it was built" tools/debs-current "$changes"
git rm -q packages/a.c
check_fail "a source file removed after it (its folder changed): build" 'packages changed after' tools/debs-current "$changes"
done_testing
