/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include "asios/daemon.h"

#ifndef ASIOS_VERSION
#define ASIOS_VERSION "0.1"
#endif

int asios_daemon_parse_args(const char *name, int argc, char **argv, void (*usage)(void), struct asios_daemon_args *a)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' }, { "config", required_argument, NULL, 'c' },
		{ "config-dir", required_argument, NULL, 'd' }, { "once", no_argument, NULL, '1' },
		{ "dry-run", no_argument, NULL, 'n' },   { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },   {},
	};
	int c;

	if (!a->root)
		a->root = "/";
	while ((c = getopt_long(argc, argv, "r:c:d:nh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			a->root = optarg;
			break;
		case 'c':
			a->conf = optarg;
			break;
		case 'd':
			a->conf_d = optarg;
			break;
		case '1':
			a->once = true;
			break;
		case 'n':
			a->dry_run = true;
			break;
		case 'h':
			usage();
			return 0;
		case 'V':
			printf("%s %s\n", name, ASIOS_VERSION);
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", name, argv[optind]);
		return 2;
	}
	return -1;
}

int asios_daemon_event(sd_event **ret, sd_event_signal_handler_t on_hup, void *userdata)
{
	sd_event *e = NULL;
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((r = sd_event_default(&e)) < 0)
		return r;
	if ((r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL)) < 0 ||
	    (r = sd_event_add_signal(e, NULL, SIGINT, NULL, NULL)) < 0 ||
	    (r = sd_event_add_signal(e, NULL, SIGHUP, on_hup, userdata)) < 0 || (r = sd_event_set_watchdog(e, true)) < 0) {
		sd_event_unref(e);
		return r;
	}
	*ret = e;
	return 0;
}
