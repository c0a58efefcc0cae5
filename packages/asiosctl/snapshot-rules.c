/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "asios/domain.h"
#include "redact.h"
#include "snapshot.h"

#define PCIFN "[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7]"

static const struct copy_rule copy_allow[] = {
	{ "/proc/cmdline", COPY_TEXT, "isolcpus=, nohz_full=, rcu_nocbs=, irqaffinity=; the command line shown" },
	{ "/proc/cpuinfo", COPY_TEXT, "hwloc: CPU models; the architecture" },
	{ "/proc/meminfo", COPY_TEXT, "hwloc: the machine's memory" },
	{ "/proc/*/mounts", COPY_TEXT, "cgroup mount points (/proc/mounts is a link to /proc/self/mounts)" },
	{ "/proc/mounts", COPY_TEXT, "cgroup mount points" },
	{ "/proc/*/cgroup", COPY_TEXT, "the cgroup the cpuset restriction comes from (/proc/self)" },
	{ "/proc/*/cpuset", COPY_TEXT, "hwloc: the cpuset of a cgroup v1 machine (/proc/self)" },
	{ "/proc/*/status", COPY_TEXT, "hwloc: Cpus_allowed and Mems_allowed (/proc/self)" },
	{ "/proc/interrupts", COPY_TEXT, "IRQs, their names and per-CPU counts" },
	{ "/proc/irq/[0-9]*/smp_affinity_list", COPY_TEXT, "IRQ affinity" },
	{ "/proc/irq/[0-9]*/smp_affinity", COPY_TEXT, "IRQ affinity (kernels without the list form)" },
	{ "/proc/irq/[0-9]*/effective_affinity_list", COPY_TEXT, "where an IRQ is delivered" },
	{ "/proc/irq/[0-9]*/effective_affinity", COPY_TEXT, "where an IRQ is delivered (mask form)" },
	{ "/proc/sys/kernel/osrelease", COPY_TEXT, "the kernel release" },
	{ "/proc/sys/kernel/numa_balancing", COPY_TEXT, "NUMA domain: whether AutoNUMA runs" },
	{ "/proc/sys/kernel/watchdog_cpumask", COPY_TEXT, "isolation domain: the CPUs of the lockup watchdog" },
	{ "/proc/irq/default_smp_affinity", COPY_TEXT, "isolation domain: where new IRQs start" },
	{ "/sys/devices/virtual/workqueue/cpumask", COPY_TEXT, "isolation domain: the CPUs of unbound work items" },
	{ "/sys/bus/workqueue/devices/writeback/cpumask", COPY_TEXT, "isolation domain: the CPUs of writeback" },
	{ "/sys/fs/cgroup/*.slice/cpuset.*", COPY_TEXT, "isolation domain: the workload slice's CPUs and partition" },
	{ "/sys/fs/cgroup/*.slice/cgroup.controllers", COPY_TEXT, "isolation domain: whether the slice has cpuset" },
	{ "/sys/fs/cgroup/cgroup.subtree_control", COPY_TEXT, "isolation domain: controllers given to the slices" },
	{ "/etc/default/grub.d/asios-*", COPY_TEXT, "isolation domain: the command line ASIOS wrote" },
	{ "/etc/modules-load.d/asios-*", COPY_TEXT, "gpu domain: the modules ASIOS loads at boot (nvidia-peermem)" },
	{ "/proc/driver/nvidia/version", COPY_TEXT, "gpu domain: NVIDIA's kernel module, open or proprietary (peer memory)" },
	{ "/sys/module/nvidia_peermem/initstate", COPY_TEXT, "gpu domain: nvidia-peermem loaded" },
	{ "/*lib/systemd/system/nvidia-persistenced.service", COPY_TEXT,
	  "gpu domain: NVIDIA's persistence daemon installed, and how its unit starts it (persistence mode)" },
	{ "/etc/systemd/system/nvidia-persistenced.service*", COPY_TEXT,
	  "gpu domain: the persistence daemon's unit masked or replaced, its drop-ins (ASIOS's and others')" },
	{ "/etc/systemd/system/multi-user.target.wants/nvidia-persistenced.service", COPY_TEXT,
	  "gpu domain: the persistence daemon enabled" },
	{ "/etc/systemd/system/multi-user.target.d/asios-*", COPY_TEXT, "gpu domain: the persistence daemon ASIOS starts" },
	{ "/etc/systemd/system.conf.d/*-asios-*", COPY_TEXT, "isolation domain: the CPUAffinity= ASIOS wrote" },
	{ "/proc/config.gz", COPY_GZIP, "the kernel configuration (audited options)" },
	{ "/proc/sys/kernel/kptr_restrict", COPY_TEXT, "audit: kernel pointers hidden" },
	{ "/proc/sys/kernel/dmesg_restrict", COPY_TEXT, "audit: kernel log restricted" },
	{ "/proc/sys/kernel/perf_event_paranoid", COPY_TEXT, "audit: unprivileged perf" },
	{ "/proc/sys/kernel/unprivileged_bpf_disabled", COPY_TEXT, "audit: unprivileged eBPF" },
	{ "/proc/sys/kernel/yama/ptrace_scope", COPY_TEXT, "audit: ptrace restriction" },
	{ "/proc/sys/kernel/randomize_va_space", COPY_TEXT, "audit: ASLR" },
	{ "/proc/sys/kernel/kexec_load_disabled", COPY_TEXT, "audit: kexec" },
	{ "/proc/sys/kernel/io_uring_disabled", COPY_TEXT, "audit: io_uring" },
	{ "/proc/sys/vm/unprivileged_userfaultfd", COPY_TEXT, "audit: userfaultfd" },
	{ "/proc/sys/net/core/bpf_jit_harden", COPY_TEXT, "audit: eBPF JIT hardening" },
	{ "/proc/sys/dev/tty/ldisc_autoload", COPY_TEXT, "audit: TTY line discipline autoloading" },
	{ "/proc/sys/fs/protected_*", COPY_TEXT, "audit: link, FIFO and file protections" },
	{ "/proc/sys/fs/suid_dumpable", COPY_TEXT, "audit: core dumps of privileged processes" },
	{ "/sys/kernel/security/lsm", COPY_TEXT, "audit: the active security modules" },
	{ "/sys/kernel/security/lockdown", COPY_TEXT, "audit: kernel lockdown mode" },
	{ "/sys/module/module/parameters/sig_enforce", COPY_TEXT, "audit: module signatures enforced" },
	{ "/boot/config-*", COPY_TEXT, "the kernel configuration where /proc/config.gz is missing" },
	{ "/etc/asios/*", COPY_TEXT, "ASIOS's own policy files: a plan on the capture is made with the machine's policy" },
	{ "/sys/devices/system/cpu/*", COPY_TEXT,
	  "hwloc: CPUs, SMT siblings, caches, frequencies, capacities; isolated, nohz_full, possible, online" },
	{ "/sys/devices/system/node/*", COPY_TEXT, "hwloc: NUMA nodes, their CPUs, distances, memory and huge pages" },
	{ "/sys/*/" PCIFN "/vendor", COPY_TEXT, "PCI identity: vendor (GPU, NIC, NVMe classification)" },
	{ "/sys/*/" PCIFN "/device", COPY_TEXT, "PCI identity: device" },
	{ "/sys/*/" PCIFN "/subsystem_vendor", COPY_TEXT, "PCI identity: subsystem vendor" },
	{ "/sys/*/" PCIFN "/subsystem_device", COPY_TEXT, "PCI identity: subsystem device" },
	{ "/sys/*/" PCIFN "/class", COPY_TEXT, "PCI class (GPU, NIC, NVMe, accelerator)" },
	{ "/sys/*/" PCIFN "/revision", COPY_TEXT, "PCI revision" },
	{ "/sys/*/" PCIFN "/numa_node", COPY_TEXT, "the NUMA node of a PCI function" },
	{ "/sys/*/" PCIFN "/local_cpulist", COPY_TEXT, "the CPUs near a PCI function" },
	{ "/sys/*/" PCIFN "/local_cpus", COPY_TEXT, "the CPUs near a PCI function (mask form)" },
	{ "/sys/*/" PCIFN "/irq", COPY_TEXT, "the legacy IRQ of a PCI function" },
	{ "/sys/*/" PCIFN "/msi_irqs/[0-9]*", COPY_TEXT, "the MSI vectors of a PCI function (IRQ ownership)" },
	{ "/sys/*/" PCIFN "/current_link_speed", COPY_TEXT, "PCIe link speed" },
	{ "/sys/*/" PCIFN "/current_link_width", COPY_TEXT, "PCIe link width" },
	{ "/sys/*/" PCIFN "/max_link_speed", COPY_TEXT, "PCIe link speed the device can do" },
	{ "/sys/*/" PCIFN "/max_link_width", COPY_TEXT, "PCIe link width the device can do" },
	{ "/sys/*/" PCIFN "/modalias", COPY_TEXT, "for bug reports: the driver match of a PCI function" },
	{ "/sys/*/" PCIFN "/enable", COPY_TEXT, "for bug reports: whether a PCI function is enabled" },
	{ "/sys/*/" PCIFN "/power_state", COPY_TEXT, "for bug reports: PCI power state" },
	{ "/sys/*/" PCIFN "/label", COPY_TEXT, "for bug reports: the firmware's label of a device" },
	{ "/sys/*/" PCIFN "/sriov_numvfs", COPY_TEXT, "for bug reports: SR-IOV virtual functions enabled" },
	{ "/sys/*/" PCIFN "/sriov_totalvfs", COPY_TEXT, "for bug reports: SR-IOV virtual functions possible" },
	{ "/sys/*/" PCIFN "/aer_dev_*", COPY_TEXT, "for bug reports: PCIe error counters" },
	{ "/sys/*/net/*/ifindex", COPY_TEXT, "for bug reports: interface index of a NIC" },
	{ "/sys/*/net/*/mtu", COPY_TEXT, "for bug reports: MTU of a NIC" },
	{ "/sys/*/net/*/speed", COPY_TEXT, "for bug reports: link speed of a NIC" },
	{ "/sys/*/net/*/operstate", COPY_TEXT, "for bug reports: link state of a NIC" },
	{ "/sys/*/net/*/type", COPY_TEXT, "for bug reports: link type of a NIC (Ethernet, InfiniBand)" },
	{ "/sys/*/net/*/tx_queue_len", COPY_TEXT, "for bug reports: transmit queue length of a NIC" },
	{ "/sys/*/infiniband/*/dev", COPY_TEXT, "for bug reports: device number of an RDMA device" },
	{ "/sys/*/infiniband/*/node_type", COPY_TEXT, "for bug reports: kind of RDMA device" },
	{ "/sys/*/infiniband/*/fw_ver", COPY_TEXT, "for bug reports: firmware of an RDMA device" },
	{ "/sys/*/infiniband/*/hca_type", COPY_TEXT, "for bug reports: model of an RDMA device" },
	{ "/sys/*/infiniband/*/ports/*/state", COPY_TEXT, "RDMA ports: logical state (asiosctl topology)" },
	{ "/sys/*/infiniband/*/ports/*/phys_state", COPY_TEXT, "RDMA ports: physical state" },
	{ "/sys/*/infiniband/*/ports/*/link_layer", COPY_TEXT, "RDMA ports: InfiniBand or Ethernet (RoCE)" },
	{ "/sys/*/infiniband/*/ports/*/rate", COPY_TEXT, "RDMA ports: link rate" },
	{ "/sys/*/infiniband/*/ports/*/gid_attrs/types/*", COPY_TEXT,
	  "RDMA ports: the GID entries in use and their RoCE version (the GIDs themselves, addresses, are not copied)" },
	{ "/sys/*/infiniband/*/ports/*/gid_attrs/ndevs/*", COPY_TEXT, "RDMA ports: the interface of each GID entry" },
	{ "/sys/*/infiniband/*/parent", COPY_TEXT, "soft-RoCE: the interface an rxe device runs on" },
	{ "/sys/*/net/*/queues/rx-*/rps_cpus", COPY_TEXT, "NIC domain: the CPUs RPS spreads a receive queue's packets over" },
	{ "/sys/*/net/*/queues/rx-*/rps_flow_cnt", COPY_TEXT, "NIC domain: a receive queue's RFS flow table" },
	{ "/proc/sys/net/core/rps_sock_flow_entries", COPY_TEXT, "NIC domain: RFS's table of the CPUs flows are read on" },
	{ "/capture/ethtool/*", COPY_TEXT,
	  "NIC domain: queue counts, ring sizes and coalescing of each interface, from ethtool netlink (numbers)" },
	{ "/capture/pcie/*", COPY_TEXT,
	  "NIC domain: read-request size and relaxed ordering of each PCI function, three register values from its "
	  "configuration space (which is never copied)" },
	{ "/sys/*/nvme/*/dev", COPY_TEXT, "for bug reports: device number of an NVMe controller" },
	{ "/sys/*/nvme/*/model", COPY_TEXT, "for bug reports: model of an NVMe controller" },
	{ "/sys/*/nvme/*/firmware_rev", COPY_TEXT, "for bug reports: firmware of an NVMe controller" },
	{ "/sys/*/nvme/*/queue_count", COPY_TEXT, "for bug reports: I/O queues of an NVMe controller" },
	{ "/sys/*block/*/queue/read_ahead_kb", COPY_TEXT, "block domain: read-ahead of a disk" },
	{ "/sys/*block/*/queue/nr_requests", COPY_TEXT, "block domain: scheduler queue depth of a disk" },
	{ "/sys/*block/*/queue/rq_affinity", COPY_TEXT, "block domain: completion CPU of a disk" },
	{ "/sys/*block/*/queue/scheduler", COPY_TEXT, "block domain: I/O scheduler of a disk" },
	{ "/sys/*block/*/queue/rotational", COPY_TEXT, "block domain: solid-state or rotating disk" },
	{ "/sys/kernel/irq/[0-9]*/actions", COPY_TEXT, "IRQ names (owning device)" },
	{ "/sys/kernel/irq/[0-9]*/chip_name", COPY_TEXT, "IRQ chips" },
	{ "/sys/kernel/irq/[0-9]*/hwirq", COPY_TEXT, "hardware IRQ numbers" },
	{ "/sys/kernel/debug/irq/irqs/[0-9]*", COPY_TEXT, "kernel-managed IRQs (IRQD_AFFINITY_MANAGED)" },
	{ "@cgroup/cpuset.*", COPY_TEXT, "the CPUs and memory nodes of the cgroup (cpuset restriction)" },
	{ "@cgroup/cgroup.controllers", COPY_TEXT, "the controllers of the cgroup" },
	{ "@cgroup/cgroup.subtree_control", COPY_TEXT, "for bug reports: the controllers of its children" },
	{ "@cgroup/cgroup.type", COPY_TEXT, "for bug reports: the cgroup's type (threaded, domain)" },
	{ "@cgroup/cpus", COPY_TEXT, "cpuset of a cgroup v1 cpuset mount without prefixes" },
	{ "@cgroup/mems", COPY_TEXT, "cpuset of a cgroup v1 cpuset mount without prefixes" },
	{ "@cgroup/effective_cpus", COPY_TEXT, "cpuset of a cgroup v1 cpuset mount without prefixes" },
	{ "@cgroup/effective_mems", COPY_TEXT, "cpuset of a cgroup v1 cpuset mount without prefixes" },
};

/* never copied nor followed, allow-list or not: a path with a component matching one of these */
static const struct copy_rule never[] = {
	{ "environ", COPY_TEXT, "process environments" },
	{ "mem", COPY_TEXT, "process memory" },
	{ "pagemap", COPY_TEXT, "process memory maps" },
	{ "kcore", COPY_TEXT, "kernel memory" },
	{ "kmsg", COPY_TEXT, "kernel log" },
	{ "config", COPY_TEXT, "PCI configuration space: device serial numbers, VPD" },
	{ "vpd", COPY_TEXT, "PCI vital product data: serial and part numbers" },
	{ "rom", COPY_TEXT, "PCI option ROMs" },
	{ "address", COPY_TEXT, "MAC addresses of network interfaces" },
	{ "perm_addr", COPY_TEXT, "permanent MAC addresses" },
	{ "*serial*", COPY_TEXT, "serial numbers" },
	{ "*uuid*", COPY_TEXT, "UUIDs" },
	{ "cpuidle", COPY_TEXT, "noise: idle-state counters" },
	{ "power", COPY_TEXT, "noise: runtime power management" },
	{ "uevent", COPY_TEXT, "noise: uevent variables" },
};

/* a component of PATH is on the never-list */
bool excluded(const char *path)
{
	char buf[PATH_MAX], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save))
		for (size_t i = 0; i < N_OF(never); i++)
			if (!fnmatch(never[i].glob, t, 0))
				return true;
	return false;
}

/* a knob of a registered domain's table (a fixed path: sysctls, scheduler debug files) is copied too */
static const struct copy_rule *domain_knob(const char *path)
{
	static const struct copy_rule knob_rule = { "(a knob of a domain)", COPY_TEXT, "a knob a domain sets" };
	size_t n, k;
	const struct asios_domain *const *d = asios_domains(&n);

	for (size_t i = 0; i < n; i++) {
		const struct asios_knob *t = d[i]->knobs ? d[i]->knobs(&k) : NULL;

		for (size_t j = 0; t && j < k; j++)
			if (!strchr(t[j].path, '%') && !strcmp(t[j].path, path))
				return &knob_rule;
	}
	return NULL;
}

/* the allow-list entry PATH (normalised, absolute) falls under; NULL: not copied */
const struct copy_rule *allowed(const struct capture *c, const char *path)
{
	size_t n = strlen(c->cgroup);

	for (size_t i = 0; i < N_OF(copy_allow); i++) {
		const char *g = copy_allow[i].glob;

		if (!strncmp(g, "@cgroup/", 8)) {
			if (n && !strncmp(path, c->cgroup, n) && path[n] == '/' &&
			    !fnmatch(g + 8, path + n + 1, FNM_PATHNAME))
				return &copy_allow[i];
		} else if (!fnmatch(g, path, 0)) {
			return &copy_allow[i];
		}
	}
	return process_rule(c, path) ? process_rule(c, path) : domain_knob(path);
}

/* what is taken of the processes the domains read: nothing of any other process but its status */
static const struct copy_rule proc_files[] = {
	{ "stat", COPY_TEXT, "kernel threads and workloads: flags (PF_KTHREAD) and start time" },
	{ "comm", COPY_TEXT, "workloads: the name a [workload] command pattern matches" },
	{ "cmdline", COPY_TEXT, "workloads: the command line a [workload] command pattern matches (redacted)" },
	{ "cgroup", COPY_TEXT, "workloads: the cgroup a [workload] cgroup pattern matches" },
	{ "numa_maps", COPY_TEXT, "workloads: pages per NUMA node (what a migration moves)" },
	{ "fd/*", COPY_TEXT, "workloads: the accelerator files held open (links into /dev only)" },
};

const struct copy_rule *process_rule(const struct capture *c, const char *path)
{
	long pid;
	int at = 0;

	if (sscanf(path, "/proc/%ld/%n", &pid, &at) != 1 || !at)
		return NULL;
	for (size_t i = 0; i < c->n_procs; i++) {
		if (c->procs[i].pid != pid)
			continue;
		for (size_t j = 0; j < N_OF(proc_files); j++)
			if ((c->procs[i].workload || j == 0) && !fnmatch(proc_files[j].glob, path + at, FNM_PATHNAME))
				return &proc_files[j];
	}
	return NULL;
}

void print_rules(void)
{
	const char *const *words, *const *parts, *except, *name, *what;

	printf("Files copied (their content; anything else a listed folder holds is left out):\n");
	for (size_t i = 0; i < N_OF(copy_allow); i++) {
		const char *g = copy_allow[i].glob, *fn = strstr(g, PCIFN);
		char shown[256];

		/* (the PCI function pattern as the address it matches) */
		if (fn)
			snprintf(shown, sizeof(shown), "%.*sDDDD:BB:DD.F%s", (int)(fn - g), g, fn + strlen(PCIFN));
		else
			snprintf(shown, sizeof(shown), "%s", g);
		printf("  %-44s %s%s\n", shown, copy_allow[i].why,
		       copy_allow[i].as == COPY_GZIP ? " (gzip: redacted inside)" : "");
	}
	printf("\nOf a process a domain reads (/proc/PID/…: kernel threads, workloads), besides its status:\n");
	for (size_t i = 0; i < N_OF(proc_files); i++)
		printf("  %-44s %s\n", proc_files[i].glob, proc_files[i].why);
	printf("\nNever copied (a path with such a component):\n");
	for (size_t i = 0; i < N_OF(never); i++)
		printf("  %-44s %s\n", never[i].glob, never[i].why);
	printf("\nRedaction rules (every file copied; the secret part of a match becomes %s):\n", REDACT_MARKER);
	for (size_t i = 0; redact_rule(i, &name, &what); i++)
		printf("  %-22s %s\n", name, what);
	redact_secret_names(&words, &parts, &except);
	printf("\nA NAME names a secret when it contains");
	for (size_t i = 0; words[i]; i++)
		printf("%s %s", i ? "," : "", words[i]);
	printf(",\nor one of its parts (split at . _ - and small-to-capital changes, trailing digits dropped) is");
	for (size_t i = 0; parts[i]; i++)
		printf("%s %s", i ? "," : "", parts[i]);
	printf(",\nin any case; never when it starts with %s.\n", except);
}
