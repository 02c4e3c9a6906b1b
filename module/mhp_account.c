// SPDX-License-Identifier: GPL-2.0
/*
 * mhp_online: the onlining life cycle seen through the memory notifier.
 *
 * MEM_GOING_ONLINE   cur becomes active: snapshot of the placement, start
 *                    time, and the zone decision stashed by the kprobe for
 *                    this block (the onlining really happens now).
 * (callback)         mhp_callback.c hands chunks over or keeps them.
 * MEM_ONLINE         kept chunks are freed (head placement), the free
 *                    pages of a fresh block are marked reported
 *                    (fresh_reported, mhp_report.c), the decision goes to
 *                    the log, the block record is updated (zone, and who
 *                    chose it), cur is idle again.
 * MEM_CANCEL_ONLINE  cur is idle again; the kernel cancels only when
 *                    MEM_GOING_ONLINE failed, before the callback ran.
 * MEM_OFFLINE        the block record says offline.
 *
 * All of it runs under mem_hotplug_lock (one onlining at a time), in the
 * thread doing the onlining. Chunks kept for head placement are only
 * released by MEM_ONLINE of the same range. If that never reaches us (a
 * notifier before ours stops the chain, or we were registered in the
 * middle of an onlining), the chunks are freed at the next MEM_GOING_ONLINE
 * or at module exit, counted and said once in the kernel log, so no page
 * stays kept and nothing ever waits for a MEM_ONLINE.
 *
 * Block records are allocated here (may sleep) and only freed at unload;
 * readers (debugfs, the adaptive watcher) take rec_lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ktime.h>
#include <linux/slab.h>

#include "mhp_online.h"

static void mhp_going_online(const struct memory_notify *arg)
{
	struct mhp_onlining *cur = &mhp.cur;

	if (cur->kept_end != cur->kept_start)
		mhp_head_release_late(cur, "MEM_ONLINE of the last onlining never came");
	rcu_read_lock();
	cur->placement = rcu_dereference(mhp.config)->placement;
	rcu_read_unlock();
	cur->start_pfn = arg->start_pfn;
	cur->nr_pages = arg->nr_pages;
	cur->pages_buddy = 0;
	cur->saw_callback = false;
	cur->conversion = current == READ_ONCE(mhp.adapt.task);
	cur->has_decision = mhp_stash_take(arg->start_pfn, &cur->dec);
	/*
	 * No choice of ours for this block may mean kprobes were disabled
	 * globally since the last look: say so in the kernel log now, when
	 * a block is onlined without the zone policy, not only when someone
	 * reads the summary.
	 */
	if (!cur->has_decision)
		mhp_zone_probe_check();
	/*
	 * Time onlining from the zone choice: that is before the memmap of
	 * the block is initialised, the larger part of the work.
	 */
	cur->t_start = cur->has_decision ? cur->dec.t_ns : ktime_get_ns();
	/* Paired with the READ_ONCE in the callback (same thread). */
	WRITE_ONCE(cur->active, true);
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

struct mhp_block_rec *mhp_block_rec_find(unsigned long block)
{
	return xa_load(&mhp.blocks, block);
}

/* Who chose the zone of the onlining that just completed. */
static enum mhp_block_owner mhp_online_owner(const struct mhp_onlining *cur)
{
	if (cur->conversion)
		return MHP_OWNER_ADAPTIVE;
	if (!cur->has_decision)
		return MHP_OWNER_KERNEL;
	if (cur->dec.decided)
		return cur->dec.mode == MHP_ZONE_POLICY_ADAPTIVE ?
		       MHP_OWNER_ADAPTIVE : MHP_OWNER_RATIO;
	return cur->dec.online_type == MMOP_ONLINE ? MHP_OWNER_KERNEL :
						      MHP_OWNER_EXPLICIT;
}

static void mhp_online_done(void)
{
	struct mhp_onlining *cur = &mhp.cur;
	unsigned long block = cur->start_pfn / mhp.block_pages;
	struct page *page = pfn_to_page(cur->start_pfn);
	struct mhp_block_rec *rec;
	bool fresh;
	u64 us;

	if (cur->kept_end != cur->kept_start)
		mhp_head_release(cur);
	rcu_read_lock();
	fresh = rcu_dereference(mhp.config)->fresh_reported;
	rcu_read_unlock();
	/* A conversion's block was in use: the host backs its pages. */
	if (fresh && !cur->conversion)
		mhp_report_fresh(cur->start_pfn, cur->nr_pages);
	us = div_u64(ktime_get_ns() - cur->t_start, NSEC_PER_USEC);
	/* The watcher logs a conversion itself, with its reason. */
	if (cur->has_decision && !cur->conversion)
		mhp_log_commit(&cur->dec);
	atomic_long_inc(&mhp.nr_onlined);

	rec = mhp_block_rec_get(block);
	if (!rec) {
		atomic_long_inc(&mhp.rec_alloc_failed);
		return;
	}
	spin_lock(&mhp.rec_lock);
	rec->start_pfn = cur->start_pfn;
	rec->nr_pages = cur->nr_pages;
	rec->nid = page_to_nid(page);
	rec->zone = page_zone(page)->name;
	rec->movable = page_zonenum(page) == ZONE_MOVABLE;
	rec->online = true;
	rec->owner = mhp_online_owner(cur);
	rec->placement = cur->saw_callback ? cur->placement : MHP_PLACE_OTHER;
	rec->pages_buddy = cur->saw_callback ? cur->pages_buddy : 0;
	rec->online_us = us;
	rec->onlines++;
	spin_unlock(&mhp.rec_lock);
}

/*
 * A notifier refused MEM_GOING_ONLINE: the zone was chosen, the block stays
 * offline. Log the choice as cancelled, so that the log does not claim a
 * block went somewhere it never went. A notifier called before ours may
 * have refused, then we never saw MEM_GOING_ONLINE and the choice is still
 * stashed. The watcher logs a failed conversion itself.
 */
static void mhp_online_cancelled(const struct memory_notify *arg)
{
	struct mhp_onlining *cur = &mhp.cur;
	struct mhp_decision_rec dec;

	if (cur->active && cur->start_pfn == arg->start_pfn) {
		if (!cur->has_decision || cur->conversion)
			return;
		dec = cur->dec;
	} else if (!mhp_stash_take(arg->start_pfn, &dec) ||
		   current == READ_ONCE(mhp.adapt.task)) {
		return;
	}
	dec.cancelled = true;
	mhp_log_commit(&dec);
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
	struct mhp_onlining *cur = &mhp.cur;

	switch (action) {
	case MEM_GOING_ONLINE:
		mhp_going_online(arg);
		break;
	case MEM_ONLINE:
		if (cur->active && cur->start_pfn == arg->start_pfn)
			mhp_online_done();
		else if (cur->kept_end != cur->kept_start)
			mhp_head_release_late(cur, "MEM_ONLINE came for another range");
		WRITE_ONCE(cur->active, false);
		mhp_zone_groups_snapshot();
		break;
	case MEM_CANCEL_ONLINE:
		if (cur->kept_end != cur->kept_start)
			mhp_head_release_late(cur, "the onlining was cancelled");
		mhp_online_cancelled(arg);
		WRITE_ONCE(cur->active, false);
		break;
	case MEM_OFFLINE:
		mhp_offline_done(arg);
		mhp_zone_groups_snapshot();
		break;
	}
	return NOTIFY_OK;
}

/*
 * Module exit, after the callback is given back (no onlining uses it any
 * more: giving it back waits for one in progress) and the memory notifier
 * is unregistered (no notifier call runs any more): whatever is still kept
 * lost its MEM_ONLINE.
 */
void mhp_account_exit(void)
{
	struct mhp_onlining *cur = &mhp.cur;

	if (cur->kept_end != cur->kept_start)
		mhp_head_release_late(cur, "MEM_ONLINE never came before unload");
	cur->active = false;
}

void mhp_account_free(void)
{
	struct mhp_block_rec *rec;
	unsigned long block;

	xa_for_each(&mhp.blocks, block, rec)
		kfree(rec);
	xa_destroy(&mhp.blocks);
}
