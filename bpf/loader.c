// SPDX-License-Identifier: GPL-2.0
/*
 * memmap-chains: preflight checks, loading, attaching and pinning the BPF
 * programs, and reading the pinned maps back (loader.h).
 *
 * Programs come in pairs: fentry/fexit ("fe_"/"fx_") where the kernel can,
 * kprobes ("kp_"/"kr_") otherwise, and a nested copy of the allocation and
 * free hooks that sees the events the first one misses while it runs. The
 * maps are pinned under MC_PIN_ROOT and the links, with --pin, under
 * MC_PIN_ROOT/links, so the state outlives the process that loaded it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader.h"
#include "memmap-chains.skel.h"
#include "util.h"

#define MC_BPF_FS_MAGIC		0xcafe4a11

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

int read_records(struct state *st, struct mc_graph *g)
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

static bool is_bpffs(const char *path)
{
	struct statfs s;

	return !statfs(path, &s) && (unsigned long)s.f_type == MC_BPF_FS_MAGIC;
}

static bool is_bulk_prog(const char *name)
{
	return !strcmp(name, "fx_bulk") || !strcmp(name, "kp_bulk") || !strcmp(name, "kr_bulk");
}

int check_kprobes(void)
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

int preflight_root(void)
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

int preflight_attach(struct mc_ksyms *ksyms)
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

bool links_pinned(void)
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

int unpin_dir(const char *dir)
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

int open_pinned(struct state *st)
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

static void select_programs(struct memmap_chains_bpf *skel, bool fentry,
			    const struct mc_ksyms *ksyms, bool verbose)
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
	if (!ksyms->bulk_func && verbose)
		fprintf(stderr, "memmap-chains: no bulk page allocator found: "
			"its pages are not tracked\n");
}

/*
 * Blocks traced by an earlier run are in the pinned map already: let the
 * tracepoints watch them for later kernel pages from the start, that is
 * before they attach (until then min_pfn is 0: nothing is watched).
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

struct memmap_chains_bpf *open_load(const struct mc_load_opts *o, const struct mc_ksyms *ksyms,
				    int *errp)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = MC_PIN_ROOT);
	struct memmap_chains_bpf *skel;
	unsigned int pinned = pinned_max_entries("blocks");
	unsigned long long want = o->max_blocks ? o->max_blocks : MC_MAX_BLOCKS;
	int err;

	skel = memmap_chains_bpf__open_opts(&oo);
	if (!skel) {
		*errp = -errno;
		err_msg("cannot open the BPF object: %s", strerror(errno));
		return NULL;
	}
	if (pinned && o->max_blocks && pinned != want) {
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
	skel->rodata->block_pfn_shift = o->block_pfn_shift;
	skel->rodata->printk_on = o->printk;
	skel->rodata->events_on = o->events;
	skel->rodata->nr_funcs = ksyms->nr_ranges;
	for (unsigned int i = 0; i < ksyms->nr_ranges; i++) {
		skel->rodata->func_start[i] = ksyms->ranges[i].start;
		skel->rodata->func_end[i] = ksyms->ranges[i].end;
		skel->rodata->func_kind[i] = ksyms->ranges[i].kind;
	}
	select_programs(skel, o->fentry, ksyms, o->verbose);
	mkdir(MC_PIN_ROOT, 0700);
	err = memmap_chains_bpf__load(skel);
	if (err) {
		*errp = err;
		memmap_chains_bpf__destroy(skel);
		return NULL;
	}
	seed_min_pfn(skel);
	return skel;
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

int attach_all(struct memmap_chains_bpf *skel, bool fentry, const struct mc_ksyms *ksyms)
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

int pin_links(struct memmap_chains_bpf *skel)
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
