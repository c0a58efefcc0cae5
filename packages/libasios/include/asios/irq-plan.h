/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * IRQ affinity planning (asios-irqd, asiosctl irq). The policy comes from /etc/asios/irqd.conf and
 * irqd.conf.d/NAME.conf; the planner is pure: snapshot + policy → plan.
 */

#include <stdbool.h>

#include "asios/config.h"
#include "asios/plan.h"
#include "asios/snapshot.h"

struct asios_irq_override {
	int irq;                 /* -1 for a device override */
	char device[16];         /* PCI address for a device override */
	bool ignore;             /* leave alone */
	hwloc_bitmap_t cpus;     /* NULL: not set */
};

struct asios_irq_policy {
	hwloc_bitmap_t banned_cpus;   /* never given an IRQ (besides isolated and nohz_full CPUs) */
	int *banned_irqs;
	size_t n_banned_irqs;
	bool gpu_aware;               /* NIC queues start on the cores of the GPU they are paired with */
	bool take_over;               /* run even while irqbalance is active (the daemon stops honouring it) */
	unsigned interval;            /* daemon: seconds between checks for new IRQs and of interrupt rates */
	/* daemon: re-spread queue IRQs by measured rate when it pays (asios_irq_rebalance_pays) */
	bool rebalance;
	unsigned rebalance_min_rate;  /* the busiest CPU takes at least this many device interrupts per second */
	unsigned rebalance_gain;      /* and the rate-aware plan lowers that peak by at least this many percent */
	unsigned rebalance_checks;    /* in this many consecutive checks */
	unsigned rebalance_holdoff;   /* seconds after a rebalance before the next one */
	struct asios_irq_override *overrides;
	size_t n_overrides;
};

#define ASIOS_IRQD_CONF "/etc/asios/irqd.conf"
#define ASIOS_IRQD_CONF_D "/etc/asios/irqd.conf.d"
#define ASIOS_IRQD_JOURNAL "/run/asios/irqd.journal"
/* the measured rates asios-irqd planned the current layout with, "IRQ RATE" a line (interrupts per second) */
#define ASIOS_IRQD_RATES "/run/asios/irqd.rates"

int asios_irq_policy_init(struct asios_irq_policy *p);
void asios_irq_policy_clear(struct asios_irq_policy *p);
/*
 * irqd.conf: asios_conf_format_read(&asios_irq_policy_format, &policy, CONF, CONF_D, &error) inits, reads CONF
 * and every CONF_D/NAME.conf in name order (either may be missing); on a bad line -EINVAL and *error =
 * "FILE:LINE: what" (free it), the policy cleared again. The domain table and the daemons read it so.
 */
extern const struct asios_conf_format asios_irq_policy_format;
/* TEXT into an initialised policy (for tests); ORIGIN names it in errors. */
int asios_irq_policy_parse(struct asios_irq_policy *p, const char *text, const char *origin, char **error);

/* The plan. Only -ENOMEM fails; everything else is an action, a skip or a note. */
int asios_irq_plan(const struct asios_snapshot *s, const struct asios_irq_policy *p, struct asios_plan **ret);

/*
 * Rate-aware planning. RATES[irq] is the measured interrupts per second of IRQ number irq (N_RATES entries;
 * IRQs beyond are taken as 0). The queue vectors of a device are then placed busiest first, each on the
 * least-loaded CPU of the same CPU order the plain planner uses (ties: fewest queues, then the plain order), so
 * hot queues no longer share a core. Devices whose NIC starts on its paired GPU's CPUs keep the plain order.
 * RATES NULL gives asios_irq_plan().
 */
int asios_irq_plan_rated(const struct asios_snapshot *s, const struct asios_irq_policy *p, const double *rates,
			 size_t n_rates, struct asios_plan **ret);
/*
 * The rates a rate-aware layout was planned with, kept in ASIOS_IRQD_RATES under ROOT so that a restarted
 * daemon and `asiosctl irq plan` plan the same layout. Write replaces the file at once (temporary file and
 * rename) with the nonzero entries of RATES[N]. Read gives *RATES (*N entries, never NULL when the file is there)
 * or NULL and 0 when there is no file; -EINVAL for a line that is not "IRQ RATE".
 */
int asios_irq_rates_write(const struct asios_root *root, const double *rates, size_t n);
int asios_irq_rates_read(const struct asios_root *root, double **rates, size_t *n);
/*
 * The interrupt load of the busiest housekeeping CPU, in interrupts per second: each IRQ's rate counted on the
 * CPU it is bound to (its target in PLAN when PLAN moves it, its affinity otherwise; spread evenly when bound
 * to several CPUs). Pure.
 */
double asios_irq_peak_load(const struct asios_snapshot *s, const struct asios_plan *plan, const double *rates,
			   size_t n_rates);
/* The hysteresis of one check: the peak is high enough and the rate-aware plan lowers it enough. */
bool asios_irq_rebalance_pays(const struct asios_irq_policy *p, double peak_now, double peak_planned);
