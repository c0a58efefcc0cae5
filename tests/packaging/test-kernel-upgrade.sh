#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# Updates reach an installed ASIOS machine by `apt upgrade`, in a Debian chroot (mmdebstrap from the host's
# mirror, shared with test-repo.sh) with our signed repository on 127.0.0.1:
#  1. kernel: linux-asios-test of kernel/changelog's version (ABI N, built by tools/kernel-build --deb) is
#     installed; the next version (a changelog entry ABI N+1, the same sources: a patch-only change looks the
#     same to the packages) is built and published; `apt upgrade` installs its image beside the old one, which
#     stays installed, with its initramfs and modules, and is not auto-removable: the fallback in the boot menu.
#  2. base archive: a newer version of a Debian package the machine has (its own .deb, version raised as a
#     security upload would) published in a second signed repository, as the base archive's security suite:
#     `apt upgrade` with our repository enabled installs it (our repository pins nothing over the base).
# Needs root, mmdebstrap, reprepro, gpg. Work folder: ${ASIOS_PACKAGING:-build/packaging}; kernel build folder
# build/kernel (the second version is a relink of the first: only the release string changes).
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
kout=$top/build/kernel
v1=$("$top/tools/kernel-version")
v2=${v1%-*}-$((${v1##*-} + 1))
r1=$("$top/tools/kernel-version" --release test)
r2=${v2}${r1#"$v1"}

# 1. the two kernel versions
kbuild() { # VERSION DEST [env...]: tools/kernel-build --deb of the test flavour into DEST
	local v=$1 dest=$2
	shift 2
	if [ -f "$dest/linux-asios-test_${v}_$arch.deb" ]; then return 0; fi
	step "building linux-asios-test $v"
	env "$@" "$top/tools/kernel-build" --out "$kout" --flavour test --arch "$arch" --deb --deb-dir "$dest" \
		>"$work/kernel-$v.log" 2>&1 || { tail -n 20 "$work/kernel-$v.log" | sed 's/^/#   /'; return 1; }
	grep -E '^  (BUILD|DONE) ' "$work/kernel-$v.log" | sed 's/^/# /'
}
kdir1=$kout/deb/test-$arch
[ -f "$kdir1/linux-asios-test_${v1}_$arch.deb" ] || rm -rf "$kdir1"
check "linux-asios-test $v1 (kernel/changelog) is built" kbuild "$v1" "$kdir1"
# the next version: kernel/changelog with one more entry, nothing else changed
cl=$work/kernel-changelog-next
{
	printf 'linux-asios (%s) %s; urgency=medium\n\n  * Test upload: the next ABI of the same sources.\n\n' "$v2" "$base"
	printf ' -- ASIOS test <test@asios.invalid>  %s\n\n' "$(date -R)"
	cat "$top/kernel/changelog"
} >"$cl"
kdir2=$work/kernel-next
rm -rf "$kdir2"
check "linux-asios-test $v2 (one more changelog entry) is built" kbuild "$v2" "$kdir2" KERNEL_CHANGELOG="$cl"
# the build folder goes back to kernel/changelog's version for the boot tests (a relink)
"$top/tools/kernel-build" --out "$kout" --flavour test --arch "$arch" >"$work/kernel-back.log" 2>&1 ||
	echo "# the rebuild at $v1 failed: $work/kernel-back.log"
for v in "$v1:$r1:$kdir1" "$v2:$r2:$kdir2"; do
	IFS=: read -r ver rel dir <<<"$v"
	check_eq "linux-asios-test $ver depends on exactly its image, kmod and an initramfs tool" \
		"linux-image-$rel (= $ver), kmod, initramfs-tools | linux-initramfs-tool" \
		"$(dpkg-deb -f "$dir/linux-asios-test_${ver}_$arch.deb" Depends 2>/dev/null)"
	check "linux-image-$rel $ver is there" test -f "$dir/linux-image-${rel}_${ver}_$arch.deb"
done
check "the metapackage is lintian clean (errors and warnings)" sh -c \
	"lintian --fail-on error,warning '$kdir1/linux-asios-test_${v1}_$arch.deb' >'$work/lintian-meta.log' 2>&1"
sed 's/^/#   /' "$work/lintian-meta.log"
check "its changelog is kernel/changelog" sh -c "dpkg-deb --fsys-tarfile '$kdir1/linux-asios-test_${v1}_$arch.deb' |
	tar -xOf - ./usr/share/doc/linux-asios-test/changelog.Debian.gz | gunzip | cmp -s - '$top/kernel/changelog'"

# the chroot (the minbase system of test-repo.sh)
repos=$work/krepos
chroot_start "$work/kroot" "$repos" || { echo "not ok $((_n + 1)) - the chroot (mmdebstrap)"; exit 1; }
# shellcheck disable=SC2016 # dpkg-query's format
status() { inroot dpkg-query -W -f='${Version} ${db:Status-Abbrev}' "$1" 2>/dev/null; }
export GNUPGHOME=$repos/gnupg
"$top/tools/repo-key" "ASIOS test key" >/dev/null
GNUPGHOME=$repos/gnupg-base "$top/tools/repo-key" "Base archive test key" >/dev/null
"$top/tools/repo-publish" --repo "$repos/asios" --codename "$SUITE" "$kdir1/linux-image-${r1}_${v1}_$arch.deb" \
	"$kdir1/linux-asios-test_${v1}_$arch.deb" >/dev/null
serve "$repos" "$work/khttp.log"
check "our repositories are served on 127.0.0.1" test -n "$port"
install -D -m 0644 "$repos/asios/asios-archive-keyring.gpg" "$root/usr/share/keyrings/asios-archive-keyring.gpg"
cat >"$root/etc/apt/sources.list.d/asios.sources" <<SRC
Types: deb
URIs: http://127.0.0.1:$port/asios/
Suites: $SUITE $SUITE-previous
Components: main
Signed-By: /usr/share/keyrings/asios-archive-keyring.gpg
SRC
apt_() { inroot apt-get -q -y "$@"; }

step "1. the kernel: install $v1, publish $v2, apt upgrade"
check "apt-get update (our repository and the base's mirror)" apt_ update --error-on=any
t0=$SECONDS
check "apt-get install linux-asios-test ($v1)" apt_ install linux-asios-test
echo "# install (with initramfs-tools and its initramfs) took $((SECONDS - t0)) s"
check_eq "linux-image-$r1 is installed" "$v1 ii " "$(status "linux-image-$r1")"
# at a first install dpkg may configure the image before initramfs-tools: the metapackage makes it then
check "its initramfs was made" test -s "$root/boot/initrd.img-$r1"
"$top/tools/repo-publish" --repo "$repos/asios" --codename "$SUITE" "$kdir2/linux-image-${r2}_${v2}_$arch.deb" \
	"$kdir2/linux-asios-test_${v2}_$arch.deb" | sed 's/^/# /'
check "apt-get update sees $v2" apt_ update --error-on=any
# `apt upgrade` (the command users type) installs the new dependency; plain apt-get upgrade would hold it back
check "apt upgrade" inroot apt -q -y upgrade
check_eq "linux-asios-test moved to $v2" "$v2 ii " "$(status linux-asios-test)"
check_eq "linux-image-$r2 is installed" "$v2 ii " "$(status "linux-image-$r2")"
check_eq "linux-image-$r1 stays installed (the fallback)" "$v1 ii " "$(status "linux-image-$r1")"
for r in "$r1" "$r2"; do
	check "$r: kernel, initramfs and signed modules (dummy.ko) on disk" sh -c "test -s '$root/boot/vmlinuz-$r' &&
		test -s '$root/boot/initrd.img-$r' && test -f '$root/lib/modules/$r/kernel/drivers/net/dummy.ko' &&
		tail -c 28 '$root/lib/modules/$r/kernel/drivers/net/dummy.ko' | grep -q 'Module signature appended'"
done
check_eq "the new kernel image carries the new release string (file(1) of /boot/vmlinuz-$r2)" "$r2" \
	"$(file -b "$root/boot/vmlinuz-$r2" | sed -n 's/.*version \([^ ]*\) .*/\1/p')"
autoremove=$(inroot apt-get -s autoremove 2>/dev/null | sed -n 's/^Remv \([^ ]*\).*/\1/p' | tr '\n' ' ')
echo "# apt-get -s autoremove would remove: ${autoremove:-nothing}"
check "apt-get autoremove keeps the previous kernel (apt's kernel protection)" \
	bash -c "! grep -qw 'linux-image-$r1' <<<'$autoremove'"

step "2. the base archive: a newer version of one of its packages"
# a package of the base the chroot has: procps, repacked at a higher version, as a security upload would be
pv=$(status procps | cut -d' ' -f1)
newv=${pv}+asiostest1
rm -rf "$work/sec" && mkdir -p "$work/sec"
inroot apt-get -q -y --reinstall --download-only install procps >/dev/null 2>&1
deb=$(find "$root/var/cache/apt/archives" -name 'procps_*.deb' | head -n 1)
check "procps $pv's .deb (from the mirror)" test -n "$deb"
dpkg-deb -R "$deb" "$work/sec/tree"
sed -i "s/^Version: .*/Version: $newv/" "$work/sec/tree/DEBIAN/control"
dpkg-deb --root-owner-group -Zxz -b "$work/sec/tree" "$work/sec/procps_${newv}_$arch.deb" >/dev/null
GNUPGHOME=$repos/gnupg-base "$top/tools/repo-publish" --repo "$repos/base-security" --codename "$SUITE-security" \
	"$work/sec/procps_${newv}_$arch.deb" >/dev/null
install -m 0644 "$repos/base-security/asios-archive-keyring.gpg" "$root/usr/share/keyrings/base-security-test.gpg"
cat >"$root/etc/apt/sources.list.d/base-security.sources" <<SRC
Types: deb
URIs: http://127.0.0.1:$port/base-security/
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/base-security-test.gpg
SRC
check "apt-get update with the base's security suite and ours" apt_ update --error-on=any
check_eq "the newer base package is the candidate with our repository enabled" "$newv" \
	"$(inroot apt-cache policy procps | sed -n 's/^ *Candidate: //p')"
check "apt upgrade" inroot apt -q -y upgrade
check_eq "the newer base package is installed" "$newv ii " "$(status procps)"
check_eq "our kernel stayed at $v2 meanwhile" "$v2 ii " "$(status linux-asios-test)"
echo "# took $((SECONDS - t_start)) s"
done_testing
