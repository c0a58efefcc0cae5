#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# The module signature test's modules: build tests/vm/module/ (asios_sigtest.ko) against a kernel build folder
# and keep three copies for the guest:
#   asios_sigtest-signed.ko    signed with the build folder's own key (certs/signing_key.pem, sha512)
#   asios_sigtest-unsigned.ko  as built (external modules are signed at install time, so: unsigned)
#   asios_sigtest-foreign.ko   signed with a throwaway key made here with openssl (not trusted by the kernel)
#   tests/vm/sigtest.sh --src TREE --obj BUILD_FOLDER --out DIR [--arch amd64]
# Runs the kernel's `make modules` first when the build folder has no Module.symvers (an image-only build):
# external modules link against it; with no in-tree modules (the test flavour) that is quick.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
src="" obj="" dest="" arch=amd64
while [ $# -gt 0 ]; do
	case $1 in
	--src) src=$2; shift 2 ;;
	--obj) obj=$2; shift 2 ;;
	--out) dest=$2; shift 2 ;;
	--arch) arch=$2; shift 2 ;;
	*) echo "sigtest: unknown argument: $1" >&2; exit 2 ;;
	esac
done
if [ -z "$src" ] || [ -z "$obj" ] || [ -z "$dest" ]; then echo "sigtest: --src, --obj and --out are required" >&2; exit 2; fi
# shellcheck source=tools/kernel-arch
. "$top/tools/kernel-arch"
kernel_arch "$arch"
src=$(cd "$src" && pwd) obj=$(cd "$obj" && pwd)
grep -qx 'CONFIG_MODULE_SIG=y' "$obj/.config" || { echo "sigtest: $obj has no CONFIG_MODULE_SIG" >&2; exit 1; }
for f in certs/signing_key.pem certs/signing_key.x509 scripts/sign-file; do
	[ -e "$obj/$f" ] || { echo "sigtest: $obj/$f is missing (build the kernel first)" >&2; exit 1; }
done
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

# the same compiler and cache as tools/kernel-build, so kbuild sees the same CC
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/asios/ccache}
export CCACHE_BASEDIR=${obj%/obj/*} CCACHE_NOHASHDIR=1
export KBUILD_BUILD_USER=asios KBUILD_BUILD_HOST=asios
kmake=(make -s -C "$src" O="$obj" ARCH="$KARCH" CROSS_COMPILE="$KCROSS" CC="ccache ${KCROSS}gcc" -j"$(nproc)")
if [ ! -f "$obj/Module.symvers" ] || [ "$obj/vmlinux" -nt "$obj/Module.symvers" ]; then
	"${kmake[@]}" modules
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$top/tests/vm/module/asios_sigtest.c" "$top/tests/vm/module/Kbuild" "$work/"
"${kmake[@]}" M="$work" modules
ko=$work/asios_sigtest.ko
hash=$(sed -n 's/^CONFIG_MODULE_SIG_HASH="\(.*\)"$/\1/p' "$obj/.config")

cp "$ko" "$dest/asios_sigtest-unsigned.ko"
cp "$ko" "$dest/asios_sigtest-signed.ko"
"$obj/scripts/sign-file" "$hash" "$obj/certs/signing_key.pem" "$obj/certs/signing_key.x509" "$dest/asios_sigtest-signed.ko"
openssl req -new -x509 -newkey rsa:2048 -nodes -days 1 -batch -subj "/CN=ASIOS sigtest foreign key/" \
	-keyout "$work/foreign.pem" -out "$work/foreign.pem" 2>/dev/null
cp "$ko" "$dest/asios_sigtest-foreign.ko"
"$obj/scripts/sign-file" "$hash" "$work/foreign.pem" "$work/foreign.pem" "$dest/asios_sigtest-foreign.ko"
# a signed module ends in the marker "~Module signature appended~\n"
for k in signed foreign; do
	tail -c 28 "$dest/asios_sigtest-$k.ko" | grep -q 'Module signature appended' || { echo "sigtest: $k copy not signed" >&2; exit 1; }
done
! tail -c 28 "$dest/asios_sigtest-unsigned.ko" | grep -q 'Module signature appended' || { echo "sigtest: unsigned copy is signed" >&2; exit 1; }
for k in "$dest"/asios_sigtest-*.ko; do echo "  $k ($(stat -c %s "$k") bytes)"; done
