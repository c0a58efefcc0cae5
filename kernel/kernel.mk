# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: Apache-2.0
#
# Kernel rules, included by the top-level Makefile (which defines O, ARCH, Q and msg).
# docs/kernel.md describes the flavours, fragments, patches and tests.

# kernel flavour of `make kernel` (generic, virt, rt, test; config/kernel/flavour/)
FLAVOUR ?= virt
KERNEL_O = $(O)/kernel
# another kernel tree for `make kernel-rebase-check`
KERNEL_REBASE_SRC ?=

##@ Kernel
.PHONY: kernel-source
kernel-source: ## Fetch, verify (sha256) and unpack the pinned kernel source, apply patches/series
	$(call msg,KSOURCE,$(KERNEL_O))
	$(Q)tools/kernel-source --out $(KERNEL_O) --debian-config amd64

.PHONY: kernel-audit
kernel-audit: kernel-source ## Audit the config fragments of every flavour x arch (olddefconfig; lists what did not survive)
	$(call msg,KAUDIT,all flavours x amd64 arm64 riscv64)
	$(Q)tools/kconfig-audit --out $(KERNEL_O) --jobs 2

.PHONY: kernel
kernel: ## Build linux-image/linux-headers .debs of FLAVOUR (default virt) for ARCH into $(O)/kernel/deb/
	$(call msg,KERNEL,$(FLAVOUR)/$(ARCH))
	$(Q)tools/kernel-build --out $(KERNEL_O) --flavour $(FLAVOUR) --arch $(ARCH) --deb

.PHONY: kernel-test
kernel-test: ## Build the small `test` flavour kernel for ARCH (boot image only)
	$(call msg,KERNEL,test/$(ARCH))
	$(Q)tools/kernel-build --out $(KERNEL_O) --flavour test --arch $(ARCH)

.PHONY: check-vm
check-vm: ## Build the test kernel and boot it under qemu (x86_64, TCG) with the in-guest checks
	$(Q)O=$(O) tests/vm/test-boot-x86_64.sh

.PHONY: check-vm-rt
check-vm-rt: ## The same boot, in-guest checks and tick test on the PREEMPT_RT kernel (builds the rt flavour when missing; 38 min cold)
	$(Q)O=$(O) ASIOS_KERNEL_FLAVOUR=rt tests/vm/test-boot-x86_64.sh

.PHONY: check-vm-numa
check-vm-numa: ## Page migration in the test kernel: a process's pages moved to its node by asiosctl numa apply (qemu, 2 nodes)
	$(Q)O=$(O) tests/vm/numa.sh

.PHONY: check-vm-nic
check-vm-nic: all ## The NIC domain on netdevsim in the test kernel: apply/revert read back by ethtool, re-applied after a link flap and a driver reload (qemu)
	$(Q)O=$(O) tests/vm/test-nic.sh

.PHONY: check-vm-isolation
check-vm-isolation: ## CPU isolation in a 4-vCPU 2-node qemu boot under load: disturbances per isolated CPU, stock vs TuneD vs ASIOS
	$(Q)O=$(O) tests/vm/test-isolation.sh

# the isolation test on the test kernel rebuilt without patches/series: must fail on the tick row alone
.PHONY: check-vm-isolation-unpatched
check-vm-isolation-unpatched: ## The isolation test guards the series: without patches/series ASIOS's isolated CPUs must see ticks
	$(Q)tools/kernel-build --out $(KERNEL_O) --flavour test --arch amd64 --unpatched
	$(Q)mkdir -p $(O)/isolation-unpatched; tap=$(O)/isolation-unpatched/check.tap; \
	O=$(O) ISOLATION_OUT=$(O)/isolation-unpatched ISOLATION_MODES=asios \
		ISOLATION_KERNEL=$(KERNEL_O)/obj/test-amd64/unpatched/bzImage \
		ISOLATION_KERNEL_CONFIG=$(KERNEL_O)/obj/test-amd64/.config tests/vm/test-isolation.sh | tee $$tap; \
	grep -q '^not ok .* - ASIOS: no scheduler tick on the isolated CPUs' $$tap || \
		{ echo "check-vm-isolation-unpatched: no tick seen without the series: the test does not guard it" >&2; exit 1; }; \
	echo "check-vm-isolation-unpatched: as it should, the isolation test sees ticks without patches/series"

.PHONY: check-vm-all
check-vm-all: ## Boot tests for amd64, arm64 and riscv64 (cross-built test kernels; slow under TCG)
	$(Q)for a in amd64 arm64 riscv64; do O=$(O) tests/vm/boot.sh $$a || exit 1; done

# the boot test of `make check-vm` on the x86_64 test kernel rebuilt without patches/series: passes only when
# the tick checks fail for every workload and nothing else does (slow; not part of `make check`)
TICK_WORKLOADS := busy osnoise osnoise1
.PHONY: check-vm-ticks
check-vm-ticks: ## The tick test guards the series: the x86_64 test kernel without patches/series must fail it (rebuilt, booted)
	$(Q)mkdir -p $(KERNEL_O); tap=$(KERNEL_O)/check-vm-ticks.tap; \
	O=$(O) ASIOS_KERNEL_UNPATCHED=1 tests/vm/test-boot-x86_64.sh | tee $$tap; \
	other=$$(grep '^not ok ' $$tap | grep -v ' - tick test (' || true); \
	if [ -n "$$other" ]; then echo "check-vm-ticks: the kernel without the series failed more than the tick test:" >&2; \
		echo "$$other" >&2; exit 1; fi; \
	for w in $(TICK_WORKLOADS); do grep -q "^not ok .* - tick test ($$w)" $$tap || \
		{ echo "check-vm-ticks: the tick test ($$w) passed without the series: it does not guard it" >&2; exit 1; }; done; \
	echo "check-vm-ticks: as it should, the tick test fails without patches/series" \
		"($$(grep -c '^not ok .* - tick test (' $$tap) of $$(grep -c ' - tick test (' $$tap) checks)"

.PHONY: kernel-rebase-archive
kernel-rebase-archive: ## Report per patch against the newest linux-source-6.12 of bookworm-security, trixie and trixie-security
	$(Q)tools/kernel-rebase-archive --out $(O)/rebase

.PHONY: kernel-rebase-check
kernel-rebase-check: ## Report per patch applies/fuzz/fails against KERNEL_REBASE_SRC (another kernel tree or tarball)
	$(Q)tools/patch-rebase-check $(KERNEL_REBASE_SRC)
