/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <hwloc.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "asios/apply.h"
#include "asios/domain.h"
#include "asios/health.h"
#include "asios/plan.h"
#include "asios/proc.h"
#include "asios/root.h"
#include "asios/snapshot.h"
#include "health-internal.h"

/*
 * The healing actions (health.h): what each changes goes through the apply engine into its signature's undo
 * journal; the tools (nvidia-smi, scontrol, systemctl) are run through the context's runner.
 */

extern char **environ;

static int run_program(struct asios_heal_ctx *c, char *const argv[])
{
	pid_t pid;
	int status, k;

	if (c->run)
		return c->run(c->userdata, argv);
	if ((k = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ)))
		return -k;
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void health_journal_of(const char *sig, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s.journal", ASIOS_HEALTH_JOURNAL_DIR, sig);
}

static int apply_plan(struct asios_heal_ctx *c, const char *sig, const struct asios_plan *plan, char *note,
		      size_t note_size)
{
	struct asios_apply_report rep = { 0 };
	char journal[256], *error = NULL;
	int k;

	health_journal_of(sig, journal, sizeof(journal));
	k = asios_apply(c->root, plan, journal, &rep, &error);
	if (k < 0)
		snprintf(note, note_size, "%s", error ? error : strerror(-k));
	else
		snprintf(note, note_size, "%zu change%s applied, %zu refused", rep.applied, rep.applied == 1 ? "" : "s",
			 rep.refused);
	free(error);
	asios_apply_report_clear(&rep);
	return k;
}

static int act_reapply(struct asios_heal_ctx *c, const struct asios_health_incident *inc, char *note, size_t size)
{
	const struct asios_domain *d = strncmp(inc->object, "domain ", 7) ? NULL : asios_domain_find(inc->object + 7);
	struct asios_domain_run run = { 0 };
	char *error = NULL;
	int k;

	if (!d) {
		snprintf(note, size, "%s is not a domain", inc->object);
		return -EINVAL;
	}
	/* planned afresh: the machine may have moved on since detection */
	k = asios_domain_plan_at(d, c->root, c->root_path, c->snapshot, &run, &error);
	if (k < 0)
		snprintf(note, size, "%s: %s", d->name, error ? error : strerror(-k));
	else
		k = apply_plan(c, inc->sig->name, run.plan, note, size);
	free(error);
	asios_domain_run_clear(&run);
	return k;
}

static int act_move_task(struct asios_heal_ctx *c, const struct asios_health_incident *inc, char *note, size_t size)
{
	struct asios_plan *plan = asios_plan_new();
	hwloc_bitmap_t from = hwloc_bitmap_alloc();
	unsigned long long start = 0;
	int k = -ENOMEM;

	if (plan && from && (k = asios_proc_stat(c->root, inc->pid, NULL, &start)) >= 0) {
		hwloc_bitmap_copy(from, c->snapshot->isolation.isolated);
		k = asios_plan_add_affinity(plan, inc->pid, start, "", from, c->snapshot->isolation.housekeeping,
					    "health: off isolated CPU %u", inc->cpu);
		if (k >= 0)
			k = apply_plan(c, inc->sig->name, plan, note, size);
	} else
		snprintf(note, size, "process %d: %s", inc->pid, strerror(-k));
	hwloc_bitmap_free(from);
	asios_plan_free(plan);
	return k;
}

static int act_node_label(struct asios_heal_ctx *c, const struct asios_health_incident *inc, char *note, size_t size)
{
	const char *file = c->policy->node_label_file;
	char *text = NULL, *slash, dir[4096], line[160];
	size_t len = 0;
	int k;

	snprintf(line, sizeof(line), "asios-health.%s=%s", inc->sig->name, asios_health_severity_name(inc->sig->severity));
	snprintf(dir, sizeof(dir), "%s", file);
	if ((slash = strrchr(dir, '/')) && slash != dir)
		*slash = '\0';
	if (asios_read_file(c->root, file, &text, &len) >= 0 && strstr(text, line)) {
		free(text);
		snprintf(note, size, "%s already says %s", file, line);
		return 0;
	}
	if ((k = asios_mkdirs(c->root, dir, 0755)) >= 0) {
		char *content = NULL;

		if (asprintf(&content, "%s%s\n", text ? text : "", line) < 0)
			k = -ENOMEM;
		else
			k = asios_write_whole(c->root, file, content);
		free(content);
	}
	free(text);
	snprintf(note, size, k < 0 ? "%s: %s" : "%s: %s", file, k < 0 ? strerror(-k) : line);
	return k;
}

/* a tool's outcome in NOTE: DONE when it exited 0; -errno when it could not run, -EIO when it failed */
static int tool_result(int k, const char *tool, const char *done, char *note, size_t size)
{
	if (k < 0)
		snprintf(note, size, "%s: %s", tool, strerror(-k));
	else if (k > 0)
		snprintf(note, size, "%s: exit status %d", tool, k);
	else
		snprintf(note, size, "%s", done);
	return k < 0 ? k : k > 0 ? -EIO : 0;
}

static int act_program(struct asios_heal_ctx *c, const struct asios_health_incident *inc, enum asios_health_action a,
		       char *note, size_t size)
{
	char host[256] = "", reason[200], node[300], pci[64] = "", done[400];
	char *reset[] = { "nvidia-smi", "--gpu-reset", "-i", pci, NULL };
	char *drain[] = { "scontrol", "update", node, "State=DRAIN", reason, NULL };
	bool gpu = a == ASIOS_HEAL_GPU_RESET;

	if (gpu && strncmp(inc->object, "GPU ", 4)) {
		snprintf(note, size, "%s is not a GPU", inc->object);
		return -EINVAL;
	}
	snprintf(pci, sizeof(pci), "%s", gpu ? inc->object + 4 : "");
	if (!c->policy->slurm_node[0])
		(void)gethostname(host, sizeof(host) - 1);
	snprintf(node, sizeof(node), "NodeName=%s", c->policy->slurm_node[0] ? c->policy->slurm_node : host);
	snprintf(reason, sizeof(reason), "Reason=asios-health: %s on %s", inc->sig->name, inc->object);
	snprintf(done, sizeof(done), gpu ? "nvidia-smi --gpu-reset -i %s" : "scontrol update %s State=DRAIN",
		 gpu ? pci : node);
	return tool_result(run_program(c, gpu ? reset : drain), gpu ? "nvidia-smi" : "scontrol", done, note, size);
}

/*
 * Persistence mode on for the GPU the incident names: NVIDIA's nvidia-persistenced started where its unit is
 * installed (it holds every GPU initialised, as NVIDIA recommends, with the privileges of its own unit); else
 * nvidia-smi -i GPU -pm 1, which the driver allows only with CAP_SYS_ADMIN.
 */
static int act_gpu_persistence(struct asios_heal_ctx *c, const struct asios_health_incident *inc, char *note,
			       size_t size)
{
	char pci[64], done[160];
	char *daemon[] = { "systemctl", "start", "nvidia-persistenced.service", NULL };
	char *smi[] = { "nvidia-smi", "-i", pci, "-pm", "1", NULL };

	if (strncmp(inc->object, "GPU ", 4) || !inc->object[4]) {
		snprintf(note, size, "%s is not a GPU", inc->object);
		return -EINVAL;
	}
	snprintf(pci, sizeof(pci), "%s", inc->object + 4);
	if (run_program(c, daemon) == 0)
		return tool_result(0, "systemctl", "systemctl start nvidia-persistenced.service", note, size);
	snprintf(done, sizeof(done), "no nvidia-persistenced to start: nvidia-smi -i %s -pm 1", pci);
	return tool_result(run_program(c, smi), "nvidia-smi", done, note, size);
}

/* what systemd gave up on: its failed state and start limit cleared, then a start queued (not waited for) */
static int act_restart_unit(struct asios_heal_ctx *c, const struct asios_health_incident *inc, char *note,
			    size_t size)
{
	char unit[96], done[256];
	char *reset[] = { "systemctl", "reset-failed", unit, NULL };
	char *start[] = { "systemctl", "start", "--no-block", unit, NULL };
	int k;

	if (strncmp(inc->object, "unit ", 5) || !inc->object[5]) {
		snprintf(note, size, "%s is not a unit", inc->object);
		return -EINVAL;
	}
	snprintf(unit, sizeof(unit), "%s", inc->object + 5);
	snprintf(done, sizeof(done), "systemctl reset-failed %s; systemctl start %s", unit, unit);
	if ((k = run_program(c, reset)) == 0)
		k = run_program(c, start);
	return tool_result(k, "systemctl", done, note, size);
}

int health_act(struct asios_heal_ctx *c, const struct asios_health_incident *inc, enum asios_health_action a,
	       char *note, size_t size)
{
	if (!c->snapshot && (a == ASIOS_HEAL_REAPPLY || a == ASIOS_HEAL_MOVE_TASK)) {
		snprintf(note, size, "%s needs a detection pass (not a kernel-log or PSI event)", asios_health_action_name(a));
		return -EINVAL;
	}
	switch (a) {
	case ASIOS_HEAL_REAPPLY:
		return act_reapply(c, inc, note, size);
	case ASIOS_HEAL_MOVE_TASK:
		if (!inc->pid) {
			snprintf(note, size, "no task named");
			return -EINVAL;
		}
		return act_move_task(c, inc, note, size);
	case ASIOS_HEAL_COMPACT: {
		int k = asios_write_file(c->root, "/proc/sys/vm/compact_memory", "1");

		snprintf(note, size, "/proc/sys/vm/compact_memory: %s", k < 0 ? strerror(-k) : "compaction started");
		return k;
	}
	case ASIOS_HEAL_NODE_LABEL:
		return act_node_label(c, inc, note, size);
	case ASIOS_HEAL_RESTART_UNIT:
		return act_restart_unit(c, inc, note, size);
	case ASIOS_HEAL_GPU_PERSISTENCE:
		return act_gpu_persistence(c, inc, note, size);
	case ASIOS_HEAL_GPU_RESET:
	case ASIOS_HEAL_DRAIN:
		return act_program(c, inc, a, note, size);
	default:
		return 0;
	}
}

/* hand-overs leave the fix to another engine: nothing here to verify */
bool health_verifiable(enum asios_health_action a)
{
	return a == ASIOS_HEAL_REAPPLY || a == ASIOS_HEAL_MOVE_TASK || a == ASIOS_HEAL_COMPACT ||
	       a == ASIOS_HEAL_GPU_RESET || a == ASIOS_HEAL_RESTART_UNIT || a == ASIOS_HEAL_GPU_PERSISTENCE;
}

