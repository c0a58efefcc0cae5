/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The tuning domains (IRQ affinity, NUMA placement, CPU isolation, block devices…), each described once, in
 * one static table (domain.c), in the style of bpftune's tuners: what a domain is called, where its policy and
 * undo journal live, what it observes beyond the snapshot, its pure planner with the one signature every
 * domain shares, the events that make it re-plan, and its knobs as data. Whatever reads all domains at once
 * (asiosctl's plan verbs, snapshot, metrics, health, auto-tuning) walks this table; a new domain is a new
 * entry, and the apply engine (apply.h) knows none of them.
 *
 * Every step of a domain runs the same way for asiosctl, the daemons and the tests:
 *   format (conf, conf_d) → observe(root, snapshot, policy) → plan(snapshot, state, policy) → asios_apply()
 */

#include <stdbool.h>
#include <stddef.h>

struct asios_root;
struct asios_snapshot;
struct asios_plan;
struct asios_conf_format;
struct asios_effect_sample;
struct asios_apply_report;

/* What makes a domain's daemon re-plan (bit mask). */
enum {
	ASIOS_EVENT_TIMER = 1 << 0,   /* its interval */
	ASIOS_EVENT_UEVENT = 1 << 1,  /* a device added or removed (udev) */
	ASIOS_EVENT_PROC = 1 << 2,    /* a process started (proc connector) */
	ASIOS_EVENT_BPF = 1 << 3,     /* an eBPF program's ring buffer */
	ASIOS_EVENT_CPU = 1 << 4,     /* a CPU went on- or offline */
};

#define ASIOS_KNOB_CLASSES 4

/*
 * One knob a domain sets, as data: the health engine and the auto-tuner read these, `asiosctl DOMAIN knobs`
 * prints them. PATH is the file under the root; "%s" in it stands for the object (a block device's name).
 * VALUE holds the value per class column of the domain (its profiles or device classes; NULL: left alone
 * there). MIN and MAX bound what an auto-tuner may choose (both 0: not a number).
 */
struct asios_knob {
	const char *name;
	const char *path;
	const char *value[ASIOS_KNOB_CLASSES];
	long min, max;
	bool needs_isolation;   /* set only while some CPU is isolated */
	bool unsafe;            /* never changed by the auto-tuner (asios/tune.h): a wrong value costs more than
				 * a benchmark can show (explain says what) */
	bool floor;             /* only raised: a higher value (set by a driver, the cloud, an admin) is kept */
	unsigned field;         /* the file holds several numbers: the knob is the FIELD-th (1-based); 0: the whole */
	const char *at_least;   /* a coupled constraint: never below the value of the knob of this name (the
				 * auto-tuner raises it along when it raises that one) */
	const char *brief;      /* the reason an action carries */
	const char *explain;    /* what it does, the trade-off */
};

struct asios_domain {
	const char *name;            /* "irq": the asiosctl verb, the journal's and the metrics' name */
	const char *summary;         /* one line for `asiosctl --help` */
	const char *daemon;          /* the daemon that runs it ("asios-irqd"), or NULL: asiosctl and units only */
	const char *conf, *conf_d;   /* policy file and its drop-in folder (read under --root for a capture) */
	const char *journal;         /* its undo journal */
	const char *restored;        /* what a revert restores, for its message ("IRQ affinities") */
	unsigned events;             /* ASIOS_EVENT_* */
	const char *const *classes;  /* names of the knob value columns, NULL-terminated, or NULL */
	const struct asios_knob *(*knobs)(size_t *n); /* its knob table, or NULL */

	size_t policy_size;
	/* its policy file (config.h: the handler, default file, init and clear), read by asios_domain_policy() */
	const struct asios_conf_format *format;
	/* what the plan compares with beyond the snapshot (processes, knobs, files); NULL: the snapshot is all */
	int (*observe)(struct asios_root *root, const struct asios_snapshot *s, const void *policy, void **state);
	void (*state_free)(void *state);
	/* the objects observe could not read, each named (NULL-terminated), or NULL */
	char **(*warnings)(const void *state, size_t *n);
	/* pure: snapshot + state + policy → plan, every action and skip with its reason */
	int (*plan)(const struct asios_snapshot *s, const void *state, const void *policy, struct asios_plan **ret);

	/* the metric its plans are meant to lower, sampled around every apply (effect.h); NULL effect: none */
	const char *effect_metric;   /* "cross_node_irq_share": asios_decision_effect's metric label */
	int effect_kind;             /* enum asios_effect_kind */
	int (*effect)(struct asios_root *root, const struct asios_snapshot *s, const void *policy,
		      struct asios_effect_sample *out);
};

/* A knob's value in a policy file's class section: SET false keeps the table's; VALUE NULL leaves the knob alone. */
struct asios_knob_value {
	bool set;
	char *value;
};

struct asios_conf;
/*
 * NAME = VALUE (a number in the knob's range, one of WORDS (NULL-terminated, or NULL) for knob WORDS_KNOB, or
 * "leave") of a class section of DOMAIN's policy, into SLOT (the class's column, indexed like KNOBS, N of them):
 * 1 taken, 0 refused with the reason in C ("unknown knob", "not a number in the knob's range", naming
 * `asiosctl DOMAIN knobs`), as an asios_conf handler returns.
 */
int asios_knob_value_set(struct asios_conf *c, const char *domain, const struct asios_knob *knobs, size_t n,
			 struct asios_knob_value *slot, const char *name, const char *value, int words_knob,
			 const char *const *words);

/* LINE ("4096\t131072\t6291456") with its FIELD-th number (1-based; 0: the whole value) set to VALUE, in OUT:
 * 0, or -EINVAL when the line has fewer numbers or OUT is too small */
int asios_knob_field_set(const char *line, unsigned field, long value, char *out, size_t size);
/* the FIELD-th number of LINE (0: the line is one number): 0, or -EINVAL */
int asios_knob_field_get(const char *line, unsigned field, long *ret);

/* The registered domains, in the order asiosctl lists them. */
const struct asios_domain *const *asios_domains(size_t *n);
/* The domain called NAME, or NULL. */
const struct asios_domain *asios_domain_find(const char *name);

/*
 * One domain's run on a machine: policy, observation and plan, released with asios_domain_run_clear() (also
 * after a failed step). asios_domain_policy() fails with *error = "FILE:LINE: what" (free it); the others
 * return a negative errno for the caller's message.
 */
struct asios_domain_run {
	const struct asios_domain *domain;
	void *policy;                /* policy_size bytes, read */
	void *state;                 /* observe's result, or NULL */
	struct asios_plan *plan;
};
int asios_domain_policy(const struct asios_domain *d, const char *conf, const char *conf_d,
			struct asios_domain_run *run, char **error);
int asios_domain_observe(struct asios_domain_run *run, struct asios_root *root, const struct asios_snapshot *s);
int asios_domain_plan(struct asios_domain_run *run, const struct asios_snapshot *s);
void asios_domain_run_clear(struct asios_domain_run *run);
/* The policy at its place under ROOT_PATH (the root as named on the command line; "/" or NULL: the machine's),
 * configuration files read inside a capture as the daemons read them on the machine. */
int asios_domain_policy_at(const struct asios_domain *d, const char *root_path, struct asios_domain_run *run,
			   char **error);
/* asios_domain_policy_at(), observe and plan: RUN ready to apply. *ERROR says why not (free it; it may be NULL
 * out of memory); RUN is cleared by the caller either way. */
int asios_domain_plan_at(const struct asios_domain *d, struct asios_root *root, const char *root_path,
			 const struct asios_snapshot *s, struct asios_domain_run *run, char **error);

/*
 * asios_apply() of PLAN for domain D with POLICY, and the effect of what it changed: D's metric is sampled just
 * before and, when something was applied, just after, and recorded (effect.h). START, when not NULL, is a sample
 * taken earlier that opens the window before the apply (asiosctl DOMAIN apply --measure); NULL: the window
 * since the last apply, or boot. Telemetry fails nothing: a sample that cannot be taken leaves the record as it
 * was. Returns what asios_apply() returns.
 */
int asios_domain_apply(const struct asios_domain *d, struct asios_root *root, const struct asios_snapshot *s,
		       const void *policy, const struct asios_plan *plan, const struct asios_effect_sample *start,
		       struct asios_apply_report *rep, char **error);
