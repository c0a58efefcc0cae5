#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# tools/dco-check on a throwaway repository: commits after .dco-cutoff signed off by their author pass; one
# without a sign-off, or signed off by someone else, fails naming it; merges are left out; the cut-off's own
# history is not judged; a cut-off missing from the repository is an error. And this checkout passes.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
r=$tmp/repo
git init -q -b main "$r"
g() { git -C "$r" -c user.name="A Author" -c user.email=a@example.org "$@"; }
commit() { echo "$1" >>"$r/${F:-f}"; g add "${F:-f}"; g commit -q "${@:2}" -m "$1"; }
commit "before the rule, unsigned"
cutoff=$(g rev-parse HEAD)
printf '# a comment\n%s\n' "$cutoff" >"$r/.dco-cutoff"
g add .dco-cutoff
g commit -q -s -m "the rule"
commit "signed" -s
dco() { DCO_REPO=$r "$top/tools/dco-check" "$@"; }
check "every commit after the cut-off signed off: passes (older unsigned ones are not judged)" dco
g checkout -q -b side
F=g commit "on a branch" -s
g checkout -q main
commit "main again" -s
g merge -q --no-ff --no-edit side
check_eq "the merge is made (a commit with two parents)" 2 "$(g log -1 --format=%p | wc -w)"
check "a merge commit without a sign-off is left out" dco
commit "not signed"
check_fail "a commit without Signed-off-by fails, named" 'not signed: no "Signed-off-by: A Author <a@example.org>"' dco
g reset -q --hard HEAD~1
echo x >>"$r/f"
g add f
g commit -q -m "$(printf 'signed by another\n\nSigned-off-by: B Other <b@example.org>')"
check_fail "a sign-off by someone else than the author fails" 'signed by another' dco
g reset -q --hard HEAD~1
check "back to signed commits: passes" dco
printf '%s\n' 0123456789abcdef0123456789abcdef01234567 >"$r/.dco-cutoff"
check_fail "a cut-off that is not in the repository is an error" 'is not in this repository' dco
check "this checkout: every commit after its .dco-cutoff is signed off" "$top/tools/dco-check"
done_testing
