// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of mhp-status's judgement (bpf/status.c, compiled as is)
 * on made-up machines: boot memory is never removable, offline and
 * ZONE_MOVABLE blocks always are, a kernel-zone block by mhp_online's
 * census or else by its kpageflags, a DIMM whole or not at all, a
 * virtio-mem device less its sub-blocks holding kernel memory (at least
 * one when the census saw something), nothing of it with
 * virtio_mem.unplug_online=N; and the page counts from kpageflags values.
 *
 * Output is KTAP, "N passed, N failed" at the end, non-zero exit status on
 * a failure. MHP_TEST_BREAK adds one wrong expectation (make can-fail).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktap.h"
#include "status.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define BS		(128ULL << 20)
#define PAGES		(BS / MS_PAGE)
#define MIB(x)		((unsigned long long)(x) << 20)

static struct ms_block blocks[16];

/* A machine of 128 MiB blocks: boot, one DIMM of two blocks, a virtio-mem device. */
static void machine(struct ms_state *st)
{
	memset(st, 0, sizeof(*st));
	memset(blocks, 0, sizeof(blocks));
	st->set.block_size = BS;
	st->set.module_loaded = true;
	snprintf(st->set.unplug_online, sizeof(st->set.unplug_online), "Y");
	st->devs[0].kind = MS_DEV_BOOT;
	st->devs[1].kind = MS_DEV_DIMM;
	snprintf(st->devs[1].name, sizeof(st->devs[1].name), "PNP0C80:00");
	st->devs[2].kind = MS_DEV_VMEM;
	snprintf(st->devs[2].name, sizeof(st->devs[2].name), "virtio0");
	st->nr_devs = 3;
	st->blocks = blocks;
}

/* add BLOCK DEV STATE ZONE UNMOVABLE (-1: no census) */
static struct ms_block *add(struct ms_state *st, unsigned long id, int dev, const char *state,
			    const char *zone, long unmovable)
{
	struct ms_block *b = &blocks[st->nr_blocks++];

	b->id = id;
	b->dev = dev;
	snprintf(b->state, sizeof(b->state), "%s", state);
	snprintf(b->zone, sizeof(b->zone), "%s", zone);
	b->mod_seen = unmovable >= 0;
	b->pages_unmovable = unmovable;
	b->pages_offline = unmovable >= 0 ? 0 : -1;
	return b;
}

static void case_blocks(void)
{
	struct ms_state st;

	machine(&st);
	add(&st, 0, 0, "online", "DMA32", -1);
	add(&st, 32, 1, "online", "Movable", 5);	/* pages in transit: still movable */
	add(&st, 33, 1, "offline", "-", -1);
	ms_judge_devices(&st);
	ktap_expect(blocks[0].removable == MS_REM_NO && !strcmp(blocks[0].why, "boot memory"),
		    "boot: %s", blocks[0].why);
	ktap_expect(blocks[1].removable == MS_REM_YES && blocks[1].removable_bytes == BS,
		    "movable: %s %llu", ms_removable_str[blocks[1].removable], blocks[1].removable_bytes);
	ktap_expect(blocks[2].removable == MS_REM_YES && blocks[2].removable_bytes == BS,
		    "offline: %s", ms_removable_str[blocks[2].removable]);
	ktap_expect(st.devs[1].removable == 2 * BS && !st.devs[1].why[0],
		    "the DIMM whole: %llu", st.devs[1].removable);
	ktap_expect(ms_total(&st, true) == 2 * BS && ms_total(&st, false) == 2 * BS,
		    "totals leave boot memory out: %llu", ms_total(&st, true));
}

static void case_dimm_whole_or_nothing(void)
{
	struct ms_state st;
	struct ms_block *b;

	machine(&st);
	add(&st, 32, 1, "online", "Normal", 0);
	b = add(&st, 33, 1, "online", "Normal", 3);
	b->kpf_read = true;
	b->slab = 2;
	b->other = 1;
	ms_judge_devices(&st);
	ktap_expect(blocks[0].removable == MS_REM_YES, "clean block: yes");
	ktap_expect(b->removable == MS_REM_NO && strstr(b->why, "2 slab"), "stuck: %s", b->why);
	ktap_expect(st.devs[1].removable == 0 && strstr(st.devs[1].why, "block 33"),
		    "DIMM with one stuck block: %llu, why '%s'", st.devs[1].removable, st.devs[1].why);
	ktap_expect(st.devs[1].plugged == 2 * BS, "plugged: %llu", st.devs[1].plugged);
}

static void case_no_census(void)
{
	struct ms_state st;
	struct ms_block *a, *b;

	machine(&st);
	st.set.module_loaded = false;
	a = add(&st, 32, 1, "online", "Normal", -1);
	a->kpf_read = true;
	a->pgtable = 1;
	b = add(&st, 33, 1, "online", "Normal", -1);
	b->kpf_read = true;
	ms_judge_devices(&st);
	ktap_expect(a->removable == MS_REM_NO, "page tables by kpageflags: no");
	ktap_expect(b->removable == MS_REM_UNKNOWN && strstr(b->why, "not loaded"),
		    "nothing seen, no census: %s %s", ms_removable_str[b->removable], b->why);
	ktap_expect(st.devs[1].removable == 0, "a DIMM with an unknown block is not counted");
}

/* The module is loaded and knows the block, but its census was busy (-1). */
static void case_census_busy(void)
{
	struct ms_state st;
	struct ms_block *a, *b;

	machine(&st);
	a = add(&st, 32, 1, "online", "Normal", -1);
	a->mod_seen = true;
	b = add(&st, 33, 1, "online", "Normal", -1);
	ms_judge_devices(&st);
	ktap_expect(a->removable == MS_REM_UNKNOWN && strstr(a->why, "hotplug lock"),
		    "census busy: %s %s", ms_removable_str[a->removable], a->why);
	ktap_expect(b->removable == MS_REM_UNKNOWN && strstr(b->why, "before mhp_online"),
		    "not seen by the module: %s", b->why);
	ktap_expect(st.devs[1].removable == 0, "not counted: %llu", st.devs[1].removable);
}

static void case_virtio_mem(void)
{
	struct ms_state st;
	struct ms_block *a, *b, *c;

	machine(&st);
	a = add(&st, 40, 2, "online", "Normal", 10);
	a->pages_offline = PAGES / 4;			/* 32 MiB not plugged */
	a->kpf_read = true;
	a->slab = 10;
	a->stuck_subblocks = 3;
	b = add(&st, 41, 2, "online", "Normal", 1);	/* a reserved page: flags say nothing */
	b->kpf_read = true;
	c = add(&st, 42, 2, "online", "Normal", 0);
	ms_judge_devices(&st);
	ktap_expect(a->plugged == MIB(96) && a->removable_bytes == MIB(90),
		    "96 MiB plugged less 3 sub-blocks: %llu", a->removable_bytes >> 20);
	ktap_expect(b->removable_bytes == BS - MIB(2), "at least one sub-block stays: %llu",
		    b->removable_bytes >> 20);
	ktap_expect(c->removable_bytes == BS, "clean block whole");
	ktap_expect(st.devs[2].removable == MIB(90) + BS - MIB(2) + BS &&
		    st.devs[2].plugged == MIB(96) + 2 * BS, "device sums: %llu of %llu MiB",
		    st.devs[2].removable >> 20, st.devs[2].plugged >> 20);

	machine(&st);
	snprintf(st.set.unplug_online, sizeof(st.set.unplug_online), "N");
	c = add(&st, 42, 2, "online", "Normal", 0);
	ms_judge_devices(&st);
	ktap_expect(c->removable_bytes == 0 && strstr(c->why, "unplug_online=N"),
		    "unplug_online=N: %llu, %s", c->removable_bytes, c->why);
}

static void case_count_pages(void)
{
	__u64 *v = calloc(PAGES, sizeof(*v));
	struct ms_block b = { 0 };
	unsigned long long i;

	if (!v) {
		ktap_expect(0, "out of memory");
		return;
	}
	for (i = 0; i < PAGES; i++)
		v[i] = 1ULL << KPF_BUDDY;			/* free */
	v[0] = 1ULL << KPF_SLAB;				/* sub-block 0 */
	v[1] = 0;						/* kernel, no flag: same sub-block */
	v[512] = 1ULL << KPF_PGTABLE;				/* sub-block 1 */
	v[1024] = (1ULL << KPF_LRU) | (1ULL << KPF_ANON);	/* movable */
	v[1025] = 1ULL << KPF_THP;				/* movable */
	v[2048] = 1ULL << KPF_OFFLINE;				/* unplugged */
	v[4096] = 1ULL << KPF_SLAB;				/* sub-block 8 */
	ms_count_pages(v, PAGES, &b);
	ktap_expect(b.kpf_read && b.slab == 2 && b.pgtable == 1 && b.other == 1 && b.offline == 1,
		    "slab %lu pgtable %lu other %lu offline %lu", b.slab, b.pgtable, b.other,
		    b.offline);
	ktap_expect(b.stuck_subblocks == 3, "stuck sub-blocks %lu, want 3", b.stuck_subblocks);
	free(v);
}

static const struct ktap_case cases[] = {
	{ "status_blocks", case_blocks },
	{ "status_dimm_whole_or_nothing", case_dimm_whole_or_nothing },
	{ "status_no_census", case_no_census },
	{ "status_census_busy", case_census_busy },
	{ "status_virtio_mem", case_virtio_mem },
	{ "status_count_pages", case_count_pages },
};

int main(void)
{
	return ktap_run(cases, ARRAY_SIZE(cases));
}
