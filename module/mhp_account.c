// SPDX-License-Identifier: GPL-2.0
/*
 * mhp_online: the onlining life cycle seen through the memory notifier.
 *
 * MEM_GOING_ONLINE   cur becomes active: snapshot of the placement, start
 *                    time, and the zone decision stashed by the kprobe for
 *                    this block (the onlining really happens now).
 * (callback)         mhp_callback.c hands chunks over or keeps them.
 * MEM_ONLINE         kept chunks are freed (head placement), the decision
 *                    goes to the log, the block record is updated, cur is
 *                    idle again and module unload may go on.
 * MEM_CANCEL_ONLINE  cur is idle again; nothing was handed over yet.
 * MEM_OFFLINE        the block record says offline.
 *
 * All of it runs under mem_hotplug_lock (one onlining at a time), in the
 * thread doing the onlining. Block records are allocated here (may sleep)
 * and only freed at unload; readers (debugfs) take rec_lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ktime.h>
#include <linux/slab.h>

#include "mhp_online.h"

static void mhp_going_online(const struct memory_notify *arg)
{
	struct mhp_onlining *cur = &mhp.cur;

	rcu_read_lock();
	cur->placement = rcu_dereference(mhp.config)->placement;
	rcu_read_unlock();
	cur->start_pfn = arg->start_pfn;
	cur->nr_pages = arg->nr_pages;
	cur->kept_start = 0;
	cur->kept_end = 0;
	cur->pages_buddy = 0;
	cur->saw_callback = false;
	cur->has_decision = mhp_stash_take(arg->start_pfn, &cur->dec);
	/*
	 * Time onlining from the zone choice: that is before the memmap of
	 * the block is initialised, the larger part of the work.
	 */
	cur->t_start = cur->has_decision ? cur->dec.t_ns : ktime_get_ns();
	/* Paired with the wait in mhp_account_wait_idle(). */
	smp_store_release(&cur->active, true);
}

static void mhp_idle(void)
{
	/* Everything done for this onlining is visible to the waiter. */
	smp_store_release(&mhp.cur.active, false);
	wake_up_all(&mhp.idle_wq);
}

static struct mhp_block_rec *mhp_block_rec_get(unsigned long block)
{
	struct mhp_block_rec *rec, *old;

	rec = xa_load(&mhp.blocks, block);
	if (rec)
		return rec;
	rec = kzalloc(sizeof(*rec), GFP_KERNEL);
	if (!rec)
		return NULL;
	rec->block = block;
	old = xa_store(&mhp.blocks, block, rec, GFP_KERNEL);
	if (xa_is_err(old)) {
		kfree(rec);
		return NULL;
	}
	return rec;
}

static void mhp_online_done(void)
{
	struct mhp_onlining *cur = &mhp.cur;
	unsigned long block = cur->start_pfn / mhp.block_pages;
	struct page *page = pfn_to_page(cur->start_pfn);
	struct mhp_block_rec *rec;
	u64 us;

	if (cur->kept_end != cur->kept_start)
		mhp_head_release(cur);
	us = div_u64(ktime_get_ns() - cur->t_start, NSEC_PER_USEC);
	if (cur->has_decision)
		mhp_log_commit(&cur->dec);
	atomic_long_inc(&mhp.nr_onlined);

	rec = mhp_block_rec_get(block);
	if (!rec) {
		atomic_long_inc(&mhp.rec_alloc_failed);
		return;
	}
	spin_lock(&mhp.rec_lock);
	rec->nid = page_to_nid(page);
	rec->zone = page_zone(page)->name;
	rec->online = true;
	rec->placement = cur->saw_callback ? cur->placement : MHP_PLACE_OTHER;
	rec->pages_buddy = cur->saw_callback ? cur->pages_buddy : 0;
	rec->online_us = us;
	rec->onlines++;
	spin_unlock(&mhp.rec_lock);
}

static void mhp_offline_done(const struct memory_notify *arg)
{
	struct mhp_block_rec *rec;

	atomic_long_inc(&mhp.nr_offlined);
	rec = xa_load(&mhp.blocks, arg->start_pfn / mhp.block_pages);
	if (!rec)
		return;
	spin_lock(&mhp.rec_lock);
	rec->online = false;
	rec->offlines++;
	spin_unlock(&mhp.rec_lock);
}

int mhp_memory_notify(struct notifier_block *nb, unsigned long action,
		      void *data)
{
	const struct memory_notify *arg = data;

	switch (action) {
	case MEM_GOING_ONLINE:
		mhp_going_online(arg);
		break;
	case MEM_ONLINE:
		if (mhp.cur.active && mhp.cur.start_pfn == arg->start_pfn)
			mhp_online_done();
		mhp_idle();
		break;
	case MEM_CANCEL_ONLINE:
		mhp_idle();
		break;
	case MEM_OFFLINE:
		mhp_offline_done(arg);
		break;
	}
	return NOTIFY_OK;
}

/*
 * Wait until no onlining is between MEM_GOING_ONLINE and MEM_ONLINE: our
 * callback may have kept chunks that only our MEM_ONLINE releases.
 */
void mhp_account_wait_idle(void)
{
	/* Pairs with smp_store_release() in mhp_idle(). */
	wait_event(mhp.idle_wq, !smp_load_acquire(&mhp.cur.active));
}

void mhp_account_free(void)
{
	struct mhp_block_rec *rec;
	unsigned long block;

	xa_for_each(&mhp.blocks, block, rec)
		kfree(rec);
	xa_destroy(&mhp.blocks);
}
