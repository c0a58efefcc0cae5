#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# Observe-layer speed: /proc/interrupts parsing (the 1,152-CPU server sample, 13 MiB) and whole snapshot loads
# of the largest fixture machines and of this machine, optimised build, median of REPEAT runs.
#   benchmarks/observe/run.sh BUILD_DIR [REPEAT]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$1
repeat=${2:-11}
shared=${ASIOS_SHARED:-$top/../shared}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bzip2 -dc "$shared/fixtures/proc-interrupts/pcp-interrupts-1152cpu-x86_64.bz2" >"$tmp/interrupts-1152cpu"
cp "$shared/fixtures/proc-interrupts/node_exporter-interrupts-4cpu-x86_64" "$tmp/interrupts-4cpu"
roots=()
for f in 256ppc-8n8s4t 128arm-2pa2n8cluster4co 32em64t-2n8c+dax+nvme+mic+dimms; do
	mkdir -p "$tmp/$f" && tar xjf "$shared/fixtures/hwloc-linux/$f.tar.bz2" -C "$tmp/$f"
	roots+=("$(echo "$tmp/$f"/*/)")
done
for f in ai-2s8g gh200; do
	mkdir -p "$tmp/$f" && tar xzf "$top/tests/fixtures/$f.tar.gz" -C "$tmp/$f"
	roots+=("$tmp/$f/$f")
done
echo "observe benchmark: $(uname -m), $(nproc) CPUs, $repeat runs each"
"$build/bench-observe" "$repeat" "$tmp/interrupts-1152cpu" "$tmp/interrupts-4cpu" "${roots[@]}" /
