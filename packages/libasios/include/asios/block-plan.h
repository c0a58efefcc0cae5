/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The block-device domain (domain.h): the request queue of every disk under /sys/block, set per device class.
 * Observe: asios_block_observe() reads each disk's class (NVMe; cloud block volume: virtio-blk or Xen;
 * solid-state or rotating SCSI/SATA, from queue/rotational) and the knobs of its queue. Virtual and stacked
 * devices (loop, ram, zram, device-mapper, md, nbd, optical) are left alone: their I/O is shaped by the disks
 * under them. Plan: asios_block_plan() is pure: one write per knob that differs from the policy's value for
 * the device's class, each with its reason. The knobs and their values per class are data (block.c);
 * /etc/asios/block.conf and block.conf.d/ override them:
 *   [block]          exclude = NAME…  (repeatable; disks left alone)
 *   [nvme] [cloud] [ssd] [hdd]    KNOB = VALUE|leave
 *   [device NAME]    KNOB = VALUE|leave   (one disk, over its class)
 * KNOB is read_ahead_kb, nr_requests, rq_affinity or scheduler; values are checked against the kernel's range.
 */

#include <stdbool.h>
#include <stddef.h>

#include "asios/config.h"
#include "asios/domain.h"

struct asios_plan;
struct asios_root;
struct asios_snapshot;

#define ASIOS_BLOCK_CONF "/etc/asios/block.conf"
#define ASIOS_BLOCK_CONF_D "/etc/asios/block.conf.d"
#define ASIOS_BLOCK_JOURNAL "/run/asios/block.journal"

enum asios_block_class { ASIOS_BLOCK_NVME, ASIOS_BLOCK_CLOUD, ASIOS_BLOCK_SSD, ASIOS_BLOCK_HDD, _ASIOS_BLOCK_CLASS_MAX };
#define ASIOS_BLOCK_KNOBS 4

/* A value from the policy: SET false keeps the table's; VALUE NULL leaves the knob alone. */
struct asios_block_value {
	bool set;
	char *value;
};

struct asios_block_device_policy {
	char *name;
	struct asios_block_value knob[ASIOS_BLOCK_KNOBS];
};

struct asios_block_policy {
	struct asios_block_value knob[_ASIOS_BLOCK_CLASS_MAX][ASIOS_BLOCK_KNOBS];
	char **exclude;            /* NULL-terminated */
	size_t n_exclude;
	struct asios_block_device_policy *devices;
	size_t n_devices;
};

/* block.conf read as asios_irq_policy_format says */
extern const struct asios_conf_format asios_block_policy_format;
int asios_block_policy_parse(struct asios_block_policy *p, const char *text, const char *origin, char **error);
int asios_block_policy_init(struct asios_block_policy *p);
void asios_block_policy_clear(struct asios_block_policy *p);

struct asios_block_device {
	char *name;                /* "nvme0n1" */
	int class;                 /* enum asios_block_class, or -1: left alone (why in WHY) */
	const char *why;
	char *value[ASIOS_BLOCK_KNOBS]; /* as read (the scheduler: the one in brackets); NULL: not offered */
	char *schedulers;          /* queue/scheduler as read: the choices */
};

struct asios_block_state {
	struct asios_block_device *devices;
	size_t n_devices;
	char **warnings;           /* NULL-terminated */
	size_t n_warnings;
};

int asios_block_observe(struct asios_root *root, const struct asios_block_policy *p, struct asios_block_state **ret);
void asios_block_state_free(struct asios_block_state *st);
int asios_block_plan(const struct asios_block_state *st, const struct asios_block_policy *p, struct asios_plan **ret);

const char *asios_block_class_name(int class);
extern const struct asios_domain asios_block_domain;
