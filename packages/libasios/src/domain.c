/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/block-plan.h"
#include "asios/apply.h"
#include "asios/config.h"
#include "asios/domain.h"
#include "asios/root.h"
#include "asios/effect.h"
#include "asios/gpu-plan.h"
#include "asios/irq-plan.h"
#include "asios/net-plan.h"
#include "asios/nic-plan.h"
#include "asios/numa-plan.h"
#include "asios/plan.h"
#include "asios/sched-plan.h"
#include "domain-adapt.h"

/*
 * The registry of tuning domains (domain.h). Each entry adapts a domain's typed functions to the one
 * signature; a new domain adds its entry here and nothing else in the engine changes.
 */

/* ---- knob fields: a knob that is one number of its file's line (asios_knob.field) ---- */

int asios_knob_field_get(const char *line, unsigned field, long *ret)
{
	char *copy = strdup(line), *save = NULL, *w, *want = NULL;
	unsigned i = 0;
	int r;

	if (!copy)
		return -ENOMEM;
	for (w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save))
		if (++i == (field ? field : 1))
			want = w;
	r = want && (field || i == 1) && asios_conf_long(want, -2147483648L, 2147483647L, ret) == 0 ? 0 : -EINVAL;
	free(copy);
	return r;
}

int asios_knob_field_set(const char *line, unsigned field, long value, char *out, size_t size)
{
	char *copy = strdup(line), *save = NULL;
	size_t len = 0;
	unsigned i = 0;

	if (!copy)
		return -ENOMEM;
	*out = 0;
	if (!field) {
		snprintf(out, size, "%ld", value);
		free(copy);
		return 0;
	}
	for (char *w = strtok_r(copy, " \t\n", &save); w && len < size; w = strtok_r(NULL, " \t\n", &save)) {
		if (++i == field)
			len += (size_t)snprintf(out + len, size - len, "%s%ld", len ? "\t" : "", value);
		else
			len += (size_t)snprintf(out + len, size - len, "%s%s", len ? "\t" : "", w);
	}
	free(copy);
	return i >= field && len < size ? 0 : -EINVAL;
}

/* ---- a class section's KNOB = VALUE ---- */

static bool one_of_words(const char *const *words, const char *w)
{
	for (; words && *words; words++)
		if (!strcmp(*words, w))
			return true;
	return false;
}

int asios_knob_value_set(struct asios_conf *c, const char *domain, const struct asios_knob *knobs, size_t n,
			 struct asios_knob_value *slot, const char *name, const char *value, int words_knob,
			 const char *const *words)
{
	char how[64], *v = NULL;
	size_t k = 0;
	long x;

	while (k < n && strcmp(knobs[k].name, name))
		k++;
	snprintf(how, sizeof(how), "asiosctl %s knobs", domain);
	if (k == n)
		return asios_conf_fail(c, "unknown knob \"%s\" (%s lists them)", name, how);
	if (strcmp(value, "leave") && !((int)k == words_knob && one_of_words(words, value)) &&
	    asios_conf_long(value, knobs[k].min, knobs[k].max, &x) != 0) {
		char what[320];

		snprintf(what, sizeof(what), "%s = %s", name, value);
		return asios_conf_fail(c, "%s: not a number in the knob's range (%s)", what, how);
	}
	if (strcmp(value, "leave") && !(v = strdup(value)))
		return 0;
	free(slot[k].value);
	slot[k].value = v;
	slot[k].set = true;
	return 1;
}

/* ---- irq: the snapshot, and the rates asios-irqd planned with ---- */

/* the rates of asios-irqd's last rebalance (irqd.rates), which it plans with as long as rebalance is on */
struct irq_state {
	double *rates;
	size_t n;
};

static void irq_state_free(void *state)
{
	struct irq_state *x = state;

	if (x)
		free(x->rates);
	free(x);
}

static int irq_observe(struct asios_root *root, const struct asios_snapshot *s, const void *p, void **state)
{
	const struct asios_irq_policy *policy = p;
	struct irq_state *x = calloc(1, sizeof(*x));

	(void)s;
	*state = x;
	if (!x)
		return -ENOMEM;
	return policy && policy->rebalance ? asios_irq_rates_read(root, &x->rates, &x->n) : 0;
}

static int irq_plan(const struct asios_snapshot *s, const void *state, const void *p, struct asios_plan **ret)
{
	const struct irq_state *x = state;

	return asios_irq_plan_rated(s, p, x ? x->rates : NULL, x ? x->n : 0, ret);
}

static const struct asios_domain irq_domain = {
	.name = "irq",
	.summary = "IRQ affinity: plan with reasons, apply with undo, revert",
	.daemon = "asios-irqd",
	.conf = ASIOS_IRQD_CONF,
	.conf_d = ASIOS_IRQD_CONF_D,
	.journal = ASIOS_IRQD_JOURNAL,
	.restored = "IRQ affinities",
	.events = ASIOS_EVENT_TIMER | ASIOS_EVENT_UEVENT | ASIOS_EVENT_CPU,
	.policy_size = sizeof(struct asios_irq_policy),
	.format = &asios_irq_policy_format,
	.observe = irq_observe,
	.state_free = irq_state_free,
	.plan = irq_plan,
	.effect_metric = "cross_node_irq_share",
	.effect_kind = ASIOS_EFFECT_SHARE,
	.effect = asios_effect_irq_remote,
};

/* ---- numa: the workloads (processes with an accelerator open, or named by the policy) ---- */

ASIOS_DOMAIN_STATE(numa, struct asios_numa_state)

static int numa_observe(struct asios_root *root, const struct asios_snapshot *s, const void *p, void **state)
{
	struct asios_numa_state *st = NULL;
	int r = asios_numa_observe(root, s, p, &st);

	*state = st;
	return r;
}

static int numa_plan(const struct asios_snapshot *s, const void *state, const void *p, struct asios_plan **ret)
{
	return asios_numa_plan(s, state, p, ret);
}

static const struct asios_domain numa_domain = {
	.name = "numa",
	.summary = "NUMA placement of accelerator workloads: plan, apply with undo, revert",
	.daemon = "asios-numad",
	.conf = ASIOS_NUMAD_CONF,
	.conf_d = ASIOS_NUMAD_CONF_D,
	.journal = ASIOS_NUMAD_JOURNAL,
	.restored = "values (CPU affinities, huge page pools, AutoNUMA)",
	.events = ASIOS_EVENT_TIMER | ASIOS_EVENT_PROC,
	.policy_size = sizeof(struct asios_numa_policy),
	.format = &asios_numa_policy_format,
	.observe = numa_observe,
	.state_free = numa_state_free,
	.warnings = numa_warnings,
	.plan = numa_plan,
	.effect_metric = "workload_remote_memory_share",
	.effect_kind = ASIOS_EFFECT_GAUGE,
	.effect = asios_effect_numa_remote,
};

/* ---- isolate: knobs, masks, kernel threads, files, TuneD, and the CPU split ---- */

static const char *const sched_profiles[] = { "throughput", "latency", "inference", NULL };

static void isolate_state_free(void *state)
{
	struct asios_isolate_state *x = state;

	if (!x)
		return;
	asios_sched_layout_clear(&x->layout);
	asios_sched_state_free(x->st);
	free(x);
}

static int isolate_observe(struct asios_root *root, const struct asios_snapshot *s, const void *p, void **state)
{
	struct asios_isolate_state *x = calloc(1, sizeof(*x));
	int r = x ? asios_sched_observe(root, s, p, &x->st) : -ENOMEM;

	if (r >= 0)
		r = asios_sched_layout(s, p, &x->layout);
	*state = x;
	return r;
}

static char **isolate_warnings(const void *state, size_t *n)
{
	const struct asios_isolate_state *x = state;

	*n = x->st->n_warnings;
	return x->st->warnings;
}

static int isolate_plan(const struct asios_snapshot *s, const void *state, const void *p, struct asios_plan **ret)
{
	const struct asios_isolate_state *x = state;

	return asios_sched_plan(s, x->st, p, &x->layout, ret);
}

static const struct asios_domain isolate_domain = {
	.name = "isolate",
	.summary = "CPU isolation and scheduler profile: plan, apply with undo, revert",
	.daemon = "asios-schedd",
	.conf = ASIOS_SCHEDD_CONF,
	.conf_d = ASIOS_SCHEDD_CONF_D,
	.journal = ASIOS_SCHEDD_JOURNAL,
	.restored = "values (masks, kernel threads, partition, knobs, command line and drop-in files)",
	.events = ASIOS_EVENT_TIMER | ASIOS_EVENT_PROC | ASIOS_EVENT_BPF,
	.classes = sched_profiles,
	.knobs = asios_sched_knobs,
	.policy_size = sizeof(struct asios_sched_policy),
	.format = &asios_sched_policy_format,
	.observe = isolate_observe,
	.state_free = isolate_state_free,
	.warnings = isolate_warnings,
	.plan = isolate_plan,
	.effect_metric = "isolated_cpu_interrupts_per_second",
	.effect_kind = ASIOS_EFFECT_RATE,
	.effect = asios_effect_isolated_disturbances,
};

static const struct asios_domain *const domains[] = {
	&irq_domain,
	&numa_domain,
	&isolate_domain,
	&asios_block_domain,
	&asios_net_domain,
	&asios_nic_domain,
	&asios_gpu_domain,
};

const struct asios_domain *const *asios_domains(size_t *n)
{
	*n = sizeof(domains) / sizeof(domains[0]);
	return domains;
}

const struct asios_domain *asios_domain_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(domains) / sizeof(domains[0]); i++)
		if (!strcmp(domains[i]->name, name))
			return domains[i];
	return NULL;
}

/* ---- one run of a domain ---- */

int asios_domain_policy(const struct asios_domain *d, const char *conf, const char *conf_d,
			struct asios_domain_run *run, char **error)
{
	*run = (struct asios_domain_run){ .domain = d };
	int r;

	run->policy = calloc(1, d->policy_size);
	if (!run->policy)
		return -ENOMEM;
	r = asios_conf_format_read(d->format, run->policy, conf, conf_d, error);
	if (r < 0) { /* the format left it cleared */
		free(run->policy);
		run->policy = NULL;
	}
	return r;
}

int asios_domain_observe(struct asios_domain_run *run, struct asios_root *root, const struct asios_snapshot *s)
{
	if (!run->domain->observe)
		return 0;
	return run->domain->observe(root, s, run->policy, &run->state);
}

int asios_domain_plan(struct asios_domain_run *run, const struct asios_snapshot *s)
{
	asios_plan_free(run->plan);
	run->plan = NULL;
	return run->domain->plan(s, run->state, run->policy, &run->plan);
}

int asios_domain_policy_at(const struct asios_domain *d, const char *root_path, struct asios_domain_run *run,
			   char **error)
{
	const char *prefix = !root_path || !strcmp(root_path, "/") ? "" : root_path;
	char conf[4096], dir[4096];

	(void)asios_conf_set_root(*prefix ? root_path : NULL); /* a capture's configuration is read inside it */
	snprintf(conf, sizeof(conf), "%s%s", prefix, d->conf);
	snprintf(dir, sizeof(dir), "%s%s", prefix, d->conf_d);
	return asios_domain_policy(d, conf, dir, run, error);
}

int asios_domain_plan_at(const struct asios_domain *d, struct asios_root *root, const char *root_path,
			 const struct asios_snapshot *s, struct asios_domain_run *run, char **error)
{
	int r = asios_domain_policy_at(d, root_path, run, error);

	if (r >= 0 && ((r = asios_domain_observe(run, root, s)) < 0 || (r = asios_domain_plan(run, s)) < 0))
		*error = strdup("cannot observe or plan the machine");
	return r;
}

void asios_domain_run_clear(struct asios_domain_run *run)
{
	if (!run->domain)
		return;
	asios_plan_free(run->plan);
	if (run->state && run->domain->state_free)
		run->domain->state_free(run->state);
	if (run->policy)
		run->domain->format->clear(run->policy);
	free(run->policy);
	*run = (struct asios_domain_run){ 0 };
}

int asios_domain_apply(const struct asios_domain *d, struct asios_root *root, const struct asios_snapshot *s,
		       const void *policy, const struct asios_plan *plan, const struct asios_effect_sample *start,
		       struct asios_apply_report *rep, char **error)
{
	struct asios_effect_sample before, after;
	bool sampled = d->effect && plan->n_actions && d->effect(root, s, policy, &before) >= 0;
	int r = asios_apply(root, plan, d->journal, rep, error);

	if (sampled && r >= 0 && rep->applied && d->effect(root, s, policy, &after) >= 0)
		(void)asios_effect_record(root, d, start, &before, &after);
	return r;
}
