/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The loader of schedwatch.bpf.c: open the skeleton, size the per-CPU array to the possible CPUs, load, mark
 * the isolated CPUs, attach each raw tracepoint (local_timer_entry only where it exists), then read and reset
 * the counters on demand. Library code: returns a negative errno, never logs (libbpf's own messages are
 * silenced unless ASIOS_BPF_DEBUG is set).
 */
#define _GNU_SOURCE
#include "schedwatch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "schedwatch.skel.h"

struct asios_schedwatch {
	struct schedwatch *skel;
	int ncpus;
	struct schedwatch_cpu *prev;   /* totals at the previous collect */
	struct timespec prev_time;
	bool local_timer;
};

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!getenv("ASIOS_BPF_DEBUG"))
		return 0;
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

const char *asios_schedwatch_kind_name(enum schedwatch_kind k)
{
	return k == SCHEDWATCH_TASK	 ? "task" :
	       k == SCHEDWATCH_IRQ	 ? "irq" :
	       k == SCHEDWATCH_TIMER	 ? "timer" :
	       k == SCHEDWATCH_KTHREAD ? "kthread" :
	       k == SCHEDWATCH_WORK	 ? "work" :
					   "?";
}

void asios_schedwatch_close(struct asios_schedwatch *w)
{
	if (!w)
		return;
	schedwatch__destroy(w->skel);
	free(w->prev);
	free(w);
}

int asios_schedwatch_open(hwloc_const_bitmap_t isolated, struct asios_schedwatch **ret)
{
	struct asios_schedwatch *w;
	struct bpf_program *prog;
	int r;

	if (access("/sys/kernel/btf/vmlinux", R_OK) < 0)
		return -ENOTSUP;
	libbpf_set_print(quiet);
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->ncpus = libbpf_num_possible_cpus();
	if (w->ncpus <= 0) {
		r = w->ncpus < 0 ? w->ncpus : -EINVAL;
		goto fail;
	}
	w->prev = calloc((size_t)w->ncpus, sizeof(*w->prev));
	w->skel = schedwatch__open();
	if (!w->prev || !w->skel) {
		r = w->skel ? -ENOMEM : (errno ? -errno : -ENOMEM);
		goto fail;
	}
	if ((r = bpf_map__set_max_entries(w->skel->maps.cpus, (__u32)w->ncpus)) < 0 ||
	    (r = bpf_map__set_max_entries(w->skel->maps.isolated, (__u32)w->ncpus)) < 0)
		goto fail;
	r = schedwatch__load(w->skel);
	if (r < 0)
		goto fail;
	if (isolated) {
		unsigned c;

		hwloc_bitmap_foreach_begin(c, isolated) {
			__u8 one = 1;
			__u32 key = c;

			if ((int)c < w->ncpus && bpf_map__update_elem(w->skel->maps.isolated, &key, sizeof(key), &one,
								     sizeof(one), BPF_ANY) < 0) {
				r = -errno;
				goto fail;
			}
		} hwloc_bitmap_foreach_end();
	}
	bpf_object__for_each_program(prog, w->skel->obj) {
		struct bpf_link *link = bpf_program__attach(prog);
		bool optional = prog == w->skel->progs.on_local_timer;

		if (!link) {
			r = -errno;
			if (optional)
				continue; /* not x86: no such tracepoint */
			goto fail;
		}
		if (prog == w->skel->progs.on_wakeup)
			w->skel->links.on_wakeup = link;
		else if (prog == w->skel->progs.on_wakeup_new)
			w->skel->links.on_wakeup_new = link;
		else if (prog == w->skel->progs.on_switch)
			w->skel->links.on_switch = link;
		else if (prog == w->skel->progs.on_irq)
			w->skel->links.on_irq = link;
		else if (prog == w->skel->progs.on_hrtimer)
			w->skel->links.on_hrtimer = link;
		else if (prog == w->skel->progs.on_local_timer) {
			w->skel->links.on_local_timer = link;
			w->local_timer = true;
		} else if (prog == w->skel->progs.on_work)
			w->skel->links.on_work = link;
		else
			w->skel->links.on_tick_stop = link;
	}
	clock_gettime(CLOCK_MONOTONIC, &w->prev_time);
	*ret = w;
	return 0;
fail:
	asios_schedwatch_close(w);
	return r < 0 ? r : -EINVAL;
}

void asios_schedwatch_report_clear(struct asios_schedwatch_report *r)
{
	free(r->cpus);
	free(r->events);
	memset(r, 0, sizeof(*r));
}

static int by_count(const void *a, const void *b)
{
	const struct asios_schedwatch_event *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	if (x->cpu != y->cpu)
		return x->cpu < y->cpu ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* kernel symbol names of the timer and work functions among the events (kallsyms; root sees the addresses) */
static void name_timers(struct asios_schedwatch_event *ev, size_t n)
{
	char line[512];
	FILE *f;

	for (size_t i = 0; i < n; i++)
		if ((ev[i].kind == SCHEDWATCH_TIMER || ev[i].kind == SCHEDWATCH_WORK) && !ev[i].name[0])
			snprintf(ev[i].name, sizeof(ev[i].name), "0x%llx", (unsigned long long)ev[i].id);
	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char type, sym[256];

		if (sscanf(line, "%llx %c %255s", &addr, &type, sym) != 3 || !addr)
			continue;
		for (size_t i = 0; i < n; i++)
			if ((ev[i].kind == SCHEDWATCH_TIMER || ev[i].kind == SCHEDWATCH_WORK) && ev[i].id == addr)
				snprintf(ev[i].name, sizeof(ev[i].name), "%s", sym);
	}
	fclose(f);
}

int asios_schedwatch_collect(struct asios_schedwatch *w, struct asios_schedwatch_report *rep)
{
	struct schedwatch_key key, next, *cur = NULL;
	struct timespec now;
	size_t cap = 0;
	int fd;

	memset(rep, 0, sizeof(*rep));
	rep->local_timer = w->local_timer;
	clock_gettime(CLOCK_MONOTONIC, &now);
	rep->seconds = (double)(now.tv_sec - w->prev_time.tv_sec) + (double)(now.tv_nsec - w->prev_time.tv_nsec) / 1e9;
	w->prev_time = now;
	rep->cpus = calloc((size_t)w->ncpus, sizeof(*rep->cpus));
	if (!rep->cpus)
		return -ENOMEM;
	for (int i = 0; i < w->ncpus; i++) {
		struct schedwatch_cpu v, *p = &w->prev[i], *d = &rep->cpus[i].c;
		__u32 k = (__u32)i;

		if (bpf_map__lookup_elem(w->skel->maps.cpus, &k, sizeof(k), &v, sizeof(v), 0) < 0) {
			int r = -errno;

			asios_schedwatch_report_clear(rep);
			return r;
		}
		rep->cpus[i].cpu = (unsigned)i;
		for (int s = 0; s < SCHEDWATCH_SLOTS; s++)
			d->lat[s] = v.lat[s] - p->lat[s];
		d->lat_count = v.lat_count - p->lat_count;
		d->lat_sum_ns = v.lat_sum_ns - p->lat_sum_ns;
		d->lat_max_ns = v.lat_max_ns; /* the maximum since the open */
		d->switches = v.switches - p->switches;
		d->irqs = v.irqs - p->irqs;
		d->timers = v.timers - p->timers;
		d->local_timer = v.local_timer - p->local_timer;
		d->tick_stops = v.tick_stops - p->tick_stops;
		d->preemptions = v.preemptions - p->preemptions;
		d->kthreads = v.kthreads - p->kthreads;
		d->work_items = v.work_items - p->work_items;
		*p = v;
	}
	rep->n_cpus = (size_t)w->ncpus;
	/* the sources: read, then deleted, so the next collect counts afresh */
	fd = bpf_map__fd(w->skel->maps.sources);
	while (bpf_map_get_next_key(fd, cur, &next) == 0) {
		struct schedwatch_source s;

		key = next;
		cur = &key;
		if (bpf_map_lookup_elem(fd, &key, &s) < 0)
			continue;
		if (rep->n_events == cap) {
			struct asios_schedwatch_event *e = realloc(rep->events, (cap = cap ? 2 * cap : 64) * sizeof(*e));

			if (!e) {
				asios_schedwatch_report_clear(rep);
				return -ENOMEM;
			}
			rep->events = e;
		}
		rep->events[rep->n_events++] = (struct asios_schedwatch_event){
			.cpu = key.cpu, .kind = (enum schedwatch_kind)key.kind, .id = key.id, .count = s.count,
		};
		snprintf(rep->events[rep->n_events - 1].name, sizeof(rep->events[0].name), "%.*s", (int)sizeof(s.name),
			 s.name);
	}
	for (size_t i = 0; i < rep->n_events; i++) {
		key = (struct schedwatch_key){ rep->events[i].cpu, rep->events[i].kind, rep->events[i].id };
		(void)bpf_map_delete_elem(fd, &key);
	}
	name_timers(rep->events, rep->n_events);
	if (rep->n_events)
		qsort(rep->events, rep->n_events, sizeof(*rep->events), by_count);
	return 0;
}

uint64_t asios_schedwatch_percentile(const struct schedwatch_cpu *c, double q)
{
	uint64_t seen = 0, want;

	if (!c->lat_count)
		return 0;
	want = (uint64_t)((double)c->lat_count * q);
	if (want >= c->lat_count)
		want = c->lat_count - 1;
	for (int s = 0; s < SCHEDWATCH_SLOTS; s++) {
		seen += c->lat[s];
		if (seen > want)
			return s == SCHEDWATCH_SLOTS - 1 ? c->lat_max_ns : (1ull << s) * 1000;
	}
	return c->lat_max_ns;
}
