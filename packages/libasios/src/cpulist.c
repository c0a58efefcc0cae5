/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include "asios/cpulist.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_uint(const char **p, unsigned *ret)
{
	unsigned long v = 0;
	const char *s = *p;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v >= ASIOS_CPU_MAX)
			return -ERANGE;
		s++;
	}
	*p = s;
	*ret = (unsigned)v;
	return 0;
}

static int fail(const char *at, const char **err_at, int r)
{
	if (err_at)
		*err_at = at;
	return r;
}

int asios_cpulist_parse(const char *s, hwloc_bitmap_t set, const char **err_at)
{
	const char *p = s;

	hwloc_bitmap_zero(set);
	p += strspn(p, " \t");
	if (*p == '\n' || *p == '\0')
		return 0;
	for (;;) {
		unsigned a, b, used = 0, group = 0;

		if (parse_uint(&p, &a) < 0)
			return fail(p, err_at, -EINVAL);
		b = a;
		if (*p == '-') {
			p++;
			if (parse_uint(&p, &b) < 0 || b < a)
				return fail(p, err_at, -EINVAL);
			if (*p == ':') { /* a-b:used/group */
				p++;
				if (parse_uint(&p, &used) < 0 || *p != '/')
					return fail(p, err_at, -EINVAL);
				p++;
				if (parse_uint(&p, &group) < 0 || group == 0 || used == 0 || used > group)
					return fail(p, err_at, -EINVAL);
			}
		}
		if (group) {
			for (unsigned c = a; c <= b; c++)
				if ((c - a) % group < used)
					hwloc_bitmap_set(set, c);
		} else {
			hwloc_bitmap_set_range(set, a, (int)b);
		}
		if (*p == ',') {
			p++;
			continue;
		}
		p += strspn(p, " \t\r\n");
		if (*p)
			return fail(p, err_at, -EINVAL);
		return 0;
	}
}

int asios_cpumask_parse(const char *s, hwloc_bitmap_t set, const char **err_at)
{
	const char *end;
	unsigned bit = 0;
	size_t n;

	hwloc_bitmap_zero(set);
	s += strspn(s, " \t");
	n = strcspn(s, " \t\r\n");
	end = s + n;
	if (s[n + strspn(s + n, " \t\r\n")])
		return fail(s + n, err_at, -EINVAL);
	if (n == 0)
		return fail(s, err_at, -EINVAL);
	/* walk from the least significant (last) digit */
	for (const char *p = end; p > s; p--) {
		char c = p[-1];
		int v;

		if (c == ',')
			continue;
		if (!isxdigit((unsigned char)c))
			return fail(p - 1, err_at, -EINVAL);
		v = isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
		for (int i = 0; i < 4; i++)
			if (v & (1 << i)) {
				if (bit + (unsigned)i >= ASIOS_CPU_MAX)
					return fail(p - 1, err_at, -ERANGE);
				hwloc_bitmap_set(set, bit + (unsigned)i);
			}
		bit += 4;
	}
	return 0;
}

char *asios_cpulist_format(hwloc_const_bitmap_t set)
{
	char *s = NULL;

	if (hwloc_bitmap_iszero(set))
		return strdup("");
	if (hwloc_bitmap_list_asprintf(&s, set) < 0)
		return NULL;
	return s;
}

char *asios_cpumask_format(hwloc_const_bitmap_t set, unsigned nbits)
{
	unsigned chunk = nbits % 32 ? nbits % 32 : 32;
	char *out, *o;

	if (nbits == 0 || nbits > ASIOS_CPU_MAX)
		return NULL;
	out = malloc((nbits + 31) / 32 * 9 + 1);
	if (!out)
		return NULL;
	o = out;
	for (int base = (int)((nbits + 31) / 32 - 1) * 32; base >= 0; base -= 32) {
		unsigned long v = 0;

		for (unsigned b = 0; b < chunk; b++)
			if (hwloc_bitmap_isset(set, (unsigned)base + b))
				v |= 1ul << b;
		o += sprintf(o, "%s%0*lx", o == out ? "" : ",", (int)((chunk + 3) / 4), v);
		chunk = 32;
	}
	return out;
}
