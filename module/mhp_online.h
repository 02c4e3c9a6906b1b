/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mhp_online: shared state of the module.
 *
 * The module has ONE state object, struct mhp_state mhp, defined in
 * mhp_main.c. Its parts and who touches them:
 *
 *  - config: what the user asked for (placement, zone policy parameters).
 *    Published through RCU: a parameter write builds a new copy in the
 *    spare of two static slots under config_lock, validates it, swaps the
 *    pointer and waits for a grace period before the old slot is reused.
 *    Readers (the kprobe pre-handler, the memory notifier, parameter
 *    reads, debugfs) take rcu_read_lock() and see one consistent copy. The
 *    online_page callback uses the snapshot MEM_GOING_ONLINE took in cur,
 *    so a change applies from the next block onlined, never mid-block.
 *  - cb_state: who holds the kernel's single online_page_callback slot.
 *    Changed under cb_lock only (module init/exit, module notifier).
 *  - cur: the onlining in progress. The kernel onlines one range at a time
 *    (mem_hotplug_lock held for writing around online_pages()), and the
 *    memory notifier (MEM_GOING_ONLINE .. MEM_ONLINE) and the callback run
 *    in that same thread, so cur needs no lock of its own; cur.active is
 *    read by module exit to wait for an onlining to finish.
 *  - stash: decisions made by the kprobe pre-handler, keyed by start pfn,
 *    waiting for MEM_GOING_ONLINE to say the onlining really happens
 *    (sysfs valid_zones runs the same probed function). stash_lock.
 *  - log: bounded ring of committed decisions. log_lock.
 *  - blocks: one record per memory block seen onlined. rec_lock.
 */
#ifndef _MHP_ONLINE_H
#define _MHP_ONLINE_H

#include <linux/kprobes.h>
#include <linux/memory.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "mhp_policy.h"

/* Where the pages of a freshly onlined block go in the buddy freelists. */
enum mhp_placement {
	MHP_PLACE_TAIL,		/* tail: allocated last (stock since 5.10) */
	MHP_PLACE_HEAD,		/* head: allocated first (before 5.10) */
	MHP_PLACE_OTHER,	/* not ours: callback held elsewhere or untracked */
};

/* Whether the zone of a block onlined as plain "online" is ours to choose. */
enum mhp_zone_mode {
	MHP_ZONE_POLICY_OFF,	/* decide nothing: the kernel's own choice */
	MHP_ZONE_POLICY_RATIO,	/* mhp_policy_decide() chooses the zone */
};

/* Who holds the kernel's online_page_callback slot, from our side. */
enum mhp_cb_state {
	MHP_CB_NONE,		/* not tried yet, or given back at unload */
	MHP_CB_HELD,		/* our callback is installed */
	MHP_CB_BUSY,		/* another driver held it when we tried */
	MHP_CB_ASIDE,		/* we gave it up for a driver being loaded */
};

struct mhp_config {
	enum mhp_placement placement;
	enum mhp_zone_mode zone_policy;
	struct mhp_policy_params policy;	/* sizes in pages */
	unsigned long kernel_reserve_mb;	/* as the user wrote them */
	unsigned long granule_mb;
};

/* One zone decision (or the note that there was none to make). */
struct mhp_decision_rec {
	u64 seq;			/* commit order, 0 while stashed */
	u64 t_ns;			/* ktime_get_ns() when the probe ran */
	unsigned long start_pfn;	/* first pfn of the block asked about */
	unsigned long nr_pages;
	int nid;
	int online_type;		/* MMOP_* the kernel asked with */
	enum mhp_group_kind group_kind;
	u32 group_id;			/* hashed group pointer, 0 = none */
	bool decided;			/* false: left to the kernel */
	bool policy_off;		/* why not decided: policy off */
	struct mhp_policy_decision d;
};

/* What the module knows about one memory block it saw onlined. */
struct mhp_block_rec {
	unsigned long block;		/* memory block id (memoryN) */
	int nid;
	const char *zone;		/* zone name at the last onlining */
	bool online;
	enum mhp_placement placement;	/* placement used at the last onlining */
	unsigned long pages_buddy;	/* pages our callback gave to the buddy */
	u64 online_us;			/* zone choice -> MEM_ONLINE, see blocks */
	unsigned int onlines, offlines;
};

/* The onlining in progress; see the comment on top for its locking. */
struct mhp_onlining {
	bool active;
	unsigned long start_pfn, nr_pages;
	enum mhp_placement placement;	/* snapshot of config at GOING_ONLINE */
	unsigned long kept_start;	/* pfn extent of chunks kept for head */
	unsigned long kept_end;
	unsigned long pages_buddy;	/* pages handed over (tail) or kept (head) */
	bool saw_callback;		/* our callback ran for this range */
	u64 t_start;
	bool has_decision;
	struct mhp_decision_rec dec;
};

#define MHP_STASH_NR	8
#define MHP_LOG_NR	256

struct mhp_state {
	struct mhp_config configs[2];	/* published one + spare, see mhp_main.c */
	struct mhp_config __rcu *config;
	struct mutex config_lock;	/* serialises config writers */
	unsigned long block_pages;	/* pages per memory block */

	struct mutex cb_lock;		/* guards cb_state, cb_aside_for */
	enum mhp_cb_state cb_state;
	char cb_aside_for[MODULE_NAME_LEN];	/* module we stepped aside for */

	struct notifier_block memory_nb;
	struct notifier_block module_nb;
	struct kprobe zone_probe;
	bool walk_groups;		/* other dynamic groups are counted */
	const char *walk_groups_why;	/* why not */

	struct mhp_onlining cur;
	wait_queue_head_t idle_wq;	/* woken when cur.active drops */

	spinlock_t stash_lock;		/* guards stash, stash_next */
	struct mhp_decision_rec stash[MHP_STASH_NR];
	unsigned int stash_next;

	spinlock_t log_lock;		/* guards log, log_seq */
	struct mhp_decision_rec log[MHP_LOG_NR];
	u64 log_seq;			/* decisions committed so far */

	spinlock_t rec_lock;		/* guards the fields of block records */
	struct xarray blocks;		/* block id -> struct mhp_block_rec */

	/* Counters for the summary file. */
	atomic_long_t nr_onlined, nr_offlined;
	atomic_long_t pages_tail, pages_head, pages_untracked;
	atomic_long_t rec_alloc_failed;
	atomic_long_t probe_hits, probe_rewrites, probe_sysfs_reads;

	struct dentry *debugfs;
};

extern struct mhp_state mhp;

/* mhp_main.c */
const char *mhp_placement_str(enum mhp_placement p);
const char *mhp_zone_mode_str(enum mhp_zone_mode m);
const char *mhp_cb_state_str(enum mhp_cb_state s);

/* mhp_callback.c */
void mhp_callback_take(void);
void mhp_callback_give_back(void);
int mhp_module_notify(struct notifier_block *nb, unsigned long action,
		      void *data);
void mhp_head_release(struct mhp_onlining *cur);

/* mhp_account.c */
int mhp_memory_notify(struct notifier_block *nb, unsigned long action,
		      void *data);
void mhp_account_wait_idle(void);
void mhp_account_free(void);

/* mhp_zone.c */
int mhp_zone_init(void);
void mhp_zone_exit(void);
bool mhp_stash_take(unsigned long pfn, struct mhp_decision_rec *out);
void mhp_log_commit(struct mhp_decision_rec *rec);
const char *mhp_online_type_str(int online_type);

/* mhp_debugfs.c */
void mhp_debugfs_init(void);
void mhp_debugfs_exit(void);

#endif /* _MHP_ONLINE_H */
