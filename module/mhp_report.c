// SPDX-License-Identifier: GPL-2.0
/*
 * mhp_online: freshly hot-added pages and free page reporting.
 *
 * With free page reporting (virtio-balloon free-page-reporting=on,
 * hv_balloon), the guest tells the hypervisor about free max-order-ish
 * pages (order >= page_reporting_order) and the hypervisor discards their
 * backing. Pages onlined from a freshly hot-added block were never
 * touched: the hypervisor has not populated them. Yet every one of them
 * is free and not yet reported, so within about 30 s of a hot-add the
 * guest reports all of it, and the hypervisor discards memory it never
 * had, one virtqueue round trip per 32 pages.
 *
 * Marking: PG_reported on a free buddy page means "the hypervisor has no
 * backing for this page"; page_reporting_cycle() skips such pages, and
 * the buddy allocator clears the flag whenever the page leaves the
 * freelists (allocation, merging with its buddy, isolation). So at
 * MEM_ONLINE, after the whole range is in the freelists, we set the flag
 * on every free buddy page of the range, under zone->lock as the
 * reporting code does. A page allocated and freed later is reported as
 * before: its flag is gone.
 *
 * When the flag may be set: page_reported() only tests it while the
 * kernel's page_reporting_enabled static key is on, and the allocator
 * only clears it then; with the key off a flag set here would stay on an
 * allocated page, where PG_reported is PG_uptodate. The key is switched
 * on when the first reporting device registers and never off again, so
 * we mark only once it is on (read through kallsyms, see mhp_kfuncs.c).
 * Before that there is nothing to skip: a device registering later
 * reports the block like any other free memory.
 *
 * When it would be wrong: with init_on_free or page poisoning, onlining
 * writes every page as it frees it, so the hypervisor does back them and
 * reporting them gives memory back; we leave them alone. An onlining by
 * the adaptive watcher (a conversion) is not fresh: the block was in use.
 * A block a user offlines and onlines again by hand looks fresh to us;
 * the price is that its free pages are reported only after their next
 * use, memory the host keeps a little longer, never a wrong content: the
 * guest never relies on a free page's content.
 *
 * Upstream, __free_pages_core() would mark the pages as it frees them
 * (an FPI flag for hot-added memory); a module cannot change the core, so
 * it marks right after the fact, before the reporting worker (which waits
 * PAGE_REPORTING_DELAY, 2 s, after the first free) looks at the zone.
 * This runs from our memory notifier, so it works whoever holds the
 * online_page callback (virtio_mem included).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jump_label.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/page-flags.h>

#include "mhp_online.h"

/* The kernel's page_reporting_enabled, NULL if it could not be found. */
static struct static_key_false *mhp_report_key;

void mhp_report_init(void)
{
	mhp_report_key = mhp_ksym_data("page_reporting_enabled");
	if (!mhp_report_key)
		pr_info("page_reporting_enabled not found: fresh pages are reported as usual\n");
}

/* Does the onlining write the pages it frees (so the host backs them)? */
static bool mhp_report_pages_touched(void)
{
	return want_init_on_free() || page_poisoning_enabled_static();
}

enum mhp_report_state mhp_report_state(void)
{
	if (!IS_ENABLED(CONFIG_PAGE_REPORTING) || !mhp_report_key)
		return MHP_REPORT_UNAVAILABLE;
	if (mhp_report_pages_touched())
		return MHP_REPORT_TOUCHED;
	if (!static_key_enabled(&mhp_report_key->key))
		return MHP_REPORT_IDLE;
	return MHP_REPORT_ACTIVE;
}

#ifdef CONFIG_PAGE_REPORTING
/*
 * Mark the free buddy pages of [pfn, end), which lie within one MAX_ORDER
 * aligned chunk, as reported; caller holds zone->lock. A buddy page never
 * straddles the chunk, and the pages before start_pfn in a block are its
 * own memmap (memmap_on_memory), never free: walking from start_pfn never
 * lands inside a free page.
 */
static unsigned long mhp_report_mark_chunk(unsigned long pfn,
					   unsigned long end)
{
	unsigned long marked = 0;
	struct page *page;
	unsigned int order;

	while (pfn < end) {
		page = pfn_to_page(pfn);
		if (!PageBuddy(page)) {
			pfn++;
			continue;
		}
		order = page_private(page);	/* buddy_order() */
		if (!PageReported(page)) {
			__SetPageReported(page);
			marked += 1UL << order;
		}
		pfn += 1UL << order;
	}
	return marked;
}

/*
 * MEM_ONLINE of a fresh block: mark its free pages as reported. One chunk
 * per zone->lock hold, so interrupts are off for one chunk's walk at most.
 */
void mhp_report_fresh(unsigned long start_pfn, unsigned long nr_pages)
{
	unsigned long pfn = start_pfn, end = start_pfn + nr_pages, stop;
	struct zone *zone = page_zone(pfn_to_page(start_pfn));
	unsigned long flags, marked = 0;

	if (mhp_report_state() != MHP_REPORT_ACTIVE)
		return;
	while (pfn < end) {
		stop = min(ALIGN(pfn + 1, MAX_ORDER_NR_PAGES), end);
		spin_lock_irqsave(&zone->lock, flags);
		marked += mhp_report_mark_chunk(pfn, stop);
		spin_unlock_irqrestore(&zone->lock, flags);
		pfn = stop;
		cond_resched();
	}
	atomic_long_add(marked, &mhp.pages_fresh_reported);
}
#else
void mhp_report_fresh(unsigned long start_pfn, unsigned long nr_pages)
{
}
#endif
