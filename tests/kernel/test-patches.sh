#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# The kernel patch series: quilt layout, DEP-3 headers, applies without fuzz to the pinned source,
# and every patch passes the kernel's scripts/checkpatch.pl.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
# the licence tag of kernel patches and fragments (split so that reuse does not read it as ours)
spdx_gpl="SPDX-License""-Identifier: GPL-2.0-only"
kout=build/kernel
mkdir -p "$kout"
series=patches/series
. kernel/source.conf
src=$kout/src/linux-$KERNEL_VERSION

check "series exists with an SPDX header" grep -q "$spdx_gpl" "$series"
mapfile -t patches < <(sed -e 's/#.*//' -e 's/[[:space:]].*//' -e '/^$/d' "$series")
check "series has comment headings before its patches" \
	awk '/^[^#[:space:]]/ && !seen { exit 1 } /^# [A-Za-z]/ && NR > 2 { seen = 1 }' "$series"
strays=$(cd patches && find . -type f ! -name series | sed 's#^\./##' | sort)
check_eq "every file in patches/ is in the series" "$(printf '%s\n' "${patches[@]}" | sort)" "$strays"

if ! tools/kernel-source --out "$kout" >"$kout/test-patches-source.log" 2>&1; then
	sed 's/^/# /' "$kout/test-patches-source.log"
fi
check "pinned kernel source unpacked" test -x "$src/scripts/checkpatch.pl"

for p in "${patches[@]}"; do
	f=patches/$p
	check "$p: exists" test -f "$f"
	check "$p: in a topic folder, no number in the name" bash -c "[[ '$p' == */* ]] && ! [[ '$(basename "$p")' =~ ^[0-9] ]]"
	check "$p: SPDX header" grep -q "^$spdx_gpl" "$f"
	for h in Description Origin Forwarded Last-Update; do
		check "$p: DEP-3 $h" grep -qE "^$h: ." "$f"
	done
	check "$p: Signed-off-by" grep -qE '^Signed-off-by: .+ <.+@.+>' "$f"
	# GIT_DIR names no repository: checkpatch reads a file that git tracks as source code (--file mode,
	# every line an addition) and only an untracked one as a patch
	out=$(GIT_DIR=/nonexistent perl "$src/scripts/checkpatch.pl" --no-tree --show-types --ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES "$f" 2>&1)
	rc=$?
	if [ $rc = 0 ] && ! printf '%s\n' "$out" | grep -qE '^(WARNING|ERROR|CHECK)'; then
		_report 0 "$p: checkpatch clean"
	else
		_report 1 "$p: checkpatch clean"
		printf '%s\n' "$out" | grep -E -A4 '^(WARNING|ERROR)' | head -n 30 | sed 's/^/#   /'
	fi
done

# against Debian's pristine source (the .deb), per patch and with quilt as the build applies them
deb=$kout/dl/${KERNEL_SOURCE_PKG}_${KERNEL_DEB_VERSION}_all.deb
out=$(tools/patch-rebase-check --quilt "$deb" 2>&1)
rc=$?
check_eq "series applies to linux $KERNEL_VERSION without fuzz" 0 "$rc"
[ $rc = 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
check "quilt push -a --fuzz=0 applies" grep -q 'push -a --fuzz=0 applies' <<<"$out"
# the rebase check reports a patch that does not apply (our already patched tree)
if [ ${#patches[@]} -gt 0 ]; then
	out=$(tools/patch-rebase-check "$src" 2>&1)
	rc=$?
	check_eq "rebase check reports 'fails' with exit 2 on a tree that has the patches" "2 yes" \
		"$rc $(grep -q "fails    ${patches[0]}" <<<"$out" && echo yes)"
fi
done_testing
