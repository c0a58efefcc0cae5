/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/config.h"
#include "asios/gpu-plan.h"
#include "asios/plan.h"
#include "asios/root.h"
#include "util.h"

/*
 * Persistence mode of NVIDIA's GPUs, part of the GPU host-settings domain (gpu-plan.h). Without it the driver
 * tears a GPU's state down when the last program using it exits and sets it up again for the next one (seconds
 * per GPU, longer on an 8-GPU server), and settings made through the driver such as application clocks are
 * lost in between. NVIDIA's way to keep it on is its persistence daemon, nvidia-persistenced (nvidia-smi -pm is
 * deprecated); a distribution's unit may start the daemon with persistence mode off (--no-persistence-mode).
 * Two drop-ins, both file actions: multi-user.target wants the unit, and the unit's ExecStart= without that
 * flag. asios-healthd starts the daemon when it finds a GPU without persistence at run time; this keeps it so
 * across boots.
 */

#define UNIT_DIR "/etc/systemd/system"
#define DROPIN_DIR UNIT_DIR "/" ASIOS_GPU_PERSIST_SERVICE ".d"
#define ENABLED UNIT_DIR "/multi-user.target.wants/" ASIOS_GPU_PERSIST_SERVICE
#define NO_PERSISTENCE "--no-persistence-mode"

static const char *const unit_paths[] = {
	UNIT_DIR "/" ASIOS_GPU_PERSIST_SERVICE,
	"/usr/lib/systemd/system/" ASIOS_GPU_PERSIST_SERVICE,
	"/lib/systemd/system/" ASIOS_GPU_PERSIST_SERVICE,
};

static int optional(int r)
{
	return r == -ENOENT || r == -ENOTDIR ? 0 : r;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* the unit's drop-ins in /etc other than ours */
static int other_dropins(struct asios_root *root, struct asios_gpu_state *st)
{
	char **names = NULL, *mine = strrchr(ASIOS_GPU_PERSIST_OVERRIDE, '/') + 1;
	size_t n = 0;
	int r = optional(asios_list_dir(root, DROPIN_DIR, &names));

	for (size_t i = 0; r >= 0 && names && names[i]; i++)
		if (ends_with(names[i], ".conf") && strcmp(names[i], mine))
			r = asios_strv_push_dup(&st->persist_dropins, &n, names[i]);
	asios_strv_free(names);
	return r;
}

int asios_gpu_observe_persistence(struct asios_root *root, struct asios_gpu_state *st)
{
	char *link = NULL;
	int r;

	if ((r = optional(asios_read_file(root, ASIOS_GPU_PERSIST_WANTS, &st->persist_wants, NULL))) < 0 ||
	    (r = optional(asios_read_file(root, ASIOS_GPU_PERSIST_OVERRIDE, &st->persist_override, NULL))) < 0 ||
	    !st->nvidia_gpus)
		return r;
	for (size_t i = 0; i < ASIOS_CONF_N(unit_paths); i++) {
		char *dir = strndup(unit_paths[i], (size_t)(strrchr(unit_paths[i], '/') - unit_paths[i]));

		if (!dir)
			return -ENOMEM;
		st->unit_dirs |= asios_exists(root, dir);
		free(dir);
	}
	/* masked: a link to /dev/null (an empty file where a capture has no /dev) */
	if ((r = optional(asios_read_link(root, unit_paths[0], &link))) < 0 && r != -EINVAL)
		return r;
	st->persist_masked = link && !strcmp(link, "/dev/null");
	free(link);
	for (size_t i = 0; !st->persist_masked && !st->persist_unit && i < ASIOS_CONF_N(unit_paths); i++) {
		if ((r = optional(asios_read_file(root, unit_paths[i], &st->persist_unit, NULL))) < 0)
			return r;
		if (st->persist_unit)
			st->persist_unit_path = strdup(unit_paths[i]);
	}
	if (st->persist_unit && st->persist_unit_path == NULL)
		return -ENOMEM;
	if (st->persist_unit && !strcmp(st->persist_unit_path, unit_paths[0]) &&
	    !st->persist_unit[strspn(st->persist_unit, " \t\n")]) {
		st->persist_masked = true;
		free(st->persist_unit);
		st->persist_unit = NULL;
	}
	st->persist_enabled = asios_exists(root, ENABLED);
	return other_dropins(root, st);
}

/* ---- plan ---- */

/* the last ExecStart= with a command in TEXT (a unit file), malloc'ed without the key; NULL when none */
static char *exec_start(const char *text)
{
	char *last = NULL;

	for (const char *p = text; p && *p;) {
		size_t n = strcspn(p, "\n");

		if (!strncmp(p, "ExecStart=", 10) && n > 10) {
			free(last);
			last = strndup(p + 10, n - 10);
		}
		p += n + (p[n] == '\n');
	}
	return last;
}

/* COMMAND without the word NO_PERSISTENCE, its words one space apart, malloc'ed; *FOUND whether it had it */
static char *without_flag(const char *command, bool *found)
{
	size_t k = strlen(NO_PERSISTENCE);
	char *out = calloc(1, strlen(command) + 1), *o = out;

	*found = false;
	for (const char *p = command; out && *p;) {
		size_t sp = strspn(p, " \t"), w = strcspn(p + sp, " \t");

		if (w == k && !strncmp(p + sp, NO_PERSISTENCE, k))
			*found = true;
		else if (w)
			o += sprintf(o, "%s%.*s", o == out ? "" : " ", (int)w, p + sp);
		p += sp + w;
	}
	return out;
}

/* one of our drop-ins from HAVE to WANT (NULL: absent), when they differ */
static int plan_dropin(struct asios_plan *plan, const char *path, const char *have, const char *want, const char *why)
{
	if ((!have && !want) || (have && want && !strcmp(have, want)))
		return 0;
	return asios_plan_add_file(plan, "GPU persistence mode", path, have, want, "%s", why);
}

static int remove_ours(struct asios_plan *plan, const struct asios_gpu_state *st, const char *why)
{
	char *a = NULL, *b = NULL;
	int r = -ENOMEM;

	if (asprintf(&a, "%s: %s is removed", why, ASIOS_GPU_PERSIST_WANTS) >= 0 &&
	    asprintf(&b, "%s: %s is removed", why, ASIOS_GPU_PERSIST_OVERRIDE) >= 0 &&
	    (r = plan_dropin(plan, ASIOS_GPU_PERSIST_WANTS, st->persist_wants, NULL, a)) >= 0)
		r = plan_dropin(plan, ASIOS_GPU_PERSIST_OVERRIDE, st->persist_override, NULL, b);
	free(a);
	free(b);
	return r;
}

#define HEADER                                                                                                     \
	"# GPU host settings of ASIOS (asiosctl gpu apply), from /etc/asios/gpu.conf: persistence mode of NVIDIA's\n" \
	"# GPUs, kept by NVIDIA's persistence daemon. asiosctl gpu revert removes this file.\n"

static int plan_wants(struct asios_plan *plan, const struct asios_gpu_state *st)
{
	char *why = NULL;
	int r;

	if (st->persist_enabled)
		return (r = asios_plan_note(plan, "persistence mode: %s is enabled (outside ASIOS)",
					    ASIOS_GPU_PERSIST_SERVICE)) < 0 ? r :
		       plan_dropin(plan, ASIOS_GPU_PERSIST_WANTS, st->persist_wants, NULL,
				   ASIOS_GPU_PERSIST_SERVICE " is enabled outside ASIOS: our Wants= is not needed, "
				   ASIOS_GPU_PERSIST_WANTS " is removed");
	if (asprintf(&why, "%s started at boot (Wants= of multi-user.target; %s is installed but not enabled) for the "
		     "persistence mode of %u NVIDIA GPU%s: without it the driver sets each GPU up again for every "
		     "program that finds it unused, seconds per GPU, and drops its application clocks in between (in "
		     "effect at the next boot, or systemctl daemon-reload; systemctl start %s)", ASIOS_GPU_PERSIST_SERVICE,
		     st->persist_unit_path, st->nvidia_gpus, st->nvidia_gpus == 1 ? "" : "s", ASIOS_GPU_PERSIST_SERVICE) < 0)
		return -ENOMEM;
	r = plan_dropin(plan, ASIOS_GPU_PERSIST_WANTS, st->persist_wants,
			HEADER "[Unit]\nWants=" ASIOS_GPU_PERSIST_SERVICE "\n", why);
	free(why);
	return r;
}

static int plan_override(struct asios_plan *plan, const struct asios_gpu_state *st)
{
	char *exec = exec_start(st->persist_unit), *fixed = NULL, *want = NULL, *why = NULL;
	bool flag = false;
	int r = 0;

	if (exec && !(fixed = without_flag(exec, &flag)))
		r = -ENOMEM;
	else if (!flag)
		r = plan_dropin(plan, ASIOS_GPU_PERSIST_OVERRIDE, st->persist_override, NULL,
				"the unit starts the daemon with persistence mode on: "
				ASIOS_GPU_PERSIST_OVERRIDE " is not needed and is removed");
	else if (st->persist_dropins)
		r = asios_plan_skip_object(plan, "GPU persistence mode", "%s starts the daemon with " NO_PERSISTENCE
					   ", but %s has drop-ins of others (%s…): left alone", st->persist_unit_path,
					   DROPIN_DIR, st->persist_dropins[0]);
	else if (asprintf(&want, HEADER "[Service]\nExecStart=\nExecStart=%s\n", fixed) < 0)
		want = NULL, r = -ENOMEM; /* asprintf leaves WANT undefined when it fails */
	else if (asprintf(&why, "persistence mode on: %s starts %s with " NO_PERSISTENCE ", which turns it off on every "
			  "GPU (in effect at systemctl daemon-reload; systemctl restart %s, or the next boot)",
			  st->persist_unit_path, ASIOS_GPU_PERSIST_SERVICE, ASIOS_GPU_PERSIST_SERVICE) < 0)
		why = NULL, r = -ENOMEM;
	else
		r = plan_dropin(plan, ASIOS_GPU_PERSIST_OVERRIDE, st->persist_override, want, why);
	free(exec);
	free(fixed);
	free(want);
	free(why);
	return r;
}

int asios_gpu_plan_persistence(struct asios_plan *plan, const struct asios_gpu_state *st,
			       const struct asios_gpu_policy *p)
{
	const char *object = "GPU persistence mode";
	int r;

	if (!st->nvidia_gpus)
		return remove_ours(plan, st, "no NVIDIA GPU");
	if (p->persistence == ASIOS_GPU_PERSISTENCE_LEAVE)
		return asios_plan_skip_object(plan, object, "persistence = leave in gpu.conf");
	if (st->persist_masked)
		return asios_plan_skip_object(plan, object, "%s is masked (outside ASIOS): left alone",
					      ASIOS_GPU_PERSIST_SERVICE);
	if (!st->persist_unit && !st->unit_dirs)
		return asios_plan_skip_object(plan, object, "no systemd unit folder (/etc/systemd/system, "
					      "/usr/lib/systemd/system, /lib/systemd/system) in this tree: a machine without "
					      "systemd, or a capture taken before they were recorded; not decided");
	if (!st->persist_unit)
		return (r = asios_plan_skip_object(plan, object, "NVIDIA's persistence daemon is not installed (no %s in "
						   "/etc/systemd/system, /usr/lib/systemd/system or /lib/systemd/system; "
						   "Debian: package nvidia-persistenced): persistence mode is not kept "
						   "across boots", ASIOS_GPU_PERSIST_SERVICE)) < 0 ? r :
		       remove_ours(plan, st, "NVIDIA's persistence daemon is not installed");
	if ((r = plan_wants(plan, st)) < 0)
		return r;
	return plan_override(plan, st);
}
