// SPDX-License-Identifier: GPL-2.0
/*
 * mhp_harness_slabs: which slab caches the slab pages of a pfn range
 * belong to, for a test that asks what keeps a memory block in use.
 *
 * /proc/kpageflags says a page is slab, not whose. On load this module
 * walks start_pfn .. start_pfn + nr_pages and, for each online slab page
 * that is not a compound tail, prints a kernel-log line
 * "mhp_harness_slabs: pfn PFN:" completed by kmem_dump_obj() of the page's
 * first object: " slab CACHE start ADDR ...", and with slub_debug=U the
 * function that allocated it. The page may be freed while it is looked
 * at; kmem_dump_obj() then prints nothing after the pfn. The caller keeps
 * the range online meanwhile. Never load it anywhere but a test guest.
 */
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/page-flags.h>
#include <linux/slab.h>

static unsigned long start_pfn;
module_param(start_pfn, ulong, 0444);
MODULE_PARM_DESC(start_pfn, "first page frame of the range to look at");

static unsigned long nr_pages;
module_param(nr_pages, ulong, 0444);
MODULE_PARM_DESC(nr_pages, "pages in the range");

static int __init mhp_harness_slabs_init(void)
{
	unsigned long pfn;
	struct page *page;

	for (pfn = start_pfn; pfn < start_pfn + nr_pages; pfn++) {
		page = pfn_to_online_page(pfn);
		if (!page || PageTail(page) || !PageSlab(page))
			continue;
		pr_info("mhp_harness_slabs: pfn %#lx:", pfn);
		kmem_dump_obj(page_address(page));
		cond_resched();
	}
	return 0;
}

static void __exit mhp_harness_slabs_exit(void)
{
}

module_init(mhp_harness_slabs_init);
module_exit(mhp_harness_slabs_exit);
MODULE_DESCRIPTION("mhp_online test harness: the slab caches of a pfn range's slab pages");
MODULE_LICENSE("GPL");
