// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the adaptive zone policy (module/mhp_adapt_policy.c,
 * compiled as is).
 *
 * Table cases pin each decision piece (onlining, assess with its
 * hysteresis, candidate order, acceptance) to the model in
 * mhp_adapt_policy.h. A simulation then drives the pieces the way the
 * module's watcher does: a node with boot memory and hot-added MOVABLE
 * blocks, a kernel-memory demand that rises in a burst and falls again,
 * one look every 250 ms; it checks that the kernel zones never run dry,
 * that every block converted for the burst goes back once the demand has
 * gone, and that no block goes back and forth while the demand stays.
 *
 * Output is KTAP, "N passed, N failed" at the end, non-zero exit status on
 * a failure.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktap.h"
#include "mhp_adapt_policy.h"

#define MHP_MIB(x)	((unsigned long)(x) << 8)	/* 4 KiB pages */
#define MHP_BLOCK	MHP_MIB(128)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static struct mhp_adapt_params mhp_params(void)
{
	return (struct mhp_adapt_params) {
		.headroom = MHP_MIB(64),
		.block_pages = MHP_BLOCK,
		.memmap_pages = MHP_MIB(2),
		.calm_ms = 10000,
		.gap_ms = 100,
	};
}

static void mhp_case_params(void)
{
	struct mhp_adapt_params p = mhp_params();
	const char *why;

	ktap_expect(mhp_adapt_params_valid(&p, &why) && !why, "defaults valid");
	p.headroom = 0;
	ktap_expect(!mhp_adapt_params_valid(&p, &why) && why, "headroom 0");
	p = mhp_params();
	p.calm_ms = 3600001;
	ktap_expect(!mhp_adapt_params_valid(&p, &why), "calm over an hour");
	p = mhp_params();
	p.gap_ms = 9;
	ktap_expect(!mhp_adapt_params_valid(&p, &why), "gap under 10 ms");
	p.gap_ms = 600001;
	ktap_expect(!mhp_adapt_params_valid(&p, &why), "gap over 10 min");
	p = mhp_params();
	p.headroom = (1UL << 40) + 1;
	ktap_expect(!mhp_adapt_params_valid(&p, &why), "huge headroom");
}

/* Onlining: MOVABLE while the headroom holds reserve + one memmap. */
static void mhp_case_online(void)
{
	const struct mhp_adapt_params p = mhp_params();
	const unsigned long enough = p.headroom + p.memmap_pages;
	static const struct {
		unsigned long node, global;
		enum mhp_group_kind kind;
		unsigned long group_kernel;
		enum mhp_zone_choice zone;
		enum mhp_policy_reason reason;
	} t[] = {
		{ 1, 1, MHP_GROUP_NONE, 0, MHP_ZONE_MOVABLE,
		  MHP_REASON_HEADROOM_FITS },
		{ 1, 0, MHP_GROUP_NONE, 0, MHP_ZONE_KERNEL,
		  MHP_REASON_HEADROOM_SHORT_GLOBAL },
		{ 0, 1, MHP_GROUP_DYNAMIC, 0, MHP_ZONE_KERNEL,
		  MHP_REASON_HEADROOM_SHORT_NODE },
		{ 1, 1, MHP_GROUP_STATIC, 0, MHP_ZONE_MOVABLE,
		  MHP_REASON_HEADROOM_FITS },
		{ 1, 1, MHP_GROUP_STATIC, 1, MHP_ZONE_KERNEL,
		  MHP_REASON_GROUP_HAS_KERNEL },
		/* A virtio-mem device's own kernel memory does not matter. */
		{ 1, 1, MHP_GROUP_DYNAMIC, 1, MHP_ZONE_MOVABLE,
		  MHP_REASON_HEADROOM_FITS },
	};
	struct mhp_adapt_online_req r;
	struct mhp_policy_decision d;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		r = (struct mhp_adapt_online_req) {
			.headroom = t[i].node ? enough : enough - 1,
			.global_headroom = t[i].global ? enough : enough - 1,
			.group_kind = t[i].kind,
			.group_kernel = t[i].group_kernel,
		};
		mhp_adapt_online_decide(&p, &r, &d);
		ktap_expect(d.zone == t[i].zone && d.reason == t[i].reason,
			   "row %u: zone %d reason %d, expected %d %d", i,
			   d.zone, d.reason, t[i].zone, t[i].reason);
		ktap_expect(d.limit == p.headroom && d.need == p.memmap_pages,
			   "row %u: limit %lu need %lu", i, d.limit, d.need);
	}
}

/* assess(): thresholds, hysteresis band, calm time, gap. */
static void mhp_case_assess(void)
{
	const struct mhp_adapt_params p = mhp_params();
	struct mhp_adapt_clock c = {};
	struct mhp_adapt_node n = { .ours_movable = 4, .ours_kernel = 1 };
	enum mhp_adapt_action a;

	n.headroom = p.headroom - 1;
	a = mhp_adapt_assess(&p, &n, &c, 1000);
	ktap_expect(a == MHP_ADAPT_TO_KERNEL, "low headroom: to kernel (%d)", a);
	c.last_conversion = 1000;
	a = mhp_adapt_assess(&p, &n, &c, 1050);
	ktap_expect(a == MHP_ADAPT_NONE, "within the gap: nothing (%d)", a);
	a = mhp_adapt_assess(&p, &n, &c, 1100);
	ktap_expect(a == MHP_ADAPT_TO_KERNEL, "after the gap: again (%d)", a);
	n.ours_movable = 0;
	a = mhp_adapt_assess(&p, &n, &c, 2000);
	ktap_expect(a == MHP_ADAPT_NONE, "no movable block of ours (%d)", a);

	/* In the band between headroom and the back limit: steady. */
	n.headroom = mhp_adapt_back_limit(&p) - 1;
	a = mhp_adapt_assess(&p, &n, &c, 3000);
	ktap_expect(a == MHP_ADAPT_NONE && !c.calm_since, "band: steady");

	n.headroom = mhp_adapt_back_limit(&p);
	a = mhp_adapt_assess(&p, &n, &c, 4000);
	ktap_expect(a == MHP_ADAPT_NONE && c.calm_since == 4000,
		   "calm starts, nothing yet (%d, %llu)", a,
		   (unsigned long long)c.calm_since);
	a = mhp_adapt_assess(&p, &n, &c, 4000 + p.calm_ms - 1);
	ktap_expect(a == MHP_ADAPT_NONE, "calm not long enough (%d)", a);
	a = mhp_adapt_assess(&p, &n, &c, 4000 + p.calm_ms);
	ktap_expect(a == MHP_ADAPT_TO_MOVABLE, "calm long enough (%d)", a);

	/* A dip into the band restarts the calm time. */
	n.headroom = p.headroom;
	mhp_adapt_assess(&p, &n, &c, 20000);
	n.headroom = 3 * p.headroom;
	a = mhp_adapt_assess(&p, &n, &c, 20001);
	ktap_expect(a == MHP_ADAPT_NONE && c.calm_since == 20001,
		   "dip restarts calm (%d)", a);
	n.ours_kernel = 0;
	a = mhp_adapt_assess(&p, &n, &c, 20001 + p.calm_ms);
	ktap_expect(a == MHP_ADAPT_NONE, "no kernel block of ours (%d)", a);
}

static int mhp_prefer_cmp(const void *a, const void *b, void *action)
{
	enum mhp_adapt_action act = *(enum mhp_adapt_action *)action;

	if (mhp_adapt_prefer(act, a, b))
		return -1;
	return mhp_adapt_prefer(act, b, a) ? 1 : 0;
}

/* Candidate order for both directions. */
static void mhp_case_prefer(void)
{
	struct mhp_adapt_cand c[] = {
		{ .block = 40, .rank = 40 },
		{ .block = 33, .rank = 32, .free = 100, .scanned = true },
		{ .block = 32, .rank = 32, .free = 900, .scanned = true },
		{ .block = 50, .rank = 50, .group_has_kernel = true },
		{ .block = 34, .rank = 34 },
	};
	static const unsigned long to_kernel[] = { 50, 32, 33, 34, 40 };
	static const unsigned long to_movable[] = { 50, 40, 34, 32, 33 };
	enum mhp_adapt_action act = MHP_ADAPT_TO_KERNEL;
	unsigned int i;

	qsort_r(c, ARRAY_SIZE(c), sizeof(c[0]), mhp_prefer_cmp, &act);
	for (i = 0; i < ARRAY_SIZE(c); i++)
		ktap_expect(c[i].block == to_kernel[i],
			   "to kernel #%u: block %lu, expected %lu", i,
			   c[i].block, to_kernel[i]);
	act = MHP_ADAPT_TO_MOVABLE;
	qsort_r(c, ARRAY_SIZE(c), sizeof(c[0]), mhp_prefer_cmp, &act);
	for (i = 0; i < ARRAY_SIZE(c); i++)
		ktap_expect(c[i].block == to_movable[i],
			   "to movable #%u: block %lu, expected %lu", i,
			   c[i].block, to_movable[i]);
}

static void mhp_case_accept(void)
{
	const struct mhp_adapt_params p = mhp_params();
	struct mhp_adapt_cand c = { .block = 32, .scanned = true };
	struct mhp_adapt_node n = {};
	struct mhp_policy_decision d;

	/* To kernel: its used pages must fit in the other MOVABLE free. */
	c.free = MHP_BLOCK - 1000;
	n.movable_free = c.free + 1000;
	ktap_expect(mhp_adapt_accept(&p, MHP_ADAPT_TO_KERNEL, &c, &n, &d) &&
		   d.reason == MHP_REASON_HEADROOM_LOW && d.need == 1000 &&
		   d.zone == MHP_ZONE_KERNEL, "fits exactly");
	n.movable_free = c.free + 999;
	ktap_expect(!mhp_adapt_accept(&p, MHP_ADAPT_TO_KERNEL, &c, &n, &d) &&
		   d.reason == MHP_REASON_NO_ROOM_TO_MIGRATE, "one page short");
	c.unmovable = 5;
	n.movable_free = MHP_BLOCK * 4;
	ktap_expect(mhp_adapt_accept(&p, MHP_ADAPT_TO_KERNEL, &c, &n, &d),
		   "MOVABLE blocks are not judged by their unmovable count");

	/* Back: no unmovable page, headroom stays at the back limit. */
	c = (struct mhp_adapt_cand) { .block = 32, .free = MHP_BLOCK,
				      .scanned = true };
	n.headroom = mhp_adapt_back_limit(&p) + MHP_BLOCK;
	ktap_expect(mhp_adapt_accept(&p, MHP_ADAPT_TO_MOVABLE, &c, &n, &d) &&
		   d.reason == MHP_REASON_HEADROOM_BACK &&
		   d.zone == MHP_ZONE_MOVABLE && d.need == MHP_BLOCK &&
		   d.limit == p.headroom * 3 / 2, "back: fits");
	n.headroom--;
	ktap_expect(!mhp_adapt_accept(&p, MHP_ADAPT_TO_MOVABLE, &c, &n, &d) &&
		   d.reason == MHP_REASON_HEADROOM_WOULD_DROP, "back: one short");
	n.headroom = 10 * MHP_BLOCK;
	c.unmovable = 1;
	ktap_expect(!mhp_adapt_accept(&p, MHP_ADAPT_TO_MOVABLE, &c, &n, &d) &&
		   d.reason == MHP_REASON_HAS_UNMOVABLE, "back: one unmovable");
}

/*
 * The watcher in a simulator: node with `boot` kernel pages, nr MOVABLE
 * blocks of ours, a demand for kernel pages that follows demand(t).
 * Converted blocks take kernel pages; a block can go back when the demand
 * it holds has gone (the simulator keeps no leftovers).
 */
#define MHP_SIM_BLOCKS	16

struct mhp_sim {
	struct mhp_adapt_params p;
	unsigned long boot;		/* kernel pages of boot memory */
	bool kernel[MHP_SIM_BLOCKS];	/* block converted */
	int round_trips[MHP_SIM_BLOCKS];
	unsigned long to_kernel, to_movable, min_headroom, max_kernel_blocks;
};

static unsigned long mhp_sim_kernel_pages(const struct mhp_sim *s)
{
	unsigned long pages = s->boot;
	int i;

	for (i = 0; i < MHP_SIM_BLOCKS; i++)
		pages += s->kernel[i] ? MHP_BLOCK : 0;
	return pages;
}

static void mhp_sim_look(struct mhp_sim *s, unsigned long demand,
			 struct mhp_adapt_clock *clock, unsigned long long now)
{
	struct mhp_adapt_node n = {};
	struct mhp_adapt_cand best = {}, c;
	struct mhp_policy_decision d;
	enum mhp_adapt_action a;
	unsigned long kp = mhp_sim_kernel_pages(s), nk = 0;
	int i, found = -1;

	n.headroom = kp > demand ? kp - demand : 0;
	for (i = 0; i < MHP_SIM_BLOCKS; i++) {
		n.ours_kernel += s->kernel[i];
		n.ours_movable += !s->kernel[i];
		n.movable_free += s->kernel[i] ? 0 : MHP_BLOCK;
	}
	if (n.headroom < s->min_headroom)
		s->min_headroom = n.headroom;
	a = mhp_adapt_assess(&s->p, &n, clock, now);
	if (a == MHP_ADAPT_NONE)
		return;
	for (i = 0; i < MHP_SIM_BLOCKS; i++) {
		if (s->kernel[i] != (a == MHP_ADAPT_TO_MOVABLE))
			continue;
		c = (struct mhp_adapt_cand) { .block = i, .rank = i,
					      .free = MHP_BLOCK,
					      .scanned = true };
		/* Demand beyond boot memory sits in the lowest blocks. */
		if (a == MHP_ADAPT_TO_MOVABLE && demand > s->boot &&
		    i * MHP_BLOCK < demand - s->boot)
			c.unmovable = 1;
		if (!mhp_adapt_accept(&s->p, a, &c, &n, &d))
			continue;
		if (found < 0 || mhp_adapt_prefer(a, &c, &best)) {
			best = c;
			found = i;
		}
	}
	if (found < 0)
		return;
	s->kernel[found] = a == MHP_ADAPT_TO_KERNEL;
	if (a == MHP_ADAPT_TO_KERNEL) {
		s->to_kernel++;
	} else {
		s->to_movable++;
		s->round_trips[found]++;
	}
	clock->last_conversion = now;
	for (i = 0; i < MHP_SIM_BLOCKS; i++)
		nk += s->kernel[i];
	if (nk > s->max_kernel_blocks)
		s->max_kernel_blocks = nk;
}

static void mhp_case_simulated_burst(void)
{
	struct mhp_sim s = { .p = mhp_params(), .boot = MHP_MIB(256),
			     .min_headroom = ~0UL };
	struct mhp_adapt_clock clock = {};
	unsigned long demand, peak = MHP_MIB(600);
	unsigned long long t;
	int i;

	/* 0-20 s idle, 20-60 s +10 MiB/s, 60-120 s hold, 120-150 s fall. */
	for (t = 250; t <= 240000; t += 250) {
		if (t < 20000)
			demand = MHP_MIB(150);
		else if (t < 60000)
			demand = MHP_MIB(150) + (t - 20000) * MHP_MIB(10) / 1000;
		else if (t < 120000)
			demand = peak;
		else if (t < 150000)
			demand = peak - (t - 120000) * (peak - MHP_MIB(150)) / 30000;
		else
			demand = MHP_MIB(150);
		if (demand > peak)
			demand = peak;
		mhp_sim_look(&s, demand, &clock, t);
	}
	printf("# burst to %lu MiB: %lu to kernel, %lu back, at most %lu kernel blocks, least headroom %lu MiB\n",
	       peak >> 8, s.to_kernel, s.to_movable, s.max_kernel_blocks,
	       s.min_headroom >> 8);
	ktap_expect(s.min_headroom > 0, "the kernel zones never ran dry");
	/* Enough blocks for the peak and the reserve, not one more. */
	ktap_expect(s.to_kernel == (peak + s.p.headroom - s.boot + MHP_BLOCK - 1) /
				  MHP_BLOCK, "%lu blocks converted", s.to_kernel);
	ktap_expect(s.to_movable == s.to_kernel, "all of them came back");
	for (i = 0; i < MHP_SIM_BLOCKS; i++)
		ktap_expect(s.round_trips[i] <= 1, "block %d went back %d times",
			   i, s.round_trips[i]);
	for (i = 0; i < MHP_SIM_BLOCKS; i++)
		ktap_expect(!s.kernel[i], "block %d still in the kernel zone", i);
}

static const struct ktap_case mhp_cases[] = {
	{ "adapt_params_validation", mhp_case_params },
	{ "adapt_online_headroom", mhp_case_online },
	{ "adapt_assess_hysteresis", mhp_case_assess },
	{ "adapt_candidate_order", mhp_case_prefer },
	{ "adapt_accept", mhp_case_accept },
	{ "adapt_simulated_burst", mhp_case_simulated_burst },
};

int main(void)
{
	return ktap_run(mhp_cases, ARRAY_SIZE(mhp_cases));
}
