#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# Bad input through the whole snapshot: a synthetic machine with broken files still loads, and each problem
# is a warning naming the file; nothing crashes (the binary runs under ASan/UBSan in make check).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
asiosctl="$top/${ASIOS_BUILD:-build}/asiosctl"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fresh() {
	rm -rf "$tmp/m"
	mkdir -p "$tmp/m"
	tar xzf "$top/tests/fixtures/ws-2g-iso.tar.gz" -C "$tmp/m"
	root="$tmp/m/ws-2g-iso"
}
topo() { "$asiosctl" topology --json --root "$root" 2>"$tmp/err"; }

fresh
head -c 3000 "$root/proc/interrupts" >"$tmp/cut" && cp "$tmp/cut" "$root/proc/interrupts"
out=$(topo)
check "truncated /proc/interrupts: loads" test -n "$out"
check "truncated /proc/interrupts: warning names file and line" grep -qE '"/proc/interrupts:[0-9]+: IRQ [0-9]+ has [0-9]+ of 32 per-CPU counts \(truncated file\), ignoring"' <<<"$out"

fresh
echo "0-3,x" >"$root/sys/devices/system/node/node0/cpulist"
echo "garbage" >"$root/proc/irq/130/smp_affinity_list"
echo "7-3" >"$root/sys/devices/system/cpu/isolated"
out=$(topo)
check "garbage node cpulist: warning names the file" grep -q 'node0/cpulist: not a CPU list at column 5' <<<"$out"
check "garbage IRQ affinity: warning names the file" grep -q '/proc/irq/130/smp_affinity_list: not a CPU list at column 1' <<<"$out"
check "reversed range in isolated: warning" grep -q 'cpu/isolated: not a CPU list' <<<"$out"

fresh
rm "$root/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/numa_node" "$root/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/local_cpulist" \
	"$root/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/local_cpus"
out=$(topo)
check "missing numa_node: the GPU still gets a node (from its bridge)" \
	python3 -c 'import json,sys; d=[x for x in json.load(sys.stdin)["devices"] if x["pci"]=="0000:01:00.0"][0]; sys.exit(not (d["node"]==0 and d["node_source"]=="parent"))' <<<"$out"

fresh
p="$root/sys/devices/pci0000:00/0000:00:1c.0/0000:03:00.0"
rm "$p/class" && mkdir "$p/class"   # unreadable: a directory where a file should be
echo "0xzz" >"$root/sys/devices/pci0000:00/0000:00:17.0/vendor"
out=$(topo)
check "unreadable class file: warning names it" grep -q '0000:03:00.0/class: unreadable, classed as other' <<<"$out"
check "garbage vendor: warning names it" grep -q '0000:00:17.0/vendor: unreadable, vendor unknown' <<<"$out"

fresh
printf 'not a header\n 1: 2 3\n' >"$root/proc/interrupts"
out=$(topo)
check "/proc/interrupts without header: warning with line" grep -q '"/proc/interrupts:1: the first line is not a CPU header' <<<"$out"
check "... and no IRQs" python3 -c 'import json,sys; sys.exit(len(json.load(sys.stdin)["irqs"]) != 0)' <<<"$out"

fresh
echo "10 20 x" >"$root/sys/devices/system/node/node0/distance"
echo "isolcpus=managed_irq,4-x nohz_full=1-" >"$root/proc/cmdline"
out=$(topo)
check "bad distance row: warning" grep -q 'node0/distance: expected 1 distances' <<<"$out"
check "bad isolcpus on the cmdline: warning" grep -q '/proc/cmdline: isolcpus=managed_irq,4-x: not a CPU list at column 15' <<<"$out"
check "bad nohz_full on the cmdline: warning" grep -q '/proc/cmdline: nohz_full=1-: not a CPU list' <<<"$out"

fresh
rm -rf "$root/sys/devices/system/cpu"
"$asiosctl" topology --root "$root" >/dev/null 2>"$tmp/err"
check "no CPU topology at all: exit 1" test $? = 1
check "no CPU topology at all: clear error" grep -q "cannot read the machine under .*: no CPU topology found" "$tmp/err"
"$asiosctl" topology --root "$tmp/does-not-exist" >/dev/null 2>"$tmp/err"
check "missing root: error names it" grep -q "cannot open root $tmp/does-not-exist: No such file or directory" "$tmp/err"
"$asiosctl" topology --bogus >/dev/null 2>&1
check "unknown option: exit 2" test $? = 2
"$asiosctl" frobnicate >/dev/null 2>"$tmp/err"
check "unknown verb: exit 2 and a message" grep -q "unknown verb 'frobnicate'" "$tmp/err"
done_testing
