/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asios-healthd's live event sources: the kernel log as it comes, PSI triggers, rtnetlink link-up events, the
 * kernel's device uevents and the service manager's unit changes. Each wakes a heal or a pass at once instead of
 * waiting for the next interval.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <math.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "asios/root.h"
#include "healthd.h"

/* the kernel log alone, as it comes (a new Xid does not wait for the next pass) */
static int on_kmsg(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct healthd *h = userdata;
	struct asios_health_incidents l = { 0 };
	char buf[8192];
	ssize_t k;

	(void)src, (void)revents;
	for (;;) {
		k = read(fd, buf, sizeof(buf) - 1);
		if (k < 0 && errno == EPIPE)
			continue;
		if (k <= 0)
			break;
		(void)asios_health_scan_kmsg(&h->policy, buf, (size_t)k, &h->state.cursor, &l);
	}
	if (l.n)
		handle(h, NULL, &l, false, NULL);
	asios_health_incidents_clear(&l);
	return 0;
}

/* a PSI trigger fired: the resource stalled for the signature's share of the last 2 s (its avg10 lags) */
static int on_psi(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct healthd *h = userdata;
	struct asios_health_incidents l = { 0 };
	const struct asios_health_signature *sig;
	double now;
	bool sustained;
	size_t i;

	if (revents & POLLERR)
		return sd_event_source_set_enabled(src, SD_EVENT_OFF);
	for (i = 0; i < PSI_RESOURCES && h->psi_fd[i] != fd; i++)
		;
	/* the first window after the trigger is made measures from before it: not an event */
	if (i == PSI_RESOURCES || now_s() - h->psi_since < 4 ||
	    !(sig = signature_of(h, ASIOS_HEALTH_PSI, psi_res[i])))
		return 0;
	/* one 2 s window over the threshold is a blip (a burst of runnable tasks); two in a row are pressure */
	now = now_s();
	sustained = now - h->psi_fired[i] <= 4.5;
	h->psi_fired[i] = now;
	if (!sustained)
		return 0;
	(void)asios_health_incident_add(&l, sig, psi_res[i], sig->threshold, "%s pressure: tasks stalled %.0f%% or more "
					"of two 2 s windows in a row (PSI trigger)", psi_res[i], sig->threshold);
	handle(h, NULL, &l, false, NULL);
	asios_health_incidents_clear(&l);
	return 0;
}

/* a link came up: drivers reset a NIC's IRQ affinities then; the drift pass re-places them at once */
static int on_link(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct healthd *h = userdata;
	char buf[8192], names[256] = "";
	ssize_t n;

	(void)src, (void)revents;
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		for (struct nlmsghdr *m = (struct nlmsghdr *)buf; NLMSG_OK(m, (size_t)n); m = NLMSG_NEXT(m, n)) {
			const struct ifinfomsg *ifi = NLMSG_DATA(m);
			unsigned idx = (unsigned)ifi->ifi_index;
			bool up, was;

			if (m->nlmsg_type != RTM_NEWLINK || idx >= 64 * 16)
				continue;
			up = (ifi->ifi_flags & (IFF_UP | IFF_RUNNING)) == (IFF_UP | IFF_RUNNING);
			was = h->running[idx / 64] & (1ull << (idx % 64));
			h->running[idx / 64] = up ? h->running[idx / 64] | (1ull << (idx % 64))
						  : h->running[idx / 64] & ~(1ull << (idx % 64));
			if (up && !was) {
				char name[IF_NAMESIZE] = "?";
				size_t off = strlen(names);

				(void)if_indextoname(idx, name);
				snprintf(names + off, sizeof(names) - off, "%s%s", off ? ", " : "", name);
			}
		}
	}
	if (names[0]) {
		char why[300];

		snprintf(why, sizeof(why), "link up (%s)", names);
		fprintf(stderr, SD_INFO "%s: checking for drift now\n", why);
		(void)pass(h, why, why);
	}
	return 0;
}

/* rtnetlink's link group: which interfaces are running now, then their changes */
static void watch_links(struct healthd *h)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	unsigned idx;
	struct if_nameindex *ifs = if_nameindex();

	for (struct if_nameindex *i = ifs; i && i->if_index; i++) {
		char path[64], *flags = NULL;

		idx = i->if_index;
		snprintf(path, sizeof(path), "/sys/class/net/%s/operstate", i->if_name);
		if (idx < 64 * 16 && asios_read_line(h->root, path, &flags) >= 0 && !strcmp(flags, "up"))
			h->running[idx / 64] |= 1ull << (idx % 64);
		free(flags);
	}
	if (ifs)
		if_freenameindex(ifs);
	h->link_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (h->link_fd < 0 || bind(h->link_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    sd_event_add_io(h->event, &h->link_src, h->link_fd, EPOLLIN, on_link, h) < 0)
		fprintf(stderr, SD_INFO "link events: not watched (%s); drift is found by the next pass\n",
			strerror(errno));
}

/*
 * Device uevents, as the kernel sends them (its netlink group, not udev's: they come whether udevd runs or not):
 * uevent signatures (a PCI device removed under a running machine), and a drift pass when a PCI or a physical
 * network device is added (its IRQs are new, and the irq domain's plan places them).
 */
static int on_uevent(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct healthd *h = userdata;
	struct asios_health_incidents l = { 0 };
	char buf[8192], why[160] = "";
	ssize_t n;

	(void)src, (void)revents;
	while ((n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		bool added = false;

		buf[n] = '\0';
		if (asios_health_scan_uevent(&h->policy, buf, (size_t)n, &l, &added) == 0 && added && !why[0])
			snprintf(why, sizeof(why), "device added (%s)", buf);
	}
	if (l.n)
		handle(h, NULL, &l, false, NULL);
	asios_health_incidents_clear(&l);
	if (why[0]) {
		fprintf(stderr, SD_INFO "%s: checking for drift now\n", why);
		(void)pass(h, why, why);
	}
	return 0;
}

static void watch_uevents(struct healthd *h)
{
	int r = h->uevent_fd = asios_uevent_open();

	if (r < 0 || (r = sd_event_add_io(h->event, &h->uevent_src, h->uevent_fd, EPOLLIN, on_uevent, h)) < 0)
		fprintf(stderr, SD_INFO "device uevents: not watched (%s); drift is found by the next pass\n",
			strerror(-r));
}

/* the unit signatures, a moment after a unit became failed */
static int on_unit_check(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct healthd *h = userdata;
	struct asios_health_incidents l = { 0 };
	int k;

	(void)src, (void)usec;
	h->unit_check = sd_event_source_unref(h->unit_check);
	if ((k = asios_health_detect_units(h->bus, &h->policy, &l)) < 0)
		fprintf(stderr, SD_WARNING "systemd: failed units not checked: %s\n", strerror(-k));
	else if (l.n)
		handle(h, NULL, &l, false, NULL);
	asios_health_incidents_clear(&l);
	return 0;
}

/* a unit's properties changed: when it became failed, the unit signatures are checked once it has settled */
static int on_unit(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct healthd *h = userdata;
	const char *iface, *key, *state = NULL;
	int k;

	(void)ret_error;
	if (sd_bus_message_read(m, "s", &iface) < 0 || strcmp(iface, "org.freedesktop.systemd1.Unit") ||
	    sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
		return 0;
	while (!state && sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		if (sd_bus_message_read(m, "s", &key) < 0)
			return 0;
		k = strcmp(key, "ActiveState") ? sd_bus_message_skip(m, "v") : sd_bus_message_read(m, "v", "s", &state);
		if (k < 0 || sd_bus_message_exit_container(m) < 0)
			return 0;
	}
	if (!state || strcmp(state, "failed") || h->unit_check)
		return 0;
	if (sd_event_add_time_relative(h->event, &h->unit_check, CLOCK_MONOTONIC, UNIT_SETTLE_USEC, 0, on_unit_check,
				       h) < 0)
		fprintf(stderr, SD_WARNING "systemd: a failed unit is found by the next pass\n");
	return 0;
}

/* the service manager's unit changes (Subscribe), when a unit signature is there to match them */
static void watch_units(struct healthd *h)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	int k;

	if (!signature_of(h, ASIOS_HEALTH_UNIT, NULL) || sd_booted() <= 0)
		return;
	if ((k = asios_health_systemd_open(&h->bus)) < 0 || (k = sd_bus_attach_event(h->bus, h->event, 0)) < 0 ||
	    (k = sd_bus_match_signal(h->bus, &h->unit_slot, NULL, NULL, "org.freedesktop.DBus.Properties",
				     "PropertiesChanged", on_unit, h)) < 0 ||
	    (k = sd_bus_call_method(h->bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
				    "org.freedesktop.systemd1.Manager", "Subscribe", &err, NULL, "")) < 0)
		fprintf(stderr, SD_INFO "systemd: unit changes not watched (%s); failed units are found by the next "
			"pass\n", err.message ? err.message : strerror(-k));
	sd_bus_error_free(&err);
}

/* live only: /dev/kmsg from the cursor on, and a PSI trigger per pressure signature (its threshold of 2 s) */
void watch_live(struct healthd *h)
{

	if (strcmp(h->args.root, "/"))
		return;
	watch_links(h);
	watch_uevents(h);
	watch_units(h);
	h->psi_since = now_s();
	h->kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (h->kmsg_fd >= 0) {
		(void)lseek(h->kmsg_fd, 0, SEEK_END); /* the start pass read what was there */
		if (sd_event_add_io(h->event, &h->kmsg_src, h->kmsg_fd, EPOLLIN, on_kmsg, h) < 0)
			fprintf(stderr, SD_WARNING "/dev/kmsg: not watched; read every pass\n");
	}
	for (size_t i = 0; i < PSI_RESOURCES; i++) {
		char trigger[64];
		const struct asios_health_signature *sig = signature_of(h, ASIOS_HEALTH_PSI, psi_res[i]);

		char path[64];

		if (!sig || !sig->match || strcmp(sig->match, psi_res[i]))
			continue;
		snprintf(path, sizeof(path), "/proc/pressure/%s", psi_res[i]);
		/* the signature's share of a 2 s window: a window unprivileged processes may ask for */
		snprintf(trigger, sizeof(trigger), "some %.0f 2000000", fmin(sig->threshold, 100) / 100 * 2e6);
		h->psi_fd[i] = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (h->psi_fd[i] < 0 || write(h->psi_fd[i], trigger, strlen(trigger) + 1) < 0 ||
		    sd_event_add_io(h->event, &h->psi_src[i], h->psi_fd[i], EPOLLPRI, on_psi, h) < 0)
			fprintf(stderr, SD_INFO "%s: no PSI trigger (%s); polled every pass\n", path, strerror(errno));
	}
}

void unwatch_live(struct healthd *h)
{
	sd_event_source_unref(h->kmsg_src);
	sd_event_source_unref(h->link_src);
	sd_event_source_unref(h->uevent_src);
	if (h->uevent_fd >= 0)
		close(h->uevent_fd);
	sd_bus_slot_unref(h->unit_slot);
	sd_event_source_unref(h->unit_check);
	sd_bus_flush_close_unref(h->bus);
	if (h->link_fd >= 0)
		close(h->link_fd);
	for (size_t i = 0; i < PSI_RESOURCES; i++) {
		sd_event_source_unref(h->psi_src[i]);
		if (h->psi_fd[i] >= 0)
			close(h->psi_fd[i]);
	}
	if (h->kmsg_fd >= 0)
		close(h->kmsg_fd);
}
