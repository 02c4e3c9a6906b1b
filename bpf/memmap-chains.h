/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memmap-chains: types shared by the BPF programs and the loader.
 *
 * Model: while memory is hot-added, the kernel allocates the new range's
 * metadata (memmap/vmemmap, the page tables that map it and the direct map,
 * section and device bookkeeping) from memory that is already online.  When
 * that memory is itself a hot-added block, the host block cannot be offlined
 * until the dependent block has been removed: a dependency edge
 * "host block -> dependent block".  The BPF side records, per dependent
 * block, up to MC_MAX_EDGES edges (host, kind, bytes) in the pinned map
 * "blocks"; every attributed page in the pinned map "pages" (so a page freed
 * again is taken back out); counters in "stats".  Unmovable allocations made
 * later, outside any hot-add, that land in a traced block are counted in the
 * block's kernel_bytes: they pin it as well, without a dependent block.
 * Everything is keyed by memory block id = pfn >> (block shift - PAGE_SHIFT).
 */
#ifndef __MEMMAP_CHAINS_H
#define __MEMMAP_CHAINS_H

/* Where the loader pins the state maps (one folder, one file per map). */
#define MC_PIN_ROOT		"/sys/fs/bpf/memmap-chains"

/*
 * Sized for 64 TiB of hot-added memory in 128 MiB blocks: 524288 blocks.
 * Pages: two attributed allocations per block on average (memmap + one page
 * table page in the common case); beyond that allocations still count in
 * the edges, only their per-page record is dropped (counted).
 */
#define MC_MAX_BLOCKS		(64ULL * 1024 * 8)
#define MC_MAX_PAGES		(2 * MC_MAX_BLOCKS)
/* Distinct (host, kind) pairs kept per dependent block. */
#define MC_MAX_EDGES		8
/* Kernel functions the loader locates for classifying allocation stacks. */
#define MC_MAX_FUNCS		32
/* Concurrent hot-add/remove threads tracked (hotplug is serialised). */
#define MC_MAX_THREADS		64
/* Bulk allocations in flight at once (kprobe mode keeps their arguments). */
#define MC_MAX_BULK_THREADS	1024
/* Pages of one bulk allocation looked at (vmalloc asks at most 100). */
#define MC_MAX_BULK		512

/* What a page allocated inside the hot-add bracket is used for. */
enum mc_kind {
	MC_KIND_MEMMAP = 0,	/* struct page array (vmemmap_alloc_block_buf) */
	MC_KIND_PGTABLE = 1,	/* page tables: vmemmap or direct map */
	MC_KIND_OTHER = 2,	/* anything else inside the bracket */
	MC_NR_KINDS = 3,
};

/* mc_block.flags */
#define MC_BLK_MEMMAP_ON_MEMORY	(1U << 0)	/* memmap from an altmap in the range itself */
#define MC_BLK_DEVICE		(1U << 1)	/* ZONE_DEVICE range (pgmap), no memory block */
#define MC_BLK_ADDED		(1U << 2)	/* arch_add_memory() returned 0 */

struct mc_edge {
	__u32 host;		/* block holding the pages */
	__u32 kind;		/* enum mc_kind */
	__u64 bytes;		/* bytes currently attributed */
	__u64 allocs;		/* number of allocations seen */
};

/* Value of map "blocks", key: dependent block id (__u32). */
struct mc_block {
	__u64 start;		/* physical start address of the block */
	__u64 seq;		/* order in which blocks were added (1, 2, ...) */
	__u64 add_ns;		/* bpf_ktime_get_ns() when the add started */
	__u32 block;		/* block id (same as the key) */
	__s32 nid;		/* node the range was added to */
	__u32 flags;		/* MC_BLK_* */
	__u32 nr_edges;		/* valid entries in edges[] */
	__u64 self_bytes[MC_NR_KINDS];	/* allocations that landed in the block itself */
	__u64 altmap_bytes;	/* memmap_on_memory: memmap carved from the block */
	__u64 dropped_edges;	/* allocations lost because edges[] was full */
	__u64 kernel_bytes;	/* unmovable allocations outside any hot-add now in the block */
	struct mc_edge edges[MC_MAX_EDGES];
};

/* mc_page.dep of an unmovable allocation made outside any hot-add. */
#define MC_DEP_KERNEL		0xffffffffU

/* Value of map "pages", key: pfn (__u64) of the first page of an allocation. */
struct mc_page {
	__u32 dep;		/* dependent block, or MC_DEP_KERNEL */
	__u32 host;		/* block holding the page */
	__u32 kind;		/* enum mc_kind */
	__u32 order;		/* allocation order */
};

/* Index into map "stats" (array of __u64). */
enum mc_stat {
	MC_STAT_ADDS = 0,		/* arch_add_memory() brackets seen */
	MC_STAT_REMOVES,		/* arch_remove_memory() brackets seen */
	MC_STAT_ALLOCS,			/* page allocations attributed */
	MC_STAT_FREES,			/* tracked pages freed again */
	MC_STAT_KERNEL_ALLOCS,		/* unmovable allocations on traced blocks */
	MC_STAT_DROPPED_BLOCKS,		/* "blocks" full: allocation not recorded */
	MC_STAT_DROPPED_EDGES,		/* edges[] of a block full */
	MC_STAT_DROPPED_PAGES,		/* "pages" full: page not tracked for free */
	MC_STAT_DROPPED_EVENTS,		/* ring buffer full: live line lost */
	MC_STAT_DROPPED_THREADS,	/* bracket map full: hot-add not traced */
	MC_STAT_SEQ,			/* last block sequence number handed out */
	MC_STAT_BULK_PAGES,		/* of kernel_allocs: from the bulk allocator */
	/* of kernel_allocs: from the range being added, onlined inside the hot-add */
	MC_STAT_ONLINE_ALLOCS,
	MC_STAT_NESTED_ALLOCS,		/* allocations seen nested in our own programs */
	MC_STAT_NESTED_FREES,		/* frees seen nested in our own programs */
	MC_NR_STATS,
};

/* The page hooks (programs mc_page_alloc, mc_page_free and their nested copies). */
enum mc_hook {
	MC_HOOK_ALLOC = 0,	/* tracepoint kmem:mm_page_alloc */
	MC_HOOK_FREE,		/* tracepoint kmem:mm_page_free */
	MC_NR_HOOKS,
};

enum mc_event_type {
	MC_EV_ADD = 1,		/* arch_add_memory() returned */
	MC_EV_REMOVE = 2,	/* arch_remove_memory() returned */
};

/* Ring buffer record for the live lines. */
struct mc_event {
	__u32 type;		/* enum mc_event_type */
	__s32 ret;		/* return value of arch_add_memory() */
	__u64 start;		/* physical range */
	__u64 size;
	__u64 ns;		/* duration of the bracket */
	__s32 nid;
	__u32 altmap;		/* 1 if memmap_on_memory was used */
	__u64 altmap_bytes;
};

#endif /* __MEMMAP_CHAINS_H */
