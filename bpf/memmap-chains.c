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
 * This file holds the command line, the preflight checks, loading,
 * attaching and pinning, the kernel symbols the BPF side needs, and the
 * live lines; the analysis is graph.c (pure, tested on the host), the
 * printers output.c, the JSON layout json_writer.c.
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
#include "ksyms.h"
#include "output.h"
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

/* "memmap-chains: <why>" on stderr; the caller decides how to end. */
static void err_msg(const char *fmt, ...)
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

/* ----------------------------------------------------------- BPF state */

struct state {
	int blocks_fd, pages_fd, stats_fd;
	int hook_fd[MC_NR_HOOKS];	/* the hooks' programs; -1 when not attached */
	struct mc_counts counts;	/* what the report shows of the maps */
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
		bpf_map_lookup_elem(st->stats_fd, &k, &st->counts.stats[k]);
	st->counts.missed[MC_HOOK_ALLOC] =
		hook_missed(st->hook_fd[MC_HOOK_ALLOC], st->counts.stats[MC_STAT_NESTED_ALLOCS]);
	st->counts.missed[MC_HOOK_FREE] =
		hook_missed(st->hook_fd[MC_HOOK_FREE], st->counts.stats[MC_STAT_NESTED_FREES]);
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

/* ------------------------------------------------------------ preflight */

static bool is_bpffs(const char *path)
{
	struct statfs s;

	return !statfs(path, &s) && (unsigned long)s.f_type == MC_BPF_FS_MAGIC;
}

static bool is_bulk_prog(const char *name)
{
	return !strcmp(name, "fx_bulk") || !strcmp(name, "kp_bulk") || !strcmp(name, "kr_bulk");
}

static int check_kprobes(void)
{
	char buf[16];

	if (!read_file("/sys/kernel/debug/kprobes/enabled", buf, sizeof(buf)) && buf[0] == '0') {
		err_msg("kprobes are disabled (/sys/kernel/debug/kprobes/enabled is 0): "
			"echo 1 > /sys/kernel/debug/kprobes/enabled");
		return -1;
	}
	if (access("/sys/bus/event_source/devices/kprobe", F_OK) &&
	    access("/sys/kernel/tracing/kprobe_events", F_OK) &&
	    access("/sys/kernel/debug/tracing/kprobe_events", F_OK)) {
		err_msg("kprobes unavailable: no kprobe PMU and no kprobe_events "
			"(needs CONFIG_KPROBES and CONFIG_KPROBE_EVENTS)");
		return -1;
	}
	return 0;
}

static int preflight_root(void)
{
	if (geteuid() != 0) {
		err_msg("must be run as root (loads BPF programs and reads pinned maps)");
		return -1;
	}
	if (!is_bpffs("/sys/fs/bpf")) {
		err_msg("bpffs is not mounted at /sys/fs/bpf: mount it with 'mount -t bpf none /sys/fs/bpf'");
		return -1;
	}
	return 0;
}

static int preflight_attach(struct mc_ksyms *ksyms)
{
	char err[256];
	FILE *f;
	int ret;

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		err_msg("kernel BTF not available (/sys/kernel/btf/vmlinux missing): "
			"needs CONFIG_DEBUG_INFO_BTF");
		return -1;
	}
	f = fopen("/proc/kallsyms", "r");
	if (!f) {
		err_msg("cannot read /proc/kallsyms: %s", strerror(errno));
		return -1;
	}
	ret = ksyms_load(ksyms, f, err, sizeof(err));
	fclose(f);
	if (ret) {
		err_msg("%s", err);
		return -1;
	}
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
		err_msg("no pinned state under %s: run memmap-chains (live) or "
			"memmap-chains --pin first", MC_PIN_ROOT);
		return -1;
	}
	st->counts.max_blocks = pinned_max_entries("blocks");
	st->hook_fd[MC_HOOK_ALLOC] = pinned_link_prog("mc_page_alloc");
	st->hook_fd[MC_HOOK_FREE] = pinned_link_prog("mc_page_free");
	return 0;
}

/* ----------------------------------------------------------- load/attach */

static void select_programs(struct memmap_chains_bpf *skel, bool fentry,
			    const struct mc_ksyms *ksyms)
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
		if (is_bulk_prog(n) && !ksyms->bulk_func)
			bpf_program__set_autoload(p, false);
		else if (is_bulk_prog(n) && is_fentry && fentry)
			bpf_program__set_attach_target(p, 0, ksyms->bulk_func);
	}
	if (!ksyms->bulk_func && env.verbose)
		fprintf(stderr, "memmap-chains: no bulk page allocator found: "
			"its pages are not tracked\n");
}

static struct memmap_chains_bpf *open_load(bool fentry, const struct mc_ksyms *ksyms, int *errp)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = MC_PIN_ROOT);
	struct memmap_chains_bpf *skel;
	unsigned int pinned = pinned_max_entries("blocks");
	unsigned long long want = env.max_blocks ? env.max_blocks : MC_MAX_BLOCKS;
	int err;

	skel = memmap_chains_bpf__open_opts(&oo);
	if (!skel) {
		*errp = -errno;
		err_msg("cannot open the BPF object: %s", strerror(errno));
		return NULL;
	}
	if (pinned && env.max_blocks && pinned != want) {
		err_msg("pinned maps are sized for %u blocks, --max-blocks asks %llu: "
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
	skel->rodata->nr_funcs = ksyms->nr_ranges;
	for (unsigned int i = 0; i < ksyms->nr_ranges; i++) {
		skel->rodata->func_start[i] = ksyms->ranges[i].start;
		skel->rodata->func_end[i] = ksyms->ranges[i].end;
		skel->rodata->func_kind[i] = ksyms->ranges[i].kind;
	}
	select_programs(skel, fentry, ksyms);
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

static int attach_all(struct memmap_chains_bpf *skel, bool fentry, const struct mc_ksyms *ksyms)
{
	struct bpf_object_skeleton *s = skel->skeleton;

	for (int k = 0; k < 2 * s->prog_cnt; k++) {
		int i = k % s->prog_cnt;
		struct bpf_program *p = *s->progs[i].prog;
		bool second_pass = k >= s->prog_cnt;
		bool retprobe = !strcmp(bpf_program__name(p), "kr_bulk");
		const char *bulk = ksyms->bulk_func;

		if (!bpf_program__autoload(p) ||
		    is_nested_prog(bpf_program__name(p)) != second_pass)
			continue;
		if (is_bulk_prog(bpf_program__name(p)) && !fentry)
			*s->progs[i].link = bpf_program__attach_kprobe(p, retprobe, bulk);
		else
			*s->progs[i].link = bpf_program__attach(p);
		if (!*s->progs[i].link) {
			int err = -errno;

			err_msg("cannot attach %s (%s): %s%s", bpf_program__name(p),
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
		err_msg("cannot create %s: %s", MC_LINKS_DIR, strerror(errno));
		return -1;
	}
	for (int i = 0; i < s->prog_cnt; i++) {
		struct bpf_link *l = *s->progs[i].link;

		if (!l)
			continue;
		snprintf(path, sizeof(path), MC_LINKS_DIR "/%s", s->progs[i].name);
		if (bpf_link__pin(l, path)) {
			err_msg("cannot pin %s: %s", path, strerror(errno));
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
	struct mc_ksyms ksyms;
	struct state st = {};
	const char *mode;
	bool fentry = !env.force_kprobes;
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
		skel = open_load(true, &ksyms, &err);
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
			if (check_kprobes())
				return MC_EXIT_ERROR;
		}
	}
	if (!skel) {
		skel = open_load(false, &ksyms, &err);
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
	seed_min_pfn(skel);
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
