#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# Build the `test` flavour kernel for ARCH and boot it under qemu (TCG) with the in-guest checks.
#   tests/vm/boot.sh [--compare-unpatched] [--no-build] ARCH
# --compare-unpatched also builds the kernel without patches/series and prints both tick counts.
# Console logs: ${O:-build}/kernel/boot/<arch>[-unpatched].log. Exit 0 when the boot passed.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
compare=0 build=1
while [ $# -gt 1 ]; do
	case $1 in
	--compare-unpatched) compare=1; shift ;;
	--no-build) build=0; shift ;;
	*) break ;;
	esac
done
arch=${1:?usage: tests/vm/boot.sh [--compare-unpatched] [--no-build] ARCH}
kout=${O:-build}/kernel
# shellcheck source=tools/kernel-arch
. tools/kernel-arch
kernel_arch "$arch"
# the host's busybox runs in a native guest; cross guests get the static C checker
initargs=()
if [ "$arch" != "$(dpkg --print-architecture)" ]; then
	mkdir -p "$kout/checker/$arch"
	"${KCROSS}gcc" -static -O2 -o "$kout/checker/$arch/init" tests/vm/guest-check.c
	initargs=(--init "$kout/checker/$arch/init")
fi

boot() { # boot VARIANT(""|-unpatched)
	local v=$1 obj img rel
	obj=$kout/obj/test-$arch
	img=$obj/$KIMAGE rel=$obj/include/config/kernel.release
	if [ -n "$v" ]; then img=$obj/unpatched/${KIMAGE##*/} rel=$obj/unpatched/kernel.release; fi
	if [ "$build" = 1 ]; then
		if [ -n "$v" ]; then
			tools/kernel-build --out "$kout" --flavour test --arch "$arch" --unpatched
		else
			tools/kernel-build --out "$kout" --flavour test --arch "$arch"
		fi
	fi
	tools/qemu-boot --arch "$arch" --kernel "$img" --release "$(cat "$rel")" \
		"${initargs[@]}" --timeout 900 --log "$kout/boot/$arch$v.log"
}
rc=0
boot "" || rc=1
if [ "$compare" = 1 ]; then
	boot -unpatched || true
	echo "tick counts on nohz_full CPU 1 over 10 s (LOC interrupts), with / without patches/series:"
	for w in busy osnoise osnoise1; do
		a=$(sed -n "s/^ASIOS: value ticks_$w \([0-9]*\).*/\1/p" "$kout/boot/$arch.log" | tr -d '\r')
		b=$(sed -n "s/^ASIOS: value ticks_$w \([0-9]*\).*/\1/p" "$kout/boot/$arch-unpatched.log" | tr -d '\r')
		printf '  %-10s %6s / %s\n' "$w" "${a:-?}" "${b:-?}"
	done
fi
exit $rc
