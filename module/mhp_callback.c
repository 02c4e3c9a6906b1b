// SPDX-License-Identifier: GPL-2.0
/*
 * mhp_online: the online_page callback, freelist placement, coexistence.
 *
 * online_pages() hands every chunk of a block being onlined (MAX_ORDER
 * aligned, smaller at the start with memmap_on_memory) to the one
 * online_page callback. Then undo_isolate_page_range() moves the free
 * pages of the range to the freelist tail, and memory_notify(MEM_ONLINE)
 * runs, all under mem_hotplug_lock.
 *
 *  - tail: the chunk goes to generic_online_page(), which frees it to the
 *    tail; nothing later moves it. Same as the stock kernel.
 *  - head: a chunk freed in the callback would be moved to the tail by
 *    undo_isolate_page_range(), so we keep it instead: the chunk becomes an
 *    ordinary allocated order-N page of ours (memmap state as the kernel
 *    leaves it after __free_pages_core() minus the free, managed pages
 *    accounted as generic_online_page() does), its order in page->private.
 *    mhp_head_release() frees the kept chunks with __free_pages() from the
 *    MEM_ONLINE notifier, which puts max-order pages at the freelist head.
 *    present/managed/totalram end up exactly as after generic onlining.
 *
 * Kept chunks must be one contiguous run (cur.kept_start..kept_end); a
 * chunk that does not extend it goes to the tail instead. A callback call
 * outside an onlining we saw start (MEM_GOING_ONLINE) also goes to the
 * tail: we could not promise to release it. Neither should happen (see
 * below, and the memory notifier is registered before the callback);
 * both are guards, counted as pages_untracked.
 *
 * set_online_page_callback() and restore_online_page_callback() take
 * mem_hotplug_lock for reading, and online_pages() runs under it for
 * writing: the callback never changes in the middle of an onlining, so
 * giving it back (unload, stepping aside) waits until an onlining that
 * kept chunks has released them at MEM_ONLINE.
 *
 * Coexistence: only one online_page callback exists. Drivers that need it
 * (virtio_mem, hv_balloon, xen balloon) fail if it is taken, so a module
 * notifier gives it up on MODULE_STATE_COMING of such a driver, before
 * its init runs, and takes it back on MODULE_STATE_GOING of that driver
 * (after its exit gave it back). If someone holds it when we load, we load
 * anyway, say so, and try again when a known holder goes away.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/memory_hotplug.h>
#include <linux/module.h>

#include "mhp_online.h"

/* Modules known to install their own online_page callback. */
static const char * const mhp_cb_drivers[] = {
	"virtio_mem", "hv_balloon", "xen_balloon",
};

static bool mhp_needs_callback(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mhp_cb_drivers); i++)
		if (!strcmp(name, mhp_cb_drivers[i]))
			return true;
	return false;
}

/*
 * Turn a chunk fresh from the memmap initialisation into an allocated page
 * of ours, accounted as managed the way generic_online_page() would.
 */
static void mhp_chunk_keep(struct page *page, unsigned int order)
{
	unsigned long nr = 1UL << order, i;

	for (i = 0; i < nr; i++) {
		/*
		 * Hot-added memmap starts PageOffline since 6.11 (6.12),
		 * PageReserved before (6.1): undo whichever it is.
		 */
		if (PageOffline(page + i))
			__ClearPageOffline(page + i);
		else
			__ClearPageReserved(page + i);
		set_page_count(page + i, 0);
	}
	/* A non-compound order-N allocation: refcount on the first page. */
	set_page_count(page, 1);
	set_page_private(page, order);
	/*
	 * generic_online_page(): zone managed pages + totalram_pages (6.1
	 * does it by hand, 6.12 through this very function). No
	 * debug_pagealloc mapping needed: x86 maps hot-added memory already.
	 */
	adjust_managed_page_count(page, nr);
}

static void mhp_online_page(struct page *page, unsigned int order)
{
	struct mhp_onlining *cur = &mhp.cur;
	unsigned long pfn = page_to_pfn(page);
	unsigned long nr = 1UL << order;

	if (!cur->active || pfn < cur->start_pfn ||
	    pfn + nr > cur->start_pfn + cur->nr_pages) {
		generic_online_page(page, order);
		atomic_long_add(nr, &mhp.pages_untracked);
		return;
	}
	cur->saw_callback = true;
	cur->pages_buddy += nr;

	if (cur->placement == MHP_PLACE_HEAD &&
	    (cur->kept_start == cur->kept_end || cur->kept_end == pfn)) {
		mhp_chunk_keep(page, order);
		if (cur->kept_start == cur->kept_end)
			cur->kept_start = pfn;
		cur->kept_end = pfn + nr;
		return;
	}
	generic_online_page(page, order);
	atomic_long_add(nr, &mhp.pages_tail);
}

/* MEM_ONLINE: free the kept chunks; max-order frees go to the head. */
void mhp_head_release(struct mhp_onlining *cur)
{
	unsigned long pfn = cur->kept_start;
	struct page *page;
	unsigned int order;

	while (pfn < cur->kept_end) {
		page = pfn_to_page(pfn);
		order = page_private(page);
		set_page_private(page, 0);
		__free_pages(page, order);
		atomic_long_add(1UL << order, &mhp.pages_head);
		pfn += 1UL << order;
	}
	cur->kept_start = 0;
	cur->kept_end = 0;
}

/* Install our callback if the slot is free; caller holds cb_lock. */
static void mhp_callback_try(void)
{
	if (set_online_page_callback(mhp_online_page)) {
		mhp.cb_state = MHP_CB_BUSY;
		pr_warn("online_page callback is held by another driver (virtio_mem, hv_balloon or xen balloon?): placement is off, accounting and the zone policy work\n");
		return;
	}
	mhp.cb_state = MHP_CB_HELD;
}

void mhp_callback_take(void)
{
	mutex_lock(&mhp.cb_lock);
	mhp_callback_try();
	mutex_unlock(&mhp.cb_lock);
}

void mhp_callback_give_back(void)
{
	mutex_lock(&mhp.cb_lock);
	if (mhp.cb_state == MHP_CB_HELD)
		restore_online_page_callback(mhp_online_page);
	mhp.cb_state = MHP_CB_NONE;
	mutex_unlock(&mhp.cb_lock);
}

/* Before the driver's init runs: it will ask for the callback there. */
static void mhp_step_aside(const char *name)
{
	if (mhp.cb_state != MHP_CB_HELD)
		return;
	restore_online_page_callback(mhp_online_page);
	mhp.cb_state = MHP_CB_ASIDE;
	strscpy(mhp.cb_aside_for, name, sizeof(mhp.cb_aside_for));
	pr_info("%s is loading: online_page callback handed over, placement is off until it goes\n",
		name);
}

static void mhp_take_back(const char *name)
{
	if (mhp.cb_state == MHP_CB_ASIDE && strcmp(name, mhp.cb_aside_for))
		return;
	if (mhp.cb_state != MHP_CB_ASIDE && mhp.cb_state != MHP_CB_BUSY)
		return;
	mhp.cb_aside_for[0] = '\0';
	mhp_callback_try();
	if (mhp.cb_state == MHP_CB_HELD)
		pr_info("%s is gone: online_page callback taken back\n", name);
}

int mhp_module_notify(struct notifier_block *nb, unsigned long action,
		      void *data)
{
	struct module *mod = data;

	if (!mhp_needs_callback(mod->name))
		return NOTIFY_DONE;

	mutex_lock(&mhp.cb_lock);
	if (action == MODULE_STATE_COMING)
		mhp_step_aside(mod->name);
	else if (action == MODULE_STATE_GOING)
		mhp_take_back(mod->name);
	mutex_unlock(&mhp.cb_lock);
	return NOTIFY_DONE;
}
