/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asios/cpulist.h"
#include "asios/json.h"
#include "asios/sched-plan.h"
#include "asiosctl.h"
#include "schedwatch.h"
#include "watch.h"

/*
 * asiosctl sched watch: run the eBPF observer for a while and print what each CPU did, and what disturbed the
 * isolated ones. Isolated CPUs are those the kernel isolates (isolcpus, nohz_full) and those schedd.conf
 * isolates, or --cpus.
 */

static void usage(void)
{
	printf("Usage: asiosctl sched watch [--seconds N] [--cpus LIST] [--json] [--config FILE] [--config-dir DIR]\n\n"
	       "Attach the eBPF observer for N seconds (default 5) and report per CPU: context switches, IRQs,\n"
	       "expired timers, local timer interrupts, tick stops and the run-queue latency (wakeup to running:\n"
	       "p50, p99, p99.9, max); then, for the isolated CPUs, every task, kernel thread, IRQ, timer and\n"
	       "workqueue item that ran there, and the disturbances per second of each: device, local timer and\n"
	       "other interrupts, scheduler ticks, preemptions, kernel threads, work items, RCU and timer softirqs\n"
	       "(interrupts from /proc/interrupts, softirqs from /proc/softirqs, the rest from the observer).\n"
	       "Isolated CPUs: the kernel's (isolcpus, nohz_full) and those schedd.conf isolates, or --cpus.\n"
	       "Needs root and a kernel with BTF.\n");
}

static void human(uint64_t ns, char *buf, size_t size)
{
	if (ns >= 1000000)
		snprintf(buf, size, "%.1fms", (double)ns / 1e6);
	else
		snprintf(buf, size, "%.0fus", (double)ns / 1e3);
}

static struct json_object *report_json(const struct asios_schedwatch_report *r, hwloc_const_bitmap_t iso)
{
	struct json_object *o = json_object_new_object(), *cpus = json_object_new_array(), *ev = json_object_new_array();

	if (!o || !cpus || !ev) {
		json_object_put(o);
		json_object_put(cpus);
		json_object_put(ev);
		return NULL;
	}
	json_object_object_add(o, "seconds", json_object_new_double(r->seconds));
	json_object_object_add(o, "isolated", asios_json_cpuset(iso));
	json_object_object_add(o, "local_timer_traced", json_object_new_boolean(r->local_timer));
	for (size_t i = 0; i < r->n_cpus; i++) {
		const struct schedwatch_cpu *c = &r->cpus[i].c;
		struct json_object *x = json_object_new_object(), *lat = json_object_new_object(),
				   *h = json_object_new_array();

		if (!x || !lat || !h) {
			json_object_put(x);
			json_object_put(lat);
			json_object_put(h);
			continue;
		}
		json_object_object_add(x, "cpu", json_object_new_int((int)r->cpus[i].cpu));
		json_object_object_add(x, "isolated", json_object_new_boolean(hwloc_bitmap_isset(iso, r->cpus[i].cpu)));
		json_object_object_add(x, "switches", json_object_new_int64((int64_t)c->switches));
		json_object_object_add(x, "irqs", json_object_new_int64((int64_t)c->irqs));
		json_object_object_add(x, "timers", json_object_new_int64((int64_t)c->timers));
		json_object_object_add(x, "local_timer", json_object_new_int64((int64_t)c->local_timer));
		json_object_object_add(x, "tick_stops", json_object_new_int64((int64_t)c->tick_stops));
		json_object_object_add(x, "preemptions", json_object_new_int64((int64_t)c->preemptions));
		json_object_object_add(x, "kernel_threads", json_object_new_int64((int64_t)c->kthreads));
		json_object_object_add(x, "work_items", json_object_new_int64((int64_t)c->work_items));
		json_object_object_add(x, "wakeups", json_object_new_int64((int64_t)c->lat_count));
		json_object_object_add(lat, "p50", json_object_new_int64((int64_t)asios_schedwatch_percentile(c, 0.5)));
		json_object_object_add(lat, "p99", json_object_new_int64((int64_t)asios_schedwatch_percentile(c, 0.99)));
		json_object_object_add(lat, "p999", json_object_new_int64((int64_t)asios_schedwatch_percentile(c, 0.999)));
		json_object_object_add(lat, "max", json_object_new_int64((int64_t)c->lat_max_ns));
		json_object_object_add(lat, "mean",
				       json_object_new_int64(c->lat_count ? (int64_t)(c->lat_sum_ns / c->lat_count) : 0));
		json_object_object_add(x, "runqueue_latency_ns", lat);
		for (int s = 0; s < SCHEDWATCH_SLOTS; s++)
			json_object_array_add(h, json_object_new_int64((int64_t)c->lat[s]));
		json_object_object_add(x, "histogram_log2_us", h);
		json_object_array_add(cpus, x);
	}
	json_object_object_add(o, "cpus", cpus);
	for (size_t i = 0; i < r->n_events; i++) {
		struct json_object *x = json_object_new_object();

		if (!x)
			continue;
		json_object_object_add(x, "cpu", json_object_new_int((int)r->events[i].cpu));
		json_object_object_add(x, "kind", json_object_new_string(asios_schedwatch_kind_name(r->events[i].kind)));
		json_object_object_add(x, "id", json_object_new_int64((int64_t)r->events[i].id));
		json_object_object_add(x, "name", json_object_new_string(r->events[i].name));
		json_object_object_add(x, "count", json_object_new_int64((int64_t)r->events[i].count));
		json_object_array_add(ev, x);
	}
	json_object_object_add(o, "disturbances", ev);
	return o;
}

static void report_text(const struct asios_schedwatch_report *r, hwloc_const_bitmap_t iso)
{
	char *l = asios_cpulist_format(iso);

	printf("watched %.1f s; isolated CPUs: %s%s\n", r->seconds, l && *l ? l : "none",
	       r->local_timer ? "" : " (no local_timer_entry tracepoint on this architecture)");
	free(l);
	printf("  %-5s %11s %9s %9s %10s %10s %9s %8s %8s %8s %8s\n", "cpu", "switches/s", "irqs/s", "timers/s",
	       "loctimer/s", "tick-stops", "wakeups", "rq p50", "rq p99", "p99.9", "max");
	for (size_t i = 0; i < r->n_cpus; i++) {
		const struct schedwatch_cpu *c = &r->cpus[i].c;
		double t = r->seconds > 0 ? r->seconds : 1;
		char p50[16], p99[16], p999[16], mx[16];

		if (!c->switches && !c->irqs && !c->timers)
			continue; /* offline */
		human(asios_schedwatch_percentile(c, 0.5), p50, sizeof(p50));
		human(asios_schedwatch_percentile(c, 0.99), p99, sizeof(p99));
		human(asios_schedwatch_percentile(c, 0.999), p999, sizeof(p999));
		human(c->lat_max_ns, mx, sizeof(mx));
		printf("%c %-5u %11.0f %9.0f %9.0f %10.0f %10llu %9llu %8s %8s %8s %8s\n",
		       hwloc_bitmap_isset(iso, r->cpus[i].cpu) ? '*' : ' ', r->cpus[i].cpu, (double)c->switches / t,
		       (double)c->irqs / t, (double)c->timers / t, (double)c->local_timer / t,
		       (unsigned long long)c->tick_stops, (unsigned long long)c->lat_count, p50, p99, p999, mx);
	}
	if (hwloc_bitmap_iszero(iso))
		return;
	printf("disturbances of the isolated CPUs (%zu sources):\n", r->n_events);
	for (size_t i = 0; i < r->n_events && i < 30; i++) {
		const struct asios_schedwatch_event *e = &r->events[i];

		if (e->kind == SCHEDWATCH_TASK || e->kind == SCHEDWATCH_KTHREAD)
			printf("  cpu %-4u %-7s %s (pid %llu): %llu switches in\n", e->cpu,
			       e->kind == SCHEDWATCH_TASK ? "task" : "kthread", e->name, (unsigned long long)e->id,
			       (unsigned long long)e->count);
		else if (e->kind == SCHEDWATCH_IRQ)
			printf("  cpu %-4u irq     %llu (%s): %llu\n", e->cpu, (unsigned long long)e->id, e->name,
			       (unsigned long long)e->count);
		else
			printf("  cpu %-4u %-7s %s: %llu\n", e->cpu, e->kind == SCHEDWATCH_WORK ? "work" : "timer", e->name,
			       (unsigned long long)e->count);
	}
}

/* the isolated CPUs: the kernel's and schedd.conf's */
static int isolated_cpus(const char *conf, const char *conf_d, hwloc_bitmap_t iso)
{
	struct asios_sched_policy pol;
	struct asios_sched_layout lay = { 0 };
	struct asios_snapshot *s = load_snapshot("/", NULL);
	int r;

	if (!s)
		return -EIO;
	if (load_sched_policy("/", conf, conf_d, &pol) < 0) {
		asios_snapshot_free(s);
		return -EINVAL;
	}
	r = asios_sched_layout(s, &pol, &lay);
	if (r >= 0) {
		hwloc_bitmap_or(iso, s->isolation.isolated, s->isolation.nohz_full);
		hwloc_bitmap_or(iso, iso, lay.isolated);
	}
	asios_sched_layout_clear(&lay);
	asios_sched_policy_clear(&pol);
	asios_snapshot_free(s);
	return r;
}

/* attach, watch SECONDS with /proc/interrupts and /proc/softirqs read at both ends, report */
static int watch_run(hwloc_const_bitmap_t iso, long seconds, bool json)
{
	struct asios_schedwatch_report rep = { 0 };
	struct disturb_sample a = { 0 }, b = { 0 };
	struct asios_schedwatch *w = NULL;
	int r, ret = 1;

	r = asios_schedwatch_open(iso, &w);
	if (r < 0) {
		log_error("sched watch: cannot load the eBPF observer: %s%s", strerror(-r),
			  r == -ENOTSUP ? " (the kernel has no BTF: /sys/kernel/btf/vmlinux is missing)" :
			  r == -EPERM	? " (needs root: CAP_BPF and CAP_PERFMON)" : "");
		return 1;
	}
	if (disturb_sample_take(&a) < 0)
		goto out;
	sleep((unsigned)seconds);
	if (disturb_sample_take(&b) < 0)
		goto out;
	r = asios_schedwatch_collect(w, &rep);
	if (r < 0) {
		log_error("sched watch: cannot read the observer's maps: %s", strerror(-r));
		goto out;
	}
	if (json) {
		struct json_object *o = report_json(&rep, iso);

		if (!o)
			goto out;
		json_object_object_add(o, "isolated_per_second", disturb_json(&a, &b, &rep, iso));
		print_json(o);
	} else {
		report_text(&rep, iso);
		if (!hwloc_bitmap_iszero(iso))
			disturb_text(&a, &b, &rep, iso);
	}
	ret = 0;
out:
	disturb_sample_clear(&a);
	disturb_sample_clear(&b);
	asios_schedwatch_report_clear(&rep);
	asios_schedwatch_close(w);
	return ret;
}

int sched_watch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' }, { "cpus", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },          { "config", required_argument, NULL, 'c' },
		{ "config-dir", required_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' },
		{},
	};
	const char *conf = NULL, *conf_d = NULL, *cpus = NULL;
	hwloc_bitmap_t iso = hwloc_bitmap_alloc();
	long seconds = 5;
	bool json = false;
	int c, ret = 1;

	if (!iso)
		return 1;
	while ((c = getopt_long(argc, argv, "s:C:jc:d:h", opts, NULL)) != -1) {
		if (empty_option("sched watch", c, optarg)) {
			ret = 2;
			goto out;
		}
		switch (c) {
		case 's': {
			char *end;

			seconds = strtol(optarg, &end, 10);
			if (*end || seconds < 1 || seconds > 86400) {
				log_error("sched watch: --seconds: expected 1 to 86400, got '%s'", optarg);
				ret = 2;
				goto out;
			}
			break;
		}
		case 'C':
			cpus = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'c':
			conf = optarg;
			break;
		case 'd':
			conf_d = optarg;
			break;
		case 'h':
			usage();
			ret = 0;
			goto out;
		default:
			ret = 2;
			goto out;
		}
	}
	if (optind != argc) {
		log_error("sched watch: unexpected argument '%s'", argv[optind]);
		ret = 2;
		goto out;
	}
	if (cpus) {
		if (asios_cpulist_parse(cpus, iso, NULL) < 0) {
			log_error("sched watch: --cpus: not a CPU list: '%s'", cpus);
			ret = 2;
			goto out;
		}
	} else if (isolated_cpus(conf, conf_d, iso) < 0) {
		goto out;
	}
	ret = watch_run(iso, seconds, json);
out:
	hwloc_bitmap_free(iso);
	return ret;
}
