/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mhp_online zone policy: which zone a block onlined without an explicit
 * zone goes to, decided as a pure function over plain numbers.
 *
 * The model is the kernel's "auto-movable" online policy (mm/memory_hotplug.c,
 * Linux 5.15+): keep MOVABLE:KERNEL below a ratio, where KERNEL is only the
 * early (boot) memory of the kernel zones, CMA counts as MOVABLE, a static
 * memory group (a DIMM) goes MOVABLE only as a whole and a dynamic memory
 * group (a virtio-mem device) may use its own KERNEL memory to allow more
 * MOVABLE memory inside the same group. With granule == block size the
 * decision is the kernel's, number for number.
 *
 * Two things go beyond the kernel: kernel_reserve excludes a part of early
 * kernel memory from the ratio (VMs that boot tiny and grow), and the
 * decision span of blocks without a group and of dynamic groups is an
 * aligned granule (default 1 GiB): the first block onlined in an empty
 * granule decides for the whole granule, later blocks follow, so KERNEL
 * blocks cluster and whole granules stay MOVABLE (offlinable as a whole).
 *
 * No kernel types here: the module and the host unit tests (tests/host/)
 * compile the same file. Every size is in pages. The caller gathers the
 * numbers (zone counters, memory group fields, the online pages in the
 * decision span) in one place and hands them in; the decision has no loop
 * and no side effect, so it can answer sysfs valid_zones too.
 */
#ifndef _MHP_POLICY_H
#define _MHP_POLICY_H

#ifdef __KERNEL__
#include <linux/stddef.h>
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#endif

/* Largest ratio accepted: MOVABLE up to 1000 times KERNEL, no overflow. */
#define MHP_POLICY_RATIO_MAX		100000U
/* Default ratio, as the kernel's memory_hotplug.auto_movable_ratio. */
#define MHP_POLICY_RATIO_DEFAULT	301U
/* Largest granule in blocks: bounds the caller's span walk per decision. */
#define MHP_POLICY_GRANULE_MAX_BLOCKS	128UL

enum mhp_zone_choice {
	MHP_ZONE_KERNEL,	/* online to the node's kernel zone (ZONE_NORMAL) */
	MHP_ZONE_MOVABLE,	/* online to ZONE_MOVABLE */
};

enum mhp_group_kind {
	MHP_GROUP_NONE,		/* block without memory group */
	MHP_GROUP_STATIC,	/* e.g. a DIMM: all MOVABLE or all KERNEL */
	MHP_GROUP_DYNAMIC,	/* e.g. virtio-mem: decided per unit/granule */
};

enum mhp_policy_reason {
	MHP_REASON_FITS,		/* MOVABLE: the span fits the ratio */
	MHP_REASON_RATIO_ZERO,		/* KERNEL: ratio 0 means never MOVABLE */
	MHP_REASON_GROUP_HAS_KERNEL,	/* KERNEL: static group partly KERNEL */
	MHP_REASON_SPAN_HAS_KERNEL,	/* KERNEL: unit/granule partly KERNEL */
	MHP_REASON_NO_EARLY_GLOBAL,	/* KERNEL: no early KERNEL memory at all */
	MHP_REASON_NO_EARLY_NODE,	/* same, on the block's node */
	MHP_REASON_GROUPS_NEED_GLOBAL,	/* KERNEL: other groups use all KERNEL */
	MHP_REASON_GROUPS_NEED_NODE,	/* same, on the block's node */
	MHP_REASON_RATIO_GLOBAL,	/* KERNEL: MOVABLE would exceed ratio */
	MHP_REASON_RATIO_NODE,		/* same, on the block's node */
	/* zone_policy=adaptive (mhp_adapt_policy.c): */
	MHP_REASON_HEADROOM_FITS,	/* MOVABLE: kernel headroom suffices */
	MHP_REASON_HEADROOM_SHORT_GLOBAL, /* KERNEL: kernel headroom short */
	MHP_REASON_HEADROOM_SHORT_NODE,	/* same, on the block's node */
	MHP_REASON_HEADROOM_LOW,	/* conversion to KERNEL: headroom low */
	MHP_REASON_HEADROOM_BACK,	/* conversion to MOVABLE: headroom back */
	MHP_REASON_NO_ROOM_TO_MIGRATE,	/* refused: used pages fit nowhere */
	MHP_REASON_HAS_UNMOVABLE,	/* refused: block holds unmovable pages */
	MHP_REASON_HEADROOM_WOULD_DROP,	/* refused: headroom too low without it */
	MHP_REASON_NR,
};

struct mhp_policy_params {
	unsigned int ratio;		/* max MOVABLE:KERNEL in percent; 0 = never MOVABLE */
	bool numa_aware;		/* check the block's node as well as globally */
	unsigned long kernel_reserve;	/* pages of early KERNEL memory left out, per scope */
	unsigned long granule;		/* pages; power of two, multiple of the block */
};

/*
 * What one scope (the whole system, or the block's node) holds. Fill it as
 * the kernel's auto_movable_can_online_movable() sees it:
 */
struct mhp_policy_scope {
	unsigned long kernel_early;	/* sum of present_early_pages of kernel zones */
	unsigned long cma;		/* sum of cma_pages of kernel zones */
	unsigned long movable;		/* present_pages of ZONE_MOVABLE */
	unsigned long groups_movable;	/* sum of present_movable_pages of the
					 * dynamic groups in this scope, except
					 * the block's own group
					 */
	unsigned long groups_need;	/* sum of mhp_policy_group_need() over
					 * the same groups
					 */
};

struct mhp_policy_request {
	unsigned long start_pfn;	/* first pfn of the range being onlined */
	unsigned long nr_pages;		/* a block (or unit) */
	struct mhp_policy_scope global;
	struct mhp_policy_scope node;	/* the block's node; read if numa_aware */
	enum mhp_group_kind group_kind;
	unsigned long group_max_pages;	/* static: pages of the whole group */
	unsigned long group_unit_pages;	/* dynamic: pages of a unit */
	unsigned long group_kernel;	/* present KERNEL pages of the group */
	unsigned long group_movable;	/* present MOVABLE pages of the group */
	unsigned long span_kernel;	/* online KERNEL pages in the aligned span */
	unsigned long span_movable;	/* online MOVABLE pages in the aligned span */
};

struct mhp_policy_decision {
	enum mhp_zone_choice zone;
	enum mhp_policy_reason reason;
	bool node_scope;		/* the numbers below are the node's */
	unsigned long need;		/* pages that must fit MOVABLE */
	unsigned long movable;		/* MOVABLE pages counted, before need */
	unsigned long kernel;		/* KERNEL pages the ratio applies to */
	unsigned long limit;		/* ratio * kernel / 100 */
};

/*
 * Pages of the aligned span whose online pages the caller counts into
 * span_kernel/span_movable: ALIGN_DOWN(start_pfn, span) for span pages.
 * 0 for a static group: the group decides, no walk needed.
 */
unsigned long mhp_policy_span_pages(const struct mhp_policy_params *p,
				    enum mhp_group_kind kind,
				    unsigned long unit_pages,
				    unsigned long nr_pages);

/* KERNEL pages a dynamic group needs beyond its own for its MOVABLE pages. */
unsigned long mhp_policy_group_need(unsigned int ratio,
				    unsigned long group_movable,
				    unsigned long group_kernel);

void mhp_policy_decide(const struct mhp_policy_params *p,
		       const struct mhp_policy_request *r,
		       struct mhp_policy_decision *d);

/* false and *why set to a message if the parameters cannot be used. */
bool mhp_policy_params_valid(const struct mhp_policy_params *p,
			     unsigned long block_pages, const char **why);

const char *mhp_policy_reason_str(enum mhp_policy_reason reason);

#endif /* _MHP_POLICY_H */
