/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asios-numad: keeps accelerator workloads on the CPUs and memory of their accelerators' NUMA nodes.
 *
 * Skeleton (asios_daemon_main(), daemon.h): parse arguments → load numad.conf (+ drop-ins) → listen to the proc
 * connector (open) → stand down while numad runs unless told to take over (start) → first plan + apply →
 * sd_notify(READY=1) → sd_event_loop(). New processes are learnt
 * from the kernel's proc connector (NETLINK_CONNECTOR, PROC_EVENT_EXEC): `settle` seconds after an exec (a
 * process opens its GPU after it starts) the processes that started are looked at, in batches (the socket is not
 * watched while some wait: about one wake-up a second under a stream of execs), and the machine is re-planned
 * when one of them is a workload. A full rescan every `interval` seconds catches what no event tells (a running
 * process opening a GPU late) and re-reads the machine when it changed; SIGHUP reloads the configuration (a
 * bad one is logged with file:line and the old one kept). The watchdog is fed by sd-event. Changes go through
 * the undo journal of `asiosctl numa revert`; stopping leaves the placement as it is.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "asios/apply.h"
#include "asios/daemon.h"
#include "asios/domain.h"
#include "asios/numa-plan.h"
#include "asios/snapshot.h"

/* an exec heard from the proc connector: the process and when it happened (CLOCK_MONOTONIC, the kernel's stamp) */
struct pending {
	int pid;
	uint64_t exec_usec;
};

/* at most this many new processes wait for their look (16 bytes each); more, and every process is looked at */
#define PENDING_MAX 8192
/* socket buffer for the exec events that queue while the daemon does not listen (~700 bytes each in the kernel) */
#define CN_RCVBUF (4u << 20)

/* what asios-numad keeps beside the skeleton's (asios_daemon) */
struct numad {
	sd_event_source *cn_source, *settle;
	int cn_fd;
	struct asios_snapshot *snap; /* the machine as of the last start, reload or rescan that found it changed */
	char *key;                   /* machine_key() when SNAP was read */
	struct pending *pending;     /* processes that started and are not looked at yet, in arrival order */
	size_t n_pending, cap_pending;
	bool overflow;               /* more than fit, or the kernel dropped events: look at all of them */
};

/*
 * What a placement takes from the machine snapshot and can change while the daemon runs, as one string: online
 * CPUs and nodes, isolation, this process's cgroup and allowed CPUs and nodes (its cpuset), the PCI devices.
 * Some 40 system calls, where the snapshot (hwloc, PCI, IRQs, kernel configuration) takes a thousand and more.
 * NULL when it cannot be built (the machine is then re-read).
 */
static char *machine_key(struct asios_root *root)
{
	static const char *const files[] = { "/sys/devices/system/cpu/online", "/sys/devices/system/node/online",
					     "/sys/devices/system/cpu/isolated", "/sys/devices/system/cpu/nohz_full",
					     "/proc/cmdline", "/proc/self/cgroup", NULL };
	static const char *const fields[] = { "\nCpus_allowed_list:", "\nMems_allowed_list:", NULL };
	char *key = NULL, *text = NULL, **pci = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&key, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; files[i]; i++, text = NULL) {
		fprintf(f, "%s\n", asios_read_file(root, files[i], &text, NULL) >= 0 ? text : "-");
		free(text);
	}
	if (asios_read_file(root, "/proc/self/status", &text, NULL) >= 0) {
		for (size_t i = 0; fields[i]; i++) {
			const char *at = strstr(text, fields[i]);

			fprintf(f, "%.*s\n", at ? (int)strcspn(at + 1, "\n") : 0, at ? at + 1 : "");
		}
		free(text);
	}
	if (asios_list_dir(root, "/sys/bus/pci/devices", &pci) >= 0)
		for (size_t i = 0; pci[i]; i++)
			fprintf(f, "%s ", pci[i]);
	asios_strv_free(pci);
	if (fclose(f) != 0) {
		free(key);
		return NULL;
	}
	return key;
}

enum machine { MACHINE_KEEP, MACHINE_IF_CHANGED, MACHINE_READ };

/* the machine snapshot: kept, re-read when its key changed (rescans), or re-read (start, reload) */
static int load_machine(struct asios_daemon *d, enum machine how)
{
	struct numad *m = d->self;
	struct asios_snapshot *s;
	char *key = NULL;
	int r;

	if (how == MACHINE_KEEP && m->snap)
		return 0;
	if (how != MACHINE_KEEP)
		key = machine_key(d->root);
	if (how == MACHINE_IF_CHANGED && m->snap && key && m->key && !strcmp(key, m->key)) {
		free(key);
		return 0;
	}
	r = asios_snapshot_load(d->root, &s);
	if (r < 0) {
		fprintf(stderr, SD_ERR "cannot read the machine: %s\n", strerror(-r));
		free(key);
		return r;
	}
	asios_snapshot_free(m->snap);
	m->snap = s;
	free(m->key);
	m->key = key;
	return 0;
}

/* what a re-plan reads of the machine: new processes only the processes, a rescan the machine when its key says
 * it changed, start and reload all of it */
static enum machine machine_for(const char *why)
{
	return !strcmp(why, "new processes") ? MACHINE_KEEP : !strcmp(why, "rescan") ? MACHINE_IF_CHANGED : MACHINE_READ;
}

/*
 * Observe, plan and apply once. Errors are logged; the daemon goes on. The machine (CPUs, nodes, devices,
 * isolation: the costly hwloc part) is read at start and on reloads, and on rescans when its key says it changed;
 * a re-plan for new processes reads only the processes.
 */
static int replan(struct asios_daemon *d, const char *why)
{
	const struct asios_numa_policy *policy = d->policy;
	struct numad *m = d->self;
	struct asios_apply_report rep = { 0 };
	struct asios_numa_state *st = NULL;
	struct asios_snapshot *s;
	struct asios_plan *p = NULL;
	char *error = NULL;
	bool dry_run = d->args.dry_run;
	int r;

	if ((r = load_machine(d, machine_for(why))) < 0)
		return r;
	s = m->snap;
	r = asios_numa_observe(d->root, s, policy, &st);
	if (r >= 0)
		r = asios_numa_plan(s, st, policy, &p);
	if (r < 0) {
		fprintf(stderr, SD_ERR "planning failed: %s\n", strerror(-r));
		asios_numa_state_free(st);
		return r;
	}
	for (size_t i = 0; i < p->n_actions; i++)
		fprintf(stderr, SD_INFO "%s%s: %s -> %s: %s\n", dry_run ? "would change " : "", p->actions[i].object,
			p->actions[i].old_value, p->actions[i].new_value, p->actions[i].reason);
	if (!dry_run && p->n_actions) {
		r = asios_domain_apply(d->domain, d->root, s, policy, p, NULL, &rep, &error);
		for (size_t i = 0; i < rep.n_messages; i++)
			fprintf(stderr, SD_WARNING "%s\n", rep.messages[i]);
		if (r < 0)
			fprintf(stderr, SD_ERR "%s; %s\n", error ? error : strerror(-r), asios_apply_outcome(&rep));
		free(error);
	}
	if (p->n_actions || !strcmp(why, "start") || !strcmp(why, "configuration reloaded"))
		fprintf(stderr, SD_NOTICE "%s: %zu workloads, %zu changes applied, %zu skipped, %zu left alone\n", why,
			st->n_procs, dry_run ? 0 : rep.applied, rep.refused, p->n_skipped);
	asios_apply_report_clear(&rep);
	asios_plan_free(p);
	asios_numa_state_free(st);
	return r;
}

static int on_settle(sd_event_source *src, uint64_t usec, void *userdata);

static void add_pending(struct numad *m, int pid, uint64_t exec_usec)
{
	if (m->n_pending == m->cap_pending) {
		size_t cap = m->cap_pending ? m->cap_pending * 2 : 64;
		struct pending *np = cap <= PENDING_MAX ? realloc(m->pending, cap * sizeof(*np)) : NULL;

		if (!np) {
			m->overflow = true;
			return;
		}
		m->pending = np;
		m->cap_pending = cap;
	}
	m->pending[m->n_pending++] = (struct pending){ pid, exec_usec };
}

/* proc connector messages (nlmsghdr → cn_msg → proc_event) into the pending list, until the socket is empty */
static void drain(struct asios_daemon *d)
{
	struct numad *m = d->self;
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	const size_t at_pid = offsetof(struct proc_event, event_data.exec.process_pid);
	const size_t at_ts = offsetof(struct proc_event, timestamp_ns);
	ssize_t n;

	while ((n = recv(m->cn_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0 || (n < 0 && errno == ENOBUFS)) {
		if (n < 0) { /* the kernel dropped events: which processes is unknown */
			m->overflow = true;
			continue;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			struct cn_msg *cn = NLMSG_DATA(h);
			uint64_t ns = 0, now = 0;
			uint32_t what;
			int32_t pid;

			/* fields copied out: the payload sits at a 4-byte offset */
			if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_NOOP || cn->len < at_pid + sizeof(pid))
				continue;
			memcpy(&what, cn->data + offsetof(struct proc_event, what), sizeof(what));
			if (what != PROC_EVENT_EXEC)
				continue;
			memcpy(&pid, cn->data + at_pid, sizeof(pid));
			memcpy(&ns, cn->data + at_ts, sizeof(ns));
			sd_event_now(d->event, CLOCK_MONOTONIC, &now);
			/* the kernel's stamp (ktime_get_ns: CLOCK_MONOTONIC), never later than now */
			add_pending(m, pid, ns && ns / 1000 < now ? ns / 1000 : now);
		}
	}
}

/*
 * Listen or wait. With nothing pending the socket is watched; once an exec is heard it is not, and the events
 * that follow queue in the kernel until the settle timer, due `settle` seconds after the oldest pending exec,
 * reads them all at once. The timer may fire up to a second late so that sd-event puts its wake-ups on a
 * one-second grid: under a steady stream of execs the daemon wakes about once a second, not once per exec.
 */
static void watch(struct asios_daemon *d)
{
	const struct asios_numa_policy *policy = d->policy;
	struct numad *m = d->self;
	uint64_t now, at = UINT64_MAX;

	if (!m->n_pending && !m->overflow) {
		if (m->settle)
			sd_event_source_set_enabled(m->settle, SD_EVENT_OFF);
		sd_event_source_set_enabled(m->cn_source, SD_EVENT_ON);
		return;
	}
	sd_event_source_set_enabled(m->cn_source, SD_EVENT_OFF);
	sd_event_now(d->event, CLOCK_MONOTONIC, &now);
	for (size_t i = 0; i < m->n_pending; i++)
		if (m->pending[i].exec_usec < at)
			at = m->pending[i].exec_usec;
	at = (m->n_pending ? at : now) + (uint64_t)policy->settle * 1000000;
	if (!m->settle) {
		if (sd_event_add_time(d->event, &m->settle, CLOCK_MONOTONIC, at, 1000000, on_settle, d) < 0)
			sd_event_source_set_enabled(m->cn_source, SD_EVENT_ON); /* no timer: keep listening */
		else
			sd_event_source_set_enabled(m->settle, SD_EVENT_ONESHOT);
		return;
	}
	sd_event_source_set_time(m->settle, at);
	sd_event_source_set_enabled(m->settle, SD_EVENT_ONESHOT);
}

/* the processes that started `settle` seconds ago or earlier: re-plan when one of them is a workload (or when
 * some were lost); the younger ones wait for the next round */
static int on_settle(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct asios_daemon *d = userdata;
	const struct asios_numa_policy *policy = d->policy;
	struct numad *m = d->self;
	uint64_t now, settle = (uint64_t)policy->settle * 1000000;
	bool any;
	size_t kept = 0;

	(void)src, (void)usec;
	drain(d);
	sd_event_now(d->event, CLOCK_MONOTONIC, &now);
	any = m->overflow || !m->snap;
	for (size_t i = 0; i < m->n_pending; i++) {
		if (m->pending[i].exec_usec + settle > now)
			m->pending[kept++] = m->pending[i];
		else if (!any)
			any = asios_numa_proc_wanted(d->root, m->snap, policy, m->pending[i].pid);
	}
	m->n_pending = kept;
	m->overflow = false;
	if (any)
		asios_daemon_replan(d, "new processes");
	watch(d);
	return 0;
}

static int on_proc_event(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	(void)src, (void)fd, (void)revents;
	drain(userdata);
	watch(userdata);
	return 0;
}

/*
 * struct proc_input of <linux/cn_proc.h> since Linux 6.6 (older headers lack it): a LISTEN that carries an event
 * mask. Kernels before 6.6 ignore a request of this length; kernels from 6.6 then only wake the socket for the
 * events in the mask, where a plain LISTEN gets every fork, exit, uid/gid, comm and ptrace change as well.
 */
struct proc_cn_filter {
	uint32_t mcast_op;
	uint32_t event_type;
};

static int proc_connector_send(int fd, const void *data, uint16_t len)
{
	struct {
		struct nlmsghdr h;
		struct cn_msg cn;
		char data[sizeof(struct proc_cn_filter)];
	} __attribute__((packed)) msg = { 0 };

	msg.h.nlmsg_len = (uint32_t)(sizeof(msg.h) + sizeof(msg.cn) + len);
	msg.h.nlmsg_type = NLMSG_DONE;
	msg.h.nlmsg_pid = (unsigned)getpid();
	msg.cn.id.idx = CN_IDX_PROC;
	msg.cn.id.val = CN_VAL_PROC;
	msg.cn.len = len;
	memcpy(msg.data, data, len);
	return send(fd, &msg, msg.h.nlmsg_len, 0) < 0 ? -errno : 0;
}

static int proc_connector(void)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0 };
	const uint32_t listen_all = PROC_CN_MCAST_LISTEN;
	const struct proc_cn_filter exec_only = { .mcast_op = PROC_CN_MCAST_LISTEN, .event_type = PROC_EVENT_EXEC };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
	int r;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	/* room for the events that queue between two looks (CAP_NET_ADMIN, which the connector needs, may exceed
	 * rmem_max); a full buffer drops events, and the daemon then looks at every process */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &(int){ CN_RCVBUF }, sizeof(int)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &(int){ CN_RCVBUF }, sizeof(int));
	/* every kernel understands the plain LISTEN; the filter that follows narrows it where the kernel can */
	if ((r = proc_connector_send(fd, &listen_all, sizeof(listen_all))) < 0 ||
	    (r = proc_connector_send(fd, &exec_only, sizeof(exec_only))) < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static void tick(struct asios_daemon *d, uint64_t usec)
{
	(void)usec;
	asios_daemon_replan(d, "rescan");
}

/* new processes: the proc connector (root with CAP_NET_ADMIN, initial namespaces); without it, rescans only */
static int open_connector(struct asios_daemon *d)
{
	const struct asios_numa_policy *policy = d->policy;
	struct numad *m = d->self;

	m->cn_fd = asios_root_is_host(d->root) ? proc_connector() : -EOPNOTSUPP;
	if (m->cn_fd < 0) {
		fprintf(stderr, SD_WARNING "proc connector unavailable (%s); new processes are noticed by the rescan every "
			"%u s only\n", m->cn_fd == -EOPNOTSUPP ? "not the live root" : strerror(-m->cn_fd), policy->interval);
		m->cn_fd = -1;
		return 0;
	}
	return sd_event_add_io(d->event, &m->cn_source, m->cn_fd, EPOLLIN, on_proc_event, d);
}

/* numad and kernel AutoNUMA: stand down beside numad unless told to take over; say what happens to AutoNUMA */
static int coexist(struct asios_daemon *d)
{
	const struct asios_numa_policy *policy = d->policy;
	struct asios_snapshot *s = NULL;
	struct asios_numa_state *st = NULL;
	int r = asios_snapshot_load(d->root, &s);

	if (r >= 0)
		r = asios_numa_observe(d->root, s, NULL, &st);
	if (r < 0) {
		fprintf(stderr, SD_ERR "asios-numad: cannot read the machine: %s\n", strerror(-r));
		asios_snapshot_free(s);
		return r;
	}
	if (st->numad_pid && !policy->take_over) {
		fprintf(stderr, SD_ERR "asios-numad: numad is running (pid %ld) and would move the same processes; standing "
			"down: stop it (systemctl disable --now numad) or set take_over_numad = yes in %s\n", st->numad_pid,
			d->args.conf);
		r = -EBUSY;
	} else if (st->numad_pid) {
		fprintf(stderr, SD_WARNING "taking over from numad (pid %ld) as configured: it still runs and may move "
			"processes back until it is stopped\n", st->numad_pid);
	}
	if (r >= 0 && st->numa_balancing >= 0)
		fprintf(stderr, SD_NOTICE "kernel AutoNUMA is %s; autonuma = %s: %s\n", st->numa_balancing ? "on" : "off",
			asios_autonuma_name(policy->autonuma),
			policy->autonuma == ASIOS_AUTONUMA_LEAVE ? "asios-numad leaves the switch alone" :
			policy->autonuma == ASIOS_AUTONUMA_AUTO ? "set only when every placed workload agrees" :
								    "asios-numad sets it");
	asios_numa_state_free(st);
	asios_snapshot_free(s);
	return r;
}

static void stop(struct asios_daemon *d, bool ran)
{
	struct numad *m = d->self;

	(void)ran;
	sd_event_source_unref(m->cn_source);
	sd_event_source_unref(m->settle);
	if (m->cn_fd >= 0)
		close(m->cn_fd);
	asios_snapshot_free(m->snap);
	free(m->key);
	free(m->pending);
}

static const struct asios_daemon_spec spec = {
	.name = "asios-numad", .domain = "numa",
	.usage = "Keep accelerator workloads on the CPUs and memory of their accelerators' NUMA nodes, learning of new\n"
		 "processes from the kernel's proc connector. See asios-numad(8).\n",
	.need = "/sys/devices/system/node", .need_why = "a kernel without NUMA",
	.status = "placing accelerator workloads",
	.stopped = "; placements stay as they are (asiosctl numa revert restores)",
	.self_size = sizeof(struct numad), .interval_at = offsetof(struct asios_numa_policy, interval),
	.open = open_connector, .start = coexist, .replan = replan, .tick = tick, .stop = stop,
};

int main(int argc, char **argv)
{
	return asios_daemon_main(&spec, argc, argv);
}
