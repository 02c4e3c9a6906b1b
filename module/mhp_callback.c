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
 * tail: we could not promise to release it. Both are guards, counted as
 * pages_untracked; see mhp_account.c for chunks whose MEM_ONLINE is lost.
 *
 * set_online_page_callback() and restore_online_page_callback() take
 * mem_hotplug_lock for reading, and online_pages() runs under it for
 * writing: the callback never changes in the middle of an onlining, so
 * giving it back (unload, stepping aside) waits until an onlining that
 * kept chunks has released them at MEM_ONLINE.
 *
 * Coexistence: only one online_page callback exists, and virtio_mem and
 * hv_balloon take it when a device probes, which can be long after the
 * driver loaded (a virtio-mem device hot-plugged later, a driver bound
 * again). If we held it then, the probe would fail. So the callback is
 * held only while neither driver is loaded at all:
 *  - at init the module notifier is registered first, then the loaded
 *    modules are looked up (their /sys/module/NAME kobjects exist from
 *    before their init runs until after they are gone), so no load event
 *    falls between the two;
 *  - on MODULE_STATE_COMING of such a driver, before its init runs, the
 *    callback is given back; on MODULE_STATE_GOING (after its exit gave
 *    it back) it is taken again once no such driver is left.
 * The Xen balloon is built in where it exists (CONFIG_XEN_BALLOON is a
 * bool): on Xen it holds the callback from boot and we find it busy.
 * If someone else holds the callback when we try, we load anyway, say so,
 * and try again when a known driver goes away.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/memory_hotplug.h>
#include <linux/module.h>

#include "mhp_online.h"

/* Modules that install their own online_page callback (bit i in cb_drivers). */
static const char * const mhp_cb_drivers[] = {
	"virtio_mem", "hv_balloon",
};

static int mhp_cb_driver_index(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mhp_cb_drivers); i++)
		if (!strcmp(name, mhp_cb_drivers[i]))
			return i;
	return -1;
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

/* Kept chunks whose MEM_ONLINE did not come: free them all the same. */
void mhp_head_release_late(struct mhp_onlining *cur, const char *why)
{
	atomic_long_add(cur->kept_end - cur->kept_start,
			&mhp.pages_released_late);
	pr_warn_once("head placement: %s; %lu kept pages freed without it\n",
		     why, cur->kept_end - cur->kept_start);
	mhp_head_release(cur);
}

/* Install our callback if the slot is free; caller holds cb_lock. */
static void mhp_callback_try(void)
{
	if (set_online_page_callback(mhp_online_page)) {
		if (mhp.cb_state != MHP_CB_BUSY)
			pr_warn("online_page callback is held by another driver: placement is off, accounting and the zone policy work\n");
		mhp.cb_state = MHP_CB_BUSY;
		return;
	}
	if (mhp.cb_state == MHP_CB_ASIDE)
		pr_info("no driver that needs the online_page callback is loaded any more: taken back\n");
	mhp.cb_state = MHP_CB_HELD;
}

/*
 * Hold the callback exactly when no driver that may need it is loaded;
 * caller holds cb_lock.
 */
static void mhp_callback_sync(void)
{
	int first = find_first_bit(&mhp.cb_drivers, ARRAY_SIZE(mhp_cb_drivers));

	if (first >= ARRAY_SIZE(mhp_cb_drivers)) {
		mhp.cb_aside_for[0] = '\0';
		if (mhp.cb_state != MHP_CB_HELD)
			mhp_callback_try();
		return;
	}
	if (mhp.cb_state == MHP_CB_HELD)
		restore_online_page_callback(mhp_online_page);
	if (mhp.cb_state != MHP_CB_ASIDE)
		pr_info("%s is loaded: online_page callback left to it, placement is off until it goes\n",
			mhp_cb_drivers[first]);
	mhp.cb_state = MHP_CB_ASIDE;
	strscpy(mhp.cb_aside_for, mhp_cb_drivers[first],
		sizeof(mhp.cb_aside_for));
}

/* Is module name loaded (or loading, or going)? */
static bool mhp_module_present(const char *name)
{
	struct kobject *kobj;

	/* Our own kobject lives in the kset of all modules, /sys/module. */
	kobj = kset_find_obj(THIS_MODULE->mkobj.kobj.kset, name);
	if (!kobj)
		return false;
	kobject_put(kobj);
	return true;
}

/* Module init, after the module notifier is registered. */
void mhp_callback_init(void)
{
	unsigned int i;

	mutex_lock(&mhp.cb_lock);
	for (i = 0; i < ARRAY_SIZE(mhp_cb_drivers); i++)
		if (mhp_module_present(mhp_cb_drivers[i]))
			__set_bit(i, &mhp.cb_drivers);
	mhp_callback_sync();
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

int mhp_module_notify(struct notifier_block *nb, unsigned long action,
		      void *data)
{
	struct module *mod = data;
	int i = mhp_cb_driver_index(mod->name);

	if (i < 0 || (action != MODULE_STATE_COMING &&
		      action != MODULE_STATE_GOING))
		return NOTIFY_DONE;

	mutex_lock(&mhp.cb_lock);
	if (action == MODULE_STATE_COMING)
		__set_bit(i, &mhp.cb_drivers);
	else
		__clear_bit(i, &mhp.cb_drivers);
	/* NONE: before mhp_callback_init() or after give_back: not ours now. */
	if (mhp.cb_state != MHP_CB_NONE)
		mhp_callback_sync();
	mutex_unlock(&mhp.cb_lock);
	return NOTIFY_DONE;
}
