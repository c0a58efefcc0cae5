/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asios/config.h"
#include "asios/daemon.h"
#include "asios/domain.h"
#include "asios/health.h"
#include "asios/metrics.h"
#include "asios/plan.h"
#include "asios/root.h"
#include "asios/snapshot.h"

/*
 * One detection pass (health.h): the kernel log, pressure, drift of every applied domain, and tasks that
 * disturb isolated CPUs. Everything is read under the root, so a capture is checked the same way.
 */

#define KMSG_MAX (16u << 20) /* the most of the kernel log one pass reads */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void asios_health_incidents_clear(struct asios_health_incidents *l)
{
	free(l->v);
	*l = (struct asios_health_incidents){ 0 };
}

int asios_health_incident_add(struct asios_health_incidents *l, const struct asios_health_signature *sig,
			      const char *object, double value, const char *fmt, ...)
{
	struct asios_health_incident *v = realloc(l->v, (l->n + 1) * sizeof(*v)), *inc;
	va_list ap;

	if (!v)
		return -ENOMEM;
	l->v = v;
	inc = &v[l->n++];
	*inc = (struct asios_health_incident){ .sig = sig, .value = value, .t = now_s() };
	snprintf(inc->object, sizeof(inc->object), "%s", object);
	va_start(ap, fmt);
	vsnprintf(inc->detail, sizeof(inc->detail), fmt, ap);
	va_end(ap);
	return 0;
}

static void warnf(void (*warn)(void *, const char *), void *userdata, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void warnf(void (*warn)(void *, const char *), void *userdata, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int k;

	if (!warn)
		return;
	va_start(ap, fmt);
	k = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (k >= 0)
		warn(userdata, msg);
	free(msg);
}

/* ---- the kernel log ---- */

bool asios_health_parse_xid(const char *msg, char *pci, size_t pci_size, unsigned *code)
{
	const char *p = strstr(msg, "NVRM: Xid (PCI:"), *end;
	char *e;
	unsigned long v;

	if (!p)
		return false;
	p += strlen("NVRM: Xid (PCI:");
	end = strstr(p, "): ");
	if (!end || end == p || (size_t)(end - p) >= pci_size || (size_t)(end - p) > 16)
		return false;
	for (const char *q = p; q < end; q++)
		if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
			return false;
	if (!isdigit((unsigned char)end[3]))
		return false;
	errno = 0;
	v = strtoul(end + 3, &e, 10);
	if (errno || v == 0 || v > 65535 || (*e && *e != ',' && *e != ' '))
		return false;
	memcpy(pci, p, (size_t)(end - p));
	pci[end - p] = '\0';
	*code = (unsigned)v;
	return true;
}

static const struct asios_health_signature *xid_signature(const struct asios_health_policy *p, unsigned code)
{
	const struct asios_health_signature *any = NULL;

	for (size_t i = 0; i < p->n_sigs; i++) {
		const struct asios_health_signature *s = &p->sigs[i];

		if (s->source != ASIOS_HEALTH_XID)
			continue;
		if (s->xid == code)
			return s;
		if (!s->xid)
			any = s;
	}
	return any;
}

/* a PCI address in the line ("0000:3b:00.0"), for the incident's object */
static bool pci_in(const char *msg, char *out, size_t size)
{
	for (const char *q = msg; *q; q++) {
		int n = 0;
		unsigned a, b, c, d;

		if (sscanf(q, "%4x:%2x:%2x.%1x%n", &a, &b, &c, &d, &n) == 4 && n == 12) {
			snprintf(out, size, "%.12s", q);
			return true;
		}
	}
	return false;
}

/* the same signature on the same object again in this read: one incident, counted (an OOM storm is one) */
static bool repeated(struct asios_health_incidents *out, const struct asios_health_signature *s, const char *object)
{
	for (size_t i = out->n; i-- > 0;)
		if (out->v[i].sig == s && !strcmp(out->v[i].object, object)) {
			out->v[i].repeats++;
			return true;
		}
	return false;
}

static int scan_record(const struct asios_health_policy *p, const char *msg, struct asios_health_incidents *out)
{
	char pci[32], object[96];
	unsigned code;

	if (asios_health_parse_xid(msg, pci, sizeof(pci), &code)) {
		const struct asios_health_signature *s = xid_signature(p, code);

		snprintf(object, sizeof(object), "GPU %s", pci);
		if (s && repeated(out, s, object))
			return 0;
		if (s)
			return asios_health_incident_add(out, s, object, code, "Xid %u: %.280s", code, msg);
	}
	for (size_t i = 0; i < p->n_sigs; i++) {
		const struct asios_health_signature *s = &p->sigs[i];

		if (s->source != ASIOS_HEALTH_KMSG || !s->compiled || regexec(&s->re, msg, 0, NULL, 0))
			continue;
		if (pci_in(msg, pci, sizeof(pci)))
			snprintf(object, sizeof(object), "device %s", pci);
		else
			snprintf(object, sizeof(object), "kernel");
		if (repeated(out, s, object))
			return 0;
		return asios_health_incident_add(out, s, object, 1, "%.300s", msg);
	}
	return 0;
}

int asios_health_scan_kmsg(const struct asios_health_policy *p, const char *text, size_t len,
			   struct asios_kmsg_cursor *cursor, struct asios_health_incidents *out)
{
	const char *q = text, *end = text + len;

	while (q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q)), *semi;
		size_t n = nl ? (size_t)(nl - q) : (size_t)(end - q);
		unsigned long long seq;
		unsigned prio;
		char line[1024];
		int k;

		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, q, n);
		line[n] = '\0';
		q = nl ? nl + 1 : end;
		semi = strchr(line, ';');
		if (line[0] == ' ' || !semi || sscanf(line, "%u,%llu,", &prio, &seq) != 2)
			continue; /* a continuation line (KEY=VALUE), or not a record */
		if (cursor && seq < cursor->next_seq)
			continue;
		if (cursor)
			cursor->next_seq = seq + 1;
		if ((k = scan_record(p, semi + 1, out)) < 0)
			return k;
	}
	return 0;
}

int asios_health_scan_uevent(const struct asios_health_policy *p, const char *msg, size_t len,
			     struct asios_health_incidents *out, bool *added)
{
	struct asios_uevent ev;
	const char *name;
	int k = 0;

	if (added)
		*added = false;
	if (asios_uevent_parse(msg, len, &ev) < 0)
		return -EINVAL;
	name = strrchr(ev.devpath, '/') ? strrchr(ev.devpath, '/') + 1 : ev.devpath;
	if (added)
		*added = !strcmp(ev.action, "add") && (!strcmp(ev.subsystem, "pci") || !strcmp(ev.subsystem, "net")) &&
			 strncmp(ev.devpath, "/devices/virtual/", 17); /* a container's veth has no IRQ to place */
	for (size_t i = 0; i < p->n_sigs && k >= 0; i++) {
		const struct asios_health_signature *sig = &p->sigs[i];
		size_t an = strlen(ev.action);
		char object[96];

		if (sig->source != ASIOS_HEALTH_UEVENT || strncmp(sig->match, ev.action, an) || sig->match[an] != ':' ||
		    strcmp(sig->match + an + 1, ev.subsystem))
			continue;
		snprintf(object, sizeof(object), "%s %s", ev.subsystem, name);
		k = asios_health_incident_add(out, sig, object, 1, "%s %s%s%s", ev.action, ev.devpath,
					      *ev.driver ? " driver " : "", ev.driver);
	}
	return k < 0 ? k : 0;
}

/* the whole log under ROOT: /dev/kmsg gives one record per read() until EAGAIN; a capture's is a file */
static int read_kmsg(struct asios_root *root, char **ret, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	int fd = asios_root_open_file(root, "/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return fd < 0 ? fd : -ENOMEM;
	}
	for (;;) {
		ssize_t k;

		if (cap - n < 8192) {
			char *nb = cap >= KMSG_MAX ? NULL : realloc(buf, cap * 2);

			if (!nb)
				break; /* the rest next pass */
			buf = nb;
			cap *= 2;
		}
		k = read(fd, buf + n, cap - n - 1);
		if (k < 0 && errno == EPIPE)
			continue; /* records overwritten while reading: go on with the next */
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = '\0';
	*ret = buf;
	*len = n;
	return 0;
}

static int detect_kmsg(struct asios_root *root, const struct asios_health_policy *p,
		       struct asios_kmsg_cursor *cursor, struct asios_health_incidents *out,
		       void (*warn)(void *, const char *), void *userdata)
{
	char *text = NULL, *boot = NULL;
	size_t len = 0;
	int k;

	if (cursor && asios_read_line(root, "/proc/sys/kernel/random/boot_id", &boot) >= 0) {
		if (strcmp(cursor->boot_id, boot)) {
			snprintf(cursor->boot_id, sizeof(cursor->boot_id), "%s", boot);
			cursor->next_seq = 0;
		}
		free(boot);
	}
	if ((k = read_kmsg(root, &text, &len)) < 0) {
		if (k != -ENOENT)
			warnf(warn, userdata, "/dev/kmsg: %s: the kernel log is not checked", strerror(-k));
		return 0;
	}
	k = asios_health_scan_kmsg(p, text, len, cursor, out);
	free(text);
	return k;
}

/* ---- pressure ---- */

static int detect_psi(struct asios_root *root, const struct asios_health_policy *p, struct asios_health_incidents *out,
		      void (*warn)(void *, const char *), void *userdata)
{
	for (size_t i = 0; i < p->n_sigs; i++) {
		const struct asios_health_signature *s = &p->sigs[i];
		char path[64], *text = NULL, *avg;
		double v;
		int k;

		if (s->source != ASIOS_HEALTH_PSI)
			continue;
		snprintf(path, sizeof(path), "/proc/pressure/%s", s->match);
		if ((k = asios_read_line(root, path, &text)) < 0) {
			if (k != -ENOENT)
				warnf(warn, userdata, "%s: %s", path, strerror(-k));
			continue;
		}
		avg = strncmp(text, "some ", 5) ? NULL : strstr(text, "avg10=");
		if (!avg || sscanf(avg + 6, "%lf", &v) != 1)
			warnf(warn, userdata, "%s: not a pressure line: \"%.60s\"", path, text);
		else if (v >= s->threshold && (k = asios_health_incident_add(out, s, s->match, v,
				"%s pressure: some avg10=%.2f%% (threshold %.2f%%)", s->match, v, s->threshold)) < 0) {
			free(text);
			return k;
		}
		free(text);
	}
	return 0;
}

/* ---- drift: the domains whose journal says they are applied ---- */

static void drift_detail(const struct asios_plan *plan, char *buf, size_t size)
{
	size_t off = 0;

	for (size_t i = 0; i < plan->n_actions && i < 3 && off < size; i++) {
		const struct asios_action *a = &plan->actions[i];
		int k = snprintf(buf + off, size - off, "%s%s: %s → %s", i ? "; " : "", a->object,
				 a->old_value ? a->old_value : "(none)", a->new_value ? a->new_value : "(removed)");

		off += k > 0 ? (size_t)k : 0;
	}
	if (plan->n_actions > 3 && off < size)
		snprintf(buf + off, size - off, "; %zu more", plan->n_actions - 3);
}

static int drift_one(struct asios_root *root, const char *root_path, const struct asios_snapshot *s,
		     const struct asios_domain *d, const struct asios_health_signature *sig,
		     struct asios_health_incidents *out, void (*warn)(void *, const char *), void *userdata)
{
	struct asios_domain_run run = { 0 };
	char object[96], detail[300], *error = NULL;
	int k = 0;

	if (!asios_exists(root, d->journal))
		return 0; /* not applied: nothing to drift from */
	if (asios_domain_plan_at(d, root, root_path, s, &run, &error) < 0)
		warnf(warn, userdata, "%s: %s", d->name, error ? error : "policy unreadable");
	else if (run.plan->n_actions) {
		snprintf(object, sizeof(object), "domain %s", d->name);
		drift_detail(run.plan, detail, sizeof(detail));
		k = asios_health_incident_add(out, sig, object, (double)run.plan->n_actions,
					      "%zu change%s from its policy: %s", run.plan->n_actions,
					      run.plan->n_actions == 1 ? "" : "s", detail);
	}
	free(error);
	asios_domain_run_clear(&run);
	return k;
}

static int detect_drift(struct asios_root *root, const char *root_path, const struct asios_snapshot *s,
			const struct asios_health_policy *p, struct asios_health_incidents *out,
			void (*warn)(void *, const char *), void *userdata)
{
	size_t n;
	const struct asios_domain *const *d = asios_domains(&n);

	for (size_t i = 0; i < p->n_sigs; i++) {
		const struct asios_health_signature *sig = &p->sigs[i];

		if (sig->source != ASIOS_HEALTH_DRIFT)
			continue;
		for (size_t j = 0; j < n; j++) {
			int k;

			if (sig->match && *sig->match && strcmp(sig->match, d[j]->name))
				continue;
			if ((k = drift_one(root, root_path, s, d[j], sig, out, warn, userdata)) < 0)
				return k;
		}
	}
	return 0;
}

/* ---- tasks on isolated CPUs ---- */

struct task {
	char comm[64];
	char state;
	unsigned flags;
	int cpu;
};

/* /proc/PID[/task/TID]/stat: comm, state (field 3), flags (9), processor (39); false when it is not that */
static bool task_stat(struct asios_root *root, const char *path, struct task *t)
{
	char *line = NULL, *open_p, *close_p, *save = NULL, *tok;
	int field = 3;
	bool ok = false;

	if (asios_read_line(root, path, &line) < 0)
		return false;
	open_p = strchr(line, '(');
	close_p = strrchr(line, ')');
	if (open_p && close_p && close_p > open_p) {
		snprintf(t->comm, sizeof(t->comm), "%.*s", (int)(close_p - open_p - 1), open_p + 1);
		t->cpu = -1;
		for (tok = strtok_r(close_p + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
			if (field == 3)
				t->state = tok[0];
			else if (field == 9)
				t->flags = (unsigned)strtoul(tok, NULL, 10);
			else if (field == 39) {
				t->cpu = atoi(tok);
				ok = true;
				break;
			}
		}
	}
	free(line);
	return ok;
}

static bool in_slice(struct asios_root *root, long pid, const char *slice)
{
	char path[64], *text = NULL, needle[128];
	size_t len;
	bool in;

	if (!slice || !*slice)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/cgroup", pid);
	if (asios_read_file(root, path, &text, &len) < 0)
		return false;
	snprintf(needle, sizeof(needle), "/%s", slice);
	in = strstr(text, needle) != NULL;
	free(text);
	return in;
}

#define PF_KTHREAD 0x00200000u

static int isolation_task(struct asios_root *root, const struct asios_snapshot *s, const struct asios_health_signature *sig,
			  long pid, long tid, const char *path, struct asios_health_incidents *out)
{
	struct task t = { 0 };
	char object[32];
	int k;

	if (!task_stat(root, path, &t) || t.state != 'R' || (t.flags & PF_KTHREAD) || t.cpu < 0 ||
	    !hwloc_bitmap_isset(s->isolation.isolated, (unsigned)t.cpu))
		return 0;
	snprintf(object, sizeof(object), "cpu %d", t.cpu);
	k = asios_health_incident_add(out, sig, object, 1, "task %ld (%s) of process %ld runs on isolated CPU %d",
				      tid, t.comm, pid, t.cpu);
	if (k >= 0) {
		out->v[out->n - 1].pid = (int)tid;
		out->v[out->n - 1].cpu = (unsigned)t.cpu;
	}
	return k;
}

static int isolation_process(struct asios_root *root, const struct asios_snapshot *s,
			     const struct asios_health_signature *sig, long pid, struct asios_health_incidents *out)
{
	char path[96], **tids = NULL;
	int k = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	if (asios_list_dir(root, path, &tids) < 0) {
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		return isolation_task(root, s, sig, pid, pid, path, out);
	}
	for (size_t i = 0; tids[i] && k >= 0; i++) {
		long tid = strtol(tids[i], NULL, 10);

		snprintf(path, sizeof(path), "/proc/%ld/task/%ld/stat", pid, tid);
		if (tid > 0)
			k = isolation_task(root, s, sig, pid, tid, path, out);
	}
	asios_strv_free(tids);
	return k;
}

static int detect_isolation(struct asios_root *root, const struct asios_snapshot *s,
			    const struct asios_health_policy *p, struct asios_health_incidents *out)
{
	const struct asios_health_signature *sig = NULL;
	char **pids = NULL;
	int k = 0;

	for (size_t i = 0; i < p->n_sigs && !sig; i++)
		if (p->sigs[i].source == ASIOS_HEALTH_ISOLATION)
			sig = &p->sigs[i];
	if (!sig || !s->isolation.isolated || hwloc_bitmap_iszero(s->isolation.isolated))
		return 0;
	if (asios_list_dir(root, "/proc", &pids) < 0)
		return 0;
	for (size_t i = 0; pids[i] && k >= 0; i++) {
		char *end;
		long pid = strtol(pids[i], &end, 10);

		if (*end || pid <= 0 || in_slice(root, pid, p->workload_slice))
			continue;
		k = isolation_process(root, s, sig, pid, out);
	}
	asios_strv_free(pids);
	return k;
}

/* GPU signatures: persistence mode off on an NVIDIA GPU (NVML: the running machine only) */
static int detect_gpu(struct asios_root *root, const struct asios_snapshot *s, const struct asios_health_policy *p,
		      struct asios_health_incidents *out)
{
	const struct asios_health_signature *sig = NULL;
	struct asios_gpu_readings *g;
	int k = 0;

	for (size_t i = 0; i < p->n_sigs && !sig; i++)
		if (p->sigs[i].source == ASIOS_HEALTH_GPU && !strcmp(p->sigs[i].match, "persistence-off"))
			sig = &p->sigs[i];
	if (!sig)
		return 0;
	if (!(g = calloc(1, sizeof(*g))))
		return -ENOMEM;
	asios_gpu_read(root, s, g);
	for (size_t i = 0; i < g->n && k >= 0; i++) {
		char object[32];

		if (!g->g[i].have[ASIOS_GPU_PERSISTENCE] || g->g[i].v[ASIOS_GPU_PERSISTENCE] != 0)
			continue;
		snprintf(object, sizeof(object), "GPU %s", g->g[i].device);
		k = asios_health_incident_add(out, sig, object, 1, "persistence mode is off (%s): the driver tears the "
					      "GPU down when its last client exits", g->g[i].source);
	}
	free(g);
	return k < 0 ? k : 0;
}

int asios_health_detect(struct asios_root *root, const char *root_path, const struct asios_snapshot *s,
			const struct asios_health_policy *p, struct asios_kmsg_cursor *cursor,
			struct asios_health_incidents *out, void (*warn)(void *userdata, const char *msg),
			void *userdata)
{
	struct asios_kmsg_cursor all = { 0 };
	int k;

	if ((k = detect_kmsg(root, p, cursor ? cursor : &all, out, warn, userdata)) < 0 ||
	    (k = detect_psi(root, p, out, warn, userdata)) < 0 ||
	    (k = detect_drift(root, root_path, s, p, out, warn, userdata)) < 0 ||
	    (k = detect_isolation(root, s, p, out)) < 0 || (k = detect_gpu(root, s, p, out)) < 0)
		return k;
	/* units systemd gave up on: only the live machine's manager knows */
	if (root_path && !strcmp(root_path, "/") && (k = asios_health_detect_units(NULL, p, out)) < 0) {
		char msg[160];

		snprintf(msg, sizeof(msg), "systemd: failed units not checked: %s", strerror(-k));
		warn(userdata, msg);
	}
	return 0;
}
