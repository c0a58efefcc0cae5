/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/config.h"
#include "asios/net-plan.h"
#include "asios/plan.h"
#include "asios/root.h"
#include "domain-adapt.h"
#include "util.h"

/*
 * The network-stack domain (net-plan.h): socket buffer limits and the receive backlog per link class, as data.
 * The columns are the classes: a machine with a link of fast_link_mbps or more, and the rest.
 */

#define F ASIOS_NET_FAST

enum { K_RMEM_MAX, K_WMEM_MAX, K_TCP_RMEM, K_TCP_WMEM, K_BACKLOG };

static const struct asios_knob knobs[ASIOS_NET_KNOBS] = {
	[K_RMEM_MAX] = {
		.name = "net.core.rmem_max",
		.path = "/proc/sys/net/core/rmem_max",
		.value = { [F] = "268435456" },
		.min = 4096, .max = 2147483647, .floor = true, .at_least = "net.ipv4.tcp_rmem",
		.brief = "receive buffers up to 256 MiB for sockets that size their own (SO_RCVBUF): a stream on a "
			 "100-400 Gb/s link needs a window of bandwidth x RTT",
		.explain = "The most an application may ask for with SO_RCVBUF (NCCL's socket transport, object-store "
			   "clients, iperf3 -w). 100 Gb/s x 2 ms is 25 MB in flight per stream. Kept at least as large "
			   "as net.ipv4.tcp_rmem's limit, so that a socket sizing its own buffer can get what "
			   "autotuning would give it (asiosctl tune raises it along). Only on machines with a fast "
			   "link: the standard class keeps the kernel's 208 KiB.",
	},
	[K_WMEM_MAX] = {
		.name = "net.core.wmem_max",
		.path = "/proc/sys/net/core/wmem_max",
		.value = { [F] = "268435456" },
		.min = 4096, .max = 2147483647, .floor = true, .at_least = "net.ipv4.tcp_wmem",
		.brief = "send buffers up to 256 MiB for sockets that size their own (SO_SNDBUF)",
		.explain = "The most an application may ask for with SO_SNDBUF; kept at least as large as "
			   "net.ipv4.tcp_wmem's limit (asiosctl tune raises it along). Only on machines with a fast link.",
	},
	[K_TCP_RMEM] = {
		.name = "net.ipv4.tcp_rmem",
		.path = "/proc/sys/net/ipv4/tcp_rmem",
		.field = 3,
		.value = { [F] = "268435456" },
		.min = 65536, .max = 1073741824, .floor = true,
		.brief = "TCP receive autotuning up to 256 MiB: a window large enough for 100-400 Gb/s x a few ms",
		.explain = "The third number of tcp_rmem is how far the kernel grows a connection's receive buffer on "
			   "its own. The kernel's 6 MiB caps one stream at about 24 Gb/s at 2 ms RTT. Per network "
			   "namespace; a new namespace starts with the host's values.",
	},
	[K_TCP_WMEM] = {
		.name = "net.ipv4.tcp_wmem",
		.path = "/proc/sys/net/ipv4/tcp_wmem",
		.field = 3,
		.value = { [F] = "268435456" },
		.min = 65536, .max = 1073741824, .floor = true,
		.brief = "TCP send autotuning up to 256 MiB on fast links",
		.explain = "The third number of tcp_wmem is how much a connection may queue for sending. On a fast, "
			   "long path the sender needs a window's worth; on a slower or local one (veth, a 10 Gb/s "
			   "NIC) a large send queue only overflows the receiver's backlog: with 256 MiB, TCP over veth "
			   "on a 2-CPU VM retransmitted 30-170 times more segments and moved 10 % less (docs/tune.md). "
			   "So only the fast class raises it.",
	},
	[K_BACKLOG] = {
		.name = "net.core.netdev_max_backlog",
		.path = "/proc/sys/net/core/netdev_max_backlog",
		.value = { [F] = "250000" },
		.min = 100, .max = 4000000, .floor = true,
		.brief = "a receive backlog of 250000 packets per CPU: bursts at 100 Gb/s do not overflow it",
		.explain = "Packets wait in a per-CPU backlog between the driver and the stack (RPS, veth, "
			   "tunnels); the kernel's 1000 overflows in a burst at 100 Gb/s (drops in column 2 of "
			   "/proc/net/softnet_stat).",
	},
};

static const char *const class_names[] = { "fast", "standard", NULL };

const char *asios_net_class_name(int class)
{
	return class >= 0 && class < _ASIOS_NET_CLASS_MAX ? class_names[class] : "?";
}

static const struct asios_knob *net_knobs(size_t *n)
{
	*n = ASIOS_NET_KNOBS;
	return knobs;
}

/* ---- policy: net.conf ---- */

#define fail(c, ...) asios_conf_fail((c), __VA_ARGS__)
#define POLICY(c) ((struct asios_net_policy *)(c)->policy)

static const struct asios_conf_item net_keys[] = {
	ASIOS_CONF_ITEM_UINT(struct asios_net_policy, "fast_link_mbps", fast_link_mbps, 1, 10000000,
			     "a link speed in Mb/s (1-10000000)"),
};

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct asios_conf *c = user;

	if (!strcmp(section, "net"))
		return asios_conf_table(c, net_keys, ASIOS_CONF_N(net_keys), c->policy, section, name, value);
	for (int k = 0; class_names[k]; k++)
		if (!strcmp(section, class_names[k]))
			return asios_knob_value_set(c, "net", knobs, ASIOS_NET_KNOBS, POLICY(c)->knob[k], name, value, -1, NULL);
	return fail(c, "unknown section [%s] (net, fast, standard)%s", section, "");
}

void asios_net_policy_clear(struct asios_net_policy *p)
{
	for (int k = 0; k < _ASIOS_NET_CLASS_MAX; k++)
		for (int j = 0; j < ASIOS_NET_KNOBS; j++)
			free(p->knob[k][j].value);
	memset(p, 0, sizeof(*p));
}

int asios_net_policy_init(struct asios_net_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->fast_link_mbps = 25000;
	return 0;
}

ASIOS_CONF_FORMAT(net, handler, NULL, ASIOS_NET_CONF, NULL)

/* ---- observe: /proc/sys/net, /sys/class/net ---- */

void asios_net_state_free(struct asios_net_state *st)
{
	if (!st)
		return;
	for (int k = 0; k < ASIOS_NET_KNOBS; k++)
		free(st->line[k]);
	free(st->fastest);
	asios_strv_free(st->warnings);
	free(st);
}

static int warn(struct asios_net_state *st, const char *path, const char *why)
{
	char *w = NULL;

	return asprintf(&w, "%s: %s", path, why) < 0 ? -ENOMEM : asios_strv_push(&st->warnings, &st->n_warnings, w);
}

/* the fastest link with a speed (a link that is down or virtual reads -1 or fails: not counted) */
static int fastest_link(struct asios_root *root, struct asios_net_state *st)
{
	char **names = NULL, path[300];
	int r = asios_list_dir(root, "/sys/class/net", &names);

	if (r == -ENOENT)
		return 0;
	for (size_t i = 0; r >= 0 && names[i]; i++) {
		long mbps;

		snprintf(path, sizeof(path), "/sys/class/net/%s/speed", names[i]);
		if (asios_read_long(root, path, &mbps) < 0 || mbps <= 0 || mbps <= st->fastest_mbps)
			continue;
		free(st->fastest);
		st->fastest_mbps = mbps;
		if (!(st->fastest = strdup(names[i])))
			r = -ENOMEM;
	}
	asios_strv_free(names);
	return r < 0 ? r : 0;
}

int asios_net_observe(struct asios_root *root, struct asios_net_state **ret)
{
	struct asios_net_state *st = calloc(1, sizeof(*st));
	int r = st ? 0 : -ENOMEM;

	*ret = st;
	for (int k = 0; r >= 0 && k < ASIOS_NET_KNOBS; k++) {
		r = asios_read_line(root, knobs[k].path, &st->line[k]);
		if (r == -ENOENT) {
			r = 0;
		} else if (r >= 0 && asios_knob_field_get(st->line[k], knobs[k].field, &st->value[k]) < 0) {
			r = warn(st, knobs[k].path, "not the numbers the kernel writes there: left alone");
			free(st->line[k]);
			st->line[k] = NULL;
		} else if (r < 0 && r != -ENOMEM) {
			r = warn(st, knobs[k].path, strerror(-r));
		}
	}
	return r < 0 ? r : fastest_link(root, st);
}

/* ---- plan ---- */

static int plan_knob(struct asios_plan *plan, const struct asios_net_state *st, int cls, int k, const char *want)
{
	char line[128];
	long w = strtol(want, NULL, 10);
	int r;

	if (!st->line[k])
		return asios_plan_skip_object(plan, knobs[k].name, "not offered by this kernel");
	if (st->value[k] == w)
		return 0;
	if (knobs[k].floor && st->value[k] > w)
		return asios_plan_skip_object(plan, knobs[k].name, "%ld is already above the %s class's %ld: kept",
					      st->value[k], class_names[cls], w);
	if ((r = asios_knob_field_set(st->line[k], knobs[k].field, w, line, sizeof(line))) < 0)
		return r;
	return asios_plan_add_write(plan, knobs[k].name, knobs[k].path, st->line[k], line, "%s (%s)", knobs[k].brief,
				    class_names[cls]);
}

int asios_net_plan(const struct asios_net_state *st, const struct asios_net_policy *p, struct asios_plan **ret)
{
	struct asios_plan *plan = asios_plan_new();
	int cls = st->fastest_mbps >= (long)p->fast_link_mbps ? ASIOS_NET_FAST : ASIOS_NET_STANDARD, r = 0;

	if (!plan)
		return -ENOMEM;
	if (st->fastest)
		r = asios_plan_note(plan, "class %s: the fastest link is %s at %ld Mb/s (fast from %u Mb/s)",
				    class_names[cls], st->fastest, st->fastest_mbps, p->fast_link_mbps);
	else
		r = asios_plan_note(plan, "class %s: no link with a speed (down, or none)", class_names[cls]);
	for (int k = 0; r >= 0 && k < ASIOS_NET_KNOBS; k++) {
		const struct asios_knob_value *v = &p->knob[cls][k];
		const char *want = v->set ? v->value : knobs[k].value[cls];

		if (want)
			r = plan_knob(plan, st, cls, k, want);
		else if (v->set)
			r = asios_plan_skip_object(plan, knobs[k].name, "leave in [%s] of net.conf", class_names[cls]);
	}
	if (r < 0) {
		asios_plan_free(plan);
		plan = NULL;
	}
	*ret = plan;
	return r;
}

/* ---- the domain ---- */

ASIOS_DOMAIN_STATE(net, struct asios_net_state)

static int observe(struct asios_root *root, const struct asios_snapshot *s, const void *p, void **state)
{
	struct asios_net_state *st = NULL;
	int r = asios_net_observe(root, &st);

	(void)s;
	(void)p;
	*state = st;
	return r;
}

static int plan(const struct asios_snapshot *s, const void *state, const void *p, struct asios_plan **ret)
{
	(void)s;
	return asios_net_plan(state, p, ret);
}

const struct asios_domain asios_net_domain = {
	.name = "net",
	.summary = "network stack: socket buffer limits and receive backlog by link class",
	.conf = ASIOS_NET_CONF,
	.conf_d = ASIOS_NET_CONF_D,
	.journal = ASIOS_NET_JOURNAL,
	.restored = "network stack settings",
	.events = ASIOS_EVENT_UEVENT,
	.classes = class_names,
	.knobs = net_knobs,
	.policy_size = sizeof(struct asios_net_policy),
	.format = &asios_net_policy_format,
	.observe = observe,
	.state_free = net_state_free,
	.warnings = net_warnings,
	.plan = plan,
};
