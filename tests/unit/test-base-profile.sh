#!/bin/sh
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# tools/base-profile: both apt source formats, architecture restrictions, overrides, errors.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
bp="$top/tools/base-profile"
data="$top/tests/unit/data/apt"
unset MIRROR SECURITY_MIRROR PORTS_MIRROR
val() { sed -n "s/^$1=//p"; }

out=$("$bp" --apt-dir "$data/deb822" --arch amd64 bookworm 2>/dev/null)
check_eq "deb822: mirror of bookworm" "http://mirror.example.org/debian" "$(echo "$out" | val MIRROR)"
check_eq "deb822: security mirror (disabled stanza skipped, folded Suites read)" \
	"http://security.example.org/debian-security" "$(echo "$out" | val SECURITY_MIRROR)"
check_eq "deb822: profile keys pass through" "debian-archive-keyring" "$(echo "$out" | val KEYRING_PACKAGE)"
check_eq "deb822: kernel source package" "linux-source-6.12" "$(echo "$out" | val KERNEL_SOURCE_PACKAGE)"

out=$("$bp" --apt-dir "$data/oneline" --arch arm64 bookworm 2>/dev/null)
check_eq "one-line: mirror with [arch= signed-by=] options" "http://one.example.org/debian" "$(echo "$out" | val MIRROR)"
check_eq "one-line: security mirror, trailing comment and slash dropped" \
	"http://one.example.org/debian-security" "$(echo "$out" | val SECURITY_MIRROR)"
check_eq "one-line: ARCH echoed" "arm64" "$(echo "$out" | val ARCH)"
out=$("$bp" --apt-dir "$data/oneline" --arch riscv64 bookworm 2>/dev/null)
check_eq "one-line: [arch=] entry skipped for riscv64, unrestricted one used" \
	"http://upd.example.org/debian" "$(echo "$out" | val MIRROR)"

out=$("$bp" --apt-dir "$data/ubuntu" --arch amd64 noble 2>/dev/null)
check_eq "ubuntu amd64: main archive" "http://archive.example.net/ubuntu" "$(echo "$out" | val MIRROR)"
check_eq "ubuntu amd64: security archive" "http://security.example.net/ubuntu" "$(echo "$out" | val SECURITY_MIRROR)"
out=$("$bp" --apt-dir "$data/ubuntu" --arch arm64 noble 2>/dev/null)
check_eq "ubuntu arm64: ports archive by Architectures" "http://ports.example.net/ubuntu-ports" "$(echo "$out" | val MIRROR)"
check_eq "ubuntu arm64: ports security" "http://ports.example.net/ubuntu-ports" "$(echo "$out" | val SECURITY_MIRROR)"
check_eq "ubuntu: bootstrapper for noble" "mmdebstrap" "$(echo "$out" | val BOOTSTRAP)"

# a bookworm host builds trixie images: its Debian mirror and its security mirror (by the keyring) serve trixie too
out=$("$bp" --apt-dir "$data/deb822" --arch amd64 trixie 2>/dev/null)
check_eq "trixie on a bookworm host: the Debian mirror" "http://mirror.example.org/debian" "$(echo "$out" | val MIRROR)"
check_eq "trixie on a bookworm host: the security mirror of bookworm-security" \
	"http://security.example.org/debian-security" "$(echo "$out" | val SECURITY_MIRROR)"
check_eq "trixie: its security suite" "trixie-security" "$(echo "$out" | val SECURITY_SUITE)"
check_fail "debian host cannot serve noble without MIRROR=" "set MIRROR=" "$bp" --apt-dir "$data/deb822" --arch amd64 noble
check_fail "no apt configuration at all" "no apt source" "$bp" --apt-dir "$data/empty" --arch amd64 bookworm
out=$(MIRROR=http://override.example.org/debian/ "$bp" --apt-dir "$data/empty" --arch amd64 bookworm 2>/dev/null)
check_eq "MIRROR= overrides the host" "http://override.example.org/debian" "$(echo "$out" | val MIRROR)"
check_eq "MIRROR= is reported as the source" "environment" "$(echo "$out" | val MIRROR_SOURCE)"
check_fail "unknown base is refused" "unknown base 'sid'" "$bp" --apt-dir "$data/deb822" sid

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf 'NAME=broken\nthis is not valid\n' >"$tmp/broken.conf"
check_fail "broken profile names file and line" "broken.conf:2: not a KEY=value" "$bp" --profiles "$tmp" broken
printf 'NAME=half\nDISTRO=debian\n' >"$tmp/half.conf"
check_fail "missing required key is named" "required key SUITE" "$bp" --profiles "$tmp" half
for b in "$top"/config/bases/*.conf; do
	b=$(basename "$b" .conf)
	check "shipped profile $b parses" env MIRROR=http://m.example.org/x "$bp" --apt-dir "$data/ubuntu" --arch amd64 "$b"
done 2>/dev/null
done_testing
