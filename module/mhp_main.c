// SPDX-License-Identifier: GPL-2.0
/*
 * mhp_online: module entry, parameters, and the one state object.
 *
 * Load order (mhp_init) and its undo in reverse (mhp_exit, error ladder):
 *   1. debugfs files          (read-only views; never fatal)
 *   2. memory notifier        (accounting, head release, decision commit)
 *   3. module notifier        (step aside for virtio_mem & co.)
 *   4. online_page callback   (placement; not fatal if someone holds it)
 *   5. kprobe on zone_for_pfn_range (zone policy)
 * The memory notifier goes in before the callback and out after it, so
 * every onlining our callback takes part in is seen from MEM_GOING_ONLINE
 * to MEM_ONLINE, and unload can wait for it to finish (no page is left
 * kept back from the buddy, no code of ours runs after unload).
 *
 * Parameters: every write goes through mhp_config_change(): copy the
 * current config into the spare slot, apply the one new value, validate
 * the whole copy, and only then publish it (RCU). A refused value leaves
 * the old config in force and says why in the kernel log.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

#include "mhp_online.h"

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
		.kernel_reserve_mb = 0,
		.granule_mb = 1024,
	},
	.config = (struct mhp_config __rcu *)&mhp.configs[0],
	.config_lock = __MUTEX_INITIALIZER(mhp.config_lock),
	.cb_lock = __MUTEX_INITIALIZER(mhp.cb_lock),
	.cb_state = MHP_CB_NONE,
	.idle_wq = __WAIT_QUEUE_HEAD_INITIALIZER(mhp.idle_wq),
	.stash_lock = __SPIN_LOCK_UNLOCKED(mhp.stash_lock),
	.log_lock = __SPIN_LOCK_UNLOCKED(mhp.log_lock),
	.rec_lock = __SPIN_LOCK_UNLOCKED(mhp.rec_lock),
	.blocks = XARRAY_INIT(mhp.blocks, 0),
};

static const char * const mhp_placement_names[] = {
	[MHP_PLACE_TAIL] = "tail",
	[MHP_PLACE_HEAD] = "head",
	[MHP_PLACE_OTHER] = "other",
};

static const char * const mhp_zone_mode_names[] = {
	[MHP_ZONE_POLICY_OFF] = "off",
	[MHP_ZONE_POLICY_RATIO] = "ratio",
};

static const char * const mhp_cb_state_names[] = {
	[MHP_CB_NONE] = "none",
	[MHP_CB_HELD] = "held",
	[MHP_CB_BUSY] = "busy",
	[MHP_CB_ASIDE] = "aside",
};

const char *mhp_placement_str(enum mhp_placement p)
{
	return p < ARRAY_SIZE(mhp_placement_names) ? mhp_placement_names[p] : "?";
}

const char *mhp_zone_mode_str(enum mhp_zone_mode m)
{
	return m < ARRAY_SIZE(mhp_zone_mode_names) ? mhp_zone_mode_names[m] : "?";
}

const char *mhp_cb_state_str(enum mhp_cb_state s)
{
	return s < ARRAY_SIZE(mhp_cb_state_names) ? mhp_cb_state_names[s] : "?";
}

static unsigned long mhp_block_pages_now(void)
{
	return memory_block_size_bytes() >> PAGE_SHIFT;
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
	if (!apply(new, val, &why) ||
	    !mhp_policy_params_valid(&new->policy, mhp_block_pages_now(), &why)) {
		strscpy(shown, val, sizeof(shown));
		pr_err("%s=%s refused: %s; the old value stays\n",
		       kp->name, strim(shown), why ? why : "invalid value");
		ret = -EINVAL;
		goto out;
	}
	rcu_assign_pointer(mhp.config, new);
	synchronize_rcu();
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
	else if (sysfs_streq(val, "off"))
		c->zone_policy = MHP_ZONE_POLICY_OFF;
	else
		*why = "zone_policy must be ratio or off";
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
		 "zone choice for blocks onlined as plain \"online\": ratio (default: MOVABLE:KERNEL ratio policy) or off (the kernel's own choice); online_kernel/online_movable are never changed");

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
		 "decide per aligned granule of this many MiB (default 1024, the gigantic page); a power-of-two multiple of the memory block size, at most 128 blocks; the block size gives the kernel's behaviour");

/*
 * The default granule (1 GiB) is smaller than the memory block on machines
 * with 2 GiB blocks: start with one block there, and say so.
 */
static void mhp_config_fit_block(void)
{
	const struct mhp_config *c;
	char val[24];
	const char *why;
	struct kernel_param kp = { .name = "granule_mb" };

	c = rcu_dereference_protected(mhp.config, true);
	if (mhp_policy_params_valid(&c->policy, mhp.block_pages, &why))
		return;
	snprintf(val, sizeof(val), "%lu", mhp.block_pages >> (20 - PAGE_SHIFT));
	pr_info("granule_mb %lu does not fit the %lu MiB memory block: using %s\n",
		c->granule_mb, mhp.block_pages >> (20 - PAGE_SHIFT), val);
	mhp_config_change(&kp, val, mhp_apply_granule);
}

static void mhp_say_loaded(void)
{
	const struct mhp_config *c;

	rcu_read_lock();
	c = rcu_dereference(mhp.config);
	pr_info("loaded: callback %s, placement %s, zone policy %s\n",
		mhp_cb_state_str(mhp.cb_state),
		mhp_placement_str(c->placement),
		mhp_zone_mode_str(c->zone_policy));
	rcu_read_unlock();
}

static int __init mhp_init(void)
{
	int ret;

	mhp.block_pages = mhp_block_pages_now();
	mhp_config_fit_block();

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

	mhp_callback_take();

	ret = mhp_zone_init();
	if (ret)
		goto err_callback;

	mhp_say_loaded();
	return 0;

err_callback:
	mhp_callback_give_back();
	unregister_module_notifier(&mhp.module_nb);
err_memory_nb:
	mhp_account_wait_idle();
	unregister_memory_notifier(&mhp.memory_nb);
err_debugfs:
	mhp_debugfs_exit();
	mhp_account_free();
	return ret;
}

static void __exit mhp_exit(void)
{
	mhp_zone_exit();
	mhp_callback_give_back();
	unregister_module_notifier(&mhp.module_nb);
	/*
	 * The restore above already waited for a running onlining (it takes
	 * mem_hotplug_lock); do not rely on that detail: chunks kept by our
	 * callback are only released by our MEM_ONLINE.
	 */
	mhp_account_wait_idle();
	unregister_memory_notifier(&mhp.memory_nb);
	mhp_debugfs_exit();
	mhp_account_free();
	pr_info("unloaded\n");
}

module_init(mhp_init);
module_exit(mhp_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Memory hot-plug onlining: freelist placement, per-block accounting, MOVABLE:KERNEL zone policy");
MODULE_AUTHOR("mhp_online project");
