// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the zone policy (module/mhp_policy.c, compiled as is).
 *
 * The model: a small simulator keeps the numbers the kernel keeps (present
 * early KERNEL pages, CMA and ZONE_MOVABLE pages per node, present KERNEL
 * and MOVABLE pages per memory group, the zone of every 128 MiB block) and
 * onlines blocks one by one: it gathers a request the way the module's glue
 * does (sums over the other dynamic groups, a walk over the aligned span),
 * asks mhp_policy_decide() and books the block into the chosen zone.
 *
 * Expectations come from the seed (the DIMM and virtio-mem layouts of the
 * auto-movable series) and from a line-by-line transliteration of the
 * kernel's auto_movable_zone_for_pfn()/auto_movable_can_online_movable()
 * working on the same simulator state, compared decision by decision over
 * random configurations. mhp_policy.c is built with
 * -fsanitize-coverage=trace-pc: every basic block it enters bumps a
 * counter, which measures the work of one decision without a clock.
 *
 * Output is KTAP: one "ok N - name" / "not ok N - name" per case, "# "
 * lines with the numbers, and "N passed, N failed" at the end; the exit
 * status is non-zero if any case failed. Building with -DMHP_TEST_BREAK
 * turns one expectation wrong on purpose, to show a failure is reported.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktap.h"
#include "mhp_policy.h"

#define MHP_MIB(x)		((unsigned long)(x) << 8)	/* 4 KiB pages */
#define MHP_GIB(x)		((unsigned long)(x) << 18)
#define MHP_BLOCK		MHP_MIB(128)
#define MHP_SIM_NODES		4
#define MHP_SIM_GROUPS		64
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

/* Basic blocks entered in mhp_policy.c (see -fsanitize-coverage=trace-pc). */
static unsigned long mhp_test_work;

void __sanitizer_cov_trace_pc(void)
{
	mhp_test_work++;
}

/* What a block is in the simulator. */
enum mhp_sim_state {
	MHP_SIM_ABSENT,		/* hole, or not plugged/offline */
	MHP_SIM_EARLY,		/* boot memory in a kernel zone */
	MHP_SIM_KERNEL,		/* hot-added, online in ZONE_NORMAL */
	MHP_SIM_MOVABLE,	/* hot-added, online in ZONE_MOVABLE */
};

struct mhp_sim_group {
	enum mhp_group_kind kind;
	int nid;
	unsigned long max_pages;	/* static */
	unsigned long unit_pages;	/* dynamic */
	unsigned long kernel, movable;	/* present pages */
};

struct mhp_sim {
	struct mhp_policy_params p;
	int nr_nodes;
	unsigned long early[MHP_SIM_NODES];
	unsigned long cma[MHP_SIM_NODES];
	unsigned long movable[MHP_SIM_NODES];
	unsigned long nr_blocks;
	unsigned char *state;		/* enum mhp_sim_state per block */
	unsigned char *nid;		/* node per block */
	short *group;			/* group per block, -1 none */
	struct mhp_sim_group grp[MHP_SIM_GROUPS];
	int nr_groups;
	unsigned long max_work;		/* most trace-pc hits of one decision */
};

static struct mhp_policy_params mhp_params(unsigned int ratio,
					   unsigned long granule)
{
	return (struct mhp_policy_params) {
		.ratio = ratio,
		.numa_aware = true,
		.kernel_reserve = 0,
		.granule = granule,
	};
}

static void mhp_sim_init(struct mhp_sim *s, unsigned long nr_blocks,
			 struct mhp_policy_params p, int nr_nodes)
{
	memset(s, 0, sizeof(*s));
	s->p = p;
	s->nr_nodes = nr_nodes;
	s->nr_blocks = nr_blocks;
	s->state = calloc(nr_blocks, 1);
	s->nid = calloc(nr_blocks, 1);
	s->group = malloc(nr_blocks * sizeof(*s->group));
	if (!s->state || !s->nid || !s->group) {
		perror("calloc");
		exit(2);
	}
	memset(s->group, 0xff, nr_blocks * sizeof(*s->group));
}

static void mhp_sim_free(struct mhp_sim *s)
{
	free(s->state);
	free(s->nid);
	free(s->group);
}

/* Boot memory: blocks [first, first + n) of node nid, minus holes pages. */
static void mhp_sim_boot(struct mhp_sim *s, int nid, unsigned long first,
			 unsigned long n, unsigned long holes)
{
	unsigned long b;

	for (b = first; b < first + n; b++) {
		s->state[b] = MHP_SIM_EARLY;
		s->nid[b] = nid;
	}
	s->early[nid] += n * MHP_BLOCK - holes;
}

static int mhp_sim_group(struct mhp_sim *s, enum mhp_group_kind kind, int nid,
			 unsigned long pages)
{
	struct mhp_sim_group *g = &s->grp[s->nr_groups];

	g->kind = kind;
	g->nid = nid;
	if (kind == MHP_GROUP_STATIC)
		g->max_pages = pages;
	else
		g->unit_pages = pages;
	return s->nr_groups++;
}

static void mhp_sim_scope_groups(const struct mhp_sim *s, int nid, int gi,
				 struct mhp_policy_scope *sc)
{
	int i;

	for (i = 0; i < s->nr_groups; i++) {
		const struct mhp_sim_group *g = &s->grp[i];

		if (i == gi || g->kind != MHP_GROUP_DYNAMIC)
			continue;
		if (nid >= 0 && g->nid != nid)
			continue;
		sc->groups_movable += g->movable;
		sc->groups_need += mhp_policy_group_need(s->p.ratio,
							 g->movable, g->kernel);
	}
}

/* What the module's glue gathers for block b of node nid in group gi. */
static void mhp_sim_request(const struct mhp_sim *s, unsigned long b, int nid,
			    int gi, struct mhp_policy_request *r)
{
	unsigned long span, first, i;
	int n;

	memset(r, 0, sizeof(*r));
	r->start_pfn = b * MHP_BLOCK;
	r->nr_pages = MHP_BLOCK;
	for (n = 0; n < s->nr_nodes; n++) {
		r->global.kernel_early += s->early[n];
		r->global.cma += s->cma[n];
		r->global.movable += s->movable[n];
	}
	r->node.kernel_early = s->early[nid];
	r->node.cma = s->cma[nid];
	r->node.movable = s->movable[nid];
	mhp_sim_scope_groups(s, -1, gi, &r->global);
	mhp_sim_scope_groups(s, nid, gi, &r->node);

	r->group_kind = gi < 0 ? MHP_GROUP_NONE : s->grp[gi].kind;
	if (gi >= 0) {
		r->group_max_pages = s->grp[gi].max_pages;
		r->group_unit_pages = s->grp[gi].unit_pages;
		r->group_kernel = s->grp[gi].kernel;
		r->group_movable = s->grp[gi].movable;
	}

	span = mhp_policy_span_pages(&s->p, r->group_kind,
				     r->group_unit_pages, r->nr_pages);
	if (!span)
		return;
	first = (r->start_pfn - r->start_pfn % span) / MHP_BLOCK;
	for (i = first; i < first + span / MHP_BLOCK && i < s->nr_blocks; i++) {
		if (s->state[i] == MHP_SIM_MOVABLE)
			r->span_movable += MHP_BLOCK;
		else if (s->state[i] != MHP_SIM_ABSENT)
			r->span_kernel += MHP_BLOCK;
	}
}

/*
 * The kernel's auto_movable_can_online_movable(), transliterated: nid -1 is
 * NUMA_NO_NODE, the zones are summed as auto_movable_stats_account_zone()
 * does, the dynamic groups as auto_movable_stats_account_group() does.
 */
static int mhp_ref_can_online_movable(const struct mhp_sim *s, int nid, int gi,
				      unsigned long nr_pages)
{
	unsigned long kernel_early_pages = 0, movable_pages = 0;
	unsigned long req_kernel_early_pages = 0, group_movable_pages = 0;
	const unsigned int ratio = s->p.ratio;
	long pages;
	int n, i;

	for (n = 0; n < s->nr_nodes; n++) {
		if (nid >= 0 && n != nid)
			continue;
		movable_pages += s->movable[n];
		kernel_early_pages += s->early[n];
		movable_pages += s->cma[n];
		kernel_early_pages -= s->cma[n];
	}
	for (i = 0; i < s->nr_groups; i++) {
		const struct mhp_sim_group *g = &s->grp[i];

		if (g->kind != MHP_GROUP_DYNAMIC || i == gi)
			continue;
		if (nid >= 0 && g->nid != nid)
			continue;
		if (!ratio)
			continue;
		pages = g->movable * 100 / ratio;
		pages -= g->kernel;
		if (pages > 0)
			req_kernel_early_pages += pages;
		group_movable_pages += g->movable;
	}
	if (kernel_early_pages <= req_kernel_early_pages)
		return 0;
	kernel_early_pages -= req_kernel_early_pages;
	movable_pages -= group_movable_pages;
	if (gi >= 0 && s->grp[gi].kind == MHP_GROUP_DYNAMIC)
		kernel_early_pages += s->grp[gi].kernel;
	movable_pages += nr_pages;
	return movable_pages <= (ratio * kernel_early_pages) / 100;
}

/* The kernel's auto_movable_zone_for_pfn(), transliterated. */
static enum mhp_zone_choice mhp_ref_zone(const struct mhp_sim *s,
					 unsigned long b, int nid, int gi)
{
	unsigned long online_pages = 0, max_pages, pfn, end_pfn;
	unsigned long nr_pages = MHP_BLOCK;
	const struct mhp_sim_group *g = gi >= 0 ? &s->grp[gi] : NULL;

	if (!s->p.ratio)
		return MHP_ZONE_KERNEL;
	if (g && g->kind == MHP_GROUP_STATIC) {
		max_pages = g->max_pages;
		online_pages = g->movable;
		if (g->kernel)
			return MHP_ZONE_KERNEL;
	} else if (!g || g->unit_pages == nr_pages) {
		max_pages = nr_pages;
	} else {
		max_pages = g->unit_pages;
		pfn = b * MHP_BLOCK;
		pfn -= pfn % g->unit_pages;
		end_pfn = pfn + g->unit_pages;
		/* A section is a block here (128 MiB). */
		for (; pfn < end_pfn; pfn += MHP_BLOCK) {
			unsigned char st = s->state[pfn / MHP_BLOCK];

			if (st == MHP_SIM_ABSENT)
				continue;
			if (st != MHP_SIM_MOVABLE)
				return MHP_ZONE_KERNEL;
			online_pages += MHP_BLOCK;
		}
	}
	nr_pages = max_pages - online_pages;
	if (!mhp_ref_can_online_movable(s, -1, gi, nr_pages))
		return MHP_ZONE_KERNEL;
	if (s->p.numa_aware && !mhp_ref_can_online_movable(s, nid, gi, nr_pages))
		return MHP_ZONE_KERNEL;
	return MHP_ZONE_MOVABLE;
}

/* Counts of the differential checks of every mhp_sim_online(). */
static unsigned long mhp_ref_checked, mhp_ref_mismatch, mhp_pure_mismatch;
static unsigned long mhp_decisions;
static int mhp_ref_enabled;

/* Online block b (node nid, group gi) the way the kernel would. */
static enum mhp_zone_choice mhp_sim_online(struct mhp_sim *s, unsigned long b,
					   int nid, int gi,
					   struct mhp_policy_decision *out)
{
	struct mhp_policy_request r, r_copy;
	struct mhp_policy_decision d, d2;
	unsigned long work;

	mhp_sim_request(s, b, nid, gi, &r);
	r_copy = r;
	work = mhp_test_work;
	mhp_policy_decide(&s->p, &r, &d);
	work = mhp_test_work - work;
	if (work > s->max_work)
		s->max_work = work;

	/* No side effects: the same input gives the same output. */
	mhp_policy_decide(&s->p, &r, &d2);
	mhp_decisions++;
	if (memcmp(&r, &r_copy, sizeof(r)) || memcmp(&d, &d2, sizeof(d)))
		mhp_pure_mismatch++;

	if (mhp_ref_enabled) {
		mhp_ref_checked++;
		if (mhp_ref_zone(s, b, nid, gi) != d.zone)
			mhp_ref_mismatch++;
	}

	s->nid[b] = nid;
	s->group[b] = gi;
	if (d.zone == MHP_ZONE_MOVABLE) {
		s->state[b] = MHP_SIM_MOVABLE;
		s->movable[nid] += MHP_BLOCK;
		if (gi >= 0)
			s->grp[gi].movable += MHP_BLOCK;
	} else {
		s->state[b] = MHP_SIM_KERNEL;
		if (gi >= 0)
			s->grp[gi].kernel += MHP_BLOCK;
	}
	if (out)
		*out = d;
	return d.zone;
}

static void mhp_sim_offline(struct mhp_sim *s, unsigned long b)
{
	int gi = s->group[b];

	if (s->state[b] == MHP_SIM_MOVABLE) {
		s->movable[s->nid[b]] -= MHP_BLOCK;
		if (gi >= 0)
			s->grp[gi].movable -= MHP_BLOCK;
	} else if (s->state[b] == MHP_SIM_KERNEL && gi >= 0) {
		s->grp[gi].kernel -= MHP_BLOCK;
	}
	s->state[b] = MHP_SIM_ABSENT;
}

/* Online n blocks from first as one device; returns the group. */
static int mhp_sim_dimm(struct mhp_sim *s, int nid, unsigned long first,
			unsigned long n)
{
	int gi = mhp_sim_group(s, MHP_GROUP_STATIC, nid, n * MHP_BLOCK);
	unsigned long b;

	for (b = first; b < first + n; b++)
		mhp_sim_online(s, b, nid, gi, NULL);
	return gi;
}

static char mhp_sim_char(const struct mhp_sim *s, unsigned long b)
{
	static const char c[] = { '.', 'E', 'N', 'M' };

	return c[s->state[b]];
}

/* The layout as the seed writes it, as KTAP comments. */
static void mhp_sim_print(const struct mhp_sim *s, unsigned long first,
			  unsigned long end)
{
	static const char * const name[] = {
		"absent", "early", "Normal", "Movable"
	};
	unsigned long b = first, e;

	while (b < end) {
		for (e = b; e + 1 < end && s->state[e + 1] == s->state[b]; e++)
			;
		printf("#   Memory block %lu-%lu: %s\n", b, e,
		       name[s->state[b]]);
		b = e + 1;
	}
}

/* 1 iff blocks [first, end) are all in state st. */
static int mhp_sim_all(const struct mhp_sim *s, unsigned long first,
		       unsigned long end, enum mhp_sim_state st)
{
	unsigned long b;

	for (b = first; b < end; b++)
		if (s->state[b] != st)
			return 0;
	return 1;
}

static unsigned long mhp_sim_count(const struct mhp_sim *s, unsigned long first,
				   unsigned long end, enum mhp_sim_state st)
{
	unsigned long b, n = 0;

	for (b = first; b < end; b++)
		n += s->state[b] == st;
	return n;
}

/* Aligned granules of gran blocks in [first, end) entirely MOVABLE. */
static unsigned long mhp_sim_full_granules(const struct mhp_sim *s,
					   unsigned long first,
					   unsigned long end,
					   unsigned long gran)
{
	unsigned long b, n = 0;

	for (b = first - first % gran; b + gran <= end; b += gran)
		n += mhp_sim_all(s, b, b + gran, MHP_SIM_MOVABLE);
	return n;
}

/* The seed's 4 GiB VM: blocks 0-15 DMA32 and 32-47 Normal, hole between. */
static void mhp_sim_seed_vm(struct mhp_sim *s, unsigned long nr_blocks,
			    struct mhp_policy_params p)
{
	mhp_sim_init(s, nr_blocks, p, 1);
	mhp_sim_boot(s, 0, 0, 16, 0);
	mhp_sim_boot(s, 0, 32, 16, 0);
}

static void mhp_case_seed_dimm(void)
{
	struct mhp_policy_decision d;
	struct mhp_sim s;
	unsigned long b;
	int i, gi;

	mhp_ref_enabled = 1;
	mhp_sim_seed_vm(&s, 48 + 6 * 32, mhp_params(301, MHP_BLOCK));
	for (i = 0; i < 6; i++) {
		gi = mhp_sim_group(&s, MHP_GROUP_STATIC, 0, MHP_GIB(4));
		for (b = 48 + i * 32UL; b < 48 + (i + 1) * 32UL; b++) {
			mhp_sim_online(&s, b, 0, gi, &d);
			if (i == 3 && b == 144)
				ktap_expect(d.reason == MHP_REASON_RATIO_GLOBAL,
					   "DIMM 3 first block reason: %s",
					   mhp_policy_reason_str(d.reason));
			if (i == 3 && b == 145)
				ktap_expect(d.reason == MHP_REASON_GROUP_HAS_KERNEL,
					   "DIMM 3 second block reason: %s",
					   mhp_policy_reason_str(d.reason));
		}
	}
	mhp_sim_print(&s, 0, s.nr_blocks);
#ifdef MHP_TEST_BREAK
	ktap_expect(mhp_sim_all(&s, 48, 176, MHP_SIM_MOVABLE),
		   "deliberately wrong: DIMM 0-3 Movable");
#endif
	ktap_expect(mhp_sim_all(&s, 48, 144, MHP_SIM_MOVABLE),
		   "DIMM 0-2 (blocks 48-143) Movable");
	ktap_expect(mhp_sim_all(&s, 144, 240, MHP_SIM_KERNEL),
		   "DIMM 3-5 (blocks 144-239) Normal");
	mhp_sim_free(&s);

	/* The granule does not split a static group: same layout. */
	mhp_sim_seed_vm(&s, 48 + 6 * 32, mhp_params(301, MHP_GIB(1)));
	for (i = 0; i < 6; i++)
		mhp_sim_dimm(&s, 0, 48 + i * 32, 32);
	ktap_expect(mhp_sim_all(&s, 48, 144, MHP_SIM_MOVABLE) &&
		   mhp_sim_all(&s, 144, 240, MHP_SIM_KERNEL),
		   "granule 1 GiB: same DIMM layout");
	mhp_sim_free(&s);
}

/* One virtio-mem device (unit = block) plugging blocks [48, end). */
static void mhp_sim_seed_vmem(struct mhp_sim *s, unsigned long end,
			      struct mhp_policy_params p)
{
	unsigned long b;
	int gi;

	mhp_sim_seed_vm(s, end, p);
	gi = mhp_sim_group(s, MHP_GROUP_DYNAMIC, 0, MHP_BLOCK);
	for (b = 48; b < end; b++)
		mhp_sim_online(s, b, 0, gi, NULL);
}

static void mhp_case_seed_vmem(void)
{
	struct mhp_sim s;
	unsigned long b;

	mhp_ref_enabled = 1;
	mhp_sim_seed_vmem(&s, 176, mhp_params(301, MHP_BLOCK));
	mhp_sim_print(&s, 40, 160);
	ktap_expect(mhp_sim_all(&s, 48, 144, MHP_SIM_MOVABLE),
		   "blocks 48-143 (first 12 GiB) Movable");
	ktap_expect(s.state[144] == MHP_SIM_KERNEL, "block 144 Normal");
	ktap_expect(mhp_sim_all(&s, 145, 148, MHP_SIM_MOVABLE),
		   "blocks 145-147 Movable");
	ktap_expect(s.state[148] == MHP_SIM_KERNEL, "block 148 Normal");
	ktap_expect(mhp_sim_all(&s, 149, 152, MHP_SIM_MOVABLE),
		   "blocks 149-151 Movable");
	for (b = 144; b < 176; b++)
		ktap_expect(mhp_sim_char(&s, b) == (b % 4 ? 'M' : 'N'),
			   "block %lu follows the N M M M mixture", b);
	mhp_sim_free(&s);
}

static void mhp_case_granule_vmem(void)
{
	unsigned long mov_up, mov_gr, full_up, full_gr;
	const unsigned long end = 48 + 224;	/* 28 GiB plugged */
	struct mhp_sim up, gr;

	mhp_ref_enabled = 0;
	mhp_sim_seed_vmem(&up, end, mhp_params(301, MHP_BLOCK));
	mhp_sim_seed_vmem(&gr, end, mhp_params(301, MHP_GIB(1)));
	mhp_sim_print(&gr, 136, 184);

	ktap_expect(mhp_sim_all(&gr, 48, 144, MHP_SIM_MOVABLE),
		   "granules 6-17 (first 12 GiB) Movable");
	ktap_expect(mhp_sim_all(&gr, 144, 152, MHP_SIM_KERNEL),
		   "granule 18 (blocks 144-151) Normal as a whole");
	ktap_expect(mhp_sim_all(&gr, 152, 176, MHP_SIM_MOVABLE),
		   "granules 19-21 Movable");
	ktap_expect(mhp_sim_all(&gr, 176, 184, MHP_SIM_KERNEL),
		   "granule 22 Normal as a whole");

	mov_up = mhp_sim_count(&up, 48, end, MHP_SIM_MOVABLE);
	mov_gr = mhp_sim_count(&gr, 48, end, MHP_SIM_MOVABLE);
	full_up = mhp_sim_full_granules(&up, 48, end, 8);
	full_gr = mhp_sim_full_granules(&gr, 48, end, 8);
	printf("#   28 GiB plugged: movable blocks %lu (upstream) %lu (granule)\n",
	       mov_up, mov_gr);
	printf("#   fully movable 1 GiB granules %lu (upstream) %lu (granule)\n",
	       full_up, full_gr);
	ktap_expect(mov_up == mov_gr, "same MOVABLE total (%lu vs %lu blocks)",
		   mov_up, mov_gr);
	ktap_expect(full_gr > full_up,
		   "more fully movable granules (%lu vs %lu)", full_gr, full_up);
	mhp_sim_free(&up);
	mhp_sim_free(&gr);
}

/* Two nodes of 2 GiB early each, 2 GiB DIMMs all on node 1. */
static void mhp_numa_run(bool numa_aware, unsigned long *movable_dimms,
			 enum mhp_policy_reason *first_kernel_reason)
{
	struct mhp_policy_params p = mhp_params(301, MHP_GIB(1));
	struct mhp_policy_decision d;
	struct mhp_sim s;
	unsigned long b;
	int i, gi;

	p.numa_aware = numa_aware;
	mhp_sim_init(&s, 48 + 8 * 16, p, 2);
	mhp_sim_boot(&s, 0, 0, 16, 0);
	mhp_sim_boot(&s, 1, 32, 16, 0);
	*movable_dimms = 0;
	*first_kernel_reason = MHP_REASON_NR;
	for (i = 0; i < 8; i++) {
		gi = mhp_sim_group(&s, MHP_GROUP_STATIC, 1, MHP_GIB(2));
		for (b = 48 + i * 16UL; b < 48 + (i + 1) * 16UL; b++)
			mhp_sim_online(&s, b, 1, gi, &d);
		if (s.grp[gi].movable == MHP_GIB(2))
			(*movable_dimms)++;
		else if (*first_kernel_reason == MHP_REASON_NR)
			*first_kernel_reason = d.reason == MHP_REASON_GROUP_HAS_KERNEL ?
				MHP_REASON_NR : d.reason;
	}
	mhp_sim_free(&s);
}

static void mhp_case_numa(void)
{
	enum mhp_policy_reason r_on, r_off;
	unsigned long on, off;

	mhp_ref_enabled = 1;
	mhp_numa_run(true, &on, &r_on);
	mhp_numa_run(false, &off, &r_off);
	printf("#   2 GiB DIMMs on node 1 of 2x2 GiB: movable DIMMs\n");
	printf("#   numa_aware=1: %lu, numa_aware=0: %lu\n", on, off);
	ktap_expect(on == 3, "numa_aware: node 1 takes 3 DIMMs (6 <= 6.02 GiB)");
	ktap_expect(off == 6, "global only: 6 DIMMs (12 <= 12.04 GiB)");
	(void)r_on;
	(void)r_off;
}

/* The first decisions of a per-node check must name the node. */
static void mhp_case_numa_reason(void)
{
	struct mhp_policy_params p = mhp_params(301, MHP_BLOCK);
	struct mhp_policy_decision d;
	struct mhp_sim s;
	unsigned long b;
	int gi;

	mhp_ref_enabled = 1;
	mhp_sim_init(&s, 48 + 64, p, 2);
	mhp_sim_boot(&s, 0, 0, 16, 0);
	mhp_sim_boot(&s, 1, 32, 16, 0);
	gi = mhp_sim_group(&s, MHP_GROUP_STATIC, 1, MHP_GIB(8));
	for (b = 48; b < 48 + 64; b++)
		mhp_sim_online(&s, b, 1, gi, b == 48 ? &d : NULL);
	ktap_expect(d.zone == MHP_ZONE_KERNEL && d.reason == MHP_REASON_RATIO_NODE &&
		   d.node_scope,
		   "8 GiB DIMM on a 2 GiB node: KERNEL by the node's ratio (%s)",
		   mhp_policy_reason_str(d.reason));
	mhp_sim_free(&s);
}

/* 512 MiB VM, 512 MiB DIMMs at 4 GiB: how many go MOVABLE. */
static unsigned long mhp_reserve_run(unsigned long reserve)
{
	struct mhp_policy_params p = mhp_params(301, MHP_GIB(1));
	unsigned long n = 0;
	struct mhp_sim s;
	int i, gi;

	p.kernel_reserve = reserve;
	mhp_sim_init(&s, 32 + 8 * 4, p, 1);
	mhp_sim_boot(&s, 0, 0, 4, 0);
	for (i = 0; i < 8; i++) {
		gi = mhp_sim_dimm(&s, 0, 32 + i * 4, 4);
		n += s.grp[gi].movable == MHP_MIB(512);
	}
	mhp_sim_free(&s);
	return n;
}

static void mhp_case_reserve(void)
{
	struct mhp_policy_params p = mhp_params(301, MHP_BLOCK);
	unsigned long r0, r256, r512;
	struct mhp_sim s;
	unsigned long b;
	int gi;

	mhp_ref_enabled = 0;
	r0 = mhp_reserve_run(0);
	r256 = mhp_reserve_run(MHP_MIB(256));
	r512 = mhp_reserve_run(MHP_MIB(512));
	printf("#   512 MiB VM, 512 MiB DIMMs: movable DIMMs\n");
	printf("#   reserve 0: %lu, 256 MiB: %lu, 512 MiB: %lu\n", r0, r256, r512);
	ktap_expect(r0 == 3, "reserve 0: 3 DIMMs (1536 <= 1541 MiB)");
	ktap_expect(r256 == 1, "reserve 256 MiB: 1 DIMM (512 <= 770 MiB)");
	ktap_expect(r512 == 0, "reserve all: no DIMM");

	/* A dynamic group still grows on its own KERNEL memory. */
	p.kernel_reserve = MHP_MIB(512);
	mhp_sim_init(&s, 32 + 16, p, 1);
	mhp_sim_boot(&s, 0, 0, 4, 0);
	gi = mhp_sim_group(&s, MHP_GROUP_DYNAMIC, 0, MHP_BLOCK);
	for (b = 32; b < 48; b++)
		mhp_sim_online(&s, b, 0, gi, NULL);
	mhp_sim_print(&s, 32, 48);
	for (b = 32; b < 48; b++)
		ktap_expect(mhp_sim_char(&s, b) == (b % 4 ? 'M' : 'N'),
			   "reserve all, virtio-mem block %lu: N M M M", b);
	mhp_sim_free(&s);
}

static void mhp_case_ratio_zero(void)
{
	struct mhp_policy_decision d;
	struct mhp_sim s;
	unsigned long b;
	int gi;

	mhp_ref_enabled = 1;
	mhp_sim_seed_vm(&s, 48 + 64, mhp_params(0, MHP_BLOCK));
	gi = mhp_sim_group(&s, MHP_GROUP_DYNAMIC, 0, MHP_BLOCK);
	for (b = 48; b < 80; b++)
		mhp_sim_online(&s, b, 0, gi, &d);
	ktap_expect(d.reason == MHP_REASON_RATIO_ZERO, "reason %s",
		   mhp_policy_reason_str(d.reason));
	mhp_sim_dimm(&s, 0, 80, 32);
	ktap_expect(mhp_sim_all(&s, 48, 112, MHP_SIM_KERNEL),
		   "ratio 0: virtio-mem and DIMM all Normal");
	ktap_expect(mhp_policy_group_need(0, MHP_GIB(1), 0) == 0,
		   "group need at ratio 0 does not divide by 0");
	mhp_sim_free(&s);
}

static void mhp_case_cma(void)
{
	struct mhp_sim s;
	int i, n = 0, gi;

	mhp_ref_enabled = 1;
	mhp_sim_seed_vm(&s, 48 + 8 * 8, mhp_params(301, MHP_BLOCK));
	s.cma[0] = MHP_GIB(2);
	for (i = 0; i < 8; i++) {
		gi = mhp_sim_dimm(&s, 0, 48 + i * 8, 8);
		n += s.grp[gi].movable == MHP_GIB(1);
	}
	printf("#   4 GiB VM with 2 GiB CMA, 1 GiB DIMMs: %d movable\n", n);
	/* Not 12 (CMA as KERNEL) nor 6 (CMA in neither): 2 + 4 <= 3.01 * 2. */
	ktap_expect(n == 4, "CMA counts as MOVABLE, not as KERNEL");
	mhp_sim_free(&s);
}

static void mhp_case_hotadded_kernel(void)
{
	struct mhp_sim s;
	unsigned long b;

	mhp_ref_enabled = 1;
	mhp_sim_init(&s, 32 + 40, mhp_params(301, MHP_BLOCK), 1);
	mhp_sim_boot(&s, 0, 0, 4, 0);
	for (b = 32; b < 72; b++)
		mhp_sim_online(&s, b, 0, -1, NULL);
	ktap_expect(mhp_sim_count(&s, 32, 72, MHP_SIM_MOVABLE) == 12,
		   "no group: 12 blocks Movable then Normal for good (got %lu)",
		   mhp_sim_count(&s, 32, 72, MHP_SIM_MOVABLE));
	ktap_expect(mhp_sim_all(&s, 44, 72, MHP_SIM_KERNEL),
		   "hot-added Normal does not allow more Movable");
	mhp_sim_free(&s);
}

static void mhp_case_ratio_runtime(void)
{
	struct mhp_policy_decision d;
	struct mhp_sim s;
	unsigned long b;
	int gi;

	mhp_ref_enabled = 1;
	mhp_sim_seed_vm(&s, 48 + 8, mhp_params(301, MHP_BLOCK));
	gi = mhp_sim_group(&s, MHP_GROUP_DYNAMIC, 0, MHP_BLOCK);
	for (b = 48; b < 52; b++)
		mhp_sim_online(&s, b, 0, gi, NULL);
	s.p.ratio = 0;
	mhp_sim_online(&s, 52, 0, gi, &d);
	ktap_expect(d.zone == MHP_ZONE_KERNEL && d.reason == MHP_REASON_RATIO_ZERO,
		   "ratio set to 0: next block Normal");
	s.p.ratio = 301;
	mhp_sim_online(&s, 53, 0, gi, &d);
	ktap_expect(d.zone == MHP_ZONE_MOVABLE, "ratio back to 301: Movable");
	s.p.ratio = 1;
	mhp_sim_online(&s, 54, 0, gi, &d);
	ktap_expect(d.zone == MHP_ZONE_KERNEL && d.reason == MHP_REASON_RATIO_GLOBAL,
		   "ratio 1: Normal (%s)", mhp_policy_reason_str(d.reason));
	mhp_sim_free(&s);
}

/* Granule follow rule: a started granule keeps its zone. */
static void mhp_case_granule_follow(void)
{
	struct mhp_policy_decision d;
	struct mhp_sim s;
	unsigned long b;

	mhp_ref_enabled = 0;
	/* 512 MiB VM: 1541 MiB allowance, one 1 GiB granule fits, two not. */
	mhp_sim_init(&s, 48, mhp_params(301, MHP_GIB(1)), 1);
	mhp_sim_boot(&s, 0, 0, 4, 0);
	for (b = 32; b < 48; b++)
		mhp_sim_online(&s, b, 0, -1, NULL);
	mhp_sim_print(&s, 32, 48);
	ktap_expect(mhp_sim_all(&s, 32, 40, MHP_SIM_MOVABLE),
		   "granule 4 GiB..5 GiB Movable");
	ktap_expect(mhp_sim_all(&s, 40, 48, MHP_SIM_KERNEL),
		   "granule 5 GiB..6 GiB Normal as a whole, not 4 of 8 Movable");

	/* A Movable granule whose rest no longer fits stops being Movable. */
	mhp_sim_offline(&s, 33);
	s.p.ratio = 100;
	mhp_sim_online(&s, 33, 0, -1, &d);
	ktap_expect(d.zone == MHP_ZONE_KERNEL && d.reason == MHP_REASON_RATIO_GLOBAL,
		   "ratio lowered: the rest of a Movable granule re-checked (%s)",
		   mhp_policy_reason_str(d.reason));
	mhp_sim_offline(&s, 34);
	mhp_sim_online(&s, 34, 0, -1, &d);
	ktap_expect(d.reason == MHP_REASON_SPAN_HAS_KERNEL,
		   "then the granule holds Normal: follows (%s)",
		   mhp_policy_reason_str(d.reason));
	mhp_sim_free(&s);
}

/* Random configurations: the pure function against the transliteration. */
static unsigned long mhp_rand_state = 0x2545f4914f6cdd1dUL;

static unsigned long mhp_rand(unsigned long n)
{
	mhp_rand_state ^= mhp_rand_state << 13;
	mhp_rand_state ^= mhp_rand_state >> 7;
	mhp_rand_state ^= mhp_rand_state << 17;
	return mhp_rand_state % n;
}

static void mhp_case_upstream_random(void)
{
	static const unsigned int ratios[] = { 1, 50, 100, 150, 301, 500, 1000 };
	unsigned long checked = mhp_ref_checked, bad = mhp_ref_mismatch;
	unsigned long b, next, n, unit, i, holes;
	struct mhp_policy_params p;
	struct mhp_sim s;
	int round, nodes, nid, gi, op;

	mhp_ref_enabled = 1;
	for (round = 0; round < 300; round++) {
		p = mhp_params(ratios[mhp_rand(7)], MHP_BLOCK);
		if (!mhp_rand(4))
			p.ratio = 1 + mhp_rand(2000);
		p.numa_aware = mhp_rand(2);
		nodes = 1 + mhp_rand(3);
		mhp_sim_init(&s, 4096, p, nodes);
		next = 0;
		for (nid = 0; nid < nodes; nid++) {
			n = 1 + mhp_rand(24);
			holes = mhp_rand(3) ? 0 : mhp_rand(MHP_MIB(2));
			mhp_sim_boot(&s, nid, next, n, holes);
			if (!mhp_rand(3))
				s.cma[nid] = mhp_rand(n * MHP_BLOCK / 2);
			next += n;
		}
		next = 32 * (1 + next / 32);
		for (op = 0; op < 40 && next < 4000 && s.nr_groups < 60; op++) {
			nid = mhp_rand(nodes);
			switch (mhp_rand(4)) {
			case 0:	/* a DIMM */
				n = 1 + mhp_rand(16);
				mhp_sim_dimm(&s, nid, next, n);
				next += n;
				break;
			case 1:	/* a virtio-mem device, units of 1, 2 or 4 blocks */
				unit = 1UL << mhp_rand(3);
				next += unit - next % unit;
				n = unit * (1 + mhp_rand(24));
				gi = mhp_sim_group(&s, MHP_GROUP_DYNAMIC, nid,
						   unit * MHP_BLOCK);
				for (b = next; b < next + n; b++)
					mhp_sim_online(&s, b, nid, gi, NULL);
				next += n;
				break;
			case 2:	/* blocks without a group */
				n = 1 + mhp_rand(8);
				for (b = next; b < next + n; b++)
					mhp_sim_online(&s, b, nid, -1, NULL);
				next += n;
				break;
			default: /* offline and re-online a few hot-added blocks */
				for (i = 0; i < 4 && next; i++) {
					b = mhp_rand(next);
					if (s.state[b] != MHP_SIM_KERNEL &&
					    s.state[b] != MHP_SIM_MOVABLE)
						continue;
					mhp_sim_offline(&s, b);
					if (mhp_rand(2))
						mhp_sim_online(&s, b, s.nid[b],
							       s.group[b], NULL);
				}
				if (!mhp_rand(4))
					s.p.ratio = ratios[mhp_rand(7)];
				break;
			}
		}
		mhp_sim_free(&s);
	}
	checked = mhp_ref_checked - checked;
	bad = mhp_ref_mismatch - bad;
	printf("#   300 random configurations: %lu decisions, %lu differ from the kernel's\n",
	       checked, bad);
	ktap_expect(checked > 10000, "enough decisions compared (%lu)", checked);
	ktap_expect(!bad, "granule = block decides as the kernel does");
}

/* 64 TiB in 128 MiB blocks: work per decision must not grow with size. */
static void mhp_case_constant_time(void)
{
	const unsigned long nr = MHP_GIB(64 * 1024) / MHP_BLOCK;	/* 2^19 */
	const unsigned long early = nr / 8;
	unsigned long small_work, big_work, b, mov;
	struct mhp_sim s;
	int gi;

	mhp_ref_enabled = 0;
	mhp_sim_seed_vmem(&s, 48 + 256, mhp_params(301, MHP_GIB(1)));
	small_work = s.max_work;
	mhp_sim_free(&s);

	mhp_sim_init(&s, nr, mhp_params(301, MHP_GIB(1)), 1);
	mhp_sim_boot(&s, 0, 0, early, 0);
	gi = mhp_sim_group(&s, MHP_GROUP_DYNAMIC, 0, MHP_BLOCK);
	for (b = early; b < nr; b++)
		mhp_sim_online(&s, b, 0, gi, NULL);
	big_work = s.max_work;
	mov = mhp_sim_count(&s, early, nr, MHP_SIM_MOVABLE);
	printf("#   64 TiB: %lu blocks, %lu hot-added, %lu Movable\n",
	       nr, nr - early, mov);
	printf("#   basic blocks per decision at most: %lu (64 TiB) %lu (4 GiB VM)\n",
	       big_work, small_work);
	ktap_expect(big_work && big_work <= small_work,
		   "64 TiB decides with no more work than 4 GiB");
	ktap_expect(big_work < 64, "a few dozen basic blocks per decision");
	ktap_expect(mov * 100 <= 301 * (early + (nr - early - mov)),
		   "the ratio holds at 64 TiB");
	mhp_sim_free(&s);
}

static void mhp_case_no_side_effects(void)
{
	struct mhp_policy_decision a1, a2, bd;
	struct mhp_policy_request ra, rb;
	struct mhp_sim s;

	mhp_ref_enabled = 0;
	/* The 12 GiB of the seed plugged: block 144 is the first Normal. */
	mhp_sim_seed_vmem(&s, 144, mhp_params(301, MHP_BLOCK));
	mhp_sim_request(&s, 143, 0, 0, &ra);
	ra.start_pfn += MHP_BLOCK;
	rb = ra;
	rb.global.movable -= MHP_GIB(1);
	rb.node.movable -= MHP_GIB(1);
	mhp_policy_decide(&s.p, &ra, &a1);
	mhp_policy_decide(&s.p, &rb, &bd);
	mhp_policy_decide(&s.p, &ra, &a2);
	ktap_expect(!memcmp(&a1, &a2, sizeof(a1)),
		   "same request, other request between: same decision");
	ktap_expect(a1.zone != bd.zone, "the two requests differ (%d %d)",
		   a1.zone, bd.zone);
	printf("#   %lu simulated decisions repeated: %lu differed\n",
	       mhp_decisions, mhp_pure_mismatch);
	ktap_expect(!mhp_pure_mismatch,
		   "every decision of the run repeated gave the same result");
	mhp_sim_free(&s);
}

static void mhp_case_params(void)
{
	static const struct {
		unsigned int ratio;
		unsigned long granule;
		bool valid;
	} t[] = {
		{ 301, MHP_GIB(1), true },
		{ 301, MHP_BLOCK, true },
		{ 0, MHP_BLOCK, true },
		{ MHP_POLICY_RATIO_MAX, MHP_GIB(16), true },
		{ MHP_POLICY_RATIO_MAX + 1, MHP_GIB(1), false },
		{ 301, 0, false },
		{ 301, MHP_MIB(64), false },
		{ 301, MHP_MIB(384), false },
		{ 301, MHP_MIB(129), false },
		{ 301, MHP_GIB(32), false },
	};
	struct mhp_policy_params p = mhp_params(301, MHP_GIB(1));
	const char *why;
	unsigned int i;
	bool ok;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		p.ratio = t[i].ratio;
		p.granule = t[i].granule;
		why = "unset";
		ok = mhp_policy_params_valid(&p, MHP_BLOCK, &why);
		if (!ok)
			printf("#   ratio %u granule %lu pages: %s\n", p.ratio,
			       p.granule, why);
		ktap_expect(ok == t[i].valid && (ok ? !why : why && *why),
			   "ratio %u granule %lu: valid %d expected %d",
			   p.ratio, p.granule, ok, t[i].valid);
	}
	ok = mhp_policy_params_valid(&p, MHP_MIB(96), &why);
	ktap_expect(!ok, "block size not a power of two refused");
}

static void mhp_case_reasons(void)
{
	int i, j;

	for (i = 0; i < MHP_REASON_NR; i++) {
		const char *s = mhp_policy_reason_str(i);

		ktap_expect(s && *s && strcmp(s, "unknown"),
			   "reason %d has a string", i);
		for (j = 0; j < i; j++)
			ktap_expect(strcmp(s, mhp_policy_reason_str(j)),
				   "reasons %d and %d differ", i, j);
	}
	ktap_expect(!strcmp(mhp_policy_reason_str(MHP_REASON_NR), "unknown"),
		   "out of range reason");
}

/* The span the caller walks: largest of block, unit and granule. */
static void mhp_case_span_pages(void)
{
	static const struct {
		enum mhp_group_kind kind;
		unsigned long unit, granule, span;
	} t[] = {
		{ MHP_GROUP_STATIC, 0, MHP_GIB(1), 0 },
		{ MHP_GROUP_NONE, 0, MHP_BLOCK, MHP_BLOCK },
		{ MHP_GROUP_NONE, 0, MHP_GIB(1), MHP_GIB(1) },
		{ MHP_GROUP_DYNAMIC, MHP_BLOCK, MHP_BLOCK, MHP_BLOCK },
		{ MHP_GROUP_DYNAMIC, 2 * MHP_BLOCK, MHP_BLOCK, 2 * MHP_BLOCK },
		{ MHP_GROUP_DYNAMIC, 2 * MHP_BLOCK, MHP_GIB(1), MHP_GIB(1) },
		{ MHP_GROUP_DYNAMIC, MHP_GIB(2), MHP_GIB(1), MHP_GIB(2) },
	};
	struct mhp_policy_params p = mhp_params(301, MHP_BLOCK);
	unsigned long got;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		p.granule = t[i].granule;
		got = mhp_policy_span_pages(&p, t[i].kind, t[i].unit, MHP_BLOCK);
		ktap_expect(got == t[i].span,
			   "kind %d unit %lu granule %lu: span %lu, expected %lu",
			   t[i].kind, t[i].unit, t[i].granule, got, t[i].span);
	}
}

static const struct ktap_case mhp_cases[] = {
	{ "params_validation", mhp_case_params },
	{ "reason_strings", mhp_case_reasons },
	{ "span_pages", mhp_case_span_pages },
	{ "seed_dimm_4g_vm_ratio_301", mhp_case_seed_dimm },
	{ "seed_virtio_mem_4g_vm_ratio_301", mhp_case_seed_vmem },
	{ "granule_1g_more_fully_movable_gib", mhp_case_granule_vmem },
	{ "granule_first_block_decides_rest_follows", mhp_case_granule_follow },
	{ "numa_aware_on_off", mhp_case_numa },
	{ "numa_reason_names_node", mhp_case_numa_reason },
	{ "kernel_reserve", mhp_case_reserve },
	{ "ratio_zero_never_movable", mhp_case_ratio_zero },
	{ "cma_counts_as_movable", mhp_case_cma },
	{ "hotadded_kernel_no_more_movable", mhp_case_hotadded_kernel },
	{ "ratio_change_next_block", mhp_case_ratio_runtime },
	{ "upstream_equal_random", mhp_case_upstream_random },
	{ "constant_work_64tib", mhp_case_constant_time },
	{ "no_side_effects", mhp_case_no_side_effects },
};

int main(void)
{
	return ktap_run(mhp_cases, ARRAY_SIZE(mhp_cases));
}
