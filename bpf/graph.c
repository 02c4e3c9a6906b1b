// SPDX-License-Identifier: GPL-2.0
/* memmap-chains: the dependency graph and its analysis; see graph.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

struct blk *graph_append(struct mc_graph *g, unsigned int id)
{
	struct blk *b;

	if (g->nr == g->cap) {
		size_t n = g->cap ? g->cap * 2 : 256;
		struct blk *p = realloc(g->blks, n * sizeof(*p));

		if (!p)
			return NULL;
		g->blks = p;
		g->cap = n;
	}
	b = &g->blks[g->nr++];
	memset(b, 0, sizeof(*b));
	b->id = id;
	b->next = -1;
	strcpy(b->state, "absent");
	strcpy(b->zone, "none");
	b->offline_bytes = -1;
	return b;
}

static int blk_cmp(const void *a, const void *b)
{
	const struct blk *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

void graph_sort(struct mc_graph *g)
{
	if (g->nr)
		qsort(g->blks, g->nr, sizeof(*g->blks), blk_cmp);
}

struct blk *graph_find_in(const struct mc_graph *g, unsigned int id, size_t n)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (g->blks[mid].id == id)
			return &g->blks[mid];
		if (g->blks[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct blk *graph_find(const struct mc_graph *g, unsigned int id)
{
	return graph_find_in(g, id, g->nr);
}

/* Linear search among the unsorted tail [from, nr). */
static struct blk *graph_find_tail(const struct mc_graph *g, unsigned int id, size_t from)
{
	for (size_t i = from; i < g->nr; i++)
		if (g->blks[i].id == id)
			return &g->blks[i];
	return NULL;
}

int graph_add_record(struct mc_graph *g, size_t sorted, unsigned int id,
		     const struct mc_block *rec)
{
	struct blk *b = graph_find_in(g, id, sorted);

	if (!b)
		b = graph_find_tail(g, id, sorted);
	if (!b)
		b = graph_append(g, id);
	if (!b)
		return -ENOMEM;
	b->traced = true;
	b->rec = *rec;
	return 0;
}

int graph_add_hosts(struct mc_graph *g)
{
	size_t known = g->nr;

	graph_sort(g);
	for (size_t i = 0; i < known; i++) {
		const struct mc_block *r = &g->blks[i].rec;

		for (__u32 e = 0; e < r->nr_edges && e < MC_MAX_EDGES; e++) {
			unsigned int h = r->edges[e].host;

			if (graph_find_in(g, h, known) || graph_find_tail(g, h, known))
				continue;
			if (!graph_append(g, h))
				return -ENOMEM;
			/* The append may have moved the array: r is stale. */
			r = &g->blks[i].rec;
		}
	}
	graph_sort(g);
	return 0;
}

const struct mc_edge *edge_next(const struct blk *b, const struct mc_edge *e)
{
	unsigned int n = b->rec.nr_edges < MC_MAX_EDGES ? b->rec.nr_edges : MC_MAX_EDGES;

	for (e = e ? e + 1 : b->rec.edges; e < b->rec.edges + n; e++)
		if (edge_live(e))
			return e;
	return NULL;
}

const char *kind_name(__u32 kind)
{
	static const char * const names[] = { "memmap", "pgtable", "other" };

	return kind < MC_NR_KINDS ? names[kind] : "other";
}

/* Traced blocks by the order they were added: hosts are always older. */
static int seq_cmp(const void *a, const void *b)
{
	const struct blk *x = *(struct blk * const *)a, *y = *(struct blk * const *)b;

	return x->rec.seq < y->rec.seq ? -1 : x->rec.seq > y->rec.seq;
}

/*
 * Longest host path below every block, in blocks: 1 + the longest of its
 * hosts, computed oldest first (no recursion: chains can be long). order
 * has room for every block.
 */
static void longest_paths(struct mc_graph *g, struct blk **order)
{
	size_t n = 0;

	for (size_t i = 0; i < g->nr; i++) {
		g->blks[i].depth = 1;
		if (g->blks[i].traced)
			order[n++] = &g->blks[i];
	}
	qsort(order, n, sizeof(*order), seq_cmp);
	for (size_t k = 0; k < n; k++) {
		struct blk *b = order[k];

		for (const struct mc_edge *e = edge_next(b, NULL); e; e = edge_next(b, e)) {
			struct blk *h = graph_find(g, e->host);
			int d;

			if (!h || h == b)
				continue;
			d = 1 + h->depth;
			if (d > b->depth || (d == b->depth && e->kind == MC_KIND_MEMMAP)) {
				b->depth = d;
				b->next = h - g->blks;
			}
		}
	}
}

/*
 * Hot-added (traced) blocks that cannot be removed while b is present: its
 * hosts, transitively (explicit stack; mark[] keeps each block once). Each
 * reached block also learns that b is one more block that must go first.
 */
static unsigned int count_pins(struct mc_graph *g, struct blk *b, unsigned char *mark,
			       size_t *stack)
{
	unsigned int n = 0;
	size_t top = 0;

	memset(mark, 0, g->nr);
	stack[top++] = b - g->blks;
	mark[b - g->blks] = 1;
	while (top) {
		struct blk *c = &g->blks[stack[--top]];

		for (const struct mc_edge *e = edge_next(c, NULL); e; e = edge_next(c, e)) {
			struct blk *h = graph_find(g, e->host);

			if (!h || mark[h - g->blks])
				continue;
			mark[h - g->blks] = 1;
			h->nr_blocked++;
			n += h->traced;
			stack[top++] = h - g->blks;
		}
	}
	return n;
}

static struct blk *first_added_in_zone(const struct mc_graph *g, const char *zone)
{
	struct blk *best = NULL;

	for (size_t i = 0; i < g->nr; i++) {
		struct blk *b = &g->blks[i];

		if (b->traced && !strcmp(b->zone, zone) && (!best || b->rec.seq < best->rec.seq))
			best = b;
	}
	return best;
}

static bool boot_has_zone(const struct mc_graph *g, const char *zone)
{
	for (size_t i = 0; i < g->nr; i++)
		if (g->blks[i].in_sysfs && !g->blks[i].traced && !strcmp(g->blks[i].zone, zone))
			return true;
	return false;
}

/* Was h onlined one of the two blocks right before a block it hosts? */
static bool hosts_next_added(const struct mc_graph *g, const struct blk *h)
{
	for (size_t i = 0; i < g->nr; i++) {
		const struct blk *d = &g->blks[i];

		for (const struct mc_edge *e = edge_next(d, NULL); e; e = edge_next(d, e))
			if (e->host == h->id && d != h && d->rec.seq > h->rec.seq &&
			    d->rec.seq <= h->rec.seq + 2)
				return true;
	}
	return false;
}

/*
 * Why a block hosts others' metadata. "first-in-zone": it is the first
 * hot-added block of a zone that boot memory does not have, so the kernel
 * allocations of later hot-adds had nowhere else to go in that zone (the
 * zone layout forces it). "fresh": it was one of the two blocks onlined
 * right before a dependent and its pages were handed out first (freelist
 * head placement; a 2 MiB memmap takes half of a 4 MiB buddy, the next one
 * the other half, so every other block ends up hosting). "allocator":
 * anything else.
 */
static void classify_why(const struct mc_graph *g, struct blk *h)
{
	if (!h->nr_deps && h->rec.kernel_bytes) {
		h->why = "kernel";
		h->why_text = "unmovable kernel allocations made after it was onlined";
	} else if (!h->traced) {
		h->why = "boot";
		h->why_text = "boot memory (never hot-removable)";
	} else if (first_added_in_zone(g, h->zone) == h && strcmp(h->zone, "none") &&
		   !boot_has_zone(g, h->zone)) {
		h->why = "first-in-zone";
		h->why_text = "first hot-added block of a zone boot memory lacks: "
			      "the only memory of that zone for the next hot-add";
	} else if (hosts_next_added(g, h)) {
		h->why = "fresh";
		h->why_text = "onlined just before its dependent; its fresh "
			      "pages were handed out first (head placement)";
	} else {
		h->why = "allocator";
		h->why_text = "page allocator chose it among other free memory";
	}
}

/* Per host: bytes held per kind, and distinct dependents. */
static void count_hosted(struct mc_graph *g)
{
	for (size_t i = 0; i < g->nr; i++) {
		struct blk *d = &g->blks[i];
		unsigned int seen[MC_MAX_EDGES], nseen = 0;

		for (const struct mc_edge *e = edge_next(d, NULL); e; e = edge_next(d, e)) {
			struct blk *h = graph_find(g, e->host);
			bool dup = false;

			if (!h || h == d)
				continue;
			if (e->kind < MC_NR_KINDS)
				h->hosted[e->kind] += e->bytes;
			for (unsigned int k = 0; k < nseen; k++)
				dup |= seen[k] == h->id;
			if (!dup) {
				seen[nseen++] = h->id;
				h->nr_deps++;
			}
		}
	}
}

int graph_analyse(struct mc_graph *g)
{
	size_t n = g->nr ? g->nr : 1;
	struct blk **order = calloc(n, sizeof(*order));
	size_t *stack = calloc(n, sizeof(*stack));
	unsigned char *mark = calloc(n, 1);
	int err = 0;

	if (!order || !stack || !mark) {
		err = -ENOMEM;
		goto out;
	}
	count_hosted(g);
	longest_paths(g, order);
	for (size_t i = 0; i < g->nr; i++)
		if (g->blks[i].traced)
			g->blks[i].nr_pins = count_pins(g, &g->blks[i], mark, stack);
	for (size_t i = 0; i < g->nr; i++)
		if (blk_pinned(&g->blks[i]))
			classify_why(g, &g->blks[i]);
out:
	free(order);
	free(stack);
	free(mark);
	return err;
}

/* Longest first, then by id. */
static int chain_cmp(const void *a, const void *b)
{
	const struct blk *x = *(struct blk * const *)a, *y = *(struct blk * const *)b;

	if (x->depth != y->depth)
		return y->depth - x->depth;
	return x->id < y->id ? -1 : x->id > y->id;
}

struct blk **graph_chains(const struct mc_graph *g, size_t *n)
{
	struct blk **v = calloc(g->nr ? g->nr : 1, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < g->nr; i++)
		if (g->blks[i].depth > 1 && !g->blks[i].nr_deps)
			v[(*n)++] = &g->blks[i];
	qsort(v, *n, sizeof(*v), chain_cmp);
	return v;
}

void graph_free(struct mc_graph *g)
{
	free(g->blks);
	g->blks = NULL;
	g->nr = 0;
	g->cap = 0;
}
