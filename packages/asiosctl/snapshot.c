/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <libgen.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "asios/domain.h"
#include "asios/ethtool.h"
#include "asios/pcie.h"
#include "asiosctl.h"
#include "audit.h"

/*
 * asiosctl snapshot: capture the files a snapshot reads into a tarball that works as --root, safe to attach
 * to a bug report.
 *
 * Our own reads are recorded through the root prefix while a snapshot is taken. hwloc reads sysfs itself,
 * so the trees it reads are copied as well: /sys/devices/system/{cpu,node}, cpuinfo, meminfo, mounts and the
 * process's cgroup files. Symlinks are kept as links (sysfs links are relative), and every link on the way
 * to a file is captured with its target, so paths resolve in the copy as they did on the machine. A listed
 * directory is recreated one level deep (its entries are what the snapshot saw).
 *
 * What is copied is decided by two tables: a file's content is taken only when its path is on the allow-list
 * (copy_allow[], each entry with the reason a snapshot needs it) and no component of its path is on the
 * never-list (never[]); the other files of a listed directory (PCI configuration space, MAC addresses, VPD,
 * serial numbers…) are left out. Every file taken is text and goes through the redactor (redact.c, a table
 * of rules), the kernel configuration inside its gzip too. The tarball is written 0600 beside its final name
 * and renamed into place.
 */

#include "snapshot.h"

static void on_read(void *userdata, const char *path)
{
	struct capture *c = userdata;

	if (c->n_paths == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 1024;
		char **np = realloc(c->paths, ncap * sizeof(*np));

		if (!np)
			return;
		c->paths = np;
		c->cap = ncap;
	}
	if ((c->paths[c->n_paths] = strdup(path)))
		c->n_paths++;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* tar's option for the compression the output's suffix asks for (as tar -a picks it); NULL: none */
static const char *compression(const char *name)
{
	static const struct {
		const char *suffix, *option;
	} by_suffix[] = {
		{ ".gz", "--gzip" },   { ".tgz", "--gzip" },  { ".taz", "--gzip" },	{ ".xz", "--xz" },
		{ ".txz", "--xz" },    { ".bz2", "--bzip2" }, { ".tbz", "--bzip2" },	{ ".tbz2", "--bzip2" },
		{ ".tz2", "--bzip2" }, { ".zst", "--zstd" },  { ".tzst", "--zstd" },	{ ".lz", "--lzip" },
		{ ".lzma", "--lzma" }, { ".tlz", "--lzma" },  { ".lzo", "--lzop" },	{ ".Z", "--compress" },
		{ ".taZ", "--compress" },
	};
	size_t n = strlen(name);

	for (size_t i = 0; i < N_OF(by_suffix); i++) {
		size_t k = strlen(by_suffix[i].suffix);

		if (n > k && !strcmp(name + n - k, by_suffix[i].suffix))
			return by_suffix[i].option;
	}
	return NULL;
}

/* tar of PARENT/NAME onto FD (compressed as OUT's suffix says); NAME may start with '-' */
static int run_tar(const char *parent, const char *name, const char *out, int fd)
{
	const char *z = compression(out);
	char *argv[16];
	size_t k = 0;
	posix_spawn_file_actions_t fa;
	extern char **environ;
	int status, r;
	pid_t pid;

	argv[k++] = "tar";
	argv[k++] = "--owner=0";
	argv[k++] = "--group=0";
	argv[k++] = "--numeric-owner";
	argv[k++] = "-C";
	argv[k++] = (char *)parent;
	argv[k++] = "-cf";
	argv[k++] = "-";
	if (z)
		argv[k++] = (char *)z;
	argv[k++] = "--"; /* an output named -x.tar.gz makes a folder -x, not an option */
	argv[k++] = (char *)name;
	argv[k] = NULL;
	r = posix_spawn_file_actions_init(&fa);
	if (r != 0)
		return -r;
	r = posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
	if (r == 0)
		r = posix_spawnp(&pid, "tar", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -r;
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* the tarball: written to a private (0600) file beside OUTABS, renamed over it when complete */
static int write_tarball(const char *parent, const char *name, const char *outabs)
{
	char tmp[PATH_MAX], dirbuf[PATH_MAX];
	int fd, r;

	snprintf(dirbuf, sizeof(dirbuf), "%s", outabs);
	snprintf(tmp, sizeof(tmp), "%s/.asios-snapshot-XXXXXX", dirname(dirbuf));
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = run_tar(parent, name, outabs, fd);
	if (r == 0 && (fchmod(fd, 0600) < 0 || fsync(fd) < 0))
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, outabs) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/* the snapshot's cgroup directory without doubled or trailing slashes */
static void cgroup_dir(const struct asios_snapshot *s, char *out, size_t n)
{
	char raw[PATH_MAX];
	size_t o = 0;

	out[0] = '\0';
	if (!s->cgroup.version || !s->cgroup.mount || !s->cgroup.path)
		return;
	snprintf(raw, sizeof(raw), "%s/%s", s->cgroup.mount, s->cgroup.path);
	for (size_t i = 0; raw[i] && o + 1 < n; i++)
		if (raw[i] != '/' || !o || out[o - 1] != '/')
			out[o++] = raw[i];
	while (o > 1 && out[o - 1] == '/')
		o--;
	out[o] = '\0';
}

/*
 * Every registered domain observes the machine under the recorder, with the policy the machine has (its
 * defaults when that policy does not read): a plan on the capture reads what the plan on the machine read.
 */
static void observe_domains(const char *root_path, struct asios_root *root, const struct asios_snapshot *s)
{
	size_t n;
	const struct asios_domain *const *d = asios_domains(&n);
	const char *prefix = strcmp(root_path, "/") ? root_path : "";

	(void)asios_conf_set_root(*prefix ? root_path : NULL);
	for (size_t i = 0; i < n; i++) {
		struct asios_domain_run run = { 0 };
		char conf[PATH_MAX], conf_d[PATH_MAX], *error = NULL;

		snprintf(conf, sizeof(conf), "%s%s", prefix, d[i]->conf);
		snprintf(conf_d, sizeof(conf_d), "%s%s", prefix, d[i]->conf_d);
		if (asios_domain_policy(d[i], conf, conf_d, &run, &error) < 0) {
			log_error("snapshot: %s; the %s domain observes with its defaults", error ? error : "policy", d[i]->name);
			asios_domain_run_clear(&run);
			free(error);
			error = NULL;
			if (asios_domain_policy(d[i], NULL, NULL, &run, &error) < 0) {
				free(error);
				asios_domain_run_clear(&run);
				continue;
			}
		}
		if (asios_domain_observe(&run, root, s) < 0)
			log_error("snapshot: the %s domain could not observe the machine; its files may be missing", d[i]->name);
		asios_domain_run_clear(&run);
	}
}

/* the policy files of every domain (the plans on the capture are made with them), and the folders of the
 * files ASIOS writes (whether the machine boots with GRUB, runs systemd) */
static void stage_policies(struct capture *c)
{
	size_t n;
	const struct asios_domain *const *d = asios_domains(&n);

	stage_path(c, "/etc/default/grub.d", 0, true, false);
	stage_path(c, "/etc/systemd/system.conf.d", 0, true, false);
	/* the folders only (whether units can be installed: the gpu domain's persistence daemon); the unit files
	 * themselves by the rules */
	stage_path(c, "/etc/systemd/system", 0, false, false);
	stage_path(c, "/usr/lib/systemd/system", 0, false, false);
	stage_path(c, "/lib/systemd/system", 0, false, false);

	for (size_t i = 0; i < n; i++) {
		stage_path(c, d[i]->conf, 0, false, false);
		stage_path(c, d[i]->conf_d, 0, true, false);
	}
}

/* TEXT as the capture's file DST (absolute in the capture), its folders made */
static void stage_text(struct capture *c, const char *dst, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", c->stage, dst);
	*strrchr(path, '/') = 0;
	if (mkdirs(path) >= 0 && (f = fopen(strcat(path, strrchr(dst, '/')), "wxe"))) {
		if (fputs(text, f) >= 0)
			c->files++;
		fclose(f);
	}
}

/*
 * The NIC domain's ethtool state is read over netlink, not from a file: each interface with a device gets its
 * emulation files (asios/ethtool.h), written from the replies, so that `asiosctl nic plan --root` on the capture
 * plans what it plans on the machine. A group the driver does not offer has no file.
 */
static void stage_ethtool(struct capture *c, const char *root_path)
{
	struct asios_root *root = NULL;
	char **names = NULL, path[PATH_MAX], dst[PATH_MAX];

	if (asios_root_open(root_path, &root) < 0 || asios_list_dir(root, "/sys/class/net", &names) < 0) {
		asios_root_free(root);
		return;
	}
	for (size_t i = 0; names[i]; i++) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/device", names[i]);
		if (!asios_exists(root, path))
			continue;
		for (int g = 0; g < _ASIOS_ETH_GROUP_MAX; g++) {
			struct asios_eth_values v;
			char *text;

			if (asios_ethtool_get(root, names[i], (enum asios_eth_group)g, &v, NULL) < 0 ||
			    !(text = asios_ethtool_capture_text((enum asios_eth_group)g, &v)))
				continue;
			asios_ethtool_capture_path(names[i], (enum asios_eth_group)g, dst, sizeof(dst));
			stage_text(c, dst, text);
			free(text);
		}
	}
	asios_strv_free(names);
	asios_root_free(root);
}

/*
 * The NIC domain's PCI Express registers (asios/pcie.h) come from configuration space, which a capture never holds
 * (device serial numbers): each function whose registers can be read gets its capture file of three values, one
 * without a PCI Express capability or read only to its header a line saying so.
 */
static void stage_pcie(struct capture *c, const char *root_path)
{
	struct asios_root *root = NULL;
	char **names = NULL, path[PATH_MAX];

	if (asios_root_open(root_path, &root) < 0 || asios_list_dir(root, "/sys/bus/pci/devices", &names) < 0) {
		asios_root_free(root);
		return;
	}
	for (size_t i = 0; names[i]; i++) {
		struct asios_pcie p;
		int r = asios_pcie_read(root, names[i], &p, NULL);
		char *text;

		/* no capability, or a header only: said, so that the plan on the capture gives the same reason */
		if (r == -ENODATA || r == -ERANGE)
			text = strdup(r == -ENODATA ? "unread ENODATA\n" : "unread ERANGE\n");
		else
			text = r < 0 ? NULL : asios_pcie_capture_text(&p);
		if (!text)
			continue;
		snprintf(path, sizeof(path), "%s/%s", ASIOS_PCIE_CAPTURE, names[i]);
		stage_text(c, path, text);
		free(text);
	}
	asios_strv_free(names);
	asios_root_free(root);
}

static int capture(const char *root_path, const char *out)
{
	static const char *const hwloc_files[] = { "/proc/cpuinfo", "/proc/meminfo", "/proc/mounts", "/proc/self/cgroup",
						   "/proc/self/cpuset", "/proc/self/status", "/proc/cmdline",
						   "/proc/sys/kernel/osrelease", NULL };
	char tmpl[] = "/tmp/asios-snapshot-XXXXXX", name[256], *base, *dot, outabs[PATH_MAX], dirbuf[PATH_MAX];
	struct capture c = { .root = root_path };
	size_t n_own;
	struct asios_snapshot *s;
	struct asios_root *root;
	int r;

	snprintf(dirbuf, sizeof(dirbuf), "%s", out);
	if (!realpath(dirname(dirbuf), outabs)) {
		log_error("snapshot: %s: %m", out);
		return -errno;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", out);
	base = basename(dirbuf);
	snprintf(outabs + strlen(outabs), sizeof(outabs) - strlen(outabs), "/%s", base);
	snprintf(name, sizeof(name), "%s", base);
	if ((dot = strstr(name, ".tar")) || (dot = strchr(name, '.')))
		*dot = '\0';
	if (!name[0])
		snprintf(name, sizeof(name), "snapshot");

	if (asios_root_open(root_path, &root) < 0) {
		log_error("snapshot: cannot open root %s: %m", root_path);
		return -errno;
	}
	asios_root_set_recorder(root, on_read, &c);
	r = asios_snapshot_load(root, &s);
	n_own = c.n_paths;
	if (r >= 0) {
		observe_domains(root_path, root, s);
		audit_observe(root_path, root); /* what asiosctl audit --root reads on the capture */
	}
	asios_root_set_recorder(root, NULL, NULL);
	asios_root_free(root);
	if (r < 0) {
		log_error("snapshot: cannot read the machine under %s: %s", root_path, strerror(-r));
		return r;
	}
	if (!mkdtemp(tmpl)) {
		log_error("snapshot: temporary folder: %m");
		asios_snapshot_free(s);
		return -errno;
	}
	snprintf(c.stage, sizeof(c.stage), "%s/%s", tmpl, name);
	if ((r = mkdirs(c.stage)) < 0) {
		log_error("snapshot: %s: %s", c.stage, strerror(-r));
		goto out;
	}
	cgroup_dir(s, c.cgroup, sizeof(c.cgroup));
	/* what the domains read: the files the allow-list takes, and the folders of /sys they listed (not those of
	 * /proc, whose links name the files of processes) */
	for (size_t i = 0; i < c.n_paths; i++)
		if (i < n_own || allowed(&c, c.paths[i]) || !strncmp(c.paths[i], "/sys/", 5))
			stage_path(&c, c.paths[i], 0, true, i < n_own);
	for (size_t i = 0; hwloc_files[i]; i++)
		stage_path(&c, hwloc_files[i], 0, false, false);
	stage_processes(&c);
	stage_policies(&c);
	stage_ethtool(&c, root_path);
	stage_pcie(&c, root_path);
	stage_tree(&c, "/sys/devices/system/cpu", 4);
	stage_tree(&c, "/sys/devices/system/node", 4);
	if (c.cgroup[0]) {
		stage_tree(&c, c.cgroup, 0);
		stage_path(&c, c.cgroup, 0, true, false);
	}
	r = write_tarball(tmpl, name, outabs);
	if (r < 0)
		log_error("snapshot: writing %s: %s", out, strerror(-r));
	else
		fprintf(stderr,
			"asiosctl: wrote %s: %zu files, %zu links, %zu values redacted, %zu files not on the allow-list "
			"left out (extract it and pass the folder %s/ as --root)\n",
			out, c.files, c.links, c.redacted, c.left_out, name);
out:
	nftw(tmpl, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	for (size_t i = 0; i < c.n_paths; i++)
		free(c.paths[i]);
	free(c.paths);
	free(c.procs);
	asios_snapshot_free(s);
	return r;
}

int verb_snapshot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "rules", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *root = "/", *out = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "r:o:h", opts, NULL)) != -1) {
		if (empty_option("snapshot", c, optarg))
			return 2;
		switch (c) {
		case 'r':
			root = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'R':
			print_rules();
			return 0;
		case 'h':
			printf("Usage: asiosctl snapshot -o FILE.tar.gz [--root DIR]\n"
			       "       asiosctl snapshot --rules\n\n"
			       "Capture the files a snapshot of this machine reads (sysfs, procfs, cgroup) into a tarball\n"
			       "with one top-level folder, usable as `asiosctl topology --root FOLDER`. Attach it to bug\n"
			       "reports: only files on an allow-list are copied (no process environments, PCI configuration\n"
			       "space, MAC addresses, serial numbers or UUIDs), every one is redacted (passwords, keys,\n"
			       "tokens, URL credentials, signed-URL signatures, UUIDs, hardware addresses), and the tarball\n"
			       "is readable by its owner only. The suffix picks the compression (.gz, .xz, .bz2, .zst).\n"
			       "--rules lists what is copied and what is redacted.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!out || optind != argc) {
		log_error("snapshot: usage: asiosctl snapshot -o FILE [--root DIR]");
		return 2;
	}
	return capture(root, out) < 0 ? 1 : 0;
}
