/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memmap-chains: the dependency graph of memory blocks and its analysis.
 *
 * A graph holds one struct blk per memory block: what sysfs says about it
 * (state, zone, PageOffline pages), the BPF record of a block added while
 * the tracer ran (its edges "host block -> this block", kernel_bytes), and
 * what graph_analyse() derives: which blocks each block pins, the longest
 * chain of hosts below it, and why a hot-added block became a host. These
 * are pure functions over the graph passed in: no I/O and no global state,
 * so the host tests (graph_test.c) feed them hand-made graphs.
 *
 * Blocks are kept sorted by id (graph_sort()); indexes (blk.next) refer to
 * that order.
 */
#ifndef __GRAPH_H
#define __GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "memmap-chains.h"

/* One memory block as the report sees it: sysfs facts plus the BPF record. */
struct blk {
	unsigned int id;
	bool in_sysfs;
	bool traced;		/* has a record: added while the tracer ran */
	char state[24];
	char zone[24];
	long long offline_bytes;	/* in PageOffline pages if online, else -1 */
	struct mc_block rec;
	/* derived by graph_analyse() */
	unsigned int nr_deps;	/* distinct dependent blocks hosted here */
	unsigned long long hosted[MC_NR_KINDS];	/* bytes held for other blocks */
	int depth;		/* longest host path below this block, in blocks */
	int next;		/* host on that path (index), -1 if none */
	unsigned int nr_pins;	/* distinct hot-added blocks it pins transitively */
	unsigned int nr_blocked;	/* blocks that must go before it (transitively) */
	const char *why;	/* why it hosts (classify_why()), NULL if it does not */
	const char *why_text;
};

struct mc_graph {
	struct blk *blks;
	size_t nr, cap;
};

/* A new block at the end (unsorted until graph_sort()); NULL if out of memory. */
struct blk *graph_append(struct mc_graph *g, unsigned int id);
void graph_sort(struct mc_graph *g);
/* Binary search among the first n blocks, which must be sorted. */
struct blk *graph_find_in(const struct mc_graph *g, unsigned int id, size_t n);
struct blk *graph_find(const struct mc_graph *g, unsigned int id);
/*
 * The BPF record of block id: onto its block, appended if sysfs did not
 * list it (being removed, or a ZONE_DEVICE range). The first "sorted"
 * blocks are sorted by id. -ENOMEM or 0.
 */
int graph_add_record(struct mc_graph *g, size_t sorted, unsigned int id,
		     const struct mc_block *rec);
/* A node for every host that is no block of the graph; sorts. -ENOMEM or 0. */
int graph_add_hosts(struct mc_graph *g);
/* Derive nr_deps, hosted, depth/next, nr_pins, nr_blocked, why. -ENOMEM or 0. */
int graph_analyse(struct mc_graph *g);
/*
 * Chains: blocks that something depends on and nothing else depends on,
 * longest first; a calloc'ed array of *n pointers (NULL if out of memory).
 */
struct blk **graph_chains(const struct mc_graph *g, size_t *n);
void graph_free(struct mc_graph *g);

/* Cannot be offlined: holds metadata of another block or later kernel pages. */
static inline bool blk_pinned(const struct blk *b)
{
	return b->nr_deps || (long long)b->rec.kernel_bytes > 0;
}

/* An edge whose pages were not all freed again. */
static inline bool edge_live(const struct mc_edge *e)
{
	return (long long)e->bytes > 0;
}

/*
 * The live edges of b, in record order, or NULL after the last:
 * for (e = edge_next(b, NULL); e; e = edge_next(b, e)).
 */
const struct mc_edge *edge_next(const struct blk *b, const struct mc_edge *e);
const char *kind_name(__u32 kind);

#endif /* __GRAPH_H */
