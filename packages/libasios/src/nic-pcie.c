/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/nic-plan.h"
#include "asios/pcie.h"
#include "asios/plan.h"
#include "asios/snapshot.h"
#include "nic-internal.h"
#include "util.h"

/*
 * The NIC domain's PCI Express setting (nic-plan.h): the read-request size of a ConnectX function that serves a
 * GPU behind the same PCIe switch. The registers come with the snapshot (pci.c reads each function's
 * configuration space); the write is an ASIOS_ACTION_PCIE action (actuator-pcie.c).
 */

#define VENDOR_MELLANOX 0x15b3
#define READ_REQUEST_AUTO 4096

int nic_read_pcie(const struct asios_snapshot *s, struct asios_nic_state *st, struct asios_nic *n)
{
	const struct asios_pci_device *d;
	char *w = NULL;

	n->gpu = -1;
	if (n->device < 0)
		return 0;
	d = &s->pci[n->device];
	if (d->pcie_fault &&
	    (asprintf(&w, "%s: %s's read-request size left alone", d->pcie_fault, n->name) < 0 ||
	     asios_strv_push(&st->warnings, &st->n_warnings, w) < 0))
		return -ENOMEM;
	snprintf(n->addr, sizeof(n->addr), "%s", d->addr);
	n->vendor = d->vendor;
	n->pcie = d->pcie;
	n->pcie_err = d->pcie_err;
	for (size_t i = 0; i < s->n_pci && n->gpu < 0; i++)
		if (asios_pci_is_gpu(&s->pci[i]) && asios_pci_distance(s, (size_t)n->device, i) <= ASIOS_PCI_PXB)
			n->gpu = (int)i;
	return 0;
}

/* an interface of ST before N on the same PCI function: that one planned it */
static bool planned_before(const struct asios_nic_state *st, const struct asios_nic *n)
{
	for (const struct asios_nic *o = st->nics; o < n; o++)
		if (o->device >= 0 && o->device == n->device)
			return true;
	return false;
}

static const char *why_unread(int err)
{
	return err == -ENODATA ? "no PCI Express capability (a conventional PCI function)"
	       : err == -ERANGE ? "its configuration space ends at the 64-byte header (read without CAP_SYS_ADMIN, "
				  "as asios-irqd does, or a capture of such a read)"
	       : err == -ENOENT ? "no configuration space, nor its registers in the capture (/capture/pcie)"
	       : err == -EINVAL ? "they are malformed (the warning names the file)"
				: strerror(-err);
}

/* the size asked for (0: auto), or -1 when VALUE is no size the register holds */
static long asked(const char *value)
{
	char *end;
	long v;

	if (!strcmp(value, "auto"))
		return 0;
	v = strtol(value, &end, 10);
	return *end || end == value || v < 128 || v > 4096 || (v & (v - 1)) ? -1 : v;
}

static const char *object_ro(char *buf, size_t size, const struct asios_nic *n)
{
	snprintf(buf, size, "%s pcie.relaxed_ordering", n->name);
	return buf;
}

int nic_plan_read_request(struct asios_plan *plan, const struct asios_nic_state *st, const struct asios_nic *n,
			  const struct asios_knob_value *v, const char *dflt, const char *why)
{
	const char *value = v->set ? v->value : dflt;
	char object[96], path[48];
	long want, now;

	if (n->device < 0 || planned_before(st, n))
		return 0; /* no PCI function (netdevsim, a virtual bus), or its other interface has planned it */
	snprintf(object, sizeof(object), "%s pcie.read_request", n->name);
	if (!value)
		return asios_plan_skip_object(plan, object, "leave in nic.conf");
	if ((want = asked(value)) < 0)
		return asios_plan_skip_object(plan, object, "%s is no read-request size (128 to 4096 bytes, a power of "
					      "two)", value);
	if (!n->pcie.cap)
		return asios_plan_skip_object(plan, object, "the PCI Express registers of %s were not read: %s", n->addr,
					      why_unread(n->pcie_err));
	if (!want && n->vendor != VENDOR_MELLANOX)
		return asios_plan_skip_object(plan, object, "auto: only NVIDIA's ConnectX adapters have a recommended "
					      "read-request size; %s is vendor 0x%04x", n->addr, n->vendor);
	if (!want && n->gpu < 0)
		return asios_plan_skip_object(plan, object, "auto: no GPU or accelerator behind the PCIe switch of %s, "
					      "no GPUDirect traffic to speed up", n->addr);
	if (n->vendor == VENDOR_MELLANOX && n->gpu >= 0 && !asios_pcie_relaxed_ordering(&n->pcie) &&
	    asios_plan_skip_object(plan, object_ro(object, sizeof(object), n), "relaxed ordering is off in the Device "
				   "Control of %s: GPUDirect RDMA writes stay strictly ordered. Firmware or the kernel "
				   "(for a root port that mishandles relaxed ordering) turned it off, which ASIOS cannot "
				   "tell apart: left as it is", n->addr) < 0)
		return -ENOMEM;
	snprintf(object, sizeof(object), "%s pcie.read_request", n->name);
	now = asios_pcie_max_read_request(&n->pcie);
	want = want ? want : READ_REQUEST_AUTO;
	if (now == want)
		return 0;
	snprintf(path, sizeof(path), "%s/max_read_request", n->addr);
	if (!v->set)
		return asios_plan_add_pcie(plan, object, path, now, want, "%s (%s, GPU %s; was %ld bytes)", why, n->addr,
					   n->gpu >= 0 ? "behind its switch" : "none", now);
	return asios_plan_add_pcie(plan, object, path, now, want, "%ld-byte PCIe read requests, as nic.conf asks (%s; "
				   "was %ld bytes)", want, n->addr, now);
}
