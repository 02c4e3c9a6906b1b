// SPDX-License-Identifier: GPL-2.0
/*
 * mhp_online adaptive zone policy: the decisions, pure arithmetic (the
 * model is described in mhp_adapt_policy.h).
 *
 * Hysteresis keeps a node from converting back and forth: a block goes to
 * the kernel zone when the headroom is below kernel_headroom, and a block
 * only comes back when the headroom has been at 1.5 x kernel_headroom for
 * calm_ms and stays there without the block's free pages. Between the two
 * thresholds nothing happens. Not 2 x: a small VM whose boot memory has
 * 100 MiB free once a burst is over must get its last block back with the
 * default 64 MiB.
 */
#include "mhp_adapt_policy.h"

unsigned long mhp_adapt_back_limit(const struct mhp_adapt_params *p)
{
	return p->headroom + p->headroom / 2;
}

void mhp_adapt_online_decide(const struct mhp_adapt_params *p,
			     const struct mhp_adapt_online_req *r,
			     struct mhp_policy_decision *d)
{
	*d = (struct mhp_policy_decision) {
		.zone = MHP_ZONE_KERNEL,
		.reason = MHP_REASON_HEADROOM_FITS,
		.need = p->memmap_pages,
		.limit = p->headroom,
		.movable = r->movable_free,
	};

	/* One kernel-zone block already keeps the whole DIMM plugged. */
	if (r->group_kind == MHP_GROUP_STATIC && r->group_kernel) {
		d->reason = MHP_REASON_GROUP_HAS_KERNEL;
		d->kernel = r->headroom;
		d->node_scope = true;
		return;
	}

	/* The memmap of the next hot-added block comes from the kernel zones. */
	d->kernel = r->global_headroom;
	if (r->global_headroom < p->headroom + p->memmap_pages) {
		d->reason = MHP_REASON_HEADROOM_SHORT_GLOBAL;
		return;
	}
	d->kernel = r->headroom;
	d->node_scope = true;
	if (r->headroom < p->headroom + p->memmap_pages) {
		d->reason = MHP_REASON_HEADROOM_SHORT_NODE;
		return;
	}
	d->zone = MHP_ZONE_MOVABLE;
}

enum mhp_adapt_action mhp_adapt_assess(const struct mhp_adapt_params *p,
				       const struct mhp_adapt_node *n,
				       struct mhp_adapt_clock *clock,
				       unsigned long long now)
{
	bool gap_over = !clock->last_conversion ||
			now - clock->last_conversion >= p->gap_ms;

	if (n->headroom < p->headroom) {
		clock->calm_since = 0;
		if (n->ours_movable && gap_over)
			return MHP_ADAPT_TO_KERNEL;
		return MHP_ADAPT_NONE;
	}
	if (n->headroom < mhp_adapt_back_limit(p)) {
		clock->calm_since = 0;
		return MHP_ADAPT_NONE;
	}
	if (!clock->calm_since)
		clock->calm_since = now;
	if (n->ours_kernel && gap_over && now - clock->calm_since >= p->calm_ms)
		return MHP_ADAPT_TO_MOVABLE;
	return MHP_ADAPT_NONE;
}

bool mhp_adapt_prefer(enum mhp_adapt_action action,
		      const struct mhp_adapt_cand *a,
		      const struct mhp_adapt_cand *b)
{
	if (action == MHP_ADAPT_TO_KERNEL) {
		/* Kernel memory where the device is stuck already. */
		if (a->group_has_kernel != b->group_has_kernel)
			return a->group_has_kernel;
		if (a->rank != b->rank)
			return a->rank < b->rank;
		if (a->scanned && b->scanned && a->free != b->free)
			return a->free > b->free;
	} else {
		/* Give back what the hypervisor will ask for first. */
		if (a->rank != b->rank)
			return a->rank > b->rank;
		if (a->scanned && b->scanned && a->free != b->free)
			return a->free > b->free;
	}
	return a->block < b->block;
}

bool mhp_adapt_accept(const struct mhp_adapt_params *p,
		      enum mhp_adapt_action action,
		      const struct mhp_adapt_cand *c,
		      const struct mhp_adapt_node *n,
		      struct mhp_policy_decision *d)
{
	unsigned long used = c->free < p->block_pages ?
			     p->block_pages - c->free : 0;

	*d = (struct mhp_policy_decision) {
		.node_scope = true,
		.movable = n->movable_free,
		.kernel = n->headroom,
	};

	if (action == MHP_ADAPT_TO_KERNEL) {
		d->zone = MHP_ZONE_KERNEL;
		d->reason = MHP_REASON_HEADROOM_LOW;
		d->limit = p->headroom;
		d->need = used;
		/*
		 * Its used pages must migrate into the rest of ZONE_MOVABLE:
		 * offlining would otherwise take them from the kernel zones,
		 * the very memory that is short.
		 */
		if (used > (n->movable_free > c->free ?
			    n->movable_free - c->free : 0)) {
			d->reason = MHP_REASON_NO_ROOM_TO_MIGRATE;
			return false;
		}
		return true;
	}

	d->zone = MHP_ZONE_MOVABLE;
	d->reason = MHP_REASON_HEADROOM_BACK;
	d->limit = mhp_adapt_back_limit(p);
	d->need = c->free;
	if (c->unmovable) {
		d->reason = MHP_REASON_HAS_UNMOVABLE;
		return false;
	}
	/* Its free pages leave the kernel zone with it. */
	if (n->headroom < c->free || n->headroom - c->free < d->limit) {
		d->reason = MHP_REASON_HEADROOM_WOULD_DROP;
		return false;
	}
	return true;
}

/* 2^40 pages: keeps the back limit and the sums above far from overflowing. */
#define MHP_ADAPT_HEADROOM_MAX	0x10000000000ULL

bool mhp_adapt_params_valid(const struct mhp_adapt_params *p,
			    const char **why)
{
	if (!p->headroom) {
		*why = "kernel_headroom_mb must be at least 1";
		return false;
	}
	if (p->headroom > MHP_ADAPT_HEADROOM_MAX) {
		*why = "kernel_headroom_mb is too large";
		return false;
	}
	if (p->calm_ms > 3600U * 1000) {
		*why = "adaptive_calm_s must be 0..3600";
		return false;
	}
	if (p->gap_ms < 10 || p->gap_ms > 600U * 1000) {
		*why = "adaptive_gap_ms must be 10..600000";
		return false;
	}
	*why = NULL;
	return true;
}
