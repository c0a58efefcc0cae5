/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The adapters between a domain's typed functions and the untyped ones of struct asios_domain (asios/domain.h),
 * written once: asios_NAME_policy_read/_clear on struct asios_NAME_policy, and the observe result's
 * free/warnings for a state struct with `char **warnings; size_t n_warnings`.
 */

#define ASIOS_DOMAIN_POLICY(name)                                                                          \
	static int name##_policy_read(void *p, const char *conf, const char *conf_d, char **error)           \
	{                                                                                                   \
		return asios_##name##_policy_read(p, conf, conf_d, error);                                   \
	}                                                                                                   \
	static void name##_policy_clear(void *p)                                                            \
	{                                                                                                   \
		asios_##name##_policy_clear(p);                                                              \
	}

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
