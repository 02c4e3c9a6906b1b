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
 *    Readers (the kprobe pre-handler, the memory notifier, the adaptive
 *    watcher, parameter reads, debugfs) take rcu_read_lock() and see one
 *    consistent copy. The online_page callback uses the snapshot
 *    MEM_GOING_ONLINE took in cur, so a change applies from the next block
 *    onlined, never mid-block.
 *  - cb_state, cb_drivers, cb_aside_for: who holds the kernel's single
 *    online_page_callback slot, and which drivers that may want it are
 *    loaded. Changed under cb_lock only (module init/exit, module notifier).
 *  - cur: the onlining in progress. The kernel onlines one range at a time
 *    (mem_hotplug_lock held for writing around online_pages()), and the
 *    memory notifier (MEM_GOING_ONLINE .. MEM_ONLINE) and the callback run
 *    in that same thread, so cur needs no lock of its own. Module exit
 *    touches it only after the callback is given back and the memory
 *    notifier is unregistered.
 *  - stash: decisions made by the kprobe pre-handler, keyed by start pfn,
 *    waiting for MEM_GOING_ONLINE to say the onlining really happens
 *    (sysfs valid_zones runs the same probed function). stash_lock.
 *  - log: bounded ring of committed decisions. log_lock.
 *  - blocks: one record per memory block seen onlined. rec_lock.
 *  - groups: the dynamic memory groups' present pages as the last
 *    MEM_ONLINE/MEM_OFFLINE left them, for valid_zones reads. groups_lock.
 *  - probe_state: whether the zone policy can act (zone probe registered,
 *    kprobes armed). Written by init and by mhp_zone_probe_check(), read
 *    anywhere; a plain word.
 *  - adapt: the adaptive watcher's thread and per-node clocks (touched by
 *    that thread only) and its counters (atomic).
 */
#ifndef _MHP_ONLINE_H
#define _MHP_ONLINE_H

#include <linux/kprobes.h>
#include <linux/memory.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/rcupdate.h>
#include <linux/siphash.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "mhp_adapt_policy.h"
#include "mhp_policy.h"

/* The release: MODULE_VERSION, and the DKMS package's version (Makefile). */
#define MHP_VERSION	"0.1.0"

/* Where the pages of a freshly onlined block go in the buddy freelists. */
enum mhp_placement {
	MHP_PLACE_TAIL,		/* tail: allocated last (stock since 5.10) */
	MHP_PLACE_HEAD,		/* head: allocated first (before 5.10) */
	MHP_PLACE_OTHER,	/* not ours: callback held elsewhere or untracked */
};

static inline const char *mhp_placement_str(enum mhp_placement p)
{
	switch (p) {
	case MHP_PLACE_TAIL:
		return "tail";
	case MHP_PLACE_HEAD:
		return "head";
	case MHP_PLACE_OTHER:
		return "other";
	}
	return "?";
}

/* Whether the zone of a block onlined as plain "online" is ours to choose. */
enum mhp_zone_mode {
	MHP_ZONE_POLICY_OFF,	  /* decide nothing: the kernel's own choice */
	MHP_ZONE_POLICY_RATIO,	  /* mhp_policy_decide() chooses the zone */
	MHP_ZONE_POLICY_ADAPTIVE, /* mhp_adapt_policy.c chooses, and converts */
};

static inline const char *mhp_zone_mode_str(enum mhp_zone_mode m)
{
	switch (m) {
	case MHP_ZONE_POLICY_OFF:
		return "off";
	case MHP_ZONE_POLICY_RATIO:
		return "ratio";
	case MHP_ZONE_POLICY_ADAPTIVE:
		return "adaptive";
	}
	return "?";
}

/* Who holds the kernel's online_page_callback slot, from our side. */
enum mhp_cb_state {
	MHP_CB_NONE,		/* not tried yet, or given back at unload */
	MHP_CB_HELD,		/* our callback is installed */
	MHP_CB_BUSY,		/* another driver held it when we tried */
	MHP_CB_ASIDE,		/* left free: a driver that may need it is loaded */
};

static inline const char *mhp_cb_state_str(enum mhp_cb_state s)
{
	switch (s) {
	case MHP_CB_NONE:
		return "none";
	case MHP_CB_HELD:
		return "held";
	case MHP_CB_BUSY:
		return "busy";
	case MHP_CB_ASIDE:
		return "aside";
	}
	return "?";
}

/* Can the zone policy act on blocks being onlined? */
enum mhp_probe_state {
	MHP_PROBE_NONE,		/* zone_for_pfn_range could not be probed */
	MHP_PROBE_ARMED,	/* probe registered, kprobes enabled */
	MHP_PROBE_DISARMED,	/* probe registered, kprobes disabled globally */
};

static inline const char *mhp_probe_state_str(enum mhp_probe_state s)
{
	switch (s) {
	case MHP_PROBE_NONE:
		return "unavailable";
	case MHP_PROBE_ARMED:
		return "armed";
	case MHP_PROBE_DISARMED:
		return "disarmed";
	}
	return "?";
}

/* Can fresh pages be marked as reported (mhp_report.c)? */
enum mhp_report_state {
	MHP_REPORT_UNAVAILABLE,	/* no page reporting, or its key not found */
	MHP_REPORT_IDLE,	/* no reporting device yet: nothing to skip */
	MHP_REPORT_TOUCHED,	/* init_on_free/poisoning writes fresh pages */
	MHP_REPORT_ACTIVE,	/* reporting on: fresh pages are marked */
};

static inline const char *mhp_report_state_str(enum mhp_report_state s)
{
	switch (s) {
	case MHP_REPORT_UNAVAILABLE:
		return "unavailable";
	case MHP_REPORT_IDLE:
		return "idle";
	case MHP_REPORT_TOUCHED:
		return "touched";
	case MHP_REPORT_ACTIVE:
		return "active";
	}
	return "?";
}

/* Who chose the zone of a block at its last onlining. */
enum mhp_block_owner {
	MHP_OWNER_KERNEL,	/* the kernel: zone policy off or not asked */
	MHP_OWNER_EXPLICIT,	/* someone asked online_kernel/online_movable */
	MHP_OWNER_RATIO,	/* zone_policy=ratio */
	MHP_OWNER_ADAPTIVE,	/* zone_policy=adaptive: it may convert it */
};

static inline const char *mhp_block_owner_str(enum mhp_block_owner o)
{
	switch (o) {
	case MHP_OWNER_KERNEL:
		return "kernel";
	case MHP_OWNER_EXPLICIT:
		return "explicit";
	case MHP_OWNER_RATIO:
		return "ratio";
	case MHP_OWNER_ADAPTIVE:
		return "adaptive";
	}
	return "?";
}

struct mhp_config {
	enum mhp_placement placement;
	enum mhp_zone_mode zone_policy;
	struct mhp_policy_params policy;	/* sizes in pages */
	struct mhp_adapt_params adapt;		/* sizes in pages, times in ms */
	unsigned long kernel_reserve_mb;	/* as the user wrote them */
	unsigned long granule_mb;
	unsigned long kernel_headroom_mb;
	bool granule_auto;			/* granule_mb never written */
	bool fresh_reported;			/* mark fresh pages reported */
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
	u32 group_id;			/* keyed hash of the group, 0 = none */
	enum mhp_zone_mode mode;	/* the policy in force when asked */
	bool decided;			/* false: left to the kernel */
	bool conversion;		/* the adaptive watcher moved the block */
	bool cancelled;			/* the onlining failed after the choice */
	int err;			/* conversion: 0 or why it failed */
	struct mhp_policy_decision d;
};

/* What the module knows about one memory block it saw onlined. */
struct mhp_block_rec {
	unsigned long block;		/* memory block id (memoryN) */
	unsigned long start_pfn;	/* range onlined last (after a block's */
	unsigned long nr_pages;		/* own memmap with memmap_on_memory) */
	int nid;
	const char *zone;		/* zone name at the last onlining */
	bool online;
	bool movable;			/* in ZONE_MOVABLE at the last onlining */
	enum mhp_placement placement;	/* placement used at the last onlining */
	enum mhp_block_owner owner;	/* who chose its zone */
	unsigned long pages_buddy;	/* pages our callback gave to the buddy */
	u64 online_us;			/* zone choice -> MEM_ONLINE, see blocks */
	unsigned int onlines, offlines;
	unsigned int to_kernel, to_movable;	/* adaptive conversions */
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
	bool conversion;		/* onlined by the adaptive watcher */
	u64 t_start;
	bool has_decision;
	struct mhp_decision_rec dec;
};

/* zone_policy=adaptive: the watcher (mhp_adapt.c) and what it keeps. */
struct mhp_adapt {
	struct task_struct *task;	/* the watcher thread, NULL if none */
	wait_queue_head_t wq;		/* it sleeps here between looks */
	unsigned long flags;		/* MHP_ADAPT_KICK */
	struct mhp_adapt_clock *clock;	/* per node id, the thread's own */
	struct kprobe kswapd_probe;	/* wakeup_kswapd(): look now */
	bool kswapd_probed;
	struct timer_list watchdog;	/* ends an offlining that hangs */
	atomic_long_t to_kernel, to_movable;	/* conversions done */
	atomic_long_t failed;		/* offline or online refused */
	atomic_long_t taken;		/* left offline, removed by its driver */
	atomic_long_t stranded;		/* left offline, and still there */
	atomic_long_t kicks, looks;
};

#define MHP_ADAPT_KICK	0		/* bit in mhp_adapt.flags */

#define MHP_STASH_NR	8
#define MHP_LOG_NR	256
#define MHP_GROUPS_NR	32

/*
 * A dynamic memory group as the last onlining or offlining left it, for
 * sysfs valid_zones reads (they must not walk the live groups).
 */
struct mhp_group_snap {
	unsigned long key;		/* the group's address: compared only */
	int nid;
	unsigned long movable, kernel;	/* present pages */
};

struct mhp_state {
	struct mhp_config configs[2];	/* published one + spare, see mhp_main.c */
	struct mhp_config __rcu *config;
	struct mutex config_lock;	/* serialises config writers */
	unsigned long block_pages;	/* pages per memory block */

	struct mutex cb_lock;		/* guards cb_state, cb_drivers, cb_aside_for */
	enum mhp_cb_state cb_state;
	unsigned long cb_drivers;	/* bit per loaded driver of mhp_callback.c */
	char cb_aside_for[MODULE_NAME_LEN];	/* driver we left it to */

	struct notifier_block memory_nb;
	struct notifier_block module_nb;
	struct kprobe zone_probe;
	enum mhp_probe_state probe_state;
	int probe_err;			/* why the probe is missing */
	struct kprobe canary_probe;	/* tells whether kprobes are armed */
	atomic_long_t canary_hits;
	siphash_key_t group_key;	/* group_id: no pointer leaks to users */

	struct mhp_onlining cur;

	spinlock_t stash_lock;		/* guards stash, stash_next */
	struct mhp_decision_rec stash[MHP_STASH_NR];
	unsigned int stash_next;

	spinlock_t log_lock;		/* guards log, log_seq */
	struct mhp_decision_rec log[MHP_LOG_NR];
	u64 log_seq;			/* decisions committed so far */

	spinlock_t rec_lock;		/* guards the fields of block records */
	struct xarray blocks;		/* block id -> struct mhp_block_rec */

	spinlock_t groups_lock;		/* guards groups, nr_groups, groups_full */
	struct mhp_group_snap groups[MHP_GROUPS_NR];
	unsigned int nr_groups;
	bool groups_full;		/* more groups than slots: reads count none */

	struct mhp_adapt adapt;

	/* Counters for the summary file. */
	atomic_long_t nr_onlined, nr_offlined;
	atomic_long_t pages_tail, pages_head, pages_untracked;
	atomic_long_t pages_released_late;	/* kept chunks freed without MEM_ONLINE */
	atomic_long_t pages_fresh_reported;	/* fresh pages marked reported */
	atomic_long_t rec_alloc_failed;
	atomic_long_t probe_hits, probe_rewrites, probe_sysfs_reads;

	struct dentry *debugfs;
};

extern struct mhp_state mhp;

/* The block id of a memory block device (its number in sysfs). */
static inline unsigned long mhp_block_id(const struct memory_block *mem)
{
	return section_nr_to_pfn(mem->start_section_nr) / mhp.block_pages;
}

/* mhp_callback.c */
void mhp_callback_init(void);
void mhp_callback_give_back(void);
int mhp_module_notify(struct notifier_block *nb, unsigned long action,
		      void *data);
void mhp_head_release(struct mhp_onlining *cur);
void mhp_head_release_late(struct mhp_onlining *cur, const char *why);

/* mhp_account.c */
int mhp_memory_notify(struct notifier_block *nb, unsigned long action,
		      void *data);
void mhp_account_exit(void);
void mhp_account_free(void);
struct mhp_block_rec *mhp_block_rec_find(unsigned long block);

/* mhp_census.c */
struct mhp_census {
	unsigned long free;		/* buddy or unreferenced: offlining takes them */
	unsigned long offline;		/* PageOffline: unplugged or ballooned */
	unsigned long unmovable;	/* one of them makes offlining fail */
};

void mhp_block_census(unsigned long start_pfn, unsigned long nr_pages,
		      struct mhp_census *c);

/* mhp_zone.c */
int mhp_zone_init(void);
void mhp_zone_exit(void);
enum mhp_probe_state mhp_zone_probe_check(void);
bool mhp_stash_take(unsigned long pfn, struct mhp_decision_rec *out);
void mhp_log_commit(struct mhp_decision_rec *rec);
u32 mhp_group_id(const struct memory_group *group);
void mhp_zone_groups_snapshot(void);
const char *mhp_online_type_str(int online_type);

/* mhp_kfuncs.c */
int mhp_kfuncs_init(void);
bool mhp_kfuncs_can_walk_groups(void);
bool mhp_kfuncs_can_convert(void);
bool mhp_kfuncs_can_trylock(void);
const char *mhp_kfuncs_missing(void);
void *mhp_ksym_data(const char *name);
int mhp_walk_dynamic_groups(int nid, walk_memory_groups_func_t func,
			    struct memory_group *excluded, void *arg);
void mhp_lock_device_hotplug(void);
bool mhp_trylock_device_hotplug(unsigned int ms);
void mhp_unlock_device_hotplug(void);
int mhp_device_online(struct device *dev);
int mhp_device_offline(struct device *dev);
struct memory_block *mhp_find_memory_block(unsigned long block);

/* mhp_report.c */
void mhp_report_init(void);
enum mhp_report_state mhp_report_state(void);
void mhp_report_fresh(unsigned long start_pfn, unsigned long nr_pages);

/* mhp_convert.c */
int mhp_convert_block(struct memory_block *mem, bool to_movable,
		      bool *left_offline);
void mhp_convert_watchdog_fire(struct timer_list *t);

/* mhp_adapt.c */
int mhp_adapt_init(void);
void mhp_adapt_exit(void);
void mhp_adapt_wake(void);
void mhp_adapt_gather_online(int nid, struct mhp_adapt_online_req *r);

/* mhp_debugfs.c */
void mhp_debugfs_init(void);
void mhp_debugfs_exit(void);

#endif /* _MHP_ONLINE_H */
