/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mhp_online adaptive zone policy: when hot-added memory should be MOVABLE
 * and when the kernel needs some of it, decided as pure functions over
 * plain numbers.
 *
 * The model: a fixed MOVABLE:KERNEL ratio decides at onlining time, before
 * anyone knows how much kernel memory the workload will need. The adaptive
 * policy decides later, when the need shows, and undoes it when the need
 * has gone:
 *
 *  - Headroom. Per node, the kernel zones' (DMA, DMA32, Normal) free pages
 *    above their high watermarks: what unmovable allocations (slab, page
 *    tables, the memmap of the next hot-added block) can still get before
 *    kswapd has to reclaim for them. kernel_headroom is the part of it the
 *    policy keeps free.
 *  - Onlining: a block onlined as plain "online" goes MOVABLE while the
 *    headroom still holds kernel_headroom plus the memmap of one more block,
 *    globally and on the block's node; else it goes to the kernel zone. A
 *    block of a static group (a DIMM) that already holds kernel-zone memory
 *    joins it: that DIMM cannot be unplugged anyway.
 *  - To the kernel zone: when a node's headroom falls below
 *    kernel_headroom, one of the blocks the policy made MOVABLE is offlined
 *    (its pages migrate) and onlined to the kernel zone. Which one: a block
 *    of a DIMM that already holds kernel memory, then the block the
 *    hypervisor is least likely to take back soon (lowest rank, see below),
 *    then the one with most free pages (least to migrate); and only if its
 *    used pages fit into the node's other free MOVABLE pages.
 *  - Back: when a node's headroom has stayed at 1.5 x kernel_headroom or
 *    more for calm_ms, one of the policy's kernel-zone blocks that holds no
 *    unmovable page goes back to ZONE_MOVABLE the same way, if the headroom
 *    without its free pages is still 1.5 x kernel_headroom: the highest
 *    rank first (the block most likely to be asked for next).
 *  - At most one conversion per node every gap_ms.
 *
 * Rank is a removal order the caller derives from the device: hot-plugged
 * DIMMs are usually unplugged last-in first-out, and virtio-mem unplugs a
 * device's memory from its highest address down, so a lower start address
 * (a DIMM's first block, a virtio-mem block's own address) means "removed
 * later".
 *
 * No kernel types here: the module and the host unit tests (tests/host/)
 * compile the same file. Every size is in pages, every time in ms.
 */
#ifndef _MHP_ADAPT_POLICY_H
#define _MHP_ADAPT_POLICY_H

#include "mhp_policy.h"

#ifdef __KERNEL__
#include <linux/types.h>
#endif

struct mhp_adapt_params {
	unsigned long headroom;		/* kernel_headroom, pages */
	unsigned long block_pages;	/* pages per memory block */
	unsigned long memmap_pages;	/* memmap (struct pages) of one block */
	unsigned int calm_ms;		/* headroom high this long: give back */
	unsigned int gap_ms;		/* least time between conversions of a node */
};

/* A block onlined as plain "online": what the onlining path knows. */
struct mhp_adapt_online_req {
	unsigned long headroom;		/* the block's node */
	unsigned long global_headroom;	/* all nodes */
	unsigned long movable_free;	/* free ZONE_MOVABLE pages of the node */
	enum mhp_group_kind group_kind;
	unsigned long group_kernel;	/* present KERNEL pages of the group */
};

void mhp_adapt_online_decide(const struct mhp_adapt_params *p,
			     const struct mhp_adapt_online_req *r,
			     struct mhp_policy_decision *d);

/* One node as the watcher reads it. */
struct mhp_adapt_node {
	unsigned long headroom;		/* free kernel-zone pages above high wmarks */
	unsigned long movable_free;	/* free ZONE_MOVABLE pages */
	unsigned long ours_movable;	/* blocks the policy made MOVABLE */
	unsigned long ours_kernel;	/* blocks the policy put in the kernel zone */
};

/* What the watcher remembers of a node between two looks. */
struct mhp_adapt_clock {
	unsigned long long calm_since;	/* headroom high since (ms), 0 = not now */
	unsigned long long last_conversion; /* ms of the last one, 0 = never */
};

enum mhp_adapt_action {
	MHP_ADAPT_NONE,			/* nothing to do on this node now */
	MHP_ADAPT_TO_KERNEL,		/* one MOVABLE block to the kernel zone */
	MHP_ADAPT_TO_MOVABLE,		/* one kernel-zone block back to MOVABLE */
};

/*
 * Look at a node at time now (ms, > 0): updates the clock (calm_since) and
 * says what to do. The caller stamps clock->last_conversion when it
 * converts, successfully or not.
 */
enum mhp_adapt_action mhp_adapt_assess(const struct mhp_adapt_params *p,
				       const struct mhp_adapt_node *n,
				       struct mhp_adapt_clock *clock,
				       unsigned long long now);

/* A block that may be converted, as the caller found it. */
struct mhp_adapt_cand {
	unsigned long block;		/* memory block id */
	unsigned long rank;		/* lower: removed later (see top) */
	bool group_has_kernel;		/* its static group has kernel-zone memory */
	unsigned long free;		/* free pages in the block */
	unsigned long unmovable;	/* pages that cannot migrate; counted in
					 * kernel-zone blocks only: in ZONE_MOVABLE
					 * everything migrates by construction
					 */
	bool scanned;			/* free/unmovable are known */
};

/*
 * Is a a better choice than b for action? Before scanning (scanned false)
 * only rank and group count; the caller scans in this order.
 */
bool mhp_adapt_prefer(enum mhp_adapt_action action,
		      const struct mhp_adapt_cand *a,
		      const struct mhp_adapt_cand *b);

/*
 * May the scanned block c be converted for action on node n now? Fills the
 * numbers of d (kernel: headroom, limit: threshold, need: pages migrated to
 * the kernel zone or taken out of it, movable: free MOVABLE pages) and, if
 * not, the reason.
 */
bool mhp_adapt_accept(const struct mhp_adapt_params *p,
		      enum mhp_adapt_action action,
		      const struct mhp_adapt_cand *c,
		      const struct mhp_adapt_node *n,
		      struct mhp_policy_decision *d);

/* Headroom a node must keep (and have kept for calm_ms) to give back. */
unsigned long mhp_adapt_back_limit(const struct mhp_adapt_params *p);

/* false and *why set to a message if the parameters cannot be used. */
bool mhp_adapt_params_valid(const struct mhp_adapt_params *p,
			    const char **why);

#endif /* _MHP_ADAPT_POLICY_H */
