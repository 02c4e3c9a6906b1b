// SPDX-License-Identifier: GPL-2.0
/*
 * memmap-chains: kernel side.
 *
 * Model: a hot-add is a bracket on one thread: add_memory_resource() ->
 * arch_add_memory() -> init_memory_mapping() (direct map page tables) and
 * __add_pages() -> sparse_add_section() per section -> vmemmap_populate()
 * (vmemmap page tables) -> vmemmap_alloc_block_buf() (the struct pages).
 * Only the outer functions can be hooked on every stock kernel: on 6.1 the
 * inner ones are __meminit, which means notrace there, so neither fentry nor
 * kprobe events attach.  So entry/exit hooks on add_memory_resource(),
 * arch_add_memory() and arch_remove_memory() keep a per-thread bracket (map
 * "brackets"), and the kmem:mm_page_alloc tracepoint (BTF tracepoint
 * programs, each with a nested copy for the events the kernel skips while
 * the program runs) attributes every page that thread allocates inside it
 * to the range being added.  The kind comes
 * from the allocation's kernel stack: the innermost frame that lies in a
 * known function (address ranges from kallsyms, set by the loader) decides:
 * vmemmap_alloc_block_buf or its callers vmemmap_populate*() and
 * vmemmap_pte_populate() -> memmap; the vmemmap_p?d_populate() helpers and
 * the direct map builders (init_memory_mapping() ...) -> page table; no
 * known frame -> other.  Allocations in interrupt context are skipped.  Sections
 * are populated in address order and each section's memmap has a fixed size,
 * so the memmap bytes allocated so far in the bracket say which section (and
 * so which block) an allocation is for.  The block holding the page is the
 * host; host != dependent gives an edge.  arch_remove_memory() drops the
 * records of the blocks it removes.  Outside hot-add, unmovable allocations
 * that land in a traced block are counted as the block's kernel_bytes (so are
 * those the hot-adding thread takes from the range it has just onlined), and
 * every tracked page is taken back out when it is freed (mm_page_free; the
 * batched free path, mm_page_free_batched, releases user folios and is left
 * alone: it is the hottest free path and carries no kernel metadata).  The
 * bulk allocator (__alloc_pages_bulk() on 6.1, alloc_pages_bulk_noprof() on
 * 6.12; vmalloc areas, so kernel stacks too) hands out order-0 pages without
 * that tracepoint on both kernels; an exit hook on it reads the page array
 * instead (list-mode callers are not seen).
 *
 * The same handlers run from fentry/fexit (preferred) or kprobes/kretprobes
 * (fallback, chosen by the loader); exit handlers only need the return value
 * because entry handlers saved everything else in the bracket.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "memmap-chains.h"

#define MC_PAGE_SHIFT		12
/* x86_64 SECTION_SIZE_BITS: 128 MiB sections on both stock kernels. */
#define MC_SECTION_SHIFT	27
#define MC_STACK_DEPTH		32

/* log2(memory block size) - PAGE_SHIFT; set by the loader from sysfs. */
const volatile __u32 block_pfn_shift = 15;
/* Emit bpf_printk lines (readable with "bpftool prog tracelog"). */
const volatile bool printk_on = true;
/* Emit ring buffer events (off when nobody reads them: --pin). */
const volatile bool events_on = true;
/* Kernel functions whose presence on an allocation's stack gives its kind. */
const volatile __u32 nr_funcs = 0;
const volatile __u64 func_start[MC_MAX_FUNCS] = {};
const volatile __u64 func_end[MC_MAX_FUNCS] = {};
const volatile __u32 func_kind[MC_MAX_FUNCS] = {};

/* Threads currently inside a bracket. */
int active;
/* Lowest pfn of any traced block: allocations below it cannot pin one. */
__u64 min_pfn;

/* Per-thread position inside the hot-add/remove call tree. */
struct mc_bracket {
	__u64 add_start;	/* add_memory_resource() start */
	__u64 arch_start;	/* arch_add_memory() range */
	__u64 arch_size;
	__u64 memmap_bytes;	/* memmap allocated so far in arch_add_memory() */
	__u64 altmap;		/* struct vmem_altmap * of arch_add_memory() */
	__u64 t0;
	__u64 rm_start;		/* arch_remove_memory() range */
	__u64 rm_size;
	__s32 nid;
	__u32 d_res, d_arch, d_rm;	/* nesting depth in each function */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MC_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct mc_bracket);
} brackets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MC_MAX_BLOCKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct mc_block);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} blocks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MC_MAX_PAGES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct mc_page);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pages SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MC_NR_STATS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/*
 * Arguments of a bulk allocation in flight (kprobe mode: the return probe
 * sees only the return value).
 */
struct mc_bulk_args {
	__u64 array;
	__u32 gfp;
	__s32 nr;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MC_MAX_BULK_THREADS);
	__type(key, __u32);
	__type(value, struct mc_bulk_args);
} bulk_args SEC(".maps");

struct mc_stack {
	__u64 ip[MC_STACK_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mc_stack);
} stackbuf SEC(".maps");

/*
 * preempt_count lives in per-CPU "__preempt_count" on 6.1 and in
 * "pcpu_hot.preempt_count" on 6.12; whichever the kernel lacks resolves to
 * NULL (weak ksym) and its branch is dead code for the verifier.  (The
 * tracepoint record's common flags cannot be used: for BPF the kernel
 * overwrites them with the pt_regs pointer.)
 */
extern int __preempt_count __ksym __weak;
struct pcpu_hot___mc {
	int preempt_count;
} __attribute__((preserve_access_index));
extern struct pcpu_hot___mc pcpu_hot __ksym __weak;

#define MC_SOFTIRQ_OFFSET	0x100
#define MC_HARDIRQ_MASK		0xf0000
#define MC_NMI_MASK		0xf00000

static __always_inline bool in_interrupt(void)
{
	int pc = 0;

	if (&pcpu_hot)
		pc = ((struct pcpu_hot___mc *)bpf_this_cpu_ptr(&pcpu_hot))->preempt_count;
	else if (&__preempt_count)
		pc = *(int *)bpf_this_cpu_ptr(&__preempt_count);
	return pc & (MC_NMI_MASK | MC_HARDIRQ_MASK | MC_SOFTIRQ_OFFSET);
}

static const struct mc_block zero_block;
static const struct mc_bracket zero_bracket;

static __always_inline __u64 stat_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (!v)
		return 0;
	return __sync_fetch_and_add(v, n) + n;
}

static __always_inline __u32 pfn_to_block(__u64 pfn)
{
	return pfn >> block_pfn_shift;
}

static __always_inline __u32 addr_to_block(__u64 addr)
{
	return pfn_to_block(addr >> MC_PAGE_SHIFT);
}

static __always_inline const char *kind_name(__u32 kind)
{
	switch (kind) {
	case MC_KIND_MEMMAP:
		return "memmap";
	case MC_KIND_PGTABLE:
		return "pgtable";
	default:
		return "other";
	}
}

/* The bracket of the current thread, created on the first entry hook. */
static __always_inline struct mc_bracket *bracket_enter(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mc_bracket *b = bpf_map_lookup_elem(&brackets, &tid);

	if (b)
		return b;
	if (bpf_map_update_elem(&brackets, &tid, &zero_bracket, BPF_NOEXIST)) {
		stat_add(MC_STAT_DROPPED_THREADS, 1);
		return NULL;
	}
	__sync_fetch_and_add(&active, 1);
	return bpf_map_lookup_elem(&brackets, &tid);
}

static __always_inline struct mc_bracket *bracket_get(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	return bpf_map_lookup_elem(&brackets, &tid);
}

/* Forget the bracket once the outermost traced function has returned. */
static __always_inline void bracket_leave(struct mc_bracket *b)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (b->d_res || b->d_arch || b->d_rm)
		return;
	if (!bpf_map_delete_elem(&brackets, &tid))
		__sync_fetch_and_add(&active, -1);
}

/* Find or create the record of a dependent block. */
static __always_inline struct mc_block *block_get(__u32 blk, __s32 nid, __u64 t0)
{
	struct mc_block *r = bpf_map_lookup_elem(&blocks, &blk);
	long err;

	if (r)
		return r;
	err = bpf_map_update_elem(&blocks, &blk, &zero_block, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST */) {
		stat_add(MC_STAT_DROPPED_BLOCKS, 1);
		if (printk_on)
			bpf_printk("memmap-chains: drop block=%u reason=blocks-map-full", blk);
		return NULL;
	}
	r = bpf_map_lookup_elem(&blocks, &blk);
	if (!r)
		return NULL;
	if (!err) {
		r->block = blk;
		r->start = (__u64)blk << (block_pfn_shift + MC_PAGE_SHIFT);
		r->seq = stat_add(MC_STAT_SEQ, 1);
		r->add_ns = t0;
		r->nid = nid;
	}
	return r;
}

/*
 * The block an allocation is for.  __add_pages() populates one section after
 * the other and each section's memmap is PAGES_PER_SECTION struct pages, so
 * the memmap allocated so far in this arch_add_memory() gives the section.
 * Page tables and other allocations go with the section being populated;
 * outside arch_add_memory() (memory block devices, auto-onlining) with the
 * start of the range.
 */
static __always_inline __u32 bracket_dep(struct mc_bracket *b)
{
	__u64 per_section = (1ULL << (MC_SECTION_SHIFT - MC_PAGE_SHIFT)) *
			    bpf_core_type_size(struct page);
	__u64 addr;

	if (!b->d_arch)
		return addr_to_block(b->add_start);
	addr = b->arch_start + ((b->memmap_bytes / per_section) << MC_SECTION_SHIFT);
	if (addr >= b->arch_start + b->arch_size)
		addr = b->arch_start + b->arch_size - 1;
	return addr_to_block(addr);
}

/* What an allocation is for: the innermost known function on its stack. */
static __always_inline __u32 stack_kind(void *ctx)
{
	__u32 zero = 0, i, j, nframes, n = nr_funcs;
	struct mc_stack *st = bpf_map_lookup_elem(&stackbuf, &zero);
	long len;

	if (!st)
		return MC_KIND_OTHER;
	len = bpf_get_stack(ctx, st->ip, sizeof(st->ip), 0);
	if (len <= 0)
		return MC_KIND_OTHER;
	nframes = len / sizeof(__u64);
	for (i = 0; i < MC_STACK_DEPTH; i++) {
		__u64 ip;

		if (i >= nframes)
			break;
		ip = st->ip[i];
		for (j = 0; j < MC_MAX_FUNCS; j++) {
			if (j >= n)
				break;
			if (ip > func_start[j] && ip <= func_end[j])
				return func_kind[j];
		}
	}
	return MC_KIND_OTHER;
}

static __always_inline void edge_add(struct mc_block *r, __u32 host, __u32 kind,
				     __s64 bytes)
{
	struct mc_edge *e;
	__u32 i, n;

	if (host == r->block) {
		if (kind < MC_NR_KINDS)
			__sync_fetch_and_add(&r->self_bytes[kind], bytes);
		return;
	}
	n = r->nr_edges;
	/* One bounded walk: match an existing (host, kind) or take slot n. */
	for (i = 0; i < MC_MAX_EDGES; i++) {
		e = &r->edges[i];
		if (i >= n) {
			if (bytes < 0)
				return;
			e->host = host;
			e->kind = kind;
			e->bytes = bytes;
			e->allocs = 1;
			r->nr_edges = i + 1;
			return;
		}
		if (e->host == host && e->kind == kind) {
			__sync_fetch_and_add(&e->bytes, bytes);
			if (bytes > 0)
				__sync_fetch_and_add(&e->allocs, 1);
			return;
		}
	}
	if (bytes < 0)
		return;
	__sync_fetch_and_add(&r->dropped_edges, 1);
	stat_add(MC_STAT_DROPPED_EDGES, 1);
}

/* A tracked page that is freed no longer pins its host. */
static __always_inline void page_freed(__u64 pfn)
{
	struct mc_page *pg;
	struct mc_block *r;
	__s64 bytes;
	__u32 key;

	pg = bpf_map_lookup_elem(&pages, &pfn);
	if (!pg)
		return;
	bytes = 1LL << (MC_PAGE_SHIFT + (pg->order & 31));
	if (pg->dep == MC_DEP_KERNEL) {
		key = pg->host;
		r = bpf_map_lookup_elem(&blocks, &key);
		if (r)
			__sync_fetch_and_add(&r->kernel_bytes, -bytes);
	} else {
		key = pg->dep;
		r = bpf_map_lookup_elem(&blocks, &key);
		if (r)
			edge_add(r, pg->host, pg->kind, -bytes);
	}
	bpf_map_delete_elem(&pages, &pfn);
	stat_add(MC_STAT_FREES, 1);
}

/* Remember a tracked page so that its free takes it back out. */
static __always_inline void page_track(__u64 pfn, __u32 dep, __u32 host, __u32 kind,
				       __u32 order)
{
	struct mc_page pg = {
		.dep = dep,
		.host = host,
		.kind = kind,
		.order = order,
	};

	/*
	 * Still tracked: its free went unseen (e.g. through the batched path);
	 * settle the old record first so no pin outlives its page.
	 */
	if (bpf_map_lookup_elem(&pages, &pfn))
		page_freed(pfn);
	if (bpf_map_update_elem(&pages, &pfn, &pg, BPF_ANY))
		stat_add(MC_STAT_DROPPED_PAGES, 1);
}

/*
 * Outside hot-add: an unmovable allocation (by request: MIGRATE_UNMOVABLE or
 * MIGRATE_RECLAIMABLE) that lands in a traced block pins it too.
 */
static __always_inline bool kernel_alloc(__u64 pfn, __u32 order, int migratetype)
{
	__u32 host = pfn_to_block(pfn);
	struct mc_block *r;
	__u64 bytes;

	if (migratetype != 0 /* UNMOVABLE */ && migratetype != 2 /* RECLAIMABLE */)
		return false;
	r = bpf_map_lookup_elem(&blocks, &host);
	if (!r)
		return false;
	bytes = 1ULL << (MC_PAGE_SHIFT + (order & 31));
	__sync_fetch_and_add(&r->kernel_bytes, bytes);
	stat_add(MC_STAT_KERNEL_ALLOCS, 1);
	page_track(pfn, MC_DEP_KERNEL, host, MC_KIND_OTHER, order);
	return true;
}

/*
 * A page of the range being added: the buddy allocator hands those out only
 * once the range is online, and with auto-onlining that happens inside
 * add_memory_resource(), after arch_add_memory() returned.  Such a page is
 * no metadata placed before the block existed but a kernel page on the
 * block like any allocated later (a slab page for the uevent of the next
 * block, say): it pins the block unless it is movable.  Inside
 * arch_add_memory() the range is not online yet, so the test is not needed.
 */
static __always_inline bool in_adding_range(const struct mc_bracket *b, __u32 host,
					    __u32 dep)
{
	if (b->d_arch)
		return false;
	if (host == dep)
		return true;
	return b->arch_size && host >= addr_to_block(b->arch_start) &&
	       host <= addr_to_block(b->arch_start + b->arch_size - 1);
}

/* Start of the struct page array (typeless ksym, resolved from kallsyms). */
extern const void vmemmap_base __ksym __weak;
/* Its value, read once: it is fixed at boot. */
__u64 vmemmap;

/* The struct page array's start; 0 if the kernel does not say. */
static __always_inline __u64 vmemmap_start(void)
{
	__u64 base = vmemmap;

	if (!base) {
		if (!&vmemmap_base ||
		    bpf_probe_read_kernel(&base, sizeof(base), &vmemmap_base))
			return 0;
		vmemmap = base;
	}
	return base;
}

static __always_inline __u64 page_to_pfn(const struct page *page)
{
	__u64 base = vmemmap_start(), addr = 0;

	if (!base)
		return (__u64)-1;
	/*
	 * The address as a plain number: the verifier allows no arithmetic
	 * with an unbounded scalar on a typed (BTF) pointer.
	 */
	bpf_probe_read_kernel(&addr, sizeof(addr), &page);
	return (addr - base) / bpf_core_type_size(struct page);
}

/*
 * min_pfn as the address of its struct page, so that the page hooks can
 * drop a page below every traced block with one comparison, before any
 * helper call (most pages: boot memory lies below hot-added memory).
 * Recomputed when min_pfn changes; 0 while nothing is traced.
 */
__u64 floor_pfn, floor_page;

static __always_inline __u64 traced_floor_page(void)
{
	__u64 lo = min_pfn, base, page_size;

	if (lo == floor_pfn)
		return floor_page;
	base = vmemmap_start();
	if (!base)
		return 0;
	page_size = bpf_core_type_size(struct page);
	floor_page = lo ? base + lo * page_size : 0;
	floor_pfn = lo;
	return floor_page;
}

/*
 * Can this event change the tracer's state?  During a hot-add anything can
 * be attributed; otherwise only a page at or above the lowest traced block,
 * and for an allocation only an unmovable one.  Everything else returns
 * here, which is all the always-on cost most page events pay.
 */
static __always_inline bool alloc_matters(const struct page *page, int migratetype)
{
	__u64 floor;

	if (active)
		return true;
	if (migratetype != 0 /* UNMOVABLE */ && migratetype != 2 /* RECLAIMABLE */)
		return false;
	floor = traced_floor_page();
	return floor && (__u64)page >= floor;
}

static __always_inline bool free_matters(const struct page *page)
{
	__u64 floor;

	if (active)
		return true;
	floor = traced_floor_page();
	return floor && (__u64)page >= floor;
}

static __always_inline void on_page_alloc(void *ctx, struct page *page, __u32 order,
					  int migratetype)
{
	struct mc_bracket *b = NULL;
	struct mc_block *r;
	__u64 pfn, bytes, lo = min_pfn;
	__u32 dep, host, kind;

	if (!page)
		return;
	pfn = page_to_pfn(page);
	if (pfn == (__u64)-1)
		return;
	if (active)
		b = bracket_get();
	/* An interrupt on the hot-adding thread allocates for someone else. */
	if (!b || (!b->d_res && !b->d_arch) || in_interrupt()) {
		if (lo && pfn >= lo)
			kernel_alloc(pfn, order, migratetype);
		return;
	}
	bytes = 1ULL << (MC_PAGE_SHIFT + (order & 31));
	host = pfn_to_block(pfn);
	dep = bracket_dep(b);
	if (in_adding_range(b, host, dep)) {
		if (kernel_alloc(pfn, order, migratetype))
			stat_add(MC_STAT_ONLINE_ALLOCS, 1);
		return;
	}
	/*
	 * Memmap and page tables are only allocated inside arch_add_memory();
	 * elsewhere in the bracket (memory block devices, auto-onlining) a
	 * stack walk per page could only ever answer "other".
	 */
	kind = b->d_arch ? stack_kind(ctx) : MC_KIND_OTHER;
	if (kind == MC_KIND_MEMMAP && b->d_arch)
		b->memmap_bytes += bytes;
	r = block_get(dep, b->nid, b->t0);
	if (!r)
		return;
	edge_add(r, host, kind, bytes);
	stat_add(MC_STAT_ALLOCS, 1);
	page_track(pfn, dep, host, kind, order);
	if (printk_on)
		bpf_printk("memmap-chains: alloc dep=%u host=%u kind=%s order=%u pfn=0x%lx",
			   dep, host, kind_name(kind), order, pfn);
}

static __always_inline void on_page_free(struct page *page)
{
	__u64 pfn, lo = min_pfn;

	pfn = page_to_pfn(page);
	if ((lo && pfn >= lo) || (active && bracket_get()))
		page_freed(pfn);
}

/*
 * BPF runs no program nested in itself on one CPU: when an interrupt or a
 * softirq allocates or frees a page while mc_page_alloc or mc_page_free runs
 * on that CPU (every page allocation and free in the system runs them), the
 * kernel skips that program for the nested event and only counts a
 * recursion miss.  A missed allocation on a traced block is a pin the tracer
 * never sees; a missed free, one it never drops.  So each hook has a second
 * program on the same tracepoint, attached after the first, which handles
 * every event the first did not: the first notes the last few pages it
 * handled per CPU (map "handled"), the second looks the event's page up
 * there.  A window before the first program's first instruction or after
 * its last is covered too, which a "running" flag would leave open.  Events
 * that both miss (an interrupt nested in the second while it handles a
 * nested event) are counted: the first program's recursion misses minus the
 * events the second handled (stats nested_allocs/nested_frees).
 */
#define MC_RECENT	4

struct mc_recent {
	__u64 page[MC_RECENT];	/* struct page * of the events handled last */
	__u32 head;		/* next slot to write */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MC_NR_HOOKS);
	__type(key, __u32);
	__type(value, struct mc_recent);
} handled SEC(".maps");

static __always_inline void mark_handled(__u32 hook, const struct page *page)
{
	struct mc_recent *r = bpf_map_lookup_elem(&handled, &hook);

	if (r)
		r->page[r->head++ & (MC_RECENT - 1)] = (__u64)page;
}

/* Did the first program handle this event?  Forgotten once asked. */
static __always_inline bool was_handled(__u32 hook, const struct page *page)
{
	struct mc_recent *r = bpf_map_lookup_elem(&handled, &hook);
	__u32 i;

	if (!r)
		return true;
	for (i = 0; i < MC_RECENT; i++) {
		if (r->page[i] == (__u64)page) {
			r->page[i] = 0;
			return true;
		}
	}
	return false;
}

SEC("tp_btf/mm_page_alloc")
int BPF_PROG(mc_page_alloc, struct page *page, unsigned int order, gfp_t gfp, int migratetype)
{
	if (!alloc_matters(page, migratetype))
		return 0;
	on_page_alloc(ctx, page, order, migratetype);
	mark_handled(MC_HOOK_ALLOC, page);
	return 0;
}

SEC("tp_btf/mm_page_alloc")
int BPF_PROG(mc_page_alloc_nested, struct page *page, unsigned int order, gfp_t gfp,
	     int migratetype)
{
	if (!alloc_matters(page, migratetype) || was_handled(MC_HOOK_ALLOC, page))
		return 0;
	stat_add(MC_STAT_NESTED_ALLOCS, 1);
	on_page_alloc(ctx, page, order, migratetype);
	return 0;
}

SEC("tp_btf/mm_page_free")
int BPF_PROG(mc_page_free, struct page *page, unsigned int order)
{
	if (!free_matters(page))
		return 0;
	on_page_free(page);
	mark_handled(MC_HOOK_FREE, page);
	return 0;
}

SEC("tp_btf/mm_page_free")
int BPF_PROG(mc_page_free_nested, struct page *page, unsigned int order)
{
	if (!free_matters(page) || was_handled(MC_HOOK_FREE, page))
		return 0;
	stat_add(MC_STAT_NESTED_FREES, 1);
	on_page_free(page);
	return 0;
}

/* ---- the bulk allocator ---- */

struct bulk_ctx {
	struct page **array;
	__u64 lo;
	__u32 migratetype;
};

static long bulk_page_cb(__u32 i, struct bulk_ctx *c)
{
	struct page *pg = NULL;
	__u64 pfn;

	if (bpf_probe_read_kernel(&pg, sizeof(pg), &c->array[i]) || !pg)
		return 0;
	pfn = page_to_pfn(pg);
	if (pfn != (__u64)-1 && pfn >= c->lo && kernel_alloc(pfn, 0, c->migratetype))
		stat_add(MC_STAT_BULK_PAGES, 1);
	return 0;
}

/*
 * After a bulk allocation: every page in the array may be new (the
 * allocator fills only empty slots, but cannot tell us which); recording a
 * page again is harmless, page_track() settles the old record first.
 */
static __always_inline void on_bulk(__u32 gfp, __s32 nr, struct page **array)
{
	struct bulk_ctx c = {
		.array = array,
		.lo = min_pfn,
		/* gfp_migratetype(): __GFP_MOVABLE is bit 3, __GFP_RECLAIMABLE bit 4 */
		.migratetype = (gfp >> 3) & 3,
	};

	if (!c.lo || !array || nr <= 0 || c.migratetype == 1 /* MOVABLE */)
		return;
	bpf_loop(nr < MC_MAX_BULK ? nr : MC_MAX_BULK, bulk_page_cb, &c, 0);
}

/* ---- range operations at the end of a bracket ---- */

enum { MC_OP_MARK_ADDED, MC_OP_DELETE };

struct range_ctx {
	__u32 first;
	__u32 op;
	__u32 altmap;
	__u64 altmap_bytes;
	__s32 nid;
	__u64 t0;
};

static long range_block_cb(__u32 i, struct range_ctx *c)
{
	__u32 blk = c->first + i;
	struct mc_block *r;

	if (c->op == MC_OP_DELETE) {
		bpf_map_delete_elem(&blocks, &blk);
		return 0;
	}
	r = block_get(blk, c->nid, c->t0);
	if (!r)
		return 0;
	if (!min_pfn || r->start >> MC_PAGE_SHIFT < min_pfn)
		min_pfn = r->start >> MC_PAGE_SHIFT;
	r->flags |= MC_BLK_ADDED;
	if (c->altmap) {
		r->flags |= MC_BLK_MEMMAP_ON_MEMORY;
		r->altmap_bytes = c->altmap_bytes;
	}
	return 0;
}

struct pages_ctx {
	__u32 first;
	__u32 last;
};

static long drop_pages_cb(struct bpf_map *map, __u64 *key, struct mc_page *pg,
			  struct pages_ctx *c)
{
	if ((pg->dep >= c->first && pg->dep <= c->last) ||
	    (pg->host >= c->first && pg->host <= c->last))
		bpf_map_delete_elem(map, key);
	return 0;
}

static __always_inline void range_apply(struct mc_bracket *b, __u64 start, __u64 size,
					__u32 op, __u32 altmap, __u64 altmap_bytes)
{
	struct range_ctx c = {
		.first = addr_to_block(start),
		.op = op,
		.altmap = altmap,
		.altmap_bytes = altmap_bytes,
		.nid = b->nid,
		.t0 = b->t0,
	};
	struct pages_ctx pc;
	__u32 n;

	if (!size)
		return;
	n = addr_to_block(start + size - 1) - c.first + 1;
	bpf_loop(n, range_block_cb, &c, 0);
	if (op == MC_OP_DELETE) {
		pc.first = c.first;
		pc.last = c.first + n - 1;
		bpf_for_each_map_elem(&pages, drop_pages_cb, &pc, 0);
	}
}

static __always_inline void emit(__u32 type, __s32 ret, __u64 start, __u64 size,
				 __u64 t0, __s32 nid, __u32 altmap, __u64 altmap_bytes)
{
	struct mc_event *e;

	if (!events_on)
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_add(MC_STAT_DROPPED_EVENTS, 1);
		return;
	}
	e->type = type;
	e->ret = ret;
	e->start = start;
	e->size = size;
	e->ns = bpf_ktime_get_ns() - t0;
	e->nid = nid;
	e->altmap = altmap;
	e->altmap_bytes = altmap_bytes;
	bpf_ringbuf_submit(e, 0);
}

/* ---- handlers shared by the fentry/fexit and kprobe/kretprobe programs ---- */

static __always_inline void on_add_resource(int nid, struct resource *res)
{
	struct mc_bracket *b = bracket_enter();

	if (!b)
		return;
	if (!b->d_res++) {
		b->add_start = BPF_CORE_READ(res, start);
		b->nid = nid;
		b->t0 = bpf_ktime_get_ns();
	}
}

static __always_inline void on_add_resource_ret(void)
{
	struct mc_bracket *b = bracket_get();

	if (!b)
		return;
	if (b->d_res)
		b->d_res--;
	bracket_leave(b);
}

static __always_inline void on_arch_add(int nid, __u64 start, __u64 size,
					struct mhp_params *params)
{
	struct mc_bracket *b = bracket_enter();

	if (!b)
		return;
	stat_add(MC_STAT_ADDS, 1);
	b->d_arch++;
	b->arch_start = start;
	b->arch_size = size;
	b->memmap_bytes = 0;
	b->altmap = (__u64)BPF_CORE_READ(params, altmap);
	b->nid = nid;
	if (!b->d_res) {
		b->add_start = start;
		b->t0 = bpf_ktime_get_ns();
	}
	/* Create the records now so blocks without any edge are listed too. */
	range_apply(b, start, size, MC_OP_MARK_ADDED, 0, 0);
	if (printk_on)
		bpf_printk("memmap-chains: add start=0x%llx size=0x%llx nid=%d altmap=%d",
			   start, size, nid, b->altmap != 0);
}

static __always_inline void on_arch_add_ret(int ret)
{
	struct mc_bracket *b = bracket_get();
	struct vmem_altmap *am;
	__u64 altmap_bytes = 0;
	__u32 first, last;

	if (!b || !b->d_arch)
		return;
	b->d_arch--;
	am = (struct vmem_altmap *)b->altmap;
	if (am)
		altmap_bytes = (BPF_CORE_READ(am, alloc) + BPF_CORE_READ(am, align))
			       << MC_PAGE_SHIFT;
	range_apply(b, b->arch_start, b->arch_size, ret ? MC_OP_DELETE : MC_OP_MARK_ADDED,
		    !!am, altmap_bytes);
	emit(MC_EV_ADD, ret, b->arch_start, b->arch_size, b->t0, b->nid, !!am,
	     altmap_bytes);
	first = addr_to_block(b->arch_start);
	last = addr_to_block(b->arch_start + b->arch_size - 1);
	if (printk_on)
		bpf_printk("memmap-chains: added blocks=%u-%u ret=%d memmap_on_memory=%d",
			   first, last, ret, !!am);
	bracket_leave(b);
}

static __always_inline void on_remove(__u64 start, __u64 size)
{
	struct mc_bracket *b = bracket_enter();

	if (!b)
		return;
	stat_add(MC_STAT_REMOVES, 1);
	b->d_rm++;
	b->rm_start = start;
	b->rm_size = size;
	b->t0 = bpf_ktime_get_ns();
	if (printk_on)
		bpf_printk("memmap-chains: remove start=0x%llx size=0x%llx", start, size);
}

static __always_inline void on_remove_ret(void)
{
	struct mc_bracket *b = bracket_get();
	__u32 first, last;

	if (!b || !b->d_rm)
		return;
	b->d_rm--;
	range_apply(b, b->rm_start, b->rm_size, MC_OP_DELETE, 0, 0);
	emit(MC_EV_REMOVE, 0, b->rm_start, b->rm_size, b->t0, -1, 0, 0);
	first = addr_to_block(b->rm_start);
	last = addr_to_block(b->rm_start + b->rm_size - 1);
	if (printk_on)
		bpf_printk("memmap-chains: removed blocks=%u-%u", first, last);
	bracket_leave(b);
}

/* ---- fentry/fexit ---- */

SEC("fentry/add_memory_resource")
int BPF_PROG(fe_add_resource, int nid, struct resource *res)
{
	on_add_resource(nid, res);
	return 0;
}

SEC("fexit/add_memory_resource")
int BPF_PROG(fx_add_resource)
{
	on_add_resource_ret();
	return 0;
}

SEC("fentry/arch_add_memory")
int BPF_PROG(fe_arch_add, int nid, __u64 start, __u64 size, struct mhp_params *params)
{
	on_arch_add(nid, start, size, params);
	return 0;
}

SEC("fexit/arch_add_memory")
int BPF_PROG(fx_arch_add, int nid, __u64 start, __u64 size, struct mhp_params *params,
	     int ret)
{
	on_arch_add_ret(ret);
	return 0;
}

SEC("fentry/arch_remove_memory")
int BPF_PROG(fe_remove, __u64 start, __u64 size)
{
	on_remove(start, size);
	return 0;
}

SEC("fexit/arch_remove_memory")
int BPF_PROG(fx_remove)
{
	on_remove_ret();
	return 0;
}

/*
 * The loader sets the target: the bulk allocator's name differs by kernel.
 * Its sixth argument, the page array, is a pointer to pointers, which the
 * verifier lets no fexit program read from its context (it only types
 * pointers to structs and integers): bpf_get_func_arg() hands it over raw.
 */
SEC("fexit")
int BPF_PROG(fx_bulk, gfp_t gfp, int nid, nodemask_t *nodemask, int nr_pages)
{
	__u64 array = 0;

	if (bpf_get_func_arg(ctx, 5, &array))
		return 0;
	on_bulk(gfp, nr_pages, (struct page **)array);
	return 0;
}

/* ---- kprobe/kretprobe fallback ---- */

SEC("kprobe/add_memory_resource")
int BPF_KPROBE(kp_add_resource, int nid, struct resource *res)
{
	on_add_resource(nid, res);
	return 0;
}

SEC("kretprobe/add_memory_resource")
int BPF_KRETPROBE(kr_add_resource)
{
	on_add_resource_ret();
	return 0;
}

SEC("kprobe/arch_add_memory")
int BPF_KPROBE(kp_arch_add, int nid, __u64 start, __u64 size, struct mhp_params *params)
{
	on_arch_add(nid, start, size, params);
	return 0;
}

SEC("kretprobe/arch_add_memory")
int BPF_KRETPROBE(kr_arch_add, int ret)
{
	on_arch_add_ret(ret);
	return 0;
}

SEC("kprobe/arch_remove_memory")
int BPF_KPROBE(kp_remove, __u64 start, __u64 size)
{
	on_remove(start, size);
	return 0;
}

SEC("kretprobe/arch_remove_memory")
int BPF_KRETPROBE(kr_remove)
{
	on_remove_ret();
	return 0;
}

SEC("kprobe")
int BPF_KPROBE(kp_bulk, gfp_t gfp, int nid, nodemask_t *nodemask, int nr_pages)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mc_bulk_args a = {
		/* sixth argument: BPF_KPROBE names five; r9 on x86_64 */
		.array = ctx->r9,
		.gfp = gfp,
		.nr = nr_pages,
	};

	if (min_pfn)
		bpf_map_update_elem(&bulk_args, &tid, &a, BPF_ANY);
	return 0;
}

SEC("kretprobe")
int BPF_KRETPROBE(kr_bulk)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mc_bulk_args *a = bpf_map_lookup_elem(&bulk_args, &tid);

	if (!a)
		return 0;
	on_bulk(a->gfp, a->nr, (struct page **)a->array);
	bpf_map_delete_elem(&bulk_args, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
