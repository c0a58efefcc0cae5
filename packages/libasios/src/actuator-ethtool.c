/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The ethtool actuator (actuator.h): one setting of an interface, target "IFNAME/GROUP/FIELD", through ethtool
 * netlink (asios/ethtool.h). The identity is the interface's index: an interface of the same name created again
 * (a driver reload) is another object, which a revert leaves alone.
 */
#define _GNU_SOURCE
#include "actuator.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/ethtool.h"
#include "asios/root.h"

/* "eth0/rings/rx" → its interface, group and field: 0 or -EINVAL */
static int parse_target(const char *target, char *ifname, size_t size, enum asios_eth_group *g,
			const struct asios_eth_field **f)
{
	const char *a = strchr(target, '/'), *b = a ? strchr(a + 1, '/') : NULL;
	char group[16];
	int gi;

	if (!a || !b || (size_t)(a - target) >= size || a == target || (size_t)(b - a - 1) >= sizeof(group))
		return -EINVAL;
	memcpy(ifname, target, (size_t)(a - target));
	ifname[a - target] = 0;
	memcpy(group, a + 1, (size_t)(b - a - 1));
	group[b - a - 1] = 0;
	if ((gi = asios_eth_group_find(group)) < 0)
		return -EINVAL;
	*g = (enum asios_eth_group)gi;
	*f = asios_eth_field_find(*g, b + 1);
	return *f && (*f)->settable ? 0 : -EINVAL;
}

static int read_target(struct asios_root *root, const char *target, char **value)
{
	const struct asios_eth_field *f;
	struct asios_eth_values v;
	enum asios_eth_group g;
	char ifname[64];
	int r = parse_target(target, ifname, sizeof(ifname), &g, &f);

	*value = NULL;
	if (r >= 0)
		r = asios_ethtool_get(root, ifname, g, &v, NULL);
	if (r >= 0 && !v.has[f->attr])
		r = -EOPNOTSUPP;
	if (r >= 0 && asprintf(value, "%ld", v.v[f->attr]) < 0)
		r = -ENOMEM;
	return r;
}

/* set TARGET to VALUE and read it back: -EILSEQ when the driver kept another value */
static int set_verified(struct asios_root *root, const char *target, const char *value, char **readback)
{
	const struct asios_eth_field *f;
	enum asios_eth_group g;
	char ifname[64], *end;
	long v = strtol(value, &end, 10);
	int r = parse_target(target, ifname, sizeof(ifname), &g, &f);

	*readback = NULL;
	if (r >= 0 && (*end || end == value))
		r = -EINVAL;
	if (r >= 0)
		r = asios_ethtool_set(root, ifname, g, f, v);
	if (r >= 0)
		r = read_target(root, target, readback);
	return r < 0 ? r : strcmp(*readback, value) ? -EILSEQ : 0;
}

int asios_ethtool_current(struct asios_root *root, const struct asios_action *a, char **value)
{
	int r = read_target(root, a->path, value);

	return r == -ENODEV ? -ESRCH : r;
}

int asios_ethtool_perform(struct asios_root *root, const struct asios_action *a, char **readback,
			  struct asios_apply_report *rep)
{
	int r = set_verified(root, a->path, a->new_value, readback);

	(void)rep;
	/* accepted and ignored (virtio-net's adaptive-rx on a device without notification coalescing): the driver
	 * does not support it, nothing changed, nothing to roll back */
	if (r == -EILSEQ && a->old_value && *readback && !strcmp(*readback, a->old_value))
		return -EOPNOTSUPP;
	return r == -ENODEV ? -ESRCH : r;
}

int asios_ethtool_restore(struct asios_root *root, const char *target, const char *value, char **readback)
{
	return set_verified(root, target, value, readback);
}

static int ifindex_of(struct asios_root *root, const char *target, long *ret)
{
	char path[128];
	size_t len = strcspn(target, "/");

	if (len >= 64)
		return -EINVAL;
	snprintf(path, sizeof(path), "/sys/class/net/%.*s/ifindex", (int)len, target);
	return asios_read_long(root, path, ret);
}

int asios_ethtool_identity(struct asios_root *root, const struct asios_action *a, char **ident)
{
	long ifindex;
	int r = ifindex_of(root, a->path, &ifindex);

	if (r == -ENOENT) { /* no index to tell by (a capture without it) */
		*ident = strdup("-");
		return *ident ? 0 : -ENOMEM;
	}
	if (r < 0)
		return r;
	return asprintf(ident, "ifindex:%ld", ifindex) < 0 ? -ENOMEM : 0;
}

char *asios_ethtool_gone(struct asios_root *root, const char *target, const char *ident)
{
	long was, now;
	char *why = NULL;
	int len = (int)strcspn(target, "/");

	if (sscanf(ident, "ifindex:%ld", &was) != 1)
		return NULL;
	if (ifindex_of(root, target, &now) < 0) {
		if (asprintf(&why, "%.*s has gone (its device was removed): nothing to restore", len, target) < 0)
			why = NULL;
	} else if (now != was) {
		if (asprintf(&why, "%.*s is another interface now (index %ld, was %ld: its driver was reloaded, "
			     "which reset its settings): left alone", len, target, now, was) < 0)
			why = NULL;
	}
	return why;
}

bool asios_ethtool_refused(int err)
{
	/* EOPNOTSUPP: the driver has no such operation; EPERM: no CAP_NET_ADMIN */
	return err == EOPNOTSUPP || err == EPERM;
}
