/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Prometheus exposition of a machine (metrics.h): the topology ASIOS plans with, placement quality, what
 * each registered domain would change (its drift) and what its applies did, the disturbances of isolated CPUs
 * and the ASIOS programs' own cost. Every family walks the snapshot or the domain table: a new domain needs no
 * code here.
 */
#define _GNU_SOURCE
#include "asios/metrics.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asios/domain.h"
#include "asios/health.h"
#include "asios/interrupts.h"
#include "asios/plan.h"
#include "asios/proc.h"
#include "asios/root.h"
#include "asios/sched-plan.h"
#include "asios/snapshot.h"
#include "asios/stats.h"
#include "asios/tune.h"

#ifndef ASIOS_VERSION
#define ASIOS_VERSION "0.1"
#endif

struct out {
	FILE *f;
	struct asios_root *root;
	const struct asios_snapshot *s;
	const struct asios_metrics_opts *o;
};

static void family(const struct out *w, const char *name, const char *type, const char *help)
{
	fprintf(w->f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* a label value as the exposition format wants it: backslash, double quote and newline escaped */
static void label_value(FILE *f, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void topology_metrics(const struct out *w)
{
	const struct asios_snapshot *s = w->s;

	family(w, "asios_info", "gauge", "ASIOS and the kernel and architecture it reads (always 1).");
	fprintf(w->f, "asios_info{version=\"%s\",kernel=\"", ASIOS_VERSION);
	label_value(w->f, s->kernel_release ? s->kernel_release : "unknown");
	fprintf(w->f, "\",arch=\"");
	label_value(w->f, s->arch);
	fprintf(w->f, "\"} 1\n");
	family(w, "asios_numa_node_cpus", "gauge", "Online CPUs of a NUMA node (0: a memory-only node).");
	for (size_t i = 0; i < s->n_nodes; i++)
		fprintf(w->f, "asios_numa_node_cpus{node=\"%u\"} %d\n", s->nodes[i].id, hwloc_bitmap_weight(s->nodes[i].cpus));
	family(w, "asios_numa_node_memory_bytes", "gauge", "Memory of a NUMA node.");
	for (size_t i = 0; i < s->n_nodes; i++)
		fprintf(w->f, "asios_numa_node_memory_bytes{node=\"%u\"} %llu\n", s->nodes[i].id,
			(unsigned long long)s->nodes[i].memory_bytes);
	family(w, "asios_pci_devices", "gauge", "PCI functions by class and NUMA node (node -1: none known).");
	for (int c = ASIOS_DEV_GPU; c < _ASIOS_DEV_CLASS_MAX; c++) {
		/* a line per node that has one: no node (-1) first, then the snapshot's nodes */
		for (long k = -1; k < (long)s->n_nodes; k++) {
			long node = k < 0 ? -1 : (long)s->nodes[k].id;
			unsigned n = 0;

			for (size_t i = 0; i < s->n_pci; i++)
				n += (int)s->pci[i].cls == c && s->pci[i].node == node;
			if (n)
				fprintf(w->f, "asios_pci_devices{class=\"%s\",node=\"%ld\"} %u\n", asios_dev_class_name(c), node,
					n);
		}
	}
}

static void pairing_metrics(const struct out *w)
{
	const struct asios_snapshot *s = w->s;

	family(w, "asios_gpu_nic_distance_info", "gauge",
	       "PCIe distance between an accelerator and a NIC as nvidia-smi topo names it (PIX, PXB, PHB, NODE, SYS).");
	for (size_t i = 0; i < s->n_pci; i++)
		for (size_t j = 0; asios_pci_is_gpu(&s->pci[i]) && j < s->n_pci; j++)
			if (s->pci[j].cls == ASIOS_DEV_NIC)
				fprintf(w->f, "asios_gpu_nic_distance_info{device=\"%s\",nic=\"%s\",distance=\"%s\"} 1\n",
					s->pci[i].addr, s->pci[j].addr,
					asios_pci_distance_name(asios_pci_distance(s, i, j)));
}

/* IRQs of a device with a known node that may be delivered (effective affinity, else affinity) off its node's
 * CPUs; kernel-managed ones are the kernel's and not counted */
static unsigned misplaced_irqs(const struct asios_snapshot *s)
{
	unsigned n = 0;

	for (size_t i = 0; i < s->n_irqs; i++) {
		const struct asios_irq *q = &s->irqs[i];
		const struct asios_pci_device *d = q->device >= 0 ? &s->pci[q->device] : NULL;
		hwloc_const_bitmap_t where = hwloc_bitmap_iszero(q->effective) ? q->affinity : q->effective;

		for (size_t k = 0; d && d->node >= 0 && k < s->n_nodes; k++)
			if (s->nodes[k].id == (unsigned)d->node && !hwloc_bitmap_iszero(s->nodes[k].cpus) && !q->managed &&
			    !hwloc_bitmap_isincluded(where, s->nodes[k].cpus))
				n++;
	}
	return n;
}

static void placement_metrics(const struct out *w)
{
	const struct asios_snapshot *s = w->s;

	family(w, "asios_irq_misplaced", "gauge",
	       "Device IRQs that may be delivered off their device's NUMA node (what asios-irqd corrects).");
	fprintf(w->f, "asios_irq_misplaced %u\n", misplaced_irqs(s));
	family(w, "asios_isolated_cpus", "gauge", "CPUs isolated (isolcpus) or without a tick (nohz_full).");
	fprintf(w->f, "asios_isolated_cpus %d\n",
		hwloc_bitmap_weight(s->online) - hwloc_bitmap_weight(s->isolation.housekeeping));
	family(w, "asios_housekeeping_cpus", "gauge", "Online CPUs left for the system: not isolated, not nohz_full.");
	fprintf(w->f, "asios_housekeeping_cpus %d\n", hwloc_bitmap_weight(s->isolation.housekeeping));
	family(w, "asios_snapshot_warnings", "gauge", "Objects the snapshot could not read, each named in its warnings.");
	fprintf(w->f, "asios_snapshot_warnings %zu\n", s->n_warnings);
}

/* ---- isolation: what disturbs the isolated CPUs, as counters (rate() gives them per second) ---- */

enum { DIST_DEVICE, DIST_TIMER, DIST_OTHER, _DIST_MAX };
static const char *const dist_kind[_DIST_MAX] = { "device", "local_timer", "other" };

/* the kind of interrupt a row counts; -1: a row that is not a count of interrupts (ERR, MIS) */
static int row_kind(const struct asios_irq_row *row)
{
	if (row->irq >= 0)
		return DIST_DEVICE;
	if (!strcmp(row->id, "LOC"))
		return DIST_TIMER;
	if (!strcmp(row->id, "ERR") || !strcmp(row->id, "MIS"))
		return -1;
	return DIST_OTHER;
}

static void isolated_interrupts(const struct out *w)
{
	const struct asios_interrupts *in = w->s->interrupts;
	hwloc_bitmap_t isolated = hwloc_bitmap_dup(w->s->online);

	if (!isolated)
		return;
	hwloc_bitmap_andnot(isolated, isolated, w->s->isolation.housekeeping);
	family(w, "asios_isolated_cpu_interrupts_total", "counter",
	       "Interrupts delivered to an isolated CPU since boot, by kind (device IRQs, local timer ticks, the rest: "
	       "IPIs, work, TLB shootdowns).");
	for (size_t c = 0; in && !hwloc_bitmap_iszero(isolated) && c < in->n_cpus; c++) {
		uint64_t n[_DIST_MAX] = { 0 };

		if (!hwloc_bitmap_isset(isolated, in->cpus[c]))
			continue;
		for (size_t r = 0; r < in->n_rows; r++) {
			int k = row_kind(&in->rows[r]);

			if (k >= 0 && c < in->rows[r].n_counts)
				n[k] += in->rows[r].counts[c];
		}
		for (int k = 0; k < _DIST_MAX; k++)
			fprintf(w->f, "asios_isolated_cpu_interrupts_total{cpu=\"%u\",kind=\"%s\"} %" PRIu64 "\n", in->cpus[c],
				dist_kind[k], n[k]);
	}
	hwloc_bitmap_free(isolated);
}

/* /proc/schedstat: "cpuN yld 0 schedule() idle ttwu ttwu_local run_ns wait_ns slices" per CPU */
static void isolated_switches(const struct out *w)
{
	char *text = NULL, *save = NULL;

	if (asios_read_file(w->root, "/proc/schedstat", &text, NULL) < 0)
		return;
	family(w, "asios_isolated_cpu_schedules_total", "counter",
	       "schedule() calls on an isolated CPU since boot (/proc/schedstat): its task switches and idle entries.");
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned cpu;
		unsigned long long yld, legacy, sched;

		if (sscanf(line, "cpu%u %llu %llu %llu", &cpu, &yld, &legacy, &sched) != 4 ||
		    !hwloc_bitmap_isset(w->s->online, cpu) || hwloc_bitmap_isset(w->s->isolation.housekeeping, cpu))
			continue;
		fprintf(w->f, "asios_isolated_cpu_schedules_total{cpu=\"%u\"} %llu\n", cpu, sched);
	}
	free(text);
}

/* ---- per domain: drift, and what its applies did ---- */


static void status_warn(const struct asios_metrics_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void status_warn(const struct asios_metrics_opts *o, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int k;

	if (!o || !o->warn)
		return;
	va_start(ap, fmt);
	k = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (k >= 0)
		o->warn(o->userdata, msg);
	free(msg);
}

/* what asios-schedd's eBPF observer counted on the CPUs it watches (ASIOS_SCHEDWATCH_STATE), where it runs */
static void observed_metrics(const struct out *w)
{
	static const char *const event[] = { "switch", "irq", "hrtimer", "local_timer", "tick_stop", "preemption",
					     "kthread", "work_item" };
	static const char *const by[] = { "task", "irq", "timer" };
	struct asios_watch_state st;
	char *text = NULL, *error = NULL;
	size_t len;

	if (asios_read_file(w->root, ASIOS_SCHEDWATCH_STATE, &text, &len) < 0)
		return; /* asios-schedd's observer does not run: the /proc counters above are all there is */
	if (asios_watch_state_parse(&st, text, ASIOS_SCHEDWATCH_STATE, &error) < 0) {
		status_warn(w->o, "%s", error ? error : "out of memory");
		free(error);
		free(text);
		return;
	}
	free(text);
	family(w, "asios_isolated_cpu_observed_events_total", "counter",
	       "Events on a CPU asios-schedd watches as isolated, counted by its eBPF observer since it started: "
	       "context switches, handled IRQs, expired hrtimers, local timer interrupts (x86), tick stops, "
	       "preemptions of the running task, switches to kernel threads, workqueue items run.");
	for (size_t i = 0; i < st.n_cpus; i++)
		for (int k = ASIOS_WATCH_SWITCHES; k <= ASIOS_WATCH_WORK_ITEMS; k++)
			fprintf(w->f, "asios_isolated_cpu_observed_events_total{cpu=\"%u\",event=\"%s\"} %" PRIu64 "\n",
				st.cpus[i].cpu, event[k], st.cpus[i].n[k]);
	family(w, "asios_isolation_violations_total", "counter",
	       "Disturbances of an isolated CPU seen by asios-schedd's eBPF observer, by what caused them: switches to "
	       "a kernel thread or a task outside the workload slice, IRQs handled, timers expired there.");
	for (size_t i = 0; i < st.n_cpus; i++)
		for (int k = ASIOS_WATCH_BY_TASK; k <= ASIOS_WATCH_BY_TIMER; k++)
			fprintf(w->f, "asios_isolation_violations_total{cpu=\"%u\",by=\"%s\"} %" PRIu64 "\n",
				st.cpus[i].cpu, by[k - ASIOS_WATCH_BY_TASK], st.cpus[i].n[k]);
	family(w, "asios_isolation_observer_updated_timestamp_seconds", "gauge",
	       "When asios-schedd last wrote its eBPF observer's counters (Unix time; it writes them every check).");
	fprintf(w->f, "asios_isolation_observer_updated_timestamp_seconds %.3f\n", st.updated);
	asios_watch_state_clear(&st);
}

int asios_domain_status(struct asios_root *root, const struct asios_snapshot *s, const struct asios_domain *d,
			const struct asios_metrics_opts *o, struct asios_domain_status *out)
{
	struct asios_domain_run run = { 0 };
	char *error = NULL;

	*out = (struct asios_domain_status){ 0 };
	if (asios_domain_plan_at(d, root, o->root_path, s, &run, &error) < 0)
		status_warn(o, "%s: %s", d->name, error ? error : "policy unreadable");
	else
		*out = (struct asios_domain_status){ .ok = 1, .actions = run.plan->n_actions,
						     .skipped = run.plan->n_skipped };
	free(error);
	error = NULL;
	if (out->ok && asios_effect_window(root, s, d, run.policy, &out->eff, &error) < 0)
		status_warn(o, "%s: decision effect: %s", d->name, error ? error : "its metric cannot be sampled");
	free(error);
	error = NULL;
	if (asios_apply_stats_read(root, d->journal, &out->st, &error) < 0)
		status_warn(o, "%s: apply counters: %s", d->name, error ? error : "unreadable");
	free(error);
	asios_domain_run_clear(&run);
	return out->ok ? 0 : -EIO;
}

static void drift_metrics(const struct out *w, const struct asios_domain *const *d, const struct asios_domain_status *dr, size_t n)
{
	family(w, "asios_domain_up", "gauge", "Whether the domain's policy and machine could be read and planned.");
	for (size_t i = 0; i < n; i++)
		fprintf(w->f, "asios_domain_up{domain=\"%s\"} %d\n", d[i]->name, dr[i].ok);
	family(w, "asios_domain_pending_actions", "gauge",
	       "Changes a fresh plan would make: the drift of the machine from the domain's policy.");
	for (size_t i = 0; i < n; i++)
		if (dr[i].ok)
			fprintf(w->f, "asios_domain_pending_actions{domain=\"%s\"} %zu\n", d[i]->name, dr[i].actions);
	family(w, "asios_domain_left_alone", "gauge", "Objects the domain's plan leaves alone, each with its reason.");
	for (size_t i = 0; i < n; i++)
		if (dr[i].ok)
			fprintf(w->f, "asios_domain_left_alone{domain=\"%s\"} %zu\n", d[i]->name, dr[i].skipped);
}

static void apply_metrics(const struct out *w, const struct asios_domain *const *d, const struct asios_domain_status *dr, size_t n)
{
	family(w, "asios_domain_applies_total", "counter", "Applies of a non-empty plan since boot.");
	for (size_t i = 0; i < n; i++)
		fprintf(w->f, "asios_domain_applies_total{domain=\"%s\"} %" PRIu64 "\n", d[i]->name, dr[i].st.applies);
	family(w, "asios_domain_actions_total", "counter",
	       "Actions of those applies by outcome: applied (written and verified, not rolled back), refused by the "
	       "kernel (skipped), failed (each rolled the apply back).");
	for (size_t i = 0; i < n; i++)
		fprintf(w->f,
			"asios_domain_actions_total{domain=\"%s\",outcome=\"applied\"} %" PRIu64 "\n"
			"asios_domain_actions_total{domain=\"%s\",outcome=\"refused\"} %" PRIu64 "\n"
			"asios_domain_actions_total{domain=\"%s\",outcome=\"failed\"} %" PRIu64 "\n",
			d[i]->name, dr[i].st.applied, d[i]->name, dr[i].st.refused, d[i]->name, dr[i].st.failed);
	family(w, "asios_domain_rollbacks_total", "counter", "Applies rolled back after a failed or unverified write.");
	for (size_t i = 0; i < n; i++)
		fprintf(w->f, "asios_domain_rollbacks_total{domain=\"%s\"} %" PRIu64 "\n", d[i]->name, dr[i].st.rollbacks);
	family(w, "asios_domain_reverts_total", "counter", "Reverts of the domain's undo journal.");
	for (size_t i = 0; i < n; i++)
		fprintf(w->f, "asios_domain_reverts_total{domain=\"%s\"} %" PRIu64 "\n", d[i]->name, dr[i].st.reverts);
	family(w, "asios_domain_last_apply_timestamp_seconds", "gauge", "When the last apply ended (absent: none).");
	for (size_t i = 0; i < n; i++)
		if (dr[i].st.applies)
			fprintf(w->f, "asios_domain_last_apply_timestamp_seconds{domain=\"%s\"} %" PRId64 "\n", d[i]->name,
				dr[i].st.last_apply);
	family(w, "asios_domain_last_apply_result", "gauge",
	       "The result of the last apply (1 on its line): ok, refused (some writes), rolled_back, unrestored.");
	for (size_t i = 0; i < n; i++)
		for (int k = ASIOS_APPLY_OK; dr[i].st.applies && k < _ASIOS_APPLY_RESULT_MAX; k++)
			fprintf(w->f, "asios_domain_last_apply_result{domain=\"%s\",result=\"%s\"} %d\n", d[i]->name,
				asios_apply_result_name(k), dr[i].st.last_result == (enum asios_apply_result)k);
}

static void effect_metrics(const struct out *w, const struct asios_domain *const *d, const struct asios_domain_status *dr, size_t n)
{
	family(w, "asios_decision_effect", "gauge",
	       "Change of the metric a domain's last apply was meant to lower (after minus before; negative: it "
	       "helped), the after window running from the apply to this scrape.");
	for (size_t i = 0; i < n; i++)
		if (dr[i].eff.have && isfinite(dr[i].eff.before) && isfinite(dr[i].eff.after))
			fprintf(w->f, "asios_decision_effect{domain=\"%s\",metric=\"%s\"} %.6g\n", d[i]->name,
				d[i]->effect_metric, dr[i].eff.after - dr[i].eff.before);
	family(w, "asios_decision_metric", "gauge",
	       "That metric over the window before the last apply (since the one before it, or boot) and since it.");
	for (size_t i = 0; i < n; i++)
		for (int k = 0; dr[i].eff.have && k < 2; k++) {
			double v = k ? dr[i].eff.after : dr[i].eff.before;

			if (isfinite(v))
				fprintf(w->f, "asios_decision_metric{domain=\"%s\",metric=\"%s\",window=\"%s\"} %.6g\n",
					d[i]->name, d[i]->effect_metric, k ? "after" : "before", v);
		}
	family(w, "asios_decision_window_seconds", "gauge", "Length of the before and after windows.");
	for (size_t i = 0; i < n; i++)
		if (dr[i].eff.have)
			fprintf(w->f,
				"asios_decision_window_seconds{domain=\"%s\",window=\"before\"} %.3f\n"
				"asios_decision_window_seconds{domain=\"%s\",window=\"after\"} %.3f\n",
				d[i]->name, dr[i].eff.before_seconds, d[i]->name, dr[i].eff.after_seconds);
}

/* the NUMA domain's workloads: their memory on and off the node they belong on */
static void workload_metrics(const struct out *w)
{
	const struct asios_domain *d = asios_domain_find("numa");
	struct asios_domain_run run = { 0 };
	struct asios_workload_memory *rows = NULL;
	char *error = NULL;
	size_t n = 0;

	if (!d)
		return;
	if (asios_domain_policy_at(d, w->o->root_path, &run, &error) >= 0 &&
	    asios_workload_memory(w->root, w->s, run.policy, &rows, &n) >= 0 && n) {
		family(w, "asios_workload_memory_bytes", "gauge",
		       "Resident memory of the NUMA domain's workloads ([workload] name, else command name) on the node "
		       "they belong on (local) and off it (remote).");
		for (size_t i = 0; i < n; i++) {
			for (int k = 0; k < 2; k++) {
				fputs("asios_workload_memory_bytes{workload=\"", w->f);
				label_value(w->f, rows[i].name);
				fprintf(w->f, "\",placement=\"%s\"} %.0f\n", k ? "remote" : "local",
					k ? rows[i].remote_bytes : rows[i].local_bytes);
			}
		}
	}
	free(error);
	free(rows);
	asios_domain_run_clear(&run);
}

static void domain_metrics(const struct out *w)
{
	size_t n;
	const struct asios_domain *const *d = asios_domains(&n);
	struct asios_domain_status *dr = calloc(n + 1, sizeof(*dr));

	if (!dr)
		return;
	(void)asios_conf_set_root(strcmp(w->o->root_path, "/") ? w->o->root_path : NULL);
	for (size_t i = 0; i < n; i++)
		(void)asios_domain_status(w->root, w->s, d[i], w->o, &dr[i]);
	drift_metrics(w, d, dr, n);
	apply_metrics(w, d, dr, n);
	effect_metrics(w, d, dr, n);
	free(dr);
}

/* ---- the ASIOS programs' own cost ---- */

static bool asios_program(const char *comm)
{
	static const char *const names[] = { "asios-irqd", "asios-numad", "asios-schedd", "asios-exporter",
					     "asios-healthd" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(comm, names[i]))
			return true;
	return false;
}

struct program {
	char name[64];
	double cpu;
	unsigned long long rss;
};

/* the running ASIOS programs, found by name in /proc; *N of them */
static struct program *programs(const struct out *w, size_t *n)
{
	char **pids = NULL;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct program *p = NULL;

	*n = 0;
	if (asios_list_dir(w->root, "/proc", &pids) < 0)
		return NULL;
	p = calloc(asios_strv_length(pids) + 1, sizeof(*p));
	for (size_t i = 0; p && pids[i]; i++) {
		struct asios_proc_stat st;
		char *end;
		long pid = strtol(pids[i], &end, 10);
		size_t k = 0;

		if (*end || pid <= 0 || asios_proc_stat_read(w->root, pid, &st) < 0 || !asios_program(st.comm))
			continue;
		/* one line per program: instances (a test's, a second root's) add up */
		while (k < *n && strcmp(p[k].name, st.comm))
			k++;
		if (k == *n)
			snprintf(p[(*n)++].name, sizeof(p[k].name), "%s", st.comm);
		p[k].cpu += (double)(st.utime + st.stime) / (double)(tick > 0 ? tick : 100);
		p[k].rss += st.rss_pages * (unsigned long long)(page > 0 ? page : 4096);
	}
	asios_strv_free(pids);
	return p;
}

static void program_metrics(const struct out *w)
{
	size_t n;
	struct program *p = programs(w, &n);

	family(w, "asios_program_cpu_seconds_total", "counter", "CPU time of a running ASIOS program (user + system).");
	for (size_t i = 0; i < n; i++)
		fprintf(w->f, "asios_program_cpu_seconds_total{program=\"%s\"} %.2f\n", p[i].name, p[i].cpu);
	family(w, "asios_program_resident_memory_bytes", "gauge", "Resident memory of a running ASIOS program.");
	for (size_t i = 0; i < n; i++)
		fprintf(w->f, "asios_program_resident_memory_bytes{program=\"%s\"} %llu\n", p[i].name, p[i].rss);
	free(p);
}

/* ---- health: incidents, what was done and how it went, the circuit breaker (asios-healthd's state) ---- */

static void health_metrics(const struct out *w)
{
	struct asios_health_state st;
	char *bad = NULL;

	if (asios_health_state_read(w->root, &st, &bad) < 0) {
		status_warn(w->o, "health: %s", bad ? bad : "state unreadable");
		free(bad);
		memset(&st, 0, sizeof(st));
	}
	family(w, "asios_health_incidents_total", "counter", "Incidents asios-healthd detected, by signature.");
	for (size_t i = 0; i < st.n_keys; i++)
		if (st.keys[i].action == ASIOS_HEAL_ADVISE && !st.keys[i].object[0])
			fprintf(w->f, "asios_health_incidents_total{signature=\"%s\"} %" PRIu64 "\n", st.keys[i].signature,
				st.keys[i].incidents);
	family(w, "asios_health_actions_total", "counter",
	       "Healing actions and their outcomes (pending, improved, rolled-back, failed, handed-over, and the "
	       "guards: advised, rate-limited, breaker-open), by signature and action.");
	for (size_t i = 0; i < st.n_keys; i++) {
		const struct asios_heal_key *k = &st.keys[i];

		if (k->action == ASIOS_HEAL_ADVISE || k->object[0])
			continue;
		for (int o = 0; o < _ASIOS_HEAL_OUTCOME_MAX; o++)
			if (k->outcomes[o])
				fprintf(w->f, "asios_health_actions_total{signature=\"%s\",action=\"%s\",outcome=\"%s\"} %"
					PRIu64 "\n", k->signature, asios_health_action_name(k->action),
					asios_heal_outcome_name(o), k->outcomes[o]);
	}
	family(w, "asios_health_action_demoted", "gauge",
	       "1 when the action did not help its signature and is skipped for it until `asiosctl health reset --all`.");
	for (size_t i = 0; i < st.n_keys; i++)
		if (st.keys[i].demoted && !st.keys[i].object[0])
			fprintf(w->f, "asios_health_action_demoted{signature=\"%s\",action=\"%s\"} 1\n",
				st.keys[i].signature, asios_health_action_name(st.keys[i].action));
	family(w, "asios_health_actions_pending", "gauge", "Actions waiting for their verification window.");
	fprintf(w->f, "asios_health_actions_pending %zu\n", st.n_pending);
	family(w, "asios_health_circuit_breaker_open", "gauge",
	       "1 while the circuit breaker is open: asios-healthd only advises until `asiosctl health reset`.");
	fprintf(w->f, "asios_health_circuit_breaker_open %d\n", st.breaker_open);
	if (st.n_xids) {
		family(w, "asios_gpu_xid_errors_total", "counter",
		       "NVIDIA Xid events in the kernel log, by GPU and Xid code (read by asios-healthd).");
		for (size_t i = 0; i < st.n_xids; i++)
			fprintf(w->f, "asios_gpu_xid_errors_total{device=\"%s\",xid=\"%u\"} %" PRIu64 "\n",
				st.xids[i].device, st.xids[i].code, st.xids[i].n);
	}
}

int asios_metrics_write(FILE *f, struct asios_root *root, const struct asios_snapshot *s,
			const struct asios_metrics_opts *o)
{
	const struct out w = { .f = f, .root = root, .s = s, .o = o };

	topology_metrics(&w);
	pairing_metrics(&w);
	placement_metrics(&w);
	isolated_interrupts(&w);
	isolated_switches(&w);
	observed_metrics(&w);
	domain_metrics(&w);
	workload_metrics(&w);
	asios_gpu_metrics_write(f, root, s);
	health_metrics(&w);
	asios_tune_metrics_write(f, root);
	asios_load_metrics_write(f, root);
	program_metrics(&w);
	return ferror(f) || fflush(f) ? -EIO : 0;
}
