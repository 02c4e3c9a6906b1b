// SPDX-License-Identifier: GPL-2.0
/*
 * mhp-status: what decides memory hot(un)plug on this machine, and how
 * much hot-plugged memory could be removed right now.
 *
 * Model. The machine's memory is a row of memory blocks
 * (/sys/devices/system/memory/memoryN). Each belongs to a device: boot
 * memory (never removable), a DIMM (ACPI PNP0C80, its blocks link to it
 * through firmware_node; removed whole) or a virtio-mem device (its range
 * is the device's resource in /proc/iomem; unplugged in sub-blocks). A
 * block is removable now when it is offline, online in ZONE_MOVABLE (the
 * kernel's offlining does not look for unmovable pages there), or online
 * with no page that would make offlining fail. Which pages those are, the
 * mhp_online module knows exactly (debugfs blocks, pages_unmovable: as the
 * kernel's offlining sees them); /proc/kpageflags adds what they are
 * (slab, page tables, other kernel memory) and, for virtio-mem, which
 * 2 MiB sub-blocks hold them. Without the module a block with slab or
 * page-table pages is not removable and one without is "unknown".
 *
 * The numbers: a DIMM's removable bytes are its size when every block of
 * it is removable, else 0; a virtio-mem device's are its plugged bytes
 * less the sub-blocks that hold unmovable pages. The total is what an
 * autoscaler can ask back with a good chance that the unplug succeeds
 * (migration still needs free memory elsewhere).
 *
 * Output: text (default), -J JSON (schema: mhp-status.schema.json), and
 * --textfile FILE for node_exporter's textfile collector.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/types.h>

#include "json_writer.h"
#include "status.h"
#include "util.h"

#define MS_SYS_MEM	"/sys/devices/system/memory"
#define MS_DEBUGFS	"/sys/kernel/debug/mhp_online"
#define MS_MOD		"/sys/module/mhp_online"

/* The schema of -J, compiled in: --schema prints exactly what -J follows. */
static const unsigned char ms_schema[] = {
#include "status-schema.inc"
};

static void ms_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ms_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mhp-status: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A sysfs value, or dflt when the file is absent. */
static void ms_read_or(const char *path, char *buf, size_t len, const char *dflt)
{
	if (read_file(path, buf, len) < 0)
		snprintf(buf, len, "%s", dflt);
}

/* "[none] integrity" -> "none" */
static void ms_bracketed(char *s)
{
	char *a = strchr(s, '['), *b = a ? strchr(a, ']') : NULL;

	if (a && b) {
		memmove(s, a + 1, b - a - 1);
		s[b - a - 1] = 0;
	}
}

static bool ms_dir_has_entries(const char *path, const char *prefix)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d)))
		found = !strncmp(e->d_name, prefix, strlen(prefix));
	closedir(d);
	return found;
}

static void ms_read_params(struct ms_settings *s)
{
	DIR *d = opendir(MS_MOD "/parameters");
	struct dirent *e;
	char path[512];

	if (!d)
		return;
	while ((e = readdir(d)) && s->nr_params < MS_MAX_PARAMS) {
		struct ms_param *p = &s->params[s->nr_params];

		if (e->d_name[0] == '.')
			continue;
		snprintf(p->name, sizeof(p->name), "%.47s", e->d_name);
		snprintf(path, sizeof(path), MS_MOD "/parameters/%s", e->d_name);
		if (read_file(path, p->value, sizeof(p->value)) == 0)
			s->nr_params++;
	}
	closedir(d);
}

static int ms_param_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ms_param *)a)->name, ((const struct ms_param *)b)->name);
}

/* "key: value" of the module's debugfs summary. */
static bool ms_summary_value(const char *key, char *buf, size_t len)
{
	FILE *f = fopen(MS_DEBUGFS "/summary", "r");
	char line[256];
	size_t k = strlen(key);
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, k) || line[k] != ':')
			continue;
		snprintf(buf, len, "%s", line + k + 2);
		buf[strcspn(buf, "\n")] = 0;
		found = true;
	}
	fclose(f);
	return found;
}

static void ms_read_settings(struct ms_settings *s)
{
	struct utsname u;
	char buf[64], aside[64];

	if (uname(&u) == 0)
		snprintf(s->kernel, sizeof(s->kernel), "%s", u.release);
	ms_read_or("/sys/module/memory_hotplug/parameters/online_policy",
		   s->online_policy, sizeof(s->online_policy), "contig-zones");
	ms_read_or("/sys/module/memory_hotplug/parameters/auto_movable_ratio",
		   s->auto_movable_ratio, sizeof(s->auto_movable_ratio), "-");
	ms_read_or("/sys/module/memory_hotplug/parameters/auto_movable_numa_aware",
		   s->auto_movable_numa_aware, sizeof(s->auto_movable_numa_aware), "-");
	ms_read_or("/sys/module/memory_hotplug/parameters/memmap_on_memory",
		   s->memmap_on_memory, sizeof(s->memmap_on_memory), "-");
	ms_read_or(MS_SYS_MEM "/auto_online_blocks", s->auto_online, sizeof(s->auto_online), "-");
	ms_read_or("/sys/kernel/security/lockdown", s->lockdown, sizeof(s->lockdown), "-");
	ms_bracketed(s->lockdown);
	if (read_file(MS_SYS_MEM "/block_size_bytes", buf, sizeof(buf)) == 0)
		s->block_size = strtoull(buf, NULL, 16);
	s->virtio_mem_loaded = access("/sys/module/virtio_mem", F_OK) == 0;
	ms_read_or("/sys/module/virtio_mem/parameters/unplug_online", s->unplug_online,
		   sizeof(s->unplug_online), "-");
	s->module_loaded = access(MS_MOD, F_OK) == 0;
	s->tracer_pinned = access("/sys/fs/bpf/memmap-chains", F_OK) == 0;
	ms_read_or(MS_MOD "/version", s->module_version, sizeof(s->module_version), "-");
	ms_read_params(s);
	qsort(s->params, s->nr_params, sizeof(s->params[0]), ms_param_cmp);

	/*
	 * The online_page callback: mhp_online says whether it holds it and
	 * for whom it stepped aside; without it, virtio_mem takes it while a
	 * device is bound, else the kernel's generic_online_page() runs.
	 */
	if (s->module_loaded && ms_summary_value("callback", buf, sizeof(buf))) {
		if (!strcmp(buf, "held"))
			snprintf(s->callback, sizeof(s->callback), "mhp_online");
		else if (ms_summary_value("callback_aside_for", aside, sizeof(aside)) &&
			 strcmp(aside, "-"))
			snprintf(s->callback, sizeof(s->callback), "%s", aside);
		else
			snprintf(s->callback, sizeof(s->callback), "kernel (mhp_online: %.32s)",
				 buf);
	} else if (ms_dir_has_entries("/sys/bus/virtio/drivers/virtio_mem", "virtio")) {
		snprintf(s->callback, sizeof(s->callback), "virtio_mem");
	} else {
		snprintf(s->callback, sizeof(s->callback), "kernel");
	}
}

static int ms_add_dev(struct ms_state *st, enum ms_dev_kind kind, const char *name,
		      unsigned long long start, unsigned long long end)
{
	struct ms_device *d;
	int i;

	for (i = 0; i < st->nr_devs; i++)
		if (st->devs[i].kind == kind && !strcmp(st->devs[i].name, name))
			return i;
	if (st->nr_devs == (int)ARRAY_SIZE(st->devs))
		return 0;	/* devs[0] is boot memory */
	d = &st->devs[st->nr_devs];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->start = start;
	d->end = end;
	return st->nr_devs++;
}

/* virtio-mem devices: their regions in /proc/iomem, named after the device. */
static void ms_find_vmem(struct ms_state *st)
{
	FILE *f = fopen("/proc/iomem", "r");
	char line[256], name[64], drv[512], path[256];
	unsigned long long a, b;
	ssize_t n;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %llx-%llx : %63[^\n]", &a, &b, name) != 3 ||
		    strncmp(name, "virtio", 6))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/virtio/devices/%s/driver", name);
		n = readlink(path, drv, sizeof(drv) - 1);
		if (n < 0)
			continue;
		drv[n] = 0;
		if (strcmp(strrchr(drv, '/') ? strrchr(drv, '/') + 1 : drv, "virtio_mem"))
			continue;
		ms_add_dev(st, MS_DEV_VMEM, name, a, b + 1);
	}
	fclose(f);
}

static int ms_block_cmp(const void *a, const void *b)
{
	unsigned long x = ((const struct ms_block *)a)->id, y = ((const struct ms_block *)b)->id;

	return x < y ? -1 : x > y;
}

static int ms_block_node(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int node = -1;

	if (!d)
		return -1;
	while (node < 0 && (e = readdir(d)))
		if (!strncmp(e->d_name, "node", 4) && e->d_name[4] >= '0' && e->d_name[4] <= '9')
			node = atoi(e->d_name + 4);
	closedir(d);
	return node;
}

static int ms_block_dev(struct ms_state *st, const char *dir, unsigned long long start)
{
	char path[320], link[512];
	const char *base;
	ssize_t n;
	int i;

	for (i = 0; i < st->nr_devs; i++)
		if (st->devs[i].kind == MS_DEV_VMEM && start >= st->devs[i].start &&
		    start < st->devs[i].end)
			return i;
	snprintf(path, sizeof(path), "%s/firmware_node", dir);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		base = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
		if (!strncmp(base, "PNP0C80", 7))
			return ms_add_dev(st, MS_DEV_DIMM, base, 0, 0);
	}
	return 0;
}

/*
 * Devices in address order (each where its first block is), boot memory
 * first; virtio-mem devices were found in /proc/iomem before the blocks,
 * and devices without a block are left out.
 */
static void ms_order_devices(struct ms_state *st)
{
	struct ms_device devs[ARRAY_SIZE(st->devs)];
	int map[ARRAY_SIZE(st->devs)], nr = 1, i;

	for (i = 0; i < st->nr_devs; i++)
		map[i] = i ? -1 : 0;
	devs[0] = st->devs[0];
	for (i = 0; i < st->nr_blocks; i++) {
		int d = st->blocks[i].dev;

		if (map[d] < 0) {
			map[d] = nr;
			devs[nr++] = st->devs[d];
		}
		st->blocks[i].dev = map[d];
	}
	memcpy(st->devs, devs, nr * sizeof(devs[0]));
	st->nr_devs = nr;
}

static int ms_read_blocks(struct ms_state *st)
{
	DIR *d = opendir(MS_SYS_MEM);
	struct dirent *e;
	char dir[300], path[340], buf[64];
	int cap = 0, i;

	if (!d) {
		ms_err("%s: %s (no memory hotplug support?)", MS_SYS_MEM, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		struct ms_block *b;
		char *end;
		unsigned long id;

		if (strncmp(e->d_name, "memory", 6))
			continue;
		id = strtoul(e->d_name + 6, &end, 10);
		if (end == e->d_name + 6 || *end)
			continue;
		if (st->nr_blocks == cap) {
			cap = cap ? 2 * cap : 256;
			st->blocks = realloc(st->blocks, cap * sizeof(*st->blocks));
			if (!st->blocks) {
				closedir(d);
				ms_err("out of memory");
				return -1;
			}
		}
		b = &st->blocks[st->nr_blocks++];
		memset(b, 0, sizeof(*b));
		b->id = id;
		b->pages_offline = -1;
		b->pages_unmovable = -1;
		snprintf(dir, sizeof(dir), MS_SYS_MEM "/%s", e->d_name);
		snprintf(path, sizeof(path), "%s/state", dir);
		ms_read_or(path, b->state, sizeof(b->state), "?");
		snprintf(path, sizeof(path), "%s/valid_zones", dir);
		/* Online: the block's zone. Offline: the choices; none is its. */
		if (!strcmp(b->state, "online") && read_file(path, buf, sizeof(buf)) == 0)
			sscanf(buf, "%15s", b->zone);
		else
			snprintf(b->zone, sizeof(b->zone), "-");
		b->node = ms_block_node(dir);
	}
	closedir(d);
	qsort(st->blocks, st->nr_blocks, sizeof(*st->blocks), ms_block_cmp);
	for (i = 0; i < st->nr_blocks; i++) {
		snprintf(dir, sizeof(dir), MS_SYS_MEM "/memory%lu", st->blocks[i].id);
		st->blocks[i].dev = ms_block_dev(st, dir, st->blocks[i].id * st->set.block_size);
	}
	ms_order_devices(st);
	return 0;
}

static struct ms_block *ms_block_find(struct ms_state *st, unsigned long id)
{
	struct ms_block key = { .id = id };

	return bsearch(&key, st->blocks, st->nr_blocks, sizeof(key), ms_block_cmp);
}

/* mhp_online's debugfs: placement, owner and the page census per block. */
static void ms_read_module(struct ms_state *st)
{
	FILE *f = fopen(MS_DEBUGFS "/blocks", "r");
	char line[512], zone[16], state[16], placement[16], owner[16], group[16], gid[16];
	unsigned long id, seq;
	long off, unm;
	struct ms_block *b;

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (line[0] == '#')
				continue;
			/* block start_pfn node zone state placement pages_buddy online_us
			 * onlines offlines owner to_kernel to_movable pages_offline
			 * pages_unmovable
			 */
			if (sscanf(line, "%lu %*s %*d %15s %15s %15s %*u %*u %*u %*u %15s %*u %*u %ld %ld",
				   &id, zone, state, placement, owner, &off, &unm) != 7)
				continue;
			b = ms_block_find(st, id);
			if (!b)
				continue;
			b->mod_seen = true;
			snprintf(b->placement, sizeof(b->placement), "%s", placement);
			snprintf(b->owner, sizeof(b->owner), "%s", owner);
			b->pages_offline = off;
			b->pages_unmovable = unm;
		}
		fclose(f);
	}
	f = fopen(MS_DEBUGFS "/decisions", "r");
	if (!f)
		return;
	/* seq block start_pfn group group_id ...: the last one per block wins. */
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' ||
		    sscanf(line, "%lu %lu %*s %15s %15s", &seq, &id, group, gid) != 4)
			continue;
		b = ms_block_find(st, id);
		if (b)
			snprintf(b->group, sizeof(b->group), "%s:%s", group, gid);
	}
	fclose(f);
}

/* Read a hot-plugged block's kpageflags and count its pages (status.c). */
static void ms_read_kpageflags(int fd, unsigned long long block_size, struct ms_block *b)
{
	unsigned long long pages = block_size / MS_PAGE;
	size_t len = pages * sizeof(__u64);
	__u64 *v = malloc(len);

	if (!v)
		return;
	if (pread(fd, v, len, b->id * len) == (ssize_t)len)
		ms_count_pages(v, pages, b);
	free(v);
}

static void ms_print_text(const struct ms_state *st, FILE *f)
{
	const struct ms_settings *s = &st->set;
	int i, nr_boot = 0;

	fprintf(f, "Settings\n");
	fprintf(f, "  %-22s %s\n", "kernel", s->kernel);
	fprintf(f, "  %-22s %s (auto_movable_ratio %s, numa aware %s)\n", "online_policy",
		s->online_policy, s->auto_movable_ratio, s->auto_movable_numa_aware);
	fprintf(f, "  %-22s %s\n", "auto_online_blocks", s->auto_online);
	fprintf(f, "  %-22s %s\n", "memmap_on_memory", s->memmap_on_memory);
	fprintf(f, "  %-22s %llu MiB\n", "block_size", s->block_size >> 20);
	fprintf(f, "  %-22s %s\n", "lockdown", s->lockdown);
	fprintf(f, "  %-22s %s", "virtio_mem", s->virtio_mem_loaded ? "loaded" : "not loaded");
	if (s->virtio_mem_loaded)
		fprintf(f, ", unplug_online %s", s->unplug_online);
	fprintf(f, "\n  %-22s %s", "mhp_online", s->module_loaded ? "loaded" : "not loaded");
	if (s->module_loaded) {
		fprintf(f, ", version %s,", s->module_version);
		for (i = 0; i < s->nr_params; i++)
			fprintf(f, " %s=%s", s->params[i].name, s->params[i].value);
	}
	fprintf(f, "\n  %-22s %s\n", "online_page_callback", s->callback);
	fprintf(f, "  %-22s %s\n", "memmap-chains",
		s->tracer_pinned ? "pinned: memmap-chains --summary says which block pins which" :
				   "not pinned");

	fprintf(f, "\nBlocks\n  %-6s %-25s %-4s %-8s %-8s %-12s %-16s %-9s %-8s %-9s %s\n",
		"BLOCK", "RANGE", "NODE", "STATE", "ZONE", "DEVICE", "GROUP", "PLACEMENT",
		"OWNER", "REMOVABLE", "WHY");
	for (i = 0; i < st->nr_blocks; i++) {
		const struct ms_block *b = &st->blocks[i];
		unsigned long long a = b->id * s->block_size;

		/* Boot memory in one line: it never changes and is never removed. */
		if (st->devs[b->dev].kind == MS_DEV_BOOT) {
			nr_boot++;
			continue;
		}
		fprintf(f, "  %-6lu 0x%010llx-0x%010llx %-4d %-8s %-8s %-12s %-16s %-9s %-8s %-9s %s\n",
			b->id, a, a + s->block_size - 1, b->node, b->state, b->zone,
			st->devs[b->dev].kind == MS_DEV_BOOT ? "boot" : st->devs[b->dev].name,
			b->group[0] ? b->group : "-", b->mod_seen ? b->placement : "-",
			b->mod_seen ? b->owner : "-", ms_removable_str[b->removable], b->why);
	}

	fprintf(f, "  (boot memory: %d blocks, %llu MiB, not removable)\n", nr_boot,
		nr_boot * s->block_size >> 20);

	fprintf(f, "\nDevices\n  %-12s %-10s %-12s %-14s %s\n", "DEVICE", "KIND", "PLUGGED_MIB",
		"REMOVABLE_MIB", "WHY");
	for (i = 1; i < st->nr_devs; i++) {
		const struct ms_device *d = &st->devs[i];

		fprintf(f, "  %-12s %-10s %-12llu %-14llu %s\n", d->name, ms_dev_kind_str[d->kind],
			d->plugged >> 20, d->removable >> 20, d->why[0] ? d->why : "-");
	}
	fprintf(f, "\nRemovable now: %llu MiB of %llu MiB hot-plugged\n", ms_total(st, true) >> 20,
		ms_total(st, false) >> 20);
}

static void ms_print_json(const struct ms_state *st, FILE *f)
{
	const struct ms_settings *s = &st->set;
	struct json_writer w;
	int i;

	jw_init(&w, f, 2);
	jw_start_object(&w);
	jw_uint_field(&w, "version", 1);
	jw_key(&w, "settings");
	jw_start_object(&w);
	jw_string_field(&w, "kernel", s->kernel);
	jw_string_field(&w, "online_policy", s->online_policy);
	jw_string_field(&w, "auto_movable_ratio", s->auto_movable_ratio);
	jw_string_field(&w, "auto_movable_numa_aware", s->auto_movable_numa_aware);
	jw_string_field(&w, "memmap_on_memory", s->memmap_on_memory);
	jw_string_field(&w, "auto_online_blocks", s->auto_online);
	jw_uint_field(&w, "block_size", s->block_size);
	jw_string_field(&w, "lockdown", s->lockdown);
	jw_bool_field(&w, "virtio_mem_loaded", s->virtio_mem_loaded);
	jw_string_field(&w, "virtio_mem_unplug_online", s->unplug_online);
	jw_bool_field(&w, "module_loaded", s->module_loaded);
	jw_string_field(&w, "module_version", s->module_version);
	jw_key(&w, "module_params");
	jw_start_object(&w);
	for (i = 0; i < s->nr_params; i++)
		jw_string_field(&w, s->params[i].name, s->params[i].value);
	jw_end_object(&w);
	jw_string_field(&w, "online_page_callback", s->callback);
	jw_bool_field(&w, "tracer_pinned", s->tracer_pinned);
	jw_end_object(&w);

	jw_key(&w, "memory");
	jw_start_array(&w);
	for (i = 0; i < st->nr_blocks; i++) {
		const struct ms_block *b = &st->blocks[i];

		jw_start_object(&w);
		jw_uint_field(&w, "block", b->id);
		jw_uint_field(&w, "start", b->id * s->block_size);
		jw_int_field(&w, "node", b->node);
		jw_string_field(&w, "state", b->state);
		jw_string_field(&w, "zone", b->zone);
		jw_string_field(&w, "device", st->devs[b->dev].kind == MS_DEV_BOOT ? "boot" :
					      st->devs[b->dev].name);
		jw_key(&w, "group");
		jw_string_or_null(&w, b->group[0] ? b->group : NULL);
		jw_key(&w, "placement");
		jw_string_or_null(&w, b->mod_seen ? b->placement : NULL);
		jw_key(&w, "owner");
		jw_string_or_null(&w, b->mod_seen ? b->owner : NULL);
		jw_int_field(&w, "pages_unmovable", b->pages_unmovable);
		jw_key(&w, "kpageflags");
		if (b->kpf_read) {
			jw_start_object(&w);
			jw_uint_field(&w, "slab", b->slab);
			jw_uint_field(&w, "pgtable", b->pgtable);
			jw_uint_field(&w, "other", b->other);
			jw_uint_field(&w, "offline", b->offline);
			jw_uint_field(&w, "stuck_subblocks", b->stuck_subblocks);
			jw_end_object(&w);
		} else {
			jw_null(&w);
		}
		jw_uint_field(&w, "plugged_bytes", b->plugged);
		jw_string_field(&w, "removable", ms_removable_str[b->removable]);
		jw_uint_field(&w, "removable_bytes", b->removable_bytes);
		jw_string_field(&w, "why", b->why);
		jw_end_object(&w);
	}
	jw_end_array(&w);

	jw_key(&w, "devices");
	jw_start_array(&w);
	for (i = 1; i < st->nr_devs; i++) {
		const struct ms_device *d = &st->devs[i];

		jw_start_object(&w);
		jw_string_field(&w, "device", d->name);
		jw_string_field(&w, "kind", ms_dev_kind_str[d->kind]);
		jw_uint_field(&w, "plugged_bytes", d->plugged);
		jw_uint_field(&w, "removable_bytes", d->removable);
		jw_key(&w, "why");
		jw_string_or_null(&w, d->why[0] ? d->why : NULL);
		jw_end_object(&w);
	}
	jw_end_array(&w);
	jw_uint_field(&w, "plugged_bytes", ms_total(st, false));
	jw_uint_field(&w, "removable_bytes", ms_total(st, true));
	jw_end_object(&w);
	jw_finish(&w);
}

/* node_exporter textfile collector format; written whole, then renamed. */
static int ms_write_textfile(const struct ms_state *st, const char *path)
{
	char tmp[4096];
	FILE *f;
	int i;

	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, getpid());
	f = fopen(tmp, "w");
	if (!f) {
		ms_err("%s: %s", tmp, strerror(errno));
		return -1;
	}
	fprintf(f, "# HELP mhp_removable_bytes Hot-plugged memory that could be removed now.\n"
		   "# TYPE mhp_removable_bytes gauge\n");
	for (i = 1; i < st->nr_devs; i++)
		fprintf(f, "mhp_removable_bytes{device=\"%s\",kind=\"%s\"} %llu\n",
			st->devs[i].name, ms_dev_kind_str[st->devs[i].kind], st->devs[i].removable);
	fprintf(f, "mhp_removable_bytes{device=\"total\",kind=\"total\"} %llu\n",
		ms_total(st, true));
	fprintf(f, "# HELP mhp_plugged_bytes Hot-plugged memory plugged now.\n"
		   "# TYPE mhp_plugged_bytes gauge\n");
	for (i = 1; i < st->nr_devs; i++)
		fprintf(f, "mhp_plugged_bytes{device=\"%s\",kind=\"%s\"} %llu\n",
			st->devs[i].name, ms_dev_kind_str[st->devs[i].kind], st->devs[i].plugged);
	fprintf(f, "# HELP mhp_block_unmovable_pages Pages that would stop offlining the block (-1: unknown).\n"
		   "# TYPE mhp_block_unmovable_pages gauge\n");
	for (i = 0; i < st->nr_blocks; i++)
		if (st->devs[st->blocks[i].dev].kind != MS_DEV_BOOT)
			fprintf(f, "mhp_block_unmovable_pages{block=\"%lu\",zone=\"%s\"} %ld\n",
				st->blocks[i].id, st->blocks[i].zone,
				st->blocks[i].pages_unmovable);
	if (fclose(f) || rename(tmp, path)) {
		ms_err("%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void ms_usage(FILE *f)
{
	fprintf(f,
		"usage: mhp-status [-J] [--textfile FILE]\n"
		"\n"
		"What decides memory hot(un)plug here (kernel online policy, auto-onlining,\n"
		"memmap_on_memory, virtio_mem, lockdown, mhp_online and its parameters, who\n"
		"holds the online_page callback), one line per memory block (zone, state,\n"
		"device, group, placement, removable now and why) and per device the bytes\n"
		"that could be removed now. Needs root (reads /proc/kpageflags, /proc/iomem\n"
		"and mhp_online's debugfs).\n"
		"\n"
		"  -J, --json         JSON (schema: mhp-status.schema.json)\n"
		"  --textfile FILE    also write node_exporter textfile metrics to FILE\n"
		"  --schema           print the JSON schema of -J and exit\n"
		"  -V, --version      print the version and exit\n"
		"  -h, --help         this text\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "textfile", required_argument, NULL, 't' },
		{ "schema", no_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct ms_state st = { };
	const char *textfile = NULL;
	bool json = false;
	int c, fd, i, ret = 0;

	while ((c = getopt_long(argc, argv, "JhV", opts, NULL)) != -1) {
		switch (c) {
		case 'J':
			json = true;
			break;
		case 't':
			textfile = optarg;
			break;
		case 's':
			fwrite(ms_schema, 1, sizeof(ms_schema), stdout);
			return fflush(stdout) ? 1 : 0;
		case 'h':
			ms_usage(stdout);
			return 0;
		case 'V':
			printf("mhp-status 1.0\n");
			return 0;
		default:
			fprintf(stderr, "usage: mhp-status [-J] [--textfile FILE] (--help: what it shows)\n");
			return 2;
		}
	}
	if (optind < argc) {
		ms_err("unexpected argument '%s' (--help: usage)", argv[optind]);
		return 2;
	}
	if (geteuid()) {
		ms_err("needs root: /proc/kpageflags, /proc/iomem addresses and debugfs are root's");
		return 1;
	}
	ms_read_settings(&st.set);
	if (!st.set.block_size) {
		ms_err("%s/block_size_bytes unreadable: no memory hotplug support", MS_SYS_MEM);
		return 1;
	}
	ms_add_dev(&st, MS_DEV_BOOT, "boot", 0, 0);
	ms_find_vmem(&st);
	if (ms_read_blocks(&st))
		return 1;
	ms_read_module(&st);
	fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		ms_err("/proc/kpageflags: %s: no page kinds, the module's census only",
		       strerror(errno));
	for (i = 0; fd >= 0 && i < st.nr_blocks; i++)
		if (st.blocks[i].dev && !strcmp(st.blocks[i].state, "online"))
			ms_read_kpageflags(fd, st.set.block_size, &st.blocks[i]);
	if (fd >= 0)
		close(fd);
	ms_judge_devices(&st);

	if (json)
		ms_print_json(&st, stdout);
	else
		ms_print_text(&st, stdout);
	if (textfile && ms_write_textfile(&st, textfile))
		ret = 1;
	if (fflush(stdout) || ferror(stdout)) {
		ms_err("writing the output: %s", strerror(errno));
		ret = 1;
	}
	free(st.blocks);
	return ret;
}
