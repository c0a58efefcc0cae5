/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * What every ASIOS daemon shares: its command line and its sd-event loop. The argument parser is for the
 * program's edge and prints (usage, version, errors); the rest of libasios never does.
 */

#include <stdbool.h>
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
 * The default event loop with SIGTERM and SIGINT ending it, SIGHUP calling ON_HUP(USERDATA), and the systemd
 * watchdog fed when WATCHDOG_USEC asks for it. Negative errno on failure.
 */
int asios_daemon_event(sd_event **ret, sd_event_signal_handler_t on_hup, void *userdata);
