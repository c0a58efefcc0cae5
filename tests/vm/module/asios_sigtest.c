// SPDX-License-Identifier: GPL-2.0-only
// SPDX-FileCopyrightText: 2026 The ASIOS Authors
/*
 * The smallest out-of-tree module: the boot test (tests/vm/sigtest.sh) loads it signed with the build's
 * key, unsigned and signed with a foreign key under module.sig_enforce=1. One line on load and unload.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static int __init asios_sigtest_init(void)
{
	pr_info("asios_sigtest: loaded\n");
	return 0;
}

static void __exit asios_sigtest_exit(void)
{
	pr_info("asios_sigtest: unloaded\n");
}

module_init(asios_sigtest_init);
module_exit(asios_sigtest_exit);
MODULE_DESCRIPTION("ASIOS module signature test");
MODULE_LICENSE("GPL");
