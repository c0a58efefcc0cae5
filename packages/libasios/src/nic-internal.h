/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once
/* Between the NIC domain's ethtool plan (nic.c) and its packet steering, RPS and RFS (nic-steer.c). */
#include <stdbool.h>

#include "asios/config.h"
#include "asios/nic-plan.h"
#include "asios/plan.h"

/* RFS: the sockets' table (net.core.rps_sock_flow_entries), shared by the receive queues of a device; the
 * kernel's scaling guide: "32768 ... works fairly well on a moderately loaded server" */
#define RFS_ENTRIES 32768
#define SOCK_FLOW "/proc/sys/net/core/rps_sock_flow_entries"

/* RPS on N's receive queues kept by the plan's queue count (AFTER), from knob V or the profile's default DFLT;
 * *SPREAD: the housekeeping CPUs were put on them. 0 or -errno */
int nic_plan_rps(struct asios_plan *plan, const struct asios_nic *n, const struct asios_knob_value *v,
		 const char *dflt, long after, bool *spread);
/* RFS with the RPS spread (SPREAD) on a machine without isolated CPUs; *SOCKETS: the sockets' table is wanted */
int nic_plan_rfs(struct asios_plan *plan, const struct asios_nic_state *st, const struct asios_nic *n,
		 const struct asios_knob_value *v, const char *dflt, long after, bool spread, bool *sockets);
/* the sockets' flow table raised to RFS_ENTRIES, once per plan after the devices */
int nic_plan_sock_flow(struct asios_plan *plan, const struct asios_nic_state *st);

/* N's PCI function, its registers and the GPU behind its PCIe switch, from snapshot S (nic-pcie.c); a malformed
 * configuration space is a warning of ST. 0 or -ENOMEM */
int nic_read_pcie(const struct asios_snapshot *s, struct asios_nic_state *st, struct asios_nic *n);
/* the read-request size of N's function from knob V or the profile's default DFLT (WHY: the knob's brief); once
 * per function (an earlier interface of ST on the same function planned it) */
int nic_plan_read_request(struct asios_plan *plan, const struct asios_nic_state *st, const struct asios_nic *n,
			  const struct asios_knob_value *v, const char *dflt, const char *why);
