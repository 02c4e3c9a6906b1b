// SPDX-License-Identifier: GPL-2.0
/*
 * memmap-chains: the kernel functions the BPF side needs, from kallsyms.
 *
 * An allocation made during a hot-add is classified by the functions on
 * its stack: a return address inside [start of a function, next text
 * symbol) means it was made, directly or not, from that function. The
 * table below names them with their kind; the required ones must exist or
 * the kernel is not one the tool can trace. The bulk page allocator is
 * found here too (its pages bypass the allocation tracepoint).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ksyms.h"
#include "util.h"

/* Functions whose frames classify an allocation; required ones are hooked or essential. */
static const struct mc_func {
	const char *name;
	int kind;		/* enum mc_kind, or -1: hooked, not a classifier */
	bool required;
} mc_funcs[] = {
	{ "add_memory_resource", -1, true },
	{ "arch_add_memory", -1, true },
	{ "arch_remove_memory", -1, true },
	/*
	 * The struct pages come from vmemmap_alloc_block_buf(), which often
	 * tail-calls vmemmap_alloc_block() and so leaves no frame: its callers
	 * count as memmap.  The page-table levels are allocated one frame further
	 * in, by the vmemmap_p?d_populate() helpers, and win as the inner frame.
	 */
	{ "vmemmap_alloc_block_buf", MC_KIND_MEMMAP, true },
	{ "sparse_buffer_alloc", MC_KIND_MEMMAP, false },
	{ "vmemmap_populate", MC_KIND_MEMMAP, true },
	{ "vmemmap_populate_hugepages", MC_KIND_MEMMAP, false },
	{ "vmemmap_populate_basepages", MC_KIND_MEMMAP, false },
	{ "vmemmap_pte_populate", MC_KIND_MEMMAP, false },
	{ "vmemmap_pgd_populate", MC_KIND_PGTABLE, false },
	{ "vmemmap_p4d_populate", MC_KIND_PGTABLE, false },
	{ "vmemmap_pud_populate", MC_KIND_PGTABLE, false },
	{ "vmemmap_pmd_populate", MC_KIND_PGTABLE, false },
	{ "init_memory_mapping", MC_KIND_PGTABLE, true },
	{ "kernel_physical_mapping_init", MC_KIND_PGTABLE, false },
	{ "__kernel_physical_mapping_init", MC_KIND_PGTABLE, false },
	{ "alloc_low_pages", MC_KIND_PGTABLE, false },
	{ "phys_p4d_init", MC_KIND_PGTABLE, false },
	{ "phys_pud_init", MC_KIND_PGTABLE, false },
	{ "phys_pmd_init", MC_KIND_PGTABLE, false },
	{ "phys_pte_init", MC_KIND_PGTABLE, false },
	{ "sync_global_pgds", MC_KIND_PGTABLE, false },
	{ "sync_global_pgds_l4", MC_KIND_PGTABLE, false },
	{ "sync_global_pgds_l5", MC_KIND_PGTABLE, false },
};

#define MC_NR_FUNCS ARRAY_SIZE(mc_funcs)

/*
 * The bulk page allocator, hooked on exit because its pages bypass the
 * kmem:mm_page_alloc tracepoint; renamed in 6.10 (memory allocation
 * profiling). NULL when the kernel has neither: those pages go unseen.
 */
static const char *const bulk_names[] = { "alloc_pages_bulk_noprof", "__alloc_pages_bulk" };

static int addr_cmp(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/* Record the function at addr if it classifies allocations. */
static void ksyms_add_range(struct mc_ksyms *k, const struct mc_func *fn, unsigned long long addr)
{
	if (fn->kind < 0 || k->nr_ranges >= MC_MAX_FUNCS)
		return;
	k->ranges[k->nr_ranges].start = addr;
	k->ranges[k->nr_ranges].kind = fn->kind;
	k->nr_ranges++;
}

/* Each range ends at the first text symbol above its start. */
static void ksyms_set_ends(struct mc_ksyms *k, const unsigned long long *addrs, size_t nr)
{
	for (unsigned int i = 0; i < k->nr_ranges; i++) {
		size_t lo = 0, hi = nr;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (addrs[mid] <= k->ranges[i].start)
				lo = mid + 1;
			else
				hi = mid;
		}
		k->ranges[i].end = lo < nr ? addrs[lo] : k->ranges[i].start + 4096;
	}
}

int ksyms_load(struct mc_ksyms *k, FILE *f, char *err, size_t errlen)
{
	unsigned long long *addrs = NULL, addr;
	size_t nr = 0, cap = 0;
	bool found[MC_NR_FUNCS] = {};
	char line[512], name[256], type;
	int ret = 0;

	memset(k, 0, sizeof(*k));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (nr == cap) {
			unsigned long long *p;

			cap = cap ? cap * 2 : 65536;
			p = realloc(addrs, cap * sizeof(*p));
			if (!p) {
				ret = -ENOMEM;
				snprintf(err, errlen, "out of memory reading kallsyms");
				goto out;
			}
			addrs = p;
		}
		addrs[nr++] = addr;
		if (strchr(line, '['))	/* module symbol */
			continue;
		for (size_t b = 0; b < ARRAY_SIZE(bulk_names); b++)
			if (!strcmp(name, bulk_names[b]) && !k->bulk_func)
				k->bulk_func = bulk_names[b];
		for (size_t i = 0; i < MC_NR_FUNCS; i++) {
			if (strcmp(name, mc_funcs[i].name))
				continue;
			if (!addr) {
				ret = -EPERM;
				snprintf(err, errlen, "kernel symbol addresses are hidden (kptr_restrict): "
					 "run as root with /proc/sys/kernel/kptr_restrict < 2");
				goto out;
			}
			found[i] = true;
			ksyms_add_range(k, &mc_funcs[i], addr);
		}
	}
	for (size_t i = 0; i < MC_NR_FUNCS; i++) {
		if (mc_funcs[i].required && !found[i]) {
			ret = -ENOENT;
			snprintf(err, errlen, "unsupported kernel: %s() not found in /proc/kallsyms "
				 "(needs x86_64 with CONFIG_MEMORY_HOTPLUG, CONFIG_MEMORY_HOTREMOVE "
				 "and CONFIG_SPARSEMEM_VMEMMAP)", mc_funcs[i].name);
			goto out;
		}
	}
	qsort(addrs, nr, sizeof(*addrs), addr_cmp);
	ksyms_set_ends(k, addrs, nr);
out:
	free(addrs);
	return ret;
}
