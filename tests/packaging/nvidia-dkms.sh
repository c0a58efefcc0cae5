#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# `make check-nvidia-dkms` (not in `make check`: it compiles NVIDIA's driver, minutes on two cores): the archive's
# NVIDIA driver (nvidia-kernel-dkms, non-free) built by DKMS against our kernel's headers package in a Debian
# chroot, the way a GPU instance gets its driver; the module's vermagic must be our kernel's release.
#   KFLAVOUR=virt (default; test when virt is not built) NVIDIA_SUITE=bookworm (or bookworm-backports)
# Needs root and the headers .deb of tools/kernel-build --deb (build/kernel/deb/<flavour>-<arch>/).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
# shellcheck source=tests/packaging/chroot.sh
. "$top/tests/packaging/chroot.sh"
work=${ASIOS_PACKAGING:-$top/build/packaging}
base=${BASE:-bookworm}
chroot_prepare
arch=$(dpkg --print-architecture)
eval "$("$top/tools/base-profile" "$base" | grep -E '^(MIRROR|SUITE)=')"
kv=$("$top/tools/kernel-version")
flavour=${KFLAVOUR:-}
if [ -z "$flavour" ]; then
	flavour=virt
	[ -f "$top/build/kernel/deb/virt-$arch/linux-asios-virt_${kv}_$arch.deb" ] || flavour="test"
fi
rel=$("$top/tools/kernel-version" --release "$flavour")
hdeb=$top/build/kernel/deb/$flavour-$arch/linux-headers-${rel}_${kv}_$arch.deb
if [ ! -f "$hdeb" ]; then echo "1..0 # SKIP no $hdeb (make kernel FLAVOUR=$flavour)"; exit 0; fi
echo "# headers: ${hdeb#"$top"/}"
chroot_start "$work/nvroot" "$work/nvrepos" || { echo "not ok 1 - the chroot (mmdebstrap)"; exit 1; }
suite=${NVIDIA_SUITE:-$SUITE}
cat >"$root/etc/apt/sources.list.d/nonfree.sources" <<SRC
Types: deb
URIs: $MIRROR
Suites: $suite
Components: main contrib non-free non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt_() { inroot apt-get -q -y --no-install-recommends "$@"; }
check "apt-get update with contrib and non-free ($suite)" apt_ update
cp "$hdeb" "$root/tmp/"
step "installing our headers and the build tools"
check "our headers package installs (linux-headers-$rel)" apt_ install "/tmp/${hdeb##*/}" gcc make dkms
nv=$(inroot apt-cache policy nvidia-kernel-dkms | sed -n 's/^ *Candidate: //p')
echo "# nvidia-kernel-dkms candidate in $suite: ${nv:-none}"
step "installing nvidia-kernel-dkms $nv (DKMS builds it for the kernels whose headers are installed)"
t0=$SECONDS
inroot apt-get -q -y --no-install-recommends install nvidia-kernel-dkms >"$work/nvidia-install.log" 2>&1
echo "# install took $((SECONDS - t0)) s"
mod=$(inroot dkms status 2>/dev/null | sed -n 's/^\([^/,]*\)[/,] *\([^,:]*\).*/\1\/\2/p' | grep -m1 nvidia)
echo "# dkms status: $(inroot dkms status 2>&1 | tr '\n' ';')"
t0=$SECONDS
check "dkms builds ${mod:-nvidia} for $rel" sh -c "$(declare -f inroot); root='$root';
	inroot dkms build '${mod:-nvidia-current/$nv}' -k '$rel' >'$work/nvidia-dkms.log' 2>&1"
echo "# dkms build took $((SECONDS - t0)) s (its output: ${work#"$top"/}/nvidia-dkms.log, make.log: nvidia-make.log)"
# the compiler's log, kept out of the chroot (removed at exit): its errors are the answer when it fails
log=$(find "$root/var/lib/dkms" -name make.log 2>/dev/null | head -n 1)
if [ -n "$log" ]; then
	cp "$log" "$work/nvidia-make.log"
	grep -E 'error:|Error [0-9]|conftest.*failed' "$log" | head -n 25 | sed 's/^/#   /'
fi
ko=$(find "$root/var/lib/dkms" -path "*/$rel/*" -name 'nvidia*.ko*' 2>/dev/null | grep -m1 '/nvidia\(-current\)\?\.ko')
check "the nvidia module is built" test -n "$ko"
check_eq "its vermagic names our kernel" "$rel" "$( [ -n "$ko" ] && modinfo -F vermagic "$ko" | cut -d' ' -f1)"
echo "# modules: $(find "$root/var/lib/dkms" -path "*/$rel/*" -name '*.ko*' -printf '%f ' 2>/dev/null)"
done_testing
