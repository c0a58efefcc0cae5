/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once
/* Between the healing guards and verification (health-heal.c) and the actions (health-actions.c). */
#include <stdbool.h>
#include <stddef.h>

#include "asios/health.h"

/* the undo journal of a signature's actions: ASIOS_HEALTH_JOURNAL_DIR/SIGNATURE.journal */
void health_journal_of(const char *sig, char *buf, size_t size);
/* take action A for INC; what it did or why it failed in NOTE. 0 or -errno */
int health_act(struct asios_heal_ctx *c, const struct asios_health_incident *inc, enum asios_health_action a,
	       char *note, size_t size);
/* whether A's effect is checked after verify_after (hand-overs to Slurm or Kubernetes are not) */
bool health_verifiable(enum asios_health_action a);
