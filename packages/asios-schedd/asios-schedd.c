/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asios-schedd: CPU isolation and scheduler tuning, kept in place, and isolation violations reported.
 *
 * Skeleton (asios_daemon_main(), daemon.h): parse arguments → load schedd.conf (+ drop-ins) → stand down while
 * TuneD runs a CPU partitioning profile (unless take_over_tuned) → first plan + apply (before workloads start:
 * the unit is ordered before the workload slice) → hold /dev/cpu_dma_latency → start the eBPF observer →
 * sd_notify(READY=1) → sd_event_loop(). Every `interval` seconds it re-plans (kernel threads started since, the workload slice
 * appearing, a knob changed behind its back) and, with the observer, logs what disturbed the isolated CPUs:
 * kernel threads and processes outside the workload slice switched in, IRQs, timers, each with its source.
 * SIGHUP reloads the configuration (a bad one is logged with file:line and the old one kept). Changes go
 * through the undo journal of `asiosctl isolate revert`; stopping the daemon leaves them and releases the
 * latency hold.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "asios/apply.h"
#include "asios/cpulist.h"
#include "asios/daemon.h"
#include "asios/domain.h"
#include "asios/proc.h"
#include "asios/sched-plan.h"
#include "asios/snapshot.h"
#include "schedwatch.h"

/* disturbances logged per check, most frequent first */
#define VIOLATIONS_LOGGED 8

/* what asios-schedd keeps beside the skeleton's (asios_daemon) */
struct schedd {
	bool standing_down;
	int dma_fd;                    /* the /dev/cpu_dma_latency hold, -1 none */
	int dma_value;
	struct asios_schedwatch *watch;
	hwloc_bitmap_t isolated;       /* what the observer was started with */
	unsigned long long violations;
	struct asios_watch_state totals; /* what it counted there since it started (ASIOS_SCHEDWATCH_STATE) */
	bool state_warned;
};

/* /dev/cpu_dma_latency: the PM QoS request lasts as long as the file is open */
static void hold_latency(struct asios_daemon *d)
{
	const struct asios_sched_policy *policy = d->policy;
	struct schedd *m = d->self;
	int32_t v = policy->cpu_dma_latency;

	if (m->dma_fd >= 0 && v == m->dma_value)
		return;
	if (m->dma_fd >= 0) {
		close(m->dma_fd);
		m->dma_fd = -1;
		fprintf(stderr, SD_INFO "released the /dev/cpu_dma_latency hold of %d us\n", m->dma_value);
	}
	if (v < 0 || d->args.dry_run)
		return;
	m->dma_fd = asios_root_open_file(d->root, "/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
	if (m->dma_fd < 0) {
		fprintf(stderr, SD_WARNING "/dev/cpu_dma_latency: %s, no latency hold\n", strerror(-m->dma_fd));
		m->dma_fd = -1;
		return;
	}
	if (write(m->dma_fd, &v, sizeof(v)) != sizeof(v)) {
		fprintf(stderr, SD_WARNING "/dev/cpu_dma_latency: write: %m, no latency hold\n");
		close(m->dma_fd);
		m->dma_fd = -1;
		return;
	}
	m->dma_value = v;
	fprintf(stderr, SD_NOTICE "holding /dev/cpu_dma_latency at %d us (deep C-states off while running)\n", v);
}

static double now_unix(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* the observer's counters forgotten, and their file removed (it starts afresh, or stops) */
static void watch_state_drop(struct asios_daemon *d)
{
	struct schedd *m = d->self;
	int r;

	asios_watch_state_clear(&m->totals);
	if ((r = asios_remove_file(d->root, ASIOS_SCHEDWATCH_STATE)) < 0 && r != -ENOENT)
		fprintf(stderr, SD_WARNING "%s: cannot be removed: %s\n", ASIOS_SCHEDWATCH_STATE, strerror(-r));
}

/* the counters for the metrics; written in a dry run too: they are what was seen, not a setting */
static void watch_state_write(struct asios_daemon *d)
{
	struct schedd *m = d->self;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r = f ? 0 : -ENOMEM;

	m->totals.updated = now_unix();
	if (f && (asios_watch_state_format(&m->totals, f) < 0 || fclose(f) != 0))
		r = -EIO;
	if (r >= 0 && (r = asios_mkdirs(d->root, "/run/asios", 0755)) >= 0)
		r = asios_write_whole(d->root, ASIOS_SCHEDWATCH_STATE, text);
	if (r < 0 && !m->state_warned)
		fprintf(stderr, SD_WARNING "%s: cannot be written (%s): the observer's counters are not exported\n",
			ASIOS_SCHEDWATCH_STATE, strerror(-r));
	m->state_warned = r < 0;
	free(text);
}

/* the observer on the isolated CPUs: started, restarted when the set changes, stopped when there are none */
static void watch_isolated(struct asios_daemon *d, const struct asios_snapshot *s, hwloc_const_bitmap_t planned)
{
	const struct asios_sched_policy *policy = d->policy;
	struct schedd *m = d->self;
	hwloc_bitmap_t iso = hwloc_bitmap_alloc();
	int r;

	if (!iso)
		return;
	hwloc_bitmap_or(iso, s->isolation.isolated, s->isolation.nohz_full);
	hwloc_bitmap_or(iso, iso, planned);
	if (!policy->watch || hwloc_bitmap_iszero(iso) || !asios_root_is_host(d->root)) {
		if (m->watch)
			watch_state_drop(d);
		asios_schedwatch_close(m->watch);
		m->watch = NULL;
		hwloc_bitmap_free(iso);
		return;
	}
	if (m->watch && hwloc_bitmap_isequal(iso, m->isolated)) {
		hwloc_bitmap_free(iso);
		return;
	}
	asios_schedwatch_close(m->watch);
	m->watch = NULL;
	watch_state_drop(d);
	r = asios_schedwatch_open(iso, &m->watch);
	if (r < 0) {
		fprintf(stderr, SD_WARNING "eBPF observer not started: %s%s; isolation violations are not reported\n",
			strerror(-r), r == -ENOTSUP ? " (no kernel BTF)" : "");
		hwloc_bitmap_free(iso);
		return;
	}
	hwloc_bitmap_free(m->isolated);
	m->isolated = iso;
	m->totals.started = m->totals.updated = now_unix();
	{
		char *l = asios_cpulist_format(iso);

		fprintf(stderr, SD_INFO "eBPF observer watching isolated CPUs %s\n", l ? l : "?");
		free(l);
	}
}

/* a task on an isolated CPU is a violation when it is a kernel thread or runs outside the workload slice */
static bool task_intrudes(struct asios_daemon *d, unsigned long long pid, bool *kthread)
{
	const struct asios_sched_policy *policy = d->policy;
	char path[64], *cg = NULL;
	unsigned flags = 0;
	bool intrudes = true;

	*kthread = asios_proc_stat(d->root, (long)pid, &flags, NULL) >= 0 && (flags & ASIOS_PF_KTHREAD);
	snprintf(path, sizeof(path), "/proc/%llu/cgroup", pid);
	if (!*kthread && asios_read_file(d->root, path, &cg, NULL) >= 0 && strstr(cg, policy->workload_slice))
		intrudes = false;
	free(cg);
	return intrudes;
}

/* one disturbance: counted, and logged when among the first VIOLATIONS_LOGGED */
static void violation(struct asios_daemon *d, const struct asios_schedwatch_event *e, double seconds,
		      struct asios_watch_cpu *c, unsigned *logged)
{
	struct schedd *m = d->self;
	bool kthread = false, log = *logged < VIOLATIONS_LOGGED;

	if (e->kind == SCHEDWATCH_WORK)
		return; /* it ran in a kworker, whose switch-in is the violation counted */
	if (e->kind == SCHEDWATCH_TASK || e->kind == SCHEDWATCH_KTHREAD) {
		if (!task_intrudes(d, e->id, &kthread))
			return;
		if (log)
			fprintf(stderr, SD_WARNING "isolation violation on CPU %u: %s %s (pid %llu) ran %llu times in %.0f s\n",
				e->cpu, kthread ? "kernel thread" : "process outside the workload slice", e->name,
				(unsigned long long)e->id, (unsigned long long)e->count, seconds);
	} else if (e->kind == SCHEDWATCH_IRQ && log) {
		fprintf(stderr, SD_WARNING "isolation violation on CPU %u: IRQ %llu (%s) %llu times in %.0f s\n", e->cpu,
			(unsigned long long)e->id, e->name, (unsigned long long)e->count, seconds);
	} else if (log) {
		fprintf(stderr, SD_WARNING "isolation violation on CPU %u: timer %s expired %llu times in %.0f s\n",
			e->cpu, e->name, (unsigned long long)e->count, seconds);
	}
	if (c)
		c->n[e->kind == SCHEDWATCH_TASK || e->kind == SCHEDWATCH_KTHREAD ? ASIOS_WATCH_BY_TASK
		     : e->kind == SCHEDWATCH_IRQ ? ASIOS_WATCH_BY_IRQ : ASIOS_WATCH_BY_TIMER] += e->count;
	*logged += log;
	m->violations += e->count;
}

/* the observer's counts since the last check: every isolated CPU's events, what disturbed it */
static void report_violations(struct asios_daemon *d)
{
	struct schedd *m = d->self;
	struct asios_schedwatch_report rep = { 0 };
	unsigned logged = 0;

	if (!m->watch || asios_schedwatch_collect(m->watch, &rep) < 0)
		return;
	for (size_t i = 0; i < rep.n_cpus; i++) {
		const struct schedwatch_cpu *v = &rep.cpus[i].c;
		struct asios_watch_cpu *c;

		if (!hwloc_bitmap_isset(m->isolated, rep.cpus[i].cpu) ||
		    !(c = asios_watch_state_cpu(&m->totals, rep.cpus[i].cpu, true)))
			continue;
		c->n[ASIOS_WATCH_SWITCHES] += v->switches;
		c->n[ASIOS_WATCH_IRQS] += v->irqs;
		c->n[ASIOS_WATCH_HRTIMERS] += v->timers;
		c->n[ASIOS_WATCH_LOCAL_TIMER] += v->local_timer;
		c->n[ASIOS_WATCH_TICK_STOPS] += v->tick_stops;
		c->n[ASIOS_WATCH_PREEMPTIONS] += v->preemptions;
		c->n[ASIOS_WATCH_KTHREADS] += v->kthreads;
		c->n[ASIOS_WATCH_WORK_ITEMS] += v->work_items;
	}
	for (size_t i = 0; i < rep.n_events; i++)
		violation(d, &rep.events[i], rep.seconds, asios_watch_state_cpu(&m->totals, rep.events[i].cpu, true),
			  &logged);
	asios_schedwatch_report_clear(&rep);
	watch_state_write(d);
}

/* Plan and apply once. Errors are logged; the daemon goes on. */
static int replan(struct asios_daemon *d, const char *why)
{
	const struct asios_sched_policy *policy = d->policy;
	struct schedd *m = d->self;
	struct asios_apply_report rep = { 0 };
	struct asios_sched_layout lay = { 0 };
	struct asios_sched_state *st = NULL;
	struct asios_snapshot *s = NULL;
	struct asios_plan *p = NULL;
	char *error = NULL;
	bool dry_run = d->args.dry_run;
	int r;

	r = asios_snapshot_load(d->root, &s);
	if (r < 0) {
		fprintf(stderr, SD_ERR "cannot read the machine: %s\n", strerror(-r));
		return r;
	}
	r = asios_sched_observe(d->root, s, policy, &st);
	if (r >= 0) {
		for (size_t i = 0; i < st->n_warnings; i++)
			fprintf(stderr, SD_WARNING "%s\n", st->warnings[i]);
		if (asios_sched_tuned_partitions(st) && !policy->take_over_tuned) {
			if (!m->standing_down)
				fprintf(stderr, SD_WARNING "tuned runs the CPU partitioning profile \"%s\" (pid %ld): standing down "
					"(nothing applied) until it stops; take_over_tuned = yes in %s takes over\n",
					st->tuned_profile, st->tuned_pid, d->args.conf);
			m->standing_down = true;
			d->status = "standing down: tuned partitions the CPUs";
			sd_notify(0, "STATUS=standing down: tuned partitions the CPUs");
			goto out;
		}
		if (m->standing_down)
			fprintf(stderr, SD_NOTICE "tuned no longer partitions the CPUs: taking over\n");
		m->standing_down = false;
		d->status = NULL;
		r = asios_sched_layout(s, policy, &lay);
	}
	if (r >= 0)
		r = asios_sched_plan(s, st, policy, &lay, &p);
	if (r < 0) {
		fprintf(stderr, SD_ERR "planning failed: %s\n", strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < p->n_actions; i++) {
		const struct asios_action *a = &p->actions[i];

		if (a->kind == ASIOS_ACTION_FILE)
			fprintf(stderr, SD_INFO "%s%s %s: %s\n", dry_run ? "would " : "", a->new_value ? "write" : "remove",
				a->path, a->reason);
		else
			fprintf(stderr, SD_INFO "%s%s: %s -> %s: %s\n", dry_run ? "would set " : "", a->object, a->old_value,
				a->new_value, a->reason);
	}
	if (!dry_run && p->n_actions) {
		r = asios_domain_apply(d->domain, d->root, s, policy, p, NULL, &rep, &error);
		for (size_t i = 0; i < rep.n_messages; i++)
			fprintf(stderr, SD_WARNING "%s\n", rep.messages[i]);
		if (r < 0)
			fprintf(stderr, SD_ERR "%s; %s\n", error ? error : strerror(-r), asios_apply_outcome(&rep));
		free(error);
	}
	if (p->n_actions || strcmp(why, "check")) {
		char *iso = asios_cpulist_format(lay.isolated);

		fprintf(stderr, SD_NOTICE "%s: profile %s, isolated CPUs %s, %zu changed, %zu refused, %zu left alone%s\n", why,
			asios_sched_profile_name(policy->profile), iso && *iso ? iso : "none",
			dry_run ? 0 : rep.applied, rep.refused, p->n_skipped,
			lay.reboot_required ? "; the kernel command line differs from the plan: update-grub and reboot" : "");
		free(iso);
	}
	hold_latency(d);
	watch_isolated(d, s, lay.isolated);
out:
	asios_apply_report_clear(&rep);
	asios_plan_free(p);
	asios_sched_layout_clear(&lay);
	asios_sched_state_free(st);
	asios_snapshot_free(s);
	return r;
}

static void tick(struct asios_daemon *d, uint64_t usec)
{
	(void)usec;
	report_violations(d);
	asios_daemon_replan(d, "check");
}

static int open_latency(struct asios_daemon *d)
{
	((struct schedd *)d->self)->dma_fd = -1;
	return 0;
}

static void stop(struct asios_daemon *d, bool ran)
{
	struct schedd *m = d->self;

	if (ran)
		fprintf(stderr, SD_NOTICE "stopping after %u plans, %llu isolation violations seen; the tuning stays "
			"(asiosctl isolate revert restores), the latency hold is released\n", d->replans, m->violations);
	if (m->dma_fd >= 0)
		close(m->dma_fd);
	if (m->watch)
		watch_state_drop(d);
	asios_schedwatch_close(m->watch);
	hwloc_bitmap_free(m->isolated);
}

static const struct asios_daemon_spec spec = {
	.name = "asios-schedd", .domain = "isolate",
	.usage = "Isolate CPUs and tune the scheduler as /etc/asios/schedd.conf says, keep it so, and report what\n"
		 "disturbs the isolated CPUs (eBPF). SIGHUP reloads the configuration. See asios-schedd(8).\n",
	.need = "/sys/devices/system/cpu", .need_why = "no CPUs to manage",
	.status = "isolating CPUs",
	.self_size = sizeof(struct schedd), .interval_at = offsetof(struct asios_sched_policy, interval),
	.open = open_latency, .replan = replan, .tick = tick, .stop = stop,
};

int main(int argc, char **argv)
{
	return asios_daemon_main(&spec, argc, argv);
}
