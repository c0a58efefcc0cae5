/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* asios-load: model weights at device speed (asios-load(1), docs/load.md).
 *   asios-load read       [OPTIONS] MODEL...   into a NUMA-local buffer (and dropped: a measurement, a check)
 *   asios-load warm       [OPTIONS] MODEL...   into the page cache, for a server that maps the files later
 *   asios-load inspect    [--json] MODEL...    check the headers, list the tensors' extent
 *   asios-load checkpoint --out DIR FILE...    write the files to DIR, durable and verified
 *   asios-load cache      status|verify|evict  the layered cache
 * MODEL: a safetensors or GGUF file, or a directory of them. With --cache DIR, MODEL is on a slower or remote
 * mount and is read through the local cache. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "asios/cache.h"
#include "asios/config.h"
#include "asios/load.h"
#include "asios-load.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: asios-load COMMAND [OPTIONS] MODEL...\n"
		"Load model weights (safetensors, GGUF) at the speed of the storage.\n\n"
		"Commands:\n"
		"  read MODEL...          into one buffer on a NUMA node (io_uring, O_DIRECT), report GB/s\n"
		"  warm MODEL...          into the page cache, for a server that maps the files later\n"
		"  inspect MODEL...       check the headers against the files, list tensors\n"
		"  checkpoint --out DIR FILE...  write FILEs to DIR durably (temporary file, sync, rename, read back)\n"
		"  cache status|verify|evict     the layered cache (--cache DIR)\n\n"
		"Options:\n"
		"  --cache DIR            read MODEL (on a remote mount) through the local cache DIR\n"
		"  --cache-max SIZE       cap of the cache (bytes, or with K/M/G/T); evicts least recently used\n"
		"  --config FILE          policy file (default %s, then %s.d/*.conf)\n"
		"  --node N               NUMA node of the buffer (read)\n"
		"  --near PCI             the NUMA node of PCI device PCI (0000:3b:00.0), e.g. the GPU it is for\n"
		"  --depth N              reads in flight (default 32)\n"
		"  --block SIZE           bytes per read (default 1M, a multiple of 4K)\n"
		"  --direct auto|on|off   O_DIRECT (default auto: where the file system allows it)\n"
		"  --method M             warm: uring|readahead|populate; checkpoint: direct|buffered\n"
		"  --hugepages            back the buffer with huge pages (hugetlb when reserved, else THP)\n"
		"  --no-hugepages         small pages (default)\n"
		"  --register             register the buffer with io_uring before the reads (pins it)\n"
		"  --no-check             do not check the model headers\n"
		"  --sha256               print the SHA-256 of every file (read)\n"
		"  --out DIR              checkpoint: the directory to write to\n"
		"  --json                 one JSON object on standard output\n"
		"  -h, --help             this help\n"
		"  --version              the version\n",
		ASIOS_LOAD_CONF, ASIOS_LOAD_CONF);
}

/* SIZE with an optional K/M/G/T suffix (powers of 1024) */
int asios_load_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	switch (*end) {
	case 'T': shift += 10; /* fall through */
	case 'G': shift += 10; /* fall through */
	case 'M': shift += 10; /* fall through */
	case 'K': shift += 10; end++; break;
	default: break;
	}
	if (*end || (shift && v > (~0ull >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static int near_node(const char *pci, int *node)
{
	char path[512];
	FILE *f;
	int n = -1;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/numa_node", pci);
	if (strchr(pci, '/') || !(f = fopen(path, "re"))) {
		fprintf(stderr, "asios-load: --near %s: no such PCI device (%s)\n", pci, path);
		return -ENOENT;
	}
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	fclose(f);
	*node = n; /* -1: the device is on no node (one-node machines): no binding */
	return 0;
}

enum { OPT_CACHE = 256, OPT_CACHE_MAX, OPT_CONFIG, OPT_NODE, OPT_NEAR, OPT_DEPTH, OPT_BLOCK, OPT_DIRECT, OPT_METHOD,
       OPT_HUGE, OPT_NOHUGE, OPT_REGISTER, OPT_NOCHECK, OPT_SHA, OPT_OUT, OPT_JSON, OPT_VERSION };

static const struct option options[] = {
	{ "cache", required_argument, NULL, OPT_CACHE },    { "cache-max", required_argument, NULL, OPT_CACHE_MAX },
	{ "config", required_argument, NULL, OPT_CONFIG },  { "node", required_argument, NULL, OPT_NODE },
	{ "near", required_argument, NULL, OPT_NEAR },      { "depth", required_argument, NULL, OPT_DEPTH },
	{ "block", required_argument, NULL, OPT_BLOCK },    { "direct", required_argument, NULL, OPT_DIRECT },
	{ "method", required_argument, NULL, OPT_METHOD },  { "no-hugepages", no_argument, NULL, OPT_NOHUGE },
	{ "hugepages", no_argument, NULL, OPT_HUGE },       { "register", no_argument, NULL, OPT_REGISTER },
	{ "no-check", no_argument, NULL, OPT_NOCHECK },     { "sha256", no_argument, NULL, OPT_SHA },
	{ "out", required_argument, NULL, OPT_OUT },        { "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },                 { "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static int bad(const char *opt, const char *v)
{
	fprintf(stderr, "asios-load: %s: bad value \"%s\" (asios-load --help)\n", opt, v);
	return 2;
}

/* one option into A (the config file has been read first: the command line wins) */
static int option(struct asios_load_args *a, int o, const char *v)
{
	uint64_t x;

	switch (o) {
	case OPT_CACHE: snprintf(a->cache_dir, sizeof(a->cache_dir), "%s", v); return 0;
	case OPT_CACHE_MAX: return asios_load_parse_size(v, &a->cache_max) ? bad("--cache-max", v) : 0;
	case OPT_NODE: return asios_load_parse_size(v, &x) || x > 1023 ? bad("--node", v) : (a->opts.node = (int)x, 0);
	case OPT_NEAR: return near_node(v, &a->opts.node) ? 2 : 0;
	case OPT_DEPTH: return asios_load_parse_size(v, &x) || !x || x > 4096 ? bad("--depth", v)
			       : (a->opts.depth = (unsigned)x, 0);
	case OPT_BLOCK: return asios_load_parse_size(v, &x) || !x || x % 4096 || x > (1u << 30) ? bad("--block", v)
			       : (a->opts.block = (size_t)x, 0);
	case OPT_DIRECT: return asios_load_direct(v, &a->opts.direct) ? bad("--direct", v) : 0;
	case OPT_METHOD: snprintf(a->method, sizeof(a->method), "%s", v); return 0;
	case OPT_HUGE: a->opts.hugepages = true; return 0;
	case OPT_NOHUGE: a->opts.hugepages = false; return 0;
	case OPT_REGISTER: a->opts.register_buffers = true; return 0;
	case OPT_NOCHECK: a->opts.no_check = true; return 0;
	case OPT_SHA: a->opts.sha256 = true; return 0;
	case OPT_OUT: snprintf(a->out, sizeof(a->out), "%s", v); return 0;
	case OPT_JSON: a->json = true; return 0;
	default: return 2;
	}
}

/* the config file first (named by --config, or the default), then the options over it */
static int parse_args(int argc, char **argv, struct asios_load_args *a)
{
	const char *conf = ASIOS_LOAD_CONF;
	int o, r;

	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--config"))
			conf = argv[i + 1];
	if ((r = asios_load_config(conf, a)) != 0)
		return r;
	optind = 2;
	while ((o = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (o == 'h') {
			usage(stdout);
			exit(0);
		}
		if (o == OPT_VERSION) {
			printf("asios-load %s\n", ASIOS_VERSION);
			exit(0);
		}
		if (o == OPT_CONFIG)
			continue;
		if (o == '?' || (r = option(a, o, optarg)) != 0)
			return r ? r : 2;
	}
	a->paths = (const char *const *)argv + optind;
	a->npaths = (size_t)(argc - optind);
	return 0;
}

int main(int argc, char **argv)
{
	struct asios_load_args a;
	const char *cmd = argc > 1 ? argv[1] : "";
	int r;

	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("asios-load %s\n", ASIOS_VERSION);
		return 0;
	}
	memset(&a, 0, sizeof(a));
	asios_load_opts_default(&a.opts);
	if ((r = parse_args(argc, argv, &a)) != 0)
		return r;
	if (!strcmp(cmd, "cache"))
		return asios_load_cmd_cache(&a);
	if (!a.npaths) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(cmd, "read") || !strcmp(cmd, "warm"))
		return asios_load_cmd_load(&a, !strcmp(cmd, "warm"));
	if (!strcmp(cmd, "inspect"))
		return asios_load_cmd_inspect(&a);
	if (!strcmp(cmd, "checkpoint"))
		return asios_load_cmd_checkpoint(&a);
	fprintf(stderr, "asios-load: unknown command \"%s\" (asios-load --help)\n", cmd);
	return 2;
}
