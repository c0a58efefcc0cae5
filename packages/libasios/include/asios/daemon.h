/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * What every ASIOS daemon shares: its command line, its sd-event loop, its SIGHUP reload and re-plan timer.
 * This part is the daemons' edge and prints (usage, version, argument errors, a reload that failed, why a
 * daemon did not start, with journald priority prefixes); the rest of libasios never does.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct asios_daemon_args {
	const char *root, *conf, *conf_d;
	bool once, dry_run;
};

/*
 * NAME [--root DIR] [--config FILE] [--config-dir DIR] [--once] [--dry-run] [--help] [--version]. A holds the
 * defaults on entry (conf, conf_d; root "/" when NULL). Returns -1 to go on, or the exit status: 0 after
 * --help (USAGE) or --version, 2 on a bad argument (named on stderr).
 */
int asios_daemon_parse_args(const char *name, int argc, char **argv, void (*usage)(void), struct asios_daemon_args *a);

/*
 * The default event loop with SIGTERM and SIGINT ending it, SIGHUP reloading the configuration, and the systemd
 * watchdog fed when WATCHDOG_USEC asks for it. A reload tells systemd (RELOADING=1, then READY=1) and calls
 * RELOAD(USERDATA): it loads the configuration afresh and, only when that worked, takes it and re-plans; a
 * negative return (the bad file and line already logged) keeps the previous configuration, which is said here.
 * One such loop per process. Negative errno on failure.
 */
int asios_daemon_event(sd_event **ret, int (*reload)(void *userdata), void *userdata);

/* A timer on E calling CB(USERDATA) first after INTERVAL_S seconds; CB re-arms it with asios_daemon_rearm(). */
int asios_daemon_add_timer(sd_event *e, sd_event_source **ret, unsigned interval_s, sd_event_time_handler_t cb,
			   void *userdata);

/* Re-arm the timer SRC, which fired at USEC, for INTERVAL_S seconds later (the interval as configured now). */
void asios_daemon_rearm(sd_event_source *src, uint64_t usec, unsigned interval_s);

/*
 * Log why NAME did not start (R: a negative errno; -EINVAL is a bad configuration, already reported with its
 * file and line) and return the exit status, 1.
 */
int asios_daemon_start_failed(const char *name, int r);

struct asios_root;
/* Whether PATH exists under ROOT (ROOT_PATH as given on the command line); if not, log "NAME: PATH is missing:
 * WHY" and return false. */
bool asios_daemon_need(const struct asios_root *root, const char *root_path, const char *name, const char *path,
		       const char *why);

/* Tell systemd READY=1 with STATUS, run E until SIGTERM/SIGINT, tell systemd STOPPING=1; the loop's result. */
int asios_daemon_loop(sd_event *e, const char *status);

/*
 * The daemon skeleton: one daemon of one domain (domain.h), its hooks in a spec, the rest here. It parses the
 * command line (conf and conf_d default to the domain's), opens the root, reads the policy (a bad one logged
 * as FILE:LINE, exit 1), sets up the loop with SIGHUP reloading the policy (a bad one keeps the previous),
 * calls open, adds the timer, checks that NEED exists, calls start, plans once ("start"), and then exits
 * (--once: 1 when that plan failed) or runs the loop until SIGTERM; stop ends it.
 */
struct asios_daemon_spec;
struct asios_domain;

struct asios_daemon {
	const struct asios_daemon_spec *spec;
	const struct asios_domain *domain;
	struct asios_daemon_args args;
	struct asios_root *root;
	sd_event *event;
	sd_event_source *timer;
	void *policy;                /* the domain's policy_size bytes; the same address after a reload */
	void *self;                  /* the daemon's own self_size bytes, zeroed at first */
	unsigned replans;            /* asios_daemon_replan() calls */
	const char *status;          /* systemd's STATUS= once ready, when not the spec's (set by a hook) */
};

struct asios_daemon_spec {
	const char *name, *domain;   /* "asios-irqd", "irq" */
	const char *usage;           /* --help: what follows the Usage line (the options are added) */
	const char *need, *need_why; /* a path the daemon cannot run without, and what its absence means */
	const char *status;          /* systemd's STATUS= once ready */
	const char *stopped;         /* the last line after "stopping after N plans"; NULL: stop() says it */
	size_t self_size;
	size_t interval_at;          /* offsetof() the policy's unsigned seconds between ticks */
	/* its own state and event sources beyond the timer, once the policy and the loop are there; a negative
	 * errno: cannot start. stop() follows, also when it failed */
	int (*open)(struct asios_daemon *d);
	/* before the first plan (peers); negative: it said why, exit 1. NULL: nothing */
	int (*start)(struct asios_daemon *d);
	/* observe, plan and apply once, logged; negative when any of it failed. Called by asios_daemon_replan() */
	int (*replan)(struct asios_daemon *d, const char *why);
	/* every interval (USEC: when the timer fired); NULL: asios_daemon_replan(d, "check") */
	void (*tick)(struct asios_daemon *d, uint64_t usec);
	/* the release of what open() set up, after the loop when it RAN (and the last line if not STOPPED) */
	void (*stop)(struct asios_daemon *d, bool ran);
};

/* main() of a daemon: its exit status (0, 1 failed, 2 bad argument). */
int asios_daemon_main(const struct asios_daemon_spec *spec, int argc, char **argv);
/* Count a plan and run SPEC->replan; its result. */
int asios_daemon_replan(struct asios_daemon *d, const char *why);

/*
 * Kernel uevents, as the kernel sends them on NETLINK_KOBJECT_UEVENT's kernel group (whether udevd runs or not):
 * "ACTION@DEVPATH\0KEY=VALUE\0…". asios_uevent_open: a non-blocking socket bound to that group, or -errno.
 * asios_uevent_parse: MSG's ACTION, DEVPATH, SUBSYSTEM and DRIVER ("" when absent), pointing into MSG; -EINVAL
 * when it is not a kernel uevent (udev's own messages start "libudev" and a binary header).
 */
struct asios_uevent {
	const char *action, *devpath, *subsystem, *driver;
};
int asios_uevent_open(void);
int asios_uevent_parse(const char *msg, size_t len, struct asios_uevent *ev);
