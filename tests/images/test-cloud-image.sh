#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# The cloud image, end to end: build it (tools/build-image, from our .debs in a throwaway signed repository
# and the host's mirror), then boot a copy-on-write copy 1 GiB larger under qemu (TCG) with a NoCloud seed
# that creates a user and writes a file. cloud-init's runcmd prints what the tests judge to the serial
# console: the user, the file, asios-irqd's state, failed units, the root file system's size (it must have
# grown), the machine-id, the hostname. Fails as soon as the console shows a kernel BUG:/WARNING:/Oops/panic,
# a unit that failed, a grub> prompt or emergency mode, and after BOOT_TIMEOUT seconds (default 600).
#   ASIOS_IMAGE=FILE.qcow2   boot this image instead of building one (make check-images)
#   FIRMWARE=bios|uefi       SeaBIOS (default) or OVMF
# Work folder: ${ASIOS_IMAGES_TEST:-build/images-test}. Needs root for the build.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
work=${ASIOS_IMAGES_TEST:-$top/build/images-test}
base=${BASE:-bookworm}
firmware=${FIRMWARE:-bios}
timeout=${BOOT_TIMEOUT:-600}
image=${ASIOS_IMAGE:-}
arch=$(dpkg --print-architecture)
if [ "$arch" != amd64 ]; then echo "1..0 # SKIP the cloud image is built for amd64 only"; exit 0; fi
if [ -z "$image" ] && [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP building the image needs root"; exit 0; fi
for t in qemu-system-x86_64 qemu-img cloud-localds; do
	command -v "$t" >/dev/null || { echo "not ok 1 - $t is missing (make deps)"; exit 1; }
done
mkdir -p "$work"
work=$(cd "$work" && pwd)
t_start=$SECONDS
step() { echo "# [$((SECONDS - t_start)) s] $*"; }

if [ -z "$image" ]; then
	version=$(cd "$top" && dpkg-parsechangelog -SVersion)
	debs=$work/debs
	if [ ! -f "$debs/asios_${version}_$arch.changes" ]; then
		step "building the .debs"
		"$top/tools/build-debs" --no-lintian "$debs" >"$work/debs.log" 2>&1 || { tail -n 20 "$work/debs.log"; echo "not ok 1 - .debs build"; exit 1; }
	fi
	step "publishing them in a throwaway signed repository"
	rm -rf "$work/repo" "$work/gnupg"
	export GNUPGHOME=$work/gnupg
	"$top/tools/repo-key" >/dev/null 2>&1
	"$top/tools/repo-publish" --repo "$work/repo" --codename "$base" "$debs/asios_${version}_$arch.changes" >/dev/null
	step "building the image"
	t0=$SECONDS
	if "$top/tools/build-image" --base "$base" --arch "$arch" --variant cloud --repo "$work/repo" --out "$work/out" \
		>"$work/build.log" 2>&1; then
		_report 0 "tools/build-image builds the cloud image ($((SECONDS - t0)) s)"
	else
		_report 1 "tools/build-image builds the cloud image"
		tail -n 30 "$work/build.log" | sed 's/^/#   /'
		done_testing
		exit 1
	fi
	sed 's/^/# /' "$work/build.log"
	image=$work/out/asios-cloud-$base-$arch.qcow2
fi
dir=$(dirname "$image")
manifest=${image%.qcow2}.manifest
check "the image is a qcow2 file" sh -c "qemu-img info --output=json '$image' | grep -q '\"format\": \"qcow2\"'"
check "SHA256SUMS next to the image verifies it and its manifest" \
	sh -c "cd '$dir' && grep -F '$(basename "$image")' SHA256SUMS | sha256sum -c --quiet - && grep -F '$(basename "$manifest")' SHA256SUMS | sha256sum -c --quiet -"
check "the manifest lists asios-cloud, asios-tuning, cloud-init, cloud-guest-utils" \
	sh -c "grep -q '^asios-cloud	' '$manifest' && grep -q '^asios-tuning	' '$manifest' && grep -q '^cloud-init	' '$manifest' && grep -q '^cloud-guest-utils	' '$manifest'"
check "the manifest says which kernel the image has" grep -qE '^# kernel: (ASIOS kernel|stock .* kernel)' "$manifest"
grep '^# kernel:' "$manifest"
echo "# image: $(( $(stat -c %s "$image") / 1048576 )) MiB on disk, virtual $(( $(qemu-img info --output=json "$image" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p') / 1048576 )) MiB"

# the seed: a user, a file, and a runcmd that prints the results to the serial console
run=$work/boot-$firmware
rm -rf "$run"
mkdir -p "$run"
cat >"$run/user-data" <<'EOF'
#cloud-config
users:
  - default
  - name: asiostest
    shell: /bin/bash
write_files:
  - path: /var/lib/asios-test/hello
    content: "written by cloud-init\n"
runcmd:
  - |
    {
    say() { echo "ASIOSTEST: $*"; }
    say "user $(id asiostest)"
    say "file $(cat /var/lib/asios-test/hello)"
    say "irqd $(systemctl is-active asios-irqd)"
    for d in irqd numad schedd healthd; do
      j=$(journalctl -b -o cat --no-pager -u "asios-$d" 2>&1)
      say "start-$d $(printf '%s\n' "$j" | grep -m 1 '^start: ')"
      say "denied-$d $(printf '%s\n' "$j" | grep -c -e 'rolled back' -e 'Operation not permitted' -e 'Permission denied')"
    done
    say "getty $(systemctl is-active serial-getty@ttyS0)"
    # asios-healthd under its unit: an Xid line in the kernel log is read at once (CAP_SYSLOG, /dev/kmsg)
    echo "NVRM: Xid (PCI:0000:00:1f): 79, pid=0, injected by the ASIOS image test" > /dev/kmsg
    sleep 3
    say "xid $(journalctl -b -o cat --no-pager -u asios-healthd | grep -c '^gpu-xid-79 on GPU 0000:00:1f')"
    # a killed daemon comes back (its unit's Restart=on-failure) and its journal and plan agree: nothing to do
    old=$(systemctl show -p MainPID --value asios-irqd)
    kill -9 "$old"
    for i in $(seq 30); do sleep 1; new=$(systemctl show -p MainPID --value asios-irqd); [ "$new" != 0 ] && [ "$new" != "$old" ] && [ "$(systemctl is-active asios-irqd)" = active ] && break; done
    sleep 2
    say "irqd-restarted $(systemctl is-active asios-irqd) $([ "$new" != "$old" ] && echo new-pid)"
    say "irq-plan $(asiosctl irq plan 2>&1 | tail -n 1)"
    say "rootsize $(df -B1M --output=size / | tail -n 1 | tr -d ' ')"
    say "machine-id $(cat /etc/machine-id)"
    say "hostname $(hostname)"
    say "hosts $(getent hosts "$(hostname)" >/dev/null && echo resolves)"
    say "sources $(sed -n 's/^Signed-By: //p' /etc/apt/sources.list.d/asios.sources) $(test -s /usr/share/keyrings/asios-archive-keyring.gpg && echo key-present)"
    systemctl --failed --plain --no-legend | sed 's/^/ASIOSTEST: failed-unit /'
    say "kernel $(uname -r)"
    say "sched_ext $(cat /sys/kernel/sched_ext/state 2>/dev/null || echo absent)"
    say "uptime $(cut -d' ' -f1 /proc/uptime)"
    say "done"
    } >/dev/ttyS0 2>&1
EOF
printf 'instance-id: iid-asiostest-%s\nlocal-hostname: asiostest\n' "$$" >"$run/meta-data"
cloud-localds "$run/seed.img" "$run/user-data" "$run/meta-data"
vsize=$(qemu-img info --output=json "$image" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p')
# a copy-on-write overlay 1 GiB larger than the image: the root file system must grow into it
qemu-img create -q -f qcow2 -b "$(cd "$dir" && pwd)/$(basename "$image")" -F qcow2 "$run/disk.qcow2" $((vsize + 1073741824))
# the root partition's size in the image (MiB), the last partition of the disk
root_mib=$(( (vsize / 512 - 131072) / 2048 ))

fw=()
if [ "$firmware" = uefi ]; then
	ovmf=/usr/share/ovmf/OVMF.fd
	[ -f "$ovmf" ] || { echo "not ok 1 - $ovmf is missing (make deps: ovmf)"; exit 1; }
	fw=(-bios "$ovmf")
fi
accel=tcg
[ -w /dev/kvm ] && accel=kvm
log=$run/console.log
: >"$log"
step "booting ($firmware, $accel, timeout ${timeout}s)"
t0=$SECONDS
qemu-system-x86_64 -M q35 -accel $accel -cpu max -smp 2 -m 1G "${fw[@]}" \
	-drive "file=$run/disk.qcow2,if=virtio,format=qcow2" -drive "file=$run/seed.img,if=virtio,format=raw,readonly=on" \
	-nic user,model=virtio-net-pci -display none -serial "file:$log" -monitor none -no-reboot </dev/null &
qpid=$!
bad='\] (BUG: |WARNING: |Oops)|Kernel panic|grub> |emergency mode|Give root password|\[FAILED\]|Failed to start'
verdict=timeout
while [ $((SECONDS - t0)) -lt "$timeout" ]; do
	if grep -aqE "$bad" "$log"; then verdict=problem; break; fi
	if grep -aq '^ASIOSTEST: done' "$log"; then verdict=finished; break; fi
	kill -0 $qpid 2>/dev/null || { verdict=exited; break; }
	sleep 1
done
secs=$((SECONDS - t0))
kill $qpid 2>/dev/null
wait $qpid 2>/dev/null
check_eq "boots to the end of cloud-init's runcmd, no kernel BUG/WARNING/Oops/panic, failed unit, grub> or emergency mode (${secs} s)" finished "$verdict"
if [ "$verdict" != finished ]; then
	grep -aE -B2 -A12 "$bad" "$log" | head -n 40 | sed 's/^/#   /'
	tail -n 25 "$log" | sed 's/^/#   /'
fi
val() { tr -d '\r' <"$log" | sed -n "s/^ASIOSTEST: $1 //p" | head -n 1; }
check "cloud-init created the user asiostest" grep -q 'uid=[0-9]*(asiostest)' <<<"$(val user)"
check_eq "cloud-init wrote the file" "written by cloud-init" "$(val file)"
check_eq "asios-irqd is active" active "$(val irqd)"
# each daemon's first apply under its own unit (its capability bounding set): made, nothing refused for want of a
# capability, nothing rolled back
for d in irqd numad schedd healthd; do
	check "asios-$d started under its unit: $(val "start-$d")" grep -q '^start: ' <<<"$(val "start-$d")"
	check_eq "asios-$d: no rollback, no EPERM/EACCES in its journal" 0 "$(val "denied-$d")"
done
check_eq "a getty runs on the serial console" active "$(val getty)"
check_eq "asios-healthd, under its unit, reads an Xid line from /dev/kmsg" 1 "$(val xid)"
check_eq "asios-irqd killed with SIGKILL: restarted by its unit" "active new-pid" "$(val irqd-restarted)"
check "after the restart its journal and a fresh plan agree: $(val irq-plan)" grep -q '^0 changes' <<<"$(val irq-plan)"
check_eq "no failed systemd units" "" "$(tr -d '\r' <"$log" | sed -n 's/^ASIOSTEST: failed-unit //p')"
size=$(val rootsize)
check "the root file system grew into the larger disk (${size:-?} MiB, partition in the image $root_mib MiB)" \
	test "${size:-0}" -gt $((root_mib + 768))
check "a machine-id was made at the first boot" grep -qE '^[0-9a-f]{32}$' <<<"$(val machine-id)"
check_eq "the hostname comes from the seed" asiostest "$(val hostname)"
check_eq "the hostname resolves (/etc/hosts)" resolves "$(val hosts)"
check_eq "asios.sources trusts the shipped ASIOS key" "/usr/share/keyrings/asios-archive-keyring.gpg key-present" "$(val sources)"
# the kernel that runs is the one the manifest names; ours brings sched_ext, which the stock kernels lack
installed=$(sed -n 's/^# kernel: .*; installed: linux \(.*\)$/\1/p' "$manifest")
check_eq "the running kernel is the one the manifest names" "${installed:-?}" "$(val kernel)"
if grep -q '^# kernel: ASIOS kernel' "$manifest"; then
	check "our kernel ($(val kernel)) runs and has sched_ext ($(val sched_ext))" \
		sh -c "case '$(val kernel)' in *-asios-*) [ '$(val sched_ext)' != absent ];; *) false;; esac"
fi
echo "# boot to the end of runcmd: $secs s of wall time, guest uptime $(val uptime) s ($firmware, $accel)"
done_testing
