// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of memmap-chains' graph analysis (bpf/graph.c, compiled
 * as is): hand-made graphs in the shapes the guest tests meet, built the
 * way the tool builds them (sysfs blocks, then BPF records, then missing
 * hosts), and what graph_analyse() and graph_chains() must make of them:
 * pinned blocks, why, chains, pins and blocked counts.
 *
 * Output is KTAP, "N passed, N failed" at the end, non-zero exit status on
 * a failure. MHP_TEST_BREAK adds one wrong expectation (make can-fail).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktap.h"
#include "graph.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MIB		(1ULL << 20)

/* A block sysfs lists: boot memory unless a record follows. */
static void sysfs_blk(struct mc_graph *g, unsigned int id, const char *zone)
{
	struct blk *b = graph_append(g, id);

	b->in_sysfs = true;
	strcpy(b->state, "online");
	strcpy(b->zone, zone);
}

/* A BPF record of hot-added block id (seq = order of adding). */
static struct mc_block record(unsigned int id, unsigned int seq)
{
	struct mc_block r = { .block = id, .seq = seq, .start = (__u64)id * 128 * MIB };

	return r;
}

static void edge(struct mc_block *r, unsigned int host, unsigned int kind,
		 unsigned long long bytes)
{
	r->edges[r->nr_edges++] = (struct mc_edge) {
		.host = host, .kind = kind, .bytes = bytes, .allocs = 1,
	};
}

/* The tool's order: sysfs blocks sorted, records, missing hosts, analysis. */
static void finish(struct mc_graph *g, struct mc_block *recs, size_t n)
{
	size_t sorted;

	graph_sort(g);
	sorted = g->nr;
	for (size_t i = 0; i < n; i++)
		ktap_expect(!graph_add_record(g, sorted, recs[i].block, &recs[i]),
		       "graph_add_record(%u)", recs[i].block);
	ktap_expect(!graph_add_hosts(g), "graph_add_hosts");
	ktap_expect(!graph_analyse(g), "graph_analyse");
}

static const char *why(const struct mc_graph *g, unsigned int id)
{
	const struct blk *b = graph_find(g, id);

	return b && b->why ? b->why : "-";
}

static int pinned(const struct mc_graph *g, unsigned int id)
{
	const struct blk *b = graph_find(g, id);

	return b && blk_pinned(b);
}

/*
 * Head placement (the seed): 8 boot blocks with Normal memory, 8 blocks
 * added one at a time, each one's memmap in the block added just before
 * it, the first one's in boot memory. One chain 15 -> 14 -> ... -> 8 -> 0.
 */
static void case_head_chain(void)
{
	struct mc_graph g = {};
	struct mc_block recs[8];
	struct blk **ch;
	size_t n;

	for (unsigned int i = 0; i < 8; i++)
		sysfs_blk(&g, i, "Normal");
	for (unsigned int i = 0; i < 8; i++) {
		sysfs_blk(&g, 8 + i, "Normal");
		recs[i] = record(8 + i, i + 1);
		edge(&recs[i], i ? 8 + i - 1 : 0, MC_KIND_MEMMAP, 2 * MIB);
	}
	finish(&g, recs, 8);
	for (unsigned int id = 8; id < 15; id++) {
		ktap_expect(pinned(&g, id), "block %u pinned", id);
		ktap_expect(!strcmp(why(&g, id), "fresh"), "block %u why %s, want fresh", id, why(&g, id));
	}
	ktap_expect(!pinned(&g, 15), "block 15 (the newest) not pinned");
	ktap_expect(pinned(&g, 0) && !strcmp(why(&g, 0), "boot"), "block 0: boot host");
	ktap_expect(graph_find(&g, 15)->nr_pins == 7, "15 pins %u blocks, want 7",
	       graph_find(&g, 15)->nr_pins);
	ktap_expect(graph_find(&g, 8)->nr_blocked == 7, "7 blocks before 8, got %u",
	       graph_find(&g, 8)->nr_blocked);
	ktap_expect(graph_find(&g, 8)->hosted[MC_KIND_MEMMAP] == 2 * MIB, "8 hosts 2 MiB of memmap");
	ch = graph_chains(&g, &n);
	ktap_expect(ch && n == 1, "one chain, got %zu", n);
	if (ch && n) {
		const struct blk *b = ch[0];
		unsigned int want = 15;

		ktap_expect(b->depth == 9, "chain length %d, want 9", b->depth);
		for (; b; b = b->next >= 0 ? &g.blks[b->next] : NULL, want--)
			ktap_expect(b->id == (want == 7 ? 0 : want), "chain has %u, want %u",
			       b->id, want == 7 ? 0 : want);
	}
	free(ch);
	graph_free(&g);
}

/*
 * Tail placement in a 1 GiB guest: boot memory has no ZONE_NORMAL, the
 * first hot-added block is the only Normal memory and takes every later
 * memmap: first-in-zone, and no chain longer than 2.
 */
static void case_first_in_zone(void)
{
	struct mc_graph g = {};
	struct mc_block recs[4];
	struct blk **ch;
	size_t n;

	for (unsigned int i = 0; i < 8; i++)
		sysfs_blk(&g, i, "DMA32");
	for (unsigned int i = 0; i < 4; i++) {
		sysfs_blk(&g, 32 + i, "Normal");
		recs[i] = record(32 + i, i + 1);
		if (i)
			edge(&recs[i], 32, MC_KIND_MEMMAP, 2 * MIB);
		else
			edge(&recs[i], 3, MC_KIND_MEMMAP, 2 * MIB);
	}
	finish(&g, recs, 4);
	ktap_expect(!strcmp(why(&g, 32), "first-in-zone"), "32 why %s", why(&g, 32));
	ktap_expect(graph_find(&g, 32)->nr_deps == 3, "32 hosts 3 blocks");
	for (unsigned int id = 33; id < 36; id++)
		ktap_expect(!pinned(&g, id), "block %u not pinned", id);
	ch = graph_chains(&g, &n);
	ktap_expect(ch && n == 3, "three chains (33, 34, 35 -> 32 -> 3), got %zu", n);
	for (size_t i = 0; ch && i < n; i++)
		ktap_expect(ch[i]->depth == 3 && ch[i]->id == 33 + i, "chain %zu: %u, length %d",
		       i, ch[i]->id, ch[i]->depth);
	free(ch);
	graph_free(&g);
}

/*
 * What pins without a dependent: later kernel allocations. An edge whose
 * pages were all freed again (bytes 0) pins nothing. Edges of one
 * dependent to one host count it once, bytes per kind add up.
 */
static void case_kernel_freed_dups(void)
{
	struct mc_graph g = {};
	struct mc_block recs[3];

	sysfs_blk(&g, 0, "Normal");
	for (unsigned int i = 0; i < 3; i++)
		sysfs_blk(&g, 40 + i, "Movable");
	recs[0] = record(40, 1);
	recs[0].kernel_bytes = 8192;
	recs[1] = record(41, 2);
	edge(&recs[1], 40, MC_KIND_MEMMAP, 0);
	recs[2] = record(42, 3);
	edge(&recs[2], 0, MC_KIND_MEMMAP, 2 * MIB);
	edge(&recs[2], 0, MC_KIND_PGTABLE, 4096);
	edge(&recs[2], 0, MC_KIND_OTHER, 64);
	finish(&g, recs, 3);
	ktap_expect(pinned(&g, 40) && !strcmp(why(&g, 40), "kernel"), "40: kernel, got %s",
	       why(&g, 40));
	ktap_expect(graph_find(&g, 40)->nr_deps == 0, "the freed edge is no dependent");
	ktap_expect(!pinned(&g, 41) && !pinned(&g, 42), "41 and 42 pin nothing");
	ktap_expect(graph_find(&g, 0)->nr_deps == 1, "0 has 1 dependent, got %u",
	       graph_find(&g, 0)->nr_deps);
	ktap_expect(graph_find(&g, 0)->hosted[MC_KIND_PGTABLE] == 4096 &&
	       graph_find(&g, 0)->hosted[MC_KIND_OTHER] == 64, "bytes per kind");
	graph_free(&g);
}

/*
 * Records of blocks sysfs does not list (being removed), and hosts that
 * are no block at all, still get a node each, in id order; a block in
 * sysfs but never traced stays boot memory.
 */
static void case_unknown_blocks(void)
{
	struct mc_graph g = {};
	struct mc_block recs[2];

	sysfs_blk(&g, 1, "Normal");
	sysfs_blk(&g, 50, "Movable");
	recs[0] = record(60, 1);
	edge(&recs[0], 55, MC_KIND_PGTABLE, 4096);
	recs[1] = record(50, 2);
	edge(&recs[1], 60, MC_KIND_MEMMAP, 2 * MIB);
	finish(&g, recs, 2);
	ktap_expect(g.nr == 4, "4 nodes, got %zu", g.nr);
	for (size_t i = 1; i < g.nr; i++)
		ktap_expect(g.blks[i - 1].id < g.blks[i].id, "sorted by id");
	ktap_expect(graph_find(&g, 60) && graph_find(&g, 60)->traced &&
	       !graph_find(&g, 60)->in_sysfs, "60: traced, not in sysfs");
	ktap_expect(graph_find(&g, 55) && !graph_find(&g, 55)->traced &&
	       !strcmp(graph_find(&g, 55)->state, "absent"), "55: a host node only");
	ktap_expect(graph_find(&g, 50)->nr_pins == 1, "50 pins 60 (traced) only, got %u",
	       graph_find(&g, 50)->nr_pins);
	ktap_expect(!strcmp(why(&g, 60), "fresh"), "60 added right before 50: %s", why(&g, 60));
	graph_free(&g);
}

static const struct ktap_case cases[] = {
	{ "graph_head_chain", case_head_chain },
	{ "graph_first_in_zone", case_first_in_zone },
	{ "graph_kernel_freed_dups", case_kernel_freed_dups },
	{ "graph_unknown_blocks", case_unknown_blocks },
};

int main(void)
{
	return ktap_run(cases, ARRAY_SIZE(cases));
}
