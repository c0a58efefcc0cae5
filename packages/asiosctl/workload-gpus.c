/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * asiosctl workload: which GPUs --gpus names, and the device files of each (workload.h).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "asios/cpulist.h"
#include "asios/root.h"
#include "asiosctl.h"
#include "workload.h"

/* ---- the GPUs ---- */

static bool is_gpu(const struct asios_pci_device *d)
{
	return d->cls == ASIOS_DEV_GPU || d->cls == ASIOS_DEV_ACCEL;
}

/* the machine's GPUs as "  N ADDR (VENDOR)" lines, for an error */
static void log_known(const struct asios_snapshot *s)
{
	unsigned k = 0;

	fputs("asiosctl: workload: this machine's GPUs:", stderr);
	for (size_t i = 0; i < s->n_pci; i++)
		if (is_gpu(&s->pci[i])) {
			fprintf(stderr, "%s %u %s", k ? "," : "", k, s->pci[i].addr);
			k++;
		}
	fputc('\n', stderr);
}

/* the index in pci[] of GPU number N, -1 when there is none */
static int gpu_by_index(const struct asios_snapshot *s, unsigned n)
{
	unsigned k = 0;

	for (size_t i = 0; i < s->n_pci; i++)
		if (is_gpu(&s->pci[i]) && k++ == n)
			return (int)i;
	return -1;
}

unsigned gpu_index(const struct asios_snapshot *s, size_t pci)
{
	unsigned k = 0;

	for (size_t i = 0; i < pci; i++)
		k += is_gpu(&s->pci[i]);
	return k;
}

/* TOKEN as a PCI address (the domain 0000 may be left out), lower case; the pci[] index or -1 with the error said */
static int gpu_by_addr(const struct asios_snapshot *s, const char *token)
{
	char addr[32];
	int idx;

	snprintf(addr, sizeof(addr), "%s%s", strlen(token) <= 7 ? "0000:" : "", token);
	for (char *p = addr; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	idx = asios_snapshot_pci_index(s, addr);
	if (idx < 0) {
		log_error("workload: no PCI device %s on this machine", token);
		return -1;
	}
	if (!is_gpu(&s->pci[idx])) {
		log_error("workload: %s is a %s, not a GPU or accelerator", addr, asios_dev_class_name(s->pci[idx].cls));
		return -1;
	}
	return idx;
}

/* one item of --gpus: "N", "N-M" or a PCI address; sets the GPUs' pci[] indices in SET */
static int parse_item(const struct asios_snapshot *s, const char *token, hwloc_bitmap_t set)
{
	unsigned long a, b;
	char *end;
	int idx;

	if (!isdigit((unsigned char)token[0]) || strchr(token, ':')) {
		idx = gpu_by_addr(s, token);
		if (idx >= 0)
			hwloc_bitmap_set(set, (unsigned)idx);
		return idx < 0 ? -1 : 0;
	}
	a = strtoul(token, &end, 10);
	b = *end == '-' ? strtoul(end + 1, &end, 10) : a;
	if (*end || b < a || b > 4095) {
		log_error("workload: --gpus: '%s' is not a GPU index, a range N-M or a PCI address", token);
		return -1;
	}
	for (unsigned long n = a; n <= b; n++) {
		idx = gpu_by_index(s, (unsigned)n);
		if (idx < 0) {
			log_error("workload: no GPU %lu: this machine has %u GPU%s", n, gpu_index(s, s->n_pci),
				  gpu_index(s, s->n_pci) == 1 ? "" : "s");
			return -1;
		}
		hwloc_bitmap_set(set, (unsigned)idx);
	}
	return 0;
}

/* the GPUs of LIST as pci[] indices (in PCI order, each once) */
hwloc_bitmap_t select_gpus(const struct asios_snapshot *s, const char *list)
{
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	char *copy = strdup(list), *save = NULL, *tok;
	int r = set && copy ? 0 : -1;

	if (r == 0 && !gpu_index(s, s->n_pci)) {
		log_error("workload: no GPU or accelerator on the machine under %s", s->root);
		r = -1;
	}
	for (tok = r ? NULL : strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (parse_item(s, tok, set) < 0) {
			log_known(s);
			r = -1;
			break;
		}
	if (r == 0 && hwloc_bitmap_iszero(set)) {
		log_error("workload: --gpus %s names no GPU", list);
		r = -1;
	}
	free(copy);
	if (r < 0) {
		hwloc_bitmap_free(set);
		return NULL;
	}
	return set;
}

/* ---- device files ---- */

/* PREFIX followed by N when N >= 0 */
static int add_dev(struct wl_gpu *g, const char *prefix, int n)
{
	char buf[64];

	if (n >= 0)
		snprintf(buf, sizeof(buf), "%s%d", prefix, n);
	else
		snprintf(buf, sizeof(buf), "%s", prefix);
	if (g->n_devs >= MAX_DEVS || !(g->devs[g->n_devs] = strdup(buf))) {
		log_error("workload: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	g->n_devs++;
	return 0;
}

static bool nvidia_listed(struct asios_root *root, const char *addr)
{
	char path[128];

	snprintf(path, sizeof(path), "/proc/driver/nvidia/gpus/%s", addr);
	return asios_exists(root, path);
}

static bool is_nvidia(struct asios_root *root, const struct asios_pci_device *d)
{
	return is_gpu(d) && (d->vendor == 0x10de || (!d->vendor && nvidia_listed(root, d->addr)));
}

/* the minor of NVIDIA GPU pci[IDX]: its driver's Device Minor, else its rank among the NVIDIA GPUs */
static unsigned nvidia_minor(struct asios_root *root, const struct asios_snapshot *s, size_t idx, char *how,
			     size_t size)
{
	char path[128], *info = NULL, *m;
	unsigned rank = 0;

	snprintf(path, sizeof(path), "/proc/driver/nvidia/gpus/%s/information", s->pci[idx].addr);
	if (asios_read_file(root, path, &info, NULL) >= 0 && (m = strstr(info, "Device Minor:")) &&
	    isdigit((unsigned char)m[13 + strspn(m + 13, " \t")])) {
		rank = (unsigned)strtoul(m + 13, NULL, 10);
		snprintf(how, size, "Device Minor of the NVIDIA driver");
		free(info);
		return rank;
	}
	free(info);
	for (size_t i = 0; i < idx; i++)
		rank += is_nvidia(root, &s->pci[i]);
	snprintf(how, size, "NVIDIA GPU %u in PCI address order", rank);
	return rank;
}

/* N of the /sys/class/CLS/PREFIXN whose device link ends in ADDR, -1 when none */
static int class_number(struct asios_root *root, const char *cls, const char *prefix, const char *addr)
{
	char dir[64], path[256], **names = NULL, *link = NULL;
	int found = -1;

	snprintf(dir, sizeof(dir), "/sys/class/%s", cls);
	if (asios_list_dir(root, dir, &names) < 0)
		return -1;
	for (char **n = names; *n && found < 0; n++) {
		const char *base;

		if (strncmp(*n, prefix, strlen(prefix)) || !isdigit((unsigned char)(*n)[strlen(prefix)]))
			continue;
		snprintf(path, sizeof(path), "%s/%s/device", dir, *n);
		if (asios_read_link(root, path, &link) < 0)
			continue;
		base = strrchr(link, '/');
		if (!strcmp(base ? base + 1 : link, addr))
			found = atoi(*n + strlen(prefix));
		free(link);
		link = NULL;
	}
	asios_strv_free(names);
	return found;
}

static int nvidia_devs(struct asios_root *root, const struct asios_snapshot *s, struct wl_gpu *g)
{
	static const char *const shared[] = { "/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools",
					      "/dev/nvidia-modeset" };
	unsigned minor = nvidia_minor(root, s, g->pci, g->how, sizeof(g->how));
	int r = add_dev(g, "/dev/nvidia", (int)minor);

	if (!s->pci[g->pci].vendor) /* its vendor file unreadable: the driver's listing made it an NVIDIA GPU */
		snprintf(g->how + strlen(g->how), sizeof(g->how) - strlen(g->how), "; in /proc/driver/nvidia/gpus");

	for (size_t i = 0; r == 0 && i < sizeof(shared) / sizeof(shared[0]); i++)
		r = add_dev(g, shared[i], -1);
	return r;
}

/* the device files of G; -ENODEV (said) when the machine names none */
int gpu_devs(struct asios_root *root, const struct asios_snapshot *s, struct wl_gpu *g)
{
	const struct asios_pci_device *d = &s->pci[g->pci];
	int n;

	if (is_nvidia(root, d))
		return nvidia_devs(root, s, g);
	n = class_number(root, "drm", "renderD", d->addr);
	if (n >= 0) {
		snprintf(g->how, sizeof(g->how), "/sys/class/drm/renderD%d/device", n);
		if (add_dev(g, "/dev/dri/renderD", n) < 0 || (d->vendor == 0x1002 && add_dev(g, "/dev/kfd", -1) < 0))
			return -ENOMEM;
		return 0;
	}
	n = class_number(root, "accel", "accel", d->addr);
	if (n >= 0) {
		snprintf(g->how, sizeof(g->how), "/sys/class/accel/accel%d/device", n);
		return add_dev(g, "/dev/accel/accel", n);
	}
	log_error("workload: GPU %u %s (%s, %s): no device file known: not an NVIDIA GPU, and no "
		  "/sys/class/drm/renderD*/device or /sys/class/accel/accel*/device points to it",
		  g->index, d->addr, asios_dev_class_name(d->cls), d->vendor_name ? d->vendor_name : "vendor unknown");
	return -ENODEV;
}
