// SPDX-License-Identifier: GPL-2.0
/*
 * mhp_harness_warn: a module whose only job is to WARN when loaded.
 *
 * The guest test harness promises that any WARNING in a guest's kernel log
 * fails the run. tests/harness/warn.sh loads this module and expects the
 * runner to fail, which proves that promise by observation rather than by
 * reading the runner's source. Never load it anywhere else.
 */
#include <linux/module.h>
#include <linux/bug.h>

static int __init mhp_harness_warn_init(void)
{
	WARN(1, "mhp_harness_warn: deliberate warning for the harness self-test\n");
	return 0;
}

static void __exit mhp_harness_warn_exit(void)
{
}

module_init(mhp_harness_warn_init);
module_exit(mhp_harness_warn_exit);
MODULE_DESCRIPTION("mhp_online test harness: deliberately WARNs on load");
MODULE_LICENSE("GPL");
