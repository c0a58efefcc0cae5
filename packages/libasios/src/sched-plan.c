/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cmdline.h"
#include "asios/cpulist.h"
#include "asios/sched-plan.h"
#include "util.h"

/*
 * The isolation planner. Pure: no I/O, only the snapshot, the observation and the policy.
 *
 * The split works on whole cores (SMT siblings share a core index in the snapshot): a core is either all
 * housekeeping or all isolated, so an isolated CPU never shares its core's caches and execution units with
 * housekeeping work. The core of CPU 0 (or of the lowest online CPU when CPU 0 is offline) always stays
 * housekeeping: CPU 0 takes the timekeeping duty, legacy interrupts and much boot-time work. With
 * isolate = auto each NUMA node keeps its first housekeeping_cores cores (lowest CPU ids), so every node keeps
 * CPUs for its devices' interrupts and kernel threads; an explicit list drops any core it names only in
 * part and the CPU 0 core, each with a note.
 */

static int note(struct asios_sched_layout *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int note(struct asios_sched_layout *l, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = asios_strv_pushv(&l->notes, &l->n_notes, fmt, ap);
	va_end(ap);
	return r;
}

/* the online CPUs of core CORE (snapshot core index) */
static void core_cpus(const struct asios_snapshot *s, int core, hwloc_bitmap_t out)
{
	hwloc_bitmap_zero(out);
	for (size_t i = 0; i < s->n_cpus; i++)
		if (s->cpus[i].online && s->cpus[i].core == core)
			hwloc_bitmap_set(out, s->cpus[i].id);
}

static const struct asios_cpu *cpu_by_id(const struct asios_snapshot *s, unsigned id)
{
	for (size_t i = 0; i < s->n_cpus; i++)
		if (s->cpus[i].id == id)
			return &s->cpus[i];
	return NULL;
}

/* CPU 0's core, or the lowest online CPU's when CPU 0 is offline */
static int boot_core(const struct asios_snapshot *s, struct asios_sched_layout *l, hwloc_bitmap_t hk)
{
	const struct asios_cpu *c = cpu_by_id(s, 0);
	int first = hwloc_bitmap_first(s->online);

	if (!c || !c->online) {
		if (first < 0)
			return 0;
		c = cpu_by_id(s, (unsigned)first);
		if (note(l, "CPU 0 is offline: CPU %d's core takes the housekeeping duties instead", first) < 0)
			return -ENOMEM;
	}
	if (!c)
		return 0;
	if (c->core < 0)
		hwloc_bitmap_set(hk, c->id);
	else {
		hwloc_bitmap_t core = hwloc_bitmap_alloc();

		if (!core)
			return -ENOMEM;
		core_cpus(s, c->core, core);
		hwloc_bitmap_set(core, c->id);
		hwloc_bitmap_or(hk, hk, core);
		hwloc_bitmap_free(core);
	}
	return 0;
}

/* the online CPUs of the core of CPU ID (only ID when its core is unknown) */
static void core_of(const struct asios_snapshot *s, unsigned id, hwloc_bitmap_t out)
{
	const struct asios_cpu *c = cpu_by_id(s, id);

	if (c && c->core >= 0)
		core_cpus(s, c->core, out);
	else
		hwloc_bitmap_only(out, id);
}

static int split_auto(const struct asios_snapshot *s, const struct asios_sched_policy *p, struct asios_sched_layout *l)
{
	hwloc_bitmap_t hk = l->housekeeping, core = hwloc_bitmap_alloc(), node_cpus = hwloc_bitmap_alloc();
	int r = 0;

	if (!core || !node_cpus) {
		r = -ENOMEM;
		goto out;
	}
	/* CPUs of no known node or core are kept: nothing tells which CPUs they share with */
	for (size_t i = 0; i < s->n_cpus; i++)
		if (s->cpus[i].online && (s->cpus[i].node < 0 || s->cpus[i].core < 0))
			hwloc_bitmap_set(hk, s->cpus[i].id);
	for (size_t n = 0; n < s->n_nodes && r >= 0; n++) {
		unsigned kept = 0, cores = 0;
		int id = -1;

		hwloc_bitmap_and(node_cpus, s->nodes[n].cpus, s->online);
		/* cores in the order of their lowest CPU; the CPU 0 core counts as one of its node's */
		while ((id = hwloc_bitmap_next(node_cpus, id)) >= 0) {
			core_of(s, (unsigned)id, core);
			if (hwloc_bitmap_first(core) != id)
				continue; /* a sibling of a core already counted */
			cores++;
			if (hwloc_bitmap_intersects(core, hk) || kept < p->housekeeping_cores) {
				kept++;
				hwloc_bitmap_or(hk, hk, core);
			}
		}
		if (cores && cores <= kept)
			r = note(l, "node %u: %u core%s, all kept for housekeeping (housekeeping_cores = %u)", s->nodes[n].id,
				 cores, cores == 1 ? "" : "s", p->housekeeping_cores);
	}
	hwloc_bitmap_andnot(l->isolated, s->online, hk);
out:
	hwloc_bitmap_free(core);
	hwloc_bitmap_free(node_cpus);
	return r;
}

static int split_list(const struct asios_snapshot *s, const struct asios_sched_policy *p, struct asios_sched_layout *l)
{
	hwloc_bitmap_t want = hwloc_bitmap_dup(p->isolate_cpus), core = hwloc_bitmap_alloc(), gone = hwloc_bitmap_alloc();
	char *g = NULL;
	int r = 0, id = -1;

	if (!want || !core || !gone) {
		r = -ENOMEM;
		goto out;
	}
	hwloc_bitmap_andnot(gone, want, s->online);
	if (!hwloc_bitmap_iszero(gone)) {
		g = asios_cpulist_format(gone);
		r = note(l, "isolate lists CPUs %s that are not online here: left out", g ? g : "?");
		free(g);
	}
	hwloc_bitmap_and(want, want, s->online);
	hwloc_bitmap_zero(l->isolated);
	while (r >= 0 && (id = hwloc_bitmap_next(want, id)) >= 0) {
		core_of(s, (unsigned)id, core);
		hwloc_bitmap_and(gone, core, want);
		if (hwloc_bitmap_first(gone) != id)
			continue; /* once per core, at its first listed CPU */
		g = asios_cpulist_format(core);
		if (hwloc_bitmap_intersects(core, l->housekeeping))
			r = note(l, "CPUs %s: the core of CPU 0 keeps the housekeeping duties, not isolated", g ? g : "?");
		else if (!hwloc_bitmap_isincluded(core, want))
			r = note(l, "CPUs %s share a core but isolate lists only some of them: the core is kept for "
				    "housekeeping (isolated sets never split SMT siblings)", g ? g : "?");
		else
			hwloc_bitmap_or(l->isolated, l->isolated, core);
		free(g);
	}
	hwloc_bitmap_andnot(l->housekeeping, s->online, l->isolated);
out:
	hwloc_bitmap_free(want);
	hwloc_bitmap_free(core);
	hwloc_bitmap_free(gone);
	return r;
}

/* isolcpus=[flags,]list of the running command line vs ours */
static bool same_param(const char *running, const char *planned, bool isolcpus)
{
	hwloc_bitmap_t a = hwloc_bitmap_alloc(), b = hwloc_bitmap_alloc();
	bool same = false;

	if (!running || !planned)
		same = !running && !planned;
	else if (a && b && isolcpus)
		same = asios_isolcpus_parse(running, a, NULL) == 0 && asios_isolcpus_parse(planned, b, NULL) == 0 &&
		       hwloc_bitmap_isequal(a, b) && strstr(running, "managed_irq") && strstr(running, "domain");
	else if (a && b)
		same = asios_cpulist_parse(running, a, NULL) == 0 && asios_cpulist_parse(planned, b, NULL) == 0 &&
		       hwloc_bitmap_isequal(a, b);
	hwloc_bitmap_free(a);
	hwloc_bitmap_free(b);
	return same;
}

/* the kernel can take the parameter: its option is on, or the kernel configuration is not known */
static bool kernel_has(const struct asios_snapshot *s, const char *option)
{
	const char *v;

	if (!s->n_kconfig)
		return true;
	v = asios_kconfig_get(s, option);
	return v && (!strcmp(v, "y") || !strcmp(v, "m"));
}

static int build_cmdline(const struct asios_snapshot *s, const struct asios_sched_policy *p, struct asios_sched_layout *l)
{
	char *iso = asios_cpulist_format(l->isolated), *hk = asios_cpulist_format(l->housekeeping);
	char *params[5] = { NULL }, *running;
	const char *names[5] = { "nohz_full", "rcu_nocbs", "isolcpus", "irqaffinity", "kthread_cpus" };
	size_t len = 0;
	int r = 0;

	if (!iso || !hk) {
		r = -ENOMEM;
		goto out;
	}
	if (*iso) {
		if (p->nohz_full && !kernel_has(s, "NO_HZ_FULL"))
			r = note(l, "nohz_full= left out: this kernel is built without CONFIG_NO_HZ_FULL");
		else if (p->nohz_full && !(params[0] = strdup(iso)))
			r = -ENOMEM;
		if (r >= 0 && p->rcu_nocbs && !kernel_has(s, "RCU_NOCB_CPU"))
			r = note(l, "rcu_nocbs= left out: this kernel is built without CONFIG_RCU_NOCB_CPU");
		else if (r >= 0 && p->rcu_nocbs && !(params[1] = strdup(iso)))
			r = -ENOMEM;
		if (r >= 0 && p->isolcpus && asprintf(&params[2], "managed_irq,domain,%s", iso) < 0)
			params[2] = NULL, r = -ENOMEM;
		if (r >= 0 && p->irqaffinity && !(params[3] = strdup(hk)))
			r = -ENOMEM;
		if (r >= 0 && p->kthread_cpus && !(params[4] = strdup(hk)))
			r = -ENOMEM;
	}
	if (r < 0)
		goto out;
	for (int i = 0; i < 5; i++)
		if (params[i])
			len += strlen(names[i]) + strlen(params[i]) + 2;
	l->cmdline = calloc(1, len + 1);
	if (!l->cmdline) {
		r = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < 5; i++)
		if (params[i] && *params[i]) /* never an empty list: "nohz_full=" would isolate nothing, or worse */
			sprintf(l->cmdline + strlen(l->cmdline), "%s%s=%s", *l->cmdline ? " " : "", names[i], params[i]);
	/* the reboot flag: a parameter we plan that the running kernel was not booted with (or differently) */
	running = s->isolation.cmdline;
	for (int i = 0; i < 5 && r >= 0; i++) {
		char *v = NULL;

		if (!params[i])
			continue;
		if (running && asios_cmdline_get(running, names[i], &v) < 0) {
			r = -ENOMEM;
			break;
		}
		if (!same_param(v, params[i], i == 2))
			l->reboot_required = true;
		free(v);
	}
	if (!p->boot)
		l->reboot_required = false; /* the plan writes no command line: nothing of it needs a reboot */
	if (r >= 0 && strlen(l->cmdline) > p->cmdline_max) {
		r = note(l, "the isolation parameters take %zu characters, more than cmdline_max = %u: the boot part is "
			    "not written (a truncated CPU list would isolate the wrong CPUs)", strlen(l->cmdline), p->cmdline_max);
		free(l->cmdline);
		l->cmdline = NULL;
	}
out:
	for (int i = 0; i < 5; i++)
		free(params[i]);
	free(iso);
	free(hk);
	return r;
}

int asios_sched_layout(const struct asios_snapshot *s, const struct asios_sched_policy *p,
		       struct asios_sched_layout *l)
{
	int r;

	memset(l, 0, sizeof(*l));
	l->housekeeping = hwloc_bitmap_alloc();
	l->isolated = hwloc_bitmap_alloc();
	if (!l->housekeeping || !l->isolated)
		return -ENOMEM;
	r = boot_core(s, l, l->housekeeping);
	if (r >= 0) {
		if (p->isolate == ASIOS_ISOLATE_AUTO)
			r = split_auto(s, p, l);
		else if (p->isolate == ASIOS_ISOLATE_LIST)
			r = split_list(s, p, l);
	}
	if (r >= 0) {
		hwloc_bitmap_andnot(l->housekeeping, s->online, l->isolated);
		if (p->isolate != ASIOS_ISOLATE_NONE && hwloc_bitmap_iszero(l->isolated))
			r = note(l, "no CPU can be isolated on this machine with this policy");
	}
	if (r >= 0)
		r = build_cmdline(s, p, l);
	return r;
}

void asios_sched_layout_clear(struct asios_sched_layout *l)
{
	hwloc_bitmap_free(l->housekeeping);
	hwloc_bitmap_free(l->isolated);
	free(l->cmdline);
	asios_strv_free(l->notes);
	memset(l, 0, sizeof(*l));
}

/* ---- the plan ---- */

static char *grub_snippet(const struct asios_sched_layout *l)
{
	char *iso = asios_cpulist_format(l->isolated), *hk = asios_cpulist_format(l->housekeeping), *out = NULL;

	if (iso && hk &&
	    asprintf(&out,
		     "# CPU isolation of asios-schedd (asiosctl isolate apply), from /etc/asios/schedd.conf.\n"
		     "# Housekeeping CPUs %s, isolated CPUs %s. Takes effect after update-grub and a reboot;\n"
		     "# asiosctl isolate revert removes it.\n"
		     "GRUB_CMDLINE_LINUX_DEFAULT=\"${GRUB_CMDLINE_LINUX_DEFAULT:+$GRUB_CMDLINE_LINUX_DEFAULT }%s\"\n",
		     hk, iso, l->cmdline) < 0)
		out = NULL;
	free(iso);
	free(hk);
	return out;
}

static char *system_dropin(const struct asios_sched_layout *l)
{
	char *iso = asios_cpulist_format(l->isolated), *hk = asios_cpulist_format(l->housekeeping), *out = NULL;

	if (iso && hk &&
	    asprintf(&out,
		     "# asios-schedd: system services run on the housekeeping CPUs, not on the isolated CPUs %s.\n"
		     "# Takes effect at the next boot (or systemctl daemon-reexec); asiosctl isolate revert removes it.\n"
		     "[Manager]\nCPUAffinity=%s\n", iso, hk) < 0)
		out = NULL;
	free(iso);
	free(hk);
	return out;
}

/* a whole file we own: written when it differs, removed when nothing is isolated any more */
static int plan_file(struct asios_plan *plan, const char *object, const char *path, const char *cur, const char *want,
		     const char *why)
{
	if (!want && !cur)
		return 0;
	if (want && cur && !strcmp(want, cur))
		return 0;
	if (!want)
		return asios_plan_add_file(plan, object, path, cur, NULL, "no CPU is isolated any more: %s is removed", path);
	return asios_plan_add_file(plan, object, path, cur, want, "%s", why);
}

/* a mask file (hex, NBITS wide) or a CPU list file set to SET */
static int plan_mask(struct asios_plan *plan, const struct asios_sched_state *st, const char *object, const char *path,
		     hwloc_const_bitmap_t set, unsigned nbits, bool list, const char *why)
{
	const char *cur = asios_sched_state_value(st, path);
	hwloc_bitmap_t now = hwloc_bitmap_alloc();
	char *want = NULL;
	int r = 0;

	if (!now)
		return -ENOMEM;
	if (!cur) {
		r = asios_plan_skip_object(plan, object, "%s is not there (not in this kernel)", path);
	} else if ((list ? asios_cpulist_parse(cur, now, NULL) : asios_cpumask_parse(cur, now, NULL)) < 0) {
		r = asios_plan_skip_object(plan, object, "%s holds \"%s\", not a CPU %s: left alone", path, cur,
					   list ? "list" : "mask");
	} else if (!hwloc_bitmap_isequal(now, set)) {
		want = list ? asios_cpulist_format(set) : asios_cpumask_format(set, nbits);
		r = want ? asios_plan_add_write(plan, object, path, cur, want, "%s", why) : -ENOMEM;
	}
	free(want);
	hwloc_bitmap_free(now);
	return r;
}

static int plan_kthreads(struct asios_plan *plan, const struct asios_sched_state *st, const struct asios_sched_layout *l)
{
	hwloc_bitmap_t to = hwloc_bitmap_alloc();
	int r = 0;

	if (!to)
		return -ENOMEM;
	for (size_t i = 0; i < st->n_kthreads && r >= 0; i++) {
		const struct asios_sched_kthread *k = &st->kthreads[i];

		/* IRQ threads follow their IRQ's affinity (asios-irqd places those) */
		if (!hwloc_bitmap_intersects(k->cpus, l->isolated) || !strncmp(k->comm, "irq/", 4))
			continue;
		/* a thread bound to some CPUs (kswapd to its node) keeps the housekeeping ones among them */
		hwloc_bitmap_and(to, k->cpus, l->housekeeping);
		if (hwloc_bitmap_iszero(to))
			hwloc_bitmap_copy(to, l->housekeeping);
		r = asios_plan_add_affinity(plan, k->pid, k->starttime, k->comm, k->cpus, to,
					    "kernel thread off the isolated CPUs (kthread affinity; kthreadd's children "
					    "inherit it)");
	}
	hwloc_bitmap_free(to);
	return r;
}

/*
 * The workload slice owns the isolated CPUs as an isolated partition. Not when the kernel isolated some of them
 * from boot (isolcpus=domain, /sys/devices/system/cpu/isolated): no scheduler domain spans those and no task
 * goes there unless placed, so the partition adds nothing, and 6.12 refuses it ("partition config conflicts
 * with housekeeping setup": update_parent_effective_cpumask() checks the cgroup's state before the change,
 * member, where it means the state asked for, so an isolated partition of boot-isolated CPUs is never allowed).
 * The slice then owns the CPUs as a member.
 */
static int plan_partition(struct asios_plan *plan, const struct asios_snapshot *s, const struct asios_sched_state *st,
			  const struct asios_sched_policy *p, const struct asios_sched_layout *l)
{
	char cpus[4096], part[4096], object[256], *iso = NULL;
	const char *cur;
	int r = 0;

	snprintf(object, sizeof(object), "cgroup %s", p->workload_slice);
	if (!st->cgroup2)
		return asios_plan_skip_object(plan, object, "no cgroup v2 hierarchy mounted: cpuset partitions need it "
					      "(cgroup v1 cpusets have no isolated partitions); isolation rests on the "
					      "kernel command line");
	if (!st->slice_controllers)
		return asios_plan_skip_object(plan, object, "%s/%s does not exist yet: systemd creates it when a unit "
					      "with Slice=%s starts; re-planned then", st->cgroup2, p->workload_slice,
					      p->workload_slice);
	if (!strstr(st->slice_controllers, "cpuset"))
		return asios_plan_skip_object(plan, object, "the cpuset controller is not enabled for %s (its "
					      "cgroup.controllers: \"%s\")", p->workload_slice, st->slice_controllers);
	snprintf(cpus, sizeof(cpus), "%s/%s/cpuset.cpus", st->cgroup2, p->workload_slice);
	snprintf(part, sizeof(part), "%s/%s/cpuset.cpus.partition", st->cgroup2, p->workload_slice);
	iso = asios_cpulist_format(l->isolated);
	if (!iso)
		return -ENOMEM;
	cur = asios_sched_state_value(st, cpus);
	if (!cur || !asios_sched_state_value(st, part)) {
		r = asios_plan_skip_object(plan, object, "%s has no cpuset.cpus.partition (a kernel before 5.11)",
					   p->workload_slice);
		goto out;
	}
	{
		hwloc_bitmap_t now = hwloc_bitmap_alloc();

		if (!now) {
			r = -ENOMEM;
			goto out;
		}
		if (asios_cpulist_parse(cur, now, NULL) < 0 || !hwloc_bitmap_isequal(now, l->isolated))
			r = asios_plan_add_write(plan, object, cpus, cur, iso,
						 "the workload slice owns exactly the isolated CPUs");
		hwloc_bitmap_free(now);
	}
	cur = asios_sched_state_value(st, part);
	if (r >= 0 && strcmp(cur, "isolated") && s->isolation.isolated &&
	    hwloc_bitmap_intersects(s->isolation.isolated, l->isolated))
		r = asios_plan_skip_object(plan, part, "the kernel isolates these CPUs from boot (isolcpus=domain): no "
					   "partition needed, and Linux 6.12 refuses an isolated one of boot-isolated CPUs");
	else if (r >= 0 && strcmp(cur, "isolated"))
		r = asios_plan_add_write(plan, object, part, cur, "isolated",
					 "an isolated partition: no load balancing and no scheduler domain spans its CPUs, "
					 "and no other cgroup may use them");
out:
	free(iso);
	return r;
}

static int plan_knobs(struct asios_plan *plan, const struct asios_sched_state *st, const struct asios_sched_policy *p,
		      const struct asios_sched_layout *l)
{
	size_t n;
	const struct asios_knob *t = asios_sched_knobs(&n);
	int r = 0;

	for (size_t k = 0; k < n && r >= 0; k++) {
		const char *want = t[k].value[p->profile], *cur = asios_sched_state_value(st, t[k].path);
		bool configured = false;

		for (size_t i = 0; i < p->n_overrides; i++)
			if (p->overrides[i].knob == k) {
				want = p->overrides[i].value;
				configured = true;
			}
		if (!want) {
			if (configured)
				r = asios_plan_skip_object(plan, t[k].name, "leave in [knobs] of the configuration");
			continue;
		}
		if (t[k].needs_isolation && hwloc_bitmap_iszero(l->isolated) && !configured)
			continue;
		if (!cur)
			r = asios_plan_skip_object(plan, t[k].name, "%s is not there (%s)", t[k].path,
						   !strncmp(t[k].path, "/sys/kernel/debug", 17) ? "debugfs not mounted" :
												 "not in this kernel");
		else if (strcmp(cur, want))
			r = asios_plan_add_write(plan, t[k].name, t[k].path, cur, want, "%s: %s",
						 configured ? "set in [knobs]" : asios_sched_profile_name(p->profile),
						 configured ? "the configured value" : t[k].brief);
	}
	return r;
}

int asios_sched_plan(const struct asios_snapshot *s, const struct asios_sched_state *st,
		     const struct asios_sched_policy *p, const struct asios_sched_layout *l, struct asios_plan **ret)
{
	struct asios_plan *plan = asios_plan_new();
	bool iso = !hwloc_bitmap_iszero(l->isolated);
	int last = hwloc_bitmap_last(s->possible);
	unsigned nbits = last >= 0 ? (unsigned)last + 1 : 1;
	char *want = NULL;
	int r = 0;

	if (!plan)
		return -ENOMEM;
	r = asios_plan_note(plan, "profile %s; AutoNUMA (kernel.numa_balancing) is left to asios-numad, device IRQs "
			    "to asios-irqd", asios_sched_profile_name(p->profile));
	for (size_t i = 0; i < l->n_notes && r >= 0; i++)
		r = asios_plan_note(plan, "%s", l->notes[i]);
	/* boot: the kernel command line snippet */
	if (r >= 0 && p->boot) {
		if (iso && !st->grub_dir && !st->grub)
			r = asios_plan_skip_object(plan, "kernel command line", "no /etc/default/grub.d: this machine does "
						   "not boot with GRUB; add the command line shown by asiosctl isolate "
						   "explain to its boot loader");
		else if (iso && !l->cmdline)
			r = asios_plan_skip_object(plan, "kernel command line", "the parameters would be too long "
						   "(cmdline_max): not written");
		else if ((want = iso ? grub_snippet(l) : NULL) || !iso)
			r = plan_file(plan, "kernel command line", ASIOS_SCHEDD_GRUB, st->grub, want,
				      "nohz_full, rcu_nocbs and isolcpus keep the tick, RCU callbacks and scheduler domains "
				      "off the isolated CPUs from boot; irqaffinity keeps new IRQs on housekeeping CPUs "
				      "(update-grub, then reboot)");
		else
			r = -ENOMEM;
		free(want);
		want = NULL;
	}
	if (r >= 0 && p->system_affinity) {
		if ((want = iso ? system_dropin(l) : NULL) || !iso)
			r = plan_file(plan, "system services", ASIOS_SCHEDD_SYSTEM_DROPIN, st->dropin, want,
				      "CPUAffinity= keeps every system service (and what it starts) on the housekeeping "
				      "CPUs");
		else
			r = -ENOMEM;
		free(want);
		want = NULL;
	}
	if (r >= 0 && p->runtime && iso) {
		r = plan_mask(plan, st, "unbound workqueues", "/sys/devices/virtual/workqueue/cpumask", l->housekeeping,
			      nbits, false, "unbound workqueue items run on the housekeeping CPUs only");
		if (r >= 0)
			r = plan_mask(plan, st, "writeback workqueue", "/sys/bus/workqueue/devices/writeback/cpumask",
				      l->housekeeping, nbits, false, "dirty page writeback runs on the housekeeping CPUs only");
		if (r >= 0)
			r = plan_mask(plan, st, "default IRQ affinity", "/proc/irq/default_smp_affinity", l->housekeeping,
				      nbits, false, "IRQs requested from now on start on the housekeeping CPUs");
		if (r >= 0)
			r = plan_mask(plan, st, "soft-lockup watchdog", "/proc/sys/kernel/watchdog_cpumask", l->housekeeping,
				      nbits, true, "the lockup watchdog's timers and threads run on the housekeeping CPUs only");
		if (r >= 0)
			r = plan_kthreads(plan, st, l);
	}
	if (r >= 0 && p->partition && iso)
		r = plan_partition(plan, s, st, p, l);
	if (r >= 0)
		r = plan_knobs(plan, st, p, l);
	if (r < 0) {
		asios_plan_free(plan);
		return r;
	}
	*ret = plan;
	return 0;
}
