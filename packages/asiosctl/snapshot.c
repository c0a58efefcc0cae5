/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <libgen.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "asios/domain.h"
#include "asiosctl.h"
#include "redact.h"

/*
 * asiosctl snapshot: capture the files a snapshot reads into a tarball that works as --root, safe to attach
 * to a bug report.
 *
 * Our own reads are recorded through the root prefix while a snapshot is taken. hwloc reads sysfs itself,
 * so the trees it reads are copied as well: /sys/devices/system/{cpu,node}, cpuinfo, meminfo, mounts and the
 * process's cgroup files. Symlinks are kept as links (sysfs links are relative), and every link on the way
 * to a file is captured with its target, so paths resolve in the copy as they did on the machine. A listed
 * directory is recreated one level deep (its entries are what the snapshot saw).
 *
 * What is copied is decided by two tables: a file's content is taken only when its path is on the allow-list
 * (copy_allow[], each entry with the reason a snapshot needs it) and no component of its path is on the
 * never-list (never[]); the other files of a listed directory (PCI configuration space, MAC addresses, VPD,
 * serial numbers…) are left out. Every file taken is text and goes through the redactor (redact.c, a table
 * of rules), the kernel configuration inside its gzip too. The tarball is written 0600 beside its final name
 * and renamed into place.
 */

#define COPY_MAX (64u << 20)

enum copy_as {
	COPY_TEXT, /* text: redacted; a file with control bytes is left out */
	COPY_GZIP, /* gzip of text: unpacked, redacted and packed again */
};

struct copy_rule {
	const char *glob; /* fnmatch(3) of the whole path, '*' matching '/' too; "@cgroup/NAME": NAME in the cgroup */
	enum copy_as as;
	const char *why;
};

#define PCIFN "[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7]"

static const struct copy_rule copy_allow[] = {
	{ "/proc/cmdline", COPY_TEXT, "isolcpus=, nohz_full=, rcu_nocbs=, irqaffinity=; the command line shown" },
	{ "/proc/cpuinfo", COPY_TEXT, "hwloc: CPU models; the architecture" },
	{ "/proc/meminfo", COPY_TEXT, "hwloc: the machine's memory" },
	{ "/proc/*/mounts", COPY_TEXT, "cgroup mount points (/proc/mounts is a link to /proc/self/mounts)" },
	{ "/proc/mounts", COPY_TEXT, "cgroup mount points" },
	{ "/proc/*/cgroup", COPY_TEXT, "the cgroup the cpuset restriction comes from (/proc/self)" },
	{ "/proc/*/cpuset", COPY_TEXT, "hwloc: the cpuset of a cgroup v1 machine (/proc/self)" },
	{ "/proc/*/status", COPY_TEXT, "hwloc: Cpus_allowed and Mems_allowed (/proc/self)" },
	{ "/proc/interrupts", COPY_TEXT, "IRQs, their names and per-CPU counts" },
	{ "/proc/irq/[0-9]*/smp_affinity_list", COPY_TEXT, "IRQ affinity" },
	{ "/proc/irq/[0-9]*/smp_affinity", COPY_TEXT, "IRQ affinity (kernels without the list form)" },
	{ "/proc/irq/[0-9]*/effective_affinity_list", COPY_TEXT, "where an IRQ is delivered" },
	{ "/proc/irq/[0-9]*/effective_affinity", COPY_TEXT, "where an IRQ is delivered (mask form)" },
	{ "/proc/sys/kernel/osrelease", COPY_TEXT, "the kernel release" },
	{ "/proc/config.gz", COPY_GZIP, "the kernel configuration (audited options)" },
	{ "/boot/config-*", COPY_TEXT, "the kernel configuration where /proc/config.gz is missing" },
	{ "/sys/devices/system/cpu/*", COPY_TEXT,
	  "hwloc: CPUs, SMT siblings, caches, frequencies, capacities; isolated, nohz_full, possible, online" },
	{ "/sys/devices/system/node/*", COPY_TEXT, "hwloc: NUMA nodes, their CPUs, distances, memory and huge pages" },
	{ "/sys/*/" PCIFN "/vendor", COPY_TEXT, "PCI identity: vendor (GPU, NIC, NVMe classification)" },
	{ "/sys/*/" PCIFN "/device", COPY_TEXT, "PCI identity: device" },
	{ "/sys/*/" PCIFN "/subsystem_vendor", COPY_TEXT, "PCI identity: subsystem vendor" },
	{ "/sys/*/" PCIFN "/subsystem_device", COPY_TEXT, "PCI identity: subsystem device" },
	{ "/sys/*/" PCIFN "/class", COPY_TEXT, "PCI class (GPU, NIC, NVMe, accelerator)" },
	{ "/sys/*/" PCIFN "/revision", COPY_TEXT, "PCI revision" },
	{ "/sys/*/" PCIFN "/numa_node", COPY_TEXT, "the NUMA node of a PCI function" },
	{ "/sys/*/" PCIFN "/local_cpulist", COPY_TEXT, "the CPUs near a PCI function" },
	{ "/sys/*/" PCIFN "/local_cpus", COPY_TEXT, "the CPUs near a PCI function (mask form)" },
	{ "/sys/*/" PCIFN "/irq", COPY_TEXT, "the legacy IRQ of a PCI function" },
	{ "/sys/*/" PCIFN "/msi_irqs/[0-9]*", COPY_TEXT, "the MSI vectors of a PCI function (IRQ ownership)" },
	{ "/sys/*/" PCIFN "/current_link_speed", COPY_TEXT, "PCIe link speed" },
	{ "/sys/*/" PCIFN "/current_link_width", COPY_TEXT, "PCIe link width" },
	{ "/sys/*/" PCIFN "/max_link_speed", COPY_TEXT, "PCIe link speed the device can do" },
	{ "/sys/*/" PCIFN "/max_link_width", COPY_TEXT, "PCIe link width the device can do" },
	{ "/sys/*/" PCIFN "/modalias", COPY_TEXT, "for bug reports: the driver match of a PCI function" },
	{ "/sys/*/" PCIFN "/enable", COPY_TEXT, "for bug reports: whether a PCI function is enabled" },
	{ "/sys/*/" PCIFN "/power_state", COPY_TEXT, "for bug reports: PCI power state" },
	{ "/sys/*/" PCIFN "/label", COPY_TEXT, "for bug reports: the firmware's label of a device" },
	{ "/sys/*/" PCIFN "/sriov_numvfs", COPY_TEXT, "for bug reports: SR-IOV virtual functions enabled" },
	{ "/sys/*/" PCIFN "/sriov_totalvfs", COPY_TEXT, "for bug reports: SR-IOV virtual functions possible" },
	{ "/sys/*/" PCIFN "/aer_dev_*", COPY_TEXT, "for bug reports: PCIe error counters" },
	{ "/sys/*/net/*/ifindex", COPY_TEXT, "for bug reports: interface index of a NIC" },
	{ "/sys/*/net/*/mtu", COPY_TEXT, "for bug reports: MTU of a NIC" },
	{ "/sys/*/net/*/speed", COPY_TEXT, "for bug reports: link speed of a NIC" },
	{ "/sys/*/net/*/operstate", COPY_TEXT, "for bug reports: link state of a NIC" },
	{ "/sys/*/net/*/type", COPY_TEXT, "for bug reports: link type of a NIC (Ethernet, InfiniBand)" },
	{ "/sys/*/net/*/tx_queue_len", COPY_TEXT, "for bug reports: transmit queue length of a NIC" },
	{ "/sys/*/infiniband/*/dev", COPY_TEXT, "for bug reports: device number of an RDMA device" },
	{ "/sys/*/infiniband/*/node_type", COPY_TEXT, "for bug reports: kind of RDMA device" },
	{ "/sys/*/infiniband/*/fw_ver", COPY_TEXT, "for bug reports: firmware of an RDMA device" },
	{ "/sys/*/infiniband/*/hca_type", COPY_TEXT, "for bug reports: model of an RDMA device" },
	{ "/sys/*/nvme/*/dev", COPY_TEXT, "for bug reports: device number of an NVMe controller" },
	{ "/sys/*/nvme/*/model", COPY_TEXT, "for bug reports: model of an NVMe controller" },
	{ "/sys/*/nvme/*/firmware_rev", COPY_TEXT, "for bug reports: firmware of an NVMe controller" },
	{ "/sys/*/nvme/*/queue_count", COPY_TEXT, "for bug reports: I/O queues of an NVMe controller" },
	{ "/sys/*block/*/queue/read_ahead_kb", COPY_TEXT, "block domain: read-ahead of a disk" },
	{ "/sys/*block/*/queue/nr_requests", COPY_TEXT, "block domain: scheduler queue depth of a disk" },
	{ "/sys/*block/*/queue/rq_affinity", COPY_TEXT, "block domain: completion CPU of a disk" },
	{ "/sys/*block/*/queue/scheduler", COPY_TEXT, "block domain: I/O scheduler of a disk" },
	{ "/sys/*block/*/queue/rotational", COPY_TEXT, "block domain: solid-state or rotating disk" },
	{ "/sys/kernel/irq/[0-9]*/actions", COPY_TEXT, "IRQ names (owning device)" },
	{ "/sys/kernel/irq/[0-9]*/chip_name", COPY_TEXT, "IRQ chips" },
	{ "/sys/kernel/irq/[0-9]*/hwirq", COPY_TEXT, "hardware IRQ numbers" },
	{ "/sys/kernel/debug/irq/irqs/[0-9]*", COPY_TEXT, "kernel-managed IRQs (IRQD_AFFINITY_MANAGED)" },
	{ "@cgroup/cpuset.*", COPY_TEXT, "the CPUs and memory nodes of the cgroup (cpuset restriction)" },
	{ "@cgroup/cgroup.controllers", COPY_TEXT, "the controllers of the cgroup" },
	{ "@cgroup/cgroup.subtree_control", COPY_TEXT, "for bug reports: the controllers of its children" },
	{ "@cgroup/cgroup.type", COPY_TEXT, "for bug reports: the cgroup's type (threaded, domain)" },
	{ "@cgroup/cpus", COPY_TEXT, "cpuset of a cgroup v1 cpuset mount without prefixes" },
	{ "@cgroup/mems", COPY_TEXT, "cpuset of a cgroup v1 cpuset mount without prefixes" },
	{ "@cgroup/effective_cpus", COPY_TEXT, "cpuset of a cgroup v1 cpuset mount without prefixes" },
	{ "@cgroup/effective_mems", COPY_TEXT, "cpuset of a cgroup v1 cpuset mount without prefixes" },
};

/* never copied nor followed, allow-list or not: a path with a component matching one of these */
static const struct copy_rule never[] = {
	{ "environ", COPY_TEXT, "process environments" },
	{ "mem", COPY_TEXT, "process memory" },
	{ "pagemap", COPY_TEXT, "process memory maps" },
	{ "kcore", COPY_TEXT, "kernel memory" },
	{ "kmsg", COPY_TEXT, "kernel log" },
	{ "config", COPY_TEXT, "PCI configuration space: device serial numbers, VPD" },
	{ "vpd", COPY_TEXT, "PCI vital product data: serial and part numbers" },
	{ "rom", COPY_TEXT, "PCI option ROMs" },
	{ "address", COPY_TEXT, "MAC addresses of network interfaces" },
	{ "perm_addr", COPY_TEXT, "permanent MAC addresses" },
	{ "*serial*", COPY_TEXT, "serial numbers" },
	{ "*uuid*", COPY_TEXT, "UUIDs" },
	{ "cpuidle", COPY_TEXT, "noise: idle-state counters" },
	{ "power", COPY_TEXT, "noise: runtime power management" },
	{ "uevent", COPY_TEXT, "noise: uevent variables" },
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

struct capture {
	const char *root; /* "/" or a directory */
	char stage[PATH_MAX];
	char cgroup[PATH_MAX]; /* the snapshot's cgroup directory, normalised; "" when none */
	char **paths;
	size_t n_paths, cap;
	size_t files, links, redacted, left_out;
};

static void on_read(void *userdata, const char *path)
{
	struct capture *c = userdata;

	if (c->n_paths == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 1024;
		char **np = realloc(c->paths, ncap * sizeof(*np));

		if (!np)
			return;
		c->paths = np;
		c->cap = ncap;
	}
	if ((c->paths[c->n_paths] = strdup(path)))
		c->n_paths++;
}

/* a component of PATH is on the never-list */
static bool excluded(const char *path)
{
	char buf[PATH_MAX], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save))
		for (size_t i = 0; i < N_OF(never); i++)
			if (!fnmatch(never[i].glob, t, 0))
				return true;
	return false;
}

/* a knob of a registered domain's table (a fixed path: sysctls, scheduler debug files) is copied too */
static const struct copy_rule *domain_knob(const char *path)
{
	static const struct copy_rule knob_rule = { "(a knob of a domain)", COPY_TEXT, "a knob a domain sets" };
	size_t n, k;
	const struct asios_domain *const *d = asios_domains(&n);

	for (size_t i = 0; i < n; i++) {
		const struct asios_knob *t = d[i]->knobs ? d[i]->knobs(&k) : NULL;

		for (size_t j = 0; t && j < k; j++)
			if (!strchr(t[j].path, '%') && !strcmp(t[j].path, path))
				return &knob_rule;
	}
	return NULL;
}

/* the allow-list entry PATH (normalised, absolute) falls under; NULL: not copied */
static const struct copy_rule *allowed(const struct capture *c, const char *path)
{
	size_t n = strlen(c->cgroup);

	for (size_t i = 0; i < N_OF(copy_allow); i++) {
		const char *g = copy_allow[i].glob;

		if (!strncmp(g, "@cgroup/", 8)) {
			if (n && !strncmp(path, c->cgroup, n) && path[n] == '/' &&
			    !fnmatch(g + 8, path + n + 1, FNM_PATHNAME))
				return &copy_allow[i];
		} else if (!fnmatch(g, path, 0)) {
			return &copy_allow[i];
		}
	}
	return domain_knob(path);
}

static void live(const struct capture *c, const char *path, char *out, size_t n)
{
	snprintf(out, n, "%s%s", strcmp(c->root, "/") ? c->root : "", path);
}

static int mkdirs(const char *path)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* text as sysfs and procfs write it: no control bytes but tab, newline, carriage return and NUL (which ends
 * the files of trees gathered by hwloc-gather-topology) */
static bool is_text(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)buf[i];

		if ((ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r' && ch != '\0') || ch == 0x7f)
			return false;
	}
	return true;
}

static int gunzip(const char *in, size_t n, char **ret, size_t *ret_len)
{
	z_stream zs = { 0 };
	size_t cap = 4 * n + 4096, len = 0;
	char *buf = malloc(cap);
	int r = -EINVAL;

	if (!buf)
		return -ENOMEM;
	if (inflateInit2(&zs, 15 + 32) != Z_OK) { /* 32: a gzip header */
		free(buf);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)n;
	for (;;) {
		int z;

		if (len == cap) {
			char *nb = cap < COPY_MAX ? realloc(buf, cap * 2) : NULL;

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		zs.next_out = (Bytef *)buf + len;
		zs.avail_out = (uInt)(cap - len);
		z = inflate(&zs, Z_NO_FLUSH);
		len = cap - zs.avail_out;
		if (z == Z_STREAM_END) {
			*ret_len = len;
			*ret = buf;
			buf = NULL;
			r = 0;
			break;
		}
		if ((z != Z_OK && z != Z_BUF_ERROR) || (z == Z_BUF_ERROR && !zs.avail_in))
			break;
	}
	inflateEnd(&zs);
	free(buf);
	return r;
}

static int gzip(const char *in, size_t n, char **ret, size_t *ret_len)
{
	z_stream zs = { 0 };
	size_t cap;
	char *buf;
	int z;

	if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&zs, (uLong)n);
	buf = malloc(cap);
	if (!buf) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)n;
	zs.next_out = (Bytef *)buf;
	zs.avail_out = (uInt)cap;
	z = deflate(&zs, Z_FINISH);
	*ret_len = zs.total_out;
	deflateEnd(&zs);
	if (z != Z_STREAM_END) {
		free(buf);
		return -EIO;
	}
	*ret = buf;
	return 0;
}

static char *read_all(const char *src, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf;
	ssize_t k;
	int in;

	in = open(src, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	if (in < 0)
		return NULL; /* write-only or root-only sysfs attributes: not part of any snapshot */
	buf = malloc(cap);
	while (buf && (k = read(in, buf + n, cap - n)) > 0) {
		n += (size_t)k;
		if (n == cap) {
			char *nb = cap < COPY_MAX ? realloc(buf, cap * 2) : NULL;

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(in);
	*len = n;
	return buf;
}

/* The content of PATH as it goes into the capture: NULL when it is left out. */
static char *transform(struct capture *c, const struct copy_rule *rule, const char *src, size_t *len)
{
	char *raw, *text = NULL, *clean = NULL, *out = NULL;
	size_t n, tn, cn, redacted = 0;

	raw = read_all(src, &n);
	if (!raw)
		return NULL;
	if (rule->as == COPY_GZIP) {
		if (gunzip(raw, n, &text, &tn) < 0)
			goto out;
	} else {
		text = raw, tn = n, raw = NULL;
	}
	if (!is_text(text, tn) || redact_text(text, tn, &clean, &cn, &redacted) < 0)
		goto out;
	if (redact_find(clean, cn, NULL) >= 0) /* cannot happen (the fuzzer holds redact_text to it); fail closed */
		goto out;
	if (rule->as == COPY_GZIP) {
		if (gzip(clean, cn, &out, len) < 0)
			goto out;
	} else {
		out = clean, *len = cn, clean = NULL;
	}
	c->redacted += redacted;
out:
	free(raw);
	free(text);
	free(clean);
	return out;
}

static void copy_file(struct capture *c, const char *path, bool recorded)
{
	const struct copy_rule *rule = allowed(c, path);
	char src[PATH_MAX], dst[PATH_MAX], *buf;
	size_t n;
	int out;

	if (!rule || excluded(path)) {
		/* a file the snapshot itself read: the allow-list lags behind libasios */
		if (recorded)
			log_error("snapshot: %s: read by the snapshot but not on the allow-list, left out", path);
		c->left_out++;
		return;
	}
	live(c, path, src, sizeof(src));
	snprintf(dst, sizeof(dst), "%s%s", c->stage, path);
	if (access(dst, F_OK) == 0)
		return;
	buf = transform(c, rule, src, &n);
	if (!buf) {
		c->left_out++;
		return;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (out >= 0) {
		if (write(out, buf, n) == (ssize_t)n)
			c->files++;
		close(out);
	}
	free(buf);
}

static void stage_path(struct capture *c, const char *path, int hops, bool list, bool recorded);

/* recreate the entries of a listed directory one level deep (allowed files, links, empty subdirectories) */
static void stage_listing(struct capture *c, const char *dir)
{
	char src[PATH_MAX], p[PATH_MAX];
	struct dirent *de;
	DIR *d;

	live(c, dir, src, sizeof(src));
	d = opendir(src);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		snprintf(p, sizeof(p), "%s/%s", strcmp(dir, "/") ? dir : "", de->d_name);
		stage_path(c, p, 0, false, false);
	}
	closedir(d);
}

/* Recreate PATH in the stage: every directory and symlink on the way, and the file at the end. */
static void stage_path(struct capture *c, const char *path, int hops, bool list, bool recorded)
{
	char cur[PATH_MAX] = "", src[PATH_MAX], dst[PATH_MAX], rest[PATH_MAX];
	const char *p = path;
	struct stat st;

	if (hops > 16 || excluded(path))
		return;
	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (!n)
			break;
		snprintf(cur + strlen(cur), sizeof(cur) - strlen(cur), "/%.*s", (int)n, p);
		p += n;
		live(c, cur, src, sizeof(src));
		snprintf(dst, sizeof(dst), "%s%s", c->stage, cur);
		if (lstat(src, &st) < 0)
			return;
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX], resolved[PATH_MAX * 2], dirbuf[PATH_MAX];
			ssize_t k = readlink(src, target, sizeof(target) - 1);

			if (k < 0)
				return;
			target[k] = '\0';
			if (symlink(target, dst) == 0)
				c->links++;
			snprintf(dirbuf, sizeof(dirbuf), "%s", cur);
			if (target[0] == '/')
				snprintf(resolved, sizeof(resolved), "%s%s", target, p);
			else
				snprintf(resolved, sizeof(resolved), "%s/%s%s", dirname(dirbuf), target, p);
			/* normalise "a/b/../c" textually: the links are relative within the tree */
			snprintf(rest, sizeof(rest), "%s", resolved);
			{
				char *parts[512], *save = NULL, *t, norm[PATH_MAX] = "";
				size_t np = 0;

				for (t = strtok_r(rest, "/", &save); t && np < 512; t = strtok_r(NULL, "/", &save)) {
					if (!strcmp(t, "."))
						continue;
					if (!strcmp(t, "..")) {
						if (np)
							np--;
						continue;
					}
					parts[np++] = t;
				}
				for (size_t i = 0; i < np; i++)
					snprintf(norm + strlen(norm), sizeof(norm) - strlen(norm), "/%s", parts[i]);
				stage_path(c, norm[0] ? norm : "/", hops + 1, list, recorded);
			}
			return;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdir(dst, 0755) < 0 && errno != EEXIST)
				return;
			continue;
		}
		if (S_ISREG(st.st_mode) && !*p)
			copy_file(c, cur, recorded);
		return;
	}
	if (list && cur[0])
		stage_listing(c, cur);
}

/* copy a tree up to DEPTH levels (for the sysfs parts hwloc reads) */
static void stage_tree(struct capture *c, const char *dir, int depth)
{
	char src[PATH_MAX], p[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;

	stage_path(c, dir, 0, false, false);
	live(c, dir, src, sizeof(src));
	d = depth > 0 ? opendir(src) : NULL;
	if (!d)
		return;
	while ((de = readdir(d))) {
		char s2[PATH_MAX];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		live(c, p, s2, sizeof(s2));
		if (excluded(p) || lstat(s2, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			stage_tree(c, p, depth - 1);
		else
			stage_path(c, p, 0, false, false);
	}
	closedir(d);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* tar's option for the compression the output's suffix asks for (as tar -a picks it); NULL: none */
static const char *compression(const char *name)
{
	static const struct {
		const char *suffix, *option;
	} by_suffix[] = {
		{ ".gz", "--gzip" },   { ".tgz", "--gzip" },  { ".taz", "--gzip" },	{ ".xz", "--xz" },
		{ ".txz", "--xz" },    { ".bz2", "--bzip2" }, { ".tbz", "--bzip2" },	{ ".tbz2", "--bzip2" },
		{ ".tz2", "--bzip2" }, { ".zst", "--zstd" },  { ".tzst", "--zstd" },	{ ".lz", "--lzip" },
		{ ".lzma", "--lzma" }, { ".tlz", "--lzma" },  { ".lzo", "--lzop" },	{ ".Z", "--compress" },
		{ ".taZ", "--compress" },
	};
	size_t n = strlen(name);

	for (size_t i = 0; i < N_OF(by_suffix); i++) {
		size_t k = strlen(by_suffix[i].suffix);

		if (n > k && !strcmp(name + n - k, by_suffix[i].suffix))
			return by_suffix[i].option;
	}
	return NULL;
}

/* tar of PARENT/NAME onto FD (compressed as OUT's suffix says); NAME may start with '-' */
static int run_tar(const char *parent, const char *name, const char *out, int fd)
{
	const char *z = compression(out);
	char *argv[16];
	size_t k = 0;
	posix_spawn_file_actions_t fa;
	extern char **environ;
	int status, r;
	pid_t pid;

	argv[k++] = "tar";
	argv[k++] = "--owner=0";
	argv[k++] = "--group=0";
	argv[k++] = "--numeric-owner";
	argv[k++] = "-C";
	argv[k++] = (char *)parent;
	argv[k++] = "-cf";
	argv[k++] = "-";
	if (z)
		argv[k++] = (char *)z;
	argv[k++] = "--"; /* an output named -x.tar.gz makes a folder -x, not an option */
	argv[k++] = (char *)name;
	argv[k] = NULL;
	r = posix_spawn_file_actions_init(&fa);
	if (r != 0)
		return -r;
	r = posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
	if (r == 0)
		r = posix_spawnp(&pid, "tar", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -r;
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* the tarball: written to a private (0600) file beside OUTABS, renamed over it when complete */
static int write_tarball(const char *parent, const char *name, const char *outabs)
{
	char tmp[PATH_MAX], dirbuf[PATH_MAX];
	int fd, r;

	snprintf(dirbuf, sizeof(dirbuf), "%s", outabs);
	snprintf(tmp, sizeof(tmp), "%s/.asios-snapshot-XXXXXX", dirname(dirbuf));
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = run_tar(parent, name, outabs, fd);
	if (r == 0 && (fchmod(fd, 0600) < 0 || fsync(fd) < 0))
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, outabs) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/* the snapshot's cgroup directory without doubled or trailing slashes */
static void cgroup_dir(const struct asios_snapshot *s, char *out, size_t n)
{
	char raw[PATH_MAX];
	size_t o = 0;

	out[0] = '\0';
	if (!s->cgroup.version || !s->cgroup.mount || !s->cgroup.path)
		return;
	snprintf(raw, sizeof(raw), "%s/%s", s->cgroup.mount, s->cgroup.path);
	for (size_t i = 0; raw[i] && o + 1 < n; i++)
		if (raw[i] != '/' || !o || out[o - 1] != '/')
			out[o++] = raw[i];
	while (o > 1 && out[o - 1] == '/')
		o--;
	out[o] = '\0';
}

/*
 * Every registered domain observes the machine under the recorder, with the policy the machine has (its
 * defaults when that policy does not read): a plan on the capture reads what the plan on the machine read.
 */
static void observe_domains(const char *root_path, struct asios_root *root, const struct asios_snapshot *s)
{
	size_t n;
	const struct asios_domain *const *d = asios_domains(&n);
	const char *prefix = strcmp(root_path, "/") ? root_path : "";

	(void)asios_conf_set_root(*prefix ? root_path : NULL);
	for (size_t i = 0; i < n; i++) {
		struct asios_domain_run run = { 0 };
		char conf[PATH_MAX], conf_d[PATH_MAX], *error = NULL;

		snprintf(conf, sizeof(conf), "%s%s", prefix, d[i]->conf);
		snprintf(conf_d, sizeof(conf_d), "%s%s", prefix, d[i]->conf_d);
		if (asios_domain_policy(d[i], conf, conf_d, &run, &error) < 0) {
			log_error("snapshot: %s; the %s domain observes with its defaults", error ? error : "policy", d[i]->name);
			asios_domain_run_clear(&run);
			free(error);
			error = NULL;
			if (asios_domain_policy(d[i], NULL, NULL, &run, &error) < 0) {
				free(error);
				asios_domain_run_clear(&run);
				continue;
			}
		}
		if (asios_domain_observe(&run, root, s) < 0)
			log_error("snapshot: the %s domain could not observe the machine; its files may be missing", d[i]->name);
		asios_domain_run_clear(&run);
	}
}

static int capture(const char *root_path, const char *out)
{
	static const char *const hwloc_files[] = { "/proc/cpuinfo", "/proc/meminfo", "/proc/mounts", "/proc/self/cgroup",
						   "/proc/self/cpuset", "/proc/self/status", "/proc/cmdline",
						   "/proc/sys/kernel/osrelease", NULL };
	char tmpl[] = "/tmp/asios-snapshot-XXXXXX", name[256], *base, *dot, outabs[PATH_MAX], dirbuf[PATH_MAX];
	struct capture c = { .root = root_path };
	size_t n_own;
	struct asios_snapshot *s;
	struct asios_root *root;
	int r;

	snprintf(dirbuf, sizeof(dirbuf), "%s", out);
	if (!realpath(dirname(dirbuf), outabs)) {
		log_error("snapshot: %s: %m", out);
		return -errno;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", out);
	base = basename(dirbuf);
	snprintf(outabs + strlen(outabs), sizeof(outabs) - strlen(outabs), "/%s", base);
	snprintf(name, sizeof(name), "%s", base);
	if ((dot = strstr(name, ".tar")) || (dot = strchr(name, '.')))
		*dot = '\0';
	if (!name[0])
		snprintf(name, sizeof(name), "snapshot");

	if (asios_root_open(root_path, &root) < 0) {
		log_error("snapshot: cannot open root %s: %m", root_path);
		return -errno;
	}
	asios_root_set_recorder(root, on_read, &c);
	r = asios_snapshot_load(root, &s);
	n_own = c.n_paths;
	if (r >= 0)
		observe_domains(root_path, root, s);
	asios_root_set_recorder(root, NULL, NULL);
	asios_root_free(root);
	if (r < 0) {
		log_error("snapshot: cannot read the machine under %s: %s", root_path, strerror(-r));
		return r;
	}
	if (!mkdtemp(tmpl)) {
		log_error("snapshot: temporary folder: %m");
		asios_snapshot_free(s);
		return -errno;
	}
	snprintf(c.stage, sizeof(c.stage), "%s/%s", tmpl, name);
	if ((r = mkdirs(c.stage)) < 0) {
		log_error("snapshot: %s: %s", c.stage, strerror(-r));
		goto out;
	}
	cgroup_dir(s, c.cgroup, sizeof(c.cgroup));
	/* what the domains read: the files the allow-list takes, and the folders of /sys they listed (not those of
	 * /proc, whose links name the files of processes) */
	for (size_t i = 0; i < c.n_paths; i++)
		if (i < n_own || allowed(&c, c.paths[i]) || !strncmp(c.paths[i], "/sys/", 5))
			stage_path(&c, c.paths[i], 0, true, i < n_own);
	for (size_t i = 0; hwloc_files[i]; i++)
		stage_path(&c, hwloc_files[i], 0, false, false);
	stage_tree(&c, "/sys/devices/system/cpu", 4);
	stage_tree(&c, "/sys/devices/system/node", 4);
	if (c.cgroup[0]) {
		stage_tree(&c, c.cgroup, 0);
		stage_path(&c, c.cgroup, 0, true, false);
	}
	r = write_tarball(tmpl, name, outabs);
	if (r < 0)
		log_error("snapshot: writing %s: %s", out, strerror(-r));
	else
		fprintf(stderr,
			"asiosctl: wrote %s: %zu files, %zu links, %zu values redacted, %zu files not on the allow-list "
			"left out (extract it and pass the folder %s/ as --root)\n",
			out, c.files, c.links, c.redacted, c.left_out, name);
out:
	nftw(tmpl, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	for (size_t i = 0; i < c.n_paths; i++)
		free(c.paths[i]);
	free(c.paths);
	asios_snapshot_free(s);
	return r;
}

static void print_rules(void)
{
	const char *const *words, *const *parts, *except, *name, *what;

	printf("Files copied (their content; anything else a listed folder holds is left out):\n");
	for (size_t i = 0; i < N_OF(copy_allow); i++) {
		const char *g = copy_allow[i].glob, *fn = strstr(g, PCIFN);
		char shown[256];

		/* (the PCI function pattern as the address it matches) */
		if (fn)
			snprintf(shown, sizeof(shown), "%.*sDDDD:BB:DD.F%s", (int)(fn - g), g, fn + strlen(PCIFN));
		else
			snprintf(shown, sizeof(shown), "%s", g);
		printf("  %-44s %s%s\n", shown, copy_allow[i].why,
		       copy_allow[i].as == COPY_GZIP ? " (gzip: redacted inside)" : "");
	}
	printf("\nNever copied (a path with such a component):\n");
	for (size_t i = 0; i < N_OF(never); i++)
		printf("  %-44s %s\n", never[i].glob, never[i].why);
	printf("\nRedaction rules (every file copied; the secret part of a match becomes %s):\n", REDACT_MARKER);
	for (size_t i = 0; redact_rule(i, &name, &what); i++)
		printf("  %-22s %s\n", name, what);
	redact_secret_names(&words, &parts, &except);
	printf("\nA NAME names a secret when it contains");
	for (size_t i = 0; words[i]; i++)
		printf("%s %s", i ? "," : "", words[i]);
	printf(",\nor one of its parts (split at . _ - and small-to-capital changes, trailing digits dropped) is");
	for (size_t i = 0; parts[i]; i++)
		printf("%s %s", i ? "," : "", parts[i]);
	printf(",\nin any case; never when it starts with %s.\n", except);
}

int verb_snapshot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "rules", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *root = "/", *out = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "r:o:h", opts, NULL)) != -1) {
		if (empty_option("snapshot", c, optarg))
			return 2;
		switch (c) {
		case 'r':
			root = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'R':
			print_rules();
			return 0;
		case 'h':
			printf("Usage: asiosctl snapshot -o FILE.tar.gz [--root DIR]\n"
			       "       asiosctl snapshot --rules\n\n"
			       "Capture the files a snapshot of this machine reads (sysfs, procfs, cgroup) into a tarball\n"
			       "with one top-level folder, usable as `asiosctl topology --root FOLDER`. Attach it to bug\n"
			       "reports: only files on an allow-list are copied (no process environments, PCI configuration\n"
			       "space, MAC addresses, serial numbers or UUIDs), every one is redacted (passwords, keys,\n"
			       "tokens, URL credentials, signed-URL signatures, UUIDs, hardware addresses), and the tarball\n"
			       "is readable by its owner only. The suffix picks the compression (.gz, .xz, .bz2, .zst).\n"
			       "--rules lists what is copied and what is redacted.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!out || optind != argc) {
		log_error("snapshot: usage: asiosctl snapshot -o FILE [--root DIR]");
		return 2;
	}
	return capture(root, out) < 0 ? 1 : 0;
}
