/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The network-stack domain (domain.h): the socket buffer limits and the receive backlog, set by the machine's
 * link class. Observe: asios_net_observe() reads the knobs (/proc/sys/net) and the fastest link
 * (/sys/class/net/NAME/speed, Mb/s; a link that is down has none). Plan: asios_net_plan() is pure: the class
 * is "fast" when a link reaches fast_link_mbps (default 25000), else "standard"; one write per knob that is
 * below the class's value, each with its reason. Buffers that are large enough for a 100-400 Gb/s link queue
 * too much on a slower one (measured: docs/tune.md), so the standard class leaves the kernel's values.
 * /etc/asios/net.conf and net.conf.d/ override:
 *   [net]                  fast_link_mbps = N
 *   [fast] [standard]      KNOB = VALUE|leave
 * The tcp_rmem and tcp_wmem knobs are the third field (the autotuning limit) of their triple.
 */

#include <stdbool.h>
#include <stddef.h>

#include "asios/config.h"
#include "asios/domain.h"

struct asios_plan;
struct asios_root;

#define ASIOS_NET_CONF "/etc/asios/net.conf"
#define ASIOS_NET_CONF_D "/etc/asios/net.conf.d"
#define ASIOS_NET_JOURNAL "/run/asios/net.journal"

enum asios_net_class { ASIOS_NET_FAST, ASIOS_NET_STANDARD, _ASIOS_NET_CLASS_MAX };
#define ASIOS_NET_KNOBS 5

struct asios_net_policy {
	unsigned fast_link_mbps;
	struct asios_knob_value knob[_ASIOS_NET_CLASS_MAX][ASIOS_NET_KNOBS];
};

extern const struct asios_conf_format asios_net_policy_format;
int asios_net_policy_parse(struct asios_net_policy *p, const char *text, const char *origin, char **error);
int asios_net_policy_init(struct asios_net_policy *p);
void asios_net_policy_clear(struct asios_net_policy *p);

struct asios_net_state {
	char *line[ASIOS_NET_KNOBS]; /* the file as read; NULL: not offered by this kernel */
	long value[ASIOS_NET_KNOBS]; /* its number (the knob's field) */
	char *fastest;               /* the fastest link's name, or NULL: none with a speed */
	long fastest_mbps;
	char **warnings;             /* NULL-terminated */
	size_t n_warnings;
};

int asios_net_observe(struct asios_root *root, struct asios_net_state **ret);
void asios_net_state_free(struct asios_net_state *st);
int asios_net_plan(const struct asios_net_state *st, const struct asios_net_policy *p, struct asios_plan **ret);

const char *asios_net_class_name(int class);
extern const struct asios_domain asios_net_domain;
