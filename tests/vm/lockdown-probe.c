// SPDX-FileCopyrightText: 2026 The ASIOS Authors
// SPDX-License-Identifier: MIT
//
// What a kernel lockdown mode leaves to user space (root): one "ASIOS: value ld_NAME RESULT" line per
// access, RESULT "ok" or the errno name (EPERM, ...). Run in the boot-test guest by tests/vm/lockdown-guest.sh;
// tests/vm/test-boot-x86_64.sh judges the lines. Static, x86_64:
//   gcc -static -O2 -o lockdown-probe tests/vm/lockdown-probe.c
//   lockdown-probe                        the fixed list below (PCI, /dev/mem, kcore, MSR, bpf, perf)
//   lockdown-probe NAME read PATH         read the file
//   lockdown-probe NAME write PATH VALUE  write VALUE to it
//   lockdown-probe NAME insmod FILE.ko    load a module (finit_module)
//   lockdown-probe NAME rmmod MODULE      unload it
// The fixed writes put back what they read (the PCI interrupt-line register, the TSC_AUX MSR); bpf programs
// are loaded, never attached.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *name, int err)
{
	printf("ASIOS: value ld_%s %s\n", name, err ? strerrorname_np(err) : "ok");
	fflush(stdout);
}

static int read_attr(const char *dev, const char *attr, char *v, size_t size)
{
	char path[512];
	FILE *f;
	int r = -1;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", dev, attr);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(v, size, f))
		r = 0;
	fclose(f);
	return r;
}

// the PCI function to try: a virtio one (vendor 0x1af4), else the first that is not a bridge; 0 when found
static int pci_dev(char *dir, size_t size)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	char v[16], other[256] = "";
	int found = -1;

	if (!d)
		return -1;
	while (found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (!read_attr(e->d_name, "vendor", v, sizeof(v)) && !strncmp(v, "0x1af4", 6)) {
			snprintf(dir, size, "/sys/bus/pci/devices/%s", e->d_name);
			found = 0;
		} else if (!*other && !read_attr(e->d_name, "class", v, sizeof(v)) && strncmp(v, "0x06", 4)) {
			snprintf(other, sizeof(other), "%s", e->d_name);
		}
	}
	closedir(d);
	if (found && *other) {
		snprintf(dir, size, "/sys/bus/pci/devices/%s", other);
		found = 0;
	}
	return found;
}

// write back the byte of the interrupt-line register (0x3c, no effect on the device)
static int pci_config_write(const char *dir)
{
	char path[600];
	unsigned char b;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/config", dir);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return errno;
	if (pread(fd, &b, 1, 0x3c) != 1 || pwrite(fd, &b, 1, 0x3c) != 1)
		err = errno;
	close(fd);
	return err;
}

static int pci_config_read(const char *dir)
{
	char path[600];
	unsigned char b[64];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/config", dir);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return errno;
	if (pread(fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
		err = errno ? errno : EIO;
	close(fd);
	return err;
}

// map the first memory BAR (resourceN) that has one: how user-space drivers reach a device's registers
static int pci_bar_mmap(const char *dir)
{
	char path[600];
	int err = ENOENT;

	for (int i = 0; i < 6; i++) {
		void *p;
		int fd;

		snprintf(path, sizeof(path), "%s/resource%d", dir, i);
		fd = open(path, O_RDWR | O_SYNC);
		if (fd < 0) {
			if (errno != ENOENT)
				err = errno;
			continue;
		}
		p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		err = p == MAP_FAILED ? errno : 0;
		if (p != MAP_FAILED)
			munmap(p, 4096);
		close(fd);
		if (err != ENODEV && err != ENXIO && err != EINVAL) // an I/O BAR cannot be mapped: try the next
			break;
	}
	return err;
}

static int open_read(const char *path, size_t n)
{
	char buf[64];
	int fd = open(path, O_RDONLY), err = 0;

	if (fd < 0)
		return errno;
	if (n && read(fd, buf, n) < 0)
		err = errno;
	close(fd);
	return err;
}

#define MSR_TSC_AUX 0xc0000103
static int msr(int write)
{
	uint64_t v;
	int fd = open("/dev/cpu/0/msr", write ? O_RDWR : O_RDONLY), err = 0;

	if (fd < 0)
		return errno;
	if (pread(fd, &v, sizeof(v), MSR_TSC_AUX) != sizeof(v))
		err = errno;
	else if (write && pwrite(fd, &v, sizeof(v), MSR_TSC_AUX) != sizeof(v))
		err = errno;
	close(fd);
	return err;
}

static int sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(SYS_bpf, cmd, a, sizeof(*a));
}

static int bpf_map(void)
{
	union bpf_attr a = { .map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1 };
	int fd = sys_bpf(BPF_MAP_CREATE, &a);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV_IMM(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define MOV_REG(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ADD_IMM(d, i) INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
// load (never attach) a program of TYPE: "return 0", after one call of HELPER (0: none) on 8 bytes of stack
static int bpf_prog(int type, int helper)
{
	struct bpf_insn p[10];
	union bpf_attr a;
	int n = 0, fd;

	p[n++] = INSN(BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, -8, 0); // u64 buf = 0 (at r10 - 8)
	if (helper == BPF_FUNC_probe_read_kernel) {                      // (dst = &buf, size = 8, src = &buf)
		p[n++] = MOV_REG(BPF_REG_1, BPF_REG_10);
		p[n++] = ADD_IMM(BPF_REG_1, -8);
		p[n++] = MOV_IMM(BPF_REG_2, 8);
		p[n++] = MOV_REG(BPF_REG_3, BPF_REG_10);
		p[n++] = ADD_IMM(BPF_REG_3, -8);
	} else if (helper == BPF_FUNC_probe_write_user) {                // (dst = 0, src = &buf, size = 8)
		p[n++] = MOV_IMM(BPF_REG_1, 0);
		p[n++] = MOV_REG(BPF_REG_2, BPF_REG_10);
		p[n++] = ADD_IMM(BPF_REG_2, -8);
		p[n++] = MOV_IMM(BPF_REG_3, 8);
	}
	if (helper)
		p[n++] = INSN(BPF_JMP | BPF_CALL, 0, 0, 0, helper);
	p[n++] = MOV_IMM(BPF_REG_0, 0);
	p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	memset(&a, 0, sizeof(a));
	a.prog_type = type;
	a.insns = (uintptr_t)p;
	a.insn_cnt = n;
	a.license = (uintptr_t)"GPL";
	fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int perf_open(void)
{
	struct perf_event_attr a = { .type = PERF_TYPE_SOFTWARE, .size = sizeof(a), .config = PERF_COUNT_SW_CPU_CLOCK,
				     .disabled = 1 };
	int fd = syscall(SYS_perf_event_open, &a, -1, 0, -1, 0);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int file_read(const char *path)
{
	char buf[256];
	int fd = open(path, O_RDONLY), err = 0;

	if (fd < 0)
		return errno;
	if (read(fd, buf, sizeof(buf)) < 0)
		err = errno;
	close(fd);
	return err;
}

static int file_write(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY), err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, value, strlen(value)) < 0)
		err = errno;
	close(fd);
	return err;
}

static int module_load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return errno;
	if (syscall(SYS_finit_module, fd, "", 0))
		err = errno;
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	char dev[512];

	if (argc == 4 && !strcmp(argv[2], "read"))
		report(argv[1], file_read(argv[3]));
	else if (argc == 5 && !strcmp(argv[2], "write"))
		report(argv[1], file_write(argv[3], argv[4]));
	else if (argc == 4 && !strcmp(argv[2], "insmod"))
		report(argv[1], module_load(argv[3]));
	else if (argc == 4 && !strcmp(argv[2], "rmmod"))
		report(argv[1], syscall(SYS_delete_module, argv[3], O_NONBLOCK) ? errno : 0);
	else if (argc != 1) {
		fprintf(stderr, "usage: %s [NAME read PATH | NAME write PATH VALUE | NAME insmod FILE | NAME rmmod MODULE]\n",
			argv[0]);
		return 2;
	}
	if (argc != 1)
		return 0;

	if (pci_dev(dev, sizeof(dev)) == 0) {
		char v[16] = "", id[16] = "";

		read_attr(strrchr(dev, '/') + 1, "vendor", v, sizeof(v));
		read_attr(strrchr(dev, '/') + 1, "device", id, sizeof(id));
		v[strcspn(v, "\n")] = id[strcspn(id, "\n")] = 0;
		printf("ASIOS: value ld_pci_device %s %s:%s\n", strrchr(dev, '/') + 1, v, id);
		report("pci_config_read", pci_config_read(dev));
		report("pci_config_write", pci_config_write(dev));
		report("pci_bar_mmap", pci_bar_mmap(dev));
	} else {
		report("pci_device", ENODEV);
	}
	report("dev_mem", open_read("/dev/mem", 0));
	report("kcore_read", open_read("/proc/kcore", 64));
	report("msr_read", msr(0));
	report("msr_write", msr(1));
	report("bpf_map_create", bpf_map());
	report("bpf_socket_filter_load", bpf_prog(BPF_PROG_TYPE_SOCKET_FILTER, 0));
	report("bpf_probe_read_kernel", bpf_prog(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_probe_read_kernel));
	report("bpf_probe_write_user", bpf_prog(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_probe_write_user));
	report("perf_event_open", perf_open());
	return 0;
}
