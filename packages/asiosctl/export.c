/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asiosctl export slurm|kubernetes|nccl: what the snapshot knows, in the configuration files of the engines a fleet
 * already runs. Slurm: a gres.conf (a line per NVIDIA GPU with its cores and links) and a slurm.conf node line
 * (sockets, cores, threads, memory, GPUs, the housekeeping CPUs as CpuSpecList). Kubernetes: a Node Feature
 * Discovery local features file (asios.io/ labels) and a KubeletConfiguration drop-in (static CPU manager, the
 * housekeeping CPUs reserved, topology manager). NCCL: a topology file and /etc/nccl.conf (export-nccl.c). Conventions are documented in docs/fleet.md and asiosctl(1).
 * The files go to stdout (each after a "==> NAME <==" line, as head(1) prints several files), as JSON, or into
 * --output-dir; nothing is installed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "asios/cpulist.h"
#include "asios/root.h"
#include "asiosctl.h"
#include "export.h"

#define N_FILES EXPORT_N_FILES

struct export_args {
	const char *target, *root, *outdir, *node_name;
	bool json;
};

static void usage(void)
{
	printf("Usage: asiosctl export slurm|kubernetes|nccl [--root DIR] [--output-dir DIR] [--node-name NAME] [--json]\n\n"
	       "Write what ASIOS knows of the machine as configuration of the engines a fleet already runs:\n"
	       "  slurm       gres.conf (a line per NVIDIA GPU: File=/dev/nvidiaN in PCI address order, Cores= the\n"
	       "              logical cores of its NUMA node that are not housekeeping, Links=) and slurm-node.conf (a\n"
	       "              NodeName= line; CpuSpecList= the housekeeping CPUs when CPUs are isolated)\n"
	       "  kubernetes  asios (Node Feature Discovery features.d file, asios.io/ labels) and 90-asios.conf (a\n"
	       "              KubeletConfiguration drop-in: static CPU manager, reservedSystemCPUs, topology manager)\n"
	       "  nccl        nccl-topo.xml (NCCL_TOPO_FILE: a <cpu> per NUMA node, the PCI tree to its GPUs and NICs) and\n"
	       "              nccl.conf (/etc/nccl.conf: NCCL_TOPO_FILE, NCCL_IB_HCA of the NICs paired with a GPU behind\n"
	       "              the same PCIe switch, NCCL_SOCKET_IFNAME of the NICs without RDMA)\n\n"
	       "Files go to stdout, each after a \"==> NAME <==\" line; --output-dir writes them into DIR (which must\n"
	       "exist), --json prints them as one JSON object. --root reads a capture; --node-name sets the Slurm\n"
	       "NodeName (default: the short host name of the machine read). Nothing is installed: see asiosctl(1).\n");
}

static bool is_accel(const struct asios_pci_device *d)
{
	return d->cls == ASIOS_DEV_GPU || d->cls == ASIOS_DEV_ACCEL;
}

static bool is_nvidia(const struct asios_pci_device *d)
{
	return is_accel(d) && d->vendor == 0x10de;
}

/* CPUs a workload may use: the online ones without the housekeeping ones when CPUs are isolated, else all */
static hwloc_bitmap_t workload_cpus(const struct asios_snapshot *s)
{
	hwloc_bitmap_t w = hwloc_bitmap_dup(s->online);

	if (w && !hwloc_bitmap_iszero(s->isolation.housekeeping) &&
	    !hwloc_bitmap_isincluded(s->online, s->isolation.housekeeping))
		hwloc_bitmap_andnot(w, w, s->isolation.housekeeping);
	return w;
}

static bool isolated(const struct asios_snapshot *s)
{
	return !hwloc_bitmap_iszero(s->isolation.housekeeping) &&
	       !hwloc_bitmap_isincluded(s->online, s->isolation.housekeeping);
}

/* Slurm logical core indices (hwloc's Core L#) of NODE whose online CPUs are all workload CPUs */
static hwloc_bitmap_t node_cores(const struct asios_snapshot *s, int node, hwloc_const_bitmap_t work)
{
	hwloc_bitmap_t cores = hwloc_bitmap_alloc(), bad = hwloc_bitmap_alloc();

	if (!cores || !bad) {
		hwloc_bitmap_free(bad);
		hwloc_bitmap_free(cores);
		return NULL;
	}
	for (size_t i = 0; i < s->n_cpus; i++) {
		const struct asios_cpu *c = &s->cpus[i];

		if (!c->online || c->core < 0)
			continue;
		if (!hwloc_bitmap_isset(work, c->id))
			hwloc_bitmap_set(bad, (unsigned)c->core);
		else if (c->node == node)
			hwloc_bitmap_set(cores, (unsigned)c->core);
	}
	hwloc_bitmap_andnot(cores, cores, bad);
	hwloc_bitmap_free(bad);
	return cores;
}

/* Slurm abstract CPU IDs of SET: core index × threads per core + the thread's rank in its core (OS order) */
static hwloc_bitmap_t abstract_ids(const struct asios_snapshot *s, hwloc_const_bitmap_t set, unsigned *tpc_ret)
{
	unsigned *rank = calloc(s->n_cores + 1, sizeof(*rank)), tpc = 1;
	hwloc_bitmap_t out = hwloc_bitmap_alloc();

	if (!rank || !out) {
		free(rank);
		hwloc_bitmap_free(out);
		return NULL;
	}
	for (size_t i = 0; i < s->n_cpus; i++)
		if (s->cpus[i].online && s->cpus[i].core >= 0 && (size_t)s->cpus[i].core < s->n_cores &&
		    ++rank[s->cpus[i].core] > tpc)
			tpc = rank[s->cpus[i].core];
	memset(rank, 0, (s->n_cores + 1) * sizeof(*rank));
	for (size_t i = 0; i < s->n_cpus; i++) {
		const struct asios_cpu *c = &s->cpus[i];

		if (!c->online || c->core < 0 || (size_t)c->core >= s->n_cores)
			continue;
		if (hwloc_bitmap_isset(set, c->id))
			hwloc_bitmap_set(out, (unsigned)c->core * tpc + rank[c->core]);
		rank[c->core]++;
	}
	free(rank);
	if (tpc_ret)
		*tpc_ret = tpc;
	return out;
}

/* print SET as a CPU list with SEP between ranges ("," for Slurm and the kubelet, "_" in a label) */
static void put_list(FILE *f, hwloc_const_bitmap_t set, char sep)
{
	char *l = asios_cpulist_format(set);

	for (char *p = l; p && *p; p++)
		fputc(*p == ',' ? sep : *p, f);
	free(l);
}

static void gres_line(FILE *f, const struct asios_snapshot *s, size_t dev, unsigned minor, unsigned n_gpus,
		      hwloc_const_bitmap_t work)
{
	const struct asios_pci_device *d = &s->pci[dev];
	hwloc_bitmap_t cores = d->node >= 0 ? node_cores(s, d->node, work) : NULL;

	fprintf(f, "Name=gpu File=/dev/nvidia%u", minor);
	if (cores && !hwloc_bitmap_iszero(cores)) {
		fputs(" Cores=", f);
		put_list(f, cores, ',');
	}
	fputs(" Links=", f);
	for (unsigned k = 0; k < n_gpus; k++)
		fprintf(f, "%s%d", k ? "," : "", k == minor ? -1 : 0);
	fprintf(f, "  # %s, NUMA node %d", d->addr, d->node);
	if (!cores || hwloc_bitmap_iszero(cores))
		fputs(d->node < 0 ? ", node unknown: no Cores=" : ", no workload core on its node: no Cores=", f);
	fputc('\n', f);
	hwloc_bitmap_free(cores);
}

static void write_gres(FILE *f, const struct asios_snapshot *s)
{
	hwloc_bitmap_t work = workload_cpus(s);
	unsigned n = 0, minor = 0;

	for (size_t i = 0; i < s->n_pci; i++)
		n += is_nvidia(&s->pci[i]);
	fputs("# Slurm gres.conf written by asiosctl export slurm (see asiosctl(1)).\n"
	      "# File=: NVIDIA device files numbered in PCI address order (the order Slurm numbers GPUs in).\n"
	      "# Cores=: Slurm logical core indices (lstopo Core L#) of the GPU's NUMA node, housekeeping cores left out\n"
	      "# when CPUs are isolated. Links=: -1 the device itself, 0 the others (no NVLink counts known).\n", f);
	if (!n)
		fputs("# no NVIDIA GPU found\n", f);
	for (size_t i = 0; work && i < s->n_pci; i++) {
		if (is_nvidia(&s->pci[i]))
			gres_line(f, s, i, minor++, n, work);
		else if (is_accel(&s->pci[i]))
			fprintf(f, "# %s (%s, %s): not NVIDIA, left out (no device file convention)\n", s->pci[i].addr,
				asios_dev_class_name(s->pci[i].cls),
				s->pci[i].vendor_name ? s->pci[i].vendor_name : "unknown vendor");
	}
	hwloc_bitmap_free(work);
}

/* MemTotal in MiB (what slurmd reports), else the sum of the NUMA nodes' memory */
static unsigned long long real_memory_mib(struct asios_root *root, const struct asios_snapshot *s)
{
	unsigned long long kb = 0, bytes = 0;
	char *text = NULL, *p;

	if (asios_read_file(root, "/proc/meminfo", &text, NULL) >= 0 && (p = strstr(text, "MemTotal:")) &&
	    sscanf(p, "MemTotal: %llu kB", &kb) == 1) {
		free(text);
		return kb / 1024;
	}
	free(text);
	for (size_t i = 0; i < s->n_nodes; i++)
		bytes += s->nodes[i].memory_bytes;
	return bytes >> 20;
}

/* the short host name: --node-name, the root's /proc/sys/kernel/hostname, else "localhost" */
static void node_name(struct asios_root *root, const struct export_args *a, char *buf, size_t size)
{
	char *h = NULL;

	if (a->node_name)
		snprintf(buf, size, "%s", a->node_name);
	else if (asios_read_line(root, "/proc/sys/kernel/hostname", &h) >= 0 && *h)
		snprintf(buf, size, "%.*s", (int)strcspn(h, "."), h);
	else
		snprintf(buf, size, "localhost");
	free(h);
}

static void write_node(FILE *f, struct asios_root *root, const struct asios_snapshot *s, const struct export_args *a)
{
	unsigned n_gpus = 0, tpc = 1, packages = s->n_packages ? s->n_packages : 1;
	hwloc_bitmap_t spec = abstract_ids(s, s->isolation.housekeeping, &tpc);
	char host[256];

	for (size_t i = 0; i < s->n_pci; i++)
		n_gpus += is_nvidia(&s->pci[i]);
	node_name(root, a, host, sizeof(host));
	fputs("# Slurm node line written by asiosctl export slurm (see asiosctl(1)): Include it from slurm.conf.\n", f);
	if (n_gpus)
		fputs("# Gres=gpu needs GresTypes=gpu in slurm.conf and the gres.conf beside it.\n", f);
	if (isolated(s) && spec) {
		fputs("# CpuSpecList=: Slurm abstract CPU IDs of the housekeeping CPUs (OS CPUs ", f);
		put_list(f, s->isolation.housekeeping, ',');
		fputs("), kept for system daemons.\n", f);
	}
	fprintf(f, "NodeName=%s CPUs=%d Boards=1 SocketsPerBoard=%u CoresPerSocket=%u ThreadsPerCore=%u RealMemory=%llu",
		host, hwloc_bitmap_weight(s->online), packages, s->n_cores / packages, tpc, real_memory_mib(root, s));
	if (n_gpus)
		fprintf(f, " Gres=gpu:%u", n_gpus);
	if (isolated(s) && spec) {
		fputs(" CpuSpecList=", f);
		put_list(f, spec, ',');
	}
	fputc('\n', f);
	hwloc_bitmap_free(spec);
}

/* ---- Kubernetes ---- */

static bool label_char(char c, bool end)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (!end && (c == '-' || c == '_' || c == '.'));
}

/* NAME=VALUE when VALUE is a valid label value (at most 63 characters of [A-Za-z0-9._-], alphanumeric at both
 * ends), else a comment saying why it is left out */
static void label(FILE *f, const char *name, const char *value)
{
	size_t n = strlen(value);
	bool ok = n > 0 && n <= 63;

	for (size_t i = 0; ok && i < n; i++)
		ok = label_char(value[i], i == 0 || i == n - 1);
	if (ok)
		fprintf(f, "asios.io/%s=%s\n", name, value);
	else
		fprintf(f, "# asios.io/%s left out: \"%s\" is not a label value (63 characters of [A-Za-z0-9._-])\n", name,
			value);
}

static void label_set(FILE *f, const char *name, hwloc_const_bitmap_t set)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return;
	put_list(m, set, '_');
	fclose(m);
	if (buf && *buf)
		label(f, name, buf);
	free(buf);
}

/* "G.N_G.N": each accelerator (numbered in PCI order) with its nearest NIC (numbered in PCI order among NICs)
 * when that NIC is behind the same PCIe switch (PIX or PXB) */
static void label_pairs(FILE *f, const struct asios_snapshot *s)
{
	char *buf = NULL;
	size_t len = 0;
	unsigned g = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return;
	for (size_t i = 0; i < s->n_pci; i++) {
		enum asios_pci_distance best = ASIOS_PCI_SYS;
		unsigned nic = 0, best_nic = 0;

		if (!is_accel(&s->pci[i]))
			continue;
		for (size_t j = 0; j < s->n_pci; j++) {
			if (s->pci[j].cls != ASIOS_DEV_NIC)
				continue;
			if (asios_pci_distance(s, i, j) < best) {
				best = asios_pci_distance(s, i, j);
				best_nic = nic;
			}
			nic++;
		}
		if (best <= ASIOS_PCI_PXB)
			fprintf(m, "%s%u.%u", ftell(m) ? "_" : "", g, best_nic);
		g++;
	}
	fclose(m);
	if (buf && *buf)
		label(f, "gpu-nic-pairs", buf);
	free(buf);
}

/* the huge page pools of every NUMA node, summed per size: hugepages-1Gi=N, hugepages-2Mi=N */
static void label_hugepages(FILE *f, struct asios_root *root, const struct asios_snapshot *s)
{
	unsigned long size_kb[8] = { 0 };
	long count[8] = { 0 };
	size_t n = 0;

	for (size_t i = 0; i < s->n_nodes; i++) {
		char dir[128], path[256], **sizes = NULL;
		unsigned long kb;
		long nr;

		snprintf(dir, sizeof(dir), "/sys/devices/system/node/node%u/hugepages", s->nodes[i].id);
		if (asios_list_dir(root, dir, &sizes) < 0)
			continue;
		for (char **z = sizes; *z; z++) {
			size_t k = 0;

			snprintf(path, sizeof(path), "%s/%s/nr_hugepages", dir, *z);
			if (sscanf(*z, "hugepages-%lukB", &kb) != 1 || asios_read_long(root, path, &nr) < 0)
				continue;
			while (k < n && size_kb[k] != kb)
				k++;
			if (k == n && n < 8)
				size_kb[n++] = kb;
			if (k < n)
				count[k] += nr;
		}
		asios_strv_free(sizes);
	}
	for (size_t k = 0; k < n; k++) {
		char name[64], value[32];
		unsigned long kb = size_kb[k];

		snprintf(name, sizeof(name), "hugepages-%lu%s", kb % (1 << 20) == 0 ? kb >> 20 : kb % 1024 == 0 ? kb >> 10 : kb,
			 kb % (1 << 20) == 0 ? "Gi" : kb % 1024 == 0 ? "Mi" : "Ki");
		snprintf(value, sizeof(value), "%ld", count[k]);
		label(f, name, value);
	}
}

static unsigned cpu_nodes(const struct asios_snapshot *s)
{
	unsigned n = 0;

	for (size_t i = 0; i < s->n_nodes; i++)
		n += !hwloc_bitmap_iszero(s->nodes[i].cpus);
	return n;
}

static void write_features(FILE *f, struct asios_root *root, const struct asios_snapshot *s)
{
	hwloc_bitmap_t gpu_nodes = hwloc_bitmap_alloc();
	unsigned n_accel = 0;
	char v[32];

	fputs("# Node Feature Discovery local features written by asiosctl export kubernetes (see asiosctl(1)).\n"
	      "# Lists are joined with \"_\" (label values allow only [A-Za-z0-9._-]); GPUs and NICs are numbered in\n"
	      "# PCI address order.\n", f);
	for (size_t i = 0; gpu_nodes && i < s->n_pci; i++)
		if (is_accel(&s->pci[i]) && ++n_accel && s->pci[i].node >= 0)
			hwloc_bitmap_set(gpu_nodes, (unsigned)s->pci[i].node);
	snprintf(v, sizeof(v), "%u", cpu_nodes(s));
	label(f, "numa-nodes", v);
	snprintf(v, sizeof(v), "%u", n_accel);
	label(f, "gpu-count", v);
	if (gpu_nodes && !hwloc_bitmap_iszero(gpu_nodes)) {
		char nodes[64] = "";
		for (int id = hwloc_bitmap_first(gpu_nodes); id >= 0; id = hwloc_bitmap_next(gpu_nodes, id))
			snprintf(nodes + strlen(nodes), sizeof(nodes) - strlen(nodes), "%s%d", *nodes ? "_" : "", id);
		label(f, "gpu-numa-nodes", nodes);
	}
	label_pairs(f, s);
	if (isolated(s)) {
		hwloc_bitmap_t iso = workload_cpus(s);

		if (iso)
			label_set(f, "isolated-cpus", iso);
		label_set(f, "housekeeping-cpus", s->isolation.housekeeping);
		hwloc_bitmap_free(iso);
	}
	label_hugepages(f, root, s);
	hwloc_bitmap_free(gpu_nodes);
}

/* the CPUs the kubelet keeps for the system: the housekeeping CPUs, or without isolation the first core */
static hwloc_bitmap_t reserved_cpus(const struct asios_snapshot *s)
{
	int first = hwloc_bitmap_first(s->online);
	hwloc_bitmap_t r;

	if (isolated(s))
		return hwloc_bitmap_dup(s->isolation.housekeeping);
	r = hwloc_bitmap_alloc();
	for (size_t i = 0; r && first >= 0 && i < s->n_cpus; i++)
		if (s->cpus[i].online && s->cpus[i].core >= 0 && (size_t)first < s->n_cpus &&
		    s->cpus[i].core == s->cpus[first].core)
			hwloc_bitmap_set(r, s->cpus[i].id);
	if (r && hwloc_bitmap_iszero(r) && first >= 0)
		hwloc_bitmap_set(r, (unsigned)first);
	return r;
}

static void write_kubelet(FILE *f, const struct asios_snapshot *s)
{
	hwloc_bitmap_t r = reserved_cpus(s);
	bool numa = cpu_nodes(s) > 1;

	fputs("# KubeletConfiguration drop-in written by asiosctl export kubernetes (see asiosctl(1)).\n", f);
	fputs(isolated(s) ? "# reservedSystemCPUs: the housekeeping CPUs; pods get the isolated ones.\n"
			  : "# reservedSystemCPUs: no CPU is isolated, so the first core (the static policy needs one).\n",
	      f);
	fprintf(f, "# topologyManagerPolicy: %s\n",
		numa ? "single-numa-node (several NUMA nodes with CPUs)" : "best-effort (one NUMA node with CPUs)");
	fputs("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncpuManagerPolicy: static\n"
	      "reservedSystemCPUs: \"", f);
	if (r)
		put_list(f, r, ',');
	fprintf(f, "\"\ntopologyManagerPolicy: %s\ntopologyManagerScope: pod\n", numa ? "single-numa-node" : "best-effort");
	hwloc_bitmap_free(r);
}

/* ---- output ---- */

static int build(struct asios_root *root, const struct asios_snapshot *s, const struct export_args *a,
		 struct out_file *out)
{
	bool slurm = !strcmp(a->target, "slurm");

	if (!strcmp(a->target, "nccl"))
		return export_nccl(root, s, out);
	out[0] = (struct out_file){ slurm ? "gres.conf" : "asios",
				    slurm ? "/etc/slurm/gres.conf"
					  : "/etc/kubernetes/node-feature-discovery/features.d/asios" };
	out[1] = (struct out_file){ slurm ? "slurm-node.conf" : "90-asios.conf",
				    slurm ? "/etc/slurm/slurm-node.conf" : "/etc/kubernetes/kubelet.conf.d/90-asios.conf" };
	for (int i = 0; i < N_FILES; i++) {
		FILE *f = open_memstream(&out[i].text, &out[i].len);

		if (!f)
			return -ENOMEM;
		if (slurm && i == 0)
			write_gres(f, s);
		else if (slurm)
			write_node(f, root, s, a);
		else if (i == 0)
			write_features(f, root, s);
		else
			write_kubelet(f, s);
		if (fclose(f) != 0)
			return -ENOMEM;
	}
	return 0;
}

/* DIR/NAME replaced whole: written beside it, then renamed over it */
static int write_out(const char *dir, const struct out_file *o)
{
	char path[4096], tmp[4200];
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, o->name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, o->name);
	if ((r = replace_file(path, tmp, o->text, o->len)) < 0) {
		log_error("export: cannot write %s: %s", path, strerror(-r));
		return -1;
	}
	printf("wrote %s (install as %s)\n", path, o->install);
	return 0;
}

static int emit(const struct export_args *a, const struct out_file *out)
{
	if (a->outdir) {
		for (int i = 0; i < N_FILES; i++)
			if (write_out(a->outdir, &out[i]) < 0)
				return 1;
	} else if (a->json) {
		struct json_object *o = json_object_new_object(), *files = json_object_new_array();

		json_object_object_add(o, "target", json_object_new_string(a->target));
		for (int i = 0; i < N_FILES; i++) {
			struct json_object *f = json_object_new_object();

			json_object_object_add(f, "name", json_object_new_string(out[i].name));
			json_object_object_add(f, "install", json_object_new_string(out[i].install));
			json_object_object_add(f, "content", json_object_new_string_len(out[i].text, (int)out[i].len));
			json_object_array_add(files, f);
		}
		json_object_object_add(o, "files", files);
		print_json(o);
	} else {
		for (int i = 0; i < N_FILES; i++)
			printf("%s==> %s <==\n%s", i ? "\n" : "", out[i].name, out[i].text);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static int parse_args(int argc, char **argv, struct export_args *a)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' }, { "output-dir", required_argument, NULL, 'o' },
		{ "node-name", required_argument, NULL, 'n' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },       {},
	};
	int c;

	*a = (struct export_args){ .root = "/" };
	opterr = 0;
	while ((c = getopt_long(argc, argv, "r:o:n:jh", opts, NULL)) != -1) {
		if (empty_option("export", c, optarg))
			return 2;
		if ((c == 'o' || c == 'n') && !*optarg) {
			log_error("export: --%s: an empty value is not allowed", c == 'o' ? "output-dir" : "node-name");
			return 2;
		}
		if (c == 'r')
			a->root = optarg;
		else if (c == 'o')
			a->outdir = optarg;
		else if (c == 'n')
			a->node_name = optarg;
		else if (c == 'j')
			a->json = true;
		else if (c == 'h')
			return usage(), 0;
		else
			return log_error("export: unknown option or missing value '%s' (try asiosctl export --help)",
					 argv[optind - 1]), 2;
	}
	if (optind >= argc) {
		log_error("export: which export, slurm, kubernetes or nccl? (try asiosctl export --help)");
		return 2;
	}
	if (strcmp(argv[optind], "slurm") && strcmp(argv[optind], "kubernetes") && strcmp(argv[optind], "nccl")) {
		log_error("export: unknown export target '%s': slurm, kubernetes or nccl (try asiosctl export --help)",
			  argv[optind]);
		return 2;
	}
	if (optind + 1 != argc) {
		log_error("export: unexpected argument '%s' (try asiosctl export --help)", argv[optind + 1]);
		return 2;
	}
	a->target = argv[optind];
	return -1;
}

/* the snapshot of ROOT_PATH; logs "export: cannot …" naming the root (or the file that failed) and returns NULL */
static struct asios_snapshot *open_snapshot(const char *root_path, struct asios_root **root_ret)
{
	struct asios_snapshot *s = NULL;
	char *why = NULL;
	int r = asios_root_open(root_path, root_ret);

	if (r < 0) {
		log_error("export: cannot open --root %s: %s", root_path, strerror(-r));
		return NULL;
	}
	r = asios_snapshot_load_why(*root_ret, &s, &why);
	if (r < 0) {
		log_error("export: cannot read the machine under %s: %s", root_path,
			  why ? why : r == -ENODATA ? "no CPU topology found (is it a /sys and /proc tree?)" : strerror(-r));
		free(why);
		asios_root_free(*root_ret);
		return NULL;
	}
	return s;
}

int verb_export(int argc, char **argv)
{
	struct out_file out[N_FILES] = { 0 };
	struct asios_snapshot *s;
	struct asios_root *root;
	struct export_args a;
	int r = parse_args(argc, argv, &a);

	if (r >= 0)
		return r;
	if (a.outdir && access(a.outdir, W_OK) < 0) {
		log_error("export: cannot write into %s: %s", a.outdir, strerror(errno));
		return 1;
	}
	s = open_snapshot(a.root, &root);
	if (!s)
		return 1;
	if (build(root, s, &a, out) < 0) {
		log_error("export: %s", strerror(ENOMEM));
		r = 1;
	} else {
		r = emit(&a, out);
	}
	for (int i = 0; i < N_FILES; i++)
		free(out[i].text);
	asios_snapshot_free(s);
	asios_root_free(root);
	return r;
}
