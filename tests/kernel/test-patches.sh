#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# The kernel patch series: quilt layout, DEP-3 headers, applies without fuzz to the pinned source,
# and every patch passes the kernel's scripts/checkpatch.pl.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
kout=build/kernel
series=patches/series
. kernel/source.conf
src=$kout/src/linux-$KERNEL_VERSION

check "series exists with an SPDX header" grep -q 'SPDX-License-Identifier: GPL-2.0-only' "$series"
mapfile -t patches < <(sed -e 's/#.*//' -e 's/[[:space:]].*//' -e '/^$/d' "$series")
check "series has comment headings before its patches" \
	awk '/^[^#[:space:]]/ && !seen { exit 1 } /^# [A-Za-z]/ && NR > 2 { seen = 1 }' "$series"
strays=$(cd patches && find . -type f ! -name series | sed 's#^\./##' | sort)
check_eq "every file in patches/ is in the series" "$(printf '%s\n' "${patches[@]}" | sort)" "$strays"

if ! tools/kernel-source --out "$kout" >"$kout.patches-source.log" 2>&1; then
	sed 's/^/# /' "$kout.patches-source.log"
fi
check "pinned kernel source unpacked" test -x "$src/scripts/checkpatch.pl"

for p in "${patches[@]}"; do
	f=patches/$p
	check "$p: exists" test -f "$f"
	check "$p: in a topic folder, no number in the name" bash -c "[[ '$p' == */* ]] && ! [[ '$(basename "$p")' =~ ^[0-9] ]]"
	check "$p: SPDX header" grep -q '^SPDX-License-Identifier: GPL-2.0-only' "$f"
	for h in Description Origin Forwarded Last-Update; do
		check "$p: DEP-3 $h" grep -qE "^$h: ." "$f"
	done
	check "$p: Signed-off-by" grep -qE '^Signed-off-by: .+ <.+@.+>' "$f"
	out=$(perl "$src/scripts/checkpatch.pl" --no-tree --show-types --ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES "$f" 2>&1)
	rc=$?
	if [ $rc = 0 ] && ! printf '%s\n' "$out" | grep -qE '^(WARNING|ERROR|CHECK)'; then
		_report 0 "$p: checkpatch clean"
	else
		_report 1 "$p: checkpatch clean"
		printf '%s\n' "$out" | grep -E -A4 '^(WARNING|ERROR)' | head -n 30 | sed 's/^/#   /'
	fi
done

out=$(tools/patch-rebase-check "$src" 2>&1)
rc=$?
check_eq "series applies to linux $KERNEL_VERSION without fuzz" 0 "$rc"
[ $rc = 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
# and with quilt itself, as the build does (tools/kernel-source), on a scratch copy of the touched files
quilt_apply() {
	local w f here
	w=$(mktemp -d)
	here=$(pwd)
	while read -r f; do
		[ ! -f "$src/$f" ] || { mkdir -p "$w/$(dirname "$f")"; cp "$src/$f" "$w/$f"; }
	done < <(sed -n 's#^+++ b/\([^[:space:]]*\).*#\1#p' "${patches[@]/#/patches/}" | sort -u)
	(cd "$w" && QUILT_PATCHES="$here/patches" quilt push -a -q --fuzz=0 >/dev/null)
	local rc=$?
	rm -rf "$w"
	return $rc
}
if [ ${#patches[@]} -gt 0 ]; then check "quilt push -a --fuzz=0" quilt_apply; fi
done_testing
