/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asios-irqd: keeps IRQ affinities where the IRQ planner puts them.
 *
 * Skeleton (asios_daemon_main(), daemon.h): parse arguments → load irqd.conf (+ drop-ins) → listen for uevents
 * (open) → refuse to run beside irqbalance unless told to take over (start) → first plan + apply →
 * sd_notify(READY=1) → sd_event_loop(). It re-plans on PCI
 * and MSI hotplug (kernel uevents on NETLINK_KOBJECT_UEVENT, debounced), when the set of IRQs in
 * /proc/interrupts changes (checked every `interval` seconds), on a lopsided interrupt load measured from
 * /proc/interrupts deltas (see check_rates()), and on SIGHUP after reloading the configuration (a bad
 * configuration is logged with file:line and the old one kept). The watchdog is fed by
 * sd-event. Every change is applied with the undo journal of `asiosctl irq revert`; stopping the daemon
 * leaves the affinities as they are.
 *
 * It keeps the NIC domain (asios/nic-plan.h, nic.conf) with the IRQs: every re-plan applies the NIC plan first
 * (a new queue count makes new IRQs), then places the IRQs on the machine as it is then. A link that comes up
 * (rtnetlink RTM_NEWLINK newly with IFF_UP or IFF_RUNNING, on a libmnl socket) re-plans too: drivers that rebuild their
 * queues on open or on a reset come back with their defaults and their IRQs on every CPU.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>

#include "asios/apply.h"
#include "asios/cpulist.h"
#include "asios/daemon.h"
#include "asios/domain.h"
#include "asios/irq-plan.h"
#include "asios/peer.h"
#include "asios/snapshot.h"

/* what asios-irqd keeps beside the skeleton's (asios_daemon) */
struct irqd {
	sd_event_source *uevent_source, *debounce, *link_source;
	int uevent_fd;
	struct mnl_socket *rtnl;     /* link events (RTMGRP_LINK), NULL when unavailable */
	hwloc_bitmap_t up, running;  /* interface indexes seen up (IFF_UP), running (IFF_RUNNING: carrier) */
	bool link_up;                /* a link came up in the messages being read */
	const char *pending;         /* why the debounced re-plan runs */
	hwloc_bitmap_t irqs_seen;    /* IRQ numbers of the last plan */
	/* rate measurement: interrupt totals by IRQ number at prev_usec */
	uint64_t *prev_totals;
	size_t n_prev;
	uint64_t prev_usec;
	/* the rates the current layout was planned with (NULL: the plain spread); kept until the next rebalance so
	 * that hotplug and reload re-plans do not undo it */
	double *layout_rates;
	size_t n_layout;
	unsigned streak;             /* consecutive checks in which a rebalance paid */
	uint64_t last_rebalance_usec;
	unsigned rebalances;
};

/* The NIC domain's plan, applied (logged like the IRQs'): how many changes it made, or -errno. A NIC domain
 * whose policy does not read is logged with its file and line and left out; the IRQs are placed anyway. */
static int replan_nic(struct asios_daemon *d, const struct asios_snapshot *s, const char *why)
{
	const struct asios_domain *nic = asios_domain_find("nic");
	struct asios_domain_run run = { 0 };
	struct asios_apply_report rep = { 0 };
	char *error = NULL;
	int r = nic ? asios_domain_plan_at(nic, d->root, d->args.root, s, &run, &error) : -ENOENT;

	if (r < 0) {
		fprintf(stderr, SD_ERR "NIC domain: %s; NIC settings left as they are\n", error ? error : strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < run.plan->n_actions; i++)
		fprintf(stderr, SD_INFO "%s%s: %s -> %s: %s\n", d->args.dry_run ? "would set " : "",
			run.plan->actions[i].object, run.plan->actions[i].old_value, run.plan->actions[i].new_value,
			run.plan->actions[i].reason);
	if (!d->args.dry_run && run.plan->n_actions) {
		r = asios_domain_apply(nic, d->root, s, run.policy, run.plan, NULL, &rep, &error);
		for (size_t i = 0; i < rep.n_messages; i++)
			fprintf(stderr, SD_WARNING "%s\n", rep.messages[i]);
		if (r < 0)
			fprintf(stderr, SD_ERR "NIC domain: %s; %s\n", error ? error : strerror(-r), asios_apply_outcome(&rep));
	}
	if (run.plan->n_actions)
		fprintf(stderr, SD_NOTICE "%s: NIC settings: %zu changed, %zu refused by the driver\n", why,
			d->args.dry_run ? 0 : rep.applied, rep.refused);
	r = r < 0 ? r : (int)rep.applied;
out:
	free(error);
	asios_apply_report_clear(&rep);
	asios_domain_run_clear(&run);
	return r;
}

/* Plan and apply once. Errors are logged; the daemon goes on. */
static int replan(struct asios_daemon *d, const char *why)
{
	const struct asios_irq_policy *policy = d->policy;
	struct irqd *m = d->self;
	struct asios_apply_report rep = { 0 };
	struct asios_snapshot *s = NULL;
	struct asios_plan *p = NULL;
	char *error = NULL;
	bool dry_run = d->args.dry_run;
	int r;

	r = asios_snapshot_load(d->root, &s);
	/* new queues are new IRQs: the machine is read again for them; and a second NIC plan gives the queues a
	 * new count created their RPS masks (asios/nic-plan.h) */
	for (int pass = 0; pass < 2 && r >= 0 && replan_nic(d, s, why) > 0; pass++) {
		asios_snapshot_free(s);
		s = NULL;
		r = asios_snapshot_load(d->root, &s);
	}
	if (r < 0) {
		fprintf(stderr, SD_ERR "cannot read the machine: %s\n", strerror(-r));
		return r;
	}
	hwloc_bitmap_zero(m->irqs_seen);
	for (size_t i = 0; i < s->n_irqs; i++)
		hwloc_bitmap_set(m->irqs_seen, s->irqs[i].irq);
	r = asios_irq_plan_rated(s, policy, m->layout_rates, m->n_layout, &p);
	if (r < 0) {
		fprintf(stderr, SD_ERR "planning failed: %s\n", strerror(-r));
		asios_snapshot_free(s);
		return r;
	}
	for (size_t i = 0; i < p->n_notes; i++)
		fprintf(stderr, SD_WARNING "%s\n", p->notes[i]);
	for (size_t i = 0; i < p->n_actions; i++)
		fprintf(stderr, SD_INFO "%sirq %d (%s): %s -> %s: %s\n", dry_run ? "would move " : "", p->actions[i].irq,
			p->actions[i].device[0] ? p->actions[i].device : "no device", p->actions[i].old_value,
			p->actions[i].new_value, p->actions[i].reason);
	if (!dry_run && p->n_actions) {
		r = asios_domain_apply(d->domain, d->root, s, policy, p, NULL, &rep, &error);
		for (size_t i = 0; i < rep.n_messages; i++)
			fprintf(stderr, SD_WARNING "%s\n", rep.messages[i]);
		if (r < 0)
			fprintf(stderr, SD_ERR "%s; %s\n", error ? error : strerror(-r), asios_apply_outcome(&rep));
		free(error);
	}
	fprintf(stderr, SD_NOTICE "%s: %zu IRQs, %zu moved, %zu refused by the kernel, %zu left alone\n", why, s->n_irqs,
		dry_run ? 0 : rep.applied, rep.refused, p->n_skipped);
	asios_apply_report_clear(&rep);
	asios_plan_free(p);
	asios_snapshot_free(s);
	return r;
}

static int on_debounce(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct asios_daemon *d = userdata;
	struct irqd *m = d->self;
	const char *why = m->pending ? m->pending : "hotplug";

	(void)src, (void)usec;
	m->pending = NULL;
	return asios_daemon_replan(d, why), 0;
}

/* a re-plan a second after the last of a burst of events (WHY: what it says it is for) */
static int schedule_replan(struct asios_daemon *d, const char *why)
{
	struct irqd *m = d->self;
	uint64_t now;

	if (!m->pending || strcmp(why, "hotplug"))
		m->pending = why;
	sd_event_now(d->event, CLOCK_MONOTONIC, &now);
	if (m->debounce)
		return sd_event_source_set_time(m->debounce, now + 1000000) < 0 ? -1 :
		       sd_event_source_set_enabled(m->debounce, SD_EVENT_ONESHOT);
	return sd_event_add_time(d->event, &m->debounce, CLOCK_MONOTONIC, now + 1000000, 0, on_debounce, d);
}

static bool one_of(const char *const *words, const char *w)
{
	for (; *words; words++)
		if (!strcmp(*words, w))
			return true;
	return false;
}

/* kernel uevents (daemon.h): PCI and MSI adds/removes/binds matter */
static int on_uevent(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	static const char *const subsystems[] = { "pci", "msi", "net", "nvme", "infiniband", NULL };
	static const char *const actions[] = { "add", "remove", "bind", "unbind", NULL };
	struct asios_uevent ev;
	char buf[8192];
	ssize_t n;

	(void)src, (void)revents;
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	if (n <= 0 || asios_uevent_parse(buf, (size_t)n, &ev) < 0)
		return 0;
	if (one_of(subsystems, ev.subsystem) && one_of(actions, ev.action))
		schedule_replan(userdata, "hotplug");
	return 0;
}

/* FLAG of interface IDX now ON (recorded in SET): whether it was off before */
static bool turned_on(hwloc_bitmap_t set, unsigned idx, bool on)
{
	bool was = hwloc_bitmap_isset(set, idx);

	if (on)
		hwloc_bitmap_set(set, idx);
	else
		hwloc_bitmap_clr(set, idx);
	return on && !was;
}

/*
 * RTM_NEWLINK/RTM_DELLINK: an interface set up (IFF_UP: its driver opened it, and many rebuild their queues
 * then) or whose carrier came back (IFF_RUNNING: a link flap, a switch port reset) is a link that came up.
 */
static int link_msg(const struct nlmsghdr *h, void *data)
{
	struct irqd *m = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
	bool alive;
	unsigned idx;

	if ((h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) ||
	    mnl_nlmsg_get_payload_len(h) < sizeof(*ifi) || ifi->ifi_index <= 0)
		return MNL_CB_OK;
	idx = (unsigned)ifi->ifi_index;
	alive = h->nlmsg_type == RTM_NEWLINK;
	/* both recorded: no short-circuit */
	if (turned_on(m->up, idx, alive && (ifi->ifi_flags & IFF_UP)) |
	    turned_on(m->running, idx, alive && (ifi->ifi_flags & IFF_RUNNING)))
		m->link_up = true;
	return MNL_CB_OK;
}

static int on_link(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct asios_daemon *d = userdata;
	struct irqd *m = d->self;
	char buf[8192];
	ssize_t n;

	(void)src, (void)fd, (void)revents;
	m->link_up = false;
	while ((n = recv(mnl_socket_get_fd(m->rtnl), buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		mnl_cb_run(buf, (size_t)n, 0, 0, link_msg, m);
	if (m->link_up)
		schedule_replan(d, "link up");
	return 0;
}

/* link events; unavailable is not fatal (the interval's check still sees new IRQs) */
static int open_links(struct asios_daemon *d)
{
	struct irqd *m = d->self;

	if (!(m->up = hwloc_bitmap_alloc()) || !(m->running = hwloc_bitmap_alloc()))
		return -ENOMEM;
	if (!(m->rtnl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK)) ||
	    mnl_socket_bind(m->rtnl, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
		fprintf(stderr, SD_WARNING "link events unavailable (%m); a link coming up is not re-planned at once\n");
		if (m->rtnl)
			mnl_socket_close(m->rtnl);
		m->rtnl = NULL;
		return 0;
	}
	return sd_event_add_io(d->event, &m->link_source, mnl_socket_get_fd(m->rtnl), EPOLLIN, on_link, d);
}

/* the rates of the layout, for a restart and `asiosctl irq plan` (not in a dry run: it changes nothing) */
static void keep_rates(struct asios_daemon *d)
{
	struct irqd *m = d->self;
	int r;

	if (d->args.dry_run)
		return;
	r = asios_irq_rates_write(d->root, m->layout_rates, m->n_layout);
	if (r < 0)
		fprintf(stderr, SD_WARNING "%s: %s; a restart plans without these rates\n", ASIOS_IRQD_RATES, strerror(-r));
}

/*
 * Rebalance by measured rate, only when it pays: the busiest CPU takes at least rebalance_min_rate device
 * interrupts per second, the rate-aware plan lowers that peak by at least rebalance_gain percent, in
 * rebalance_checks consecutive checks, and rebalance_holdoff seconds have passed since the last rebalance.
 * A short burst or a small gain moves nothing; IRQs are not chased back and forth.
 */
static void check_rates(struct asios_daemon *d, double *rates, size_t n, uint64_t now)
{
	const struct asios_irq_policy *policy = d->policy;
	struct irqd *m = d->self;
	struct asios_snapshot *s = NULL;
	struct asios_plan *p = NULL;
	double peak_now, peak_plan;

	if (asios_snapshot_load(d->root, &s) < 0)
		return;
	if (asios_irq_plan_rated(s, policy, rates, n, &p) < 0) {
		asios_snapshot_free(s);
		return;
	}
	peak_now = asios_irq_peak_load(s, NULL, rates, n);
	peak_plan = asios_irq_peak_load(s, p, rates, n);
	asios_plan_free(p);
	asios_snapshot_free(s);
	if (!asios_irq_rebalance_pays(policy, peak_now, peak_plan)) {
		m->streak = 0;
		return;
	}
	m->streak++;
	fprintf(stderr, SD_INFO "interrupt load: busiest CPU %.0f/s, %.0f/s after a rate-aware spread (check %u of %u)\n",
		peak_now, peak_plan, m->streak, policy->rebalance_checks);
	if (m->streak < policy->rebalance_checks)
		return;
	if (m->rebalances && now - m->last_rebalance_usec < (uint64_t)policy->rebalance_holdoff * 1000000) {
		fprintf(stderr, SD_INFO "rebalance held off: the last one was less than %u s ago\n", policy->rebalance_holdoff);
		return;
	}
	free(m->layout_rates);
	m->layout_rates = rates;
	m->n_layout = n;
	keep_rates(d);
	m->streak = 0;
	m->last_rebalance_usec = now;
	m->rebalances++;
	fprintf(stderr, SD_NOTICE "rebalancing: busiest CPU %.0f/s -> %.0f/s (-%.0f%%)\n", peak_now, peak_plan,
		peak_now > 0 ? 100.0 * (peak_now - peak_plan) / peak_now : 0.0);
	asios_daemon_replan(d, "rate rebalance");
}

/* interrupt totals by IRQ number; the rates since the previous reading go to check_rates() */
static void measure(struct asios_daemon *d, const struct asios_interrupts *in, uint64_t now)
{
	const struct asios_irq_policy *policy = d->policy;
	struct irqd *m = d->self;
	size_t n = 0;
	uint64_t *totals;
	double *rates = NULL, dt = m->prev_usec ? (double)(now - m->prev_usec) / 1e6 : 0;

	for (size_t i = 0; i < in->n_rows; i++)
		if (in->rows[i].irq >= 0 && (size_t)in->rows[i].irq + 1 > n)
			n = (size_t)in->rows[i].irq + 1;
	totals = calloc(n + 1, sizeof(*totals));
	if (!totals)
		return;
	for (size_t i = 0; i < in->n_rows; i++)
		if (in->rows[i].irq >= 0)
			totals[in->rows[i].irq] = in->rows[i].total;
	if (policy->rebalance && m->prev_totals && dt > 0 && (rates = calloc(n + 1, sizeof(*rates)))) {
		for (size_t q = 0; q < n && q < m->n_prev; q++)
			if (totals[q] >= m->prev_totals[q])  /* a counter going back (CPU offlined) reads as idle */
				rates[q] = (double)(totals[q] - m->prev_totals[q]) / dt;
		check_rates(d, rates, n, now);
		if (m->layout_rates != rates)
			free(rates);
	}
	free(m->prev_totals);
	m->prev_totals = totals;
	m->n_prev = n;
	m->prev_usec = now;
}

/* every interval: has the set of IRQs changed (a driver loaded, vectors reallocated)? */
static void tick(struct asios_daemon *d, uint64_t usec)
{
	struct irqd *m = d->self;
	hwloc_bitmap_t now = hwloc_bitmap_alloc();
	struct asios_interrupts *in = NULL;
	char *text = NULL;
	size_t len;

	if (now && asios_read_file(d->root, "/proc/interrupts", &text, &len) >= 0 &&
	    asios_interrupts_parse(text, len, "/proc/interrupts", &in, NULL) >= 0) {
		for (size_t i = 0; i < in->n_rows; i++)
			if (in->rows[i].irq >= 0)
				hwloc_bitmap_set(now, (unsigned)in->rows[i].irq);
		if (!hwloc_bitmap_isequal(now, m->irqs_seen)) {
			asios_daemon_replan(d, "IRQs changed");
			m->streak = 0;
		}
		measure(d, in, usec);
	}
	asios_interrupts_free(in);
	free(text);
	hwloc_bitmap_free(now);
}

/* hotplug: kernel uevents; unavailable (e.g. in a container without the netlink family) is not fatal */
static int open_uevents(struct asios_daemon *d)
{
	struct irqd *m = d->self;
	int r;

	m->uevent_fd = -1;
	m->irqs_seen = hwloc_bitmap_alloc();
	if (!m->irqs_seen)
		return -ENOMEM;
	if ((m->uevent_fd = asios_uevent_open()) < 0) {
		fprintf(stderr, SD_WARNING "kernel uevents unavailable (%s); hotplug is noticed by the periodic check only\n",
			strerror(-m->uevent_fd));
		m->uevent_fd = -1;
		return open_links(d);
	}
	r = sd_event_add_io(d->event, &m->uevent_source, m->uevent_fd, EPOLLIN, on_uevent, d);
	return r < 0 ? r : open_links(d);
}

/* irqbalance: a root process running the irqbalance program, whatever any other process calls itself */
static int check_irqbalance(struct asios_daemon *d)
{
	const struct asios_irq_policy *policy = d->policy;
	long pid = asios_peer_find(d->root, "irqbalance");

	if (pid < 0) {
		fprintf(stderr, SD_ERR "asios-irqd: cannot read the machine: %s\n", strerror((int)-pid));
		return -1;
	}
	if (pid && !policy->take_over) {
		fprintf(stderr, SD_ERR "asios-irqd: irqbalance is running (pid %ld) and would undo every placement; stop it "
			"(systemctl disable --now irqbalance) or set take_over_irqbalance = yes in %s\n", pid, d->args.conf);
		return -1;
	}
	if (pid)
		fprintf(stderr, SD_WARNING "taking over from irqbalance (pid %ld) as configured: it still runs and may move "
			"IRQs back until it is stopped\n", pid);
	return 0;
}

/* the rates of the layout an earlier run rebalanced to (with rebalance on): kept, not undone by the first plan */
static int start(struct asios_daemon *d)
{
	const struct asios_irq_policy *policy = d->policy;
	struct irqd *m = d->self;
	int r;

	if (check_irqbalance(d) < 0)
		return -1;
	if (!policy->rebalance)
		return 0;
	r = asios_irq_rates_read(d->root, &m->layout_rates, &m->n_layout);
	if (r < 0)
		fprintf(stderr, SD_WARNING "%s: %s; planning without the rates of the last rebalance\n", ASIOS_IRQD_RATES,
			strerror(-r));
	else if (m->layout_rates)
		fprintf(stderr, SD_INFO "planning with the interrupt rates of the last rebalance (%s)\n", ASIOS_IRQD_RATES);
	return 0;
}

static void stop(struct asios_daemon *d, bool ran)
{
	struct irqd *m = d->self;

	(void)ran;
	sd_event_source_unref(m->uevent_source);
	sd_event_source_unref(m->debounce);
	sd_event_source_unref(m->link_source);
	if (m->uevent_fd >= 0)
		close(m->uevent_fd);
	if (m->rtnl)
		mnl_socket_close(m->rtnl);
	hwloc_bitmap_free(m->up);
	hwloc_bitmap_free(m->running);
	hwloc_bitmap_free(m->irqs_seen);
	free(m->prev_totals);
	free(m->layout_rates);
}

static const struct asios_daemon_spec spec = {
	.name = "asios-irqd", .domain = "irq",
	.usage = "Place device interrupts on the CPUs of their device's NUMA node, off isolated CPUs, and keep them\n"
		 "there across hotplug and configuration reloads (SIGHUP); keep each NIC's queues, rings and\n"
		 "coalescing as nic.conf asks, again whenever a link comes up. See asios-irqd(8).\n",
	.need = "/proc/irq", .need_why = "no IRQ affinity to manage",
	.status = "placing IRQs",
	.stopped = "; affinities stay as they are (asiosctl irq revert restores)",
	.self_size = sizeof(struct irqd), .interval_at = offsetof(struct asios_irq_policy, interval),
	.open = open_uevents, .start = start, .replan = replan, .tick = tick, .stop = stop,
};

int main(int argc, char **argv)
{
	return asios_daemon_main(&spec, argc, argv);
}
