/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/config.h"
#include "asios/cpulist.h"
#include "asios/irq-plan.h"

/*
 * irqd.conf: INI sections
 *   [irqd]                 banned_cpus = LIST, banned_irqs = N,N…, gpu_aware = yes|no, take_over_irqbalance = yes|no,
 *                          interval = SECONDS, rebalance = yes|no, rebalance_min_rate = N, rebalance_gain = PERCENT,
 *                          rebalance_checks = N, rebalance_holdoff = SECONDS
 *   [irq N]                cpus = LIST | ignore = yes
 *   [device 0000:18:00.0]  cpus = LIST | ignore = yes
 * Anything else is an error naming file and line, and nothing is applied (config.h says what the shared
 * reader refuses before these handlers see a line).
 */

/* the first error of a file, without its location */
#define fail(c, ...) asios_conf_fail((c), __VA_ARGS__)
/* the policy the reader C fills */
#define POLICY(c) ((struct asios_irq_policy *)(c)->policy)

/* "0000:18:00.0": domain, bus, device (0-1f) and function (0-7) in lower- or upper-case hexadecimal */
static bool pci_address(const char *id)
{
	static const char shape[] = "xxxx:xx:xx.x";

	if (strlen(id) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'x' ? !isxdigit((unsigned char)id[i]) : id[i] != shape[i])
			return false;
	return strtoul(id + 8, NULL, 16) <= 0x1f && id[11] <= '7';
}

static struct asios_irq_override *override_for(struct asios_irq_policy *p, int irq, const char *dev)
{
	struct asios_irq_override *o;

	for (size_t i = 0; i < p->n_overrides; i++)
		if (p->overrides[i].irq == irq && !strcmp(p->overrides[i].device, dev))
			return &p->overrides[i];
	o = realloc(p->overrides, (p->n_overrides + 1) * sizeof(*o));
	if (!o)
		return NULL;
	p->overrides = o;
	o = &p->overrides[p->n_overrides++];
	memset(o, 0, sizeof(*o));
	o->irq = irq;
	snprintf(o->device, sizeof(o->device), "%s", dev);
	return o;
}

/* banned_irqs = N,N… (added to those of earlier lines and files) */
static int banned_irqs(struct asios_conf *c, void *policy, const char *value)
{
	struct asios_irq_policy *p = policy;
	char *copy = strdup(value), *tok, *save = NULL;

	if (!copy)
		return asios_conf_fail(c, "out of memory%s%s", "", "");
	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char *end;
		long v = strtol(tok, &end, 10);
		int *nb;

		if (*end || v < 0 || v > 0x7fffffff) {
			free(copy);
			return asios_conf_fail(c, "banned_irqs: not an IRQ number: \"%s\"%s", value, "");
		}
		nb = realloc(p->banned_irqs, (p->n_banned_irqs + 1) * sizeof(*nb));
		if (!nb) {
			free(copy);
			return asios_conf_fail(c, "out of memory%s%s", "", "");
		}
		p->banned_irqs = nb;
		p->banned_irqs[p->n_banned_irqs++] = (int)v;
	}
	free(copy);
	return 1;
}

#define T struct asios_irq_policy
static const struct asios_conf_item irqd_keys[] = {
	ASIOS_CONF_ITEM_CPUS(T, "banned_cpus", banned_cpus),
	ASIOS_CONF_ITEM_FUNC("banned_irqs", banned_irqs),
	ASIOS_CONF_ITEM_BOOL(T, "gpu_aware", gpu_aware),
	ASIOS_CONF_ITEM_BOOL(T, "take_over_irqbalance", take_over),
	ASIOS_CONF_ITEM_UINT(T, "interval", interval, 1, 3600, "seconds between 1 and 3600"),
	ASIOS_CONF_ITEM_BOOL(T, "rebalance", rebalance),
	ASIOS_CONF_ITEM_UINT(T, "rebalance_min_rate", rebalance_min_rate, 1, 100000000,
			     "interrupts per second (1-100000000)"),
	ASIOS_CONF_ITEM_UINT(T, "rebalance_gain", rebalance_gain, 1, 99, "a percentage between 1 and 99"),
	ASIOS_CONF_ITEM_UINT(T, "rebalance_checks", rebalance_checks, 1, 100, "a count between 1 and 100"),
	ASIOS_CONF_ITEM_UINT(T, "rebalance_holdoff", rebalance_holdoff, 0, 86400, "seconds between 0 and 86400"),
};
#undef T

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct asios_conf *c = user;
	struct asios_irq_policy *p = POLICY(c);
	const char *err = NULL;

	if (!strcmp(section, "irqd"))
		return asios_conf_table(c, irqd_keys, ASIOS_CONF_N(irqd_keys), p, section, name, value);
	if (!strncmp(section, "irq ", 4) || !strncmp(section, "device ", 7)) {
		bool is_irq = section[0] == 'i';
		const char *id = section + (is_irq ? 4 : 7);
		struct asios_irq_override *o;
		int irq = -1;

		if (is_irq) {
			char *end;
			long v = strtol(id, &end, 10);

			if (*end || end == id || v < 0 || v > 0x7fffffff)
				return fail(c, "[%s]: not an IRQ number%s", section, "");
			irq = (int)v;
		} else {
			if (!pci_address(id))
				return fail(c, "[%s]: not a PCI address (0000:18:00.0)%s", section, "");
		}
		o = override_for(p, irq, is_irq ? "" : id);
		if (!o)
			return fail(c, "out of memory%s%s", "", "");
		if (!strcmp(name, "cpus")) {
			if (!o->cpus && !(o->cpus = hwloc_bitmap_alloc()))
				return fail(c, "out of memory%s%s", "", "");
			if (asios_cpulist_parse(value, o->cpus, &err) < 0 || hwloc_bitmap_iszero(o->cpus))
				return fail(c, "cpus: not a non-empty CPU list: \"%s\"%s", value, "");
		} else if (!strcmp(name, "ignore")) {
			if (asios_conf_bool(value, &o->ignore) < 0)
				return fail(c, "ignore: expected yes or no, got \"%s\"%s", value, "");
		} else {
			return fail(c, "unknown key \"%s\" in [%s]", name, section);
		}
		return 1;
	}
	return fail(c, "unknown section [%s]%s", section, "");
}

int asios_irq_policy_init(struct asios_irq_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->gpu_aware = true;
	p->interval = 10;
	p->rebalance = true;
	p->rebalance_min_rate = 2000;
	p->rebalance_gain = 25;
	p->rebalance_checks = 3;
	p->rebalance_holdoff = 300;
	p->banned_cpus = hwloc_bitmap_alloc();
	return p->banned_cpus ? 0 : -ENOMEM;
}

void asios_irq_policy_clear(struct asios_irq_policy *p)
{
	hwloc_bitmap_free(p->banned_cpus);
	free(p->banned_irqs);
	for (size_t i = 0; i < p->n_overrides; i++)
		hwloc_bitmap_free(p->overrides[i].cpus);
	free(p->overrides);
	memset(p, 0, sizeof(*p));
}

ASIOS_CONF_FORMAT(irq, handler, NULL, ASIOS_IRQD_CONF, NULL)
