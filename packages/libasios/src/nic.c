/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ethtool_netlink.h>

#include "asios/config.h"
#include "asios/cpulist.h"
#include "asios/ethtool.h"
#include "asios/nic-plan.h"
#include "asios/plan.h"
#include "asios/root.h"
#include "asios/snapshot.h"
#include "domain-adapt.h"
#include "nic-internal.h"
#include "util.h"

/*
 * The NIC domain (nic-plan.h): queue count, rings and coalescing per interface, as data. The columns are the
 * profiles. Every knob is marked unsafe for the auto-tuner: a change of queues or rings makes most drivers
 * rebuild their queues (a short loss of traffic), which a benchmark trial cannot price.
 */

#define T ASIOS_NIC_THROUGHPUT
#define L ASIOS_NIC_LATENCY

enum { K_CHANNELS, K_RING_RX, K_RING_TX, K_ADAPTIVE_RX, K_ADAPTIVE_TX, K_RX_USECS, K_RPS, K_RFS, K_READ_REQUEST };

/* the group and field of each knob (channels: combined, or rx and tx on devices without combined queues) */
static const struct {
	enum asios_eth_group g;
	const char *field;
} where[ASIOS_NIC_KNOBS] = {
	[K_CHANNELS] = { ASIOS_ETH_CHANNELS, "combined" },
	[K_RING_RX] = { ASIOS_ETH_RINGS, "rx" },
	[K_RING_TX] = { ASIOS_ETH_RINGS, "tx" },
	[K_ADAPTIVE_RX] = { ASIOS_ETH_COALESCE, "adaptive_rx" },
	[K_ADAPTIVE_TX] = { ASIOS_ETH_COALESCE, "adaptive_tx" },
	[K_RX_USECS] = { ASIOS_ETH_COALESCE, "rx_usecs" },
	[K_RPS] = { _ASIOS_ETH_GROUP_MAX, NULL }, /* sysfs, not ethtool */
	[K_RFS] = { _ASIOS_ETH_GROUP_MAX, NULL }, /* sysfs and sysctl */
	[K_READ_REQUEST] = { _ASIOS_ETH_GROUP_MAX, NULL }, /* PCI configuration space */
};

static const struct asios_knob knobs[ASIOS_NIC_KNOBS] = {
	[K_CHANNELS] = {
		.name = "channels",
		.path = "%s/channels/combined",
		.value = { [T] = "auto", [L] = "auto" },
		.min = 1, .max = 4096, .unsafe = true,
		.brief = "one queue per housekeeping core of the NIC's NUMA node",
		.explain = "Each receive/transmit queue has its own interrupt and is served on one CPU. More queues "
			   "than the node's housekeeping cores puts several queues' interrupts on one core, or on the "
			   "other socket and on isolated cores; fewer leaves cores idle at line rate. \"auto\" counts the "
			   "online cores of the device's node that are neither isolated nor nohz_full (SMT siblings "
			   "once), capped at the device's maximum. Changing it makes the driver rebuild its queues: "
			   "never changed by the auto-tuner.",
	},
	[K_RING_RX] = {
		.name = "rings.rx",
		.path = "%s/rings/rx",
		.value = { [T] = "8192" },
		.min = 64, .max = 65536, .floor = true, .unsafe = true,
		.brief = "receive ring of 8192 descriptors (or the device's maximum): a burst at line rate waits in the "
			 "ring instead of being dropped",
		.explain = "A 100 Gb/s link delivers 8 million 1500-byte packets a second; a 1024-entry ring covers "
			   "130 us of a stall of its CPU (a page fault, a softirq of another device). Raising it costs "
			   "memory and some cache locality, which the latency profile does not pay (it leaves it). "
			   "Only raised: a larger ring set by a driver or an admin is kept.",
	},
	[K_RING_TX] = {
		.name = "rings.tx",
		.path = "%s/rings/tx",
		.value = { [T] = "8192" },
		.min = 64, .max = 65536, .floor = true, .unsafe = true,
		.brief = "transmit ring of 8192 descriptors (or the device's maximum)",
		.explain = "Enough descriptors that a sender filling a 100-400 Gb/s link is not stopped by a full "
			   "ring between two completion interrupts. Only raised.",
	},
	[K_ADAPTIVE_RX] = {
		.name = "coalesce.adaptive_rx",
		.path = "%s/coalesce/adaptive_rx",
		.value = { [T] = "1", [L] = "0" },
		.min = 0, .max = 1, .unsafe = true,
		.brief = "adaptive receive interrupt moderation",
		.explain = "On (throughput): the driver (net_dim) raises the moderation under load and lowers it "
			   "when idle, fewer interrupts per byte. Off (latency): the fixed rx-usecs applies, so a "
			   "single small message is not held back by a moderation tuned for bulk traffic.",
	},
	[K_ADAPTIVE_TX] = {
		.name = "coalesce.adaptive_tx",
		.path = "%s/coalesce/adaptive_tx",
		.value = { [T] = "1", [L] = "0" },
		.min = 0, .max = 1, .unsafe = true,
		.brief = "adaptive transmit interrupt moderation",
		.explain = "As adaptive_rx, for transmit completions.",
	},
	[K_RX_USECS] = {
		.name = "coalesce.rx_usecs",
		.path = "%s/coalesce/rx_usecs",
		.value = { [L] = "0" },
		.min = 0, .max = 10000, .unsafe = true,
		.brief = "no receive interrupt delay: a packet raises its interrupt at once",
		.explain = "The microseconds a NIC waits after a packet before its interrupt, to batch more. 0 gives "
			   "the lowest latency at the cost of an interrupt per packet (latency profile only; the "
			   "throughput profile leaves it to adaptive moderation).",
	},
	[K_RPS] = {
		.name = "rps",
		.path = "/sys/class/net/%s/queues/rx-*/rps_cpus",
		.value = { [T] = "auto" },
		.min = 0, .max = 0, .unsafe = true,
		.brief = "RPS spreads received packets' protocol work over the housekeeping CPUs of the NIC's node",
		.explain = "A device with fewer receive queues than the housekeeping cores of its node (a cloud "
			   "instance's virtual NIC, a 1 GbE port with 8 queues on a 64-core socket) has its protocol "
			   "work done on as many CPUs as it has queue interrupts. \"auto\" sets each receive queue's "
			   "rps_cpus to the node's housekeeping CPUs (never isolated or nohz_full ones) when the "
			   "queues are at most half those cores, and leaves the masks alone otherwise: with more "
			   "queues, RPS's inter-processor interrupt per batch of packets costs more than it spreads. "
			   "0 turns RPS off. A latency service does not want that interrupt (the latency profile "
			   "leaves RPS alone).",
	},
	[K_RFS] = {
		.name = "rfs",
		.path = "/sys/class/net/%s/queues/rx-*/rps_flow_cnt",
		.value = { [T] = "auto" },
		.min = 0, .max = 0, .unsafe = true,
		.brief = "RFS does a flow's protocol work on the CPU its reader runs on, where RPS would pick any",
		.explain = "RPS hashes each flow to one CPU of the mask, usually not the one the application reads "
			   "the socket on, so the data crosses caches twice. RFS remembers where each flow is read "
			   "(net.core.rps_sock_flow_entries) and steers its packets there (each receive queue's "
			   "rps_flow_cnt). \"auto\" turns it on with the RPS spread (32768 entries, each queue a "
			   "power-of-two share), only on a machine without isolated or nohz_full CPUs: RFS steers to "
			   "the reader's CPU whatever rps_cpus says, so it would follow an application onto an isolated "
			   "core. 0 turns each queue's table off. The latency profile leaves it alone, as RPS.",
	},
	[K_READ_REQUEST] = {
		.name = "pcie.read_request",
		.path = "%s/max_read_request",
		.value = { [T] = "auto", [L] = "auto" },
		.min = 128, .max = 4096, .unsafe = true,
		.brief = "PCIe read requests of 4096 bytes on a ConnectX adapter that shares a PCIe switch with a GPU",
		.explain = "The largest read a PCI Express function may request at once (Max_Read_Request_Size in its "
			   "Device Control register). Firmware leaves most adapters at 512 bytes; NVIDIA's performance "
			   "tuning for ConnectX adapters asks for 4096, so that the NIC reads a GPU's memory for GPUDirect "
			   "RDMA in eight times fewer requests, each with its own header and completion on the link. "
			   "\"auto\" sets 4096 on an NVIDIA (Mellanox) ConnectX function that has a GPU or accelerator "
			   "behind the same PCIe switch, and leaves every other NIC as it is (their vendors name no size); "
			   "a number of bytes (128 to 4096, a power of two) sets it on every NIC ASIOS can read the "
			   "registers of. Only root with CAP_SYS_ADMIN reads a function's registers (an unprivileged read "
			   "of its configuration space ends at the 64-byte header), so `asiosctl nic apply` sets it and "
			   "asios-irqd, which runs without that capability, leaves it with that reason. It is a register, "
			   "not a file: a reset of the function or a reboot undoes it. Never changed by the auto-tuner.",
	},
};

static const char *const profile_names[] = { "throughput", "latency", NULL };

const char *asios_nic_profile_name(int profile)
{
	return profile >= 0 && profile < _ASIOS_NIC_PROFILE_MAX ? profile_names[profile] : "?";
}

static const struct asios_knob *nic_knobs(size_t *n)
{
	*n = ASIOS_NIC_KNOBS;
	return knobs;
}

/* ---- policy: nic.conf ---- */

#define fail(c, ...) asios_conf_fail((c), __VA_ARGS__)
#define POLICY(c) ((struct asios_nic_policy *)(c)->policy)

static int set_globs(struct asios_conf *c, char ***v, size_t *n, const char *value)
{
	char *copy = strdup(value), *save = NULL;
	int r = copy ? 0 : -ENOMEM;

	for (char *w = copy ? strtok_r(copy, " \t", &save) : NULL; w && r >= 0; w = strtok_r(NULL, " \t", &save))
		r = asios_strv_push_dup(v, n, w);
	free(copy);
	return r < 0 ? fail(c, "out of memory%s%s", "", "") : 1;
}

static int set_latency(struct asios_conf *c, void *policy, const char *value)
{
	struct asios_nic_policy *p = policy;

	return set_globs(c, &p->latency, &p->n_latency, value);
}

static int set_leave(struct asios_conf *c, void *policy, const char *value)
{
	struct asios_nic_policy *p = policy;

	return set_globs(c, &p->leave, &p->n_leave, value);
}

static const struct asios_conf_item nic_keys[] = {
	ASIOS_CONF_ITEM_ENUM(struct asios_nic_policy, "profile", profile, profile_names, "throughput or latency"),
	ASIOS_CONF_ITEM_FUNC("latency", set_latency),
	ASIOS_CONF_ITEM_FUNC("leave", set_leave),
};

static int handler(void *user, const char *section, const char *name, const char *value)
{
	/* channels = auto, rps = auto, rfs = auto, pcie.read_request = auto */
	static const char *const words[] = { "auto", NULL };
	struct asios_conf *c = user;

	if (!strcmp(section, "nic"))
		return asios_conf_table(c, nic_keys, ASIOS_CONF_N(nic_keys), c->policy, section, name, value);
	for (int k = 0; profile_names[k]; k++)
		if (!strcmp(section, profile_names[k]))
			return asios_knob_value_set(c, "nic", knobs, ASIOS_NIC_KNOBS, POLICY(c)->knob[k], name, value,
						    !strcmp(name, "rps")		 ? K_RPS
						    : !strcmp(name, "rfs")		 ? K_RFS
						    : !strcmp(name, "pcie.read_request") ? K_READ_REQUEST
											 : K_CHANNELS,
						    words);
	return fail(c, "unknown section [%s] (nic, throughput, latency)%s", section, "");
}

void asios_nic_policy_clear(struct asios_nic_policy *p)
{
	for (int k = 0; k < _ASIOS_NIC_PROFILE_MAX; k++)
		for (int j = 0; j < ASIOS_NIC_KNOBS; j++)
			free(p->knob[k][j].value);
	asios_strv_free(p->latency);
	asios_strv_free(p->leave);
	memset(p, 0, sizeof(*p));
}

int asios_nic_policy_init(struct asios_nic_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->profile = ASIOS_NIC_THROUGHPUT;
	return 0;
}

ASIOS_CONF_FORMAT(nic, handler, NULL, ASIOS_NIC_CONF, NULL)

/* ---- observe: /sys/class/net, ethtool ---- */

void asios_nic_state_free(struct asios_nic_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++) {
		free(st->nics[i].name);
		asios_strv_free(st->nics[i].rps);
		asios_strv_free(st->nics[i].flow_cnt);
		hwloc_bitmap_free(st->nics[i].hk);
	}
	free(st->nics);
	asios_strv_free(st->warnings);
	free(st->sock_flow);
	free(st->isolated_cpus);
	free(st);
}

/* the snapshot's PCI function with interface NAME, or -1 */
static int device_of(const struct asios_snapshot *s, const char *name)
{
	for (size_t i = 0; i < s->n_pci; i++)
		for (char **n = s->pci[i].netdevs; n && *n; n++)
			if (!strcmp(*n, name))
				return (int)i;
	return -1;
}

/* housekeeping cores of node NODE (-1: of the machine), SMT siblings sharing a core index, counted; their CPUs
 * (every sibling) into CPUS */
static unsigned housekeeping_cores(const struct asios_snapshot *s, int node, hwloc_bitmap_t cpus)
{
	hwloc_bitmap_t seen = hwloc_bitmap_alloc();
	unsigned n = 0;

	for (size_t i = 0; seen && i < s->n_cpus; i++) {
		const struct asios_cpu *c = &s->cpus[i];

		if (c->core < 0 || (node >= 0 && c->node != node) || !hwloc_bitmap_isset(s->isolation.housekeeping, c->id))
			continue;
		hwloc_bitmap_set(cpus, c->id);
		if (hwloc_bitmap_isset(seen, (unsigned)c->core))
			continue;
		hwloc_bitmap_set(seen, (unsigned)c->core);
		n++;
	}
	hwloc_bitmap_free(seen);
	return n;
}

/* the receive queues of N and their rps_cpus and rps_flow_cnt */
static int read_queues(struct asios_root *root, struct asios_nic *n)
{
	char path[320], **names = NULL;
	size_t len = 0, n_flow = 0;
	int r;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", n->name);
	if ((r = asios_list_dir(root, path, &names)) < 0) {
		n->rps_err = r == -ENOENT ? r : 0;
		return r == -ENOENT ? 0 : r;
	}
	for (size_t i = 0; names[i]; i++)
		n->n_rx += !strncmp(names[i], "rx-", 3);
	asios_strv_free(names);
	if (!n->n_rx) /* every device has one: a capture that listed the folder without taking its entries */
		n->rps_err = -ENOENT;
	for (unsigned q = 0; q < n->n_rx && r >= 0; q++) {
		char *v = NULL;

		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%u/rps_cpus", n->name, q);
		if (asios_read_line(root, path, &v) < 0 && q == 0 && !asios_exists(root, path))
			n->rps_err = -EOPNOTSUPP;
		/* a queue whose mask could not be read keeps its place, as an empty string */
		r = asios_strv_push(&n->rps, &len, v ? v : strdup(""));
		v = NULL;
		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%u/rps_flow_cnt", n->name, q);
		if (r >= 0 && asios_read_line(root, path, &v) < 0 && q == 0)
			n->rfs_err = -EOPNOTSUPP;
		r = r < 0 ? r : asios_strv_push(&n->flow_cnt, &n_flow, v ? v : strdup(""));
	}
	return r;
}

static int read_nic(struct asios_root *root, const struct asios_snapshot *s, struct asios_nic_state *st,
		    const char *name)
{
	struct asios_nic *n, *v = realloc(st->nics, (st->n + 1) * sizeof(*v));
	int r = 0;

	if (!v)
		return -ENOMEM;
	st->nics = v;
	n = memset(&v[st->n++], 0, sizeof(*n));
	if (!(n->name = strdup(name)))
		return -ENOMEM;
	n->device = device_of(s, name);
	n->node = n->device >= 0 ? s->pci[n->device].node : -1;
	if (!(n->hk = hwloc_bitmap_alloc()))
		return -ENOMEM;
	n->cores = housekeeping_cores(s, n->node, n->hk);
	if ((r = nic_read_pcie(s, st, n)) < 0)
		return r;
	r = hwloc_bitmap_last(s->possible);
	n->nbits = r >= 0 ? (unsigned)r + 1 : 1;
	if ((r = read_queues(root, n)) < 0)
		return r;
	for (int g = 0; g < _ASIOS_ETH_GROUP_MAX && r >= 0; g++) {
		unsigned line = 0;
		char path[300], *w = NULL;

		n->err[g] = asios_ethtool_get(root, name, (enum asios_eth_group)g, &n->eth[g], &line);
		if (n->err[g] != -EINVAL || !line)
			continue;
		asios_ethtool_capture_path(name, (enum asios_eth_group)g, path, sizeof(path));
		r = asprintf(&w, "%s:%u: not a \"FIELD VALUE\" line of a known %s field: %s left alone", path, line,
			     asios_eth_group_name((enum asios_eth_group)g), name) < 0
			    ? -ENOMEM : asios_strv_push(&st->warnings, &st->n_warnings, w);
	}
	return r;
}

int asios_nic_observe(struct asios_root *root, const struct asios_snapshot *s, struct asios_nic_state **ret)
{
	struct asios_nic_state *st = calloc(1, sizeof(*st));
	char **names = NULL, path[300];
	int r = st ? asios_list_dir(root, "/sys/class/net", &names) : -ENOMEM;

	*ret = st;
	if (r == -ENOENT)
		return 0;
	if (r >= 0 && asios_read_line(root, SOCK_FLOW, &st->sock_flow) < 0)
		st->sock_flow = NULL;
	if (r >= 0 && !hwloc_bitmap_isequal(s->online, s->isolation.housekeeping)) {
		hwloc_bitmap_t iso = hwloc_bitmap_alloc();

		if (iso)
			hwloc_bitmap_andnot(iso, s->online, s->isolation.housekeeping);
		st->isolated_cpus = iso ? asios_cpulist_format(iso) : NULL;
		hwloc_bitmap_free(iso);
		r = st->isolated_cpus ? r : -ENOMEM;
	}
	for (size_t i = 0; r >= 0 && names[i]; i++) {
		/* an interface with a device under it: not lo, veth, bridges, bonds, tunnels */
		snprintf(path, sizeof(path), "/sys/class/net/%s/device", names[i]);
		if (asios_exists(root, path))
			r = read_nic(root, s, st, names[i]);
	}
	asios_strv_free(names);
	return r < 0 ? r : 0;
}

/* ---- plan ---- */

static bool matches(char *const *globs, const char *name)
{
	for (char *const *g = globs; g && *g; g++)
		if (!fnmatch(*g, name, 0))
			return true;
	return false;
}

static const char *why_unread(int err)
{
	return err == -EOPNOTSUPP ? "its driver has no such setting"
	       : err == -ENOENT ? "the capture holds no ethtool state for it (not taken by asiosctl snapshot, or by one before the NIC domain)"
	       : err == -ENODEV ? "the interface has gone"
	       : err == -EINVAL ? "its capture file is malformed (warning above)" : strerror(-err);
}

/* one setting of N: FIELD of its group to WANT (capped at the device's MAX field when there is one) */
static int plan_field(struct asios_plan *plan, const struct asios_nic *n, int k, const char *field, long want,
		      const char *why)
{
	enum asios_eth_group g = where[k].g;
	const struct asios_eth_field *f = asios_eth_field_find(g, field);
	char max_name[40], object[64], path[80];
	const struct asios_eth_field *m;
	long now;

	snprintf(object, sizeof(object), "%s %s.%s", n->name, asios_eth_group_name(g), field);
	if (!f || !n->eth[g].has[f->attr])
		return asios_plan_skip_object(plan, object, "not reported by its driver");
	now = n->eth[g].v[f->attr];
	snprintf(max_name, sizeof(max_name), "%s_max", field);
	if ((m = asios_eth_field_find(g, max_name)) && n->eth[g].has[m->attr] && want > n->eth[g].v[m->attr])
		want = n->eth[g].v[m->attr];
	if (now == want)
		return 0;
	if (knobs[k].floor && now > want)
		return asios_plan_skip_object(plan, object, "%ld is already above %ld: kept", now, want);
	snprintf(path, sizeof(path), "%s/%s/%s", n->name, asios_eth_group_name(g), field);
	return asios_plan_add_ethtool(plan, object, path, now, want, "%s", why);
}

static int plan_channels(struct asios_plan *plan, const struct asios_nic *n, const char *value, const char *prof)
{
	const struct asios_eth_values *c = &n->eth[ASIOS_ETH_CHANNELS];
	long want = strcmp(value, "auto") ? strtol(value, NULL, 10) : (long)n->cores;
	char why[200], at[40];
	int r;

	if (n->node >= 0)
		snprintf(at, sizeof(at), "node %d", n->node);
	else
		snprintf(at, sizeof(at), "the machine (its node unknown)");
	if (!strcmp(value, "auto"))
		snprintf(why, sizeof(why), "%s: %u housekeeping core%s on %s (%s)", knobs[K_CHANNELS].brief, n->cores,
			 n->cores == 1 ? "" : "s", at, prof);
	else
		snprintf(why, sizeof(why), "%ld queues, as nic.conf asks (%s)", want, prof);
	if (want < 1)
		return asios_plan_skip_object(plan, n->name, "channels: no housekeeping core to serve a queue");
	if (c->has[ETHTOOL_A_CHANNELS_COMBINED_MAX] && c->v[ETHTOOL_A_CHANNELS_COMBINED_MAX] > 0)
		return plan_field(plan, n, K_CHANNELS, "combined", want, why);
	if (!(c->v[ETHTOOL_A_CHANNELS_RX_MAX] > 0 && c->v[ETHTOOL_A_CHANNELS_TX_MAX] > 0))
		return asios_plan_skip_object(plan, n->name, "channels: its driver offers no queue count to set");
	r = plan_field(plan, n, K_CHANNELS, "rx", want, why);
	return r < 0 ? r : plan_field(plan, n, K_CHANNELS, "tx", want, why);
}

/* the receive queues once the queue count planned since action BEFORE is set (NOW when none is) */
static long queues_after(const struct asios_plan *plan, size_t before, const char *name, long now)
{
	size_t len = strlen(name);

	for (size_t i = before; i < plan->n_actions; i++) {
		const char *t = plan->actions[i].path;

		if (!strncmp(t, name, len) && (!strcmp(t + len, "/channels/combined") || !strcmp(t + len, "/channels/rx")))
			return strtol(plan->actions[i].new_value, NULL, 10);
	}
	return now;
}

static int plan_nic(struct asios_plan *plan, const struct asios_nic_state *st, const struct asios_nic *n,
		    const struct asios_nic_policy *p, bool *sockets)
{
	int prof = matches(p->latency, n->name) ? ASIOS_NIC_LATENCY : p->profile, r = 0;
	bool spread = false;
	long after = n->n_rx; /* the receive queues once the plan's queue count is set */
	char why[300];

	if (matches(p->leave, n->name))
		return asios_plan_skip_object(plan, n->name, "leave in nic.conf");
	for (int k = 0; k < K_RPS && r >= 0; k++) {
		const struct asios_knob_value *v = &p->knob[prof][k];
		const char *want = v->set ? v->value : knobs[k].value[prof];
		char object[64];

		snprintf(object, sizeof(object), "%s %s", n->name, knobs[k].name);
		if (!want) {
			if (v->set)
				r = asios_plan_skip_object(plan, object, "leave in [%s] of nic.conf", profile_names[prof]);
			continue;
		}
		if (n->err[where[k].g] < 0) {
			/* one skip per group, on its first knob */
			if (k == 0 || where[k - 1].g != where[k].g)
				r = asios_plan_skip_object(plan, object, "%s: %s", asios_eth_group_name(where[k].g),
							   why_unread(n->err[where[k].g]));
			continue;
		}
		snprintf(why, sizeof(why), "%s (%s)", knobs[k].brief, profile_names[prof]);
		if (k != K_CHANNELS) {
			r = plan_field(plan, n, k, where[k].field, strtol(want, NULL, 10), why);
			continue;
		}
		size_t before = plan->n_actions;

		r = plan_channels(plan, n, want, profile_names[prof]);
		after = r < 0 ? after : queues_after(plan, before, n->name, after);
	}
	r = r < 0 ? r : nic_plan_rps(plan, n, &p->knob[prof][K_RPS], knobs[K_RPS].value[prof], after, &spread);
	r = r < 0 ? r : nic_plan_rfs(plan, st, n, &p->knob[prof][K_RFS], knobs[K_RFS].value[prof], after, spread, sockets);
	return r < 0 ? r : nic_plan_read_request(plan, st, n, &p->knob[prof][K_READ_REQUEST],
						  knobs[K_READ_REQUEST].value[prof], knobs[K_READ_REQUEST].brief);
}

int asios_nic_plan(const struct asios_nic_state *st, const struct asios_nic_policy *p, struct asios_plan **ret)
{
	struct asios_plan *plan = asios_plan_new();
	bool sockets = false;
	int r = 0;

	if (!plan)
		return -ENOMEM;
	if (!st->n)
		r = asios_plan_note(plan, "no interface with a device (/sys/class/net/NAME/device)");
	for (size_t i = 0; r >= 0 && i < st->n; i++)
		r = plan_nic(plan, st, &st->nics[i], p, &sockets);
	if (r >= 0 && sockets)
		r = nic_plan_sock_flow(plan, st);
	if (r < 0) {
		asios_plan_free(plan);
		plan = NULL;
	}
	*ret = plan;
	return r;
}

/* ---- the domain ---- */

ASIOS_DOMAIN_STATE(nic, struct asios_nic_state)

static int observe(struct asios_root *root, const struct asios_snapshot *s, const void *p, void **state)
{
	struct asios_nic_state *st = NULL;
	int r = asios_nic_observe(root, s, &st);

	(void)p;
	*state = st;
	return r;
}

static int plan(const struct asios_snapshot *s, const void *state, const void *p, struct asios_plan **ret)
{
	(void)s;
	return asios_nic_plan(state, p, ret);
}

const struct asios_domain asios_nic_domain = {
	.name = "nic",
	.summary = "network devices: queues per housekeeping core, ring sizes, interrupt coalescing (ethtool), "
		   "packet steering (RPS, RFS), PCIe read requests of ConnectX adapters serving GPUs",
	.conf = ASIOS_NIC_CONF,
	.conf_d = ASIOS_NIC_CONF_D,
	.journal = ASIOS_NIC_JOURNAL,
	.restored = "NIC settings",
	.events = ASIOS_EVENT_UEVENT,
	.classes = profile_names,
	.knobs = nic_knobs,
	.policy_size = sizeof(struct asios_nic_policy),
	.format = &asios_nic_policy_format,
	.observe = observe,
	.state_free = nic_state_free,
	.warnings = nic_warnings,
	.plan = plan,
};
