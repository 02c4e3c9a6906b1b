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
 *
 * This file holds the command line, the sysfs scan and the live lines;
 * loading, attaching, pinning and reading the maps back are loader.c, the
 * kernel symbols ksyms.c, the analysis graph.c (pure, tested on the host),
 * the printers output.c, the JSON layout json_writer.c.
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
#include "loader.h"
#include "util.h"
#include "memmap-chains.h"
#include "memmap-chains.skel.h"

#define MC_SYS_MEMORY		"/sys/devices/system/memory"

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

static unsigned long long block_size;
static unsigned int block_pfn_shift;

static int read_block_size(void)
{
	char buf[64];

	if (read_file(MC_SYS_MEMORY "/block_size_bytes", buf, sizeof(buf))) {
		err_msg("unsupported kernel: %s/block_size_bytes missing (needs CONFIG_MEMORY_HOTPLUG)",
			MC_SYS_MEMORY);
		return -1;
	}
	block_size = strtoull(buf, NULL, 16);
	if (!block_size || (block_size & (block_size - 1)) || block_size < 4096) {
		err_msg("unsupported kernel: odd memory block size '%s'", buf);
		return -1;
	}
	block_pfn_shift = __builtin_ctzll(block_size) - 12;
	return 0;
}

/*
 * Bytes in PageOffline pages of an online block, from /proc/kpageflags (KPF_OFFLINE):
 * the parts of it virtio-mem has not plugged (sub-blocks smaller than a
 * memory block, refcount 0, skipped by offlining), pages a balloon holds.
 * -1 if kpageflags cannot be read.
 */
static long long kpage_offline(int kfd, unsigned int id)
{
	unsigned long long page = sysconf(_SC_PAGESIZE), per = block_size / page;
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
	return n * page;
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
		b->offline_bytes = kpage_offline(kfd, b->id);
}

static int scan_sysfs(struct mc_graph *g)
{
	DIR *d = opendir(MC_SYS_MEMORY);
	int kfd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	struct dirent *de;
	unsigned int id;
	char c;

	if (!d) {
		err_msg("unsupported kernel: cannot open %s: %s", MC_SYS_MEMORY, strerror(errno));
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

/* --------------------------------------------------------------- output */

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

static int write_png(const char *file, const struct mc_report *r)
{
	char tmp[] = "/tmp/memmap-chains-XXXXXX";
	int fd, status;
	pid_t pid;
	FILE *f;

	if (!in_path("neato")) {
		err_msg("graphviz (neato) not found: write --dot here and render it where "
			"graphviz is installed (bpf/blockmap-png FILE.dot FILE.png)");
		return MC_EXIT_ERROR;
	}
	fd = mkstemp(tmp);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		err_msg("cannot create %s: %s", tmp, strerror(errno));
		return MC_EXIT_ERROR;
	}
	print_dot(f, r);
	fclose(f);
	pid = fork();
	if (pid == 0) {
		execlp("neato", "neato", "-Tpng", "-o", file, tmp, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		err_msg("neato failed to render %s (DOT kept in %s)", file, tmp);
		return MC_EXIT_ERROR;
	}
	unlink(tmp);
	return 0;
}

/* The report of the state in st, written from graph g (empty on entry). */
static int report_graph(struct state *st, const char *mode, struct mc_graph *g)
{
	const struct mc_report r = {
		.g = g, .counts = &st->counts, .mode = mode, .block_size = block_size,
		.max_chains = env.max_chains,
	};
	const __u64 *stats = st->counts.stats;
	FILE *f = stdout;
	int err = 0;

	if (scan_sysfs(g) || read_records(st, g)) {
		err_msg("cannot read the block state");
		return MC_EXIT_ERROR;
	}
	if (graph_analyse(g)) {
		err_msg("out of memory");
		return MC_EXIT_ERROR;
	}
	if (env.png) {
		err = write_png(env.png, &r);
		if (err)
			return err;
	} else {
		if (env.output)
			f = fopen(env.output, "w");
		if (!f) {
			err_msg("cannot write %s: %s", env.output, strerror(errno));
			return MC_EXIT_ERROR;
		}
		if (env.json)
			print_json(f, &r);
		else if (env.dot)
			print_dot(f, &r);
		else
			print_text(f, &r);
		if (f != stdout && fclose(f)) {
			err_msg("cannot write %s: %s", env.output, strerror(errno));
			return MC_EXIT_ERROR;
		}
		fflush(stdout);
	}
	if (dropped_total(&st->counts)) {
		err_msg("maps full: %llu records dropped (blocks %llu, edges %llu, pages %llu, "
			"threads %llu); the summary is incomplete. Recreate larger maps with "
			"--reset and --max-blocks",
			dropped_total(&st->counts),
			(unsigned long long)stats[MC_STAT_DROPPED_BLOCKS],
			(unsigned long long)stats[MC_STAT_DROPPED_EDGES],
			(unsigned long long)stats[MC_STAT_DROPPED_PAGES],
			(unsigned long long)stats[MC_STAT_DROPPED_THREADS]);
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

static int run_attach(void)
{
	struct memmap_chains_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	struct mc_load_opts o = {
		.fentry = !env.force_kprobes, .max_blocks = env.max_blocks,
		.block_pfn_shift = block_pfn_shift, .printk = !env.no_printk,
		.events = !env.pin, .verbose = env.verbose,
	};
	struct mc_ksyms ksyms;
	struct state st = {};
	const char *mode;
	bool fentry = o.fentry;
	int err = 0, ret = MC_EXIT_ERROR;
	time_t end;

	if (preflight_attach(&ksyms))
		return MC_EXIT_ERROR;
	if (links_pinned()) {
		err_msg("already tracing through pinned links in %s: use --summary to report, "
			"or --unpin first", MC_LINKS_DIR);
		return MC_EXIT_ERROR;
	}
	if (!fentry && check_kprobes())
		return MC_EXIT_ERROR;
	if (fentry) {
		skel = open_load(&o, &ksyms, &err);
		if (skel && attach_all(skel, true, &ksyms)) {
			memmap_chains_bpf__destroy(skel);
			skel = NULL;
		}
		if (!skel && err == -EEXIST)
			return MC_EXIT_ERROR;
		if (!skel && env.force_fentry) {
			err_msg("fentry/fexit not usable on this kernel (%s); drop --fentry to fall "
				"back to kprobes", strerror(-err));
			return MC_EXIT_ERROR;
		}
		if (!skel) {
			fprintf(stderr, "memmap-chains: fentry/fexit not usable, falling back to kprobes\n");
			fentry = false;
			o.fentry = false;
			if (check_kprobes())
				return MC_EXIT_ERROR;
		}
	}
	if (!skel) {
		skel = open_load(&o, &ksyms, &err);
		if (!skel) {
			if (err != -EEXIST)
				err_msg("cannot load the BPF programs: %s (run with -v for details; "
					"pinned maps from another version? try --reset)",
					strerror(-err));
			return MC_EXIT_ERROR;
		}
		if (attach_all(skel, false, &ksyms))
			goto out;
	}
	mode = fentry ? "fentry" : "kprobe";
	st.blocks_fd = bpf_map__fd(skel->maps.blocks);
	st.pages_fd = bpf_map__fd(skel->maps.pages);
	st.stats_fd = bpf_map__fd(skel->maps.stats);
	st.counts.max_blocks = bpf_map__max_entries(skel->maps.blocks);
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
		err_msg("cannot create the ring buffer: %s", strerror(errno));
		goto out;
	}
	if (!env.quiet)
		fprintf(stderr, "memmap-chains: tracing memory hot-add (%s, block size %llu MiB); "
			"Ctrl-C to stop and print the chains\n", mode, block_size >> 20);
	end = env.duration ? time(NULL) + env.duration : 0;
	while (!exiting && (!end || time(NULL) < end)) {
		err = ring_buffer__poll(rb, 200);
		if (err < 0 && err != -EINTR) {
			err_msg("ring buffer poll: %s", strerror(-err));
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
			err_msg("cannot remove pins under %s: %s", MC_PIN_ROOT, strerror(-err));
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
