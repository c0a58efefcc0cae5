#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# The signed apt repository, end to end, in a Debian 12 chroot (mmdebstrap from the host's mirror):
#  1. a repository that is unsigned, or signed by another key, is refused (apt-get update fails with
#     --error-on=any and nothing from it is installable);
#  2. install asios-server from our repository on 127.0.0.1: units enabled, configs present, and the
#     asios-base defaults take effect (limits through PAM, sshd and ssh key exchange, modprobe, grub, presets);
#  3. publish a higher version: apt-get upgrade moves to it, a locally edited conffile survives and the new
#     default arrives as .dpkg-dist; the previous version stays installable (rollback);
#  4. purge: the chroot's file list is the same as before the install.
# Needs root, mmdebstrap, reprepro, gpg, python3. Work folder: ${ASIOS_PACKAGING:-build/packaging}.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
# shellcheck source=tests/packaging/chroot.sh
. "$top/tests/packaging/chroot.sh"
work=${ASIOS_PACKAGING:-$top/build/packaging}
base=${BASE:-bookworm}
chroot_prepare
version=$(cd "$top" && dpkg-parsechangelog -SVersion)
arch=$(dpkg --print-architecture)
eval "$("$top/tools/base-profile" "$base" | grep -E '^(MIRROR|SUITE)=')"

debs=$work/debs-a
if ! "$top/tools/debs-current" "$debs/asios_${version}_$arch.changes"; then
	step "building the .debs"
	"$top/tools/build-debs" --no-lintian "$debs" >/dev/null || { echo "not ok 1 - .debs build"; exit 1; }
fi

# the chroot: a minbase system with systemd (units, presets), kmod, openssh-server, procps and strace
chroot_start "$work/root" "$work/repos" || { echo "not ok 1 - the chroot (mmdebstrap)"; exit 1; }
# shellcheck disable=SC2016 # dpkg-query's format
pkgver() { inroot dpkg-query -W -f='${Version}' "$1"; }
apt_() { inroot apt-get -q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"; }

# three repositories: signed by our key, signed by another key, unsigned
export GNUPGHOME=$work/repos/gnupg-good
"$top/tools/repo-key" "ASIOS test key" >/dev/null
GNUPGHOME=$work/repos/gnupg-other "$top/tools/repo-key" "Someone else" >/dev/null
step "publishing the repositories"
"$top/tools/repo-publish" --repo "$work/repos/good" --codename "$SUITE" "$debs/asios_${version}_$arch.changes" >/dev/null
GNUPGHOME=$work/repos/gnupg-other "$top/tools/repo-publish" --repo "$work/repos/other" --codename "$SUITE" \
	"$debs"/*.deb >/dev/null
"$top/tools/repo-publish" --unsigned --repo "$work/repos/unsigned" --codename "$SUITE" "$debs"/*.deb >/dev/null
check "the public key is exported for signed-by=" test -s "$work/repos/good/asios-archive-keyring.gpg"
check "the repository's Release is signed (InRelease)" gpgv --keyring "$work/repos/good/asios-archive-keyring.gpg" \
	"$work/repos/good/dists/$SUITE/InRelease"

# the same version rebuilt with other contents: refused (apt clients that cached the old file would fail on
# it), replaced with --replace; a scratch repository, not served
rebuilt=$work/rebuilt
rm -rf "$rebuilt" "$work/repos/scratch"
mkdir -p "$rebuilt"
dpkg-deb -R "$debs/asios-base_${version}_all.deb" "$rebuilt/tree"
echo "# rebuilt" >>"$rebuilt/tree/usr/share/doc/asios-base/README.rebuilt"
dpkg-deb --root-owner-group -Zxz -b "$rebuilt/tree" "$rebuilt/asios-base_${version}_all.deb" >/dev/null
"$top/tools/repo-publish" --unsigned --repo "$work/repos/scratch" --codename "$SUITE" "$debs/asios-base_${version}_all.deb" >/dev/null
check "a rebuilt version with other contents is refused, naming the package and version" \
	sh -c "! '$top/tools/repo-publish' --unsigned --repo '$work/repos/scratch' --codename '$SUITE' \
		'$rebuilt/asios-base_${version}_all.deb' 2>'$rebuilt/err' && grep -q 'asios-base $version is already in' '$rebuilt/err'"
sed 's/^/#   /' "$rebuilt/err"
check "with --replace the rebuilt file takes its place" \
	sh -c "'$top/tools/repo-publish' --unsigned --replace --repo '$work/repos/scratch' --codename '$SUITE' \
		'$rebuilt/asios-base_${version}_all.deb' >/dev/null && cmp -s '$rebuilt/asios-base_${version}_all.deb' \
		\"\$(find '$work/repos/scratch/pool' -name 'asios-base_${version}_all.deb')\""
check "the same file again is no change" "$top/tools/repo-publish" --unsigned --repo "$work/repos/scratch" \
	--codename "$SUITE" "$rebuilt/asios-base_${version}_all.deb"
# a second base in the same repository (make repo BASE=trixie after bookworm): both keep their suites
other=trixie
[ "$SUITE" != trixie ] || other=bookworm
"$top/tools/repo-publish" --unsigned --repo "$work/repos/scratch" --codename "$other" \
	"$rebuilt/asios-base_${version}_all.deb" >/dev/null
check "a second base published beside the first: the repository still manages both (reprepro lists each)" \
	sh -c "reprepro --basedir '$work/repos/scratch' list '$SUITE' asios-base | grep -q asios-base &&
		reprepro --basedir '$work/repos/scratch' list '$other' asios-base | grep -q asios-base"

serve "$work/repos" "$work/http.log"
check "the repository is served on 127.0.0.1" test -n "$port"
install -D -m 0644 "$work/repos/good/asios-archive-keyring.gpg" "$root/usr/share/keyrings/asios-archive-keyring.gpg"
sources() { # REPO: point the chroot at one of the repositories, trusting our key only
	cat >"$root/etc/apt/sources.list.d/asios.sources" <<SRC
Types: deb
URIs: http://127.0.0.1:$port/$1/
Suites: $SUITE $SUITE-previous
Components: main
Signed-By: /usr/share/keyrings/asios-archive-keyring.gpg
SRC
}

step "1. refusal of unsigned and wrongly signed repositories"
for bad in other unsigned; do
	sources "$bad"
	if [ $bad = other ]; then what='signed by another key' why='NO_PUBKEY|signatures were invalid|could not be verified'
	else what=unsigned why='is not signed|does not have a Release file'; fi
	check_fail "apt-get update refuses the repository $what" "$why" apt_ update --error-on=any
	cand=$(inroot apt-cache policy asios-base 2>/dev/null | sed -n 's/^ *Candidate: //p')
	check_eq "nothing from the $bad repository is a candidate" "(none)" "${cand:-(none)}"
	check_fail "asios-server is not installable from the $bad repository" "Unable to locate|no installation candidate|has no" \
		apt_ install asios-server
done

step "2. install"
sources good
rm -rf "$root/var/lib/apt/lists/127.0.0.1"*
check "apt-get update with our signed repository (--error-on=any)" apt_ update --error-on=any
# the file list before our packages: purge must return to it
listing() { inroot find / -xdev \( -path /proc -o -path /dev -o -path /var/lib/apt/lists -o -path /var/cache -o \
	-path /var/log -o -path /var/lib/dpkg -o -path /tmp -o -path /run -o -path /var/lib/systemd/deb-systemd-helper-enabled \
	-o -path /var/lib/systemd/deb-systemd-helper-masked -o -path /var/lib/systemd/catalog \) -prune -o -print | sort; }
listing >"$work/before.list"
t0=$SECONDS
check "apt-get install asios-server" apt_ install asios-server
echo "# install took $((SECONDS - t0)) s"
check_eq "asios-tuning $version installed" "$version" "$(pkgver asios-tuning)"
check "asios-irqd.service enabled" inroot systemctl is-enabled asios-irqd.service
check "asios-numad.service enabled" inroot systemctl is-enabled asios-numad.service
check "numad.conf present" test -f "$root/etc/asios/numad.conf"
check "asios-schedd.service enabled" inroot systemctl is-enabled asios-schedd.service
check "schedd.conf present" test -f "$root/etc/asios/schedd.conf"
check "irqd.conf present" test -f "$root/etc/asios/irqd.conf"
check "asiosctl runs in the installed system" inroot asiosctl --version
check "the man page is installed" test -f "$root/usr/share/man/man8/asios-irqd.8.gz"
# the asios-base defaults, each checked through the program that reads it
# limits.d through PAM: the session's limits, or, where this machine withholds CAP_SYS_RESOURCE (raising a
# hard limit is refused), the limits pam_limits asks the kernel for
if (( 0x$(sed -n 's/^CapEff:\t*//p' /proc/self/status) >> 24 & 1 )); then
	check_eq "memlock limit of a PAM session (limits.d)" "unlimited" "$(inroot runuser -u nobody -- sh -c 'ulimit -l')"
	check_eq "open-file limit of a PAM session (limits.d)" "1048576" "$(inroot runuser -u nobody -- sh -c 'ulimit -n')"
else
	echo "# no CAP_SYS_RESOURCE here: checking the limits pam_limits sets (the kernel refuses them with EPERM)"
	trace=$(inroot strace -f -e trace=prlimit64,setrlimit runuser -u nobody -- true 2>&1)
	check "pam_limits sets memlock unlimited (limits.d)" grep -q 'RLIMIT_MEMLOCK, {rlim_cur=RLIM64_INFINITY, rlim_max=RLIM64_INFINITY}, NULL' <<<"$trace"
	check "pam_limits sets nofile 1048576 (limits.d)" grep -q 'RLIMIT_NOFILE, {rlim_cur=1024\*1024, rlim_max=1024\*1024}, NULL' <<<"$trace"
fi
check "sshd's effective key exchange starts with the post-quantum hybrid" \
	sh -c "inroot() { unshare --mount --propagation private -- sh -c 'mount -t proc proc \"\$0/proc\" && exec chroot \"\$0\" \"\$@\"' '$root' \"\$@\"; };
		inroot sh -c 'mkdir -p /run/sshd && /usr/sbin/sshd -T' | grep -qx 'kexalgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org'"
check "the OpenSSH client of the base offers the hybrid" sh -c "chroot '$root' ssh -Q kex | grep -qx sntrup761x25519-sha512@openssh.com"
check "the OpenSSH client's effective key exchange is ssh_config.d/asios.conf's list" sh -c "chroot '$root' ssh -G -T localhost | grep -qx 'kexalgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org'"
check "modprobe blacklists nouveau" sh -c "chroot '$root' modprobe --showconfig | grep -qx 'blacklist nouveau'"
check "modprobe passes poll_queues to nvme" sh -c "chroot '$root' modprobe --showconfig | grep -qx 'options nvme poll_queues=4'"
cmdline=$(GRUB_CMDLINE_LINUX_DEFAULT="quiet" sh -c '. "$1"; echo "$GRUB_CMDLINE_LINUX_DEFAULT"' sh "$root/etc/default/grub.d/asios.cfg")
case $(uname -m) in
x86_64) check_eq "grub.d adds iommu=pt to the kernel command line (as update-grub sources it)" "quiet iommu=pt" "$cmdline" ;;
aarch64) check_eq "grub.d adds iommu.passthrough=1 (as update-grub sources it)" "quiet iommu.passthrough=1" "$cmdline" ;;
esac
inroot systemctl disable asios-irqd.service >/dev/null 2>&1
check "systemctl preset enables asios-irqd again (presets)" sh -c "chroot '$root' systemctl preset asios-irqd.service &&
	chroot '$root' systemctl is-enabled asios-irqd.service"
check "systemd reads the service limits drop-in" grep -qx 'DefaultLimitMEMLOCK=infinity' \
	"$root/usr/lib/systemd/system.conf.d/60-asios.conf"

step "3. upgrade"
echo "# locally edited" >>"$root/etc/asios/irqd.conf"
local_conf=$(cat "$root/etc/asios/irqd.conf")
# the next version: same package with a changed shipped default
next=${version}+test1
pkgdir=$work/repack
rm -rf "$pkgdir"
dpkg-deb -R "$debs/asios-tuning_${version}_$arch.deb" "$pkgdir"
sed -i "s/^Version: .*/Version: $next/" "$pkgdir/DEBIAN/control"
echo "# a new default of $next" >>"$pkgdir/etc/asios/irqd.conf"
(cd "$pkgdir" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | xargs -0 md5sum >DEBIAN/md5sums)
dpkg-deb --root-owner-group -Zxz -b "$pkgdir" "$work/asios-tuning_${next}_$arch.deb" >/dev/null
t0=$SECONDS
"$top/tools/repo-publish" --repo "$work/repos/good" --codename "$SUITE" "$work/asios-tuning_${next}_$arch.deb" | sed 's/^/# /'
echo "# publish took $((SECONDS - t0)) s"
t0=$SECONDS
check "apt-get update sees the new version" apt_ update --error-on=any
check "apt-get upgrade" apt_ upgrade
echo "# update + upgrade took $((SECONDS - t0)) s"
check_eq "asios-tuning upgraded" "$next" "$(pkgver asios-tuning)"
check_eq "the locally edited irqd.conf survived" "$local_conf" "$(cat "$root/etc/asios/irqd.conf")"
check "the new default arrived as irqd.conf.dpkg-dist" grep -qx "# a new default of $next" "$root/etc/asios/irqd.conf.dpkg-dist"
check "asios-irqd.service still enabled" inroot systemctl is-enabled asios-irqd.service
check "the previous version is still published ($SUITE-previous)" \
	sh -c "chroot '$root' apt-cache policy asios-tuning | grep -q '^ *$version '"
check "rollback: apt-get install asios-tuning=$version" apt_ install --allow-downgrades "asios-tuning=$version"
check_eq "asios-tuning rolled back" "$version" "$(pkgver asios-tuning)"
check "and forward again" apt_ upgrade
check_eq "asios-tuning upgraded again" "$next" "$(pkgver asios-tuning)"

step "4. remove and purge"
check "apt-get purge" apt_ purge asios-server asios-tuning asios-base
check "apt-get autoremove --purge" apt_ autoremove --purge
check "no asios package left" sh -c "! chroot '$root' dpkg -l 'asios*' 2>/dev/null | grep -q '^[a-z][a-z] '"
listing >"$work/after.list"
check "purge leaves the file system as before the install" diff -u "$work/before.list" "$work/after.list"
diff -u "$work/before.list" "$work/after.list" | head -n 20 | sed 's/^/#   /'
step "done"
done_testing
