/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/json.h"
#include "asios/sched-plan.h"
#include "asiosctl.h"

static void usage(void)
{
	printf("Usage: asiosctl sched knobs [--profile NAME] [--json]\n"
	       "       asiosctl sched watch [--seconds N] [--cpus LIST] [--json] [--config FILE] [--config-dir DIR]\n\n"
	       "  knobs    the scheduler knobs of the profiles (throughput, latency, inference): value and why\n"
	       "  watch    eBPF observer for N seconds (default 5): run-queue latency per CPU, context switches,\n"
	       "           timers and IRQs, and what disturbed the isolated CPUs (root, a kernel with BTF)\n\n"
	       "The knobs are applied with the rest of the isolation plan: asiosctl isolate apply. See asiosctl(1).\n");
}

static int knobs(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "profile", required_argument, NULL, 'p' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },          {},
	};
	int c, only = -1;
	bool json = false;
	size_t n;
	const struct asios_knob *t = asios_sched_knobs(&n);

	while ((c = getopt_long(argc, argv, "p:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			for (int i = 0; i < _ASIOS_SCHED_PROFILE_MAX; i++)
				if (!strcmp(optarg, asios_sched_profile_name(i)))
					only = i;
			if (only < 0) {
				log_error("sched knobs: unknown profile '%s' (throughput, latency or inference)", optarg);
				return 2;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage();
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		log_error("sched knobs: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (json) {
		struct json_object *a = json_object_new_array();

		for (size_t k = 0; a && k < n; k++) {
			struct json_object *o = json_object_new_object(), *v = json_object_new_object();

			if (!o || !v) {
				json_object_put(o);
				json_object_put(v);
				json_object_put(a);
				return 1;
			}
			json_object_object_add(o, "name", json_object_new_string(t[k].name));
			json_object_object_add(o, "path", json_object_new_string(t[k].path));
			for (int p = 0; p < _ASIOS_SCHED_PROFILE_MAX; p++)
				if (only < 0 || only == p)
					json_object_object_add(v, asios_sched_profile_name(p),
							       t[k].value[p] ? json_object_new_string(t[k].value[p]) : NULL);
			json_object_object_add(o, "values", v);
			json_object_object_add(o, "needs_isolation", json_object_new_boolean(t[k].needs_isolation));
			json_object_object_add(o, "brief", json_object_new_string(t[k].brief));
			json_object_object_add(o, "explain", json_object_new_string(t[k].explain));
			json_object_array_add(a, o);
		}
		if (!a)
			return 1;
		print_json(a);
		return 0;
	}
	for (size_t k = 0; k < n; k++) {
		printf("%s (%s)\n", t[k].name, t[k].path);
		for (int p = 0; p < _ASIOS_SCHED_PROFILE_MAX; p++)
			if (only < 0 || only == p)
				printf("  %-10s %s\n", asios_sched_profile_name(p), t[k].value[p] ? t[k].value[p] : "left alone");
		printf("  why: %s%s\n  %s\n\n", t[k].brief, t[k].needs_isolation ? " (only when CPUs are isolated)" : "",
		       t[k].explain);
	}
	return 0;
}

int verb_sched(int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage();
		return 0;
	}
	if (!strcmp(argv[1], "knobs"))
		return knobs(argc - 1, argv + 1);
	if (!strcmp(argv[1], "watch"))
		return sched_watch(argc - 1, argv + 1);
	log_error("sched: unknown command '%s' (try asiosctl sched --help)", argv[1]);
	return 2;
}
