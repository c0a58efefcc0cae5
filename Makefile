# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: Apache-2.0
#
# ASIOS: the single entry point. `make help` lists the targets.

.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
SHELL := /bin/bash

# Build output (out of tree; `make clean` removes it). O= picks another folder.
O ?= build
# Base profile of image builds and of `make show-base` (config/bases/<BASE>.conf); ARCH defaults to the host's.
BASE ?= bookworm
ARCH ?= $(shell dpkg --print-architecture 2>/dev/null || uname -m)
# Seconds each libFuzzer harness runs in `make check` (longer runs: `make fuzz FUZZ_SECONDS=600`).
FUZZ_SECONDS ?= 15
V ?= 0
ifeq ($(V),0)
Q := @
msg = @printf '  %-8s %s\n' '$(1)' '$(2)';
else
Q :=
msg :=
endif

include packages/build.mk
include benchmarks/bench.mk
-include kernel/kernel.mk
MAN_PAGES := $(sort $(wildcard packages/*/*.[1-8] config/images/*/files/usr/share/man/man[1-8]/*.[1-8]))
UNITS := $(sort $(wildcard packages/*/*.service packages/*/*.socket packages/*/*.timer))
# every shell script (by its #! line) of the build tooling, tests and CI
SH_SCRIPTS := $(shell grep -rlE --exclude-dir=data '^\#!/bin/(ba)?sh' tools tests .ci benchmarks kernel debian config/images 2>/dev/null | sort)

##@ Build
.PHONY: all
all: $(PROGRAMS) ## Build libasios and the programs (into $(O)/)

# Installation layout (Debian's); DESTDIR= stages it for packaging.
PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= /lib/systemd/system
SYSCONFDIR ?= /etc

# AppArmor profiles of the daemons, asiosctl and asios-load's warm unit, and their shared abstractions
APPARMOR_PROFILES := $(patsubst packages/apparmor/%,%,$(filter-out %.md,$(wildcard packages/apparmor/usr.* \
	packages/apparmor/asios-* packages/apparmor/abstractions/asios-*)))

.PHONY: install
install: all ## Install programs, man pages, units and commented default configs (DESTDIR=, PREFIX=/usr)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/asios/irqd.conf.d $(DESTDIR)$(SYSCONFDIR)/asios/numad.conf.d \
		$(DESTDIR)$(SYSCONFDIR)/asios/schedd.conf.d $(DESTDIR)$(SYSCONFDIR)/systemd/system.conf.d \
		$(DESTDIR)$(SYSCONFDIR)/asios/block.conf.d $(DESTDIR)$(SYSCONFDIR)/asios/health.conf.d \
		$(DESTDIR)$(SYSCONFDIR)/asios/net.conf.d $(DESTDIR)$(SYSCONFDIR)/asios/load.conf.d \
		$(DESTDIR)$(SYSCONFDIR)/asios/nic.conf.d $(DESTDIR)$(SYSCONFDIR)/asios/gpu.conf.d \
		$(DESTDIR)$(PREFIX)/lib/$(MULTIARCH)/asios $(DESTDIR)$(PREFIX)/lib/python3/dist-packages
	install -m 0755 $(O)/asios-load $(DESTDIR)$(BINDIR)/asios-load
	install -m 0644 $(LOAD_SO) $(DESTDIR)$(PREFIX)/lib/$(MULTIARCH)/asios/libasios-load.so.0
	install -m 0644 packages/asios-load/asios_load.py $(DESTDIR)$(PREFIX)/lib/python3/dist-packages/asios_load.py
	install -m 0644 packages/asios-load/asios-load.1 $(DESTDIR)$(MANDIR)/man1/asios-load.1
	install -m 0644 packages/asios-load/asios-load-warm@.service $(DESTDIR)$(UNITDIR)/asios-load-warm@.service
	install -m 0644 packages/asios-load/load.conf $(DESTDIR)$(SYSCONFDIR)/asios/load.conf
	install -m 0755 $(O)/asiosctl $(DESTDIR)$(BINDIR)/asiosctl
	install -m 0755 $(O)/asios-irqd $(DESTDIR)$(SBINDIR)/asios-irqd
	install -m 0644 packages/asiosctl/asiosctl.1 $(DESTDIR)$(MANDIR)/man1/asiosctl.1
	install -m 0644 packages/asios-irqd/asios-irqd.8 $(DESTDIR)$(MANDIR)/man8/asios-irqd.8
	install -m 0644 packages/asios-irqd/asios-irqd.service $(DESTDIR)$(UNITDIR)/asios-irqd.service
	install -m 0644 packages/asios-irqd/irqd.conf $(DESTDIR)$(SYSCONFDIR)/asios/irqd.conf
	install -m 0644 packages/asiosctl/block.conf $(DESTDIR)$(SYSCONFDIR)/asios/block.conf
	install -m 0644 packages/asiosctl/net.conf $(DESTDIR)$(SYSCONFDIR)/asios/net.conf
	install -m 0644 packages/asiosctl/nic.conf $(DESTDIR)$(SYSCONFDIR)/asios/nic.conf
	install -m 0644 packages/asiosctl/gpu.conf $(DESTDIR)$(SYSCONFDIR)/asios/gpu.conf
	install -m 0644 packages/asiosctl/asios-net.service $(DESTDIR)$(UNITDIR)/asios-net.service
	install -m 0644 packages/asiosctl/asios-pcie@.service $(DESTDIR)$(UNITDIR)/asios-pcie@.service
	install -D -m 0644 packages/asiosctl/asios-pcie.rules $(DESTDIR)/lib/udev/rules.d/90-asios-pcie.rules
	install -m 0644 packages/asiosctl/asios-tune-verify@.service $(DESTDIR)$(UNITDIR)/asios-tune-verify@.service
	install -m 0644 packages/asiosctl/asios-tune-verify@.timer $(DESTDIR)$(UNITDIR)/asios-tune-verify@.timer
	install -m 0644 packages/asiosctl/asios-workload@.service $(DESTDIR)$(UNITDIR)/asios-workload@.service
	install -m 0644 packages/asiosctl/asios-workload.slice $(DESTDIR)$(UNITDIR)/asios-workload.slice
	install -D -m 0644 packages/asiosctl/asiosctl.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/asiosctl
	install -m 0755 $(O)/asios-numad $(DESTDIR)$(SBINDIR)/asios-numad
	install -m 0644 packages/asios-numad/asios-numad.8 $(DESTDIR)$(MANDIR)/man8/asios-numad.8
	install -m 0644 packages/asios-numad/asios-numad.service $(DESTDIR)$(UNITDIR)/asios-numad.service
	install -m 0644 packages/asios-numad/numad.conf $(DESTDIR)$(SYSCONFDIR)/asios/numad.conf
	install -m 0755 $(O)/asios-schedd $(DESTDIR)$(SBINDIR)/asios-schedd
	install -m 0644 packages/asios-schedd/asios-schedd.8 $(DESTDIR)$(MANDIR)/man8/asios-schedd.8
	install -m 0644 packages/asios-schedd/asios-schedd.service $(DESTDIR)$(UNITDIR)/asios-schedd.service
	install -m 0644 packages/asios-schedd/schedd.conf $(DESTDIR)$(SYSCONFDIR)/asios/schedd.conf
	install -m 0755 $(O)/asios-healthd $(DESTDIR)$(SBINDIR)/asios-healthd
	install -m 0644 packages/asios-healthd/asios-healthd.8 $(DESTDIR)$(MANDIR)/man8/asios-healthd.8
	install -m 0644 packages/asios-healthd/asios-healthd.service $(DESTDIR)$(UNITDIR)/asios-healthd.service
	install -m 0644 packages/asios-healthd/health.conf $(DESTDIR)$(SYSCONFDIR)/asios/health.conf
	install -D -m 0644 packages/asios-healthd/signatures.conf $(DESTDIR)$(PREFIX)/share/asios/health/signatures.conf
	install -D -m 0644 packages/asiosctl/audit.rules $(DESTDIR)$(PREFIX)/share/asios/audit.rules
	install -m 0755 $(O)/asios-exporter $(DESTDIR)$(SBINDIR)/asios-exporter
	install -m 0644 packages/asios-exporter/asios-exporter.8 $(DESTDIR)$(MANDIR)/man8/asios-exporter.8
	install -m 0644 packages/asios-exporter/asios-exporter.service $(DESTDIR)$(UNITDIR)/asios-exporter.service
	install -m 0644 packages/asios-exporter/asios-exporter.socket $(DESTDIR)$(UNITDIR)/asios-exporter.socket
	install -D -m 0644 packages/asios-exporter/node-exporter.conf \
		$(DESTDIR)$(UNITDIR)/prometheus-node-exporter.service.d/asios.conf
	install -D -m 0644 packages/asios-exporter/asios.rules.yml $(DESTDIR)$(PREFIX)/share/asios/prometheus/asios.rules.yml
	install -D -m 0644 packages/asios-exporter/asios-dashboard.json \
		$(DESTDIR)$(PREFIX)/share/asios/grafana/asios-dashboard.json
	install -d $(DESTDIR)$(SYSCONFDIR)/apparmor.d/abstractions
	for p in $(APPARMOR_PROFILES); do install -m 0644 packages/apparmor/$$p $(DESTDIR)$(SYSCONFDIR)/apparmor.d/$$p || exit 1; done

.PHONY: install-base
install-base: ## Install the asios-base defaults (sysctl.d, udev, limits, grub.d, modprobe.d, presets, sshd, ssh, audit, Falco) (DESTDIR=)
	install -D -m 0644 packages/asios-base/sysctl.conf $(DESTDIR)/usr/lib/sysctl.d/60-asios.conf
	install -D -m 0644 packages/asios-base/system.conf $(DESTDIR)/usr/lib/systemd/system.conf.d/60-asios.conf
	install -D -m 0644 packages/asios-base/asios.preset $(DESTDIR)/usr/lib/systemd/system-preset/60-asios.preset
	install -D -m 0644 packages/asios-base/block.rules $(DESTDIR)/lib/udev/rules.d/60-asios-block.rules
	install -D -m 0644 packages/asios-base/modprobe.conf $(DESTDIR)/lib/modprobe.d/asios.conf
	install -D -m 0644 packages/asios-base/limits.conf $(DESTDIR)$(SYSCONFDIR)/security/limits.d/60-asios.conf
	install -D -m 0644 packages/asios-base/grub.cfg $(DESTDIR)$(SYSCONFDIR)/default/grub.d/asios.cfg
	install -D -m 0644 packages/asios-base/sshd.conf $(DESTDIR)$(SYSCONFDIR)/ssh/sshd_config.d/asios.conf
	install -D -m 0644 packages/asios-base/ssh.conf $(DESTDIR)$(SYSCONFDIR)/ssh/ssh_config.d/asios.conf
	install -D -m 0640 packages/asios-base/audit.rules $(DESTDIR)$(SYSCONFDIR)/audit/rules.d/60-asios.rules
	install -D -m 0644 packages/asios-base/falco-rules.yaml $(DESTDIR)$(PREFIX)/share/asios/falco/asios_rules.yaml

.PHONY: deps
deps: ## Install the build dependencies with apt (only what is missing; needs root then)
	$(Q)tools/deps.sh

.PHONY: deps-arm64
deps-arm64: ## Install what the arm64 cross build and its tests under qemu-user need (tools/cross-arm64.list; root)
	$(Q)tools/deps.sh --foreign-arch arm64 tools/cross-arm64.list

.PHONY: deps-riscv64
deps-riscv64: ## Install what the riscv64 preview image needs: qemu-user, U-Boot for qemu (tools/cross-riscv64.list; root)
	$(Q)tools/deps.sh tools/cross-riscv64.list

.PHONY: topology
topology: ## Install missing build deps, build, and show this machine as ASIOS sees it (ROOT= a capture)
	$(Q)tools/deps.sh >/dev/null
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(O)/asiosctl topology --root $(or $(ROOT),/)

##@ Test
.PHONY: check
check: lint all bench-programs ## The test command: static checks, sanitizer unit/golden/daemon tests, fuzz runs, kernel audit, patch check, qemu boots, cloud image
	$(Q)$(MAKE) --no-print-directory O=$(O)/asan SANITIZE=1 test-programs bench-programs
	$(Q)$(MAKE) --no-print-directory O=$(O)/fuzz fuzzers
	$(Q)O=$(O)/asan FUZZ_O=$(O)/fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run-tests

.PHONY: lint
lint: cppcheck shellcheck reuse manlint unitlint kversion dco ## Static checks: cppcheck, shellcheck, reuse, man pages, systemd units, kernel version, sign-offs

.PHONY: check-arm64
check-arm64: ## Cross-build for arm64 into $(O)/arm64 and run the unit and golden tests under qemu-user (minutes)
	$(Q)$(MAKE) --no-print-directory O=$(O)/arm64 ARCH=arm64 all test-programs
	$(Q)tools/check-arm64 $(O)/arm64

# the kernel's inputs (source.conf, patches, fragments) are those kernel/changelog's top entry was made for
.PHONY: kversion
kversion:
	$(call msg,KVERSION,kernel/changelog kernel/version.lock)
	$(Q)tools/kernel-version --check

# every commit after .dco-cutoff signed off by its author (CONTRIBUTING.md, "Sign your work")
.PHONY: dco
dco:
	$(call msg,DCO,commits after .dco-cutoff)
	$(Q)tools/dco-check

.PHONY: cppcheck
cppcheck:
	$(call msg,CPPCHECK,packages tests benchmarks)
	$(Q)cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
		--inline-suppr --suppress=missingIncludeSystem --suppress=readdirCalled --library=posix \
		-I packages/libasios/include -i packages/bpf packages tests/unit tests/fuzz benchmarks
	$(Q)cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
		--inline-suppr --suppress=missingIncludeSystem --library=posix '-DSEC(x)=' packages/bpf

.PHONY: shellcheck
shellcheck:
	$(call msg,SHCHECK,tools tests .ci)
	$(Q)shellcheck -s sh tests/lib.sh
	$(Q)shellcheck -x $(SH_SCRIPTS)

.PHONY: manlint
manlint:
	$(call msg,MANLINT,$(MAN_PAGES))
	$(Q)for m in $(MAN_PAGES); do w=$$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l $$m 2>&1 >/dev/null); \
		[ -z "$$w" ] || { echo "$$m: $$w"; exit 1; }; done

.PHONY: unitlint
unitlint:
	$(call msg,UNITLINT,$(UNITS))
	$(Q)out=$$(systemd-analyze verify --man=no $(UNITS) 2>&1 | grep -v -e 'Cannot find unit for notify-reload' -e 'is not executable: No such file' -e 'Command /usr/sbin/' ); \
		[ -z "$$out" ] || { echo "$$out"; exit 1; }
	$(Q)# an early-boot unit (DefaultDependencies=no) is scored as systemd runs it: systemd-analyze security leaves its
	$(Q)# ProtectSystem=, ProtectHome= and PrivateTmp= out ("special boot phase"), yet the service manager applies them
	$(Q)# (tests/images/test-cloud-image.sh checks the read-only /usr of the running daemons)
	$(Q)t=$$(mktemp -d); trap 'rm -rf "$$t"' EXIT; for u in $(filter %.service,$(UNITS)); do \
		sed '/^DefaultDependencies=no$$/d' $$u >$$t/$${u##*/}; \
		systemd-analyze security --offline=true --threshold=25 $$t/$${u##*/} >/dev/null || \
		{ systemd-analyze security --offline=true $$t/$${u##*/} | tail -n 1; echo "$$u: exposure above 2.5"; exit 1; }; done

.PHONY: reuse
reuse:
	$(call msg,REUSE,lint)
	$(Q)reuse lint --quiet || reuse lint

.PHONY: fuzz fuzz-long
fuzz: fuzzers ## Run every libFuzzer harness for FUZZ_SECONDS (default 15) each
	$(Q)for f in $(FUZZERS); do tests/fuzz/run-fuzzer $$f $(FUZZ_SECONDS) || exit 1; done

FUZZ_LONG_SECONDS ?= 600
fuzz-long: fuzzers ## Every harness FUZZ_LONG_SECONDS (default 600) each, its corpus kept in $(O)/fuzz-corpus/NAME
	$(Q)for f in $(FUZZERS); do echo "== $$(basename $$f)"; \
		tests/fuzz/run-fuzzer $$f $(FUZZ_LONG_SECONDS) $(O)/fuzz-corpus/$$(basename $$f) || exit 1; done

##@ Packages
# the signing key of `make repo`: a GnuPG home (default a throwaway one from `make repo-key`) and optionally
# the key's fingerprint when the home holds several
REPO_GNUPGHOME ?= $(O)/repo-gnupg
REPO_KEY ?=
# a version rebuilt with other contents replaces the published one (no: refuse, as a release repository must)
REPO_REPLACE ?= yes

# kernel images, headers and metapackages of `make kernel` for these flavours (not linux-libc-dev, which would
# replace the base's, nor the debug symbols; the qemu-only test flavour only when named)
REPO_KERNEL_FLAVOURS ?= generic virt rt
REPO_KERNEL_DEBS = $(foreach f,$(wildcard $(foreach k,$(REPO_KERNEL_FLAVOURS),$(O)/kernel/deb/$(k)-*/linux-*.deb)),\
	$(if $(findstring -dbg_,$(f))$(findstring /linux-libc-dev_,$(f)),,$(f)))

# the arm64 .debs of `make debs-arm64`, published beside the native ones when built for the current version from
# the source as it is now (tools/debs-current); older ones are left out, with a line that says so
REPO_ARM64_BUILT = $(wildcard $(O)/debs-arm64/asios_$(ASIOS_VERSION)_arm64.changes)
REPO_ARM64_CHANGES = $(if $(REPO_ARM64_BUILT),$(shell tools/debs-current $(REPO_ARM64_BUILT) 2>/dev/null && \
	echo $(REPO_ARM64_BUILT)))

.PHONY: debs
debs: ## Build the .debs (asios-tuning, asios-base, meta packages) into $(O)/debs; lintian must be clean
	$(Q)tools/build-debs $(O)/debs

.PHONY: debs-arm64
debs-arm64: ## Cross-build the arm64 .debs (asios-tuning, asios-exporter, asios-load) into $(O)/debs-arm64; lintian clean
	$(Q)tools/build-debs --arch arm64 $(O)/debs-arm64

.PHONY: repo-key
repo-key: ## Create a throwaway repository signing key in REPO_GNUPGHOME (default $(O)/repo-gnupg)
	$(Q)GNUPGHOME=$(abspath $(REPO_GNUPGHOME)) tools/repo-key

.PHONY: repo
repo: debs ## Signed apt repository in $(O)/repo (BASE suite) with the .debs and any built kernel .debs
	$(Q)$(if $(REPO_ARM64_BUILT),$(if $(REPO_ARM64_CHANGES),true,echo "make repo: $(REPO_ARM64_BUILT) left out: \
		the source changed after it (make debs-arm64 builds it again)" >&2),true)
	$(Q)GNUPGHOME=$(abspath $(REPO_GNUPGHOME)) tools/repo-publish --repo $(O)/repo --codename $(BASE) \
		$(if $(REPO_KEY),--key $(REPO_KEY)) $(if $(filter yes,$(REPO_REPLACE)),--replace) \
		$(O)/debs/asios_*.changes $(REPO_ARM64_CHANGES) $(REPO_KERNEL_DEBS)

# `make release RELEASE=26.12-alpha.1`: the versioned set in $(O)/release/RELEASE (docs/release.md)
RELEASE ?=
RELEASE_IMAGES ?= no
.PHONY: release
release: ## Release set RELEASE (YY.MM-alpha.N, YY.MM-beta.N, YY.MM): .debs, kernels, signed repository, notes, signed SHA256SUMS (RELEASE_IMAGES=yes: images)
	$(Q)[ -n "$(RELEASE)" ] || { echo "make release: RELEASE=YY.MM-alpha.N, YY.MM-beta.N or YY.MM (docs/release.md)" >&2; exit 2; }
	$(Q)[ -e $(REPO_GNUPGHOME) ] || $(MAKE) --no-print-directory repo-key >/dev/null
	$(Q)GNUPGHOME=$(abspath $(REPO_GNUPGHOME)) tools/release --version $(RELEASE) --out $(O)/release --base $(BASE) \
		--kernel-dir $(O)/kernel/deb $(if $(REPO_KEY),--key $(REPO_KEY)) $(if $(filter yes,$(RELEASE_IMAGES)),--images)

.PHONY: check-nvidia-dkms
check-nvidia-dkms: ## The archive's NVIDIA DKMS driver built against our kernel headers in a chroot (KFLAVOUR=virt|test; minutes)
	$(Q)tests/packaging/nvidia-dkms.sh

.PHONY: check-packaging
check-packaging: ## Only the packaging tests: build, lintian, reproducibility, chroot install/upgrade/purge from the repository
	$(Q)O=$(O)/asan tests/run-tests packaging/

##@ Benchmarks
# the suite of benchmarks/run: each runs baseline and ASIOS (and peers) side by side, BENCH_REPS times
BENCH_SUITE := jitter stream storage checkpoint storage-cache tune tune-randread tune-veth network e2e telemetry health
BENCH_REPS ?= 5

.PHONY: bench
bench: all bench-programs ## All benchmarks, baseline vs ASIOS in one run: report in $(O)/bench/report/ (root; installs benchmarks/deps.list)
	$(Q)tools/deps.sh benchmarks/deps.list
	$(Q)benchmarks/run --build $(O) --reps $(BENCH_REPS)

.PHONY: bench-jitter bench-stream bench-storage bench-checkpoint bench-storage-cache bench-tune bench-tune-randread bench-tune-veth bench-network bench-e2e bench-telemetry bench-health
bench-jitter: ## Wake-up latency on an isolated CPU under load: stock vs asiosctl isolate, and cyclictest
bench-stream: ## STREAM-style bandwidth: stock vs ASIOS NUMA placement
bench-storage: ## Model loading, cold cache: buffered vs ASIOS read-ahead vs io_uring loader vs fio's best
bench-checkpoint: ## Durable checkpoint writes: torch.save + fsync vs asios-load (buffered, O_DIRECT) vs fio
bench-storage-cache: ## The layered cache before a tc-limited remote: no cache, first load, second load, local disk
bench-tune: ## Buffered model loading tuned by asiosctl tune from stock, vs stock, TuneD throughput-performance, asios-base
bench-tune-randread: ## 4 KiB random reads (fio IOPS) tuned by asiosctl tune from stock, vs stock, TuneD, asios-base
bench-tune-veth: ## TCP over veth tuned by asiosctl tune from stock (retransmits guarded), vs stock, TuneD, ASIOS
bench-network: ## Parallel iperf3 over veth between two namespaces: stock vs ASIOS sysctls
bench-e2e: ## PyTorch CPU training and inference: stock vs the ASIOS-tuned machine
bench-telemetry: ## Scrape latency, CPU and RSS: node_exporter vs asios-exporter (this machine, a 96-CPU capture)
bench-health: ## Quiet-period false positives and memory-pressure detection: asios-healthd vs PSI avg10 polled per scrape vs Netdata
$(addprefix bench-,$(BENCH_SUITE)): bench-%: all bench-programs
	$(Q)tools/deps.sh benchmarks/deps.list
	$(Q)benchmarks/run --build $(O) --reps $(BENCH_REPS) --out $(O)/bench/$* $*

.PHONY: bench-observe
bench-observe: $(O)/bench-observe ## Observe-layer speed: /proc/interrupts of 1,152 CPUs, snapshots of big machines
	$(Q)benchmarks/observe/run.sh $(O)

.PHONY: bench-numad
bench-numad: all ## asios-numad vs numad: RSS and CPU of each over the same load, SECONDS each (root; apt-get install numad)
	$(Q)benchmarks/numa/numad-vs-asios.py $(O) $(or $(SECONDS),120)

.PHONY: bench-numa
bench-numa: ## STREAM-style triad in a 2-node qemu guest: pinned local, remote, ASIOS-placed (needs make kernel-test)
	$(Q)O=$(O) tests/vm/numa.sh --bench

.PHONY: bench-boot
bench-boot: deps ## Boot time of the cloud image (our kernel) vs the Debian reference image, same qemu run: $(O)/bench/boot/ (root)
	$(Q)[ -f $(CLOUD_IMAGE) ] || $(MAKE) cloud-image
	$(Q)benchmarks/boot/boot-compare.sh --build $(O) --rounds $(or $(ROUNDS),2)

.PHONY: bench-irqd
bench-irqd: all ## asios-irqd vs irqbalance: placement on fixtures, reaction, idle cost (root, irqbalance installed)
	$(Q)benchmarks/daemons/irqd-vs-irqbalance.py $(O) $(or $(SECONDS),60)

##@ Images
# the ASIOS apt repository an image's /etc/apt/sources.list.d/asios.sources points at, and the image's disk size;
# the image takes our packages from $(O)/repo as it is (`make repo` first to publish newer ones)
IMAGE_REPO_URL ?= https://repo.asios.invalid/
IMAGE_SIZE ?= 2G
# the ASIOS kernel flavour of the cloud image (empty: the variant's, virt, when the repository has it)
IMAGE_KERNEL_FLAVOUR ?=
# the kernel `make run` boots: virt (built when missing), test (the small one of `make check`) or stock
RUN_KERNEL ?= virt
CLOUD_IMAGE = $(O)/images/asios-cloud-$(BASE)-$(ARCH).qcow2
ISO_IMAGE = $(O)/images/asios-iso-$(BASE)-$(ARCH).iso

# the repository the images take our packages from: as it is, or made (with a throwaway key) when missing
.PHONY: image-repo
image-repo:
	$(Q)[ -f $(O)/repo/dists/$(BASE)/InRelease ] || { [ -e $(REPO_GNUPGHOME) ] || \
		$(MAKE) --no-print-directory repo-key >/dev/null; $(MAKE) --no-print-directory repo; }

.PHONY: cloud-image
cloud-image: deps image-repo ## qcow2 cloud image (cloud-init, growpart, serial console, asios-cloud) into $(O)/images, with manifest and SHA256SUMS (root)
	$(Q)tools/build-image --base $(BASE) --arch $(ARCH) --variant cloud --repo $(O)/repo --out $(O)/images \
		--size $(IMAGE_SIZE) --repo-url $(IMAGE_REPO_URL) $(if $(IMAGE_KERNEL_FLAVOUR),--kernel-flavour $(IMAGE_KERNEL_FLAVOUR))

# the kernel the ISO boots and installs: generic (built and published first when missing, the way `make run` does
# for virt; about an hour on two cores, cold) or stock (the repository as it is: the base's kernel unless the
# repository holds linux-asios-generic)
ISO_KERNEL ?= generic

.PHONY: iso
iso: deps image-repo ## Hybrid live ISO (BIOS + UEFI, USB) with asios-server, the unattended installer and our generic kernel (built when missing; ISO_KERNEL=stock: the repository as it is) into $(O)/images, with manifest and SHA256SUMS (root)
	$(Q)$(if $(and $(filter generic,$(ISO_KERNEL)),$(filter amd64,$(ARCH))),tools/make-run --out $(O) --flavour generic \
		--base $(BASE) --arch $(ARCH) --until repo)
	$(Q)tools/build-image --base $(BASE) --arch $(ARCH) --variant iso --repo $(O)/repo --out $(O)/images \
		--repo-url $(IMAGE_REPO_URL)

.PHONY: run
run: deps ## Boot the cloud image with ASIOS's kernel in qemu, console here (builds kernel, repository, image when missing; RUN_KERNEL=virt|test|stock)
	$(Q)tools/make-run --out $(O) --flavour $(RUN_KERNEL) --base $(BASE) --arch $(ARCH)

.PHONY: check-images
ifeq ($(ARCH),$(or $(BUILD_ARCH),$(ARCH)))
check-images: cloud-image iso ## Fresh cloud image and ISO booted under BIOS and UEFI; unattended install from the ISO, the installed disk booted (ARCH=arm64: the arm64 cloud image under UEFI; ARCH=riscv64 BASE=trixie: the riscv64 preview)
	$(Q)ASIOS_CHECK_IMAGES=1 ASIOS_IMAGE=$(CLOUD_IMAGE) ASIOS_ISO=$(ISO_IMAGE) FIRMWARE=bios O=$(O)/images-bios tests/run-tests images/
	$(Q)ASIOS_CHECK_IMAGES=1 ASIOS_IMAGE=$(CLOUD_IMAGE) ASIOS_ISO=$(ISO_IMAGE) FIRMWARE=uefi O=$(O)/images-uefi tests/run-tests images/
else
# a foreign architecture: the cloud image test builds its image itself (our .debs cross-built, our kernel's
# virt flavour for ARCH, the tree under qemu-user) and boots it under UEFI; the ISO is amd64 only
check-images: deps $(if $(filter arm64,$(ARCH)),deps-arm64) $(if $(filter riscv64,$(ARCH)),deps-riscv64)
	$(Q)ASIOS_CHECK_IMAGES=1 ARCH=$(ARCH) FIRMWARE=uefi O=$(O)/images-$(ARCH) tests/run-tests images/test-cloud-image
endif

##@ Base profiles
.PHONY: show-base
show-base: ## Print the resolved base profile (BASE=bookworm|noble, ARCH=, MIRROR= overrides the host's apt mirror)
	$(Q)tools/base-profile --arch $(ARCH) $(BASE)

##@ Housekeeping
.PHONY: clean
clean: ## Remove the build output (refuses while something is mounted under it, e.g. an interrupted image build)
	$(Q)if grep -qF " $(abspath $(O))/" /proc/mounts 2>/dev/null; then \
		echo "clean: still mounted under $(O) (an interrupted image build?):" >&2; \
		grep -F " $(abspath $(O))/" /proc/mounts | cut -d' ' -f2 >&2; \
		echo "unmount them first (umount -R PATH), then make clean" >&2; exit 1; fi
	rm -rf $(O)

.PHONY: help
help: ## List the targets
	@awk 'BEGIN { FS = ":.*## " } \
		/^##@/ { printf "\n%s\n", substr($$0, 5); next } \
		/^[a-zA-Z0-9_-]+:.*## / { printf "  make %-14s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@echo
	@echo "Variables: O=$(O) BASE=$(BASE) ARCH=$(ARCH) FUZZ_SECONDS=$(FUZZ_SECONDS) V=1 (show commands)"
