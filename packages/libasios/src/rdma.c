/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Snapshot stage: the ports of the RDMA devices, as rdma-core's libibverbs reads them (/sys/class/infiniband/DEV/
 * ports/N: state, phys_state, link_layer, rate, and the GID table's gid_attrs). Each port is joined to the PCI
 * function its device sits on (pci.c already listed the device there), the interface it carries, its NUMA node
 * and the nearest GPU or accelerator in nvidia-smi's distance terms. A soft-RoCE device (rxe) has no PCI
 * function: its interface (the device's parent) gives the node. Unreadable files leave a field NULL; nothing
 * here fails the snapshot but out of memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot-internal.h"

void asios_rdma_ports_free(struct asios_snapshot *s)
{
	for (size_t i = 0; i < s->n_rdma_ports; i++) {
		struct asios_rdma_port *p = &s->rdma_ports[i];

		free(p->device);
		free(p->link_layer);
		free(p->state);
		free(p->phys_state);
		free(p->rate);
		free(p->netdev);
	}
	free(s->rdma_ports);
	s->rdma_ports = NULL;
	s->n_rdma_ports = 0;
}

/* FILE's first line, "4: ACTIVE" given as "ACTIVE"; NULL when unreadable; -ENOMEM only */
static int read_state(struct asios_root *root, const char *path, char **ret)
{
	char *line = NULL, *colon;
	int r = asios_read_line(root, path, &line);

	*ret = NULL;
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return 0;
	colon = strchr(line, ':');
	if (colon) {
		char *v = strdup(colon + 1 + strspn(colon + 1, " "));

		free(line);
		if (!v)
			return -ENOMEM;
		line = v;
	}
	*ret = line;
	return 0;
}

static int opt_line(struct asios_root *root, const char *path, char **ret)
{
	int r = asios_read_line(root, path, ret);

	if (r < 0)
		*ret = NULL;
	return r == -ENOMEM ? r : 0;
}

/* the PCI function carrying DEV (pci.c put the name in its rdma list), -1 none */
static int device_of(const struct asios_snapshot *s, const char *dev)
{
	for (size_t i = 0; i < s->n_pci; i++)
		for (char **n = s->pci[i].rdma; n && *n; n++)
			if (!strcmp(*n, dev))
				return (int)i;
	return -1;
}

/* the PCI function carrying interface NAME, -1 none */
static int netdev_device(const struct asios_snapshot *s, const char *name)
{
	for (size_t i = 0; name && i < s->n_pci; i++)
		for (char **n = s->pci[i].netdevs; n && *n; n++)
			if (!strcmp(*n, name))
				return (int)i;
	return -1;
}

/* the GID table: entries with a type are in use (the kernel refuses to read the type of an empty one) */
static int read_gids(struct asios_root *root, const char *dir, struct asios_rdma_port *p)
{
	char path[512], **types = NULL;
	int n;

	snprintf(path, sizeof(path), "%s/gid_attrs/types", dir);
	n = asios_list_dir(root, path, &types);
	if (n == -ENOMEM)
		return n;
	for (int i = 0; i < n; i++) {
		char *t = NULL, file[600];
		int r;

		snprintf(file, sizeof(file), "%s/%s", path, types[i]);
		r = asios_read_line(root, file, &t);
		if (r == -ENOMEM) {
			asios_strv_free(types);
			return r;
		}
		if (r >= 0 && *t) {
			p->n_gids++;
			p->n_gids_v2 += !strcmp(t, "RoCE v2");
		}
		free(t);
	}
	asios_strv_free(types);
	return 0;
}

static void nearest_gpu(const struct asios_snapshot *s, struct asios_rdma_port *p)
{
	p->nearest_gpu = -1;
	p->gpu_distance = ASIOS_PCI_SYS;
	if (p->device_index < 0)
		return;
	for (size_t i = 0; i < s->n_pci; i++) {
		enum asios_pci_distance d;

		if (s->pci[i].cls != ASIOS_DEV_GPU && s->pci[i].cls != ASIOS_DEV_ACCEL)
			continue;
		d = asios_pci_distance(s, (size_t)p->device_index, i);
		if (p->nearest_gpu < 0 || d < p->gpu_distance) {
			p->nearest_gpu = (int)i;
			p->gpu_distance = d;
		}
	}
}

/* the interface the port carries: the GID table's first, the PCI function's first, or a soft-RoCE parent */
static int port_netdev(struct asios_root *root, const struct asios_snapshot *s, const char *dev, const char *dir,
		       struct asios_rdma_port *p)
{
	char path[512];
	int r;

	snprintf(path, sizeof(path), "%s/gid_attrs/ndevs/0", dir);
	if ((r = opt_line(root, path, &p->netdev)) < 0 || (p->netdev && *p->netdev))
		return r;
	free(p->netdev);
	p->netdev = NULL;
	if (p->device_index >= 0 && s->pci[p->device_index].netdevs && s->pci[p->device_index].netdevs[0])
		return (p->netdev = strdup(s->pci[p->device_index].netdevs[0])) ? 0 : -ENOMEM;
	snprintf(path, sizeof(path), "/sys/class/infiniband/%s/parent", dev);
	return opt_line(root, path, &p->netdev);
}

static int load_port(struct asios_root *root, struct asios_snapshot *s, const char *dev, const char *port)
{
	struct asios_rdma_port *p, *grown;
	char dir[256], path[512], *end;
	unsigned long n = strtoul(port, &end, 10);
	int r, nd;

	if (*end || end == port || n == 0 || n > 255) {
		asios_snapshot_warn(s, "/sys/class/infiniband/%s/ports/%s: not a port number, ignoring", dev, port);
		return 0;
	}
	grown = realloc(s->rdma_ports, (s->n_rdma_ports + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	s->rdma_ports = grown;
	p = &s->rdma_ports[s->n_rdma_ports++];
	*p = (struct asios_rdma_port){ .port = (unsigned)n, .device_index = device_of(s, dev), .node = -1 };
	if (!(p->device = strdup(dev)))
		return -ENOMEM;
	snprintf(dir, sizeof(dir), "/sys/class/infiniband/%s/ports/%s", dev, port);
	snprintf(path, sizeof(path), "%s/state", dir);
	if ((r = read_state(root, path, &p->state)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/phys_state", dir);
	if ((r = read_state(root, path, &p->phys_state)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/link_layer", dir);
	if ((r = opt_line(root, path, &p->link_layer)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/rate", dir);
	if ((r = opt_line(root, path, &p->rate)) < 0 || (r = read_gids(root, dir, p)) < 0 ||
	    (r = port_netdev(root, s, dev, dir, p)) < 0)
		return r;
	nd = p->device_index >= 0 ? p->device_index : netdev_device(s, p->netdev);
	p->node = nd >= 0 ? s->pci[nd].node : -1;
	nearest_gpu(s, p);
	return 0;
}

int asios_rdma_load(struct asios_root *root, struct asios_snapshot *s)
{
	char **devs = NULL;
	int n = asios_list_dir(root, "/sys/class/infiniband", &devs), r = 0;

	if (n < 0)
		return n == -ENOMEM ? n : 0;
	for (int i = 0; i < n && r >= 0; i++) {
		char dir[256], **ports = NULL;
		int m;

		snprintf(dir, sizeof(dir), "/sys/class/infiniband/%s/ports", devs[i]);
		m = asios_list_dir(root, dir, &ports);
		if (m == -ENOMEM)
			r = m;
		for (int k = 0; k < m && r >= 0; k++)
			r = load_port(root, s, devs[i], ports[k]);
		asios_strv_free(ports);
	}
	asios_strv_free(devs);
	return r;
}
