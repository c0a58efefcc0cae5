/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "asios/health.h"

/*
 * Units systemd gave up on (health.h, UNIT signatures). A unit whose Restart= brought it back is not an
 * incident; one in the failed state is: its start limit was hit (a crash loop), its watchdog or a dependency
 * failed, or it exited in a way Restart= does not cover. The service manager is asked the way `systemctl`
 * asks it: over its private socket as root (no D-Bus daemon needed), else over the system bus.
 */

#define SYSTEMD_PRIVATE "unix:path=/run/systemd/private"

int asios_health_systemd_open(struct sd_bus **ret)
{
	sd_bus *bus = NULL;
	int k;

	*ret = NULL;
	if (geteuid() == 0) {
		if ((k = sd_bus_new(&bus)) < 0)
			return k;
		if ((k = sd_bus_set_address(bus, SYSTEMD_PRIVATE)) >= 0 && (k = sd_bus_start(bus)) >= 0) {
			*ret = bus;
			return 0;
		}
		sd_bus_unref(bus);
	}
	if ((k = sd_bus_open_system(&bus)) < 0)
		return k;
	*ret = bus;
	return 0;
}

/* why the service stopped: Result of its Service interface ("start-limit-hit", "exit-code", "watchdog"…) */
static void unit_result(sd_bus *bus, const char *path, char *buf, size_t size)
{
	char *result = NULL;

	snprintf(buf, size, "?");
	if (sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Service",
				       "Result", NULL, &result) >= 0 && result)
		snprintf(buf, size, "%s", result);
	free(result);
}

/* the failed units matching one signature's pattern */
static int failed_units(sd_bus *bus, const struct asios_health_signature *sig, struct asios_health_incidents *out)
{
	sd_bus_message *reply = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	const char *name, *active, *path;
	int k, n = 0;

	k = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
			       "org.freedesktop.systemd1.Manager", "ListUnitsByPatterns", &err, &reply, "asas", 1,
			       "failed", 1, sig->match);
	sd_bus_error_free(&err);
	if (k < 0)
		return k;
	if ((k = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)")) < 0)
		goto out;
	while ((k = sd_bus_message_read(reply, "(ssssssouso)", &name, NULL, NULL, &active, NULL, NULL, &path, NULL,
					NULL, NULL)) > 0) {
		char result[64], object[96];

		if (strcmp(active, "failed"))
			continue;
		unit_result(bus, path, result, sizeof(result));
		snprintf(object, sizeof(object), "unit %s", name);
		if ((k = asios_health_incident_add(out, sig, object, 1, "%s is failed (result: %s); systemd no longer "
						   "restarts it", name, result)) < 0)
			goto out;
		n++;
	}
	if (k >= 0)
		k = sd_bus_message_exit_container(reply);
out:
	sd_bus_message_unref(reply);
	return k < 0 ? k : n;
}

int asios_health_detect_units(struct sd_bus *bus, const struct asios_health_policy *p,
			      struct asios_health_incidents *out)
{
	sd_bus *own = NULL;
	int k = 0, n = 0;

	if (!bus && sd_booted() <= 0)
		return 0; /* no service manager to ask */
	for (size_t i = 0; i < p->n_sigs; i++) {
		if (p->sigs[i].source != ASIOS_HEALTH_UNIT)
			continue;
		if (!bus && !own && (k = asios_health_systemd_open(&own)) < 0)
			break;
		if ((k = failed_units(bus ? bus : own, &p->sigs[i], out)) < 0)
			break;
		n += k;
	}
	sd_bus_flush_close_unref(own);
	return k < 0 ? k : n;
}
