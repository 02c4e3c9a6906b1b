// SPDX-License-Identifier: GPL-2.0
/*
 * mhp_online: the kernel functions the module calls that are not exported.
 *
 * The zone policy counts other virtio-mem devices as the kernel's
 * auto-movable policy does (walk_dynamic_memory_groups()), and the
 * adaptive policy converts a block the way a user's write of "offline" and
 * "online_kernel"/"online_movable" to its sysfs state file does: under
 * lock_device_hotplug(), device_offline() and device_online() of the
 * memory block device found with find_memory_block(). Marking fresh pages
 * as reported (mhp_report.c) must know whether free page reporting is on,
 * a static key it finds with kallsyms_lookup_name(). None of these is
 * exported on the stock kernels.
 *
 * Each address is found through a throw-away kprobe registration (kprobes
 * resolve any text symbol) and called through a static call, not a
 * function pointer: with indirect branch tracking (6.12 is built with
 * X86_KERNEL_IBT) the kernel seals the ENDBR of functions it never calls
 * indirectly, and an indirect call there faults; a static call is a direct
 * call/jump. Each static call is defined with the type of the kernel's own
 * declaration, so a changed prototype fails the build here instead of
 * calling with the wrong arguments.
 *
 * Whoever must not wait on the kernel (the debugfs census, the adaptive
 * watcher) takes the device hotplug lock with a bounded trylock of the
 * kernel's mutex, a data symbol found with kallsyms_lookup_name(): the
 * kernel's own sysfs writers back off like that
 * (lock_device_hotplug_sysfs()), because an offline_pages() that keeps
 * failing to isolate a page holds the lock for as long as it retries.
 *
 * A function that cannot be found disables what needs it, nothing else:
 * the kernel log and the summary file say what is missing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/device.h>
#include <linux/jiffies.h>
#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/memory.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/static_call.h>

#include "mhp_online.h"

DEFINE_STATIC_CALL_NULL(mhp_sc_walk_groups, walk_dynamic_memory_groups);
DEFINE_STATIC_CALL_NULL(mhp_sc_lock_hotplug, lock_device_hotplug);
DEFINE_STATIC_CALL_NULL(mhp_sc_unlock_hotplug, unlock_device_hotplug);
DEFINE_STATIC_CALL_NULL(mhp_sc_device_online, device_online);
DEFINE_STATIC_CALL_NULL(mhp_sc_device_offline, device_offline);
DEFINE_STATIC_CALL_NULL(mhp_sc_find_block, find_memory_block);
DEFINE_STATIC_CALL_NULL(mhp_sc_kallsyms, kallsyms_lookup_name);

/* Which of the functions below were found. */
enum mhp_kfunc {
	MHP_KF_WALK_GROUPS,	/* other dynamic groups counted */
	MHP_KF_LOCK_HOTPLUG,	/* conversions (all five below) */
	MHP_KF_UNLOCK_HOTPLUG,
	MHP_KF_DEVICE_ONLINE,
	MHP_KF_DEVICE_OFFLINE,
	MHP_KF_FIND_BLOCK,
	MHP_KF_KALLSYMS,	/* kernel data symbols (mhp_report.c) */
	MHP_KF_NR,
};

static const char * const mhp_kfunc_names[MHP_KF_NR] = {
	[MHP_KF_WALK_GROUPS] = "walk_dynamic_memory_groups",
	[MHP_KF_LOCK_HOTPLUG] = "lock_device_hotplug",
	[MHP_KF_UNLOCK_HOTPLUG] = "unlock_device_hotplug",
	[MHP_KF_DEVICE_ONLINE] = "device_online",
	[MHP_KF_DEVICE_OFFLINE] = "device_offline",
	[MHP_KF_FIND_BLOCK] = "find_memory_block",
	[MHP_KF_KALLSYMS] = "kallsyms_lookup_name",
};

static unsigned long mhp_kfuncs_found;	/* bit per enum mhp_kfunc */

/* The kernel's device_hotplug_lock, NULL if it could not be found. */
static struct mutex *mhp_hotplug_mutex;

/*
 * Address of a kernel function through a throw-away kprobe. Registered
 * disabled, so it resolves the symbol without ever writing a breakpoint into
 * the function: some of these run at this very moment on another CPU
 * (device_online() of a block being onlined), and a lookup has no reason to
 * patch kernel text.
 */
static void *mhp_kfunc_lookup(const char *name)
{
	struct kprobe kp = {
		.symbol_name = name,
		.flags = KPROBE_FLAG_DISABLED,
	};
	void *addr;

	if (register_kprobe(&kp))
		return NULL;
	addr = kp.addr;
	unregister_kprobe(&kp);
	return addr;
}

int mhp_kfuncs_init(void)
{
	void *addr[MHP_KF_NR];
	unsigned int i;

	for (i = 0; i < MHP_KF_NR; i++) {
		addr[i] = mhp_kfunc_lookup(mhp_kfunc_names[i]);
		if (addr[i])
			__set_bit(i, &mhp_kfuncs_found);
		else
			pr_warn("kernel function %s not found\n",
				mhp_kfunc_names[i]);
	}
	if (addr[MHP_KF_WALK_GROUPS])
		static_call_update(mhp_sc_walk_groups,
				   addr[MHP_KF_WALK_GROUPS]);
	if (addr[MHP_KF_KALLSYMS])
		static_call_update(mhp_sc_kallsyms, addr[MHP_KF_KALLSYMS]);
	if (!mhp_kfuncs_can_convert())
		return 0;
	mhp_hotplug_mutex = mhp_ksym_data("device_hotplug_lock");
	if (!mhp_hotplug_mutex)
		pr_info("device_hotplug_lock not found: debugfs shows no census, the adaptive watcher waits for the lock\n");
	static_call_update(mhp_sc_lock_hotplug, addr[MHP_KF_LOCK_HOTPLUG]);
	static_call_update(mhp_sc_unlock_hotplug,
			   addr[MHP_KF_UNLOCK_HOTPLUG]);
	static_call_update(mhp_sc_device_online, addr[MHP_KF_DEVICE_ONLINE]);
	static_call_update(mhp_sc_device_offline,
			   addr[MHP_KF_DEVICE_OFFLINE]);
	static_call_update(mhp_sc_find_block, addr[MHP_KF_FIND_BLOCK]);
	return 0;
}

bool mhp_kfuncs_can_walk_groups(void)
{
	return test_bit(MHP_KF_WALK_GROUPS, &mhp_kfuncs_found);
}

bool mhp_kfuncs_can_convert(void)
{
	unsigned int i;

	for (i = MHP_KF_LOCK_HOTPLUG; i <= MHP_KF_FIND_BLOCK; i++)
		if (!test_bit(i, &mhp_kfuncs_found))
			return false;
	return true;
}

/* Can mhp_trylock_device_hotplug() take the lock at all? */
bool mhp_kfuncs_can_trylock(void)
{
	return mhp_hotplug_mutex;
}

/* The first conversion function not found, for the summary; "-" if none. */
const char *mhp_kfuncs_missing(void)
{
	unsigned int i;

	for (i = MHP_KF_LOCK_HOTPLUG; i <= MHP_KF_FIND_BLOCK; i++)
		if (!test_bit(i, &mhp_kfuncs_found))
			return mhp_kfunc_names[i];
	return "-";
}

int mhp_walk_dynamic_groups(int nid, walk_memory_groups_func_t func,
			    struct memory_group *excluded, void *arg)
{
	if (!mhp_kfuncs_can_walk_groups())
		return 0;
	return static_call(mhp_sc_walk_groups)(nid, func, excluded, arg);
}

/*
 * These are only called when mhp_kfuncs_can_convert() (or, for the unlock,
 * after mhp_trylock_device_hotplug() said yes).
 */
void mhp_lock_device_hotplug(void)
{
	static_call(mhp_sc_lock_hotplug)();
}

/*
 * Take the device hotplug lock if it comes free within @ms milliseconds;
 * false if not (or it cannot be taken this way), and then the caller goes
 * on without what needs it. Like lock_device_hotplug_sysfs(): try, sleep
 * 5 ms, try again; a fatal signal ends the wait.
 */
bool mhp_trylock_device_hotplug(unsigned int ms)
{
	unsigned long end = jiffies + msecs_to_jiffies(ms);

	if (!mhp_hotplug_mutex)
		return false;
	while (!mutex_trylock(mhp_hotplug_mutex)) {
		if (time_after(jiffies, end) || fatal_signal_pending(current))
			return false;
		usleep_range(5000, 10000);
	}
	return true;
}

void mhp_unlock_device_hotplug(void)
{
	static_call(mhp_sc_unlock_hotplug)();
}

int mhp_device_online(struct device *dev)
{
	return static_call(mhp_sc_device_online)(dev);
}

int mhp_device_offline(struct device *dev)
{
	return static_call(mhp_sc_device_offline)(dev);
}

/* The memory block device of block id, with a reference; NULL if none. */
struct memory_block *mhp_find_memory_block(unsigned long block)
{
	unsigned long sections = mhp.block_pages / PAGES_PER_SECTION;

	return static_call(mhp_sc_find_block)(block * sections);
}

/*
 * Address of a kernel data symbol (CONFIG_KALLSYMS_ALL), or NULL: not
 * found, or kallsyms_lookup_name() itself was not found.
 */
void *mhp_ksym_data(const char *name)
{
	if (!test_bit(MHP_KF_KALLSYMS, &mhp_kfuncs_found))
		return NULL;
	return (void *)static_call(mhp_sc_kallsyms)(name);
}
