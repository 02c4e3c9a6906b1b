// SPDX-License-Identifier: GPL-2.0
/*
 * memmap-chains: show which hot-added memory blocks hold the memmap and page
 * tables of which other blocks, and so cannot be offlined before them.
 *
 * Model: the BPF programs (memmap-chains.bpf.c) keep the dependency state
 * in maps pinned under /sys/fs/bpf/memmap-chains; this loader attaches them
 * (fentry/fexit when the kernel can, kprobes otherwise), prints a live line
 * per added/removed range, and turns the pinned state plus sysfs (block
 * state and zone) into a report: text summary of chains, JSON (schema in
 * memmap-chains.schema.json, printed by --schema), DOT, or PNG via graphviz.
 * The report modes (--summary) only read pinned maps, so they work after the
 * tracing loader exited or while a --pin'ned instance keeps tracing.
 */
#include <argp.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/kernel-page-flags.h>
#include "graph.h"
#include "json_writer.h"
#include "memmap-chains.h"
#include "memmap-chains.skel.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MC_BPF_FS_MAGIC		0xcafe4a11
#define MC_SYS_MEMORY		"/sys/devices/system/memory"
#define MC_LINKS_DIR		MC_PIN_ROOT "/links"

/* Exit codes, documented in --help. */
enum {
	MC_EXIT_OK = 0,
	MC_EXIT_ERROR = 1,	/* environment or runtime error */
	MC_EXIT_USAGE = 2,
	MC_EXIT_FULL = 3,	/* report written, but maps were full: data lost */
};

static const unsigned char mc_schema[] = {
#include "schema.inc"
};

static struct env {
	int duration;
	bool pin, unpin, reset, summary, json, dot, schema;
	bool force_kprobes, force_fentry, no_printk, quiet, verbose;
	const char *png, *output;
	unsigned long max_blocks;
	int max_chains;
} env = { .max_chains = 20 };

const char *argp_program_version = "memmap-chains 1.0";
error_t argp_err_exit_status = MC_EXIT_USAGE;
static const char doc[] =
"Trace memory hot-add and show which memory blocks hold the memmap and page\n"
"tables of which other blocks (dependency chains that block offlining).\n"
"\n"
"Without a report option the tool attaches, prints a line per added or removed\n"
"range, and prints the summary on exit (Ctrl-C or --duration). State lives in\n"
"BPF maps pinned under " MC_PIN_ROOT " and survives the tool.\n"
"\n"
"Exit status: 0 ok, 1 error (not root, no BTF, no kprobes, unsupported kernel,\n"
"...), 2 usage, 3 report written but the maps were full (records dropped).\n"
"\n"
"EXAMPLES:\n"
"  memmap-chains                 # trace until Ctrl-C, then print the chains\n"
"  memmap-chains --pin           # keep tracing in the background, return\n"
"  memmap-chains --summary       # chains from the pinned state\n"
"  memmap-chains --summary --json > chains.json\n"
"  memmap-chains --summary --dot > chains.dot && blockmap-png chains.dot map.png\n"
"  memmap-chains --unpin         # stop background tracing (state kept)\n"
"  memmap-chains --reset         # stop and delete all pinned state\n";

enum {
	OPT_PIN = 0x100, OPT_UNPIN, OPT_RESET, OPT_JSON, OPT_DOT, OPT_PNG,
	OPT_KPROBES, OPT_FENTRY, OPT_NO_PRINTK, OPT_MAX_BLOCKS, OPT_SCHEMA,
	OPT_MAX_CHAINS,
};

static const struct argp_option opts[] = {
	{ "duration", 'd', "SECONDS", 0, "Trace for SECONDS, then print the report", 0 },
	{ "pin", OPT_PIN, NULL, 0, "Attach, pin the links and exit: tracing continues", 0 },
	{ "unpin", OPT_UNPIN, NULL, 0, "Remove pinned links (stop tracing), keep state", 0 },
	{ "reset", OPT_RESET, NULL, 0, "Remove pinned links and all pinned state", 0 },
	{ "summary", 's', NULL, 0, "Report from the pinned state without attaching", 0 },
	{ "json", OPT_JSON, NULL, 0, "Report as JSON (see --schema)", 0 },
	{ "dot", OPT_DOT, NULL, 0, "Report as a graphviz DOT block map", 0 },
	{ "png", OPT_PNG, "FILE", 0, "Render the block map to FILE with graphviz (neato)", 0 },
	{ "output", 'o', "FILE", 0, "Write the report to FILE instead of stdout", 0 },
	{ "schema", OPT_SCHEMA, NULL, 0, "Print the JSON schema of --json and exit", 0 },
	{ "kprobes", OPT_KPROBES, NULL, 0, "Use kprobes even where fentry works", 0 },
	{ "fentry", OPT_FENTRY, NULL, 0, "Use fentry/fexit only, fail instead of falling back", 0 },
	{ "no-printk", OPT_NO_PRINTK, NULL, 0, "No bpf_printk lines in the trace buffer", 0 },
	{ "max-blocks", OPT_MAX_BLOCKS, "N", 0,
	  "Size the maps for N blocks when they are created (default 524288 = 64 TiB of 128 MiB blocks)",
	  0 },
	{ "max-chains", OPT_MAX_CHAINS, "N", 0,
	  "Chains shown in the text summary (default 20)", 0 },
	{ "quiet", 'q', NULL, 0, "No live lines", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf messages", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show the full help", 0 },
	{},
};

static long parse_num(const char *arg, struct argp_state *state, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 0);
	if (errno || *end || v < min || v > max)
		argp_error(state, "invalid number '%s' (allowed %ld..%ld)", arg, min, max);
	return v;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'd':
		env.duration = parse_num(arg, state, 1, INT_MAX);
		break;
	case OPT_PIN:
		env.pin = true;
		break;
	case OPT_UNPIN:
		env.unpin = true;
		break;
	case OPT_RESET:
		env.reset = true;
		break;
	case 's':
		env.summary = true;
		break;
	case OPT_JSON:
		env.json = true;
		break;
	case OPT_DOT:
		env.dot = true;
		break;
	case OPT_PNG:
		env.png = arg;
		break;
	case 'o':
		env.output = arg;
		break;
	case OPT_SCHEMA:
		env.schema = true;
		break;
	case OPT_KPROBES:
		env.force_kprobes = true;
		break;
	case OPT_FENTRY:
		env.force_fentry = true;
		break;
	case OPT_NO_PRINTK:
		env.no_printk = true;
		break;
	case OPT_MAX_BLOCKS:
		env.max_blocks = parse_num(arg, state, 1, 1L << 30);
		break;
	case OPT_MAX_CHAINS:
		env.max_chains = parse_num(arg, state, 1, INT_MAX);
		break;
	case 'q':
		env.quiet = true;
		break;
	case 'v':
		env.verbose = true;
		break;
	case 'h':
		argp_state_help(state, stderr, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		if (env.json + env.dot + !!env.png > 1)
			argp_error(state, "--json, --dot and --png exclude each other");
		if (env.pin + env.unpin + env.reset + env.summary > 1)
			argp_error(state, "--pin, --unpin, --reset and --summary exclude each other");
		if (env.force_kprobes && env.force_fentry)
			argp_error(state, "--kprobes and --fentry exclude each other");
		if (env.png && env.output)
			argp_error(state, "--png names its own file; drop --output");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void die_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "memmap-chains: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG || !env.verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static volatile sig_atomic_t exiting;

static void sig_handler(int sig)
{
	exiting = 1;
}

/* ---------------------------------------------------------------- sysfs */

static int read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	while (n && isspace((unsigned char)buf[n - 1]))
		buf[--n] = 0;
	return 0;
}

static unsigned long long block_size;
static unsigned int block_pfn_shift;

static int read_block_size(void)
{
	char buf[64];

	if (read_file(MC_SYS_MEMORY "/block_size_bytes", buf, sizeof(buf))) {
		die_msg("unsupported kernel: %s/block_size_bytes missing (needs CONFIG_MEMORY_HOTPLUG)",
			MC_SYS_MEMORY);
		return -1;
	}
	block_size = strtoull(buf, NULL, 16);
	if (!block_size || (block_size & (block_size - 1)) || block_size < 4096) {
		die_msg("unsupported kernel: odd memory block size '%s'", buf);
		return -1;
	}
	block_pfn_shift = __builtin_ctzll(block_size) - 12;
	return 0;
}

/*
 * PageOffline pages of an online block, from /proc/kpageflags (KPF_OFFLINE):
 * the parts of it virtio-mem has not plugged (sub-blocks smaller than a
 * memory block, refcount 0, skipped by offlining), pages a balloon holds.
 * -1 if kpageflags cannot be read.
 */
static long long kpage_offline(int kfd, unsigned int id)
{
	unsigned long long per = block_size / (unsigned long long)sysconf(_SC_PAGESIZE);
	unsigned long long pfn = (unsigned long long)id * per, end = pfn + per;
	unsigned long long flags[512];
	long long n = 0;

	if (kfd < 0)
		return -1;
	while (pfn < end) {
		size_t want = end - pfn < 512 ? end - pfn : 512;
		ssize_t got = pread(kfd, flags, want * sizeof(flags[0]), pfn * sizeof(flags[0]));

		if (got <= 0 || got % sizeof(flags[0]))
			return -1;
		for (size_t i = 0; i < (size_t)got / sizeof(flags[0]); i++)
			n += (flags[i] >> KPF_OFFLINE) & 1;
		pfn += got / sizeof(flags[0]);
	}
	return n;
}

/* valid_zones of an online block names its zone; of an offline one, candidates. */
static void sysfs_block(struct blk *b, int kfd)
{
	char path[128], buf[256];

	snprintf(path, sizeof(path), MC_SYS_MEMORY "/memory%u/state", b->id);
	if (!read_file(path, buf, sizeof(buf)))
		snprintf(b->state, sizeof(b->state), "%.23s", buf);
	snprintf(path, sizeof(path), MC_SYS_MEMORY "/memory%u/valid_zones", b->id);
	if (!strcmp(b->state, "online") && !read_file(path, buf, sizeof(buf))) {
		buf[strcspn(buf, " ")] = 0;
		snprintf(b->zone, sizeof(b->zone), "%.23s", buf);
	}
	if (!strcmp(b->state, "online"))
		b->offline_pages = kpage_offline(kfd, b->id);
}

static int scan_sysfs(struct mc_graph *g)
{
	DIR *d = opendir(MC_SYS_MEMORY);
	int kfd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	struct dirent *de;
	unsigned int id;
	char c;

	if (!d) {
		die_msg("unsupported kernel: cannot open %s: %s", MC_SYS_MEMORY, strerror(errno));
		if (kfd >= 0)
			close(kfd);
		return -1;
	}
	while ((de = readdir(d))) {
		struct blk *b;

		if (sscanf(de->d_name, "memory%u%c", &id, &c) != 1)
			continue;
		b = graph_append(g, id);
		if (!b) {
			closedir(d);
			if (kfd >= 0)
				close(kfd);
			return -ENOMEM;
		}
		b->in_sysfs = true;
		sysfs_block(b, kfd);
	}
	closedir(d);
	if (kfd >= 0)
		close(kfd);
	graph_sort(g);
	return 0;
}

/* ----------------------------------------------------------- BPF state */

struct state {
	int blocks_fd, pages_fd, stats_fd;
	int hook_fd[MC_NR_HOOKS];	/* the hooks' programs; -1 when not attached */
	__u64 stats[MC_NR_STATS];
	/* events neither a hook nor its nested copy saw; -1 when unknown */
	long long missed[MC_NR_HOOKS];
	unsigned long long max_blocks;
};

/*
 * Events of a hook that no program saw: the kernel's recursion misses of the
 * hook's program (events skipped while one of our programs ran on the CPU)
 * minus those its nested copy handled.
 */
static long long hook_missed(int prog_fd, __u64 nested)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (prog_fd < 0 || bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -1;
	return info.recursion_misses > nested ? (long long)(info.recursion_misses - nested) : 0;
}

static int read_records(struct state *st, struct mc_graph *g)
{
	__u32 key, next, *prev = NULL;
	struct mc_block rec;
	size_t sorted = g->nr;

	while (!bpf_map_get_next_key(st->blocks_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(st->blocks_fd, &key, &rec))
			continue;
		if (graph_add_record(g, sorted, key, &rec))
			return -ENOMEM;
	}
	/* Hosts that are not memory blocks in sysfs (should not happen) get a node too. */
	if (graph_add_hosts(g))
		return -ENOMEM;
	for (__u32 k = 0; k < MC_NR_STATS; k++)
		bpf_map_lookup_elem(st->stats_fd, &k, &st->stats[k]);
	st->missed[MC_HOOK_ALLOC] = hook_missed(st->hook_fd[MC_HOOK_ALLOC],
						st->stats[MC_STAT_NESTED_ALLOCS]);
	st->missed[MC_HOOK_FREE] = hook_missed(st->hook_fd[MC_HOOK_FREE],
					       st->stats[MC_STAT_NESTED_FREES]);
	return 0;
}

static unsigned long long dropped_total(const struct state *st)
{
	return st->stats[MC_STAT_DROPPED_BLOCKS] + st->stats[MC_STAT_DROPPED_EDGES] +
	       st->stats[MC_STAT_DROPPED_PAGES] + st->stats[MC_STAT_DROPPED_THREADS];
}

/* --------------------------------------------------------------- output */

static const char *human(unsigned long long v, char *buf, size_t len)
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

static void print_text(FILE *f, const struct mc_graph *g, struct state *st, const char *mode)
{
	size_t nchains, nedges = 0, npinned = 0, ntraced = 0, npartial = 0;
	unsigned long long kinds[MC_NR_KINDS] = {}, offline = 0;
	unsigned long long page_bytes = sysconf(_SC_PAGESIZE);
	struct blk **ch = graph_chains(g, &nchains);
	char b1[32], b2[32], b3[32];

	for (size_t i = 0; i < g->nr; i++) {
		ntraced += g->blks[i].traced;
		npinned += g->blks[i].traced && blk_pinned(&g->blks[i]);
		if (g->blks[i].offline_pages > 0) {
			npartial++;
			offline += g->blks[i].offline_pages * page_bytes;
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
		kinds[0], kinds[1], kinds[2], mode);
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
			if (g->blks[i].offline_pages > 0)
				fprintf(f, " %u (%s plugged)", g->blks[i].id,
					human(block_size - g->blks[i].offline_pages * page_bytes,
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
	for (size_t c = 0; ch && c < nchains && (int)c < env.max_chains; c++) {
		struct blk *b = ch[c];

		fprintf(f, "  #%zu %d blocks, pins %u hot-added blocks (%s): ", c + 1, b->depth,
			b->nr_pins,
			human((unsigned long long)b->nr_pins * block_size, b1, sizeof(b1)));
		for (; b; b = b->next >= 0 ? &g->blks[b->next] : NULL)
			fprintf(f, "%u%s%s", b->id, b->traced ? "" : "(boot)",
				b->next >= 0 ? " -> " : "\n");
	}
	if (ch && nchains > (size_t)env.max_chains)
		fprintf(f, "  ... %zu more (--max-chains)\n", nchains - env.max_chains);

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
static void json_block(struct json_writer *w, const struct blk *b, unsigned long long page_bytes)
{
	long long kernel = (long long)b->rec.kernel_bytes;

	jw_start_object(w);
	jw_uint_field(w, "id", b->id);
	jw_uint_field(w, "start", (unsigned long long)b->id * block_size);
	jw_string_field(w, "state", b->state);
	jw_string_field(w, "zone", b->zone);
	jw_key(w, "offline_bytes");
	if (b->offline_pages >= 0)
		jw_uint(w, b->offline_pages * page_bytes);
	else
		jw_null(w);
	jw_key(w, "plugged_bytes");
	if (b->offline_pages >= 0)
		jw_uint(w, block_size - b->offline_pages * page_bytes);
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

static void print_json(FILE *f, const struct mc_graph *g, struct state *st, const char *mode)
{
	static const char * const stat_names[MC_NR_STATS] = {
		"adds", "removes", "allocs", "frees", "kernel_allocs", "dropped_blocks", "dropped_edges",
		"dropped_pages", "dropped_events", "dropped_threads", "seq", "bulk_pages",
		"online_allocs", "nested_allocs", "nested_frees",
	};
	static const char * const missed_names[MC_NR_HOOKS] = { "missed_allocs", "missed_frees" };
	unsigned long long page_bytes = sysconf(_SC_PAGESIZE);
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
	jw_string_field(&w, "mode", mode);
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
		json_block(&w, &g->blks[i], page_bytes);
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
static void print_dot(FILE *f, const struct mc_graph *g)
{
	static const char * const kind_color[] = { "#d62728", "#1f77b4", "#7f7f7f" };
	char b1[32];

	fprintf(f, "digraph memmap_chains {\n"
		"  graph [label=\"memory blocks (%s each) in address order: fill = zone "
		"(DMA/DMA32 orange, Normal blue, Movable green, none grey), dashed = offline; "
		"edges host -> dependent: red memmap, blue page tables, grey dotted other\", "
		"labelloc=t, fontsize=10, splines=curved, overlap=true, forcelabels=false];\n"
		"  node [shape=box, style=filled, fontsize=8, width=1.2, height=0.5, fixedsize=true];\n"
		"  edge [fontsize=7, arrowsize=0.5];\n",
		human(block_size, b1, sizeof(b1)));
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

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	while (path && *path) {
		size_t n = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, prog);
		if (!access(buf, X_OK))
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

static int write_png(const char *file, const struct mc_graph *g)
{
	char tmp[] = "/tmp/memmap-chains-XXXXXX";
	int fd, status;
	pid_t pid;
	FILE *f;

	if (!in_path("neato")) {
		die_msg("graphviz (neato) not found: write --dot here and render it where "
			"graphviz is installed (bpf/blockmap-png FILE.dot FILE.png)");
		return MC_EXIT_ERROR;
	}
	fd = mkstemp(tmp);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		die_msg("cannot create %s: %s", tmp, strerror(errno));
		return MC_EXIT_ERROR;
	}
	print_dot(f, g);
	fclose(f);
	pid = fork();
	if (pid == 0) {
		execlp("neato", "neato", "-Tpng", "-o", file, tmp, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		die_msg("neato failed to render %s (DOT kept in %s)", file, tmp);
		return MC_EXIT_ERROR;
	}
	unlink(tmp);
	return 0;
}

/* The report of the state in st, written from graph g (empty on entry). */
static int report_graph(struct state *st, const char *mode, struct mc_graph *g)
{
	FILE *f = stdout;
	int err = 0;

	if (scan_sysfs(g) || read_records(st, g)) {
		die_msg("cannot read the block state");
		return MC_EXIT_ERROR;
	}
	if (graph_analyse(g)) {
		die_msg("out of memory");
		return MC_EXIT_ERROR;
	}
	if (env.png) {
		err = write_png(env.png, g);
		if (err)
			return err;
	} else {
		if (env.output)
			f = fopen(env.output, "w");
		if (!f) {
			die_msg("cannot write %s: %s", env.output, strerror(errno));
			return MC_EXIT_ERROR;
		}
		if (env.json)
			print_json(f, g, st, mode);
		else if (env.dot)
			print_dot(f, g);
		else
			print_text(f, g, st, mode);
		if (f != stdout && fclose(f)) {
			die_msg("cannot write %s: %s", env.output, strerror(errno));
			return MC_EXIT_ERROR;
		}
		fflush(stdout);
	}
	if (dropped_total(st)) {
		die_msg("maps full: %llu records dropped (blocks %llu, edges %llu, pages %llu, "
			"threads %llu); the summary is incomplete. Recreate larger maps with "
			"--reset and --max-blocks",
			dropped_total(st), (unsigned long long)st->stats[MC_STAT_DROPPED_BLOCKS],
			(unsigned long long)st->stats[MC_STAT_DROPPED_EDGES],
			(unsigned long long)st->stats[MC_STAT_DROPPED_PAGES],
			(unsigned long long)st->stats[MC_STAT_DROPPED_THREADS]);
		return MC_EXIT_FULL;
	}
	return 0;
}

static int report(struct state *st, const char *mode)
{
	struct mc_graph graph = {};
	int ret = report_graph(st, mode, &graph);

	graph_free(&graph);
	return ret;
}

/* ------------------------------------------------------------ live lines */

static struct state *live_state;

static int on_event(void *ctx, void *data, size_t len)
{
	const struct mc_event *e = data;
	unsigned int first = e->start >> (block_pfn_shift + 12);
	unsigned int last = (e->start + e->size - 1) >> (block_pfn_shift + 12);
	char tbuf[16], b1[32];
	struct tm tm;
	time_t t;

	if (env.quiet || len < sizeof(*e))
		return 0;
	t = time(NULL);
	localtime_r(&t, &tm);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
	if (e->type == MC_EV_REMOVE) {
		printf("%s REMOVE blocks %u-%u [0x%llx-0x%llx]: their edges dropped\n", tbuf, first,
		       last, (unsigned long long)e->start,
		       (unsigned long long)(e->start + e->size - 1));
		fflush(stdout);
		return 0;
	}
	printf("%s ADD    blocks %u-%u [0x%llx-0x%llx] node %d in %.1f ms%s%s", tbuf, first, last,
	       (unsigned long long)e->start, (unsigned long long)(e->start + e->size - 1),
	       e->nid, e->ns / 1e6, e->ret ? " FAILED" : "",
	       e->altmap ? " memmap_on_memory" : "");
	if (e->altmap)
		printf(" (memmap %s inside)", human(e->altmap_bytes, b1, sizeof(b1)));
	printf("\n");
	for (unsigned int id = first; !e->ret && id <= last; id++) {
		struct mc_block rec;
		bool any = false;

		if (bpf_map_lookup_elem(live_state->blocks_fd, &id, &rec))
			continue;
		printf("         block %u <-", id);
		for (__u32 i = 0; i < rec.nr_edges && i < MC_MAX_EDGES; i++) {
			const struct mc_edge *ed = &rec.edges[i];

			if (!edge_live(ed))
				continue;
			printf("%s %s %s on block %u", any ? "," : "", kind_name(ed->kind),
			       human(ed->bytes, b1, sizeof(b1)), ed->host);
			any = true;
		}
		printf("%s\n", any ? "" : " nothing outside the block");
	}
	fflush(stdout);
	return 0;
}

/* ------------------------------------------------------------ preflight */

static bool is_bpffs(const char *path)
{
	struct statfs s;

	return !statfs(path, &s) && (unsigned long)s.f_type == MC_BPF_FS_MAGIC;
}

/* Functions whose frames classify an allocation; required ones are hooked or essential. */
static const struct mc_func {
	const char *name;
	int kind;		/* enum mc_kind, or -1: hooked, not a classifier */
	bool required;
} mc_funcs[] = {
	{ "add_memory_resource", -1, true },
	{ "arch_add_memory", -1, true },
	{ "arch_remove_memory", -1, true },
	/*
	 * The struct pages come from vmemmap_alloc_block_buf(), which often
	 * tail-calls vmemmap_alloc_block() and so leaves no frame: its callers
	 * count as memmap.  The page-table levels are allocated one frame further
	 * in, by the vmemmap_p?d_populate() helpers, and win as the inner frame.
	 */
	{ "vmemmap_alloc_block_buf", MC_KIND_MEMMAP, true },
	{ "sparse_buffer_alloc", MC_KIND_MEMMAP, false },
	{ "vmemmap_populate", MC_KIND_MEMMAP, true },
	{ "vmemmap_populate_hugepages", MC_KIND_MEMMAP, false },
	{ "vmemmap_populate_basepages", MC_KIND_MEMMAP, false },
	{ "vmemmap_pte_populate", MC_KIND_MEMMAP, false },
	{ "vmemmap_pgd_populate", MC_KIND_PGTABLE, false },
	{ "vmemmap_p4d_populate", MC_KIND_PGTABLE, false },
	{ "vmemmap_pud_populate", MC_KIND_PGTABLE, false },
	{ "vmemmap_pmd_populate", MC_KIND_PGTABLE, false },
	{ "init_memory_mapping", MC_KIND_PGTABLE, true },
	{ "kernel_physical_mapping_init", MC_KIND_PGTABLE, false },
	{ "__kernel_physical_mapping_init", MC_KIND_PGTABLE, false },
	{ "alloc_low_pages", MC_KIND_PGTABLE, false },
	{ "phys_p4d_init", MC_KIND_PGTABLE, false },
	{ "phys_pud_init", MC_KIND_PGTABLE, false },
	{ "phys_pmd_init", MC_KIND_PGTABLE, false },
	{ "phys_pte_init", MC_KIND_PGTABLE, false },
	{ "sync_global_pgds", MC_KIND_PGTABLE, false },
	{ "sync_global_pgds_l4", MC_KIND_PGTABLE, false },
	{ "sync_global_pgds_l5", MC_KIND_PGTABLE, false },
};

#define MC_NR_FUNCS ARRAY_SIZE(mc_funcs)

struct func_range {
	unsigned long long start, end;
	int kind;
};

static struct func_range ranges[MC_MAX_FUNCS];
static unsigned int nr_ranges;

/*
 * The bulk page allocator, hooked on exit because its pages bypass the
 * kmem:mm_page_alloc tracepoint; renamed in 6.10 (memory allocation
 * profiling). NULL when the kernel has neither: those pages go unseen.
 */
static const char *const bulk_names[] = { "alloc_pages_bulk_noprof", "__alloc_pages_bulk" };
static const char *bulk_func;

static bool is_bulk_prog(const char *name)
{
	return !strcmp(name, "fx_bulk") || !strcmp(name, "kp_bulk") || !strcmp(name, "kr_bulk");
}

static int addr_cmp(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/*
 * Find the classifier functions in /proc/kallsyms: [address, next text
 * symbol) is the function, so a return address inside it means the
 * allocation was made (directly or not) from that function.
 */
static int load_kallsyms(void)
{
	unsigned long long *addrs = NULL, addr;
	size_t nr = 0, cap = 0, i, k;
	bool found[MC_NR_FUNCS] = {};
	char line[512], name[256], type;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f) {
		die_msg("cannot read /proc/kallsyms: %s", strerror(errno));
		return -1;
	}
	nr_ranges = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (nr == cap) {
			unsigned long long *p;

			cap = cap ? cap * 2 : 65536;
			p = realloc(addrs, cap * sizeof(*p));
			if (!p) {
				fclose(f);
				free(addrs);
				return -ENOMEM;
			}
			addrs = p;
		}
		addrs[nr++] = addr;
		if (strchr(line, '['))	/* module symbol */
			continue;
		for (k = 0; k < ARRAY_SIZE(bulk_names); k++)
			if (!strcmp(name, bulk_names[k]) && !bulk_func)
				bulk_func = bulk_names[k];
		for (k = 0; k < MC_NR_FUNCS; k++) {
			if (strcmp(name, mc_funcs[k].name))
				continue;
			if (!addr) {
				fclose(f);
				free(addrs);
				die_msg("kernel symbol addresses are hidden (kptr_restrict): "
					"run as root with /proc/sys/kernel/kptr_restrict < 2");
				return -1;
			}
			found[k] = true;
			if (mc_funcs[k].kind >= 0 && nr_ranges < MC_MAX_FUNCS) {
				ranges[nr_ranges].start = addr;
				ranges[nr_ranges].kind = mc_funcs[k].kind;
				nr_ranges++;
			}
		}
	}
	fclose(f);
	for (k = 0; k < MC_NR_FUNCS; k++) {
		if (mc_funcs[k].required && !found[k]) {
			free(addrs);
			die_msg("unsupported kernel: %s() not found in /proc/kallsyms "
				"(needs x86_64 with CONFIG_MEMORY_HOTPLUG, CONFIG_MEMORY_HOTREMOVE "
				"and CONFIG_SPARSEMEM_VMEMMAP)", mc_funcs[k].name);
			return -1;
		}
	}
	qsort(addrs, nr, sizeof(*addrs), addr_cmp);
	for (i = 0; i < nr_ranges; i++) {
		size_t lo = 0, hi = nr;

		/* first text symbol above the function start */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (addrs[mid] <= ranges[i].start)
				lo = mid + 1;
			else
				hi = mid;
		}
		ranges[i].end = lo < nr ? addrs[lo] : ranges[i].start + 4096;
	}
	free(addrs);
	return 0;
}

static int check_kprobes(void)
{
	char buf[16];

	if (!read_file("/sys/kernel/debug/kprobes/enabled", buf, sizeof(buf)) && buf[0] == '0') {
		die_msg("kprobes are disabled (/sys/kernel/debug/kprobes/enabled is 0): "
			"echo 1 > /sys/kernel/debug/kprobes/enabled");
		return -1;
	}
	if (access("/sys/bus/event_source/devices/kprobe", F_OK) &&
	    access("/sys/kernel/tracing/kprobe_events", F_OK) &&
	    access("/sys/kernel/debug/tracing/kprobe_events", F_OK)) {
		die_msg("kprobes unavailable: no kprobe PMU and no kprobe_events "
			"(needs CONFIG_KPROBES and CONFIG_KPROBE_EVENTS)");
		return -1;
	}
	return 0;
}

static int preflight_root(void)
{
	if (geteuid() != 0) {
		die_msg("must be run as root (loads BPF programs and reads pinned maps)");
		return -1;
	}
	if (!is_bpffs("/sys/fs/bpf")) {
		die_msg("bpffs is not mounted at /sys/fs/bpf: mount it with 'mount -t bpf none /sys/fs/bpf'");
		return -1;
	}
	return 0;
}

static int preflight_attach(void)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		die_msg("kernel BTF not available (/sys/kernel/btf/vmlinux missing): "
			"needs CONFIG_DEBUG_INFO_BTF");
		return -1;
	}
	if (load_kallsyms())
		return -1;
	return 0;
}

static bool links_pinned(void)
{
	DIR *d = opendir(MC_LINKS_DIR);
	struct dirent *de;
	bool any = false;

	if (!d)
		return false;
	while ((de = readdir(d)))
		any |= de->d_name[0] != '.';
	closedir(d);
	return any;
}

static int unpin_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || de->d_type == DT_DIR)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path))
			err = -errno;
	}
	closedir(d);
	if (!err && rmdir(dir) && errno != ENOENT)
		err = -errno;
	return err;
}

/* max_entries of an already pinned map, 0 if none. */
static unsigned int pinned_max_entries(const char *name)
{
	char path[PATH_MAX];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd;

	snprintf(path, sizeof(path), MC_PIN_ROOT "/%s", name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	close(fd);
	return info.max_entries;
}

/* The program behind the link pinned for program NAME; -1 if none. */
static int pinned_link_prog(const char *name)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, prog_fd = -1;

	snprintf(path, sizeof(path), MC_LINKS_DIR "/%s", name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		prog_fd = bpf_prog_get_fd_by_id(info.prog_id);
	close(fd);
	return prog_fd;
}

static int open_pinned(struct state *st)
{
	st->blocks_fd = bpf_obj_get(MC_PIN_ROOT "/blocks");
	st->pages_fd = bpf_obj_get(MC_PIN_ROOT "/pages");
	st->stats_fd = bpf_obj_get(MC_PIN_ROOT "/stats");
	if (st->blocks_fd < 0 || st->stats_fd < 0) {
		die_msg("no pinned state under %s: run memmap-chains (live) or "
			"memmap-chains --pin first", MC_PIN_ROOT);
		return -1;
	}
	st->max_blocks = pinned_max_entries("blocks");
	st->hook_fd[MC_HOOK_ALLOC] = pinned_link_prog("mc_page_alloc");
	st->hook_fd[MC_HOOK_FREE] = pinned_link_prog("mc_page_free");
	return 0;
}

/* ----------------------------------------------------------- load/attach */

static void select_programs(struct memmap_chains_bpf *skel, bool fentry)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, skel->obj) {
		const char *n = bpf_program__name(p);
		bool is_fentry = !strncmp(n, "fe_", 3) || !strncmp(n, "fx_", 3);
		bool is_kprobe = !strncmp(n, "kp_", 3) || !strncmp(n, "kr_", 3);

		if (is_fentry)
			bpf_program__set_autoload(p, fentry);
		else if (is_kprobe)
			bpf_program__set_autoload(p, !fentry);
		if (is_bulk_prog(n) && !bulk_func)
			bpf_program__set_autoload(p, false);
		else if (is_bulk_prog(n) && is_fentry && fentry)
			bpf_program__set_attach_target(p, 0, bulk_func);
	}
	if (!bulk_func && env.verbose)
		fprintf(stderr, "memmap-chains: no bulk page allocator found: "
			"its pages are not tracked\n");
}

static struct memmap_chains_bpf *open_load(bool fentry, int *errp)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = MC_PIN_ROOT);
	struct memmap_chains_bpf *skel;
	unsigned int pinned = pinned_max_entries("blocks");
	unsigned long long want = env.max_blocks ? env.max_blocks : MC_MAX_BLOCKS;
	int err;

	skel = memmap_chains_bpf__open_opts(&oo);
	if (!skel) {
		*errp = -errno;
		die_msg("cannot open the BPF object: %s", strerror(errno));
		return NULL;
	}
	if (pinned && env.max_blocks && pinned != want) {
		die_msg("pinned maps are sized for %u blocks, --max-blocks asks %llu: "
			"run memmap-chains --reset first", pinned, want);
		*errp = -EEXIST;
		memmap_chains_bpf__destroy(skel);
		return NULL;
	}
	if (pinned) {
		want = pinned;
		unsigned int pp = pinned_max_entries("pages");

		bpf_map__set_max_entries(skel->maps.pages, pp ? pp : 2 * want);
	} else {
		bpf_map__set_max_entries(skel->maps.pages, 2 * want);
	}
	bpf_map__set_max_entries(skel->maps.blocks, want);
	skel->rodata->block_pfn_shift = block_pfn_shift;
	skel->rodata->printk_on = !env.no_printk;
	skel->rodata->events_on = !env.pin;
	skel->rodata->nr_funcs = nr_ranges;
	for (unsigned int i = 0; i < nr_ranges; i++) {
		skel->rodata->func_start[i] = ranges[i].start;
		skel->rodata->func_end[i] = ranges[i].end;
		skel->rodata->func_kind[i] = ranges[i].kind;
	}
	select_programs(skel, fentry);
	mkdir(MC_PIN_ROOT, 0700);
	err = memmap_chains_bpf__load(skel);
	if (err) {
		*errp = err;
		memmap_chains_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

/*
 * Blocks traced by an earlier run are in the pinned map already: let the
 * tracepoints watch them for later kernel pages from the start.
 */
static void seed_min_pfn(struct memmap_chains_bpf *skel)
{
	int fd = bpf_map__fd(skel->maps.blocks);
	__u32 key, next, *prev = NULL;
	struct mc_block rec;
	__u64 lo = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &rec) && (!lo || rec.start >> 12 < lo))
			lo = rec.start >> 12;
	}
	if (lo && (!skel->bss->min_pfn || lo < skel->bss->min_pfn))
		skel->bss->min_pfn = lo;
}

/*
 * A "*_nested" program handles the events the kernel skipped for its
 * namesake while that one ran (see memmap-chains.bpf.c): it must come after
 * it on the tracepoint, and a tracepoint runs its programs in attach order.
 */
static bool is_nested_prog(const char *name)
{
	size_t n = strlen(name);

	return n > 7 && !strcmp(name + n - 7, "_nested");
}

static int attach_all(struct memmap_chains_bpf *skel, bool fentry)
{
	struct bpf_object_skeleton *s = skel->skeleton;

	for (int k = 0; k < 2 * s->prog_cnt; k++) {
		int i = k % s->prog_cnt;
		struct bpf_program *p = *s->progs[i].prog;
		bool second_pass = k >= s->prog_cnt;
		bool retprobe = !strcmp(bpf_program__name(p), "kr_bulk");

		if (!bpf_program__autoload(p) ||
		    is_nested_prog(bpf_program__name(p)) != second_pass)
			continue;
		if (is_bulk_prog(bpf_program__name(p)) && !fentry)
			*s->progs[i].link = bpf_program__attach_kprobe(p, retprobe, bulk_func);
		else
			*s->progs[i].link = bpf_program__attach(p);
		if (!*s->progs[i].link) {
			int err = -errno;

			die_msg("cannot attach %s (%s): %s%s", bpf_program__name(p),
				bpf_program__section_name(p), strerror(-err),
				fentry ? "" : " (kprobes disabled or function not probeable?)");
			return err;
		}
	}
	return 0;
}

static int pin_links(struct memmap_chains_bpf *skel)
{
	struct bpf_object_skeleton *s = skel->skeleton;
	char path[PATH_MAX];

	if (mkdir(MC_LINKS_DIR, 0700) && errno != EEXIST) {
		die_msg("cannot create %s: %s", MC_LINKS_DIR, strerror(errno));
		return -1;
	}
	for (int i = 0; i < s->prog_cnt; i++) {
		struct bpf_link *l = *s->progs[i].link;

		if (!l)
			continue;
		snprintf(path, sizeof(path), MC_LINKS_DIR "/%s", s->progs[i].name);
		if (bpf_link__pin(l, path)) {
			die_msg("cannot pin %s: %s", path, strerror(errno));
			unpin_dir(MC_LINKS_DIR);
			return -1;
		}
	}
	return 0;
}

static int run_attach(void)
{
	struct memmap_chains_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	struct state st = {};
	const char *mode;
	bool fentry = !env.force_kprobes;
	int err = 0, ret = MC_EXIT_ERROR;
	time_t end;

	if (preflight_attach())
		return MC_EXIT_ERROR;
	if (links_pinned()) {
		die_msg("already tracing through pinned links in %s: use --summary to report, "
			"or --unpin first", MC_LINKS_DIR);
		return MC_EXIT_ERROR;
	}
	if (!fentry && check_kprobes())
		return MC_EXIT_ERROR;
	if (fentry) {
		skel = open_load(true, &err);
		if (skel && attach_all(skel, true)) {
			memmap_chains_bpf__destroy(skel);
			skel = NULL;
		}
		if (!skel && err == -EEXIST)
			return MC_EXIT_ERROR;
		if (!skel && env.force_fentry) {
			die_msg("fentry/fexit not usable on this kernel (%s); drop --fentry to fall "
				"back to kprobes", strerror(-err));
			return MC_EXIT_ERROR;
		}
		if (!skel) {
			fprintf(stderr, "memmap-chains: fentry/fexit not usable, falling back to kprobes\n");
			fentry = false;
			if (check_kprobes())
				return MC_EXIT_ERROR;
		}
	}
	if (!skel) {
		skel = open_load(false, &err);
		if (!skel) {
			if (err != -EEXIST)
				die_msg("cannot load the BPF programs: %s (run with -v for details; "
					"pinned maps from another version? try --reset)",
					strerror(-err));
			return MC_EXIT_ERROR;
		}
		if (attach_all(skel, false))
			goto out;
	}
	mode = fentry ? "fentry" : "kprobe";
	seed_min_pfn(skel);
	st.blocks_fd = bpf_map__fd(skel->maps.blocks);
	st.pages_fd = bpf_map__fd(skel->maps.pages);
	st.stats_fd = bpf_map__fd(skel->maps.stats);
	st.max_blocks = bpf_map__max_entries(skel->maps.blocks);
	st.hook_fd[MC_HOOK_ALLOC] = bpf_program__fd(skel->progs.mc_page_alloc);
	st.hook_fd[MC_HOOK_FREE] = bpf_program__fd(skel->progs.mc_page_free);

	if (env.pin) {
		if (pin_links(skel))
			goto out;
		printf("memmap-chains: tracing (%s) through links pinned in %s; state in %s\n",
		       mode, MC_LINKS_DIR, MC_PIN_ROOT);
		ret = MC_EXIT_OK;
		goto out;
	}

	live_state = &st;
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
	if (!rb) {
		die_msg("cannot create the ring buffer: %s", strerror(errno));
		goto out;
	}
	if (!env.quiet)
		fprintf(stderr, "memmap-chains: tracing memory hot-add (%s, block size %llu MiB); "
			"Ctrl-C to stop and print the chains\n", mode, block_size >> 20);
	end = env.duration ? time(NULL) + env.duration : 0;
	while (!exiting && (!end || time(NULL) < end)) {
		err = ring_buffer__poll(rb, 200);
		if (err < 0 && err != -EINTR) {
			die_msg("ring buffer poll: %s", strerror(-err));
			goto out;
		}
	}
	ring_buffer__consume(rb);
	ret = report(&st, mode);
out:
	ring_buffer__free(rb);
	memmap_chains_bpf__destroy(skel);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.doc = doc,
	};
	struct state st = {};
	int err;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return MC_EXIT_USAGE;
	if (env.schema) {
		fwrite(mc_schema, 1, sizeof(mc_schema), stdout);
		return MC_EXIT_OK;
	}
	libbpf_set_print(libbpf_print);
	signal(SIGINT, sig_handler);
	signal(SIGTERM, sig_handler);

	if (preflight_root())
		return MC_EXIT_ERROR;
	if (env.unpin || env.reset) {
		err = unpin_dir(MC_LINKS_DIR);
		if (!err && env.reset)
			err = unpin_dir(MC_PIN_ROOT);
		if (err) {
			die_msg("cannot remove pins under %s: %s", MC_PIN_ROOT, strerror(-err));
			return MC_EXIT_ERROR;
		}
		return MC_EXIT_OK;
	}
	if (read_block_size())
		return MC_EXIT_ERROR;
	if (env.summary) {
		if (open_pinned(&st))
			return MC_EXIT_ERROR;
		return report(&st, links_pinned() ? "pinned" : "stopped");
	}
	return run_attach();
}
