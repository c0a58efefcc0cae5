/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* Kernel uevents (asios/daemon.h), apart from daemon.c: they need no libsystemd, so static programs link them. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "asios/daemon.h"

int asios_uevent_open(void)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = 1 /* the kernel's, not udev's (2) */ };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

int asios_uevent_parse(const char *msg, size_t len, struct asios_uevent *ev)
{
	const char *q, *end = msg + len;
	size_t header = strnlen(msg, len);

	*ev = (struct asios_uevent){ .driver = "" };
	if (header == len || !memchr(msg, '@', header) || msg[0] == '@')
		return -EINVAL;
	for (q = msg + header + 1; q < end && memchr(q, '\0', (size_t)(end - q)); q += strlen(q) + 1) {
		if (!strncmp(q, "ACTION=", 7))
			ev->action = q + 7;
		else if (!strncmp(q, "DEVPATH=", 8))
			ev->devpath = q + 8;
		else if (!strncmp(q, "SUBSYSTEM=", 10))
			ev->subsystem = q + 10;
		else if (!strncmp(q, "DRIVER=", 7))
			ev->driver = q + 7;
	}
	return ev->action && ev->devpath && ev->subsystem && *ev->subsystem ? 0 : -EINVAL;
}
