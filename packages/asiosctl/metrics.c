/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asiosctl metrics: the exposition asios-exporter serves (asios/metrics.h), once, of the machine or of a
 * capture, so that a scrape of a capture or a test reads the same numbers as a scrape of the machine.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/metrics.h"
#include "asios/root.h"
#include "asiosctl.h"

static void warn(void *userdata, const char *what)
{
	(void)userdata;
	log_error("metrics: %s", what);
}

static void usage(void)
{
	printf("Usage: asiosctl metrics [--root DIR]\n\n"
	       "Print what ASIOS knows of the machine once, in the Prometheus text format, as asios-exporter serves\n"
	       "it: NUMA nodes and their CPUs and memory, PCI devices by class and node, accelerator-to-NIC PCIe\n"
	       "distances, IRQs off their device's node, isolated and housekeeping CPUs and the interrupts and task\n"
	       "switches that reach the isolated ones, per tuning domain whether it could plan, how many changes a\n"
	       "fresh plan would make (the drift from its policy) and what its applies did, and the ASIOS programs'\n"
	       "own CPU time and memory. --root reads a capture.\n");
}

int verb_metrics(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct asios_metrics_opts o = { .root_path = "/", .warn = warn };
	struct asios_snapshot *s;
	struct asios_root *root;
	int c, r;

	while ((c = getopt_long(argc, argv, "r:h", opts, NULL)) != -1) {
		if (empty_option("metrics", c, optarg))
			return 2;
		if (c == 'r') {
			o.root_path = optarg;
		} else if (c == 'h') {
			usage();
			return 0;
		} else {
			return 2;
		}
	}
	if (optind != argc) {
		log_error("metrics: usage: asiosctl metrics [--root DIR]");
		return 2;
	}
	s = load_snapshot(o.root_path, &root);
	if (!s)
		return 1;
	r = asios_metrics_write(stdout, root, s, &o);
	asios_snapshot_free(s);
	asios_root_free(root);
	return r < 0 ? 1 : 0;
}
