/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mhp-status: the machine's memory as the tool sees it (settings, blocks,
 * devices) and the judgement of what could be removed now (status.c):
 * pure functions over these structs, so the host tests can feed them
 * made-up machines (tests/host/status_test.c).
 */
#ifndef __STATUS_H
#define __STATUS_H

#include <stdbool.h>
#include <linux/types.h>

#define MS_PAGE		4096ULL
/* virtio-mem's sub-block on x86 with QEMU's default 2 MiB device blocks. */
#define MS_SUBBLOCK	(2ULL << 20)
#define MS_MAX_PARAMS	32

/* kernel-page-flags.h */
#define KPF_SLAB	7
#define KPF_BUDDY	10
#define KPF_LRU		5
#define KPF_MMAP	11
#define KPF_ANON	12
#define KPF_HUGE	17
#define KPF_THP		22
#define KPF_NOPAGE	20
#define KPF_OFFLINE	23
#define KPF_PGTABLE	26

enum ms_dev_kind {
	MS_DEV_BOOT,		/* boot memory: never removable */
	MS_DEV_DIMM,		/* ACPI memory device: removed whole */
	MS_DEV_VMEM,		/* virtio-mem device: unplugged in sub-blocks */
};

extern const char *const ms_dev_kind_str[];

enum ms_removable {
	MS_REM_NO,		/* a page of it would stop offlining */
	MS_REM_YES,		/* offline, or online with nothing unmovable */
	MS_REM_UNKNOWN,		/* no census (module not loaded or not told) */
};

extern const char *const ms_removable_str[];

struct ms_param {
	char name[48];
	char value[64];
};

struct ms_settings {
	char kernel[128];
	char online_policy[32];
	char auto_movable_ratio[16];
	char auto_movable_numa_aware[8];
	char memmap_on_memory[16];
	char auto_online[32];
	char lockdown[32];
	unsigned long long block_size;
	bool virtio_mem_loaded;
	char unplug_online[8];
	bool module_loaded;
	char module_version[32];
	struct ms_param params[MS_MAX_PARAMS];
	int nr_params;
	char callback[64];	/* who holds the online_page callback */
	bool tracer_pinned;	/* memmap-chains runs from boot (--pin) */
};

struct ms_block {
	unsigned long id;
	int node;
	char state[16];
	char zone[16];
	int dev;			/* index into devices */
	/* from mhp_online's debugfs (census -1: not known) */
	bool mod_seen;
	char placement[16];
	char owner[16];
	char group[40];
	long pages_offline;
	long pages_unmovable;
	/* from /proc/kpageflags */
	bool kpf_read;
	unsigned long slab, pgtable, other, offline;
	unsigned long stuck_subblocks;	/* 2 MiB parts holding unmovable pages */
	/* verdict */
	enum ms_removable removable;
	unsigned long long plugged;
	unsigned long long removable_bytes;
	char why[160];
};

struct ms_device {
	enum ms_dev_kind kind;
	char name[32];
	unsigned long long start, end;	/* end exclusive; 0/0 for boot */
	unsigned long long plugged;
	unsigned long long removable;
	char why[160];
};

struct ms_state {
	struct ms_settings set;
	struct ms_block *blocks;
	int nr_blocks;
	struct ms_device devs[64];
	int nr_devs;
};

/* Count a block's pages by kind from its /proc/kpageflags values. */
void ms_count_pages(const __u64 *v, unsigned long long pages, struct ms_block *b);
/* Judge every block, then sum per device (a DIMM whole or nothing). */
void ms_judge_devices(struct ms_state *st);
/* Hot-plugged bytes in total, or the removable ones. */
unsigned long long ms_total(const struct ms_state *st, bool removable);

#endif /* __STATUS_H */
