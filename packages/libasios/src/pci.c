/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cpulist.h"
#include "asios/interrupts.h"
#include "snapshot-internal.h"

/*
 * PCI devices from /sys/bus/pci/devices: ids, class, driver, NUMA node, position in the PCIe tree, and the
 * Linux objects hanging off them (netdevs, RDMA devices, NVMe controllers, MSI vectors).
 *
 * NUMA node when the kernel reports -1 (firmware without _PXM, common on single-root boards and VMs), in order:
 *   1. local_cpulist (or local_cpus) lies within exactly one node  → that node      ("local_cpus")
 *   2. the nearest upstream bridge has a node                       → its node      ("parent")
 *   3. the machine has a single node with CPUs                      → that node     ("single")
 *   4. otherwise -1                                                 → left alone    ("unknown", warned)
 */

struct vendor {
	uint16_t id;
	const char *name;
};

static const struct vendor vendors[] = {
	{ 0x10de, "nvidia" }, { 0x1002, "amd" },     { 0x1022, "amd" },      { 0x8086, "intel" },
	{ 0x15b3, "mellanox" }, { 0x14e4, "broadcom" }, { 0x1077, "qlogic" }, { 0x1924, "solarflare" },
	{ 0x1da3, "habana" },  { 0x1d0f, "amazon" },  { 0x1ae0, "google" },   { 0x1e52, "tenstorrent" },
	{ 0x1fc9, "tehuti" },  { 0x144d, "samsung" }, { 0x1c5c, "sk-hynix" }, { 0x1344, "micron" },
	{ 0x1bb1, "seagate" }, { 0x15b7, "sandisk" }, { 0x1000, "broadcom-lsi" }, { 0x9005, "microchip" },
	{ 0x1af4, "virtio" },  { 0x1b36, "qemu" },    { 0x19e5, "huawei" },   { 0x1a03, "aspeed" },
	{ 0x102b, "matrox" },  { 0x1d17, "zhaoxin" }, { 0x8088, "wangxun" },  { 0x1dd8, "pensando" },
};

static const char *vendor_name(uint16_t id)
{
	for (size_t i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++)
		if (vendors[i].id == id)
			return vendors[i].name;
	return NULL;
}

/* Class from the PCI class code, refined by vendor where the code alone misleads. */
static enum asios_dev_class classify(uint32_t cc, uint16_t vendor)
{
	unsigned base = cc >> 16, sub = (cc >> 8) & 0xff;

	switch (base) {
	case 0x01:
		return sub == 0x08 ? ASIOS_DEV_NVME : ASIOS_DEV_STORAGE;
	case 0x02:
		return ASIOS_DEV_NIC;
	case 0x03:
		/* display controllers are GPUs, except the VGA of a BMC or a virtual machine's display */
		switch (vendor) {
		case 0x1a03: /* ASPEED */
		case 0x102b: /* Matrox (iLO, iDRAC) */
		case 0x1013: /* Cirrus Logic */
		case 0x1234: /* QEMU/Bochs VGA */
		case 0x15ad: /* VMware SVGA */
		case 0x1b36: /* QEMU QXL */
		case 0x1414: /* Hyper-V */
			return ASIOS_DEV_OTHER;
		default:
			return (sub == 0x00 || sub == 0x02 || sub == 0x80) ? ASIOS_DEV_GPU : ASIOS_DEV_OTHER;
		}
	case 0x06:
		/* PCI-to-PCI bridges (switch ports, root ports); a host bridge function (0600) is an endpoint */
		return (sub == 0x04 || sub == 0x09) ? ASIOS_DEV_BRIDGE : ASIOS_DEV_OTHER;
	case 0x0b:
		return sub == 0x40 ? ASIOS_DEV_ACCEL : ASIOS_DEV_OTHER; /* co-processor */
	case 0x0c:
		return sub == 0x06 ? ASIOS_DEV_NIC : ASIOS_DEV_OTHER; /* InfiniBand HCA (qib, mlx4) */
	case 0x12:
		return ASIOS_DEV_ACCEL; /* processing accelerators: Gaudi, Trainium/Inferentia, NPUs */
	default:
		return ASIOS_DEV_OTHER;
	}
}

/* "0x10de" or "10de": at most MAX_DIGITS hex digits, no sign, no blanks, nothing after */
static int strict_hex(const char *s, size_t max_digits, unsigned long *v)
{
	unsigned long x = 0;
	size_t n;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (n = 0; s[n]; n++) {
		char c = s[n];

		if (!isxdigit((unsigned char)c) || n >= max_digits)
			return -EINVAL;
		x = x * 16 + (unsigned long)(isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10);
	}
	if (n == 0)
		return -EINVAL;
	*v = x;
	return 0;
}

static int read_hex(struct asios_root *root, const char *dir, const char *file, size_t max_digits, unsigned long *v)
{
	char path[1024], *line;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	r = asios_read_line(root, path, &line);
	if (r < 0)
		return r;
	r = strict_hex(line, max_digits, v);
	free(line);
	return r;
}

/* "dddd:bb:dd.f", lower-case hex as sysfs names devices */
static bool is_pci_addr(const char *s)
{
	static const char shape[] = "xxxx:xx:xx.x";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'x' ? !isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]) : s[i] != shape[i])
			return false;
	return true;
}

static int list_into(struct asios_root *root, const char *dir, const char *sub, char ***v)
{
	char path[1024];
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	r = asios_list_dir(root, path, v);
	if (r == -ENOENT || r == -ENOTDIR) {
		*v = calloc(1, sizeof(char *));
		return *v ? 0 : -ENOMEM;
	}
	return r < 0 ? r : 0;
}

static int load_device(struct asios_root *root, struct asios_snapshot *s, const char *addr,
		       struct asios_pci_device *d)
{
	char dir[512], path[600], *link = NULL, *p;
	const char *why = NULL;
	unsigned long v;
	char **msi = NULL;
	long node;
	int r;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", addr);
	snprintf(d->addr, sizeof(d->addr), "%s", addr);
	d->parent = -1;
	d->irq_legacy = -1;
	d->node = -1;
	d->node_source = ASIOS_NODE_UNKNOWN;
	if (read_hex(root, dir, "vendor", 4, &v) < 0) {
		asios_snapshot_warn(s, "%s/vendor: unreadable, vendor unknown", dir);
		v = 0;
	}
	d->vendor = (uint16_t)v;
	d->device = read_hex(root, dir, "device", 4, &v) >= 0 ? (uint16_t)v : 0;
	d->subsys_vendor = read_hex(root, dir, "subsystem_vendor", 4, &v) >= 0 ? (uint16_t)v : 0;
	d->subsys_device = read_hex(root, dir, "subsystem_device", 4, &v) >= 0 ? (uint16_t)v : 0;
	if (read_hex(root, dir, "class", 6, &v) < 0)
		asios_snapshot_warn(s, "%s/class: unreadable, classed as other", dir);
	else
		d->class_code = (uint32_t)v;
	d->cls = classify(d->class_code, d->vendor);
	if (vendor_name(d->vendor) && !(d->vendor_name = strdup(vendor_name(d->vendor))))
		return -ENOMEM;

	/* position in the tree: the link target below devices/ */
	if (asios_read_link(root, dir, &link) >= 0 && (p = strstr(link, "devices/")))
		d->sysfs_path = strdup(p + strlen("devices/"));
	else
		d->sysfs_path = strdup(addr);
	free(link);
	if (!d->sysfs_path)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/driver", dir);
	if (asios_read_link(root, path, &link) >= 0) {
		d->driver = strdup((p = strrchr(link, '/')) ? p + 1 : link);
		free(link);
		if (!d->driver)
			return -ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/numa_node", dir);
	r = asios_read_long(root, path, &node);
	if (r == -EINVAL)
		asios_snapshot_warn(s, "%s: not a number, node unknown", path);
	if (r >= 0 && (node < -1 || node > INT_MAX || (node >= 0 && !asios_snapshot_node(s, (int)node)))) {
		asios_snapshot_warn(s, "%s: %ld is no NUMA node of this machine, node unknown", path, node);
		node = -1;
	}
	if (r >= 0 && node >= 0) {
		d->node = (int)node;
		d->node_source = ASIOS_NODE_SYSFS;
	}
	d->local_cpus = hwloc_bitmap_alloc();
	if (!d->local_cpus)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/local_cpulist", dir);
	if (asios_read_cpuset(root, s, path, false, d->local_cpus) == -ENOENT) {
		snprintf(path, sizeof(path), "%s/local_cpus", dir);
		(void)asios_read_cpuset(root, s, path, true, d->local_cpus);
	}
	snprintf(path, sizeof(path), "%s/irq", dir);
	r = asios_read_long(root, path, &node);
	if (r == -EINVAL || (r >= 0 && (node < 0 || node > (long)ASIOS_IRQ_MAX))) {
		asios_snapshot_warn(s, "%s: not an IRQ number, ignoring", path);
	} else if (r >= 0 && node > 0) {
		d->irq_legacy = (int)node;
	}

	r = asios_pcie_read(root, addr, &d->pcie, &why);
	d->pcie_err = r < 0 ? r : 0;
	if (r == -EINVAL) {
		asios_pcie_source(root, addr, path, sizeof(path));
		if (asprintf(&d->pcie_fault, "%s: %s", path, why) < 0) {
			d->pcie_fault = NULL;
			return -ENOMEM;
		}
		asios_snapshot_warn(s, "%s, PCI Express registers unknown", d->pcie_fault);
	}
	else if (r == -ENOMEM)
		return r;
	else if (r < 0 && r != -ENOENT && r != -ENODATA && r != -ERANGE)
		asios_snapshot_warn(s, "%s/config: unreadable (%s), PCI Express registers unknown", dir, strerror(-r));
	if ((r = list_into(root, dir, "net", &d->netdevs)) < 0 || (r = list_into(root, dir, "infiniband", &d->rdma)) < 0 ||
	    (r = list_into(root, dir, "nvme", &d->block)) < 0 || (r = list_into(root, dir, "msi_irqs", &msi)) < 0)
		return r;
	d->n_msi_irqs = asios_strv_length(msi);
	d->msi_irqs = calloc(d->n_msi_irqs + 1, sizeof(*d->msi_irqs));
	if (!d->msi_irqs) {
		asios_strv_free(msi);
		return -ENOMEM;
	}
	size_t n_names = d->n_msi_irqs;

	d->n_msi_irqs = 0;
	for (size_t i = 0; i < n_names; i++) {
		char *end;
		unsigned long irq = strtoul(msi[i], &end, 10);

		if (*end || end == msi[i] || !isdigit((unsigned char)msi[i][0]) || irq > ASIOS_IRQ_MAX)
			asios_snapshot_warn(s, "%s/msi_irqs/%s: not an IRQ number, ignoring", dir, msi[i]);
		else
			d->msi_irqs[d->n_msi_irqs++] = (unsigned)irq;
	}
	asios_strv_free(msi);
	return 0;
}

bool asios_pci_is_gpu(const struct asios_pci_device *d)
{
	return d->cls == ASIOS_DEV_GPU || d->cls == ASIOS_DEV_ACCEL;
}

void asios_pci_device_clear(struct asios_pci_device *d)
{
	free(d->pcie_fault);
	free(d->vendor_name);
	free(d->driver);
	free(d->sysfs_path);
	hwloc_bitmap_free(d->local_cpus);
	asios_strv_free(d->netdevs);
	asios_strv_free(d->rdma);
	asios_strv_free(d->block);
	free(d->msi_irqs);
	memset(d, 0, sizeof(*d));
}

static size_t depth(const char *path)
{
	size_t n = 0;

	for (; *path; path++)
		n += *path == '/';
	return n;
}

static int cmp_depth(const void *a, const void *b)
{
	const struct asios_pci_device *x = a, *y = b;
	size_t dx = depth(x->sysfs_path), dy = depth(y->sysfs_path);

	if (dx != dy)
		return dx < dy ? -1 : 1;
	return strcmp(x->addr, y->addr);
}

static int cmp_addr(const void *a, const void *b)
{
	return strcmp(((const struct asios_pci_device *)a)->addr, ((const struct asios_pci_device *)b)->addr);
}

/* the node holding all of CPUS, or -1 */
static int node_of_cpus(const struct asios_snapshot *s, hwloc_const_bitmap_t cpus)
{
	int found = -1;

	if (hwloc_bitmap_iszero(cpus))
		return -1;
	for (size_t i = 0; i < s->n_nodes; i++)
		if (hwloc_bitmap_intersects(s->nodes[i].cpus, cpus)) {
			if (found >= 0 || !hwloc_bitmap_isincluded(cpus, s->nodes[i].cpus))
				return -1;
			found = (int)s->nodes[i].id;
		}
	return found;
}

static int link_class(struct asios_root *root, struct asios_snapshot *s, const char *cls, size_t list);

static char *parent_addr(const char *sysfs_path)
{
	const char *end = strrchr(sysfs_path, '/'), *start;

	if (!end)
		return NULL;
	for (start = end; start > sysfs_path && start[-1] != '/'; start--)
		;
	return strndup(start, (size_t)(end - start));
}

int asios_pci_load(struct asios_root *root, struct asios_snapshot *s)
{
	size_t n_cpu_nodes = 0;
	int single = -1;
	char **names;
	int r, n;

	n = asios_list_dir(root, "/sys/bus/pci/devices", &names);
	if (n == -ENOENT)
		return 0; /* no PCI bus (some arm64 boards, s390 without PCI) */
	if (n < 0) {
		asios_snapshot_warn(s, "/sys/bus/pci/devices: %s, no PCI devices", strerror(-n));
		return n == -ENOMEM ? n : 0;
	}
	s->pci = calloc((size_t)n + 1, sizeof(*s->pci));
	if (!s->pci) {
		asios_strv_free(names);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		if (!is_pci_addr(names[i])) {
			asios_snapshot_warn(s, "/sys/bus/pci/devices/%s: not a PCI address, ignoring", names[i]);
			continue;
		}
		r = load_device(root, s, names[i], &s->pci[s->n_pci]);
		if (r < 0) {
			asios_pci_device_clear(&s->pci[s->n_pci]);
			if (r == -ENOMEM) {
				asios_strv_free(names);
				return r;
			}
			continue; /* warned */
		}
		s->n_pci++;
	}
	asios_strv_free(names);

	for (size_t i = 0; i < s->n_nodes; i++)
		if (!hwloc_bitmap_iszero(s->nodes[i].cpus)) {
			n_cpu_nodes++;
			single = (int)s->nodes[i].id;
		}
	/* parents before children, so that a bridge's node is known before its devices ask */
	qsort(s->pci, s->n_pci, sizeof(*s->pci), cmp_depth);
	for (size_t i = 0; i < s->n_pci; i++) {
		struct asios_pci_device *d = &s->pci[i];
		char *pa = parent_addr(d->sysfs_path);
		int parent = -1;

		for (size_t j = 0; pa && j < i; j++)
			if (!strcmp(s->pci[j].addr, pa))
				parent = (int)j;
		free(pa);
		if (d->node_source == ASIOS_NODE_SYSFS)
			continue;
		if ((d->node = node_of_cpus(s, d->local_cpus)) >= 0) {
			d->node_source = ASIOS_NODE_LOCAL_CPUS;
		} else if (parent >= 0 && s->pci[parent].node >= 0 && s->pci[parent].node_source != ASIOS_NODE_SINGLE) {
			d->node = s->pci[parent].node;
			d->node_source = ASIOS_NODE_PARENT;
		} else if (n_cpu_nodes == 1) {
			d->node = single;
			d->node_source = ASIOS_NODE_SINGLE;
		} else {
			d->node = -1;
			d->node_source = ASIOS_NODE_UNKNOWN;
			if (d->cls != ASIOS_DEV_BRIDGE && d->cls != ASIOS_DEV_OTHER)
				asios_snapshot_warn(s, "pci %s: NUMA node unknown (numa_node -1, no local CPUs within one node), "
						    "planners leave it alone", d->addr);
		}
	}
	/* final order by address; parents resolved by address afterwards */
	qsort(s->pci, s->n_pci, sizeof(*s->pci), cmp_addr);
	for (size_t i = 0; i < s->n_pci; i++) {
		char *pa = parent_addr(s->pci[i].sysfs_path);

		s->pci[i].parent = pa ? asios_snapshot_pci_index(s, pa) : -1;
		free(pa);
	}
	if ((r = link_class(root, s, "net", 0)) < 0 || (r = link_class(root, s, "infiniband", 1)) < 0 ||
	    (r = link_class(root, s, "nvme", 2)) < 0)
		return r;
	return 0;
}

/* /sys/class/{net,infiniband,nvme}/NAME links name the device they sit on, also below an intermediate
 * device (virtio0/net/eth0): attach NAME to the last PCI function on the link's path. */
static int link_class(struct asios_root *root, struct asios_snapshot *s, const char *cls, size_t list)
{
	char dir[64], path[128], **names;
	int n, r = 0;

	snprintf(dir, sizeof(dir), "/sys/class/%s", cls);
	n = asios_list_dir(root, dir, &names);
	if (n < 0)
		return n == -ENOMEM ? n : 0;
	for (int i = 0; i < n && r >= 0; i++) {
		char *link = NULL, *tok, *save = NULL, *last = NULL;
		int dev;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (asios_read_link(root, path, &link) < 0)
			continue;
		for (tok = strtok_r(link, "/", &save); tok; tok = strtok_r(NULL, "/", &save))
			if (is_pci_addr(tok))
				last = tok;
		if (last && (dev = asios_snapshot_pci_index(s, last)) >= 0) {
			struct asios_pci_device *d = &s->pci[dev];
			char ***v = list == 0 ? &d->netdevs : list == 1 ? &d->rdma : &d->block;
			size_t cnt = asios_strv_length(*v);
			bool have = false;

			for (size_t k = 0; k < cnt; k++)
				have |= !strcmp((*v)[k], names[i]);
			if (!have)
				r = asios_strv_push_dup(v, &cnt, names[i]);
		}
		free(link);
	}
	asios_strv_free(names);
	return r;
}

/* upstream bridges of device I, root first; returns the count */
size_t asios_pci_chain(const struct asios_snapshot *s, size_t i, int *out, size_t max)
{
	size_t n = 0;

	for (int p = s->pci[i].parent; p >= 0 && n < max; p = s->pci[p].parent)
		out[n++] = p;
	for (size_t a = 0; a < n / 2; a++) {
		int t = out[a];

		out[a] = out[n - 1 - a];
		out[n - 1 - a] = t;
	}
	return n;
}

static size_t host_bridge_len(const char *path)
{
	return strcspn(path, "/");
}

enum asios_pci_distance asios_pci_distance(const struct asios_snapshot *s, size_t a, size_t b)
{
	const struct asios_pci_device *x = &s->pci[a], *y = &s->pci[b];
	int ca[32], cb[32];
	size_t na, nb, common = 0, hx, hy;

	if (a == b)
		return ASIOS_PCI_SELF;
	hx = host_bridge_len(x->sysfs_path);
	hy = host_bridge_len(y->sysfs_path);
	if (hx != hy || strncmp(x->sysfs_path, y->sysfs_path, hx) != 0)
		return (x->node >= 0 && x->node == y->node) ? ASIOS_PCI_NODE : ASIOS_PCI_SYS;
	na = asios_pci_chain(s, a, ca, 32);
	nb = asios_pci_chain(s, b, cb, 32);
	while (common < na && common < nb && ca[common] == cb[common])
		common++;
	if (common == 0)
		return ASIOS_PCI_PHB;
	if (na - common <= 1 && nb - common <= 1)
		return ASIOS_PCI_PIX;
	return ASIOS_PCI_PXB;
}
