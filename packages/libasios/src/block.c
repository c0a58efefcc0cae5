/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/block-plan.h"
#include "asios/config.h"
#include "asios/effect.h"
#include "asios/plan.h"
#include "asios/root.h"
#include "domain-adapt.h"
#include "util.h"

/*
 * The block-device domain (block-plan.h): the knobs of a disk's request queue per device class, as data. The
 * columns are the classes: NVMe, cloud block volume (virtio-blk, Xen), SATA/SAS solid-state, rotating.
 */

#define N ASIOS_BLOCK_NVME
#define C ASIOS_BLOCK_CLOUD
#define S ASIOS_BLOCK_SSD
#define H ASIOS_BLOCK_HDD

enum { K_READ_AHEAD, K_NR_REQUESTS, K_RQ_AFFINITY, K_SCHEDULER };

static const struct asios_knob knobs[ASIOS_BLOCK_KNOBS] = {
	[K_READ_AHEAD] = {
		.name = "read_ahead_kb",
		.path = "/sys/block/%s/queue/read_ahead_kb",
		.value = { [N] = "4096", [C] = "512" },
		.min = 0, .max = 65536, .floor = true,
		.brief = "read-ahead 4 MiB on NVMe, 512 KiB on cloud volumes: model files of several GB are read "
			 "sequentially, 128 KiB keeps the disk far from its sequential bandwidth with buffered reads",
		.explain = "Safetensors shards, checkpoints and datasets are read front to back in multi-GB files. With "
			   "the kernel's 128 KiB read-ahead a buffered reader keeps too few requests in flight for an "
			   "NVMe drive; 4 MiB keeps it busy. On a virtio volume asiosctl tune kept 512 KiB and rejected "
			   "2048 (docs/tune.md): 512 read 1.77 GB/s there, 4 MiB 1.49, 128 KiB 1.16. Only raised: a "
			   "driver, the cloud image or an admin that set more keeps it (the same rule as asios-base's "
			   "udev rule). SATA and rotating disks keep their default: the page cache they would fill is "
			   "better spent on the models.",
	},
	[K_NR_REQUESTS] = {
		.name = "nr_requests",
		.path = "/sys/block/%s/queue/nr_requests",
		.value = { [H] = "256" },
		.min = 4, .max = 4096,
		.brief = "256 requests in the scheduler's queue: more reads to sort and merge, fewer seeks on a rotating disk",
		.explain = "On a rotating disk mq-deadline sorts and merges what waits in its queue; the default of twice "
			   "the device's queue depth (often 64) leaves it little to sort when several data loaders read "
			   "at once. Solid-state and NVMe queues keep the kernel's value, which follows their hardware "
			   "queue depth.",
	},
	[K_RQ_AFFINITY] = {
		.name = "rq_affinity",
		.path = "/sys/block/%s/queue/rq_affinity",
		.value = { [N] = "2" },
		.min = 0, .max = 2,
		.brief = "completions on the CPU that asked: the reader's cache stays warm and isolated CPUs get no "
			 "completion work from others",
		.explain = "With 1 (the default) a request completes on any CPU that shares a cache with the one that "
			   "issued it; with 2 on that very CPU. An NVMe drive has fewer queues than a large server has "
			   "CPUs, so completions of a data loader would otherwise run on its neighbours, which may be "
			   "the isolated CPUs of a latency workload.",
	},
	[K_SCHEDULER] = {
		.name = "scheduler",
		.path = "/sys/block/%s/queue/scheduler",
		.value = { [N] = "none", [C] = "none", [S] = "mq-deadline", [H] = "mq-deadline" },
		.brief = "I/O scheduler for the class: none where the device or the host schedules, mq-deadline where "
			 "reads must not starve behind writes",
		.explain = "NVMe drives and cloud volumes schedule in hardware or on the host: an elevator only adds CPU "
			   "per request. A SATA SSD has one queue of 32 and a rotating disk seeks: mq-deadline keeps a "
			   "checkpoint write from starving the readers of a model.",
	},
};

static const char *const class_names[] = { "nvme", "cloud", "ssd", "hdd", NULL };
static const char *const schedulers[] = { "none", "mq-deadline", "kyber", "bfq", NULL };

const char *asios_block_class_name(int class)
{
	return class >= 0 && class < _ASIOS_BLOCK_CLASS_MAX ? class_names[class] : "virtual";
}

static const struct asios_knob *block_knobs(size_t *n)
{
	*n = ASIOS_BLOCK_KNOBS;
	return knobs;
}

/* ---- policy: block.conf ---- */

#define fail(c, ...) asios_conf_fail((c), __VA_ARGS__)
/* the policy the reader C fills */
#define POLICY(c) ((struct asios_block_policy *)(c)->policy)

static int knob_index(const char *name)
{
	for (int k = 0; k < ASIOS_BLOCK_KNOBS; k++)
		if (!strcmp(knobs[k].name, name))
			return k;
	return -1;
}

static bool value_ok(int k, const char *v)
{
	long x;

	if (k == K_SCHEDULER) {
		for (size_t i = 0; schedulers[i]; i++)
			if (!strcmp(v, schedulers[i]))
				return true;
		return false;
	}
	return asios_conf_long(v, knobs[k].min, knobs[k].max, &x) == 0;
}

static int set_value(struct asios_conf *c, struct asios_block_value *slot, const char *name, const char *value)
{
	int k = knob_index(name);
	char *v = NULL;

	if (k < 0)
		return fail(c, "unknown knob \"%s\"%s (read_ahead_kb, nr_requests, rq_affinity, scheduler)", name, "");
	if (strcmp(value, "leave") && !value_ok(k, value))
		return k == K_SCHEDULER ? fail(c, "%s = %s: not a scheduler (none, mq-deadline, kyber, bfq)", name, value)
					: fail(c, "%s = %s: not a number in the range the kernel takes", name, value);
	if (strcmp(value, "leave") && !(v = strdup(value)))
		return 0;
	free(slot[k].value);
	slot[k].value = v;
	slot[k].set = true;
	return 1;
}

static struct asios_block_device_policy *device_policy(struct asios_block_policy *p, const char *name)
{
	struct asios_block_device_policy *d;

	for (size_t i = 0; i < p->n_devices; i++)
		if (!strcmp(p->devices[i].name, name))
			return &p->devices[i];
	d = realloc(p->devices, (p->n_devices + 1) * sizeof(*d));
	if (!d)
		return NULL;
	p->devices = d;
	d = &p->devices[p->n_devices];
	*d = (struct asios_block_device_policy){ .name = strdup(name) };
	if (!d->name)
		return NULL;
	p->n_devices++;
	return d;
}

static bool disk_name(const char *s)
{
	if (!*s || strlen(s) > 31 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.:", *s))
			return false;
	return true;
}

static int exclude(struct asios_conf *c, const char *value)
{
	char *copy = strdup(value), *save = NULL;

	if (!copy)
		return 0;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		int ok = !disk_name(w) ? fail(c, "exclude: \"%s\" is not a disk name%s", w, "")
				       : asios_strv_push_dup(&POLICY(c)->exclude, &POLICY(c)->n_exclude, w) >= 0;

		if (!ok) {
			free(copy);
			return 0;
		}
	}
	free(copy);
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct asios_conf *c = user;

	if (!strcmp(section, "block")) {
		if (!strcmp(name, "exclude"))
			return exclude(c, value);
		return fail(c, "unknown key \"%s\" in [%s] (exclude)", name, section);
	}
	for (int k = 0; class_names[k]; k++)
		if (!strcmp(section, class_names[k]))
			return set_value(c, POLICY(c)->knob[k], name, value);
	if (!strncmp(section, "device ", 7)) {
		struct asios_block_device_policy *d;

		if (!disk_name(section + 7))
			return fail(c, "[%s]: \"%s\" is not a disk name", section, section + 7);
		d = device_policy(POLICY(c), section + 7);
		return d ? set_value(c, d->knob, name, value) : 0;
	}
	return fail(c, "unknown section [%s] (block, nvme, cloud, ssd, hdd, device NAME)%s", section, "");
}

void asios_block_policy_clear(struct asios_block_policy *p)
{
	for (int k = 0; k < _ASIOS_BLOCK_CLASS_MAX; k++)
		for (int j = 0; j < ASIOS_BLOCK_KNOBS; j++)
			free(p->knob[k][j].value);
	for (size_t i = 0; i < p->n_devices; i++) {
		for (int j = 0; j < ASIOS_BLOCK_KNOBS; j++)
			free(p->devices[i].knob[j].value);
		free(p->devices[i].name);
	}
	free(p->devices);
	asios_strv_free(p->exclude);
	memset(p, 0, sizeof(*p));
}

int asios_block_policy_init(struct asios_block_policy *p)
{
	memset(p, 0, sizeof(*p));
	return 0;
}

static const char *const repeatable[] = { "block", NULL };

ASIOS_CONF_FORMAT(block, handler, repeatable, ASIOS_BLOCK_CONF, NULL)

/* ---- observe: /sys/block ---- */

static const struct {
	const char *prefix, *why;
} stacked[] = {
	{ "loop", "loop device: its I/O is the file's, tuned on the disk below" },
	{ "ram", "RAM disk: no queue to tune" },
	{ "zram", "compressed RAM disk: no queue to tune" },
	{ "dm-", "device-mapper: its I/O is shaped by the disks below" },
	{ "md", "software RAID: its I/O is shaped by the disks below" },
	{ "nbd", "network block device: its I/O is shaped by the server" },
	{ "sr", "optical drive" },
	{ "fd", "floppy drive" },
};

/* the scheduler file lists the choices with the active one in brackets: "[none] mq-deadline kyber" */
static char *chosen_scheduler(const char *line)
{
	const char *a = strchr(line, '['), *b = a ? strchr(a, ']') : NULL;

	return a && b ? strndup(a + 1, (size_t)(b - a - 1)) : strdup(line);
}

static int read_knobs(struct asios_root *root, struct asios_block_device *d)
{
	for (int k = 0; k < ASIOS_BLOCK_KNOBS; k++) {
		char path[256], *v = NULL;
		int r;

		snprintf(path, sizeof(path), "/sys/block/%s/queue/%s", d->name, knobs[k].name); /* knobs[k].path */
		r = asios_read_line(root, path, &v);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		if (k == K_SCHEDULER) {
			d->schedulers = v;
			v = chosen_scheduler(v);
			if (!v)
				return -ENOMEM;
		}
		d->value[k] = v;
	}
	return 0;
}

static int classify(struct asios_root *root, struct asios_block_device *d)
{
	char path[256];
	long rot;

	d->class = -1;
	for (size_t i = 0; i < sizeof(stacked) / sizeof(stacked[0]); i++)
		if (!strncmp(d->name, stacked[i].prefix, strlen(stacked[i].prefix))) {
			d->why = stacked[i].why;
			return 0;
		}
	if (!strncmp(d->name, "nvme", 4)) {
		d->class = ASIOS_BLOCK_NVME;
	} else if (!strncmp(d->name, "vd", 2) || !strncmp(d->name, "xvd", 3)) {
		d->class = ASIOS_BLOCK_CLOUD;
	} else {
		snprintf(path, sizeof(path), "/sys/block/%s/queue/rotational", d->name);
		if (asios_read_long(root, path, &rot) < 0 || rot < 0 || rot > 1) {
			d->why = "no readable queue/rotational: its class is unknown";
			return 0;
		}
		d->class = rot ? ASIOS_BLOCK_HDD : ASIOS_BLOCK_SSD;
	}
	return read_knobs(root, d);
}

void asios_block_state_free(struct asios_block_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_devices; i++) {
		free(st->devices[i].name);
		free(st->devices[i].schedulers);
		for (int k = 0; k < ASIOS_BLOCK_KNOBS; k++)
			free(st->devices[i].value[k]);
	}
	free(st->devices);
	asios_strv_free(st->warnings);
	free(st);
}

int asios_block_observe(struct asios_root *root, const struct asios_block_policy *p, struct asios_block_state **ret)
{
	struct asios_block_state *st = calloc(1, sizeof(*st));
	char **names = NULL;
	size_t n = 0;
	int r;

	(void)p;
	*ret = st;
	if (!st)
		return -ENOMEM;
	r = asios_list_dir(root, "/sys/block", &names);
	if (r == -ENOENT)
		return 0;
	for (size_t i = 0; r >= 0 && names[i]; i++)
		n++;
	st->devices = r >= 0 && n ? calloc(n, sizeof(*st->devices)) : NULL;
	if (r >= 0 && n && !st->devices)
		r = -ENOMEM;
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct asios_block_device *d = &st->devices[st->n_devices];

		if (!disk_name(names[i]))
			continue;
		d->name = strdup(names[i]);
		st->n_devices++;
		r = d->name ? classify(root, d) : -ENOMEM;
		if (r < 0 && r != -ENOMEM) { /* one unreadable disk is said and left alone, not the end of the rest */
			char *w = NULL;

			r = asprintf(&w, "/sys/block/%s/queue: %s", d->name, strerror(-r)) < 0 ? -ENOMEM
							: asios_strv_push(&st->warnings, &st->n_warnings, w);
			d->class = -1;
			d->why = "its queue could not be read";
		}
	}
	asios_strv_free(names);
	return r < 0 ? r : 0;
}

/* ---- plan ---- */

static const char *wanted(const struct asios_block_policy *p, const struct asios_block_device *d, int k)
{
	for (size_t i = 0; i < p->n_devices; i++)
		if (!strcmp(p->devices[i].name, d->name) && p->devices[i].knob[k].set)
			return p->devices[i].knob[k].value;
	if (p->knob[d->class][k].set)
		return p->knob[d->class][k].value;
	return knobs[k].value[d->class];
}

static bool offered(const char *list, const char *name)
{
	char *copy = strdup(list), *save = NULL;
	bool yes = false;

	for (char *w = copy ? strtok_r(copy, " []", &save) : NULL; w && !yes; w = strtok_r(NULL, " []", &save))
		yes = !strcmp(w, name);
	free(copy);
	return yes;
}

static int plan_knob(struct asios_plan *plan, const struct asios_block_device *d, int k, const char *want)
{
	const char *cur = d->value[k], *cls = asios_block_class_name(d->class);
	char object[64], path[256];

	snprintf(object, sizeof(object), "%s %s", d->name, knobs[k].name);
	snprintf(path, sizeof(path), "/sys/block/%s/queue/%s", d->name, knobs[k].name); /* knobs[k].path */
	if (!cur)
		return asios_plan_skip_object(plan, object, "not offered by this disk's queue");
	if (!strcmp(cur, want))
		return 0;
	if (k == K_SCHEDULER && !offered(d->schedulers, want))
		return asios_plan_skip_object(plan, object, "%s is not offered by the kernel (it offers: %s)", want,
					      d->schedulers);
	if (knobs[k].floor && strtol(cur, NULL, 10) >= strtol(want, NULL, 10))
		return asios_plan_skip_object(plan, object, "%s is already above the %s class's %s: kept", cur, cls, want);
	return asios_plan_add_write(plan, object, path, cur, want, "%s (%s)", knobs[k].brief, cls);
}

static bool excluded(const struct asios_block_policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_exclude; i++)
		if (!strcmp(p->exclude[i], name))
			return true;
	return false;
}

int asios_block_plan(const struct asios_block_state *st, const struct asios_block_policy *p, struct asios_plan **ret)
{
	struct asios_plan *plan = asios_plan_new();
	int r = plan ? 0 : -ENOMEM;

	if (plan && !st->n_devices)
		r = asios_plan_note(plan, "no disks under /sys/block");
	for (size_t i = 0; r >= 0 && i < st->n_devices; i++) {
		const struct asios_block_device *d = &st->devices[i];
		char object[64];

		snprintf(object, sizeof(object), "%s", d->name);
		if (excluded(p, d->name)) {
			r = asios_plan_skip_object(plan, object, "excluded in block.conf");
			continue;
		}
		if (d->class < 0) {
			if (strncmp(d->name, "loop", 4) && strncmp(d->name, "ram", 3)) /* dozens of them: not listed */
				r = asios_plan_skip_object(plan, object, "%s", d->why);
			continue;
		}
		for (int k = 0; r >= 0 && k < ASIOS_BLOCK_KNOBS; k++) {
			const char *want = wanted(p, d, k);

			if (want)
				r = plan_knob(plan, d, k, want);
		}
	}
	if (r < 0) {
		asios_plan_free(plan);
		plan = NULL;
	}
	*ret = plan;
	return r;
}

/* ---- the domain ---- */

ASIOS_DOMAIN_STATE(block, struct asios_block_state)

static int observe(struct asios_root *root, const struct asios_snapshot *s, const void *p, void **state)
{
	struct asios_block_state *st = NULL;
	int r = asios_block_observe(root, p, &st);

	(void)s;
	*state = st;
	return r;
}

static int plan(const struct asios_snapshot *s, const void *state, const void *p, struct asios_plan **ret)
{
	(void)s;
	return asios_block_plan(state, p, ret);
}

const struct asios_domain asios_block_domain = {
	.name = "block",
	.summary = "block devices: read-ahead, scheduler, queue depth, completion CPU per disk class",
	.conf = ASIOS_BLOCK_CONF,
	.conf_d = ASIOS_BLOCK_CONF_D,
	.journal = ASIOS_BLOCK_JOURNAL,
	.restored = "block device queue settings",
	.events = ASIOS_EVENT_UEVENT,
	.classes = class_names,
	.knobs = block_knobs,
	.policy_size = sizeof(struct asios_block_policy),
	.format = &asios_block_policy_format,
	.observe = observe,
	.state_free = block_state_free,
	.warnings = block_warnings,
	.plan = plan,
	.effect_metric = "io_milliseconds_per_request",
	.effect_kind = ASIOS_EFFECT_SHARE,
	.effect = asios_effect_block_latency,
};
