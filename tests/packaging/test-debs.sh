#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# The .debs: built from the tree (tools/build-debs), lintian clean, the expected files in each package,
# conffiles, and reproducible: a second build in another folder gives byte-identical .debs.
# Work folder: ${ASIOS_PACKAGING:-build/packaging} (debs-a/ is reused by test-repo.sh).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
work=${ASIOS_PACKAGING:-$top/build/packaging}
mkdir -p "$work"
arch=$(dpkg --print-architecture)
version=$(cd "$top" && dpkg-parsechangelog -SVersion)

echo "# build 1 (with lintian)"
check "tools/build-debs builds and lintian reports no error or warning" "$top/tools/build-debs" "$work/debs-a"
sed 's/^/#   /' "$work/debs-a/lintian.log"
a=$work/debs-a
for p in asios-tuning_${version}_$arch asios-exporter_${version}_$arch asios-load_${version}_$arch asios-base_${version}_all asios-server_${version}_all \
	asios-cloud_${version}_all; do
	check "$p.deb built" test -f "$a/$p.deb"
done
# the linux-asios-FLAVOUR metapackages come with their kernel's build (tools/kernel-build --deb), never alone
check_eq "no linux-asios-* metapackage without its kernel image" "" "$(cd "$a" && ls linux-asios-* 2>/dev/null)"
contents() { dpkg-deb -c "$a/$1_${version}_$2.deb" | awk '{ print $6 }' | sed 's|^\./|/|'; }
tuning=$(contents asios-tuning "$arch")
for f in /usr/bin/asiosctl /usr/sbin/asios-irqd /usr/sbin/asios-numad /usr/share/man/man1/asiosctl.1.gz \
	/usr/share/man/man8/asios-irqd.8.gz /usr/share/man/man8/asios-numad.8.gz /lib/systemd/system/asios-irqd.service \
	/lib/systemd/system/asios-numad.service /etc/asios/irqd.conf /etc/asios/numad.conf /usr/sbin/asios-schedd \
	/usr/share/man/man8/asios-schedd.8.gz /lib/systemd/system/asios-schedd.service /etc/asios/schedd.conf /etc/asios/block.conf \
	/usr/share/bash-completion/completions/asiosctl /usr/share/doc/asios-tuning/copyright /usr/sbin/asios-healthd \
	/usr/share/man/man8/asios-healthd.8.gz /lib/systemd/system/asios-healthd.service /etc/asios/health.conf \
	/usr/share/asios/health/signatures.conf /etc/asios/net.conf /lib/systemd/system/asios-net.service \
	/lib/systemd/system/asios-tune-verify@.service /lib/systemd/system/asios-tune-verify@.timer \
	/lib/systemd/system/asios-workload@.service /lib/systemd/system/asios-workload.slice \
	/lib/systemd/system/asios-pcie@.service /lib/udev/rules.d/90-asios-pcie.rules \
	/etc/apparmor.d/usr.bin.asiosctl /etc/apparmor.d/usr.sbin.asios-irqd /etc/apparmor.d/usr.sbin.asios-numad \
	/etc/apparmor.d/usr.sbin.asios-schedd /etc/apparmor.d/usr.sbin.asios-healthd \
	/etc/apparmor.d/abstractions/asios-observe /etc/apparmor.d/abstractions/asios-tune; do
	check "asios-tuning ships $f" grep -qx -- "$f" <<<"$tuning"
done
load=$(contents asios-load "$arch")
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for f in /usr/bin/asios-load "/usr/lib/$multiarch/asios/libasios-load.so.0" /usr/lib/python3/dist-packages/asios_load.py \
	/usr/share/man/man1/asios-load.1.gz /lib/systemd/system/asios-load-warm@.service /etc/asios/load.conf \
	/etc/apparmor.d/asios-load-warm; do
	check "asios-load ships $f" grep -qx -- "$f" <<<"$load"
done
check "asios-load depends on liburing and libssl (shlibs)" sh -c "dpkg-deb -f '$a/asios-load_${version}_$arch.deb' Depends | grep -q liburing2 && dpkg-deb -f '$a/asios-load_${version}_$arch.deb' Depends | grep -q libssl3"
exporter=$(contents asios-exporter "$arch")
for f in /usr/sbin/asios-exporter /usr/share/man/man8/asios-exporter.8.gz /lib/systemd/system/asios-exporter.service \
	/lib/systemd/system/asios-exporter.socket /lib/systemd/system/prometheus-node-exporter.service.d/asios.conf \
	/usr/share/asios/prometheus/asios.rules.yml /usr/share/asios/grafana/asios-dashboard.json \
	/etc/apparmor.d/usr.sbin.asios-exporter; do
	check "asios-exporter ships $f" grep -qx -- "$f" <<<"$exporter"
done
lacks() { ! grep -q -- "$1" <<<"$2"; }
has() { grep -q -- "$1" <<<"$2"; }
check "asios-tuning does not ship the exporter" lacks exporter "$tuning"
xpostinst=$(dpkg-deb --ctrl-tarfile "$a/asios-exporter_${version}_$arch.deb" | tar -xOf - ./postinst)
check "asios-exporter postinst enables the socket" has "deb-systemd-helper.*enable .asios-exporter.socket" "$xpostinst"
check "asios-exporter postinst starts the socket" has "deb-systemd-invoke.*asios-exporter.socket" "$xpostinst"
check "asios-exporter postinst enables the service only where an admin had (socket-activated)" \
	has "deb-systemd-helper debian-installed .asios-exporter.service" "$xpostinst"
check "asios-exporter postinst restarts the service on upgrade" has "deb-systemd-invoke .*asios-exporter.service" "$xpostinst"
check "asios-exporter depends on libmicrohttpd (shlibs)" sh -c "dpkg-deb -f '$a/asios-exporter_${version}_$arch.deb' Depends | grep -q libmicrohttpd"
base=$(contents asios-base all)
for f in /usr/lib/sysctl.d/60-asios.conf /usr/lib/systemd/system.conf.d/60-asios.conf \
	/usr/lib/systemd/system-preset/60-asios.preset /lib/udev/rules.d/60-asios-block.rules /lib/modprobe.d/asios.conf \
	/etc/security/limits.d/60-asios.conf /etc/default/grub.d/asios.cfg /etc/ssh/sshd_config.d/asios.conf \
	/etc/ssh/ssh_config.d/asios.conf /etc/audit/rules.d/60-asios.rules /usr/share/asios/falco/asios_rules.yaml; do
	check "asios-base ships $f" grep -qx -- "$f" <<<"$base"
done
conff() { dpkg-deb --ctrl-tarfile "$a/$1" | tar -xOf - ./conffiles 2>/dev/null | sort | tr '\n' ' '; }
check_eq "asios-load conffiles" "/etc/apparmor.d/asios-load-warm /etc/asios/load.conf " "$(conff "asios-load_${version}_$arch.deb")"
check_eq "asios-tuning conffiles" "/etc/apparmor.d/abstractions/asios-observe /etc/apparmor.d/abstractions/asios-tune /etc/apparmor.d/usr.bin.asiosctl /etc/apparmor.d/usr.sbin.asios-healthd /etc/apparmor.d/usr.sbin.asios-irqd /etc/apparmor.d/usr.sbin.asios-numad /etc/apparmor.d/usr.sbin.asios-schedd /etc/asios/block.conf /etc/asios/gpu.conf /etc/asios/health.conf /etc/asios/irqd.conf /etc/asios/net.conf /etc/asios/nic.conf /etc/asios/numad.conf /etc/asios/schedd.conf " "$(conff "asios-tuning_${version}_$arch.deb")"
check_eq "asios-base conffiles" "/etc/audit/rules.d/60-asios.rules /etc/default/grub.d/asios.cfg /etc/security/limits.d/60-asios.conf /etc/ssh/ssh_config.d/asios.conf /etc/ssh/sshd_config.d/asios.conf " \
	"$(conff "asios-base_${version}_all.deb")"
postinst=$(dpkg-deb --ctrl-tarfile "$a/asios-tuning_${version}_$arch.deb" | tar -xOf - ./postinst)
check "asios-tuning postinst restarts the daemons on upgrade" grep -q '_dh_action=restart' <<<"$postinst"
for u in asios-irqd asios-numad asios-schedd asios-healthd asios-net; do
	check "asios-tuning postinst enables $u.service" grep -q "deb-systemd-helper.*enable '$u.service'" <<<"$postinst"
done
# the AppArmor profiles are loaded on install (dh_apparmor's snippet: apparmor_parser -r where AppArmor is on)
for p in usr.bin.asiosctl usr.sbin.asios-irqd usr.sbin.asios-numad usr.sbin.asios-schedd usr.sbin.asios-healthd; do
	check "asios-tuning postinst loads the AppArmor profile $p" grep -q "APP_PROFILE=\"/etc/apparmor.d/$p\"" <<<"$postinst"
done
check "asios-exporter postinst loads its AppArmor profile" has 'APP_PROFILE="/etc/apparmor.d/usr.sbin.asios-exporter"' "$xpostinst"
check "asios-tuning depends on libnuma (shlibs)" sh -c "dpkg-deb -f '$a/asios-tuning_${version}_$arch.deb' Depends | grep -q libnuma1"
check "the packaged asiosctl prints the package version" \
	sh -c "dpkg-deb --fsys-tarfile '$a/asios-tuning_${version}_$arch.deb' | tar -xOf - ./usr/bin/asiosctl > '$work/asiosctl' &&
		chmod +x '$work/asiosctl' && '$work/asiosctl' --version | grep -qx 'asiosctl $version'"
echo "# package sizes (bytes): $(cd "$a" && stat -c '%n=%s' -- *.deb | tr '\n' ' ')"

echo "# build 2 (another folder, same source): reproducibility"
check "second build" "$top/tools/build-debs" --no-lintian "$work/debs-b"
same=0 differ=()
for f in "$a"/*.deb; do
	b=$work/debs-b/${f##*/}
	if cmp -s "$f" "$b"; then same=$((same + 1)); else differ+=("${f##*/}"); fi
done
check_eq "every .deb is byte-identical across the two builds (differing: ${differ[*]:-none})" 0 "${#differ[@]}"
echo "# $same .debs identical"
if [ "${#differ[@]}" -gt 0 ] && command -v diffoscope >/dev/null; then
	for d in "${differ[@]}"; do diffoscope --text - "$a/$d" "$work/debs-b/$d" | head -n 40 | sed 's/^/#   /'; done
fi
done_testing
