// SPDX-FileCopyrightText: 2026 The ASIOS Authors
// SPDX-License-Identifier: MIT
//
// /init of the boot test on architectures without a busybox on the host (arm64, riscv64 are
// cross-built): a static program doing the core checks of tests/vm/guest-init.sh and printing the
// same "ASIOS: ok|fail|value NAME" lines, then powering off.
// Built by tests/vm/boot.sh with the cross compiler: <triplet>-gcc -static -O2.
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static int failed;

static void result(const char *name, int ok, const char *detail)
{
	printf("ASIOS: %s %s%s%s\n", ok ? "ok" : "fail", name, ok ? "" : " ", ok ? "" : detail);
	failed |= !ok;
	fflush(stdout);
}

static int file_has(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	static char buf[1 << 16];
	size_t n, keep = strlen(needle) - 1, have = 0;
	int found = 0;

	if (!f)
		return 0;
	/* binary-safe search, carrying the tail of each block into the next */
	while (!found && (n = fread(buf + have, 1, sizeof(buf) - have - 1, f)) > 0) {
		have += n;
		found = memmem(buf, have, needle, strlen(needle)) != NULL;
		if (have > keep) {
			memmove(buf, buf + have - keep, keep);
			have = keep;
		}
	}
	fclose(f);
	return found;
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* timer interrupts of CPU 1: the per-CPU timer line of /proc/interrupts */
static long timer_irqs_cpu1(void)
{
	static const char *const names[] = { "LOC:", "arch_timer", "riscv-timer", NULL };
	char line[512];
	long val = -1;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		for (int i = 0; names[i]; i++) {
			char *p = strchr(line, ':');
			long c0, c1;

			if (!strstr(line, names[i]) || !p)
				continue;
			if (sscanf(p + 1, "%ld %ld", &c0, &c1) == 2)
				val = c1;
		}
		if (val >= 0)
			break;
	}
	fclose(f);
	return val;
}

static void tick_test(int secs)
{
	cpu_set_t set;
	long a, b;
	pid_t pid = fork();

	if (pid == 0) {
		CPU_ZERO(&set);
		CPU_SET(1, &set);
		sched_setaffinity(0, sizeof(set), &set);
		for (volatile unsigned long i = 0;; i++)
			;
	}
	sleep(1);
	a = timer_irqs_cpu1();
	sleep(secs);
	b = timer_irqs_cpu1();
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	printf("ASIOS: value ticks_busy %ld\n", (a < 0 || b < 0) ? -1 : b - a);
}

/* the LSMs of CONFIG_LSM really on, as tests/vm/guest-init.sh checks them on x86 */
static void lsm_check(void)
{
	static const char *const want[] = { "apparmor", "yama", "lockdown", "bpf" };
	char lsms[512] = "", name[64], padded[520];
	FILE *f = fopen("/sys/kernel/security/lsm", "r");

	if (f) {
		if (!fgets(lsms, sizeof(lsms), f))
			lsms[0] = '\0';
		fclose(f);
	}
	lsms[strcspn(lsms, "\n")] = '\0';
	printf("ASIOS: value lsm %s\n", lsms);
	snprintf(padded, sizeof(padded), ",%s,", lsms);
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
		char needle[80];

		snprintf(name, sizeof(name), "lsm-%s", want[i]);
		snprintf(needle, sizeof(needle), ",%s,", want[i]);
		result(name, strstr(padded, needle) != NULL, "(not in /sys/kernel/security/lsm)");
	}
	result("apparmor-enabled", file_has("/sys/module/apparmor/parameters/enabled", "Y"),
	       "(/sys/module/apparmor/parameters/enabled is not Y)");
}

int main(void)
{
	struct utsname u;
	char buf[256];
	FILE *f;

	cpu_set_t cpu0;

	/* this process stays on the housekeeping CPU 0; the tick test pins its workload to CPU 1 */
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	sched_setaffinity(0, sizeof(cpu0), &cpu0);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sys", "/sys", "sysfs", 0, NULL);
	mount("dev", "/dev", "devtmpfs", 0, NULL);
	mkdir("/sys/fs/cgroup", 0755);
	mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, NULL);
	mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
	mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	uname(&u);
	printf("ASIOS: start %s %s\n", u.release, u.machine);
	printf("ASIOS: value release %s\n", u.release);
	f = fopen("/proc/cmdline", "r");
	if (f && fgets(buf, sizeof(buf), f)) {
		char *w = strstr(buf, "asios.expect_release=");

		if (w) {
			w += strlen("asios.expect_release=");
			w[strcspn(w, " \n")] = 0;
			result("release", strcmp(w, u.release) == 0, u.release);
		}
	}
	if (f)
		fclose(f);
	result("version-string", strstr(u.release, "-asios-") != NULL, u.release);
	result("btf", exists("/sys/kernel/btf/vmlinux"), "(no /sys/kernel/btf/vmlinux)");
	result("sched-ext-sysfs", exists("/sys/kernel/sched_ext/state"), "(no /sys/kernel/sched_ext/state)");
	result("sched-ext-btf", file_has("/sys/kernel/btf/vmlinux", "sched_ext_ops"), "(no sched_ext_ops in BTF)");
	result("cgroup2-cpuset", file_has("/sys/fs/cgroup/cgroup.controllers", "cpuset"), "(no cpuset controller)");
	result("numa-two-nodes", exists("/sys/devices/system/node/node1"), "(one NUMA node)");
	result("nohz-full-cpu1", file_has("/sys/devices/system/cpu/nohz_full", "1"), "(CPU 1 not nohz_full)");
	result("psi", exists("/proc/pressure/cpu"), "(no PSI)");
	result("osnoise-tracer", file_has("/sys/kernel/tracing/available_tracers", "osnoise"), "(no osnoise)");
	lsm_check();
	tick_test(10);
	printf("ASIOS: done\n");
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	return failed;
}
