/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * GPU families of the exposition (metrics.h): through NVIDIA's NVML when libnvidia-ml.so.1 can be loaded (the
 * driver ships it; dlopen, so ASIOS neither links nor depends on it), and from amdgpu's sysfs files for AMD GPUs
 * of the snapshot. NVML reads the running machine only: a capture (--root) has the sysfs part. Each GPU is
 * labelled with its PCI address (device), as the other families are, and the source it was read from.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asios/metrics.h"
#include "asios/root.h"
#include "asios/snapshot.h"


static void set(struct asios_gpu_reading *g, int k, double v)
{
	g->v[k] = v;
	g->have[k] = true;
}

/* ---- NVML, loaded at run time (the subset of nvml.h used, with its ABI) ---- */

typedef struct nvml_device *nvml_device_t;
struct nvml_pci_info {  /* nvmlPciInfo_t (v3) */
	char bus_id_legacy[16];
	unsigned domain, bus, device, pci_device_id, pci_subsystem_id;
	char bus_id[32];
};
struct nvml_memory {  /* nvmlMemory_t */
	unsigned long long total, free, used;
};
struct nvml_utilization {  /* nvmlUtilization_t */
	unsigned gpu, memory;
};

struct nvml {
	void *lib;
	int (*init)(void);
	int (*shutdown)(void);
	int (*count)(unsigned *);
	int (*handle)(unsigned, nvml_device_t *);
	int (*pci)(nvml_device_t, struct nvml_pci_info *);
	int (*memory)(nvml_device_t, struct nvml_memory *);
	int (*utilization)(nvml_device_t, struct nvml_utilization *);
	int (*temperature)(nvml_device_t, int, unsigned *);
	int (*power)(nvml_device_t, unsigned *);
	int (*ecc)(nvml_device_t, int, int, unsigned long long *);
	int (*replays)(nvml_device_t, unsigned *);
	int (*threshold)(nvml_device_t, int, unsigned *);
	int (*persistence)(nvml_device_t, int *);
};

static bool nvml_load(struct nvml *n)
{
	static const char *const names[] = {
		"nvmlInit_v2", "nvmlShutdown", "nvmlDeviceGetCount_v2", "nvmlDeviceGetHandleByIndex_v2",
		"nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetMemoryInfo", "nvmlDeviceGetUtilizationRates",
		"nvmlDeviceGetTemperature", "nvmlDeviceGetPowerUsage", "nvmlDeviceGetTotalEccErrors",
		"nvmlDeviceGetPcieReplayCounter", "nvmlDeviceGetTemperatureThreshold", "nvmlDeviceGetPersistenceMode",
	};
	void **slot[] = {
		(void **)&n->init, (void **)&n->shutdown, (void **)&n->count, (void **)&n->handle, (void **)&n->pci,
		(void **)&n->memory, (void **)&n->utilization, (void **)&n->temperature, (void **)&n->power,
		(void **)&n->ecc, (void **)&n->replays, (void **)&n->threshold, (void **)&n->persistence,
	};

	n->lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!n->lib)
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		*slot[i] = dlsym(n->lib, names[i]);
		if (!*slot[i] && i < 5) { /* the rest are optional: a missing one leaves its value out */
			dlclose(n->lib);
			return false;
		}
	}
	if (n->init()) {
		dlclose(n->lib);
		return false;
	}
	return true;
}

static void nvml_device(const struct nvml *n, nvml_device_t d, struct asios_gpu_reading *g)
{
	struct nvml_memory mem;
	struct nvml_utilization util;
	unsigned long long ecc;
	unsigned u;
	int mode;

	if (n->memory && !n->memory(d, &mem)) {
		set(g, ASIOS_GPU_MEM_USED, (double)mem.used);
		set(g, ASIOS_GPU_MEM_TOTAL, (double)mem.total);
	}
	if (n->utilization && !n->utilization(d, &util))
		set(g, ASIOS_GPU_UTIL, util.gpu / 100.0);
	if (n->temperature && !n->temperature(d, 0 /* NVML_TEMPERATURE_GPU */, &u))
		set(g, ASIOS_GPU_TEMP, u);
	if (n->power && !n->power(d, &u))
		set(g, ASIOS_GPU_POWER, u / 1000.0);
	/* NVML_MEMORY_ERROR_TYPE_CORRECTED 0, _UNCORRECTED 1; NVML_VOLATILE_ECC 0 (since the driver loaded) */
	if (n->ecc && !n->ecc(d, 0, 0, &ecc))
		set(g, ASIOS_GPU_ECC_CORR, (double)ecc);
	if (n->ecc && !n->ecc(d, 1, 0, &ecc))
		set(g, ASIOS_GPU_ECC_UNCORR, (double)ecc);
	if (n->replays && !n->replays(d, &u))
		set(g, ASIOS_GPU_REPLAYS, u);
	/* NVML_TEMPERATURE_THRESHOLD_SLOWDOWN 1: where the GPU starts to slow itself down */
	if (n->threshold && !n->threshold(d, 1, &u))
		set(g, ASIOS_GPU_TEMP_LIMIT, u);
	/* nvmlEnableState_t: NVML_FEATURE_DISABLED 0, NVML_FEATURE_ENABLED 1 */
	if (n->persistence && !n->persistence(d, &mode))
		set(g, ASIOS_GPU_PERSISTENCE, mode == 1);
}

static void nvml_read(struct asios_gpu_readings *out)
{
	struct nvml n = { 0 };
	unsigned count = 0;

	if (!nvml_load(&n))
		return;
	if (!n.count(&count))
		for (unsigned i = 0; i < count && out->n < ASIOS_GPU_MAX; i++) {
			struct nvml_pci_info pci;
			nvml_device_t d;
			struct asios_gpu_reading *g = &out->g[out->n];

			if (n.handle(i, &d) || n.pci(d, &pci))
				continue;
			*g = (struct asios_gpu_reading){ .source = "nvml" };
			snprintf(g->device, sizeof(g->device), "%04x:%02x:%02x.0", pci.domain & 0xffff, pci.bus & 0xff,
				 pci.device & 0x1f);
			nvml_device(&n, d, g);
			out->n++;
		}
	n.shutdown();
	dlclose(n.lib);
}

/* ---- amdgpu's sysfs ---- */

static bool read_number(struct asios_root *root, const char *dir, const char *file, double *v)
{
	char path[512], *line = NULL, *end = NULL;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (asios_read_line(root, path, &line) < 0)
		return false;
	*v = strtod(line, &end);
	ok = end != line && (*end == '\0' || *end == '\n');
	free(line);
	return ok;
}

/* hwmon/hwmonN/FILE of the GPU, the first one that has it */
static bool read_hwmon(struct asios_root *root, const char *dir, const char *file, double *v)
{
	char path[512], **names = NULL;
	bool ok = false;

	snprintf(path, sizeof(path), "%s/hwmon", dir);
	if (asios_list_dir(root, path, &names) < 0)
		return false;
	for (size_t i = 0; names[i]; i++) {
		char sub[700];

		snprintf(sub, sizeof(sub), "%s/%s", path, names[i]);
		if (!ok)
			ok = read_number(root, sub, file, v);
		free(names[i]);
	}
	free(names);
	return ok;
}

static void amd_read(struct asios_root *root, const struct asios_snapshot *s, struct asios_gpu_readings *out)
{
	for (size_t i = 0; i < s->n_pci && out->n < ASIOS_GPU_MAX; i++) {
		const struct asios_pci_device *p = &s->pci[i];
		struct asios_gpu_reading *g = &out->g[out->n];
		char dir[64];
		double v;

		if (p->cls != ASIOS_DEV_GPU || !p->vendor_name || strcmp(p->vendor_name, "amd"))
			continue;
		snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", p->addr);
		if (!read_number(root, dir, "gpu_busy_percent", &v))
			continue; /* not amdgpu, or no such file in this kernel */
		*g = (struct asios_gpu_reading){ .source = "sysfs" };
		snprintf(g->device, sizeof(g->device), "%s", p->addr);
		set(g, ASIOS_GPU_UTIL, v / 100.0);
		if (read_number(root, dir, "mem_info_vram_used", &v))
			set(g, ASIOS_GPU_MEM_USED, v);
		if (read_number(root, dir, "mem_info_vram_total", &v))
			set(g, ASIOS_GPU_MEM_TOTAL, v);
		if (read_hwmon(root, dir, "temp1_input", &v))
			set(g, ASIOS_GPU_TEMP, v / 1000.0);
		if (read_hwmon(root, dir, "temp1_crit", &v))
			set(g, ASIOS_GPU_TEMP_LIMIT, v / 1000.0);
		if (read_hwmon(root, dir, "power1_average", &v) || read_hwmon(root, dir, "power1_input", &v))
			set(g, ASIOS_GPU_POWER, v / 1e6);
		out->n++;
	}
}

/* ---- the families ---- */

static void gpu_family(FILE *f, const struct asios_gpu_readings *x, int k, const char *name, const char *type,
		       const char *help, const char *extra)
{
	bool any = false;

	for (size_t i = 0; i < x->n; i++)
		any |= x->g[i].have[k];
	if (!any)
		return;
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (size_t i = 0; i < x->n; i++)
		if (x->g[i].have[k])
			fprintf(f, "%s{device=\"%s\"%s} %.17g\n", name, x->g[i].device, extra, x->g[i].v[k]);
}

/* one family, two types */
static void ecc_family(FILE *f, const struct asios_gpu_readings *x)
{
	bool any = false;

	for (size_t i = 0; i < x->n; i++)
		any |= x->g[i].have[ASIOS_GPU_ECC_CORR] || x->g[i].have[ASIOS_GPU_ECC_UNCORR];
	if (!any)
		return;
	fprintf(f, "# HELP asios_gpu_ecc_errors_total ECC errors since the driver loaded, by type.\n"
		   "# TYPE asios_gpu_ecc_errors_total counter\n");
	for (size_t i = 0; i < x->n; i++)
		for (int k = ASIOS_GPU_ECC_CORR; k <= ASIOS_GPU_ECC_UNCORR; k++)
			if (x->g[i].have[k])
				fprintf(f, "asios_gpu_ecc_errors_total{device=\"%s\",type=\"%s\"} %.17g\n", x->g[i].device,
					k == ASIOS_GPU_ECC_CORR ? "corrected" : "uncorrected", x->g[i].v[k]);
}

/*
 * NVML is loaded, initialised and shut down for each read: a process that keeps it initialised is a client of
 * the driver, and may keep a GPU from being reset. Within one pass of a daemon (health detection, then its
 * forecasts) a reading half a second old is reused instead of initialising NVML again.
 */
#define NVML_REUSE_NS 500000000LL
static pthread_mutex_t nvml_lock = PTHREAD_MUTEX_INITIALIZER;

static long long monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void nvml_read_cached(struct asios_gpu_readings *out)
{
	static struct asios_gpu_readings last;
	static long long at;
	long long now;

	pthread_mutex_lock(&nvml_lock);
	now = monotonic_ns();
	if (!at || now - at > NVML_REUSE_NS) {
		last.n = 0;
		nvml_read(&last);
		at = monotonic_ns();
	}
	memcpy(out->g, last.g, last.n * sizeof(*out->g));
	out->n = last.n;
	pthread_mutex_unlock(&nvml_lock);
}

void asios_gpu_read(struct asios_root *root, const struct asios_snapshot *s, struct asios_gpu_readings *out)
{
	out->n = 0;
	if (asios_root_is_host(root))
		nvml_read_cached(out);
	amd_read(root, s, out);
}

void asios_gpu_metrics_write(FILE *f, struct asios_root *root, const struct asios_snapshot *s)
{
	struct asios_gpu_readings *x = calloc(1, sizeof(*x));

	if (!x)
		return;
	asios_gpu_read(root, s, x);
	if (x->n) {
		fprintf(f, "# HELP asios_gpu_info A GPU and where its metrics come from (nvml, sysfs).\n"
			   "# TYPE asios_gpu_info gauge\n");
		for (size_t i = 0; i < x->n; i++)
			fprintf(f, "asios_gpu_info{device=\"%s\",source=\"%s\"} 1\n", x->g[i].device, x->g[i].source);
	}
	gpu_family(f, x, ASIOS_GPU_MEM_USED, "asios_gpu_memory_used_bytes", "gauge", "GPU memory in use.", "");
	gpu_family(f, x, ASIOS_GPU_MEM_TOTAL, "asios_gpu_memory_total_bytes", "gauge", "GPU memory.", "");
	gpu_family(f, x, ASIOS_GPU_UTIL, "asios_gpu_utilization_ratio", "gauge",
		   "Share of the last sample period the GPU was busy.", "");
	gpu_family(f, x, ASIOS_GPU_TEMP, "asios_gpu_temperature_celsius", "gauge", "GPU temperature.", "");
	gpu_family(f, x, ASIOS_GPU_TEMP_LIMIT, "asios_gpu_temperature_limit_celsius", "gauge",
		   "Temperature at which the GPU slows itself down (NVML) or its critical limit (amdgpu).", "");
	gpu_family(f, x, ASIOS_GPU_POWER, "asios_gpu_power_watts", "gauge", "GPU power draw.", "");
	ecc_family(f, x);
	gpu_family(f, x, ASIOS_GPU_REPLAYS, "asios_gpu_pcie_replays_total", "counter", "PCIe replays since the driver loaded.",
		   "");
	gpu_family(f, x, ASIOS_GPU_PERSISTENCE, "asios_gpu_persistence_mode", "gauge",
		   "1 when the driver keeps the GPU initialised without clients (persistence mode).", "");
	free(x);
}
