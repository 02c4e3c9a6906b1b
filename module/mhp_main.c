// SPDX-License-Identifier: GPL-2.0
/*
 * mhp_online: module entry, parameters, and the one state object.
 *
 * Load order (mhp_init) and its undo in reverse (mhp_exit, error ladder):
 *   1. kernel functions      (look-ups only, mhp_kfuncs.c, mhp_report.c)
 *   2. debugfs files          (read-only views; never fatal)
 *   3. memory notifier        (accounting, head release, decision commit)
 *   4. module notifier        (step aside for virtio_mem & co.)
 *   5. online_page callback   (placement; not fatal if someone holds it)
 *   6. kprobe on zone_for_pfn_range (zone policy; not fatal if missing)
 *   7. adaptive watcher       (thread + kprobe on wakeup_kswapd)
 * The memory notifier goes in before the callback and out after it, so
 * every onlining our callback takes part in is seen from MEM_GOING_ONLINE
 * to MEM_ONLINE. Giving the callback back waits for an onlining that uses
 * it; after the memory notifier is gone, chunks still kept (their
 * MEM_ONLINE never came) are freed: unload never waits for an event.
 *
 * Parameters: every write goes through mhp_config_change(): copy the
 * current config into the spare slot, fit it to the memory block size,
 * apply the one new value, validate the whole copy, and only then publish
 * it (RCU). A refused value leaves the old config in force and says why in
 * the kernel log. Parameters given to insmod are parsed before mhp_init()
 * runs, so the fitting cannot wait for init: with 2 GiB memory blocks the
 * default 1 GiB granule would make every value look invalid.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

#include "mhp_online.h"

/* kernel_headroom_mb default: room for slab, page tables and memmaps. */
#define MHP_HEADROOM_MB_DEFAULT	64UL

struct mhp_state mhp = {
	.configs[0] = {
		.placement = MHP_PLACE_TAIL,
		.zone_policy = MHP_ZONE_POLICY_RATIO,
		.policy = {
			.ratio = MHP_POLICY_RATIO_DEFAULT,
			.numa_aware = true,
			.kernel_reserve = 0,
			.granule = 1024UL << (20 - PAGE_SHIFT),
		},
		.adapt = {
			.headroom = MHP_HEADROOM_MB_DEFAULT << (20 - PAGE_SHIFT),
			.calm_ms = 10 * MSEC_PER_SEC,
			.gap_ms = 100,
		},
		.kernel_reserve_mb = 0,
		.granule_mb = 1024,
		.kernel_headroom_mb = MHP_HEADROOM_MB_DEFAULT,
		.granule_auto = true,
		.fresh_reported = true,
	},
	.config = (struct mhp_config __rcu *)&mhp.configs[0],
	.config_lock = __MUTEX_INITIALIZER(mhp.config_lock),
	.cb_lock = __MUTEX_INITIALIZER(mhp.cb_lock),
	.cb_state = MHP_CB_NONE,
	.adapt.wq = __WAIT_QUEUE_HEAD_INITIALIZER(mhp.adapt.wq),
	.stash_lock = __SPIN_LOCK_UNLOCKED(mhp.stash_lock),
	.log_lock = __SPIN_LOCK_UNLOCKED(mhp.log_lock),
	.rec_lock = __SPIN_LOCK_UNLOCKED(mhp.rec_lock),
	.groups_lock = __SPIN_LOCK_UNLOCKED(mhp.groups_lock),
	.blocks = XARRAY_INIT(mhp.blocks, 0),
};

static unsigned long mhp_block_pages_now(void)
{
	return memory_block_size_bytes() >> PAGE_SHIFT;
}

/*
 * What follows from the memory block size: the default granule grows to
 * one block where blocks are larger than 1 GiB, and the adaptive policy's
 * sizes of one block and of its memmap.
 */
static void mhp_config_fit(struct mhp_config *c, unsigned long block_pages)
{
	c->adapt.block_pages = block_pages;
	c->adapt.memmap_pages = DIV_ROUND_UP(block_pages * sizeof(struct page),
					     PAGE_SIZE);
	if (c->granule_auto && c->policy.granule < block_pages) {
		c->policy.granule = block_pages;
		c->granule_mb = block_pages >> (20 - PAGE_SHIFT);
	}
}

/* Applies one parameter value to a config copy; false + *why if it cannot. */
typedef bool (*mhp_config_apply_fn)(struct mhp_config *c, const char *val,
				    const char **why);

/*
 * The config lives in two static slots: the published one and the spare.
 * A change fills the spare, publishes it and waits for a grace period, so
 * the slot it replaced is unread when the next change fills it. No
 * allocation: nothing to leak when insmod fails on a later parameter, no
 * RCU callback left behind in freed module text.
 */
static int mhp_config_change(const struct kernel_param *kp, const char *val,
			     mhp_config_apply_fn apply)
{
	struct mhp_config *old, *new;
	const char *why = NULL;
	char shown[32];
	int ret = 0;

	mutex_lock(&mhp.config_lock);
	old = rcu_dereference_protected(mhp.config,
					lockdep_is_held(&mhp.config_lock));
	new = old == &mhp.configs[0] ? &mhp.configs[1] : &mhp.configs[0];
	*new = *old;
	mhp_config_fit(new, mhp_block_pages_now());
	if (!apply(new, val, &why) ||
	    !mhp_policy_params_valid(&new->policy, mhp_block_pages_now(), &why) ||
	    !mhp_adapt_params_valid(&new->adapt, &why)) {
		strscpy(shown, val, sizeof(shown));
		pr_err("%s=%s refused: %s; the old value stays\n",
		       kp->name, strim(shown), why ? why : "invalid value");
		ret = -EINVAL;
		goto out;
	}
	rcu_assign_pointer(mhp.config, new);
	synchronize_rcu();
	mhp_adapt_wake();
out:
	mutex_unlock(&mhp.config_lock);
	return ret;
}

static bool mhp_apply_placement(struct mhp_config *c, const char *val,
				const char **why)
{
	if (sysfs_streq(val, "tail"))
		c->placement = MHP_PLACE_TAIL;
	else if (sysfs_streq(val, "head"))
		c->placement = MHP_PLACE_HEAD;
	else
		*why = "placement must be tail or head";
	return !*why;
}

static bool mhp_apply_zone_policy(struct mhp_config *c, const char *val,
				  const char **why)
{
	if (sysfs_streq(val, "ratio"))
		c->zone_policy = MHP_ZONE_POLICY_RATIO;
	else if (sysfs_streq(val, "adaptive"))
		c->zone_policy = MHP_ZONE_POLICY_ADAPTIVE;
	else if (sysfs_streq(val, "off"))
		c->zone_policy = MHP_ZONE_POLICY_OFF;
	else
		*why = "zone_policy must be ratio, adaptive or off";
	return !*why;
}

static bool mhp_apply_ratio(struct mhp_config *c, const char *val,
			    const char **why)
{
	unsigned int v;

	if (kstrtouint(val, 0, &v))
		*why = "ratio must be a number (percent)";
	else
		c->policy.ratio = v;	/* range checked by the policy */
	return !*why;
}

static bool mhp_apply_numa_aware(struct mhp_config *c, const char *val,
				 const char **why)
{
	bool v;

	if (kstrtobool(val, &v))
		*why = "numa_aware must be 0/1/y/n";
	else
		c->policy.numa_aware = v;
	return !*why;
}

/* Megabytes to pages, refusing what would not fit in an unsigned long. */
static bool mhp_mb_to_pages(const char *val, unsigned long *mb,
			    unsigned long *pages)
{
	if (kstrtoul(val, 0, mb))
		return false;
	if (*mb > (ULONG_MAX >> (20 - PAGE_SHIFT)))
		return false;
	*pages = *mb << (20 - PAGE_SHIFT);
	return true;
}

static bool mhp_apply_kernel_reserve(struct mhp_config *c, const char *val,
				     const char **why)
{
	unsigned long mb, pages;

	if (!mhp_mb_to_pages(val, &mb, &pages)) {
		*why = "kernel_reserve_mb must be a number of MiB";
		return false;
	}
	c->kernel_reserve_mb = mb;
	c->policy.kernel_reserve = pages;
	return true;
}

static bool mhp_apply_granule(struct mhp_config *c, const char *val,
			      const char **why)
{
	unsigned long mb, pages;

	if (!mhp_mb_to_pages(val, &mb, &pages)) {
		*why = "granule_mb must be a number of MiB";
		return false;
	}
	c->granule_mb = mb;
	c->policy.granule = pages;	/* block multiple checked by the policy */
	c->granule_auto = false;
	return true;
}

static bool mhp_apply_headroom(struct mhp_config *c, const char *val,
			       const char **why)
{
	unsigned long mb, pages;

	if (!mhp_mb_to_pages(val, &mb, &pages)) {
		*why = "kernel_headroom_mb must be a number of MiB";
		return false;
	}
	c->kernel_headroom_mb = mb;
	c->adapt.headroom = pages;	/* range checked by the policy */
	return true;
}

static bool mhp_apply_calm(struct mhp_config *c, const char *val,
			   const char **why)
{
	unsigned int s;

	if (kstrtouint(val, 0, &s) || s > 3600)
		*why = "adaptive_calm_s must be 0..3600 (seconds)";
	else
		c->adapt.calm_ms = s * 1000;
	return !*why;
}

static bool mhp_apply_gap(struct mhp_config *c, const char *val,
			  const char **why)
{
	unsigned int ms;

	if (kstrtouint(val, 0, &ms))
		*why = "adaptive_gap_ms must be a number (milliseconds)";
	else
		c->adapt.gap_ms = ms;	/* range checked by the policy */
	return !*why;
}

static bool mhp_apply_fresh_reported(struct mhp_config *c, const char *val,
				     const char **why)
{
	bool v;

	if (kstrtobool(val, &v))
		*why = "fresh_reported must be 0/1/y/n";
	else
		c->fresh_reported = v;
	return !*why;
}

/* No value to apply: the config is only fitted to the block size. */
static bool mhp_apply_nothing(struct mhp_config *c, const char *val,
			      const char **why)
{
	return true;
}

/* The value as the user sees it, read from the published config. */
static int mhp_param_get(char *buf, const struct kernel_param *kp)
{
	const struct mhp_config *c;
	int n;

	rcu_read_lock();
	c = rcu_dereference(mhp.config);
	if (!strcmp(kp->name, "placement"))
		n = sysfs_emit(buf, "%s\n", mhp_placement_str(c->placement));
	else if (!strcmp(kp->name, "zone_policy"))
		n = sysfs_emit(buf, "%s\n", mhp_zone_mode_str(c->zone_policy));
	else if (!strcmp(kp->name, "ratio"))
		n = sysfs_emit(buf, "%u\n", c->policy.ratio);
	else if (!strcmp(kp->name, "numa_aware"))
		n = sysfs_emit(buf, "%c\n", c->policy.numa_aware ? 'Y' : 'N');
	else if (!strcmp(kp->name, "kernel_reserve_mb"))
		n = sysfs_emit(buf, "%lu\n", c->kernel_reserve_mb);
	else if (!strcmp(kp->name, "kernel_headroom_mb"))
		n = sysfs_emit(buf, "%lu\n", c->kernel_headroom_mb);
	else if (!strcmp(kp->name, "adaptive_calm_s"))
		n = sysfs_emit(buf, "%u\n", c->adapt.calm_ms / 1000);
	else if (!strcmp(kp->name, "adaptive_gap_ms"))
		n = sysfs_emit(buf, "%u\n", c->adapt.gap_ms);
	else if (!strcmp(kp->name, "fresh_reported"))
		n = sysfs_emit(buf, "%c\n", c->fresh_reported ? 'Y' : 'N');
	else
		n = sysfs_emit(buf, "%lu\n", c->granule_mb);
	rcu_read_unlock();
	return n;
}

#define MHP_PARAM(name, fn)						\
	static int mhp_set_##name(const char *val,			\
				  const struct kernel_param *kp)	\
	{								\
		return mhp_config_change(kp, val, fn);			\
	}								\
	static const struct kernel_param_ops mhp_ops_##name = {	\
		.set = mhp_set_##name,					\
		.get = mhp_param_get,					\
	};								\
	module_param_cb(name, &mhp_ops_##name, NULL, 0644)

MHP_PARAM(placement, mhp_apply_placement);
MODULE_PARM_DESC(placement,
		 "where freshly onlined pages go in the freelists: tail (default: allocated last) or head (allocated first, the pre-5.10 behaviour, for comparison); applies to the next block onlined");

MHP_PARAM(zone_policy, mhp_apply_zone_policy);
MODULE_PARM_DESC(zone_policy,
		 "zone choice for blocks onlined as plain \"online\": ratio (default: MOVABLE:KERNEL ratio policy), adaptive (MOVABLE first, blocks converted to the kernel zone when kernel headroom runs low and back later) or off (the kernel's own choice); online_kernel/online_movable are never changed");

MHP_PARAM(ratio, mhp_apply_ratio);
MODULE_PARM_DESC(ratio,
		 "maximum MOVABLE:KERNEL ratio in percent, 0..100000 (default 301); 0 = never MOVABLE");

MHP_PARAM(numa_aware, mhp_apply_numa_aware);
MODULE_PARM_DESC(numa_aware,
		 "apply the ratio per NUMA node as well as globally (default Y)");

MHP_PARAM(kernel_reserve_mb, mhp_apply_kernel_reserve);
MODULE_PARM_DESC(kernel_reserve_mb,
		 "MiB of early kernel memory left out of the ratio (default 0)");

MHP_PARAM(granule_mb, mhp_apply_granule);
MODULE_PARM_DESC(granule_mb,
		 "decide per aligned granule of this many MiB (default 1024, the gigantic page, or one block where blocks are larger); a power-of-two multiple of the memory block size, at most 128 blocks; the block size gives the kernel's behaviour");

MHP_PARAM(kernel_headroom_mb, mhp_apply_headroom);
MODULE_PARM_DESC(kernel_headroom_mb,
		 "zone_policy=adaptive: MiB of free kernel-zone memory above the high watermarks to keep per node (default 64); below it a MOVABLE block is converted to the kernel zone, at 1.5 times it for adaptive_calm_s one goes back");

MHP_PARAM(adaptive_calm_s, mhp_apply_calm);
MODULE_PARM_DESC(adaptive_calm_s,
		 "zone_policy=adaptive: seconds the kernel headroom must stay at 1.5 times kernel_headroom_mb before a converted block goes back to ZONE_MOVABLE, 0..3600 (default 10)");

MHP_PARAM(adaptive_gap_ms, mhp_apply_gap);
MODULE_PARM_DESC(adaptive_gap_ms,
		 "zone_policy=adaptive: least time between two conversions on a node, 10..600000 ms (default 100)");

MHP_PARAM(fresh_reported, mhp_apply_fresh_reported);
MODULE_PARM_DESC(fresh_reported,
		 "mark the free pages of a freshly hot-added block as already reported to the hypervisor, so free page reporting skips them until they are allocated and freed once (default Y); no effect without a reporting device, or with init_on_free or page poisoning");

/* Parameters given to insmod were fitted already; the defaults are not. */
static void mhp_config_fit_block(void)
{
	struct kernel_param kp = { .name = "(block size)" };

	mhp_config_change(&kp, "", mhp_apply_nothing);
}

static void mhp_say_loaded(void)
{
	const struct mhp_config *c;

	rcu_read_lock();
	c = rcu_dereference(mhp.config);
	pr_info("loaded: callback %s, placement %s, zone policy %s (probe %s)\n",
		mhp_cb_state_str(mhp.cb_state),
		mhp_placement_str(c->placement),
		mhp_zone_mode_str(c->zone_policy),
		mhp_probe_state_str(mhp.probe_state));
	rcu_read_unlock();
}

static int __init mhp_init(void)
{
	int ret;

	mhp.block_pages = mhp_block_pages_now();
	mhp_config_fit_block();
	mhp_kfuncs_init();
	mhp_report_init();

	mhp_debugfs_init();

	mhp.memory_nb.notifier_call = mhp_memory_notify;
	ret = register_memory_notifier(&mhp.memory_nb);
	if (ret) {
		pr_err("cannot register the memory notifier: %d\n", ret);
		goto err_debugfs;
	}

	mhp.module_nb.notifier_call = mhp_module_notify;
	ret = register_module_notifier(&mhp.module_nb);
	if (ret) {
		pr_err("cannot register the module notifier: %d\n", ret);
		goto err_memory_nb;
	}

	mhp_callback_init();
	mhp_zone_init();

	ret = mhp_adapt_init();
	if (ret) {
		pr_err("cannot start the adaptive watcher: %d\n", ret);
		goto err_zone;
	}

	mhp_say_loaded();
	return 0;

err_zone:
	mhp_zone_exit();
	mhp_callback_give_back();
	unregister_module_notifier(&mhp.module_nb);
err_memory_nb:
	unregister_memory_notifier(&mhp.memory_nb);
	mhp_account_exit();
err_debugfs:
	mhp_debugfs_exit();
	mhp_account_free();
	return ret;
}

static void __exit mhp_exit(void)
{
	mhp_adapt_exit();
	mhp_zone_exit();
	mhp_callback_give_back();
	unregister_module_notifier(&mhp.module_nb);
	unregister_memory_notifier(&mhp.memory_nb);
	mhp_account_exit();
	mhp_debugfs_exit();
	mhp_account_free();
	pr_info("unloaded\n");
}

module_init(mhp_init);
module_exit(mhp_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(MHP_VERSION);
MODULE_DESCRIPTION("Memory hot-plug onlining: freelist placement, per-block accounting, MOVABLE:KERNEL and adaptive zone policies");
MODULE_AUTHOR("mhp_online project");
