/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The snapshot as JSON, schema "asios.topology/1" (docs/topology-json.md). */

#include <json-c/json.h>

#include "asios/plan.h"
#include "asios/snapshot.h"

/* New reference, NULL on allocation failure. */
struct json_object *asios_snapshot_to_json(const struct asios_snapshot *s);
/* A plan: {"actions": [{"irq", "device", "from", "to", "reason", "path"}], "skipped": [{"irq", "reason"}],
 * "notes": [...]}. Actions that are not IRQs carry "object", "kind" (write, affinity, migrate, file), "pid" for
 * process actions, "from"/"to" (CPU or node sets) or "old"/"new" (file values; for whole files null when absent); their skips carry "object". */
struct json_object *asios_plan_to_json(const struct asios_plan *p);
/* CPU set as a JSON array of integers. */
struct json_object *asios_json_cpuset(hwloc_const_bitmap_t set);
