/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "testutil.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "asios/interrupts.h"

static struct asios_interrupts *parse_str(const char *s)
{
	struct asios_interrupts *in = NULL;
	char *err = NULL;

	assert_int_equal(asios_interrupts_parse(s, strlen(s), "test", &in, &err), 0);
	assert_null(err);
	return in;
}

static const struct asios_irq_row *named(const struct asios_interrupts *in, const char *id)
{
	for (size_t i = 0; i < in->n_rows; i++)
		if (!strcmp(in->rows[i].id, id))
			return &in->rows[i];
	fail_msg("row %s missing", id);
	return NULL;
}

static size_t count_names(const struct asios_interrupts *in, const char *needle)
{
	size_t n = 0;

	for (size_t i = 0; i < in->n_rows; i++)
		if (in->rows[i].name && strstr(in->rows[i].name, needle))
			n++;
	return n;
}

static void test_node_exporter_old_x86(void **state)
{
	struct asios_interrupts *in;
	const struct asios_irq_row *r;
	char path[512], cmd[600];
	size_t len;
	char *text;

	(void)state;
	snprintf(path, sizeof(path), "%s/fixtures/proc-interrupts/node_exporter-interrupts-4cpu-x86_64", shared_dir());
	snprintf(cmd, sizeof(cmd), "cat '%s'", path);
	text = read_command(cmd, &len);
	assert_non_null(text);
	in = NULL;
	assert_int_equal(asios_interrupts_parse(text, len, path, &in, NULL), 0);
	assert_int_equal(in->n_cpus, 4);
	assert_int_equal(in->n_numbered, 15);
	assert_int_equal(in->n_rows, 30);
	assert_int_equal(in->n_warnings, 0);
	r = asios_interrupts_find(in, 16);
	assert_non_null(r);
	assert_string_equal(r->chip, "IR-IO-APIC");
	assert_string_equal(r->trigger, "fasteoi");
	assert_null(r->hwirq);
	assert_string_equal(r->name, "ehci_hcd:usb1, mmc0");
	assert_int_equal(r->total, 328511 + 322879 + 293782 + 351412);
	r = asios_interrupts_find(in, 40);
	assert_string_equal(r->chip, "DMAR_MSI");
	assert_string_equal(r->trigger, "edge");
	assert_string_equal(r->name, "dmar0");
	r = named(in, "ERR");
	assert_int_equal(r->n_counts, 1);
	r = named(in, "NMI");
	assert_int_equal(r->n_counts, 4);
	assert_string_equal(r->name, "Non-maskable interrupts");
	assert_null(asios_interrupts_find(in, 2));
	asios_interrupts_free(in);
	free(text);
}

static void test_pcp_1152_cpus(void **state)
{
	struct asios_interrupts *in = NULL;
	const struct asios_irq_row *r;
	struct timespec a, b;
	char cmd[600];
	size_t len;
	char *text;
	double ms;

	(void)state;
	snprintf(cmd, sizeof(cmd), "bzip2 -dc '%s/fixtures/proc-interrupts/pcp-interrupts-1152cpu-x86_64.bz2'",
		 shared_dir());
	text = read_command(cmd, &len);
	assert_non_null(text);
	assert_true(len > 13000000);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(asios_interrupts_parse(text, len, "pcp-1152", &in, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	printf("# parsed %zu bytes, %zu rows x %zu CPUs in %.1f ms (this build)\n", len, in->n_rows, in->n_cpus, ms);
	assert_int_equal(in->n_cpus, 1152);
	assert_int_equal(in->cpus[1151], 1151);
	assert_int_equal(in->n_numbered, 1034);
	assert_int_equal(in->n_rows, 1034 + 22);
	assert_int_equal(in->n_warnings, 0);
	assert_int_equal(count_names(in, "i40e-eth0-TxRx"), 94);
	assert_int_equal(count_names(in, "lpfc"), 568);
	assert_int_equal(count_names(in, "smartpqi"), 64);
	r = named(in, "LOC");
	assert_int_equal(r->n_counts, 1152);
	assert_int_equal(r->total, 509807994);
	r = asios_interrupts_find(in, 0);
	assert_string_equal(r->chip, "IR-IO-APIC");
	assert_string_equal(r->hwirq, "2");
	assert_string_equal(r->trigger, "edge");
	assert_string_equal(r->name, "timer");
	r = asios_interrupts_find(in, 1160);
	assert_string_equal(r->chip, "IR-PCI-MSI");
	assert_string_equal(r->hwirq, "102242399");
	assert_string_equal(r->name, "i40e-0000:c3:00.3:fdir-TxRx-0");
	asios_interrupts_free(in);
	free(text);
}

static void test_arm64(void **state)
{
	struct asios_interrupts *in = parse_str(
		"           CPU0       CPU1       CPU2       CPU3\n"
		" 11:     123456     234567     345678     456789     GICv3  30 Level     arch_timer\n"
		" 14:          0          0          0          0     GICv3  23 Level     arm-pmu\n"
		" 50:         12          0          0          0   ITS-MSI 524288 Edge      nvme0q0\n"
		" 51:          0       3411          0          0   ITS-MSI 524289 Edge      mlx5_comp0@pci:0000:01:00.0\n"
		" 60:          0          0          0          0  GICv3 110 Edge\n"
		"IPI0:      2093       1931       2110       1822       Rescheduling interrupts\n"
		"IPI1:        10         20         30         40       Function call interrupts\n"
		"Err:          0\n");
	const struct asios_irq_row *r;

	(void)state;
	assert_int_equal(in->n_numbered, 5);
	r = asios_interrupts_find(in, 11);
	assert_string_equal(r->chip, "GICv3");
	assert_string_equal(r->hwirq, "30");
	assert_string_equal(r->trigger, "level");
	assert_string_equal(r->name, "arch_timer");
	r = asios_interrupts_find(in, 51);
	assert_string_equal(r->chip, "ITS-MSI");
	assert_string_equal(r->name, "mlx5_comp0@pci:0000:01:00.0");
	assert_int_equal(r->counts[1], 3411);
	r = asios_interrupts_find(in, 60);
	assert_string_equal(r->hwirq, "110");
	assert_null(r->name);
	assert_int_equal(named(in, "IPI1")->total, 100);
	assert_int_equal(named(in, "Err")->n_counts, 1);
	asios_interrupts_free(in);
}

static void test_riscv_chip_with_blanks(void **state)
{
	struct asios_interrupts *in = parse_str(
		"           CPU0       CPU1\n"
		"  1:          0          0  SiFive PLIC   1 Edge      virtio0\n"
		"  5:       7412       6981  RISC-V INTC   5 Edge      riscv-timer\n"
		" 10:         33          0  SiFive PLIC  10 Level     ttyS0\n"
		"IPI0:        41         58  Rescheduling interrupts\n");
	const struct asios_irq_row *r;

	(void)state;
	r = asios_interrupts_find(in, 5);
	assert_string_equal(r->chip, "RISC-V INTC");
	assert_string_equal(r->hwirq, "5");
	assert_string_equal(r->trigger, "edge");
	assert_string_equal(r->name, "riscv-timer");
	r = asios_interrupts_find(in, 10);
	assert_string_equal(r->chip, "SiFive PLIC");
	assert_string_equal(r->trigger, "level");
	asios_interrupts_free(in);
}

static void test_s390_and_offline_columns(void **state)
{
	struct asios_interrupts *in = parse_str(
		"           CPU0       CPU2       CPU3\n"
		"EXT:        264        299         12\n"
		"I/O:        128        112          1\n"
		"  3:          0          5          0   PCI-MSI  mlx5_async@pci:0001:00:00.0\n"
		" CLK:       170        173          1   [EXT] Clock Comparator\n");
	const struct asios_irq_row *r;

	(void)state;
	assert_int_equal(in->n_cpus, 3);
	assert_int_equal(in->cpus[1], 2);
	assert_int_equal(in->cpus[2], 3);
	assert_int_equal(named(in, "EXT")->total, 575);
	assert_null(named(in, "I/O")->name);
	assert_string_equal(named(in, "CLK")->name, "[EXT] Clock Comparator");
	r = asios_interrupts_find(in, 3);
	assert_string_equal(r->chip, "PCI-MSI");
	assert_null(r->hwirq);
	assert_string_equal(r->name, "mlx5_async@pci:0001:00:00.0");
	asios_interrupts_free(in);
}

static void test_malformed(void **state)
{
	struct asios_interrupts *in = NULL;
	const char *trunc = "      CPU0       CPU1\n  1:   9   0  IO-APIC  1-edge  i8042\n  8:   1";
	const char *garbage = "      CPU0\n  1:   9  IO-APIC  1-edge  i8042\nthis is not a row\n 99999999999: 1 x\n";
	char *err = NULL;

	(void)state;
	assert_int_equal(asios_interrupts_parse("", 0, "empty", &in, &err), -EINVAL);
	assert_string_equal(err, "empty:1: no CPU columns in the header");
	free(err);
	assert_int_equal(asios_interrupts_parse("  1: 2 3\n", 9, "/proc/interrupts", &in, &err), -EINVAL);
	assert_non_null(strstr(err, "/proc/interrupts:1: the first line is not a CPU header"));
	free(err);

	assert_int_equal(asios_interrupts_parse(trunc, strlen(trunc), "cut", &in, &err), 0);
	assert_int_equal(in->n_numbered, 1);
	assert_int_equal(in->n_warnings, 1);
	assert_string_equal(in->warnings[0], "cut:3: IRQ 8 has 1 of 2 per-CPU counts (truncated file), ignoring");
	asios_interrupts_free(in);

	assert_int_equal(asios_interrupts_parse(garbage, strlen(garbage), "g", &in, NULL), 0);
	assert_int_equal(in->n_numbered, 1);
	assert_int_equal(in->n_warnings, 2);
	assert_string_equal(in->warnings[0], "g:3: not an interrupt row (no \"ID:\"), ignoring");
	assert_string_equal(in->warnings[1], "g:4: IRQ 99999999999 above the kernel's limit of 1048575, ignoring");
	asios_interrupts_free(in);
}

/* an IRQ number of 10^8 is skipped (callers index arrays by IRQ), the last one accepted is kept */
static void test_irq_bound(void **state)
{
	const char *text = "      CPU0\n 100000000: 1 PCI-MSI 1-edge big\n 1048575: 2 PCI-MSI 2-edge top\n";
	struct asios_interrupts *in = NULL;

	(void)state;
	assert_int_equal(asios_interrupts_parse(text, strlen(text), "/proc/interrupts", &in, NULL), 0);
	assert_int_equal(in->n_numbered, 1);
	assert_int_equal(in->rows[0].irq, ASIOS_IRQ_MAX);
	assert_int_equal(in->n_warnings, 1);
	assert_string_equal(in->warnings[0], "/proc/interrupts:2: IRQ 100000000 above the kernel's limit of 1048575, ignoring");
	asios_interrupts_free(in);
}

/* a header of 65,536 columns: parsed (linearly), the next CPU number refused */
static void test_wide_header(void **state)
{
	size_t cap = 65537 * 12 + 64, n = 0;
	struct asios_interrupts *in = NULL;
	char *text = malloc(cap), *err = NULL;

	(void)state;
	assert_non_null(text);
	for (unsigned i = 0; i < 65536; i++)
		n += (size_t)snprintf(text + n, cap - n, " CPU%u", i);
	n += (size_t)snprintf(text + n, cap - n, "\n");
	assert_int_equal(asios_interrupts_parse(text, n, "wide", &in, NULL), 0);
	assert_int_equal(in->n_cpus, 65536);
	assert_int_equal(in->cpus[65535], 65535);
	asios_interrupts_free(in);
	n += (size_t)snprintf(text + n - 1, cap - n, " CPU65536\n") - 1;
	assert_int_equal(asios_interrupts_parse(text, n, "wide", &in, &err), -EINVAL);
	assert_string_equal(err, "wide:1: the first line is not a CPU header (\"CPU0 CPU1 …\")");
	free(err);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_exporter_old_x86),
		cmocka_unit_test(test_pcp_1152_cpus),
		cmocka_unit_test(test_arm64),
		cmocka_unit_test(test_riscv_chip_with_blanks),
		cmocka_unit_test(test_s390_and_offline_columns),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_irq_bound),
		cmocka_unit_test(test_wide_header),
	};

	return cmocka_run_group_tests_name("interrupts", tests, NULL, NULL);
}
