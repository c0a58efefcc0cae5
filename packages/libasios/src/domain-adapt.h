/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The adapters between a domain's typed functions and the untyped ones of struct asios_domain (asios/domain.h),
 * written once: the observe result's free/warnings for a state struct with `char **warnings; size_t n_warnings`.
 */

#define ASIOS_DOMAIN_STATE(name, type)                                                                     \
	static void name##_state_free(void *st)                                                             \
	{                                                                                                   \
		asios_##name##_state_free(st);                                                               \
	}                                                                                                   \
	static char **name##_warnings(const void *state, size_t *n)                                        \
	{                                                                                                   \
		const type *st = state;                                                                     \
                                                                                                            \
		*n = st->n_warnings;                                                                         \
		return st->warnings;                                                                         \
	}
