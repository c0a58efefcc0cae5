/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/config.h"
#include "asios/gpu-plan.h"
#include "asios/plan.h"
#include "asios/root.h"
#include "asios/snapshot.h"
#include "domain-adapt.h"
#include "util.h"

/*
 * The GPU host-settings domain (gpu-plan.h): GPU↔NIC pairs behind one PCIe switch, and the kernel command line
 * their peer-to-peer DMA needs (ACS redirect off on the switch ports between them, IOMMU passthrough), as one
 * GRUB snippet.
 */

/* ---- policy: gpu.conf ---- */

static const char *const acs_names[] = { "auto", "leave", NULL };
static const char *const iommu_names[] = { "passthrough", "leave", NULL };
static const char *const peermem_names[] = { "auto", "leave", NULL };
static const char *const persistence_names[] = { "on", "leave", NULL };

static const struct asios_conf_item gpu_keys[] = {
	ASIOS_CONF_ITEM_ENUM(struct asios_gpu_policy, "acs", acs, acs_names, "auto or leave"),
	ASIOS_CONF_ITEM_ENUM(struct asios_gpu_policy, "iommu", iommu, iommu_names, "passthrough or leave"),
	ASIOS_CONF_ITEM_ENUM(struct asios_gpu_policy, "peermem", peermem, peermem_names, "auto or leave"),
	ASIOS_CONF_ITEM_ENUM(struct asios_gpu_policy, "persistence", persistence, persistence_names, "on or leave"),
};

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct asios_conf *c = user;

	if (!strcmp(section, "gpu"))
		return asios_conf_table(c, gpu_keys, ASIOS_CONF_N(gpu_keys), c->policy, section, name, value);
	return asios_conf_fail(c, "unknown section [%s] (gpu)%s", section, "");
}

void asios_gpu_policy_clear(struct asios_gpu_policy *p)
{
	memset(p, 0, sizeof(*p));
}

int asios_gpu_policy_init(struct asios_gpu_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->acs = ASIOS_GPU_ACS_AUTO;
	p->iommu = ASIOS_GPU_IOMMU_PASSTHROUGH;
	p->peermem = ASIOS_GPU_PEERMEM_AUTO;
	p->persistence = ASIOS_GPU_PERSISTENCE_ON;
	return 0;
}

ASIOS_CONF_FORMAT(gpu, handler, NULL, ASIOS_GPU_CONF, NULL)

/* ---- observe ---- */

void asios_gpu_state_free(struct asios_gpu_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_pairs; i++) {
		free(st->pairs[i].nic_name);
		asios_strv_free(st->pairs[i].ports);
	}
	free(st->pairs);
	asios_strv_free(st->ports);
	free(st->arch);
	free(st->cmdline);
	free(st->grub);
	free(st->nvidia_driver);
	free(st->modules);
	free(st->persist_unit);
	free(st->persist_unit_path);
	asios_strv_free(st->persist_dropins);
	free(st->persist_wants);
	free(st->persist_override);
	asios_strv_free(st->warnings);
	free(st);
}

/* the NIC nearest to pci[GPU], -1 when none */
static int nearest_nic(const struct asios_snapshot *s, size_t gpu, enum asios_pci_distance *dist)
{
	int best = -1;

	*dist = ASIOS_PCI_SYS;
	for (size_t i = 0; i < s->n_pci; i++) {
		enum asios_pci_distance d;

		if (i == gpu || s->pci[i].cls != ASIOS_DEV_NIC)
			continue;
		d = asios_pci_distance(s, gpu, i);
		if (best < 0 || d < *dist) {
			best = (int)i;
			*dist = d;
		}
	}
	return best;
}

static bool has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* the bridges below the common upstream bridge of pci[A] and pci[B]: the switch ports between them */
static int ports_between(const struct asios_snapshot *s, size_t a, size_t b, char ***ret, size_t *n)
{
	int ca[32], cb[32];
	size_t na = asios_pci_chain(s, a, ca, 32), nb = asios_pci_chain(s, b, cb, 32), common = 0;
	int r = 0;

	while (common < na && common < nb && ca[common] == cb[common])
		common++;
	for (size_t i = common; r >= 0 && i < na; i++)
		if (!has(*ret, *n, s->pci[ca[i]].addr))
			r = asios_strv_push_dup(ret, n, s->pci[ca[i]].addr);
	for (size_t i = common; r >= 0 && i < nb; i++)
		if (!has(*ret, *n, s->pci[cb[i]].addr))
			r = asios_strv_push_dup(ret, n, s->pci[cb[i]].addr);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_pair(struct asios_gpu_state *st, const struct asios_snapshot *s, size_t gpu, size_t nic,
		    enum asios_pci_distance dist)
{
	const struct asios_pci_device *d = &s->pci[nic];
	struct asios_gpu_pair *v = realloc(st->pairs, (st->n_pairs + 1) * sizeof(*v)), *p;
	const char *name = d->rdma && d->rdma[0] ? d->rdma[0] : d->netdevs && d->netdevs[0] ? d->netdevs[0] : NULL;
	size_t n = 0;
	int r;

	if (!v)
		return -ENOMEM;
	st->pairs = v;
	p = memset(&v[st->n_pairs++], 0, sizeof(*p));
	snprintf(p->gpu, sizeof(p->gpu), "%s", s->pci[gpu].addr);
	snprintf(p->nic, sizeof(p->nic), "%s", d->addr);
	p->distance = dist;
	st->nvidia_pairs += s->pci[gpu].vendor == 0x10de;
	if (name && !(p->nic_name = strdup(name)))
		return -ENOMEM;
	if ((r = ports_between(s, nic, gpu, &p->ports, &n)) < 0)
		return r;
	if (n)
		qsort(p->ports, n, sizeof(*p->ports), cmp_str);
	for (size_t i = 0; r >= 0 && i < n; i++)
		if (!has(st->ports, st->n_ports, p->ports[i]))
			r = asios_strv_push_dup(&st->ports, &st->n_ports, p->ports[i]);
	return r;
}

static int pairs(struct asios_gpu_state *st, const struct asios_snapshot *s)
{
	int r = 0;

	/* each GPU with its nearest NIC: two GPUs behind one switch share its NIC */
	for (size_t i = 0; r >= 0 && i < s->n_pci; i++) {
		enum asios_pci_distance dist;
		int nic;

		st->nics += s->pci[i].cls == ASIOS_DEV_NIC;
		if (!asios_pci_is_gpu(&s->pci[i]))
			continue;
		st->gpus++;
		st->nvidia_gpus += s->pci[i].vendor == 0x10de;
		nic = nearest_nic(s, i, &dist);
		if (nic >= 0 && dist <= ASIOS_PCI_PXB)
			r = add_pair(st, s, i, (size_t)nic, dist);
	}
	if (r >= 0 && st->n_ports)
		qsort(st->ports, st->n_ports, sizeof(*st->ports), cmp_str);
	return r;
}

/* a read's result, a missing file being no error (the field stays NULL) */
static int optional(int r)
{
	return r == -ENOENT ? 0 : r;
}

int asios_gpu_observe(struct asios_root *root, const struct asios_snapshot *s, struct asios_gpu_state **ret)
{
	struct asios_gpu_state *st = calloc(1, sizeof(*st));
	int r = st ? pairs(st, s) : -ENOMEM;

	*ret = st;
	if (r < 0)
		return r;
	if ((s->arch && !(st->arch = strdup(s->arch))) ||
	    (s->isolation.cmdline && !(st->cmdline = strdup(s->isolation.cmdline))))
		return -ENOMEM;
	st->grub_dir = asios_exists(root, "/etc/default/grub.d");
	st->peermem_loaded = asios_exists(root, ASIOS_GPU_PEERMEM_LOADED);
	if ((r = optional(asios_read_file(root, ASIOS_GPU_GRUB, &st->grub, NULL))) < 0 ||
	    (r = optional(asios_read_file(root, ASIOS_GPU_MODULES, &st->modules, NULL))) < 0 ||
	    (r = asios_gpu_observe_persistence(root, st)) < 0)
		return r;
	return optional(asios_read_line(root, ASIOS_GPU_NVIDIA_VERSION, &st->nvidia_driver));
}

/* ---- plan ---- */

/* the strings of V joined by SEP ("" for none); malloc'ed */
static char *join(char *const *v, const char *sep)
{
	size_t len = 1, k = strlen(sep);
	char *out, *o;

	for (char *const *p = v; p && *p; p++)
		len += strlen(*p) + k;
	if (!(o = out = malloc(len)))
		return NULL;
	*o = 0;
	for (char *const *p = v; p && *p; p++)
		o += sprintf(o, "%s%s", p == v ? "" : sep, *p);
	return out;
}

/* TOKEN is a word of the command line CMDLINE (quotes around a word ignored) */
static bool on_cmdline(const char *cmdline, const char *token)
{
	size_t n = strlen(token);

	for (const char *p = cmdline; p && *p;) {
		size_t w;

		p += strspn(p, " \t\n");
		w = strcspn(p, " \t\n");
		if ((w == n && !strncmp(p, token, n)) || (w == n + 2 && *p == '"' && !strncmp(p + 1, token, n)))
			return true;
		p += w;
	}
	return false;
}

static const char *iommu_token(const char *arch)
{
	return !arch ? NULL : !strcmp(arch, "x86_64") ? "iommu=pt" : !strcmp(arch, "aarch64") ? "iommu.passthrough=1" : NULL;
}

/* the pairs and their ports, as notes */
static int pair_notes(struct asios_plan *plan, const struct asios_gpu_state *st)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < st->n_pairs; i++) {
		const struct asios_gpu_pair *p = &st->pairs[i];
		char *ports = join(p->ports, ", ");

		if (!ports)
			return -ENOMEM;
		r = asios_plan_note(plan, "GPU %s and NIC %s%s%s%s behind one PCIe switch (%s): switch ports %s", p->gpu, p->nic,
				    p->nic_name ? " (" : "", p->nic_name ? p->nic_name : "", p->nic_name ? ")" : "",
				    asios_pci_distance_name(p->distance), *ports ? ports : "none");
		free(ports);
	}
	return r;
}

/* TOKEN into the snippet's words WORDS (QUOTED for GRUB when it holds a ';'), unless the running kernel has it from
 * elsewhere: then OBJECT is left alone with that reason */
static int want_token(struct asios_plan *plan, const struct asios_gpu_state *st, const char *object, const char *token,
		      char ***words, size_t *n)
{
	char *w = NULL;

	if (!(st->grub && strstr(st->grub, token)) && on_cmdline(st->cmdline, token))
		return asios_plan_skip_object(plan, object, "%s is on the running kernel's command line already (set outside ASIOS)",
					      token);
	if (asprintf(&w, strchr(token, ';') ? "'%s'" : "%s", token) < 0)
		return -ENOMEM;
	return asios_strv_push(words, n, w);
}

static int plan_tokens(struct asios_plan *plan, const struct asios_gpu_state *st, const struct asios_gpu_policy *p,
		       char ***words, size_t *n)
{
	const char *iommu = iommu_token(st->arch);
	char *ports = NULL, *acs = NULL;
	int r = 0;

	if (p->acs == ASIOS_GPU_ACS_LEAVE)
		r = asios_plan_skip_object(plan, "ACS redirect", "acs = leave in gpu.conf");
	else if (!st->n_ports)
		r = asios_plan_skip_object(plan, "ACS redirect", "no switch port between the paired devices (one bridge "
					   "above both): nothing to turn off");
	else if (!(ports = join(st->ports, ";")) || asprintf(&acs, "pci=disable_acs_redir=%s", ports) < 0)
		acs = NULL, r = -ENOMEM; /* asprintf leaves ACS undefined when it fails */
	else
		r = want_token(plan, st, "ACS redirect", acs, words, n);
	free(ports);
	free(acs);
	if (r < 0)
		return r;
	if (p->iommu == ASIOS_GPU_IOMMU_LEAVE)
		return asios_plan_skip_object(plan, "IOMMU", "iommu = leave in gpu.conf");
	if (!iommu)
		return asios_plan_skip_object(plan, "IOMMU", "no IOMMU passthrough parameter known for %s",
					      st->arch ? st->arch : "this architecture");
	return want_token(plan, st, "IOMMU", iommu, words, n);
}

static char *snippet(const struct asios_gpu_state *st, char *const *words)
{
	char *line = join(words, " "), *out = NULL;

	if (line &&
	    asprintf(&out,
		     "# GPU host settings of ASIOS (asiosctl gpu apply), from /etc/asios/gpu.conf: peer-to-peer DMA between\n"
		     "# %zu GPU%s and the NIC%s behind the same PCIe switch. Takes effect after update-grub and a reboot;\n"
		     "# asiosctl gpu revert removes it.\n"
		     "GRUB_CMDLINE_LINUX_DEFAULT=\"${GRUB_CMDLINE_LINUX_DEFAULT:+$GRUB_CMDLINE_LINUX_DEFAULT }%s\"\n",
		     st->n_pairs, st->n_pairs == 1 ? "" : "s", st->n_pairs == 1 ? "" : "s", line) < 0)
		out = NULL;
	free(line);
	return out;
}

static int plan_snippet(struct asios_plan *plan, const struct asios_gpu_state *st, char *const *words, size_t n)
{
	const char *object = "kernel command line (GPU)";
	char *want = n ? snippet(st, words) : NULL, *line = join(words, " ");
	int r = 0;

	if ((n && !want) || !line)
		r = -ENOMEM;
	else if (!want && st->grub)
		r = asios_plan_add_file(plan, object, ASIOS_GPU_GRUB, st->grub, NULL,
					"no GPU and NIC share a PCIe switch, or gpu.conf leaves all: %s is removed", ASIOS_GPU_GRUB);
	else if (!want || (st->grub && !strcmp(want, st->grub)))
		r = 0; /* nothing wanted and nothing there, or the snippet as wanted */
	else if (!st->grub_dir && !st->grub)
		r = asios_plan_skip_object(plan, object, "no /etc/default/grub.d: this machine does not boot with GRUB; "
					   "add to its kernel command line: %s", line);
	else
		r = asios_plan_add_file(plan, object, ASIOS_GPU_GRUB, st->grub, want,
					"%s for the peer-to-peer DMA of %zu GPU↔NIC pair%s behind PCIe switches: ACS "
					"redirect off on their switch ports only (the rest of the machine keeps its "
					"isolation), IOMMU passthrough (update-grub, then reboot)",
					line, st->n_pairs, st->n_pairs == 1 ? "" : "s");
	free(want);
	free(line);
	return r;
}

#define PEERMEM_FILE                                                                                               \
	"# GPU host settings of ASIOS (asiosctl gpu apply), from /etc/asios/gpu.conf: GPUDirect RDMA between NVIDIA\n" \
	"# GPUs and the NICs behind their PCIe switches goes through nvidia-peermem with NVIDIA's proprietary kernel\n" \
	"# module. Loaded at boot by systemd-modules-load; asiosctl gpu revert removes this file.\n"                  \
	"nvidia-peermem\n"

/* the module file ASIOS wants (NULL: none), or a skip/note with why; *DECIDED false leaves the file as it is */
static int peermem_want(struct asios_plan *plan, const struct asios_gpu_state *st, const struct asios_gpu_policy *p,
			const char **want, bool *decided)
{
	const char *object = "GPU peer memory";

	*want = NULL;
	*decided = false;
	if (p->peermem == ASIOS_GPU_PEERMEM_LEAVE)
		return st->n_pairs ? asios_plan_skip_object(plan, object, "peermem = leave in gpu.conf") : 0;
	*decided = true;
	if (!st->n_pairs)
		return 0;
	if (!st->nvidia_pairs)
		return asios_plan_note(plan, "peer memory: DMA-BUF; the drivers of the paired GPUs (none of them NVIDIA's) "
				       "export GPU memory to the NIC themselves, no module to load");
	if (!st->nvidia_driver) {
		*decided = false;
		return asios_plan_skip_object(plan, object, "the NVIDIA driver is not loaded (no %s): DMA-BUF or "
					      "nvidia-peermem is decided once it is", ASIOS_GPU_NVIDIA_VERSION);
	}
	if (strstr(st->nvidia_driver, "Open Kernel Module"))
		return asios_plan_note(plan, "peer memory: DMA-BUF; NVIDIA's open kernel module (%s) exports GPU memory "
				       "to the NIC itself, nvidia-peermem not needed", st->nvidia_driver);
	if (st->peermem_loaded && !st->modules) {
		*decided = false;
		return asios_plan_skip_object(plan, object, "nvidia-peermem is loaded already (outside ASIOS)");
	}
	*want = PEERMEM_FILE;
	return 0;
}

static int plan_peermem(struct asios_plan *plan, const struct asios_gpu_state *st, const struct asios_gpu_policy *p)
{
	const char *want;
	bool decided;
	int r = peermem_want(plan, st, p, &want, &decided);

	if (r < 0 || !decided || (!want && !st->modules) || (want && st->modules && !strcmp(want, st->modules)))
		return r;
	if (!want)
		return asios_plan_add_file(plan, "GPU peer memory", ASIOS_GPU_MODULES, st->modules, NULL,
					   "nvidia-peermem not needed (%s): %s is removed",
					   st->n_pairs ? "DMA-BUF" : "no GPU and NIC share a PCIe switch", ASIOS_GPU_MODULES);
	return asios_plan_add_file(plan, "GPU peer memory", ASIOS_GPU_MODULES, st->modules, want,
				   "nvidia-peermem at boot for the GPUDirect RDMA of %u NVIDIA GPU↔NIC pair%s: NVIDIA's "
				   "proprietary kernel module (%s) has no DMA-BUF export (in effect at the next boot, or "
				   "modprobe nvidia-peermem)", st->nvidia_pairs, st->nvidia_pairs == 1 ? "" : "s",
				   st->nvidia_driver);
}

int asios_gpu_plan(const struct asios_gpu_state *st, const struct asios_gpu_policy *p, struct asios_plan **ret)
{
	struct asios_plan *plan = asios_plan_new();
	char **words = NULL;
	size_t n = 0;
	int r;

	if (!plan)
		return -ENOMEM;
	if (!st->n_pairs)
		r = asios_plan_note(plan, "no GPU or accelerator shares a PCIe switch with a NIC (%u GPU%s, %u NIC%s): their "
				    "DMA meets at the CPU whatever the host settings, nothing to set", st->gpus,
				    st->gpus == 1 ? "" : "s", st->nics, st->nics == 1 ? "" : "s");
	else if ((r = pair_notes(plan, st)) >= 0)
		r = plan_tokens(plan, st, p, &words, &n);
	if (r >= 0)
		r = plan_snippet(plan, st, words, n);
	if (r >= 0)
		r = plan_peermem(plan, st, p);
	if (r >= 0)
		r = asios_gpu_plan_persistence(plan, st, p);
	asios_strv_free(words);
	if (r < 0) {
		asios_plan_free(plan);
		plan = NULL;
	}
	*ret = plan;
	return r;
}

/* ---- the domain ---- */

ASIOS_DOMAIN_STATE(gpu, struct asios_gpu_state)

static int observe(struct asios_root *root, const struct asios_snapshot *s, const void *p, void **state)
{
	struct asios_gpu_state *st = NULL;
	int r = asios_gpu_observe(root, s, &st);

	(void)p;
	*state = st;
	return r;
}

static int plan(const struct asios_snapshot *s, const void *state, const void *p, struct asios_plan **ret)
{
	(void)s;
	return asios_gpu_plan(state, p, ret);
}

const struct asios_domain asios_gpu_domain = {
	.name = "gpu",
	.summary = "GPU host settings: ACS redirect off between GPUs and the NICs behind their PCIe switch, IOMMU "
		   "passthrough (kernel command line), their peer-memory path (DMA-BUF or nvidia-peermem), persistence "
		   "mode of NVIDIA's GPUs (nvidia-persistenced at boot)",
	.conf = ASIOS_GPU_CONF,
	.conf_d = ASIOS_GPU_CONF_D,
	.journal = ASIOS_GPU_JOURNAL,
	.restored = "GPU host settings",
	.policy_size = sizeof(struct asios_gpu_policy),
	.format = &asios_gpu_policy_format,
	.observe = observe,
	.state_free = gpu_state_free,
	.warnings = gpu_warnings,
	.plan = plan,
};
