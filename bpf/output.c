// SPDX-License-Identifier: GPL-2.0
/*
 * memmap-chains: the report of an analysed graph as text, JSON (schema in
 * memmap-chains.schema.json, through json_writer.c) or DOT. Everything
 * printed comes in through struct mc_report.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "json_writer.h"
#include "output.h"

unsigned long long dropped_total(const struct mc_counts *c)
{
	return c->stats[MC_STAT_DROPPED_BLOCKS] + c->stats[MC_STAT_DROPPED_EDGES] +
	       c->stats[MC_STAT_DROPPED_PAGES] + c->stats[MC_STAT_DROPPED_THREADS];
}

const char *human(unsigned long long v, char *buf, size_t len)
{
	static const char * const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	double d = v;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", d, units[u]);
	return buf;
}

void print_text(FILE *f, const struct mc_report *r)
{
	const struct mc_graph *g = r->g;
	const struct mc_counts *st = r->counts;
	unsigned long long block_size = r->block_size;
	size_t nchains, nedges = 0, npinned = 0, ntraced = 0, npartial = 0;
	unsigned long long kinds[MC_NR_KINDS] = {}, offline = 0;
	struct blk **ch = graph_chains(g, &nchains);
	char b1[32], b2[32], b3[32];

	for (size_t i = 0; i < g->nr; i++) {
		ntraced += g->blks[i].traced;
		npinned += g->blks[i].traced && blk_pinned(&g->blks[i]);
		if (g->blks[i].offline_bytes > 0) {
			npartial++;
			offline += g->blks[i].offline_bytes;
		}
		for (const struct mc_edge *e = edge_next(&g->blks[i], NULL); e;
		     e = edge_next(&g->blks[i], e)) {
			nedges++;
			kinds[e->kind < MC_NR_KINDS ? e->kind : MC_KIND_OTHER]++;
		}
	}
	fprintf(f, "memory blocks: %zu (block size %s), traced %zu, pinned hot-added %zu, "
		"edges %zu (memmap %llu, pgtable %llu, other %llu), mode %s\n",
		g->nr, human(block_size, b1, sizeof(b1)), ntraced, npinned, nedges,
		kinds[0], kinds[1], kinds[2], r->mode);
	if (dropped_total(st))
		fprintf(f, "warning: maps full, records dropped: blocks %llu, edges %llu, pages %llu, threads %llu\n",
			(unsigned long long)st->stats[MC_STAT_DROPPED_BLOCKS],
			(unsigned long long)st->stats[MC_STAT_DROPPED_EDGES],
			(unsigned long long)st->stats[MC_STAT_DROPPED_PAGES],
			(unsigned long long)st->stats[MC_STAT_DROPPED_THREADS]);

	if (npartial) {
		fprintf(f, "partly plugged online blocks (PageOffline pages: not plugged by virtio-mem, "
			"or held by a balloon): %zu, %s offline in all:", npartial,
			human(offline, b1, sizeof(b1)));
		for (size_t i = 0; i < g->nr; i++)
			if (g->blks[i].offline_bytes > 0)
				fprintf(f, " %u (%s plugged)", g->blks[i].id,
					human(block_size - g->blks[i].offline_bytes,
					      b1, sizeof(b1)));
		fputc('\n', f);
	}
	if (st->missed[MC_HOOK_ALLOC] > 0 || st->missed[MC_HOOK_FREE] > 0)
		fprintf(f, "warning: page events missed (nested in interrupts): allocations %lld, "
			"frees %lld; pinned blocks may be incomplete\n",
			st->missed[MC_HOOK_ALLOC], st->missed[MC_HOOK_FREE]);

	fprintf(f, "\nchains (longest first; a block cannot go before the blocks left of it):\n");
	if (!nchains)
		fprintf(f, "  none\n");
	for (size_t c = 0; ch && c < nchains && (int)c < r->max_chains; c++) {
		struct blk *b = ch[c];

		fprintf(f, "  #%zu %d blocks, pins %u hot-added blocks (%s): ", c + 1, b->depth,
			b->nr_pins,
			human((unsigned long long)b->nr_pins * block_size, b1, sizeof(b1)));
		for (; b; b = b->next >= 0 ? &g->blks[b->next] : NULL)
			fprintf(f, "%u%s%s", b->id, b->traced ? "" : "(boot)",
				b->next >= 0 ? " -> " : "\n");
	}
	if (ch && nchains > (size_t)r->max_chains)
		fprintf(f, "  ... %zu more (--max-chains)\n", nchains - r->max_chains);

	fprintf(f, "\ndependencies (dependent block pins host block):\n");
	for (size_t i = 0; i < g->nr; i++) {
		struct blk *d = &g->blks[i];
		bool any = false;

		for (const struct mc_edge *e = edge_next(d, NULL); e; e = edge_next(d, e)) {
			if (e->host == d->id)
				continue;
			if (!any)
				fprintf(f, "  %u [%s %s]%s pins", d->id, d->zone, d->state,
					d->rec.flags & MC_BLK_MEMMAP_ON_MEMORY ?
					" memmap_on_memory" : "");
			fprintf(f, "%s %u (%s %s)", any ? "," : "", e->host, kind_name(e->kind),
				human(e->bytes, b1, sizeof(b1)));
			any = true;
		}
		if (any)
			fputc('\n', f);
		else if (d->traced && d->rec.flags & MC_BLK_MEMMAP_ON_MEMORY)
			fprintf(f, "  %u [%s %s] memmap_on_memory: memmap %s inside itself, no memmap edge\n",
				d->id, d->zone, d->state,
				human(d->rec.altmap_bytes, b1, sizeof(b1)));
	}

	fprintf(f, "\npinned blocks (hold metadata of other present blocks or later kernel pages):\n");
	for (size_t i = 0; i < g->nr; i++) {
		struct blk *h = &g->blks[i];

		if (!blk_pinned(h))
			continue;
		fprintf(f, "  %u [%s %s] for %u blocks (%u transitively): memmap %s, pgtable %s, "
			"other %s", h->id, h->zone, h->state, h->nr_deps, h->nr_blocked,
			human(h->hosted[0], b1, sizeof(b1)), human(h->hosted[1], b2, sizeof(b2)),
			human(h->hosted[2], b3, sizeof(b3)));
		if ((long long)h->rec.kernel_bytes > 0)
			fprintf(f, ", later kernel allocations %s",
				human(h->rec.kernel_bytes, b1, sizeof(b1)));
		fprintf(f, "; why: %s (%s)\n", h->why, h->why_text);
	}
	free(ch);
}

/* One block of blocks[] (schema: bpf/memmap-chains.schema.json). */
static void json_block(struct json_writer *w, const struct blk *b, unsigned long long block_size)
{
	long long kernel = (long long)b->rec.kernel_bytes;

	jw_start_object(w);
	jw_uint_field(w, "id", b->id);
	jw_uint_field(w, "start", (unsigned long long)b->id * block_size);
	jw_string_field(w, "state", b->state);
	jw_string_field(w, "zone", b->zone);
	jw_key(w, "offline_bytes");
	if (b->offline_bytes >= 0)
		jw_uint(w, b->offline_bytes);
	else
		jw_null(w);
	jw_key(w, "plugged_bytes");
	if (b->offline_bytes >= 0)
		jw_uint(w, block_size - b->offline_bytes);
	else
		jw_null(w);
	jw_bool_field(w, "hotadded", b->traced);
	jw_uint_field(w, "seq", b->rec.seq);
	jw_int_field(w, "node", b->traced ? b->rec.nid : -1);
	jw_bool_field(w, "memmap_on_memory", b->rec.flags & MC_BLK_MEMMAP_ON_MEMORY);
	jw_uint_field(w, "altmap_bytes", b->rec.altmap_bytes);
	jw_uint_field(w, "self_bytes",
		      b->rec.self_bytes[0] + b->rec.self_bytes[1] + b->rec.self_bytes[2]);
	jw_key(w, "hosted_bytes");
	jw_start_object(w);
	for (int k = 0; k < MC_NR_KINDS; k++)
		jw_uint_field(w, kind_name(k), b->hosted[k]);
	jw_end_object(w);
	/* Kept as a signed sum of allocations and frees: below 0 reads as 0. */
	jw_uint_field(w, "kernel_bytes", kernel > 0 ? (unsigned long long)kernel : 0);
	jw_uint_field(w, "dependents", b->nr_deps);
	jw_uint_field(w, "blocked_by", b->nr_blocked);
	jw_bool_field(w, "pinned", blk_pinned(b));
	jw_uint_field(w, "pins_blocks", b->nr_pins);
	jw_uint_field(w, "pins_bytes", (unsigned long long)b->nr_pins * block_size);
	jw_int_field(w, "chain_length", b->depth);
	jw_string_field(w, "why", b->why);
	jw_end_object(w);
}

void print_json(FILE *f, const struct mc_report *r)
{
	const struct mc_graph *g = r->g;
	const struct mc_counts *st = r->counts;
	unsigned long long block_size = r->block_size;
	static const char * const stat_names[MC_NR_STATS] = {
		"adds", "removes", "allocs", "frees", "kernel_allocs", "dropped_blocks", "dropped_edges",
		"dropped_pages", "dropped_events", "dropped_threads", "seq", "bulk_pages",
		"online_allocs", "nested_allocs", "nested_frees",
	};
	static const char * const missed_names[MC_NR_HOOKS] = { "missed_allocs", "missed_frees" };
	struct json_writer w;
	struct utsname u;
	size_t nchains;
	struct blk **ch = graph_chains(g, &nchains);

	uname(&u);
	/* One line per top-level key and per element of the top-level arrays. */
	jw_init(&w, f, 2);
	jw_start_object(&w);
	jw_uint_field(&w, "version", 1);
	jw_string_field(&w, "tool", "memmap-chains");
	jw_string_field(&w, "kernel", u.release);
	jw_string_field(&w, "mode", r->mode);
	jw_uint_field(&w, "block_size", block_size);
	jw_uint_field(&w, "max_blocks", st->max_blocks);
	jw_bool_field(&w, "maps_full", dropped_total(st));
	jw_key(&w, "stats");
	jw_start_object(&w);
	for (int k = 0; k < MC_NR_STATS; k++)
		jw_uint_field(&w, stat_names[k], st->stats[k]);
	for (int h = 0; h < MC_NR_HOOKS; h++) {
		jw_key(&w, missed_names[h]);
		if (st->missed[h] < 0)
			jw_null(&w);
		else
			jw_int(&w, st->missed[h]);
	}
	jw_end_object(&w);

	jw_key(&w, "blocks");
	jw_start_array(&w);
	for (size_t i = 0; i < g->nr; i++)
		json_block(&w, &g->blks[i], block_size);
	jw_end_array(&w);

	jw_key(&w, "edges");
	jw_start_array(&w);
	for (size_t i = 0; i < g->nr; i++) {
		for (const struct mc_edge *e = edge_next(&g->blks[i], NULL); e;
		     e = edge_next(&g->blks[i], e)) {
			if (e->host == g->blks[i].id)
				continue;
			jw_start_object(&w);
			jw_uint_field(&w, "host", e->host);
			jw_uint_field(&w, "dep", g->blks[i].id);
			jw_string_field(&w, "kind", kind_name(e->kind));
			jw_uint_field(&w, "bytes", e->bytes);
			jw_uint_field(&w, "allocs", e->allocs);
			jw_end_object(&w);
		}
	}
	jw_end_array(&w);

	jw_key(&w, "chains");
	jw_start_array(&w);
	for (size_t c = 0; ch && c < nchains; c++) {
		struct blk *b = ch[c];

		jw_start_object(&w);
		jw_int_field(&w, "length", b->depth);
		jw_uint_field(&w, "pins_blocks", b->nr_pins);
		jw_uint_field(&w, "pins_bytes", (unsigned long long)b->nr_pins * block_size);
		jw_key(&w, "blocks");
		jw_start_array(&w);
		for (; b; b = b->next >= 0 ? &g->blks[b->next] : NULL)
			jw_uint(&w, b->id);
		jw_end_array(&w);
		jw_end_object(&w);
	}
	jw_end_array(&w);
	jw_end_object(&w);
	jw_finish(&w);
	free(ch);
}

static const char *zone_color(const char *zone)
{
	if (!strcmp(zone, "DMA"))
		return "#fdd0a2";
	if (!strcmp(zone, "DMA32"))
		return "#fdae6b";
	if (!strcmp(zone, "Normal"))
		return "#9ecae1";
	if (!strcmp(zone, "Movable"))
		return "#a1d99b";
	return "#d9d9d9";
}

/*
 * Block map: one node per block at a fixed position (address order, 8 per
 * row), so "neato" keeps the layout; fill = zone, border = state, edges
 * host -> dependent coloured by kind.
 */
void print_dot(FILE *f, const struct mc_report *r)
{
	const struct mc_graph *g = r->g;
	static const char * const kind_color[] = { "#d62728", "#1f77b4", "#7f7f7f" };
	char b1[32];

	fprintf(f, "digraph memmap_chains {\n"
		"  graph [label=\"memory blocks (%s each) in address order: fill = zone "
		"(DMA/DMA32 orange, Normal blue, Movable green, none grey), dashed = offline; "
		"edges host -> dependent: red memmap, blue page tables, grey dotted other\", "
		"labelloc=t, fontsize=10, splines=curved, overlap=true, forcelabels=false];\n"
		"  node [shape=box, style=filled, fontsize=8, width=1.2, height=0.5, fixedsize=true];\n"
		"  edge [fontsize=7, arrowsize=0.5];\n",
		human(r->block_size, b1, sizeof(b1)));
	for (size_t i = 0; i < g->nr; i++) {
		struct blk *b = &g->blks[i];

		fprintf(f, "  b%u [label=\"%u\\n%s%s\", fillcolor=\"%s\", style=\"filled%s%s\", "
			"pos=\"%.1f,%.1f!\"];\n", b->id, b->id, b->zone,
			blk_pinned(b) ? " pinned" : "", zone_color(b->zone),
			strcmp(b->state, "online") ? ",dashed" : "",
			blk_pinned(b) ? ",bold" : "", (i % 8) * 1.8, -(double)(i / 8) * 1.5);
	}
	for (size_t i = 0; i < g->nr; i++) {
		for (const struct mc_edge *e = edge_next(&g->blks[i], NULL); e;
		     e = edge_next(&g->blks[i], e)) {
			if (e->host == g->blks[i].id)
				continue;
			/* "other" edges are many and small: dotted, size as tooltip only. */
			fprintf(f, "  b%u -> b%u [color=\"%s\", %s=\"%s %s\"%s];\n", e->host,
				g->blks[i].id, kind_color[e->kind < MC_NR_KINDS ? e->kind : 2],
				e->kind == MC_KIND_OTHER ? "tooltip" : "xlabel",
				kind_name(e->kind), human(e->bytes, b1, sizeof(b1)),
				e->kind == MC_KIND_OTHER ? ", style=dotted" : "");
		}
	}
	fprintf(f, "}\n");
}
