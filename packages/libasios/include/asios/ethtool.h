/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * A NIC's ethtool settings (queue counts, ring sizes, interrupt coalescing), read and written through the
 * kernel's ethtool netlink family with libmnl, as ethtool(8) itself does. Each group is one GET/SET message
 * pair (ETHTOOL_MSG_CHANNELS_*, _RINGS_*, _COALESCE_*); a field is one of its attributes.
 *
 * On a root other than "/" (a capture, a test tree) the same calls read and write the capture's emulation of it,
 * ASIOS_ETHTOOL_CAPTURE/IFNAME/GROUP: one "FIELD VALUE" line per attribute the device reported, written by
 * `asiosctl snapshot` from the netlink replies. So a plan, an apply and a revert on a capture run the code of
 * the live machine down to this file. ASIOS_FAULT_INJECT applies to that file's path (root.h).
 */

#include <stdbool.h>

struct asios_root;

#define ASIOS_ETHTOOL_CAPTURE "/capture/ethtool"

enum asios_eth_group { ASIOS_ETH_CHANNELS, ASIOS_ETH_RINGS, ASIOS_ETH_COALESCE, _ASIOS_ETH_GROUP_MAX };

#define ASIOS_ETH_FIELDS 32 /* attribute numbers of one group's reply (enough for 6.12's coalesce) */

struct asios_eth_field {
	const char *name;      /* "combined", "rx_max", "adaptive_rx" */
	unsigned attr;         /* ETHTOOL_A_CHANNELS_COMBINED_COUNT… */
	bool u8;               /* a flag attribute (NLA_U8), else NLA_U32 */
	bool settable;         /* false: a limit the device reports (_max) */
};

/* One group as the device reported it: HAS[attr] when the attribute was in the reply. */
struct asios_eth_values {
	long v[ASIOS_ETH_FIELDS];
	bool has[ASIOS_ETH_FIELDS];
};

const char *asios_eth_group_name(enum asios_eth_group g);
/* The group called NAME ("channels", "rings", "coalesce"), or -1. */
int asios_eth_group_find(const char *name);
/* The fields of group G (*N of them). */
const struct asios_eth_field *asios_eth_fields(enum asios_eth_group g, unsigned *n);
/* The field NAME of G, or NULL. */
const struct asios_eth_field *asios_eth_field_find(enum asios_eth_group g, const char *name);

/*
 * Group G of interface IFNAME: 0, or -ENODEV (no such interface), -EOPNOTSUPP (the driver has no such
 * operation; a capture without that file: -ENOENT), -EINVAL (a capture file that is not "FIELD VALUE" lines:
 * *LINE, when not NULL, is its 1-based line), another -errno of the socket.
 */
int asios_ethtool_get(struct asios_root *root, const char *ifname, enum asios_eth_group g, struct asios_eth_values *out,
		      unsigned *line);
/* Set field F of group G to VALUE (one attribute in a SET message; the kernel's extended ack, when it gives one,
 * is not kept): 0 or -errno (EINVAL: the driver refused the value, EOPNOTSUPP: no such operation). */
int asios_ethtool_set(struct asios_root *root, const char *ifname, enum asios_eth_group g,
		      const struct asios_eth_field *f, long value);
/* The capture file of G for IFNAME ("/capture/ethtool/eth0/rings") into BUF. */
void asios_ethtool_capture_path(const char *ifname, enum asios_eth_group g, char *buf, unsigned size);
/* The text of that file for VALUES ("combined 8\n…"), malloc'ed; NULL out of memory. */
char *asios_ethtool_capture_text(enum asios_eth_group g, const struct asios_eth_values *values);
