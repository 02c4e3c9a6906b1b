// SPDX-License-Identifier: GPL-2.0
/*
 * Host fixture tests of memmap-chains' graph analysis (bpf/graph.c, compiled
 * as is) on graphs of real guests: tests/host/fixtures/chains-*.json are
 * reports that `memmap-chains --summary --json` wrote at the end of the
 * hot-add of scenario 1 of the experiment (64 blocks of 128 MiB hot-added
 * one at a time into a 1 GiB guest, results folder s13-adaptive, commit
 * 28858b1): 6.1 and 6.12, DIMMs with head placement (chains of 25 blocks),
 * the stock kernel's own placement, and virtio-mem.
 *
 * Each fixture is read back into a graph the way the tool builds one (the
 * blocks sysfs listed, sorted; the records of the hot-added blocks with
 * their edges; the hosts that are no block), analysed again, and every
 * derived number of the report must come out the same: per block the
 * dependents, blocked_by, pinned, pins_blocks, chain_length, why and hosted
 * bytes per kind, and the chains in their order. A change of the analysis
 * that changes what users were shown fails here.
 *
 * The report writes one block, edge or chain per line; this reader relies on
 * that and on the key names of bpf/memmap-chains.schema.json, nothing else.
 *
 * usage: graph_fixture_test DIR   (the fixtures folder). KTAP, "N passed,
 * N failed"; MHP_TEST_BREAK adds one wrong expectation (make can-fail).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktap.h"
#include "graph.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_LINES	4096
#define MAX_LINE	4096

/* The fixture folder (argv[1]): cases take no argument. */
static const char *fixture_dir;

/* One fixture's lines, by the top-level array they are in. */
struct fixture {
	char *blocks[MAX_LINES], *edges[MAX_LINES], *chains[MAX_LINES];
	size_t nr_blocks, nr_edges, nr_chains;
};

/* Where the value of "key" starts in line, NULL without the key. */
static const char *val(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(line, pat);
	return p ? p + strlen(pat) : NULL;
}

static long long num(const char *line, const char *key)
{
	const char *v = val(line, key);

	return v ? strtoll(v, NULL, 10) : -1;
}

static bool flag(const char *line, const char *key)
{
	const char *v = val(line, key);

	return v && !strncmp(v, "true", 4);
}

/* A string value copied into buf; "-" for null or a missing key. */
static const char *str(const char *line, const char *key, char *buf, size_t len)
{
	const char *v = val(line, key);
	size_t n = 0;

	if (!v || *v != '"') {
		snprintf(buf, len, "-");
		return buf;
	}
	for (v++; *v && *v != '"' && n + 1 < len; v++)
		buf[n++] = *v;
	buf[n] = '\0';
	return buf;
}

static int kind_index(const char *name)
{
	for (int k = 0; k < MC_NR_KINDS; k++)
		if (!strcmp(kind_name(k), name))
			return k;
	return -1;
}

static bool fixture_read(struct fixture *fx, const char *name)
{
	char path[512], line[MAX_LINE];
	char **section = NULL;
	size_t *nr = NULL;
	FILE *f;

	memset(fx, 0, sizeof(*fx));
	snprintf(path, sizeof(path), "%s/%s.json", fixture_dir, name);
	f = fopen(path, "r");
	if (!f) {
		ktap_expect(0, "cannot open %s", path);
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "  \"blocks\": [", 13)) {
			section = fx->blocks, nr = &fx->nr_blocks;
		} else if (!strncmp(line, "  \"edges\": [", 12)) {
			section = fx->edges, nr = &fx->nr_edges;
		} else if (!strncmp(line, "  \"chains\": [", 13)) {
			section = fx->chains, nr = &fx->nr_chains;
		} else if (!strncmp(line, "  ]", 3)) {
			section = NULL;
		} else if (section && strstr(line, "{") && *nr < MAX_LINES) {
			section[(*nr)++] = strdup(line);
		}
	}
	fclose(f);
	ktap_expect(fx->nr_blocks > 0, "%s: no blocks", name);
	return fx->nr_blocks > 0;
}

static void fixture_free(struct fixture *fx)
{
	for (size_t i = 0; i < fx->nr_blocks; i++)
		free(fx->blocks[i]);
	for (size_t i = 0; i < fx->nr_edges; i++)
		free(fx->edges[i]);
	for (size_t i = 0; i < fx->nr_chains; i++)
		free(fx->chains[i]);
}

/* The record of hot-added block line: its numbers and its edges in order. */
static struct mc_block fixture_record(const struct fixture *fx, const char *line)
{
	struct mc_block r = {
		.block = num(line, "id"), .start = num(line, "start"), .seq = num(line, "seq"),
		.nid = num(line, "node"), .altmap_bytes = num(line, "altmap_bytes"),
		.kernel_bytes = num(line, "kernel_bytes"), .flags = MC_BLK_ADDED,
	};
	char kind[16];

	/* The report sums the kinds; only the sum is shown. */
	r.self_bytes[0] = num(line, "self_bytes");
	if (flag(line, "memmap_on_memory"))
		r.flags |= MC_BLK_MEMMAP_ON_MEMORY;
	for (size_t i = 0; i < fx->nr_edges && r.nr_edges < MC_MAX_EDGES; i++) {
		const char *e = fx->edges[i];

		if (num(e, "dep") != r.block)
			continue;
		r.edges[r.nr_edges++] = (struct mc_edge) {
			.host = num(e, "host"), .kind = kind_index(str(e, "kind", kind, sizeof(kind))),
			.bytes = num(e, "bytes"), .allocs = num(e, "allocs"),
		};
	}
	return r;
}

/* The tool's order: sysfs blocks sorted, records, missing hosts, analysis. */
static void fixture_graph(const struct fixture *fx, struct mc_graph *g)
{
	char buf[24];
	size_t sorted;

	for (size_t i = 0; i < fx->nr_blocks; i++) {
		const char *l = fx->blocks[i];
		struct blk *b;

		if (!strcmp(str(l, "state", buf, sizeof(buf)), "absent"))
			continue;
		b = graph_append(g, num(l, "id"));
		if (!b)
			return;
		b->in_sysfs = true;
		str(l, "state", b->state, sizeof(b->state));
		str(l, "zone", b->zone, sizeof(b->zone));
		/* Reports before offline_bytes existed: not read, as -1. */
		b->offline_bytes = val(l, "offline_bytes") ? num(l, "offline_bytes") : -1;
	}
	graph_sort(g);
	sorted = g->nr;
	for (size_t i = 0; i < fx->nr_blocks; i++) {
		struct mc_block r;

		if (!flag(fx->blocks[i], "hotadded"))
			continue;
		r = fixture_record(fx, fx->blocks[i]);
		ktap_expect(!graph_add_record(g, sorted, r.block, &r), "graph_add_record(%u)",
			    r.block);
	}
	ktap_expect(!graph_add_hosts(g), "graph_add_hosts");
	ktap_expect(!graph_analyse(g), "graph_analyse");
}

/* Every derived number of every block as the report showed it. */
static void check_blocks(const char *name)
{
	struct mc_graph g = { 0 };
	struct fixture fx;
	unsigned int bad = 0;

	if (!fixture_read(&fx, name))
		return;
	fixture_graph(&fx, &g);
	ktap_expect(g.nr == fx.nr_blocks, "%s: %zu blocks in the graph, %zu in the report",
		    name, g.nr, fx.nr_blocks);
	for (size_t i = 0; i < fx.nr_blocks; i++) {
		const char *l = fx.blocks[i];
		const struct blk *b = graph_find(&g, num(l, "id"));
		char want_why[24];
		const char *h;

		if (!b) {
			ktap_expect(0, "%s: block %lld not in the graph", name, num(l, "id"));
			continue;
		}
		/* The kinds' keys, searched from the hosted_bytes object on. */
		h = val(l, "hosted_bytes");
		if (!h)
			h = "";
		str(l, "why", want_why, sizeof(want_why));
		if (b->nr_deps == num(l, "dependents") && b->nr_blocked == num(l, "blocked_by") &&
		    blk_pinned(b) == flag(l, "pinned") && b->nr_pins == num(l, "pins_blocks") &&
		    b->depth == num(l, "chain_length") &&
		    !strcmp(b->why ? b->why : "-", want_why) &&
		    b->hosted[0] == (unsigned long long)num(h, "memmap") &&
		    b->hosted[1] == (unsigned long long)num(h, "pgtable") &&
		    b->hosted[2] == (unsigned long long)num(h, "other"))
			continue;
		if (bad++ < 5)
			ktap_expect(0, "%s: block %u: dependents %u blocked_by %u pins %u chain %d "
				    "why %s, the report: %lld %lld %lld %lld %s", name, b->id,
				    b->nr_deps, b->nr_blocked, b->nr_pins, b->depth,
				    b->why ? b->why : "-", num(l, "dependents"),
				    num(l, "blocked_by"), num(l, "pins_blocks"),
				    num(l, "chain_length"), want_why);
	}
	ktap_expect(!bad, "%s: %u of %zu blocks differ", name, bad, fx.nr_blocks);
	graph_free(&g);
	fixture_free(&fx);
}

/* The chains, longest first, block by block. */
static void check_chains(const char *name)
{
	struct mc_graph g = { 0 };
	struct fixture fx;
	struct blk **ch;
	size_t n = 0;

	if (!fixture_read(&fx, name))
		return;
	fixture_graph(&fx, &g);
	ch = graph_chains(&g, &n);
	ktap_expect(ch && n == fx.nr_chains, "%s: %zu chains, the report %zu", name, n,
		    fx.nr_chains);
	for (size_t c = 0; ch && c < n && c < fx.nr_chains; c++) {
		const char *l = fx.chains[c];
		const char *ids = val(l, "blocks");
		const struct blk *b = ch[c];
		char got[512] = "", want[512] = "";
		size_t len = 0;

		for (; b && len < sizeof(got) - 16; b = b->next >= 0 ? &g.blks[b->next] : NULL)
			len += snprintf(got + len, sizeof(got) - len, "%s%u", len ? ", " : "[", b->id);
		snprintf(got + len, sizeof(got) - len, "]");
		snprintf(want, sizeof(want), "%.*s", ids ? (int)(strchr(ids, ']') - ids + 1) : 0,
			 ids ? ids : "");
		ktap_expect(ch[c]->depth == num(l, "length") && ch[c]->nr_pins == num(l, "pins_blocks") &&
			    !strcmp(got, want), "%s: chain %zu is %s (length %d, pins %u), the report %s",
			    name, c + 1, got, ch[c]->depth, ch[c]->nr_pins, want);
	}
	free(ch);
	graph_free(&g);
	fixture_free(&fx);
}

static void head_61_blocks(void) { check_blocks("chains-6.1-dimm-head"); }
static void head_61_chains(void) { check_chains("chains-6.1-dimm-head"); }
static void head_612_blocks(void) { check_blocks("chains-6.12-dimm-head"); }
static void head_612_chains(void) { check_chains("chains-6.12-dimm-head"); }
static void stock_61_blocks(void) { check_blocks("chains-6.1-dimm-stock"); }
static void stock_61_chains(void) { check_chains("chains-6.1-dimm-stock"); }
static void vmem_612_blocks(void) { check_blocks("chains-6.12-vmem-tail"); }
static void vmem_612_chains(void) { check_chains("chains-6.12-vmem-tail"); }

int main(int argc, char **argv)
{
	static const struct ktap_case cases[] = {
		{ "fixture-6.1-dimm-head-blocks", head_61_blocks },
		{ "fixture-6.1-dimm-head-chains", head_61_chains },
		{ "fixture-6.12-dimm-head-blocks", head_612_blocks },
		{ "fixture-6.12-dimm-head-chains", head_612_chains },
		{ "fixture-6.1-dimm-stock-blocks", stock_61_blocks },
		{ "fixture-6.1-dimm-stock-chains", stock_61_chains },
		{ "fixture-6.12-vmem-tail-blocks", vmem_612_blocks },
		{ "fixture-6.12-vmem-tail-chains", vmem_612_chains },
	};

	if (argc != 2) {
		fprintf(stderr, "usage: %s FIXTURE-DIR\n", argv[0]);
		return 2;
	}
	fixture_dir = argv[1];
	return ktap_run(cases, ARRAY_SIZE(cases));
}
