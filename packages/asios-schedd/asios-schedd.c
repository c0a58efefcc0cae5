/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asios-schedd: CPU isolation and scheduler tuning, kept in place, and isolation violations reported.
 *
 * Skeleton: parse arguments → load schedd.conf (+ drop-ins) → manager_new() → stand down while TuneD runs a
 * CPU partitioning profile (unless take_over_tuned) → first plan + apply (before workloads start: the unit is
 * ordered before the workload slice) → hold /dev/cpu_dma_latency → start the eBPF observer → sd_notify(READY=1)
 * → sd_event_loop(). Every `interval` seconds it re-plans (kernel threads started since, the workload slice
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "asios/apply.h"
#include "asios/cpulist.h"
#include "asios/daemon.h"
#include "asios/proc.h"
#include "asios/sched-plan.h"
#include "asios/snapshot.h"
#include "schedwatch.h"

#ifndef ASIOS_VERSION
#define ASIOS_VERSION "0.1"
#endif

/* disturbances logged per check, most frequent first */
#define VIOLATIONS_LOGGED 8

struct manager {
	sd_event *event;
	sd_event_source *timer;
	const char *conf, *conf_d;
	struct asios_root *root;
	struct asios_sched_policy policy;
	bool dry_run, standing_down;
	unsigned replans;
	int dma_fd;                    /* the /dev/cpu_dma_latency hold, -1 none */
	int dma_value;
	struct asios_schedwatch *watch;
	hwloc_bitmap_t isolated;       /* what the observer was started with */
	unsigned long long violations;
};

static void manager_free(struct manager *m)
{
	if (!m)
		return;
	sd_event_source_unref(m->timer);
	sd_event_unref(m->event);
	if (m->dma_fd >= 0)
		close(m->dma_fd);
	asios_schedwatch_close(m->watch);
	hwloc_bitmap_free(m->isolated);
	asios_root_free(m->root);
	asios_sched_policy_clear(&m->policy);
	free(m);
}

static int load_policy(struct manager *m, struct asios_sched_policy *out)
{
	char *error = NULL;
	int r = asios_sched_policy_read(out, m->conf, m->conf_d, &error);

	if (r < 0)
		fprintf(stderr, SD_ERR "%s\n", error ? error : strerror(-r));
	free(error);
	return r;
}

/* /dev/cpu_dma_latency: the PM QoS request lasts as long as the file is open */
static void hold_latency(struct manager *m)
{
	int32_t v = m->policy.cpu_dma_latency;

	if (m->dma_fd >= 0 && v == m->dma_value)
		return;
	if (m->dma_fd >= 0) {
		close(m->dma_fd);
		m->dma_fd = -1;
		fprintf(stderr, SD_INFO "released the /dev/cpu_dma_latency hold of %d us\n", m->dma_value);
	}
	if (v < 0 || m->dry_run)
		return;
	m->dma_fd = asios_root_open_file(m->root, "/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
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

/* the observer on the isolated CPUs: started, restarted when the set changes, stopped when there are none */
static void watch_isolated(struct manager *m, const struct asios_snapshot *s, hwloc_const_bitmap_t planned)
{
	hwloc_bitmap_t iso = hwloc_bitmap_alloc();
	int r;

	if (!iso)
		return;
	hwloc_bitmap_or(iso, s->isolation.isolated, s->isolation.nohz_full);
	hwloc_bitmap_or(iso, iso, planned);
	if (!m->policy.watch || hwloc_bitmap_iszero(iso) || !asios_root_is_host(m->root)) {
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
	r = asios_schedwatch_open(iso, &m->watch);
	if (r < 0) {
		fprintf(stderr, SD_WARNING "eBPF observer not started: %s%s; isolation violations are not reported\n",
			strerror(-r), r == -ENOTSUP ? " (no kernel BTF)" : "");
		hwloc_bitmap_free(iso);
		return;
	}
	hwloc_bitmap_free(m->isolated);
	m->isolated = iso;
	{
		char *l = asios_cpulist_format(iso);

		fprintf(stderr, SD_INFO "eBPF observer watching isolated CPUs %s\n", l ? l : "?");
		free(l);
	}
}

/* a task on an isolated CPU is a violation when it is a kernel thread or runs outside the workload slice */
static bool task_intrudes(struct manager *m, unsigned long long pid, bool *kthread)
{
	char path[64], *cg = NULL;
	unsigned flags = 0;
	bool intrudes = true;

	*kthread = asios_proc_stat(m->root, (long)pid, &flags, NULL) >= 0 && (flags & ASIOS_PF_KTHREAD);
	snprintf(path, sizeof(path), "/proc/%llu/cgroup", pid);
	if (!*kthread && asios_read_file(m->root, path, &cg, NULL) >= 0 && strstr(cg, m->policy.workload_slice))
		intrudes = false;
	free(cg);
	return intrudes;
}

static void report_violations(struct manager *m)
{
	struct asios_schedwatch_report rep = { 0 };
	unsigned logged = 0;

	if (!m->watch || asios_schedwatch_collect(m->watch, &rep) < 0)
		return;
	for (size_t i = 0; i < rep.n_events && logged < VIOLATIONS_LOGGED; i++) {
		const struct asios_schedwatch_event *e = &rep.events[i];
		bool kthread = false;

		if (e->kind == SCHEDWATCH_TASK) {
			if (!task_intrudes(m, e->id, &kthread))
				continue;
			fprintf(stderr, SD_WARNING "isolation violation on CPU %u: %s %s (pid %llu) ran %llu times in %.0f s\n",
				e->cpu, kthread ? "kernel thread" : "process outside the workload slice", e->name,
				(unsigned long long)e->id, (unsigned long long)e->count, rep.seconds);
		} else if (e->kind == SCHEDWATCH_IRQ) {
			fprintf(stderr, SD_WARNING "isolation violation on CPU %u: IRQ %llu (%s) %llu times in %.0f s\n", e->cpu,
				(unsigned long long)e->id, e->name, (unsigned long long)e->count, rep.seconds);
		} else {
			fprintf(stderr, SD_WARNING "isolation violation on CPU %u: timer %s expired %llu times in %.0f s\n",
				e->cpu, e->name, (unsigned long long)e->count, rep.seconds);
		}
		logged++;
		m->violations += e->count;
	}
	asios_schedwatch_report_clear(&rep);
}

/* Plan and apply once. Errors are logged; the daemon goes on. */
static int replan(struct manager *m, const char *why)
{
	struct asios_apply_report rep = { 0 };
	struct asios_sched_layout lay = { 0 };
	struct asios_sched_state *st = NULL;
	struct asios_snapshot *s = NULL;
	struct asios_plan *p = NULL;
	char *error = NULL;
	int r;

	m->replans++;
	r = asios_snapshot_load(m->root, &s);
	if (r < 0) {
		fprintf(stderr, SD_ERR "cannot read the machine: %s\n", strerror(-r));
		return r;
	}
	r = asios_sched_observe(m->root, s, &m->policy, &st);
	if (r >= 0) {
		for (size_t i = 0; i < st->n_warnings; i++)
			fprintf(stderr, SD_WARNING "%s\n", st->warnings[i]);
		if (asios_sched_tuned_partitions(st) && !m->policy.take_over_tuned) {
			if (!m->standing_down)
				fprintf(stderr, SD_WARNING "tuned runs the CPU partitioning profile \"%s\" (pid %ld): standing down "
					"(nothing applied) until it stops; take_over_tuned = yes in %s takes over\n",
					st->tuned_profile, st->tuned_pid, m->conf);
			m->standing_down = true;
			sd_notify(0, "STATUS=standing down: tuned partitions the CPUs");
			goto out;
		}
		if (m->standing_down)
			fprintf(stderr, SD_NOTICE "tuned no longer partitions the CPUs: taking over\n");
		m->standing_down = false;
		r = asios_sched_layout(s, &m->policy, &lay);
	}
	if (r >= 0)
		r = asios_sched_plan(s, st, &m->policy, &lay, &p);
	if (r < 0) {
		fprintf(stderr, SD_ERR "planning failed: %s\n", strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < p->n_actions; i++) {
		const struct asios_action *a = &p->actions[i];

		if (a->kind == ASIOS_ACTION_FILE)
			fprintf(stderr, SD_INFO "%s%s %s: %s\n", m->dry_run ? "would " : "", a->new_value ? "write" : "remove",
				a->path, a->reason);
		else
			fprintf(stderr, SD_INFO "%s%s: %s -> %s: %s\n", m->dry_run ? "would set " : "", a->object, a->old_value,
				a->new_value, a->reason);
	}
	if (!m->dry_run && p->n_actions) {
		r = asios_apply(m->root, p, ASIOS_SCHEDD_JOURNAL, &rep, &error);
		for (size_t i = 0; i < rep.n_messages; i++)
			fprintf(stderr, SD_WARNING "%s\n", rep.messages[i]);
		if (r < 0)
			fprintf(stderr, SD_ERR "%s; %s\n", error ? error : strerror(-r), asios_apply_outcome(&rep));
		free(error);
	}
	if (p->n_actions || strcmp(why, "check")) {
		char *iso = asios_cpulist_format(lay.isolated);

		fprintf(stderr, SD_NOTICE "%s: profile %s, isolated CPUs %s, %zu changed, %zu refused, %zu left alone%s\n", why,
			asios_sched_profile_name(m->policy.profile), iso && *iso ? iso : "none",
			m->dry_run ? 0 : rep.applied, rep.refused, p->n_skipped,
			lay.reboot_required ? "; the kernel command line differs from the plan: update-grub and reboot" : "");
		free(iso);
	}
	hold_latency(m);
	watch_isolated(m, s, lay.isolated);
out:
	asios_apply_report_clear(&rep);
	asios_plan_free(p);
	asios_sched_layout_clear(&lay);
	asios_sched_state_free(st);
	asios_snapshot_free(s);
	return r;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;

	report_violations(m);
	replan(m, "check");
	asios_daemon_rearm(src, usec, m->policy.interval);
	return 0;
}

/* SIGHUP: the configuration afresh, taken only when it loads (asios_daemon_event() says when it did not) */
static int reload(void *userdata)
{
	struct manager *m = userdata;
	struct asios_sched_policy fresh;

	if (load_policy(m, &fresh) < 0)
		return -EINVAL;
	asios_sched_policy_clear(&m->policy);
	m->policy = fresh;
	replan(m, "configuration reloaded");
	return 0;
}

static int manager_new(const char *root, const char *conf, const char *conf_d, bool dry_run, struct manager **ret)
{
	struct manager *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	m->dma_fd = -1;
	m->conf = conf;
	m->conf_d = conf_d;
	m->dry_run = dry_run;
	if ((r = asios_root_open(root, &m->root)) < 0 || (r = load_policy(m, &m->policy)) < 0 ||
	    (r = asios_daemon_event(&m->event, reload, m)) < 0) {
		manager_free(m);
		return r;
	}
	if ((r = asios_daemon_add_timer(m->event, &m->timer, m->policy.interval, on_timer, m)) < 0) {
		manager_free(m);
		return r;
	}
	*ret = m;
	return 0;
}

static void usage(void)
{
	printf("Usage: asios-schedd [--root DIR] [--config FILE] [--config-dir DIR] [--once] [--dry-run]\n\n"
	       "Isolate CPUs and tune the scheduler as /etc/asios/schedd.conf says, keep it so, and report what\n"
	       "disturbs the isolated CPUs (eBPF). SIGHUP reloads the configuration. See asios-schedd(8).\n\n"
	       "  --once      plan and apply once, then exit\n"
	       "  --dry-run   log what would change, change nothing\n");
}

int main(int argc, char **argv)
{
	struct asios_daemon_args a = { .conf = ASIOS_SCHEDD_CONF, .conf_d = ASIOS_SCHEDD_CONF_D };
	struct manager *m = NULL;
	int r;

	if ((r = asios_daemon_parse_args("asios-schedd", argc, argv, usage, &a)) >= 0)
		return r;
	r = manager_new(a.root, a.conf, a.conf_d, a.dry_run, &m);
	if (r < 0)
		return asios_daemon_start_failed("asios-schedd", r);
	if (!asios_daemon_need(m->root, a.root, "asios-schedd", "/sys/devices/system/cpu", "no CPUs to manage")) {
		manager_free(m);
		return 1;
	}
	r = replan(m, "start");
	if (a.once) {
		/* --once: the exit status tells whether the machine was read, planned and changed as planned */
		manager_free(m);
		return r < 0 ? 1 : 0;
	}
	r = asios_daemon_loop(m->event, m->standing_down ? "standing down: tuned partitions the CPUs" :
					"isolating CPUs");
	fprintf(stderr, SD_NOTICE "stopping after %u plans, %llu isolation violations seen; the tuning stays "
		"(asiosctl isolate revert restores), the latency hold is released\n", m->replans, m->violations);
	manager_free(m);
	return r < 0 ? 1 : 0;
}
