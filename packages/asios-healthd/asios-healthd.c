/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asios-healthd: detection and self-healing (asios/health.h). Each pass detects (kernel log, PSI, drift of
 * every applied domain, tasks on isolated CPUs, learned baselines, forecasts), hands every new incident to the
 * healing guards and verifies the actions whose window has passed. Between passes the kernel log and PSI
 * triggers wake it at once, and so do link-up events and units systemd gave up on: an Xid line, a memory stall
 * or a crash-looping daemon does not wait for the next interval.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "asios/daemon.h"
#include "asios/health.h"
#include "asios/metrics.h"
#include "asios/root.h"
#include "asios/snapshot.h"

#include "healthd.h"

#define NAME "asios-healthd"

const char *const psi_res[PSI_RESOURCES] = { "memory", "io", "cpu" };

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *prio_prefix(int prio)
{
	switch (prio) {
	case LOG_CRIT: return SD_CRIT;
	case LOG_ERR: return SD_ERR;
	case LOG_WARNING: return SD_WARNING;
	case LOG_NOTICE: return SD_NOTICE;
	default: return SD_INFO;
	}
}

static void log_line(void *userdata, int prio, const char *msg)
{
	(void)userdata;
	fprintf(stderr, "%s%s\n", prio_prefix(prio), msg);
}

static void warn(void *userdata, const char *msg)
{
	log_line(userdata, LOG_WARNING, msg);
}

static int load_policy(struct healthd *h, struct asios_health_policy *p)
{
	char *error = NULL;
	int r = asios_health_policy_read(p, h->signatures, h->args.conf, h->args.conf_d, &error);

	if (r < 0) {
		fprintf(stderr, SD_ERR "%s\n", error ? error : strerror(-r));
		free(error);
	}
	return r;
}

/* ---- learned: baselines and forecasts ---- */

static struct asios_baseline *baseline(struct healthd *h, const char *name)
{
	for (size_t i = 0; i < h->n_baselines; i++)
		if (!strcmp(h->baselines[i].name, name))
			return &h->baselines[i];
	if (h->n_baselines == MAX_SERIES)
		return NULL;
	asios_baseline_init(&h->baselines[h->n_baselines], name, h->policy.baseline_samples);
	return &h->baselines[h->n_baselines++];
}

static struct asios_series *series(struct healthd *h, const char *name)
{
	for (size_t i = 0; i < h->n_series; i++)
		if (!strcmp(h->series[i].name, name))
			return &h->series[i];
	if (h->n_series == MAX_SERIES)
		return NULL;
	asios_series_init(&h->series[h->n_series], name, h->policy.forecast_samples);
	return &h->series[h->n_series++];
}

const struct asios_health_signature *signature_of(struct healthd *h, enum asios_health_source src,
						 const char *match)
{
	for (size_t i = 0; i < h->policy.n_sigs; i++) {
		const struct asios_health_signature *s = &h->policy.sigs[i];

		if (s->source == src && (!match || (s->match && !strcmp(s->match, match))))
			return s;
	}
	return NULL;
}

static void learn(struct healthd *h, const char *name, double t, double x, struct asios_health_incidents *out)
{
	const struct asios_health_signature *sig = signature_of(h, ASIOS_HEALTH_BASELINE, NULL);
	struct asios_baseline *b = sig ? baseline(h, name) : NULL;
	double score, median, mad, level, spread;
	char hour[96] = "";

	if (!b || !asios_baseline_add(b, t, x, &h->policy, &score))
		return;
	asios_baseline_stats(b, &median, &mad);
	if (h->policy.baseline_season &&
	    asios_season_usual(b->season, asios_season_bucket(t), &level, &spread))
		snprintf(hour, sizeof(hour), "; at this hour usually %.4g ± %.4g", level, spread);
	else if (h->policy.baseline_season)
		snprintf(hour, sizeof(hour), "; this hour has fewer than %d days learned", ASIOS_SEASON_MIN_DAYS);
	(void)asios_health_incident_add(out, sig, name, score, "%s = %.4g, usual %.4g ± %.4g (%.1f robust deviations, "
					"%u passes in a row%s)", name, x, median, mad, score,
					h->policy.baseline_persist, hour);
}

/* /proc/stat: interrupts and context switches per second, and PSI avg10 of each resource */
static void learn_pass(struct healthd *h, double t, struct asios_health_incidents *out)
{
	char *text = NULL, *q;
	size_t len;

	if (asios_read_file(h->root, "/proc/stat", &text, &len) >= 0) {
		double intr = (q = strstr(text, "\nintr ")) ? strtod(q + 6, NULL) : NAN;
		double ctxt = (q = strstr(text, "\nctxt ")) ? strtod(q + 6, NULL) : NAN;

		if (h->last_t > 0 && t > h->last_t && intr >= h->last_intr && ctxt >= h->last_ctxt) {
			learn(h, "interrupts_per_second", t, (intr - h->last_intr) / (t - h->last_t), out);
			learn(h, "context_switches_per_second", t, (ctxt - h->last_ctxt) / (t - h->last_t), out);
		}
		h->last_t = t;
		h->last_intr = intr;
		h->last_ctxt = ctxt;
		free(text);
	}
	for (size_t i = 0; i < PSI_RESOURCES; i++) {
		char path[64], name[64], *line = NULL, *avg;
		double v;

		snprintf(path, sizeof(path), "/proc/pressure/%s", psi_res[i]);
		if (asios_read_line(h->root, path, &line) < 0)
			continue;
		snprintf(name, sizeof(name), "psi_%s_some_avg10", psi_res[i]);
		if ((avg = strstr(line, "avg10=")) && sscanf(avg + 6, "%lf", &v) == 1)
			learn(h, name, t, v, out);
		free(line);
	}
}

static void forecast(struct healthd *h, const char *resource, const char *name, double t, double value,
		     struct asios_health_incidents *out)
{
	const struct asios_health_signature *sig = signature_of(h, ASIOS_HEALTH_FORECAST, resource);
	struct asios_series *s = sig ? series(h, name) : NULL;
	double seconds, slope, r2;

	if (!s)
		return;
	asios_series_add(s, t, value);
	/* a line that does not fit (a step: a model loaded, then a plateau) forecasts nothing */
	if (s->n >= h->policy.forecast_samples / 2 && asios_series_exhaustion(s, &seconds, &slope, &r2) &&
	    r2 >= ASIOS_FORECAST_MIN_R2 && seconds <= sig->threshold)
		(void)asios_health_incident_add(out, sig, name, seconds, "%s: %.4g now, falling %.4g per second "
						"(R² %.2f): exhausted in %.0f s", name, value, -slope, r2, seconds);
}

/* each GPU's free memory and its headroom below the temperature where it slows itself down */
static void forecast_gpus(struct healthd *h, const struct asios_snapshot *s, double t,
			  struct asios_health_incidents *out)
{
	struct asios_gpu_readings *g;

	if (!signature_of(h, ASIOS_HEALTH_FORECAST, "gpu-memory") &&
	    !signature_of(h, ASIOS_HEALTH_FORECAST, "gpu-thermal"))
		return;
	if (!(g = calloc(1, sizeof(*g))))
		return;
	asios_gpu_read(h->root, s, g);
	for (size_t i = 0; i < g->n; i++) {
		const struct asios_gpu_reading *r = &g->g[i];
		char name[64];

		if (r->have[ASIOS_GPU_MEM_USED] && r->have[ASIOS_GPU_MEM_TOTAL]) {
			snprintf(name, sizeof(name), "gpu_%s_memory_free_bytes", r->device);
			forecast(h, "gpu-memory", name, t, r->v[ASIOS_GPU_MEM_TOTAL] - r->v[ASIOS_GPU_MEM_USED], out);
		}
		if (r->have[ASIOS_GPU_TEMP] && r->have[ASIOS_GPU_TEMP_LIMIT]) {
			snprintf(name, sizeof(name), "gpu_%s_thermal_headroom_celsius", r->device);
			forecast(h, "gpu-thermal", name, t, r->v[ASIOS_GPU_TEMP_LIMIT] - r->v[ASIOS_GPU_TEMP], out);
		}
	}
	free(g);
}

/* per NUMA node: free memory and free huge pages; the state folder's file system */
static void forecast_pass(struct healthd *h, const struct asios_snapshot *s, double t,
			  struct asios_health_incidents *out)
{
	struct statvfs vfs;
	char path[4096];

	for (size_t i = 0; i < s->n_nodes; i++) {
		char *text = NULL, *q, name[64];
		size_t len;
		unsigned id = s->nodes[i].id;

		snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/meminfo", id);
		if (asios_read_file(h->root, path, &text, &len) < 0)
			continue;
		if ((q = strstr(text, "MemFree:"))) {
			snprintf(name, sizeof(name), "node%u_memory_free_bytes", id);
			forecast(h, "memory", name, t, strtod(q + 8, NULL) * 1024, out);
		}
		if ((q = strstr(text, "HugePages_Total:")) && strtod(q + 16, NULL) > 0 &&
		    (q = strstr(text, "HugePages_Free:"))) {
			snprintf(name, sizeof(name), "node%u_hugepages_free", id);
			forecast(h, "hugepages", name, t, strtod(q + 15, NULL), out);
		}
		free(text);
	}
	snprintf(path, sizeof(path), "%s/var/lib", strcmp(h->args.root, "/") ? h->args.root : "");
	if (statvfs(path, &vfs) == 0)
		forecast(h, "filesystem", "var_lib_free_bytes", t, (double)vfs.f_bavail * (double)vfs.f_frsize, out);
	forecast_gpus(h, s, t, out);
}

/* the learned baselines (close to 100 KiB with their seasons) at most once a minute, and at stop (NOW) */
#define BASELINES_SAVE_EVERY 60
static void baselines_save(struct healthd *h, bool now)
{
	char *text = NULL;
	size_t len = 0;
	double t = now_s();
	FILE *f;

	if (h->args.dry_run || (!now && t - h->baselines_saved < BASELINES_SAVE_EVERY))
		return;
	h->baselines_saved = t;
	if (!(f = open_memstream(&text, &len)))
		return;
	for (size_t i = 0; i < h->n_baselines; i++)
		(void)asios_baseline_write(&h->baselines[i], f);
	if (fclose(f) == 0 && asios_mkdirs(h->root, ASIOS_HEALTH_DIR, 0755) >= 0)
		(void)asios_write_whole(h->root, ASIOS_HEALTH_DIR "/baselines", text);
	free(text);
}

static void baselines_load(struct healthd *h)
{
	char *text = NULL, *save = NULL, *line;
	size_t len, no = 0;

	if (asios_read_file(h->root, ASIOS_HEALTH_DIR "/baselines", &text, &len) < 0)
		return;
	for (line = strtok_r(text, "\n", &save); line && h->n_baselines < MAX_SERIES;
	     line = strtok_r(NULL, "\n", &save)) {
		no++;
		if (!strncmp(line, "season ", 7)) { /* the seasonal model of the baseline just read */
			if (!h->n_baselines || asios_baseline_parse_season(&h->baselines[h->n_baselines - 1], line) < 0)
				fprintf(stderr, SD_WARNING "%s/baselines:%zu: not a seasonal model of the baseline "
					"before it; its hours are learned again\n", ASIOS_HEALTH_DIR, no);
			continue;
		}
		if (asios_baseline_parse(&h->baselines[h->n_baselines], line, h->policy.baseline_samples) < 0)
			fprintf(stderr, SD_WARNING "%s/baselines:%zu: not a baseline; it is learned again\n",
				ASIOS_HEALTH_DIR, no);
		else
			h->n_baselines++;
	}
	free(text);
	if (h->n_baselines)
		fprintf(stderr, SD_INFO "%zu learned baselines kept from before\n", h->n_baselines);
}

/* ---- one pass ---- */

static bool is_event(const struct asios_health_incident *inc)
{
	return inc->sig->source == ASIOS_HEALTH_KMSG || inc->sig->source == ASIOS_HEALTH_XID ||
	       inc->sig->source == ASIOS_HEALTH_UEVENT;
}

/* a kernel-log event handled less than EVENT_HOLDOFF seconds ago (an OOM or AER storm): true, only counted */
static bool held_off(struct healthd *h, const struct asios_health_incident *inc, double now)
{
	char key[160];
	size_t oldest = 0;

	snprintf(key, sizeof(key), "%s\t%s", inc->sig->name, inc->object);
	for (size_t i = 0; i < MAX_EVENTS; i++) {
		if (!strcmp(h->events[i].key, key)) {
			if (now - h->events[i].at < EVENT_HOLDOFF)
				return true;
			h->events[i].at = now;
			return false;
		}
		if (h->events[i].at < h->events[oldest].at)
			oldest = i;
	}
	snprintf(h->events[oldest].key, sizeof(h->events[oldest].key), "%s", key);
	h->events[oldest].at = now;
	return false;
}

/*
 * A lasting condition (drift, pressure, a task on an isolated CPU) is one incident from when it appears until it
 * has not been seen for two intervals: a PSI trigger and the next pass's avg10 may disagree for a while, and a
 * condition at the edge of its threshold must not become an incident per pass. True: it was open already.
 */
static bool still_open(struct healthd *h, const struct asios_health_incident *inc, double now)
{
	char key[200];
	size_t i;

	snprintf(key, sizeof(key), "%s\t%s", inc->sig->name, inc->object);
	for (i = 0; i < h->n_open; i++)
		if (!strcmp(h->open[i].key, key)) {
			h->open[i].last_seen = now;
			return true;
		}
	if (h->n_open < MAX_OPEN) {
		snprintf(h->open[h->n_open].key, sizeof(h->open[0].key), "%s", key);
		h->open[h->n_open++].last_seen = now;
	}
	return false;
}

static void close_ended(struct healthd *h, double now)
{
	size_t n = 0;

	for (size_t i = 0; i < h->n_open; i++)
		if (now - h->open[i].last_seen <= 2.0 * h->policy.interval)
			h->open[n++] = h->open[i];
	h->n_open = n;
}

/*
 * The incidents new in this pass: kernel-log events (but a storm's repeats), and lasting conditions not open. A
 * pass with a CAUSE (a link up, a device added) has one for drift: a NIC's IRQs reset or new are drift again even
 * while the last re-apply's drift is open or awaits verification.
 */
void handle(struct healthd *h, const struct asios_snapshot *s, struct asios_health_incidents *l, bool full,
	    const char *cause)
{
	struct asios_heal_ctx c = { .root = h->root, .root_path = h->args.root, .snapshot = s, .policy = &h->policy,
				    .state = &h->state, .now = now_s(), .log = log_line, .userdata = h };
	struct asios_kmsg_cursor cursor = h->state.cursor; /* this pass's, ahead of the file's */
	char *bad = NULL;

	/* the state as on disk: `asiosctl health reset` may have closed the breaker since the last pass */
	if (asios_health_state_read(h->root, &h->state, &bad) < 0) {
		fprintf(stderr, SD_WARNING "%s: starting from a fresh state\n", bad ? bad : "state unreadable");
		free(bad);
	}
	h->state.cursor = cursor;
	for (size_t i = 0; i < l->n; i++) {
		bool event = is_event(&l->v[i]);

		c.cause = cause && l->v[i].sig->source == ASIOS_HEALTH_DRIFT ? cause : NULL;
		if (event ? held_off(h, &l->v[i], c.now) : still_open(h, &l->v[i], c.now) && !c.cause) {
			if (event && !h->args.dry_run)
				asios_health_repeat(&c, &l->v[i]);
			continue;
		}
		h->incidents++;
		if (h->args.dry_run)
			log_line(h, LOG_WARNING, l->v[i].detail);
		else
			(void)asios_health_heal(&c, &l->v[i]);
	}
	if (full) {
		if (!h->args.dry_run)
			(void)asios_health_verify(&c, l);
		close_ended(h, c.now);
	}
	if (!h->args.dry_run && asios_health_state_write(h->root, &h->state) < 0)
		fprintf(stderr, SD_WARNING "%s/state: cannot be written\n", ASIOS_HEALTH_DIR);
}

int pass(struct healthd *h, const char *why, const char *cause)
{
	struct asios_health_incidents l = { 0 };
	struct asios_snapshot *s = NULL;
	char *why_not = NULL;
	double t = now_s();
	int r = asios_snapshot_load_why(h->root, &s, &why_not);

	if (r < 0) {
		fprintf(stderr, SD_ERR "%s: cannot read the machine: %s\n", why, why_not ? why_not : strerror(-r));
		free(why_not);
		return r;
	}
	r = asios_health_detect(h->root, h->args.root, s, &h->policy, &h->state.cursor, &l, warn, h);
	if (r >= 0) {
		learn_pass(h, t, &l);
		forecast_pass(h, s, t, &l);
		handle(h, s, &l, true, cause);
		baselines_save(h, false);
	}
	h->passes++;
	if (!strcmp(why, "start"))
		fprintf(stderr, SD_INFO "start: %zu incident%s, %zu signatures\n", l.n, l.n == 1 ? "" : "s",
			h->policy.n_sigs);
	asios_health_incidents_clear(&l);
	asios_snapshot_free(s);
	return r;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct healthd *h = userdata;

	(void)pass(h, "check", NULL);
	asios_daemon_rearm(src, usec, h->policy.interval);
	return 0;
}

static int reload(void *userdata)
{
	struct healthd *h = userdata;
	struct asios_health_policy p;

	if (load_policy(h, &p) < 0)
		return -EINVAL;
	asios_health_policy_clear(&h->policy);
	h->policy = p;
	return pass(h, "reload", NULL);
}

static void usage(void)
{
	printf("Usage: " NAME " [--root DIR] [--config FILE] [--config-dir DIR] [--once] [--dry-run]\n\n"
	       "Detects incidents (the kernel log with NVIDIA's Xid catalogue, machine checks, EDAC, PCIe AER, NVMe,\n"
	       "hung tasks and lockups; PSI; the drift of every applied domain; tasks outside the workload on isolated\n"
	       "CPUs; metrics off their learned baselines; resources forecast to run out; GPUs without persistence\n"
	       "mode; devices removed under the running machine) and heals through the\n"
	       "plan/apply engine where %s opts a signature in, behind a rate limit, a circuit breaker\n"
	       "and a rollback of every action whose incident did not go away. Advising is the default.\n\n"
	       "  --once      one pass, then exit\n"
	       "  --dry-run   detect and log, never act or record\n"
	       "The signatures are read from %s (or the environment's ASIOS_HEALTH_SIGNATURES).\n",
	       ASIOS_HEALTH_CONF, ASIOS_HEALTH_SIGNATURES);
}

static void cleanup(struct healthd *h)
{
	sd_event_source_unref(h->timer);
	unwatch_live(h);
	sd_event_unref(h->event);
	for (size_t i = 0; i < h->n_baselines; i++)
		asios_baseline_clear(&h->baselines[i]);
	for (size_t i = 0; i < h->n_series; i++)
		asios_series_clear(&h->series[i]);
	asios_health_policy_clear(&h->policy);
	asios_root_free(h->root);
	if (h->lock_fd >= 0)
		close(h->lock_fd);
}

/* one asios-healthd per root: a second would race on the state, the baselines and the kernel-log cursor (a
 * dry run records nothing and needs no lock) */
static int lock_root(struct healthd *h)
{
	int r;

	if (h->args.dry_run)
		return 0;
	if ((r = asios_mkdirs(h->root, ASIOS_HEALTH_DIR, 0755)) < 0 ||
	    (r = h->lock_fd = asios_root_open_file(h->root, ASIOS_HEALTH_DIR "/lock", O_RDWR | O_CREAT)) < 0) {
		fprintf(stderr, SD_ERR "%s/lock: %s\n", ASIOS_HEALTH_DIR, strerror(-r));
		return r;
	}
	if (flock(h->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		fprintf(stderr, SD_ERR "%s/lock under %s: %s\n", ASIOS_HEALTH_DIR, h->args.root,
			r == -EWOULDBLOCK ? "another asios-healthd runs on this root" : strerror(-r));
		return r;
	}
	return 0;
}

static int start(struct healthd *h)
{
	char *bad = NULL;
	int r;

	if (load_policy(h, &h->policy) < 0)
		return -EINVAL;
	if ((r = asios_root_open(h->args.root, &h->root)) < 0 || (r = lock_root(h)) < 0)
		return r;
	if (asios_health_state_read(h->root, &h->state, &bad) < 0) {
		fprintf(stderr, SD_WARNING "%s: starting from a fresh state\n", bad ? bad : "state unreadable");
		free(bad);
	}
	baselines_load(h);
	if ((r = asios_daemon_event(&h->event, reload, h)) < 0)
		return r;
	return 0;
}

int main(int argc, char **argv)
{
	struct healthd h = { .args = { .conf = ASIOS_HEALTH_CONF, .conf_d = ASIOS_HEALTH_CONF_D }, .kmsg_fd = -1,
			     .psi_fd = { -1, -1, -1 }, .link_fd = -1, .uevent_fd = -1, .lock_fd = -1 };
	int r;

	h.signatures = asios_health_signatures_path();
	if ((r = asios_daemon_parse_args(NAME, argc, argv, usage, &h.args)) >= 0)
		return r;
	if ((r = start(&h)) < 0) {
		cleanup(&h);
		return asios_daemon_start_failed(NAME, r);
	}
	r = pass(&h, "start", NULL);
	if (!h.args.once) {
		watch_live(&h);
		if ((r = asios_daemon_add_timer(h.event, &h.timer, h.policy.interval, on_timer, &h)) >= 0)
			r = asios_daemon_loop(h.event, "watching: kernel log, pressure, links, units, drift, isolated CPUs");
		fprintf(stderr, SD_INFO "stopping after %u passes, %u incidents\n", h.passes, h.incidents);
	}
	baselines_save(&h, true);
	cleanup(&h);
	return r < 0 ? 1 : 0;
}
