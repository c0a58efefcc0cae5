#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# tools/kernel-version: the kernel's version comes from kernel/changelog alone, and a change of the kernel's inputs
# (a patch, a fragment, source.conf) fails `make lint` until a changelog entry bumps the ABI. Run on a copy of
# the inputs, so the tree stays as it is.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tools" "$tmp/debian"
cp "$top/tools/kernel-version" "$tmp/tools/"
cp -r "$top/kernel" "$top/patches" "$tmp/"
mkdir -p "$tmp/config" && cp -r "$top/config/kernel" "$tmp/config/"
cp "$top/debian/control" "$tmp/debian/"
kv() { "$tmp/tools/kernel-version" "$@"; }
v=$(kv) abi=$(kv --abi)
kver=$(sed -n 's/^KERNEL_VERSION=//p' "$top/kernel/source.conf")

check "the tree's kernel inputs are those of kernel/changelog's top entry ($v)" "$top/tools/kernel-version" --check
check_eq "the version is KERNEL_VERSION-ABI" "$kver-$abi" "$v"
check_eq "the release string of a flavour" "$kver-$abi-asios-virt" "$(kv --release virt)"
patch=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$tmp/patches/series" | head -n 1)
echo "# a comment line" >>"$tmp/patches/$patch"
check_fail "a patch-only change fails the check and asks for --bump" "kernel-version --bump" kv --check
check_eq "the version stays until then" "$v" "$(kv)"
check "--bump adds an entry" kv --bump "sched: the next fix (test)"
check_eq "the new version is the next ABI" "$kver-$((abi + 1))" "$(kv)"
check_eq "the entry is a Debian changelog entry with the message" "  * sched: the next fix (test)" \
	"$(dpkg-parsechangelog -l "$tmp/kernel/changelog" -SChanges | sed -n 4p)"
check "after the bump the check passes" kv --check
check_eq "the release string follows" "$kver-$((abi + 1))-asios-generic" "$(kv --release generic)"
echo "CONFIG_FOO=y" >>"$tmp/config/kernel/flavour/virt.config"
check_fail "a fragment change fails the check too" "inputs changed" kv --check
sed -i '$d' "$tmp/config/kernel/flavour/virt.config"
check "put back, it passes again" kv --check
cp "$tmp/kernel/changelog" "$tmp/changelog.good"
sed -i "1s/($kver-[0-9]*)/($kver-x1)/" "$tmp/kernel/changelog"
check_fail "a revision that is not a number is refused, naming the file and line" "kernel/changelog:1: the revision .* must be a number" kv
sed -i "1s/($kver-x1)/(6.12.1-1)/" "$tmp/kernel/changelog"
check_fail "a version for another KERNEL_VERSION is refused" "not for KERNEL_VERSION=$kver" kv
cp "$tmp/changelog.good" "$tmp/kernel/changelog"
echo "$v 0000" >"$tmp/kernel/version.lock"
check_fail "a lock for another version is refused" "names $v, kernel/changelog's top entry is $kver-$((abi + 1))" kv --check
done_testing
