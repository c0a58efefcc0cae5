/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cpulist.h"
#include "asios/nic-plan.h"
#include "asios/plan.h"
#include "nic-internal.h"

/*
 * The NIC domain's packet steering (docs/nic.md): RPS spreads received packets' protocol work over the node's
 * housekeeping CPUs where a device has few receive queues, RFS then takes each flow to the CPU its socket is read
 * on. Plain writes to sysfs and procfs, in the NIC domain's journal; nic.c plans the ethtool settings first and
 * passes the receive queue count they leave.
 */

static const char *why_no_queues(int err)
{
	return err == -ENOENT ? "no receive queue in its sysfs queues/ folder (a kernel without RPS, or a capture taken before RPS was planned)"
	       : err == -EOPNOTSUPP ? "this kernel has no RPS (no rps_cpus)" : strerror(-err);
}

/* each receive queue's rps_cpus to WANT, those the plan's queue count keeps (AFTER) */
static int plan_rps_masks(struct asios_plan *plan, const struct asios_nic *n, hwloc_const_bitmap_t want, long after,
			  const char *why)
{
	hwloc_bitmap_t now = hwloc_bitmap_alloc();
	char *mask = asios_cpumask_format(want, n->nbits), object[64], path[320];
	int r = now && mask ? 0 : -ENOMEM;

	for (unsigned q = 0; r >= 0 && q < n->n_rx && q < after; q++) {
		snprintf(object, sizeof(object), "%s rx-%u rps_cpus", n->name, q);
		if (asios_cpumask_parse(n->rps[q], now, NULL) < 0)
			r = asios_plan_skip_object(plan, object, "holds \"%s\", not a CPU mask: left alone", n->rps[q]);
		else if (!hwloc_bitmap_isequal(now, want)) {
			snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%u/rps_cpus", n->name, q);
			r = asios_plan_add_write(plan, object, path, n->rps[q], mask, "%s", why);
		}
	}
	if (r >= 0 && after > (long)n->n_rx)
		r = asios_plan_skip_object(plan, n->name, "rps: rx-%u to rx-%ld come with the new queue count; their "
					   "masks are set by the next plan (asios-irqd makes it at once)", n->n_rx, after - 1);
	hwloc_bitmap_free(now);
	free(mask);
	return r;
}

/* RPS: the housekeeping CPUs of the node on each receive queue when the queues are at most half its cores */
int nic_plan_rps(struct asios_plan *plan, const struct asios_nic *n, const struct asios_knob_value *v,
		 const char *dflt, long after, bool *spread)
{
	const char *want = v->set ? v->value : dflt;
	hwloc_bitmap_t none;
	char object[64], why[300], at[24], *cpus;
	int r;

	snprintf(object, sizeof(object), "%s rps", n->name);
	if (!want)
		return v->set ? asios_plan_skip_object(plan, object, "leave in nic.conf") : 0;
	if (n->rps_err < 0)
		return asios_plan_skip_object(plan, object, "%s", why_no_queues(n->rps_err));
	if (!strcmp(want, "0")) {
		if (!(none = hwloc_bitmap_alloc()))
			return -ENOMEM;
		r = plan_rps_masks(plan, n, none, after, "RPS off, as nic.conf asks");
		hwloc_bitmap_free(none);
		return r;
	}
	if (after * 2 > (long)n->cores)
		return asios_plan_skip_object(plan, object, "%ld receive queue%s for %u housekeeping core%s (more than "
					      "half): the queues' own interrupts spread the work", after,
					      after == 1 ? "" : "s", n->cores, n->cores == 1 ? "" : "s");
	if (hwloc_bitmap_iszero(n->hk) || !(cpus = asios_cpulist_format(n->hk)))
		return hwloc_bitmap_iszero(n->hk) ? asios_plan_skip_object(plan, object, "no housekeeping CPU") : -ENOMEM;
	if (n->node >= 0)
		snprintf(at, sizeof(at), "node %d", n->node);
	else
		snprintf(at, sizeof(at), "the machine");
	snprintf(why, sizeof(why), "RPS: %ld receive queue%s for %u housekeeping cores on %s: received packets' "
		 "protocol work spread over CPUs %s", after, after == 1 ? "" : "s", n->cores, at, cpus);
	free(cpus);
	*spread = true;
	return plan_rps_masks(plan, n, n->hk, after, why);
}

/* each kept receive queue's rps_flow_cnt to WANT */
static int plan_flow_cnt(struct asios_plan *plan, const struct asios_nic *n, long want, long after, const char *why)
{
	char object[64], path[320], value[24];
	int r = 0;

	snprintf(value, sizeof(value), "%ld", want);
	for (unsigned q = 0; r >= 0 && q < n->n_rx && q < after; q++) {
		char *end = NULL;
		long now = strtol(n->flow_cnt[q], &end, 10);

		snprintf(object, sizeof(object), "%s rx-%u rps_flow_cnt", n->name, q);
		if (!n->flow_cnt[q][0] || *end || now < 0)
			r = asios_plan_skip_object(plan, object, "holds \"%s\", not a flow count: left alone",
						   n->flow_cnt[q]);
		else if (now != want) {
			snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%u/rps_flow_cnt", n->name, q);
			r = asios_plan_add_write(plan, object, path, n->flow_cnt[q], value, "%s", why);
		}
	}
	return r;
}

/* RFS with the RPS spread (SPREAD) on a machine without isolated CPUs; *SOCKETS: the sockets' table is wanted */
int nic_plan_rfs(struct asios_plan *plan, const struct asios_nic_state *st, const struct asios_nic *n,
		 const struct asios_knob_value *v, const char *dflt, long after, bool spread, bool *sockets)
{
	const char *want = v->set ? v->value : dflt;
	long share = 1;
	char object[64], why[300];

	snprintf(object, sizeof(object), "%s rfs", n->name);
	if (!want)
		return v->set ? asios_plan_skip_object(plan, object, "leave in nic.conf") : 0;
	if (strcmp(want, "0") && !spread)
		return 0; /* RFS follows the RPS spread: the rps skip says why there is none */
	if (n->rps_err < 0 || n->rfs_err < 0)
		return asios_plan_skip_object(plan, object, "%s", n->rps_err < 0 ? why_no_queues(n->rps_err)
						   : "no rps_flow_cnt (a kernel without RPS, or a capture taken before RFS was planned)");
	if (!strcmp(want, "0"))
		return plan_flow_cnt(plan, n, 0, after, "RFS off, as nic.conf asks");
	if (st->isolated_cpus)
		return asios_plan_skip_object(plan, object, "CPUs %s are isolated or nohz_full: RFS steers a flow to the "
					      "CPU its reader last ran on whatever rps_cpus says (the kernel's "
					      "get_rps_cpu), so protocol work would follow an application onto them",
					      st->isolated_cpus);
	while (share * 2 <= RFS_ENTRIES / (after > 0 ? after : 1))
		share *= 2;
	snprintf(why, sizeof(why), "RFS: a flow's packets are processed on the CPU its socket is read on; %d flow "
		 "entries over %ld receive queue%s (%ld each, a power of two as the kernel rounds)", RFS_ENTRIES, after,
		 after == 1 ? "" : "s", share);
	*sockets = true;
	return plan_flow_cnt(plan, n, share, after, why);
}

/* the sockets' flow table, raised to RFS_ENTRIES (never lowered: another device or an admin may need more) */
int nic_plan_sock_flow(struct asios_plan *plan, const struct asios_nic_state *st)
{
	static const char object[] = "net.core.rps_sock_flow_entries";
	char *end = NULL, value[24];
	long now = st->sock_flow ? strtol(st->sock_flow, &end, 10) : -1;

	if (!st->sock_flow)
		return asios_plan_skip_object(plan, object, "%s not readable: RFS's per-queue tables stay unused",
					      SOCK_FLOW);
	if (*end || now < 0)
		return asios_plan_skip_object(plan, object, "holds \"%s\", not a number: left alone", st->sock_flow);
	if (now >= RFS_ENTRIES)
		return 0;
	snprintf(value, sizeof(value), "%d", RFS_ENTRIES);
	return asios_plan_add_write(plan, object, SOCK_FLOW, st->sock_flow, value, "RFS: the sockets' table of the "
				    "CPU each flow is read on, %d entries, for the receive queues' tables above",
				    RFS_ENTRIES);
}
