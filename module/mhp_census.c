// SPDX-License-Identifier: GPL-2.0
/*
 * mhp_online: what the pages of an online memory block are, now.
 *
 * One walk over a block's memmap sorts every page into one of four kinds,
 * the way offlining will see them (has_unmovable_pages() and
 * test_pages_isolated() in mm/page_isolation.c):
 *
 *   free       in the buddy allocator, or with no reference left (on a
 *              per-CPU list: offlining drains those first);
 *   offline    PageOffline: not plugged by virtio-mem, or held by a
 *              balloon; offlining skips them;
 *   unmovable  slab pages (always: on 6.12 one can look movable), reserved
 *              pages, and anything else referenced that is not on an LRU
 *              list, not a movable non-LRU page and not hugetlb: page
 *              tables, kernel allocations; one such page makes
 *              offlining a kernel-zone block fail. Like the kernel, only
 *              the first page of a high-order allocation that is not a
 *              compound page (a memmap chunk) holds a reference, so such
 *              an allocation counts once;
 *   the rest   movable: offlining migrates it.
 *
 * Used by the adaptive policy to pick a block to convert and by debugfs
 * to say which blocks can be removed now. The walk reads page states
 * without the zone lock, as the kernel's own scans do: a snapshot. The
 * caller holds the device hotplug lock, so the block stays online and its
 * memmap stays.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/page-flags.h>

#include "mhp_online.h"

#ifdef MAX_PAGE_ORDER
#define MHP_MAX_BUDDY_ORDER	MAX_PAGE_ORDER
#else
#define MHP_MAX_BUDDY_ORDER	(MAX_ORDER - 1)
#endif

/* Pages from page to the end of its compound page (1 for a plain page). */
static unsigned long mhp_census_step(struct page *page)
{
	struct page *head = compound_head(page);

	if (head == page && !PageHead(page))
		return 1;
	return compound_nr(head) - (page_to_pfn(page) - page_to_pfn(head));
}

/*
 * Would offlining have to give up on this (head's) page? A slab page is
 * asked first: on 6.12 SLUB keeps a per-CPU partial list's slab count in
 * the word page->mapping overlays, and with the list poison above it the
 * low bits can read as __PageMovable(), which the kernel's own scan then
 * believes (docs/module.md, "Unloading"). Slab never migrates.
 */
static bool mhp_census_unmovable(struct page *page, struct page *head)
{
	if (PageSlab(head))
		return true;
	if (PageLRU(head) || __PageMovable(head) || PageHuge(head))
		return false;
	return !PageHWPoison(page);
}

void mhp_block_census(unsigned long start_pfn, unsigned long nr_pages,
		      struct mhp_census *c)
{
	unsigned long pfn, end = start_pfn + nr_pages, step, order;
	struct page *page, *head;

	*c = (struct mhp_census) { };
	for (pfn = start_pfn; pfn < end; pfn += step) {
		step = 1;
		page = pfn_to_online_page(pfn);
		if (!page) {
			/* A hole: the rest of its section. */
			step = PAGES_PER_SECTION - pfn % PAGES_PER_SECTION;
			continue;
		}
		if (PageBuddy(page)) {
			/* buddy_order_unsafe() of mm/internal.h */
			order = READ_ONCE(page_private(page));
			if (order <= MHP_MAX_BUDDY_ORDER)
				step = 1UL << order;
			c->free += min(step, end - pfn);
			continue;
		}
		if (PageOffline(page)) {
			c->offline++;
			continue;
		}
		/* has_unmovable_pages() refuses a reserved page first of all. */
		if (PageReserved(page)) {
			c->unmovable++;
			continue;
		}
		head = compound_head(page);
		step = min(mhp_census_step(page), end - pfn);
		if (!page_ref_count(head))
			c->free += step;
		else if (mhp_census_unmovable(page, head))
			c->unmovable += step;
	}
}
