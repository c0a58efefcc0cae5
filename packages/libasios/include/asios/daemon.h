/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * What every ASIOS daemon shares: its command line, its sd-event loop, its SIGHUP reload and re-plan timer.
 * This part is the daemons' edge and prints (usage, version, argument errors, a reload that failed, why a
 * daemon did not start, with journald priority prefixes); the rest of libasios never does.
 */

#include <stdbool.h>
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
