/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The NIC domain (domain.h): each network device's queue count, ring sizes and interrupt coalescing, through
 * ethtool netlink (asios/ethtool.h; on a capture, its emulation). Observe: asios_nic_observe() lists the
 * interfaces backed by a device (/sys/class/net/NAME/device: not lo, veth, bridges, tunnels) and reads their
 * three groups. Plan: asios_nic_plan() is pure:
 *   - channels: one queue per housekeeping core (online, not isolated, not nohz_full; SMT siblings count once)
 *     of the device's NUMA node (of the machine when the node is unknown), up to the device's maximum;
 *     combined queues where the device has them, else rx and tx;
 *   - rings (throughput profile): rx and tx raised to 8192 or the device's maximum, never lowered;
 *   - coalescing: adaptive moderation on (throughput), or off with rx-usecs 0 (latency);
 *   - RPS (throughput profile): where the device has at most half as many receive queues as those cores,
 *     each queue's rps_cpus (a sysfs write) spreads received packets' protocol work over the housekeeping
 *     CPUs of the node; rps = 0 turns RPS off;
 *   - RFS (throughput profile), with the RPS spread above on a machine without isolated or nohz_full CPUs:
 *     each queue's rps_flow_cnt (32768 entries shared by the queues, a power of two each) and the sockets'
 *     table, net.core.rps_sock_flow_entries, raised to 32768 (writes); rfs = 0 turns each queue's table off;
 *   - PCI Express read requests (both profiles): 4096 bytes, NVIDIA's recommendation for its ConnectX adapters,
 *     on a ConnectX function that shares a PCIe switch with a GPU (GPUDirect RDMA reads GPU memory in fewer,
 *     larger requests), in its Device Control register (an ASIOS_ACTION_PCIE action); another NIC, or one
 *     without a GPU behind its switch, is left alone with the reason; pcie.read_request = N sets N bytes on
 *     every NIC whose registers ASIOS can read;
 * each ethtool change an action of kind ASIOS_ACTION_ETHTOOL with its reason, each thing left alone a skip with
 * its.
 * The RSS indirection table is left to the kernel's default, which spreads flows evenly over all receive
 * queues: with the queues sized to the node and their IRQs placed by asios-irqd, that is the node's cores.
 * /etc/asios/nic.conf and nic.conf.d/ override:
 *   [nic]                      profile = throughput|latency
 *                              latency = GLOB…   interfaces on the latency profile
 *                              leave = GLOB…     interfaces left alone
 *   [throughput] [latency]     KNOB = VALUE|leave   (channels = auto|N, rps = auto|0, rfs = auto|0,
 *                                                   pcie.read_request = auto|128…4096)
 */

#include <stdbool.h>
#include <stddef.h>

#include <hwloc.h>

#include "asios/config.h"
#include "asios/domain.h"
#include "asios/ethtool.h"
#include "asios/pcie.h"

struct asios_plan;
struct asios_root;
struct asios_snapshot;

#define ASIOS_NIC_CONF "/etc/asios/nic.conf"
#define ASIOS_NIC_CONF_D "/etc/asios/nic.conf.d"
#define ASIOS_NIC_JOURNAL "/run/asios/nic.journal"

enum asios_nic_profile { ASIOS_NIC_THROUGHPUT, ASIOS_NIC_LATENCY, _ASIOS_NIC_PROFILE_MAX };
#define ASIOS_NIC_KNOBS 9

struct asios_nic_policy {
	int profile;             /* enum asios_nic_profile */
	char **latency, **leave; /* interface globs, NULL-terminated or NULL */
	size_t n_latency, n_leave;
	struct asios_knob_value knob[_ASIOS_NIC_PROFILE_MAX][ASIOS_NIC_KNOBS];
};

extern const struct asios_conf_format asios_nic_policy_format;
int asios_nic_policy_parse(struct asios_nic_policy *p, const char *text, const char *origin, char **error);
int asios_nic_policy_init(struct asios_nic_policy *p);
void asios_nic_policy_clear(struct asios_nic_policy *p);

struct asios_nic {
	char *name;
	int device;              /* index in snapshot pci[] of its PCI function, -1 (netdevsim, virtual buses) */
	int node;                /* its NUMA node, -1 unknown */
	unsigned cores;          /* housekeeping cores of that node (of the machine when unknown) */
	struct asios_eth_values eth[_ASIOS_ETH_GROUP_MAX];
	int err[_ASIOS_ETH_GROUP_MAX]; /* 0, or -errno of reading the group */
	unsigned n_rx;           /* receive queues (/sys/class/net/NAME/queues/rx-N) */
	char **rps;              /* rps_cpus of rx-0 … rx-(n_rx-1) as read; an entry NULL: not readable */
	int rps_err;             /* 0, -ENOENT (no rx-N in queues/), -EOPNOTSUPP (no rps_cpus: a kernel without RPS) */
	char **flow_cnt;         /* rps_flow_cnt of each receive queue as read ("" where not readable) */
	int rfs_err;             /* 0, -EOPNOTSUPP (no rps_flow_cnt of rx-0) */
	hwloc_bitmap_t hk;       /* housekeeping CPUs of that node (of the machine), every SMT sibling */
	char addr[16];           /* its PCI function's address, "" without one */
	uint16_t vendor;         /* its PCI vendor (0x15b3: NVIDIA's ConnectX), 0 without a function */
	struct asios_pcie pcie;  /* that function's PCI Express registers (pcie.cap 0: not read) */
	int pcie_err;            /* why not (struct asios_pci_device) */
	int gpu;                 /* index in snapshot pci[] of a GPU or accelerator behind the same PCIe switch
				  * (PIX or PXB, as nvidia-smi topo -m says), -1 none */
	unsigned nbits;          /* the width of the kernel's CPU masks (nr_cpu_ids) */
};

struct asios_nic_state {
	struct asios_nic *nics;
	size_t n;
	char **warnings;         /* NULL-terminated */
	size_t n_warnings;
	char *sock_flow;         /* /proc/sys/net/core/rps_sock_flow_entries, NULL when not readable */
	char *isolated_cpus;     /* online CPUs isolated or nohz_full (RFS could steer work onto them), a list; NULL: none */
};

int asios_nic_observe(struct asios_root *root, const struct asios_snapshot *s, struct asios_nic_state **ret);
void asios_nic_state_free(struct asios_nic_state *st);
int asios_nic_plan(const struct asios_nic_state *st, const struct asios_nic_policy *p, struct asios_plan **ret);

const char *asios_nic_profile_name(int profile);
extern const struct asios_domain asios_nic_domain;
