// SPDX-License-Identifier: GPL-2.0
/*
 * mhp_online zone policy: the decision itself, pure arithmetic.
 *
 * A block onlined without an explicit zone goes MOVABLE if the pages that
 * must go MOVABLE with it ("need") still fit
 *
 *	movable + need <= ratio * kernel / 100
 *
 * in every scope checked: globally, and on the block's node if numa_aware.
 * In each scope, as the kernel's auto_movable_can_online_movable() does:
 *
 *	kernel  = early pages of the kernel zones - CMA pages
 *	movable = ZONE_MOVABLE pages + CMA pages
 *
 * then the other dynamic groups of the scope are taken out: their MOVABLE
 * pages from movable, and the early KERNEL pages they need to keep their
 * own MOVABLE pages in ratio (beyond their own KERNEL pages) from kernel;
 * if they need all of it, nothing more goes MOVABLE. kernel_reserve comes
 * off kernel next (not in the kernel's policy). A dynamic group adds
 * its own KERNEL pages back to kernel: KERNEL memory inside the group
 * allows more MOVABLE memory in the same group. Hot-added KERNEL memory
 * outside a group never enters kernel: it may be unplugged again.
 *
 * "need" is what decides all-or-nothing:
 *  - a static group: the rest of the group, KERNEL at once if any part of
 *    it is KERNEL already (a DIMM with one KERNEL block cannot be unplugged
 *    anyway, so there is no point in making the rest MOVABLE);
 *  - a dynamic group or no group: the rest of the aligned span, the largest
 *    of block, unit and granule; KERNEL at once if the span holds KERNEL
 *    pages. With granule == block this is the kernel's unit rule; with a
 *    larger granule the first block in an empty granule asks for the whole
 *    granule, so KERNEL blocks cluster in few granules and the others stay
 *    entirely MOVABLE.
 *
 * Everything is O(1): the caller walks the groups and the span (bounded by
 * MHP_POLICY_GRANULE_MAX_BLOCKS) and hands in the sums. Products stay in
 * 64 bits for ratio <= MHP_POLICY_RATIO_MAX and 2^44 pages (64 PiB).
 */
#include "mhp_policy.h"

/* a - b, or 0 where the kernel would wrap around. */
static unsigned long mhp_sub(unsigned long a, unsigned long b)
{
	return a > b ? a - b : 0;
}

unsigned long mhp_policy_span_pages(const struct mhp_policy_params *p,
				    enum mhp_group_kind kind,
				    unsigned long unit_pages,
				    unsigned long nr_pages)
{
	unsigned long span = nr_pages;

	/* A static group decides as a whole, the granule does not split it. */
	if (kind == MHP_GROUP_STATIC)
		return 0;
	if (kind == MHP_GROUP_DYNAMIC && unit_pages > span)
		span = unit_pages;
	if (p->granule > span)
		span = p->granule;
	return span;
}

unsigned long mhp_policy_group_need(unsigned int ratio,
				    unsigned long group_movable,
				    unsigned long group_kernel)
{
	/* ratio 0 never gets here through the decision; avoid dividing by 0. */
	if (!ratio)
		return 0;
	return mhp_sub(group_movable * 100 / ratio, group_kernel);
}

/*
 * Would need more pages fit MOVABLE in scope s? Fills the numbers of d and,
 * if not, the reason.
 */
static bool mhp_scope_fits(const struct mhp_policy_params *p,
			   const struct mhp_policy_request *r,
			   const struct mhp_policy_scope *s, bool node,
			   struct mhp_policy_decision *d)
{
	unsigned long kernel, movable;

	/* CMA pages in kernel zones behave like ZONE_MOVABLE. */
	kernel = mhp_sub(s->kernel_early, s->cma);
	movable = s->movable + s->cma;

	d->node_scope = node;
	d->movable = movable;
	d->kernel = kernel;
	d->limit = 0;

	/* Early KERNEL memory the other dynamic groups lean on is not ours. */
	if (kernel <= s->groups_need) {
		if (!s->groups_need)
			d->reason = node ? MHP_REASON_NO_EARLY_NODE :
					   MHP_REASON_NO_EARLY_GLOBAL;
		else
			d->reason = node ? MHP_REASON_GROUPS_NEED_NODE :
					   MHP_REASON_GROUPS_NEED_GLOBAL;
		return false;
	}
	kernel -= s->groups_need;
	movable = mhp_sub(movable, s->groups_movable);
	/*
	 * The reserve comes off after the check above, so that a reserve as
	 * large as all early memory still lets a dynamic group grow on its own
	 * KERNEL memory (the check refuses a kernel base of 0).
	 */
	kernel = mhp_sub(kernel, p->kernel_reserve);

	if (r->group_kind == MHP_GROUP_DYNAMIC)
		kernel += r->group_kernel;

	d->movable = movable;
	d->kernel = kernel;
	d->limit = p->ratio * kernel / 100;
	if (movable + d->need <= d->limit)
		return true;

	d->reason = node ? MHP_REASON_RATIO_NODE : MHP_REASON_RATIO_GLOBAL;
	return false;
}

void mhp_policy_decide(const struct mhp_policy_params *p,
		       const struct mhp_policy_request *r,
		       struct mhp_policy_decision *d)
{
	unsigned long span;

	*d = (struct mhp_policy_decision) {
		.zone = MHP_ZONE_KERNEL,
		.reason = MHP_REASON_FITS,
	};

	if (!p->ratio) {
		d->reason = MHP_REASON_RATIO_ZERO;
		return;
	}

	if (r->group_kind == MHP_GROUP_STATIC) {
		if (r->group_kernel) {
			d->reason = MHP_REASON_GROUP_HAS_KERNEL;
			return;
		}
		d->need = mhp_sub(r->group_max_pages, r->group_movable);
	} else {
		if (r->span_kernel) {
			d->reason = MHP_REASON_SPAN_HAS_KERNEL;
			return;
		}
		span = mhp_policy_span_pages(p, r->group_kind,
					     r->group_unit_pages, r->nr_pages);
		d->need = mhp_sub(span, r->span_movable);
	}
	/* Inconsistent counts must not let the block itself slip through. */
	if (d->need < r->nr_pages)
		d->need = r->nr_pages;

	if (!mhp_scope_fits(p, r, &r->global, false, d))
		return;
	if (p->numa_aware && !mhp_scope_fits(p, r, &r->node, true, d))
		return;

	d->zone = MHP_ZONE_MOVABLE;
}

bool mhp_policy_params_valid(const struct mhp_policy_params *p,
			     unsigned long block_pages, const char **why)
{
	if (!block_pages || (block_pages & (block_pages - 1))) {
		*why = "memory block size is not a power of two";
		return false;
	}
	if (p->ratio > MHP_POLICY_RATIO_MAX) {
		*why = "ratio must be 0..100000 (percent MOVABLE of KERNEL)";
		return false;
	}
	if (p->granule < block_pages || p->granule % block_pages) {
		*why = "granule must be a multiple of the memory block size";
		return false;
	}
	if (p->granule & (p->granule - 1)) {
		*why = "granule must be a power of two";
		return false;
	}
	if (p->granule / block_pages > MHP_POLICY_GRANULE_MAX_BLOCKS) {
		*why = "granule must be at most 128 memory blocks";
		return false;
	}
	*why = NULL;
	return true;
}

static const char * const mhp_reason_str[MHP_REASON_NR] = {
	[MHP_REASON_FITS] = "fits the ratio",
	[MHP_REASON_RATIO_ZERO] = "ratio is 0: never movable",
	[MHP_REASON_GROUP_HAS_KERNEL] = "static group already has kernel memory",
	[MHP_REASON_SPAN_HAS_KERNEL] = "unit/granule already has kernel memory",
	[MHP_REASON_NO_EARLY_GLOBAL] = "no early kernel memory counts",
	[MHP_REASON_NO_EARLY_NODE] = "no early kernel memory counts on the node",
	[MHP_REASON_GROUPS_NEED_GLOBAL] = "other dynamic groups need all kernel memory",
	[MHP_REASON_GROUPS_NEED_NODE] = "other dynamic groups need all kernel memory of the node",
	[MHP_REASON_RATIO_GLOBAL] = "movable would exceed the ratio",
	[MHP_REASON_RATIO_NODE] = "movable would exceed the ratio on the node",
	[MHP_REASON_HEADROOM_FITS] = "kernel headroom allows movable",
	[MHP_REASON_HEADROOM_SHORT_GLOBAL] = "kernel headroom short",
	[MHP_REASON_HEADROOM_SHORT_NODE] = "kernel headroom short on the node",
	[MHP_REASON_HEADROOM_LOW] = "kernel headroom low on node",
	[MHP_REASON_HEADROOM_BACK] = "kernel headroom back on node",
	[MHP_REASON_NO_ROOM_TO_MIGRATE] = "its used pages fit in no other movable memory",
	[MHP_REASON_HAS_UNMOVABLE] = "it holds unmovable pages",
	[MHP_REASON_HEADROOM_WOULD_DROP] = "the headroom without it would be too low",
};

const char *mhp_policy_reason_str(enum mhp_policy_reason reason)
{
	if ((unsigned int)reason >= MHP_REASON_NR)
		return "unknown";
	return mhp_reason_str[reason];
}
