#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# The kernel config fragments: annotated, complete per flavour, and every requested option survives
# olddefconfig on every flavour x architecture (tools/kconfig-audit). Config only, no build.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
# the licence tag of kernel patches and fragments (split so that reuse does not read it as ours)
spdx_gpl="SPDX-License""-Identifier: GPL-2.0-only"
kout=build/kernel
mkdir -p "$kout"
frags=config/kernel

# every option line belongs to a block that starts with a comment (the reason)
annotated() {
	awk 'FNR == 1 { prev = "" }
	     /^CONFIG_|^# CONFIG_.* is not set$/ { if (prev == "" ) { print FILENAME ":" FNR ": no reason given"; bad = 1 } }
	     { prev = ($0 ~ /^[[:space:]]*$/) ? "" : $0 }
	     END { exit bad }' "$frags"/*.config "$frags"/*/*.config
}
check "every fragment option is annotated" annotated
all_gpl() { ! grep -L "$spdx_gpl" "$frags"/*.config "$frags"/*/*.config | grep .; }
check "every fragment has the GPL-2.0-only SPDX header" all_gpl
# generic and virt are scoped (defconfig plus their hardware) so that their cold builds fit a working day on
# two cores; each names what it is for: generic the bare-metal AI server's NICs, RDMA, HBAs and BMC,
# virt the clouds' paravirtual and pass-through devices
check "generic starts from defconfig" grep -qx '#@start defconfig' $frags/flavour/generic.config
check "generic has the AI server's NICs, RDMA, HBAs and BMC (ice, bnxt, irdma, mpt3sas, megaraid, IPMI, AST)" bash -c \
	"for o in ICE BNXT INFINIBAND_IRDMA SCSI_MPT3SAS MEGARAID_SAS IPMI_SI DRM_AST; do grep -q \"^CONFIG_\$o=\" $frags/flavour/generic.config || exit 1; done"
check "virt has the clouds' devices (virtio, NVMe, ENA, gVNIC, EFA, Hyper-V, MANA)" bash -c \
	"cat $frags/flavour/virt.config $frags/flavour/virt-amd64.config | grep -c -E '^CONFIG_(VIRTIO_NET|BLK_DEV_NVME|ENA_ETHERNET|GVE|INFINIBAND_EFA|HYPERV_NET|PCI_HYPERV|MICROSOFT_MANA)=' | grep -qx 8"
check "rt states the PREEMPT_RT trade-off" bash -c "grep -q 'TRADE-OFF' $frags/flavour/rt.config && grep -q 'TRANSPARENT_HUGEPAGE' $frags/flavour/rt.config && grep -q 'NUMA_BALANCING' $frags/flavour/rt.config"
for f in generic virt rt; do
	check "$f includes base, latency, net, security and its arch" bash -c \
		"for x in base latency net security arch/%ARCH%; do grep -qx \"#@include \$x.config\" $frags/flavour/$f.config || exit 1; done"
done

if ! tools/kernel-source --out "$kout" --debian-config amd64 >"$kout/test-source.log" 2>&1; then
	sed 's/^/# /' "$kout/test-source.log"
fi
check "kernel source ready" test -f "$kout/src/linux-$(. kernel/source.conf; echo "$KERNEL_VERSION")/Makefile"

# the audit itself, one line per flavour x arch (two at a time)
mkdir -p "$kout/audit"
flavours=$(find $frags/flavour -name '*.config' ! -name '*-*' -printf '%f\n' | sed 's/\.config$//' | sort)
pids=""
for f in $flavours; do
	for a in amd64 arm64 riscv64; do
		tools/kconfig-audit --out "$kout" --flavour "$f" --arch "$a" >"$kout/audit/$f-$a.log" 2>&1 &
		pids="$pids $!:$f-$a"
		if [ "$(jobs -rp | wc -l)" -ge 2 ]; then wait -n 2>/dev/null || true; fi
	done
done
for p in $pids; do
	pid=${p%%:*} name=${p#*:}
	wait "$pid"
	rc=$?
	if [ $rc = 0 ]; then _report 0 "audit $name"; else _report 1 "audit $name"; sed 's/^/#   /' "$kout/audit/$name.log"; fi
done

# the LSMs really on, on every flavour x architecture: AppArmor the only major LSM (no SELinux, Smack or
# TOMOYO in the list, which would take its place), Yama, lockdown and the BPF LSM listed and built
lsm_ok() { # lsm_ok CONFIG
	local l
	l=$(sed -n 's/^CONFIG_LSM="\(.*\)"$/\1/p' "$1")
	for m in apparmor yama lockdown bpf; do
		case ",$l," in *",$m,"*) ;; *) echo "$1: CONFIG_LSM=\"$l\" lacks $m" >&2; return 1 ;; esac
	done
	for m in selinux smack tomoyo; do
		case ",$l," in *",$m,"*) echo "$1: CONFIG_LSM=\"$l\" lists $m" >&2; return 1 ;; esac
	done
	for o in SECURITY_APPARMOR BPF_LSM; do
		grep -qx "CONFIG_$o=y" "$1" || { echo "$1: CONFIG_$o is not y" >&2; return 1; }
	done
}
for f in $flavours; do
	for a in amd64 arm64 riscv64; do
		c=$kout/audit/$f-$a/.config
		if err=$(lsm_ok "$c" 2>&1); then _report 0 "$f-$a: LSMs apparmor, yama, lockdown, bpf; no selinux/smack/tomoyo"
		else _report 1 "$f-$a: LSMs apparmor, yama, lockdown, bpf; no selinux/smack/tomoyo"; echo "#   $err"; fi
	done
done
# module signing with the build's key and SHA-512, enforcement left to module.sig_enforce=1 (per image)
for f in $flavours; do
	c=$kout/audit/$f-amd64/.config
	check "$f: modules signed (MODULE_SIG, MODULE_SIG_ALL, sha512, certs/signing_key.pem), no MODULE_SIG_FORCE" bash -c \
		"grep -qx CONFIG_MODULE_SIG=y $c && grep -qx CONFIG_MODULE_SIG_ALL=y $c && grep -qx 'CONFIG_MODULE_SIG_HASH=\"sha512\"' $c &&
		 grep -qx 'CONFIG_MODULE_SIG_KEY=\"certs/signing_key.pem\"' $c && ! grep -qx CONFIG_MODULE_SIG_FORCE=y $c"
done
# MOK-enrolled keys (DKMS) trusted for modules: the machine keyring, filled from UEFI, behind the secondary one
for f in generic virt rt; do
	check "$f (amd64, arm64, riscv64): MOK keys trusted for modules (machine keyring, UEFI keys)" bash -c \
		"for a in amd64 arm64 riscv64; do c=$kout/audit/$f-\$a/.config; grep -qx CONFIG_INTEGRITY_MACHINE_KEYRING=y \$c &&
		 grep -qx CONFIG_LOAD_UEFI_KEYS=y \$c && grep -qx CONFIG_SECONDARY_TRUSTED_KEYRING=y \$c || exit 1; done"
done

cfg=$kout/audit/test-amd64/.config
for o in NO_HZ_FULL DEBUG_INFO_BTF SCHED_CLASS_EXT CPUSETS NUMA MIGRATION NUMA_BALANCING HUGETLBFS BPF_JIT OSNOISE_TRACER; do
	check "test flavour has $o" grep -qx "CONFIG_$o=y" "$cfg"
done
check_eq "test flavour release suffix: the ABI of kernel/changelog, then -asios-test" \
	"CONFIG_LOCALVERSION=\"-$(tools/kernel-version --abi)-asios-test\"" "$(grep '^CONFIG_LOCALVERSION=' "$cfg")"
check "rt flavour has PREEMPT_RT" grep -qx 'CONFIG_PREEMPT_RT=y' "$kout/audit/rt-amd64/.config"
check "rt flavour lost THP as stated" bash -c "! grep -qx 'CONFIG_TRANSPARENT_HUGEPAGE=y' $kout/audit/rt-amd64/.config"
check "virt flavour has sched_ext (Debian's kernels do not)" grep -qx 'CONFIG_SCHED_CLASS_EXT=y' "$kout/audit/virt-amd64/.config"
# the scheduler knobs asios-schedd and asiosctl tune set live in debugfs sched/, which x86's defconfig leaves out
for f in generic virt rt; do
	check "$f flavour has the scheduler's debugfs knobs (SCHED_DEBUG) on every architecture" bash -c \
		"for a in amd64 arm64 riscv64; do grep -qx CONFIG_SCHED_DEBUG=y $kout/audit/$f-\$a/.config || exit 1; done"
done

# the audit must fail, naming the option and the unmet dependency, when a fragment asks for too much
bad=$(mktemp -d)
trap 'rm -rf "$bad"' EXIT
mkdir -p "$bad/flavour"
cp $frags/flavour/test-amd64.config "$bad/flavour/"
printf '#@start allnoconfig\n#@include flavour/test-%%ARCH%%.config\n# r\nCONFIG_SMP=y\nCONFIG_BPF_SYSCALL=y\nCONFIG_SCHED_CLASS_EXT=y\n' >"$bad/flavour/bad.config"
check_fail "audit names a dropped option and its unmet dependency" \
	'unmet dependency: depends on BPF_SYSCALL && BPF_JIT && DEBUG_INFO_BTF' \
	env ASIOS_KCONFIG_FRAGMENTS="$bad" tools/kconfig-audit --out "$kout" --flavour bad --arch amd64
done_testing
