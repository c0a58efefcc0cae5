#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# CPU isolation end to end, against TuneD's cpu-partitioning: our `test` kernel booted under qemu (TCG) with 4
# vCPUs in 2 NUMA nodes and a Debian root file system (tests/vm/isolation-rootfs.sh), three ways, the same
# CPUs isolated (ISOLATION_CPUS, default 1,3: what `isolate = auto` keeps off one core per node) and the same
# load (tests/vm/isolation-guest.sh):
#   stock   no isolation;
#   TuneD   cpu-partitioning started, rebooted with the command line its bootloader plugin wrote, started again;
#   ASIOS   `asiosctl isolate apply`, rebooted with the command line of the GRUB snippet it wrote, then
#           `asiosctl isolate apply` and `asiosctl irq apply`.
# Each watched ISOLATION_SECONDS (default 60) by `asiosctl sched watch`: the disturbances of each isolated CPU
# per second. tests/vm/isolation-report.py prints the table and judges it (TAP): ASIOS <= TuneD on every row,
# ASIOS's total <= 1 per second per isolated CPU, no tick with our series. Report: $O/isolation/report.{md,json}.
#   tests/vm/test-isolation.sh
# ISOLATION_KERNEL= another bzImage (default: the test kernel, built when missing) with ISOLATION_KERNEL_CONFIG=
# its .config; ISOLATION_SKIP=irq leaves
# out `asiosctl irq apply`; ISOLATION_DROP=PARAM boots without PARAM= of the planned command lines;
# ISOLATION_MODES= a subset of "stock tuned asios"; ISOLATION_OUT= the report's folder.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. tests/lib.sh
# shellcheck source=tests/vm/isolation-boot.sh
. tests/vm/isolation-boot.sh
O=${O:-build}
out=${ISOLATION_OUT:-$O/isolation}
secs=${ISOLATION_SECONDS:-60}
cpus=${ISOLATION_CPUS:-1,3}
modes=${ISOLATION_MODES:-stock tuned asios}
obj=$O/kernel/obj/test-amd64
kernel=${ISOLATION_KERNEL:-$obj/arch/x86/boot/bzImage}
if [ "$(dpkg --print-architecture)" != amd64 ]; then
	skip "the isolation boot test" "it runs on amd64 hosts (a 4-vCPU q35 guest)"
	done_testing
	exit 0
fi
mkdir -p "$out"
t0=$SECONDS
if [ -z "${ISOLATION_KERNEL:-}" ] && ! tools/kernel-build --out "$O/kernel" --flavour test --arch amd64 >"$out/kernel.log" 2>&1; then
	_report 1 "the test kernel builds (log $out/kernel.log)"
	tail -n 20 "$out/kernel.log" | sed 's/^/#   /'
	done_testing
	exit 1
fi
echo "# kernel: $kernel ($((SECONDS - t0)) s)"
t0=$SECONDS
if ! tests/vm/isolation-rootfs.sh >"$out/rootfs.log" 2>&1; then
	_report 1 "the guest's root file system builds (log $out/rootfs.log)"
	tail -n 20 "$out/rootfs.log" | sed 's/^/#   /'
	done_testing
	exit 1
fi
echo "# root file system: ${ISOLATION_ROOTFS:-$O/isolation/rootfs.ext4} ($((SECONDS - t0)) s)"
if ! make -s --no-print-directory O="$O" guest-programs >"$out/guest-build.log" 2>&1; then
	_report 1 "static guest programs build"
	tail -n 20 "$out/guest-build.log" | sed 's/^/#   /'
	done_testing
	exit 1
fi
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
cp "$O/guest/asiosctl" tests/vm/isolation-guest.sh "$data/"
mv "$data/isolation-guest.sh" "$data/guest.sh"
# the kernel's configuration, installed as /boot/config-RELEASE in the guest as a kernel package does: the
# planner leaves out what the kernel is built without
cp "${ISOLATION_KERNEL_CONFIG:-$obj/.config}" "$data/config"
mkdir "$data/none"
printf '[schedd]\nprofile = latency\nisolate = %s\n' "$cpus" >"$data/schedd.conf"
printf '[irqd]\n' >"$data/irqd.conf"

# run NAME APPEND: boot, the guest's lines as TAP, its console in $out/NAME.log
run() {
	local name=$1 log=$out/$1.log start=$SECONDS rc=0
	isolation_boot "$kernel" "$data" "$log" "asios.isol_cpus=$cpus asios.isol_secs=$secs $2" 1500 || rc=$?
	check_eq "$name: booted, the guest finished ($((SECONDS - start)) s)" "0 yes" \
		"$rc $(grep -aq '^ASIOS: done' "$log" && echo yes || echo no)"
	if grep -aqE 'BUG:|WARNING:|Oops|Kernel panic|soft lockup|hard LOCKUP' "$log"; then
		_report 1 "$name: the kernel log shows no BUG, WARNING, Oops or lockup"
		grep -aE -A8 'BUG:|WARNING:|Oops|Kernel panic|soft lockup|hard LOCKUP' "$log" | head -n 20 | sed 's/^/#   /'
	fi
	while read -r _ state what rest; do
		case $state in
		ok) _report 0 "$name: $what" ;;
		fail) _report 1 "$name: $what"; echo "#   $rest" ;;
		value|note) echo "# $name: $what $rest" ;;
		esac
	done < <(tr -d '\r' <"$log" | grep -a -E '^ASIOS: (ok|fail|value|note) ')
}
# the command line a plan boot printed
planned() { tr -d '\r' <"$out/$1-plan.log" | sed -n "s/^ASIOS: cmdline $1 //p" | tail -n 1; }

for m in $modes; do
	case $m in
	stock) run stock "asios.isol=stock" ;;
	tuned|asios)
		run "$m-plan" "asios.isol=$m-plan"
		line=$(planned "$m")
		if [ -z "$line" ]; then
			_report 1 "$m: a command line to boot with"
			continue
		fi
		_report 0 "$m: a command line to boot with"
		echo "# $m: $line"
		if [ -n "${ISOLATION_DROP:-}" ]; then
			# shellcheck disable=SC2086 # one parameter a word
			line=$(printf '%s\n' $line | grep -v "^$ISOLATION_DROP=" | tr '\n' ' ')
			echo "# $m: without $ISOLATION_DROP= (ISOLATION_DROP): $line"
		fi
		run "$m" "asios.isol=$m asios.isol_skip=${ISOLATION_SKIP:-none} $line"
		;;
	*) _report 1 "ISOLATION_MODES: unknown mode $m" ;;
	esac
done
# the report's judgements ("PASS|FAIL NAME", detail lines "  ...") and its table ("# ...")
# shellcheck disable=SC2086 # the modes are words
while IFS= read -r line; do
	case $line in
	"PASS "*) _report 0 "${line#PASS }" ;;
	"FAIL "*) _report 1 "${line#FAIL }" ;;
	*) echo "# $line" ;;
	esac
done < <(python3 tests/vm/isolation-report.py --out "$out" --cpus "$cpus" $modes 2>&1 || echo "FAIL the report")
echo "# report: $out/report.md"
done_testing
