/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/apply.h"
#include "asios/cpulist.h"
#include "asios/domain.h"
#include "asios/json.h"
#include "asios/numa-plan.h"
#include "asiosctl.h"

static void usage(void)
{
	printf("Usage: asiosctl numa plan|explain|apply|revert [--root DIR] [--config FILE] [--config-dir DIR]\n"
	       "                   [--json] [--dry-run] [--measure SECONDS] [--only KIND,...]\n\n"
	       "  plan     the placement asios-numad would make (CPU affinity, page migration, huge pages, AutoNUMA),\n"
	       "           each change with its reason\n"
	       "  explain  every workload: its accelerators, nodes, CPUs and memory, and what happens to it and why\n"
	       "  apply    make the changes, with an undo journal in " ASIOS_NUMAD_JOURNAL " (--dry-run: show only)\n"
	       "           --measure SECONDS: first sample the remote share of the workloads' memory for that long, the\n"
	       "           window before the apply that asiosctl status compares the effect with\n"
	       "  revert   restore what the journal recorded (moved pages stay where they are)\n\n"
	       "The policy is read from " ASIOS_NUMAD_CONF " and " ASIOS_NUMAD_CONF_D "/NAME.conf (under --root\n"
	       "when one is given). See asiosctl(1) and asios-numad(8).\n");
}

static void print_kb(const struct asios_numa_proc *p)
{
	bool any = false;

	for (size_t n = 0; n < p->n_node_kb; n++)
		if (p->node_kb[n]) {
			printf("%snode %zu %llu MiB", any ? ", " : "", n, (unsigned long long)(p->node_kb[n] / 1024));
			any = true;
		}
	if (!any)
		fputs(p->numa_maps_ok ? "none resident" : "unknown (numa_maps unreadable)", stdout);
}

static void numa_explain(const struct asios_snapshot *s, const struct asios_numa_state *st, const struct asios_plan *p)
{
	printf("AutoNUMA: %s; numad: ", st->numa_balancing < 0 ? "not in this kernel" :
				       st->numa_balancing ? "on" : "off");
	if (st->numad_pid)
		printf("running (pid %ld)\n", st->numad_pid);
	else
		puts("not running");
	for (size_t i = 0; i < st->n_pools; i++)
		printf("node %u hugepages-%lukB: %ld\n", st->pools[i].node, st->pools[i].size_kb, st->pools[i].nr);
	for (size_t i = 0; i < st->n_warnings; i++)
		printf("warning: %s\n", st->warnings[i]);
	for (size_t i = 0; i < p->n_notes; i++)
		printf("note: %s\n", p->notes[i]);
	for (size_t k = 0; k < st->n_procs; k++) {
		const struct asios_numa_proc *pr = &st->procs[k];
		char object[64], *cpus = asios_cpulist_format(pr->cpus_allowed);
		bool said = false;

		snprintf(object, sizeof(object), "pid %d (%s)", pr->pid, pr->comm);
		printf("%s\n  devices:", object);
		for (size_t i = 0; i < pr->n_devices; i++) {
			int d = pr->device_pci[i];

			if (d >= 0)
				printf(" %s=%s(node %d)", pr->devices[i], s->pci[d].addr, s->pci[d].node);
			else
				printf(" %s=%s", pr->devices[i], d == -2 ? "AMD compute" : "unknown");
		}
		printf("%s\n  cpus: %s%s%s\n  memory: ", pr->n_devices ? "" : " none", cpus ? cpus : "?",
		       pr->cgroup ? "  cgroup: " : "", pr->cgroup ? pr->cgroup : "");
		free(cpus);
		print_kb(pr);
		putchar('\n');
		for (size_t i = 0; i < p->n_actions; i++)
			if (p->actions[i].pid == pr->pid && p->actions[i].kind != ASIOS_ACTION_WRITE) {
				printf("  -> ");
				print_action(&p->actions[i], false);
				said = true;
			}
		for (size_t i = 0; i < p->n_skipped; i++)
			if (!strcmp(p->skipped[i].object, object)) {
				printf("  left alone: %s\n", p->skipped[i].reason);
				said = true;
			}
		if (!said)
			puts("  already where the policy puts it");
	}
	for (size_t i = 0; i < p->n_actions; i++)
		if (p->actions[i].kind == ASIOS_ACTION_WRITE)
			print_action(&p->actions[i], false);
	for (size_t i = 0; i < p->n_skipped; i++)
		if (strncmp(p->skipped[i].object, "pid ", 4))
			printf("leave %s  # %s\n", p->skipped[i].object, p->skipped[i].reason);
}

static struct json_object *state_json(const struct asios_numa_state *st, struct json_object *plan)
{
	struct json_object *w = json_object_new_array();

	if (!w)
		return NULL;
	for (size_t k = 0; k < st->n_procs; k++) {
		const struct asios_numa_proc *pr = &st->procs[k];
		struct json_object *o = json_object_new_object(), *devs = json_object_new_array(), *mem = json_object_new_object();

		if (!o || !devs || !mem) {
			json_object_put(o);
			json_object_put(devs);
			json_object_put(mem);
			json_object_put(w);
			return NULL;
		}
		json_object_object_add(o, "pid", json_object_new_int(pr->pid));
		json_object_object_add(o, "comm", json_object_new_string(pr->comm));
		for (size_t i = 0; i < pr->n_devices; i++)
			json_object_array_add(devs, json_object_new_string(pr->devices[i]));
		json_object_object_add(o, "devices", devs);
		json_object_object_add(o, "cpus_allowed", asios_json_cpuset(pr->cpus_allowed));
		for (size_t n = 0; n < pr->n_node_kb; n++)
			if (pr->node_kb[n]) {
				char key[16];

				snprintf(key, sizeof(key), "%zu", n);
				json_object_object_add(mem, key, json_object_new_int64((int64_t)pr->node_kb[n]));
			}
		json_object_object_add(o, "resident_kb", mem);
		json_object_array_add(w, o);
	}
	json_object_object_add(plan, "workloads", w);
	json_object_object_add(plan, "numa_balancing", json_object_new_int(st->numa_balancing));
	return plan;
}

static void print(const struct asios_snapshot *s, const struct asios_domain_run *run, bool explain, bool would)
{
	if (explain)
		numa_explain(s, run->state, run->plan);
	else
		print_plan(run->plan, would);
}

static struct json_object *json(const struct asios_snapshot *s, const struct asios_domain_run *run, bool explain,
				struct json_object *o)
{
	(void)s;
	return explain ? state_json(run->state, o) : o;
}

static void applied(const struct asios_domain_run *run, const struct asios_apply_report *rep)
{
	printf("applied %zu, skipped %zu (process gone or refused), left alone %zu (undo: asiosctl numa revert)\n",
	       rep->applied, rep->refused, run->plan->n_skipped);
}

const struct domain_view numa_view = {
	.name = "numa",
	.usage = usage,
	.observed = "processes",
	.print = print,
	.json = json,
	.applied = applied,
};
