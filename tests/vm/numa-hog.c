// SPDX-FileCopyrightText: 2026 The ASIOS Authors
// SPDX-License-Identifier: MIT
//
// The workload of the qemu NUMA test: touch MIB mebibytes where it runs (its first-touch node), print
// "ready", then keep the memory and wait for SIGTERM. Static, for the busybox guest.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	char *mem = malloc(mib << 20);

	if (!mem)
		return 1;
	/* written through a volatile pointer: the compiler may not drop stores to memory nobody reads */
	for (size_t i = 0; i < mib << 20; i += 4096)
		((volatile char *)mem)[i] = 0x5a;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
