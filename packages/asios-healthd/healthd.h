/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once
/* asios-healthd's state, shared by the passes (asios-healthd.c) and the live event watchers (watch.c). */
#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "asios/daemon.h"
#include "asios/health.h"

#define NAME "asios-healthd"
#define MAX_SERIES 64
#define PSI_RESOURCES 3
extern const char *const psi_res[PSI_RESOURCES];
#define EVENT_HOLDOFF 60   /* seconds a kernel-log event of one signature and object is only counted again */
#define MAX_EVENTS 128
#define MAX_OPEN 128
/* A unit systemd will restart passes through the failed state for a moment (its OnFailure= runs then, before
 * the auto-restart timer); only one still failed a second later is one systemd gave up on. */
#define UNIT_SETTLE_USEC 1000000

struct healthd {
	struct asios_daemon_args args;
	const char *signatures;
	struct asios_root *root;
	sd_event *event;
	sd_event_source *timer, *kmsg_src, *psi_src[PSI_RESOURCES], *link_src, *uevent_src;
	int kmsg_fd, psi_fd[PSI_RESOURCES], link_fd, uevent_fd;
	int lock_fd;                           /* ASIOS_HEALTH_DIR/lock, held while it runs */
	sd_bus *bus;                           /* the service manager: units that became failed */
	sd_bus_slot *unit_slot;
	sd_event_source *unit_check;           /* a unit became failed: checked again UNIT_SETTLE later */
	uint64_t running[16];                  /* interfaces seen running (bit per ifindex < 1024) */
	struct asios_health_policy policy;
	struct asios_health_state state;
	struct asios_baseline baselines[MAX_SERIES];
	size_t n_baselines;
	struct asios_series series[MAX_SERIES];
	size_t n_series;
	double last_t, last_intr, last_ctxt;   /* /proc/stat counters of the previous pass */
	double baselines_saved;                /* when the baselines were last written */
	struct { char key[200]; double last_seen; } open[MAX_OPEN]; /* lasting incidents: "SIGNATURE\tOBJECT" */
	size_t n_open;
	unsigned passes, incidents;
	struct { char key[160]; double at; } events[MAX_EVENTS]; /* kernel-log events handled recently */
	double psi_since;                      /* when the PSI triggers were made */
	double psi_fired[PSI_RESOURCES];       /* when each trigger last fired */
};

double now_s(void);
const struct asios_health_signature *signature_of(struct healthd *h, enum asios_health_source src,
						 const char *match);
/* hand new incidents to healing (FULL: a whole pass, which also verifies and closes ended conditions) */
void handle(struct healthd *h, const struct asios_snapshot *s, struct asios_health_incidents *l, bool full,
	    const char *cause);
/* one pass; CAUSE: what started it that explains new drift (healthd.c: handle()), or NULL */
int pass(struct healthd *h, const char *why, const char *cause);
/* live only: the kernel log, PSI triggers, link-up events, device uevents and failed units wake a pass or a heal
 * at once */
void watch_live(struct healthd *h);
void unwatch_live(struct healthd *h);
