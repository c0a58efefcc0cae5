#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# asiosctl snapshot: the topology of a machine equals the topology of its own capture. On this very machine
# (interrupt counters, which move between the two reads, are left out of the comparison) and, exactly, on each
# synthetic fixture captured through --root.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
asiosctl="$top/${ASIOS_BUILD:-build}/asiosctl"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# JSON without the root path and, with --live, without IRQ counters
normalise() {
	python3 -c '
import json, sys
t = json.load(sys.stdin)
t.pop("root")
if sys.argv[1] == "live":
    for q in t["irqs"]:
        q.pop("total")
print(json.dumps(t, indent=1, sort_keys=True))' "$1"
}

cd "$tmp" || exit 1
"$asiosctl" snapshot -o host.tar.gz 2>err
check "capture of this machine" test -s host.tar.gz
tar xzf host.tar.gz
check "one top-level folder named after the file" test -d host/sys/devices/system/cpu
"$asiosctl" topology --json | normalise live >live.json
"$asiosctl" topology --json --root host | normalise live >capture.json
if diff -u live.json capture.json >diff.txt; then check "this machine: topology == topology of its capture" true
else check "this machine: topology == topology of its capture" false; sed 's/^/#   /' diff.txt | head -40; fi
check "no process environment captured" test -z "$(tar tzf host.tar.gz | grep -E '/environ$|serial|uuid')"

for f in "$top"/tests/fixtures/*.tar.gz; do
	name=$(basename "$f" .tar.gz)
	mkdir -p "src-$name" && tar xzf "$f" -C "src-$name"
	root="src-$name/$name"
	"$asiosctl" snapshot --root "$root" -o "cap-$name.tar.xz" 2>/dev/null
	mkdir -p "out-$name" && tar xJf "cap-$name.tar.xz" -C "out-$name"
	"$asiosctl" topology --json --root "$root" | normalise exact >a.json
	"$asiosctl" topology --json --root "out-$name/cap-$name" | normalise exact >b.json
	if diff -u a.json b.json >diff.txt; then check "$name: topology == topology of its capture (xz)" true
	else check "$name: topology == topology of its capture (xz)" false; sed 's/^/#   /' diff.txt | head -40; fi
	echo "$(cat "$root/proc/cmdline") rd.luks.key=secret-value ipmi.password=hunter2" >"$root/proc/cmdline"
	"$asiosctl" snapshot --root "$root" -o "sec-$name.tar.gz" 2>/dev/null
	mkdir -p "sec-$name" && tar xzf "sec-$name.tar.gz" -C "sec-$name"
	check "$name: secrets on the command line redacted" grep -q 'rd.luks.key=<redacted> ipmi.password=<redacted>$' "sec-$name/sec-$name/proc/cmdline"
	check "$name: the other parameters kept" grep -q "^$(cut -d' ' -f1-3 "$root/proc/cmdline") " "sec-$name/sec-$name/proc/cmdline"
done
"$asiosctl" snapshot -o "$tmp/nodir/x.tar.gz" 2>err
check "unwritable output: exit status 1" test $? = 1
check "unwritable output: error names it" grep -q "nodir" err
done_testing
