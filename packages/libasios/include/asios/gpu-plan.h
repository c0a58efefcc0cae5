/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The GPU host-settings domain (domain.h): what a GPU (or accelerator) and a NIC behind the same PCIe switch need
 * from the host for peer-to-peer DMA between them through that switch (GPUDirect RDMA), on any vendor's
 * devices. Observe: asios_gpu_observe() pairs each NIC with its nearest GPU when they share a PCIe switch
 * (distance PIX or PXB, the snapshot's PCI tree), lists the switch ports between them (the bridges below their
 * common upstream bridge), and reads the command line the kernel booted with and ASIOS's GRUB snippet. Plan
 * (asios_gpu_plan(), pure):
 *   - ACS redirect off on those switch ports and only there: pci=disable_acs_redir=PORT;PORT… — with ACS
 *     redirect on, a switch sends every peer-to-peer request up to the root complex, which halves GPU↔NIC
 *     bandwidth or drops it;
 *   - IOMMU passthrough (iommu=pt on x86_64, iommu.passthrough=1 on arm64): DMA of the host's own drivers
 *     untranslated, as GPUDirect RDMA wants;
 * each already on the running command line (set outside ASIOS) left alone with that reason; the rest as one
 * GRUB snippet (a file action, ASIOS_GPU_GRUB), in effect after update-grub and a reboot;
 *   - the peer-memory path of the pairs' GPUs: DMA-BUF where the GPU's driver exports its memory to the NIC
 *     itself (AMD's, Intel's and the others', NVIDIA's open kernel module: nothing to load), nvidia-peermem
 *     only where NVIDIA's proprietary kernel module runs (it has no DMA-BUF export), loaded at boot by
 *     systemd-modules-load (a file action, ASIOS_GPU_MODULES); decided from /proc/driver/nvidia/version, so
 *     not before the driver is loaded; nvidia-peermem loaded outside ASIOS is left alone.
 * A machine without such a pair gets nothing (and files of ours from before are removed).
 *   - persistence mode of NVIDIA's GPUs, on any machine with one (gpu-persist.c): NVIDIA's persistence daemon
 *     (nvidia-persistenced.service) started at boot, through a drop-in of multi-user.target (Wants=,
 *     ASIOS_GPU_PERSIST_WANTS) where the unit is installed but not enabled, and with persistence mode on through a
 *     drop-in of the unit (ASIOS_GPU_PERSIST_OVERRIDE) where its ExecStart= says --no-persistence-mode; a masked
 *     unit is left alone.
 * /etc/asios/gpu.conf and gpu.conf.d/ override:
 *   [gpu]   acs = auto|leave        iommu = passthrough|leave        peermem = auto|leave     persistence = on|leave
 */

#include <stdbool.h>
#include <stddef.h>

#include "asios/config.h"
#include "asios/domain.h"
#include "asios/snapshot.h"

struct asios_plan;
struct asios_root;

#define ASIOS_GPU_CONF "/etc/asios/gpu.conf"
#define ASIOS_GPU_CONF_D "/etc/asios/gpu.conf.d"
#define ASIOS_GPU_JOURNAL "/run/asios/gpu.journal"
#define ASIOS_GPU_GRUB "/etc/default/grub.d/asios-gpu.cfg"
#define ASIOS_GPU_MODULES "/etc/modules-load.d/asios-gpu.conf"
#define ASIOS_GPU_NVIDIA_VERSION "/proc/driver/nvidia/version"
#define ASIOS_GPU_PEERMEM_LOADED "/sys/module/nvidia_peermem/initstate"
#define ASIOS_GPU_PERSIST_SERVICE "nvidia-persistenced.service"
#define ASIOS_GPU_PERSIST_WANTS "/etc/systemd/system/multi-user.target.d/asios-gpu.conf"
#define ASIOS_GPU_PERSIST_OVERRIDE "/etc/systemd/system/nvidia-persistenced.service.d/asios-gpu.conf"

enum { ASIOS_GPU_ACS_AUTO, ASIOS_GPU_ACS_LEAVE };
enum { ASIOS_GPU_IOMMU_PASSTHROUGH, ASIOS_GPU_IOMMU_LEAVE };
enum { ASIOS_GPU_PEERMEM_AUTO, ASIOS_GPU_PEERMEM_LEAVE };
enum { ASIOS_GPU_PERSISTENCE_ON, ASIOS_GPU_PERSISTENCE_LEAVE };

struct asios_gpu_policy {
	int acs;   /* ASIOS_GPU_ACS_* */
	int iommu; /* ASIOS_GPU_IOMMU_* */
	int peermem; /* ASIOS_GPU_PEERMEM_* */
	int persistence; /* ASIOS_GPU_PERSISTENCE_* */
};

extern const struct asios_conf_format asios_gpu_policy_format;
int asios_gpu_policy_parse(struct asios_gpu_policy *p, const char *text, const char *origin, char **error);
int asios_gpu_policy_init(struct asios_gpu_policy *p);
void asios_gpu_policy_clear(struct asios_gpu_policy *p);

/* a GPU and the NIC behind the same PCIe switch */
struct asios_gpu_pair {
	char gpu[16], nic[16];       /* PCI addresses */
	char *nic_name;              /* its RDMA device or interface ("mlx5_0", "ens1np0"), or NULL */
	enum asios_pci_distance distance; /* PIX or PXB */
	char **ports;                /* the switch ports between them (bridge addresses), NULL-terminated */
};

struct asios_gpu_state {
	struct asios_gpu_pair *pairs;
	size_t n_pairs;
	char **ports;                /* every pair's ports, sorted, once; NULL-terminated */
	size_t n_ports;
	unsigned gpus, nics;         /* GPUs and accelerators, NICs: what the pairing looked at */
	char *arch;                  /* "x86_64", "aarch64", … */
	char *cmdline;               /* the running kernel's, NULL unknown */
	char *grub;                  /* ASIOS_GPU_GRUB's content, NULL absent */
	bool grub_dir;               /* /etc/default/grub.d exists: the machine boots with GRUB */
	unsigned nvidia_pairs;       /* pairs whose GPU is NVIDIA's */
	char *nvidia_driver;         /* the first line of ASIOS_GPU_NVIDIA_VERSION, NULL when no driver is loaded */
	bool peermem_loaded;         /* nvidia_peermem is loaded (ASIOS_GPU_PEERMEM_LOADED) */
	char *modules;               /* ASIOS_GPU_MODULES's content, NULL absent */
	unsigned nvidia_gpus;        /* NVIDIA's GPUs and accelerators, paired or not */
	char *persist_unit;          /* the unit file of ASIOS_GPU_PERSIST_SERVICE (/etc, /usr/lib, /lib), NULL absent */
	char *persist_unit_path;     /* where it was found */
	bool unit_dirs;              /* a systemd unit folder exists (/etc/systemd/system, /usr/lib/…, /lib/…) */
	bool persist_masked;         /* /etc/systemd/system/ASIOS_GPU_PERSIST_SERVICE is a link to /dev/null (or empty) */
	bool persist_enabled;        /* multi-user.target.wants/ holds it: enabled outside ASIOS */
	char **persist_dropins;      /* the unit's drop-ins in /etc other than ours, NULL-terminated (NULL: none) */
	char *persist_wants;         /* ASIOS_GPU_PERSIST_WANTS's content, NULL absent */
	char *persist_override;      /* ASIOS_GPU_PERSIST_OVERRIDE's content, NULL absent */
	char **warnings;             /* NULL-terminated */
	size_t n_warnings;
};

int asios_gpu_observe(struct asios_root *root, const struct asios_snapshot *s, struct asios_gpu_state **ret);
void asios_gpu_state_free(struct asios_gpu_state *st);
int asios_gpu_plan(const struct asios_gpu_state *st, const struct asios_gpu_policy *p, struct asios_plan **ret);
/* gpu-persist.c: the persistence daemon's unit and ASIOS's drop-ins (observe), their plan */
int asios_gpu_observe_persistence(struct asios_root *root, struct asios_gpu_state *st);
int asios_gpu_plan_persistence(struct asios_plan *plan, const struct asios_gpu_state *st,
			       const struct asios_gpu_policy *p);

extern const struct asios_domain asios_gpu_domain;
