// SPDX-License-Identifier: GPL-2.0
/*
 * mhp_online: move one online memory block to the other zone, the way a
 * user does it from sysfs.
 *
 * state_store() in drivers/base/memory.c is what a write of "offline" and
 * then "online_kernel" or "online_movable" to memoryN/state runs: with the
 * device hotplug lock held, device_offline() of the block device (its
 * movable pages migrate, offline_pages()), then mem->online_type set and
 * device_online(). mhp_convert_block() does exactly that, in one hold of
 * the lock that the caller (the adaptive watcher) already took: nobody
 * can online, offline or remove the block in between, and the memory
 * notifiers of other drivers (virtio_mem) see an ordinary offline and
 * online.
 *
 * offline_pages() retries migration until it succeeds or the caller has a
 * signal pending, and a page that stays pinned makes that forever. A user
 * ends it with a signal; the watcher allows SIGKILL and a watchdog timer
 * sends it one after MHP_CONVERT_OFFLINE_MS, so offline_pages() gives up
 * (-EINTR) and leaves the block online where it was.
 *
 * If the block went offline but will not come online in the new zone, it
 * is onlined back in the old one. If that fails too it stays offline, and
 * the caller finds out what becomes of it once the device hotplug lock is
 * released (mhp_adapt.c): a driver may have refused the onlining because
 * it is taking the memory away. virtio_mem does that when a shrink is
 * pending: the block going offline kicks its worker, which unplugs offline
 * blocks first, marks this one unused (so that its memory notifier
 * refuses to online it again) and waits for the device hotplug lock to
 * remove it. Only a block still there and offline after that is stranded.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/memory_hotplug.h>
#include <linux/sched/signal.h>

#include "mhp_online.h"

/* Longest an offlining for a conversion may take before it is ended. */
#define MHP_CONVERT_OFFLINE_MS	20000

/* Timer callback (mhp_adapt.c sets it up): end the watcher's offlining. */
void mhp_convert_watchdog_fire(struct timer_list *t)
{
	struct mhp_adapt *a = from_timer(a, t, watchdog);

	send_sig(SIGKILL, a->task, 1);
}

static int mhp_convert_offline(struct memory_block *mem)
{
	struct mhp_adapt *a = &mhp.adapt;
	int ret;

	mod_timer(&a->watchdog,
		  jiffies + msecs_to_jiffies(MHP_CONVERT_OFFLINE_MS));
	ret = mhp_device_offline(&mem->dev);
	timer_delete_sync(&a->watchdog);
	/* The watchdog's signal (or an exit's) must not reach the onlining. */
	flush_signals(current);
	return ret;
}

/*
 * Offline mem and online it to ZONE_MOVABLE (to_movable) or the kernel
 * zone. The caller holds the device hotplug lock and a reference to mem,
 * and has checked that mem is online. Returns 0, or the error of the step
 * that failed: the block is then online where it was, unless neither zone
 * would take it back (*left_offline is then set).
 */
int mhp_convert_block(struct memory_block *mem, bool to_movable,
		      bool *left_offline)
{
	int old_type = to_movable ? MMOP_ONLINE_KERNEL : MMOP_ONLINE_MOVABLE;
	int ret, back;

	*left_offline = false;
	ret = mhp_convert_offline(mem);
	if (ret)
		return ret > 0 ? -EAGAIN : ret;	/* 1: was offline already */

	mem->online_type = to_movable ? MMOP_ONLINE_MOVABLE : MMOP_ONLINE_KERNEL;
	ret = mhp_device_online(&mem->dev);
	if (!ret)
		return 0;

	mem->online_type = old_type;
	back = mhp_device_online(&mem->dev);
	if (back) {
		*left_offline = true;
		pr_info("memory block %lu went offline for a conversion and was refused onlining (%d, then %d)\n",
			mhp_block_id(mem), ret, back);
	}
	return ret;
}
