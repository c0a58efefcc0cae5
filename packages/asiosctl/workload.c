/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asiosctl workload NAME --gpus LIST [--root DIR] [--memory-fraction F] [--write] [--json] -- COMMAND ARGS...
 *
 * The systemd drop-in that runs COMMAND contained by the template asios-workload@.service: the device files of
 * the GPUs asked for and nothing else (DeviceAllow=, the template has DevicePolicy=closed), the CPUs and memory
 * of the NUMA nodes nearest them (AllowedCPUs=, AllowedMemoryNodes=) and a fraction of that memory
 * (MemoryMax=). GPUs are named by their index in the machine's GPU order (GPUs and accelerators in PCI address
 * order, as `asiosctl topology` lists them) or by PCI address.
 *
 * Device files of a GPU, from what the snapshot and the root know:
 *   NVIDIA      /dev/nvidiaN: N the "Device Minor" of /proc/driver/nvidia/gpus/ADDR/information, else the rank
 *               of the GPU among the NVIDIA GPUs in PCI address order (the driver numbers them so); plus the
 *               shared /dev/nvidiactl, /dev/nvidia-uvm, /dev/nvidia-uvm-tools and /dev/nvidia-modeset. A GPU of
 *               unreadable vendor that the NVIDIA driver lists in /proc/driver/nvidia/gpus counts as NVIDIA.
 *   others      /dev/dri/renderDN whose /sys/class/drm/renderDN/device is the GPU (AMD adds /dev/kfd), or
 *               /dev/accel/accelN whose /sys/class/accel/accelN/device is it.
 * A GPU none of these name is an error that says so: a drop-in without the GPU's device file would start a job
 * that cannot use it.
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

#define UNIT_DIR "/run/systemd/system"
#define DROPIN "50-asios.conf"

static void usage(void)
{
	printf("Usage: asiosctl workload NAME --gpus LIST [--root DIR] [--memory-fraction F] [--write] [--json]\n"
	       "                         -- COMMAND [ARGS...]\n\n"
	       "Write the systemd drop-in that runs COMMAND as asios-workload@NAME.service, contained: only the device\n"
	       "files of the GPUs in LIST (DeviceAllow=), the CPUs and memory nodes of the NUMA nodes nearest them\n"
	       "(AllowedCPUs=, AllowedMemoryNodes=; the isolated CPUs of those nodes when CPUs are isolated) and\n"
	       "MemoryMax= F (default 0.9) of their memory; the template unit adds the read-only system, a private\n"
	       "/tmp, no new privileges and its state directory /var/lib/asios-workload/NAME.\n\n"
	       "  --gpus LIST            GPU indices in the machine's GPU order (asiosctl topology: GPUs and\n"
	       "                         accelerators in PCI address order), ranges (0-3) or PCI addresses, comma-separated\n"
	       "  --memory-fraction F    MemoryMax= as this fraction (0 < F <= 1) of the nodes' memory\n"
	       "  --write                write it as " UNIT_DIR "/asios-workload@NAME.service.d/" DROPIN "\n"
	       "                         (under --root when one is given); then: systemctl daemon-reload &&\n"
	       "                         systemctl start asios-workload@NAME\n"
	       "  --json                 the drop-in and what it was made of as one JSON object\n"
	       "  --root DIR             read the machine under DIR (a capture)\n\n"
	       "Without --write the drop-in goes to stdout. See asiosctl(1).\n");
}

/* ---- arguments ---- */

/* a unit instance name: [A-Za-z0-9:_.-], not starting with a dot, at most 200 characters */
static bool valid_name(const char *n)
{
	size_t len = strlen(n);

	if (!len || len > 200 || n[0] == '.' || n[0] == '-')
		return false;
	for (const char *p = n; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(":_.-", *p))
			return false;
	return true;
}

static int parse_fraction(const char *arg, double *ret)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v > 0.0 && v <= 1.0)) {
		log_error("workload: --memory-fraction %s: not a number above 0 and at most 1", arg);
		return -1;
	}
	*ret = v;
	return 0;
}

/* the command after "--": present, its program an absolute path or a bare name systemd finds in its PATH */
static int check_command(const struct wl_args *a)
{
	const char *prog = a->n_cmd > 0 ? a->cmd[0] : NULL;

	if (!prog || !*prog) {
		log_error("workload: no command: give it after -- (try asiosctl workload --help)");
		return -1;
	}
	if (prog[0] != '/' && strchr(prog, '/')) {
		log_error("workload: %s: the program must be an absolute path or a name found in PATH (systemd runs it "
			  "from the state directory, not from here)", prog);
		return -1;
	}
	return 0;
}

static int parse_options(int argc, char **argv, struct wl_args *a)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' }, { "gpus", required_argument, NULL, 'g' },
		{ "memory-fraction", required_argument, NULL, 'm' }, { "write", no_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },       { "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "r:g:m:wjh", opts, NULL)) != -1) {
		if (empty_option("workload", c, optarg))
			return 2;
		if (c == 'r')
			a->root = optarg;
		else if (c == 'g')
			a->gpus = optarg;
		else if (c == 'm' && parse_fraction(optarg, &a->fraction) < 0)
			return 2;
		else if (c == 'w')
			a->write = true;
		else if (c == 'j')
			a->json = true;
		else if (c == 'h')
			return usage(), 0;
		else if (c != 'm')
			return log_error("workload: unknown option or missing value '%s' (try asiosctl workload --help)",
					 argv[optind - 1]), 2;
	}
	if (optind >= argc) {
		log_error("workload: which workload? give its NAME (try asiosctl workload --help)");
		return 2;
	}
	if (optind + 1 != argc) {
		log_error("workload: unexpected argument '%s' before -- (try asiosctl workload --help)", argv[optind + 1]);
		return 2;
	}
	a->name = argv[optind];
	return -1;
}

static int parse_args(int argc, char **argv, struct wl_args *a)
{
	int dd = 1, r;

	*a = (struct wl_args){ .root = "/", .fraction = 0.9 };
	while (dd < argc && strcmp(argv[dd], "--"))
		dd++;
	r = parse_options(dd, argv, a);
	if (r >= 0)
		return r;
	if (!valid_name(a->name)) {
		log_error("workload: '%s' is not a workload name: letters, digits and :_.- (at most 200, no leading . "
			  "or -), as a systemd instance name", a->name);
		return 2;
	}
	if (!a->gpus || !*a->gpus) {
		log_error("workload: --gpus LIST: which GPUs the workload may use (try asiosctl workload --help)");
		return 2;
	}
	if (dd >= argc) {
		log_error("workload: no command: give it after -- (try asiosctl workload --help)");
		return 2;
	}
	a->cmd = argv + dd + 1;
	a->n_cmd = argc - dd - 1;
	return check_command(a) < 0 ? 2 : -1;
}

/* ---- placement ---- */

/* the nodes with CPUs nearest NODE (a CPU-less node): the smallest SLIT distance; NODE itself has CPUs */
static void nearest_cpu_nodes(const struct asios_snapshot *s, const struct asios_node *node, hwloc_bitmap_t out)
{
	int best = -1;
	size_t self = (size_t)(node - s->nodes);

	if (!hwloc_bitmap_iszero(node->cpus)) {
		hwloc_bitmap_set(out, node->id);
		return;
	}
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < s->n_nodes; i++) {
			int d = node->distances ? node->distances[i] : 0;

			if (i == self || hwloc_bitmap_iszero(s->nodes[i].cpus))
				continue;
			if (pass == 0 && (best < 0 || d < best))
				best = d;
			else if (pass == 1 && d == best)
				hwloc_bitmap_set(out, s->nodes[i].id);
		}
}

/* the nodes of the GPUs and their memory nodes; -1 (said) for a GPU of unknown node or a node without memory */
static int pick_nodes(const struct asios_snapshot *s, struct wl_plan *p)
{
	for (size_t k = 0; k < p->n_gpus; k++) {
		const struct asios_pci_device *d = &s->pci[p->gpus[k].pci];
		const struct asios_node *n = asios_snapshot_node(s, d->node);

		if (!n) {
			log_error("workload: GPU %u %s: NUMA node unknown, so no CPUs or memory to give its workload",
				  p->gpus[k].index, d->addr);
			return -1;
		}
		nearest_cpu_nodes(s, n, p->nodes);
		for (size_t i = 0; i < s->n_nodes; i++)
			if (!strcmp(s->nodes[i].pci, d->addr))
				hwloc_bitmap_set(p->mems, s->nodes[i].id);
	}
	hwloc_bitmap_or(p->mems, p->mems, p->nodes);
	for (int id = hwloc_bitmap_first(p->mems); id >= 0; id = hwloc_bitmap_next(p->mems, id)) {
		const struct asios_node *n = asios_snapshot_node(s, id);

		if (n && !n->memory_bytes && hwloc_bitmap_isset(p->nodes, (unsigned)id)) {
			log_error("workload: NUMA node %d, nearest the GPUs, has no memory: no MemoryMax= to derive", id);
			return -1;
		}
		if (n)
			p->mem_bytes += n->memory_bytes;
		if (n)
			hwloc_bitmap_or(p->cpus, p->cpus, n->cpus);
	}
	return 0;
}

static bool machine_isolated(const struct asios_snapshot *s)
{
	return !hwloc_bitmap_iszero(s->isolation.housekeeping) &&
	       !hwloc_bitmap_isincluded(s->online, s->isolation.housekeeping);
}

static int place(const struct asios_snapshot *s, const struct wl_args *a, struct wl_plan *p)
{
	if (pick_nodes(s, p) < 0)
		return -1;
	hwloc_bitmap_and(p->cpus, p->cpus, s->online);
	if (machine_isolated(s)) {
		hwloc_bitmap_t w = hwloc_bitmap_dup(p->cpus);

		if (!w)
			return -1;
		hwloc_bitmap_andnot(w, w, s->isolation.housekeeping);
		if (!hwloc_bitmap_iszero(w)) {
			hwloc_bitmap_copy(p->cpus, w);
			p->isolated = true;
		}
		hwloc_bitmap_free(w);
	}
	if (hwloc_bitmap_iszero(p->cpus)) {
		log_error("workload: the NUMA nodes nearest the GPUs have no online CPU");
		return -1;
	}
	p->max_mib = (unsigned long long)(a->fraction * (double)(p->mem_bytes >> 20)); /* rounded down */
	return 0;
}

/* ---- the drop-in ---- */

static bool bare_char(char c)
{
	return isalnum((unsigned char)c) || strchr("_./:=,+@-", c);
}

/* one word of ExecStart=: bare when it can be, else in double quotes with C escapes; % and $ doubled (systemd's
 * specifiers and environment variables) */
static void put_word(FILE *f, const char *w, bool first)
{
	bool bare = *w && !(first && strchr("@-:+!", *w));

	for (const char *p = w; bare && *p; p++)
		bare = bare_char(*p);
	if (bare) {
		fputs(w, f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)w; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '%' || *p == '$')
			fprintf(f, "%c%c", *p, *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void put_set(FILE *f, hwloc_const_bitmap_t set, const char *sep)
{
	for (int id = hwloc_bitmap_first(set); id >= 0; id = hwloc_bitmap_next(set, id))
		fprintf(f, "%s%d", id == hwloc_bitmap_first(set) ? "" : sep, id);
}

/* device file J of GPU K was listed before (a shared one: the vendor's control files) */
static bool seen_before(const struct wl_plan *p, size_t k, size_t j)
{
	for (size_t g = 0; g <= k; g++) {
		size_t end = g < k ? p->gpus[g].n_devs : j;

		for (size_t b = 1; b < end; b++)
			if (!strcmp(p->gpus[g].devs[b], p->gpus[k].devs[j]))
				return true;
	}
	return false;
}

/* DeviceAllow= of each GPU's own device file, then of the shared ones, each once */
static void put_devices(FILE *f, const struct wl_plan *p)
{
	bool render = false, accel = false;

	fputs("# the device files of these GPUs; every other one stays closed (DevicePolicy=closed)\n", f);
	for (size_t k = 0; k < p->n_gpus; k++)
		fprintf(f, "DeviceAllow=%s rw\n", p->gpus[k].devs[0]);
	for (size_t k = 0; k < p->n_gpus; k++)
		for (size_t j = 1; j < p->gpus[k].n_devs; j++)
			if (!seen_before(p, k, j))
				fprintf(f, "DeviceAllow=%s rw\n", p->gpus[k].devs[j]);
	for (size_t k = 0; k < p->n_gpus; k++) {
		render |= !strncmp(p->gpus[k].devs[0], "/dev/dri/", 9);
		accel |= !strncmp(p->gpus[k].devs[0], "/dev/accel/", 11);
	}
	if (render)
		fputs("# render nodes and /dev/kfd are the group render's (mode 0660)\nSupplementaryGroups=render\n", f);
	if (accel)
		fputs("# /dev/accel/accelN is root's unless a udev rule gives it a group: add that group with\n"
		      "# SupplementaryGroups= in a drop-in of your own, or run the job as a User= who may open it\n", f);
}

static void put_header(FILE *f, const struct asios_snapshot *s, const struct wl_args *a, const struct wl_plan *p)
{
	fprintf(f, "# " UNIT_DIR "/asios-workload@%s.service.d/" DROPIN "\n", a->name);
	fprintf(f, "# written by asiosctl workload (see asiosctl(1)); start the job with:\n"
		   "#   systemctl daemon-reload && systemctl start asios-workload@%s\n", a->name);
	for (size_t k = 0; k < p->n_gpus; k++) {
		const struct asios_pci_device *d = &s->pci[p->gpus[k].pci];

		fprintf(f, "# GPU %u: %s %s, NUMA node %d, %s (%s)\n", p->gpus[k].index, d->addr,
			d->vendor_name ? d->vendor_name : "vendor unknown", d->node, p->gpus[k].devs[0],
			p->gpus[k].how);
	}
}

static void put_dropin(FILE *f, const struct asios_snapshot *s, const struct wl_args *a, const struct wl_plan *p)
{
	char *cpus = asios_cpulist_format(p->cpus), *mems = asios_cpulist_format(p->mems);
	bool several = hwloc_bitmap_weight(p->nodes) > 1;

	put_header(f, s, a, p);
	fputs("[Service]\nExecStart=\nExecStart=", f);
	for (int i = 0; i < a->n_cmd; i++) {
		fputs(i ? " " : "", f);
		put_word(f, a->cmd[i], i == 0);
	}
	fputc('\n', f);
	put_devices(f, p);
	fprintf(f, "# the CPUs of NUMA node%s ", several ? "s" : "");
	put_set(f, p->nodes, ",");
	fprintf(f, ", nearest the GPU%s%s\n", p->n_gpus > 1 ? "s" : "",
		p->isolated ? ": the isolated ones (the housekeeping CPUs are kept for the system)" : "");
	fprintf(f, "AllowedCPUs=%s\n", cpus ? cpus : "");
	if (!hwloc_bitmap_isequal(p->mems, p->nodes))
		fputs("# and the memory of the GPUs' own NUMA nodes\n", f);
	fprintf(f, "AllowedMemoryNodes=%s\n", mems ? mems : "");
	fprintf(f, "# %g of the %.1f GiB of node%s ", a->fraction, (double)p->mem_bytes / (1ull << 30),
		hwloc_bitmap_weight(p->mems) > 1 ? "s" : "");
	put_set(f, p->mems, ",");
	fprintf(f, "\nMemoryMax=%lluM\n", p->max_mib);
	free(mems);
	free(cpus);
}

/* ---- output ---- */

static struct json_object *json_gpus(const struct asios_snapshot *s, const struct wl_plan *p)
{
	struct json_object *arr = json_object_new_array();

	for (size_t k = 0; k < p->n_gpus; k++) {
		const struct asios_pci_device *d = &s->pci[p->gpus[k].pci];
		struct json_object *g = json_object_new_object(), *devs = json_object_new_array();

		json_object_object_add(g, "index", json_object_new_int((int)p->gpus[k].index));
		json_object_object_add(g, "pci", json_object_new_string(d->addr));
		json_object_object_add(g, "vendor", d->vendor_name ? json_object_new_string(d->vendor_name) : NULL);
		json_object_object_add(g, "node", json_object_new_int(d->node));
		for (size_t j = 0; j < p->gpus[k].n_devs; j++)
			json_object_array_add(devs, json_object_new_string(p->gpus[k].devs[j]));
		json_object_object_add(g, "devices", devs);
		json_object_object_add(g, "found_by", json_object_new_string(p->gpus[k].how));
		json_object_array_add(arr, g);
	}
	return arr;
}

static struct json_object *json_set(hwloc_const_bitmap_t set)
{
	struct json_object *arr = json_object_new_array();

	for (int id = hwloc_bitmap_first(set); id >= 0; id = hwloc_bitmap_next(set, id))
		json_object_array_add(arr, json_object_new_int(id));
	return arr;
}

static void print_plan_json(const struct asios_snapshot *s, const struct wl_args *a, const struct wl_plan *p,
			    const char *path)
{
	struct json_object *o = json_object_new_object(), *cmd = json_object_new_array();
	char unit[256], *cpus = asios_cpulist_format(p->cpus);

	snprintf(unit, sizeof(unit), "asios-workload@%s.service", a->name);
	json_object_object_add(o, "name", json_object_new_string(a->name));
	json_object_object_add(o, "unit", json_object_new_string(unit));
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "written", json_object_new_boolean(a->write));
	for (int i = 0; i < a->n_cmd; i++)
		json_object_array_add(cmd, json_object_new_string(a->cmd[i]));
	json_object_object_add(o, "command", cmd);
	json_object_object_add(o, "gpus", json_gpus(s, p));
	json_object_object_add(o, "nodes", json_set(p->nodes));
	json_object_object_add(o, "memory_nodes", json_set(p->mems));
	json_object_object_add(o, "allowed_cpus", json_object_new_string(cpus ? cpus : ""));
	json_object_object_add(o, "isolated_cpus", json_object_new_boolean(p->isolated));
	json_object_object_add(o, "memory_fraction", json_object_new_double(a->fraction));
	json_object_object_add(o, "memory_bytes", json_object_new_int64((int64_t)p->mem_bytes));
	json_object_object_add(o, "memory_max_bytes", json_object_new_int64((int64_t)(p->max_mib << 20)));
	json_object_object_add(o, "dropin", json_object_new_string(p->text));
	print_json(o);
	free(cpus);
}

/* each folder of PATH (made under the root prefix) up to its last component */
static int make_dirs(char *path)
{
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			int r = -errno;

			log_error("workload: cannot make %s: %s", path, strerror(-r));
			*p = '/';
			return r;
		}
		*p = '/';
	}
	return 0;
}

/* PREFIX + the drop-in's path, replaced whole: written beside it, then renamed over it */
static int write_dropin(const char *prefix, const char *unit_path, const char *text)
{
	char path[4096], tmp[4200];
	int r;

	snprintf(path, sizeof(path), "%s%s", prefix, unit_path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (make_dirs(path) < 0)
		return -1;
	if ((r = replace_file(path, tmp, text, strlen(text))) < 0) {
		log_error("workload: cannot write %s: %s", path, strerror(-r));
		return -1;
	}
	return 0;
}

static void plan_free(struct wl_plan *p)
{
	for (size_t k = 0; p->gpus && k < p->n_gpus; k++)
		for (size_t j = 0; j < p->gpus[k].n_devs; j++)
			free(p->gpus[k].devs[j]);
	free(p->gpus);
	hwloc_bitmap_free(p->nodes);
	hwloc_bitmap_free(p->mems);
	hwloc_bitmap_free(p->cpus);
	free(p->text);
}

/* the plan of A on S: GPUs, device files, placement, the drop-in's text; -1 when said why not */
static int build(struct asios_root *root, const struct asios_snapshot *s, const struct wl_args *a, struct wl_plan *p)
{
	hwloc_bitmap_t sel = select_gpus(s, a->gpus);
	size_t len = 0;
	FILE *f;
	int r = 0;

	p->nodes = hwloc_bitmap_alloc();
	p->mems = hwloc_bitmap_alloc();
	p->cpus = hwloc_bitmap_alloc();
	if (!sel)
		return -1;
	p->gpus = calloc((size_t)hwloc_bitmap_weight(sel), sizeof(*p->gpus));
	if (!p->gpus || !p->nodes || !p->mems || !p->cpus) {
		log_error("workload: %s", strerror(ENOMEM));
		hwloc_bitmap_free(sel);
		return -1;
	}
	for (int i = hwloc_bitmap_first(sel); i >= 0 && r == 0; i = hwloc_bitmap_next(sel, i)) {
		struct wl_gpu *g = &p->gpus[p->n_gpus++];

		*g = (struct wl_gpu){ .index = gpu_index(s, (size_t)i), .pci = (size_t)i };
		r = gpu_devs(root, s, g);
	}
	hwloc_bitmap_free(sel);
	if (r < 0 || place(s, a, p) < 0)
		return -1;
	f = open_memstream(&p->text, &len);
	if (!f)
		return -1;
	put_dropin(f, s, a, p);
	return fclose(f) == 0 ? 0 : -1;
}

static int emit(const struct asios_snapshot *s, const struct wl_args *a, const struct wl_plan *p)
{
	const char *prefix = strcmp(a->root, "/") ? a->root : "";
	char unit_path[512];

	snprintf(unit_path, sizeof(unit_path), UNIT_DIR "/asios-workload@%s.service.d/" DROPIN, a->name);
	if (a->write && write_dropin(prefix, unit_path, p->text) < 0)
		return 1;
	if (a->json)
		print_plan_json(s, a, p, unit_path);
	else if (a->write)
		printf("wrote %s%s\nnext: systemctl daemon-reload && systemctl start asios-workload@%s\n", prefix,
		       unit_path, a->name);
	else
		fputs(p->text, stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}

int verb_workload(int argc, char **argv)
{
	struct wl_plan plan = { 0 };
	struct asios_snapshot *s;
	struct asios_root *root = NULL;
	struct wl_args a;
	int r = parse_args(argc, argv, &a);

	if (r >= 0)
		return r;
	s = load_snapshot(a.root, &root);
	if (!s)
		return 1;
	r = build(root, s, &a, &plan) < 0 ? 1 : emit(s, &a, &plan);
	plan_free(&plan);
	asios_snapshot_free(s);
	asios_root_free(root);
	return r;
}
