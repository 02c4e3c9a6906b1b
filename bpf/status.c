// SPDX-License-Identifier: GPL-2.0
/*
 * mhp-status: what could be removed now, decided from what was read
 * (mhp-status.c reads, this file judges; the model is at the top of
 * mhp-status.c). A block: boot memory never; offline always; online in
 * ZONE_MOVABLE always (offlining does not look for unmovable pages there);
 * online in a kernel zone when mhp_online's census found nothing that
 * would stop offlining, else by its kpageflags. A device: a DIMM its size
 * when every block is removable, else 0; a virtio-mem device its plugged
 * bytes less the sub-blocks holding kernel memory.
 */
#include <stdio.h>
#include <string.h>

#include "status.h"

const char *const ms_dev_kind_str[] = {
	[MS_DEV_BOOT] = "boot",
	[MS_DEV_DIMM] = "dimm",
	[MS_DEV_VMEM] = "virtio-mem",
};

const char *const ms_removable_str[] = {
	[MS_REM_NO] = "no",
	[MS_REM_YES] = "yes",
	[MS_REM_UNKNOWN] = "unknown",
};

static bool ms_bit(__u64 v, int bit)
{
	return v >> bit & 1;
}

/* A page that offlining can neither skip nor migrate, as far as its flags tell. */
static bool ms_kpf_unmovable(__u64 v)
{
	if (ms_bit(v, KPF_NOPAGE) || ms_bit(v, KPF_BUDDY) || ms_bit(v, KPF_OFFLINE))
		return false;
	return !(ms_bit(v, KPF_LRU) || ms_bit(v, KPF_THP) || ms_bit(v, KPF_HUGE) ||
		 ms_bit(v, KPF_ANON) || ms_bit(v, KPF_MMAP));
}

/* What the pages of an online hot-plugged block are: their kpageflags. */
void ms_count_pages(const __u64 *v, unsigned long long pages, struct ms_block *b)
{
	unsigned long long per_sub = MS_SUBBLOCK / MS_PAGE, i;
	bool stuck = false;

	for (i = 0; i < pages; i++) {
		if (i % per_sub == 0)
			stuck = false;
		if (ms_bit(v[i], KPF_OFFLINE))
			b->offline++;
		if (!ms_kpf_unmovable(v[i]))
			continue;
		if (ms_bit(v[i], KPF_SLAB))
			b->slab++;
		else if (ms_bit(v[i], KPF_PGTABLE))
			b->pgtable++;
		else
			b->other++;
		if (!stuck)
			b->stuck_subblocks++;
		stuck = true;
	}
	b->kpf_read = true;
}

/* Why a block in a kernel zone has no census. */
static const char *ms_unknown_why(const struct ms_state *st, const struct ms_block *b)
{
	if (!st->set.module_loaded)
		return "no page census: mhp_online is not loaded";
	if (!b->mod_seen)
		return "onlined before mhp_online was loaded";
	/* The module shows -1 when the kernel held the lock it needs. */
	return "no page census: the kernel held the device hotplug lock, ask again";
}

static void ms_judge_block(const struct ms_state *st, struct ms_block *b)
{
	unsigned long long bs = st->set.block_size;
	const struct ms_device *d = &st->devs[b->dev];
	long offline = b->pages_offline >= 0 ? b->pages_offline : (long)b->offline;

	if (d->kind == MS_DEV_BOOT) {
		b->removable = MS_REM_NO;
		snprintf(b->why, sizeof(b->why), "boot memory");
		return;
	}
	if (strcmp(b->state, "online")) {
		/* Present but holding nothing: removing it returns all of it. */
		b->removable = MS_REM_YES;
		b->plugged = bs;
		b->removable_bytes = bs;
		snprintf(b->why, sizeof(b->why), "%s", b->state);
		return;
	}
	b->plugged = bs - (unsigned long long)offline * MS_PAGE;
	if (!strcmp(b->zone, "Movable")) {
		/*
		 * has_unmovable_pages() does not look into ZONE_MOVABLE: what
		 * is there migrates by construction (a page briefly off the
		 * LRU, in a per-CPU batch, is drained first).
		 */
		b->removable = MS_REM_YES;
		b->removable_bytes = b->plugged;
		snprintf(b->why, sizeof(b->why), "-");
		return;
	}
	if (b->mod_seen && b->pages_unmovable >= 0)
		b->removable = b->pages_unmovable ? MS_REM_NO : MS_REM_YES;
	else if (b->kpf_read && (b->slab || b->pgtable))
		b->removable = MS_REM_NO;
	else
		b->removable = MS_REM_UNKNOWN;
	if (b->removable == MS_REM_NO && b->kpf_read)
		snprintf(b->why, sizeof(b->why), "holds kernel memory: %lu slab, %lu page-table, %lu other pages",
			 b->slab, b->pgtable, b->other);
	else if (b->removable == MS_REM_NO)
		snprintf(b->why, sizeof(b->why), "holds kernel memory (%ld allocations the kernel cannot move)",
			 b->pages_unmovable);
	else if (b->removable == MS_REM_UNKNOWN)
		snprintf(b->why, sizeof(b->why), "%s", ms_unknown_why(st, b));
	else
		snprintf(b->why, sizeof(b->why), "-");

	if (b->removable == MS_REM_YES) {
		b->removable_bytes = b->plugged;
	} else if (d->kind == MS_DEV_VMEM && b->removable == MS_REM_NO && b->kpf_read) {
		/*
		 * virtio-mem takes what it can: sub-blocks without such pages.
		 * The census saw one, so at least one sub-block stays even
		 * when its flags tell nothing (a reserved page).
		 */
		unsigned long long keep = b->stuck_subblocks ? b->stuck_subblocks : 1;

		keep *= MS_SUBBLOCK;
		b->removable_bytes = b->plugged > keep ? b->plugged - keep : 0;
	}
	if (d->kind == MS_DEV_VMEM && !strcmp(st->set.unplug_online, "N")) {
		b->removable_bytes = 0;
		snprintf(b->why, sizeof(b->why), "virtio_mem.unplug_online=N: online memory stays");
	}
}

void ms_judge_devices(struct ms_state *st)
{
	int i;

	for (i = 0; i < st->nr_blocks; i++) {
		struct ms_block *b = &st->blocks[i];
		struct ms_device *d = &st->devs[b->dev];

		ms_judge_block(st, b);
		if (d->kind == MS_DEV_BOOT)
			continue;
		d->plugged += b->plugged;
		d->removable += b->removable_bytes;
		if (d->kind == MS_DEV_DIMM && b->removable != MS_REM_YES && !d->why[0])
			snprintf(d->why, sizeof(d->why), "block %lu: %.120s", b->id, b->why);
	}
	/* A DIMM goes whole or not at all. */
	for (i = 0; i < st->nr_devs; i++)
		if (st->devs[i].kind == MS_DEV_DIMM && st->devs[i].why[0])
			st->devs[i].removable = 0;
}

unsigned long long ms_total(const struct ms_state *st, bool removable)
{
	unsigned long long t = 0;
	int i;

	for (i = 1; i < st->nr_devs; i++)
		t += removable ? st->devs[i].removable : st->devs[i].plugged;
	return t;
}
