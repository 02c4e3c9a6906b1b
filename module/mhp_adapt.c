// SPDX-License-Identifier: GPL-2.0
/*
 * mhp_online: zone_policy=adaptive, the watcher (the policy itself is in
 * mhp_adapt_policy.c).
 *
 * One kernel thread, "mhp_adapt", looks at every node each
 * MHP_ADAPT_LOOK_MS while the policy is adaptive, and sooner when kswapd is
 * woken for an allocation that cannot use ZONE_MOVABLE (a kprobe on
 * wakeup_kswapd(): the kernel zones are getting short). A look reads the
 * node's numbers (free pages against the high watermarks, the module's
 * own blocks by zone), asks mhp_adapt_assess() what to do and, if a node
 * needs kernel memory or can give some back, converts at most one block:
 *
 *   1. take the device hotplug lock (as a sysfs write of memoryN/state
 *      does): nobody onlines, offlines or removes blocks until we are done;
 *   2. list the candidates: blocks whose zone the adaptive policy chose
 *      (owner "adaptive": never a block someone onlined explicitly as
 *      online_kernel/online_movable, nor one the kernel or the ratio policy
 *      placed), online, on the node, in the zone to leave; with their
 *      rank (lowest block of the DIMM for a static group, the block itself
 *      otherwise) and whether their DIMM already has kernel memory;
 *   3. order them with mhp_adapt_prefer(), scan the pages of the first few
 *      in that order (free, and for kernel-zone blocks unmovable pages, as
 *      offlining would find them) and convert the first one
 *      mhp_adapt_accept() takes (mhp_convert.c);
 *   4. log the conversion, or why none was possible, in the decision log;
 *   5. if the block went offline and neither zone would take it back,
 *      release the lock and watch it for up to MHP_ADAPT_SETTLE_MS: its
 *      driver may be removing it (virtio_mem refuses to online memory it
 *      is unplugging, see mhp_convert.c), which is its right and counts as
 *      taken by the driver; a block still there and offline is stranded.
 *
 * The thread allows SIGKILL so that an offlining can be ended: by the
 * watchdog of mhp_convert.c, and by module exit, which sets stopping, sends
 * the signal and stops the thread, so rmmod never waits for a migration.
 *
 * Locking: the per-node state is the thread's own. Candidates are gathered
 * and converted under the device hotplug lock, which the thread takes by
 * trying (mhp_adapt_lock()); block records are read under rec_lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/memory_hotplug.h>
#include <linux/mmzone.h>
#include <linux/nodemask.h>
#include <linux/page-flags.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "mhp_online.h"

#define MHP_ADAPT_LOOK_MS	250	/* between two looks while adaptive */
#define MHP_ADAPT_REST_MS	50	/* at least this after a look */
#define MHP_ADAPT_CANDS_MAX	1024	/* blocks considered per look */
#define MHP_ADAPT_SCAN_MAX	16	/* blocks scanned per look */
#define MHP_ADAPT_SETTLE_MS	10000	/* watch a block left offline this long */
#define MHP_ADAPT_SETTLE_STEP	(HZ / 10)	/* between two looks at it */
#define MHP_ADAPT_LOCK_TRY_MS	100	/* look for exit this often */

/* Per node, the watcher's own (mhp_adapt.nodes). */
struct mhp_adapt_nodestate {
	struct mhp_adapt_clock clock;
	bool refusal_logged;		/* once per episode of the same need */
};

static struct mhp_adapt_nodestate *mhp_adapt_nodes;
static bool mhp_adapt_stopping;

static bool mhp_adapt_active(void)
{
	bool active;

	rcu_read_lock();
	active = rcu_dereference(mhp.config)->zone_policy ==
		 MHP_ZONE_POLICY_ADAPTIVE;
	rcu_read_unlock();
	return active && mhp_kfuncs_can_convert();
}

static u64 mhp_adapt_now_ms(void)
{
	/* Never 0: the clock uses 0 for "not yet". */
	return div_u64(ktime_get_ns(), NSEC_PER_MSEC) + 1;
}

/* Headroom and free MOVABLE pages of one node's zones. */
static void mhp_adapt_read_node(int nid, struct mhp_adapt_node *n)
{
	pg_data_t *pgdat = NODE_DATA(nid);
	unsigned long free, high;
	struct zone *zone;
	int i;

	if (!pgdat)
		return;
	for (i = 0; i <= ZONE_MOVABLE; i++) {
		zone = pgdat->node_zones + i;
		if (!populated_zone(zone))
			continue;
		free = zone_page_state(zone, NR_FREE_PAGES);
		if (i == ZONE_MOVABLE) {
			n->movable_free += free;
			continue;
		}
		high = high_wmark_pages(zone);
		n->headroom += free > high ? free - high : 0;
	}
}

/* What the onlining path (the zone probe, atomic context) needs to know. */
void mhp_adapt_gather_online(int nid, struct mhp_adapt_online_req *r)
{
	struct mhp_adapt_node node = {}, all = {};
	int n;

	for_each_online_node(n)
		mhp_adapt_read_node(n, &all);
	if (nid >= 0 && nid < MAX_NUMNODES && node_online(nid))
		mhp_adapt_read_node(nid, &node);
	else
		node = all;
	r->headroom = node.headroom;
	r->global_headroom = all.headroom;
	r->movable_free = node.movable_free;
}

/*
 * Take the device hotplug lock, as sysfs writers do; false if the module
 * is going away first. The kernel holds the lock for as long as an
 * offlining retries, minutes if a page never migrates: trying it every few
 * milliseconds (mhp_trylock_device_hotplug()) instead of waiting in
 * mutex_lock() keeps the watcher out of a long uninterruptible sleep (no
 * hung-task report blames it), and looking for module exit every
 * MHP_ADAPT_LOCK_TRY_MS lets rmmod end the wait. Without the kernel's
 * mutex found, it waits as lock_device_hotplug() does.
 */
static bool mhp_adapt_lock(void)
{
	if (!mhp_kfuncs_can_trylock()) {
		mhp_lock_device_hotplug();
		return true;
	}
	while (!mhp_trylock_device_hotplug(MHP_ADAPT_LOCK_TRY_MS)) {
		if (READ_ONCE(mhp_adapt_stopping))
			return false;
		/* A signal is module exit's, or a stale one: do not spin. */
		flush_signals(current);
	}
	return true;
}

/* Count the policy's own blocks per zone on node nid. */
static void mhp_adapt_count_ours(int nid, struct mhp_adapt_node *n)
{
	struct mhp_block_rec *rec;
	unsigned long id;

	spin_lock(&mhp.rec_lock);
	xa_for_each(&mhp.blocks, id, rec) {
		if (!rec->online || rec->owner != MHP_OWNER_ADAPTIVE ||
		    rec->nid != nid)
			continue;
		if (rec->movable)
			n->ours_movable++;
		else
			n->ours_kernel++;
	}
	spin_unlock(&mhp.rec_lock);
}

static unsigned long mhp_block_start_pfn(const struct memory_block *mem)
{
	return section_nr_to_pfn(mem->start_section_nr);
}

/*
 * Free pages of an online block, and, if count_unmovable, the pages that
 * would stop offlining (mhp_census.c). Only the range the memory notifier
 * saw onlined is scanned: with memmap_on_memory the block's own memmap
 * comes first and is not offlined with it. The caller holds the device
 * hotplug lock, so the block stays online.
 */
static void mhp_adapt_scan(bool count_unmovable, struct mhp_adapt_cand *c)
{
	struct mhp_block_rec *rec = mhp_block_rec_find(c->block);
	unsigned long start, nr;
	struct mhp_census census;

	spin_lock(&mhp.rec_lock);
	start = rec->start_pfn;
	nr = rec->nr_pages;
	spin_unlock(&mhp.rec_lock);

	mhp_block_census(start, nr, &census);
	c->free = census.free;
	c->unmovable = count_unmovable ? census.unmovable : 0;
	c->scanned = true;
}

/* Removal rank: a DIMM by its first block, anything else by itself. */
static unsigned long mhp_adapt_rank(const struct memory_block *mem,
				    unsigned long block)
{
	const struct memory_group *g = mem->group;
	const struct memory_block *m;
	unsigned long rank = block;

	if (!g || g->is_dynamic)
		return block;
	list_for_each_entry(m, &g->memory_blocks, group_next)
		rank = min(rank, mhp_block_id(m));
	return rank;
}

static int mhp_adapt_cmp(const void *a, const void *b, const void *priv)
{
	enum mhp_adapt_action action = *(const enum mhp_adapt_action *)priv;

	if (mhp_adapt_prefer(action, a, b))
		return -1;
	if (mhp_adapt_prefer(action, b, a))
		return 1;
	return 0;
}

/* The policy's blocks on nid in the zone action leaves; returns how many. */
static int mhp_adapt_gather(int nid, enum mhp_adapt_action action,
			    struct mhp_adapt_cand *c, int max)
{
	bool movable = action == MHP_ADAPT_TO_KERNEL;
	struct mhp_block_rec *rec;
	struct memory_block *mem;
	unsigned long id;
	int nr = 0;

	spin_lock(&mhp.rec_lock);
	xa_for_each(&mhp.blocks, id, rec) {
		if (nr == max)
			break;
		if (rec->online && rec->owner == MHP_OWNER_ADAPTIVE &&
		    rec->nid == nid && rec->movable == movable)
			c[nr++] = (struct mhp_adapt_cand) { .block = id };
	}
	spin_unlock(&mhp.rec_lock);

	/* Group facts need the block device: we hold the hotplug lock. */
	for (id = 0; id < nr; id++) {
		mem = mhp_find_memory_block(c[id].block);
		if (!mem)
			continue;
		c[id].rank = mhp_adapt_rank(mem, c[id].block);
		c[id].group_has_kernel = mem->group && !mem->group->is_dynamic &&
					 mem->group->present_kernel_pages;
		put_device(&mem->dev);
	}
	sort_r(c, nr, sizeof(*c), mhp_adapt_cmp, NULL, &action);
	return nr;
}

/* Is mem still what the record said: online, in the zone we leave? */
static bool mhp_adapt_still_there(const struct memory_block *mem, bool movable)
{
	return mem->state == MEM_ONLINE && mem->zone &&
	       (zone_idx(mem->zone) == ZONE_MOVABLE) == movable;
}

static void mhp_adapt_log(int nid, const struct memory_block *mem,
			  enum mhp_adapt_action action,
			  const struct mhp_policy_decision *d, int err)
{
	struct mhp_decision_rec rec = {
		.t_ns = ktime_get_ns(),
		.start_pfn = mhp_block_start_pfn(mem),
		.nr_pages = mhp.block_pages,
		.nid = nid,
		.online_type = action == MHP_ADAPT_TO_KERNEL ?
			       MMOP_ONLINE_KERNEL : MMOP_ONLINE_MOVABLE,
		.mode = MHP_ZONE_POLICY_ADAPTIVE,
		.decided = true,
		.conversion = true,
		.err = err,
		.d = *d,
	};

	if (mem->group) {
		rec.group_kind = mem->group->is_dynamic ? MHP_GROUP_DYNAMIC :
							  MHP_GROUP_STATIC;
		rec.group_id = mhp_group_id(mem->group);
	}
	mhp_log_commit(&rec);
}

static void mhp_adapt_count(unsigned long block, enum mhp_adapt_action action)
{
	struct mhp_block_rec *rec = mhp_block_rec_find(block);

	if (action == MHP_ADAPT_TO_KERNEL)
		atomic_long_inc(&mhp.adapt.to_kernel);
	else
		atomic_long_inc(&mhp.adapt.to_movable);
	if (!rec)
		return;
	spin_lock(&mhp.rec_lock);
	if (action == MHP_ADAPT_TO_KERNEL)
		rec->to_kernel++;
	else
		rec->to_movable++;
	spin_unlock(&mhp.rec_lock);
}

/*
 * Try the candidates in order; convert the first one accepted. Returns
 * true if a block was tried (converted or failed), false if none was
 * acceptable (d then holds the first refusal). *left is set to the block
 * tried if it was left offline.
 */
static bool mhp_adapt_try(int nid, enum mhp_adapt_action action,
			  const struct mhp_adapt_params *p,
			  const struct mhp_adapt_node *n,
			  struct mhp_adapt_cand *c, int nr,
			  struct mhp_policy_decision *refusal,
			  struct memory_block **refused, long *left)
{
	bool movable = action == MHP_ADAPT_TO_KERNEL;
	struct mhp_policy_decision d;
	struct memory_block *mem;
	int i, scanned = 0, err;
	bool offline;

	for (i = 0; i < nr && scanned < MHP_ADAPT_SCAN_MAX; i++) {
		if (READ_ONCE(mhp_adapt_stopping))
			return false;
		mem = mhp_find_memory_block(c[i].block);
		if (!mem)
			continue;
		if (!mhp_adapt_still_there(mem, movable)) {
			put_device(&mem->dev);
			continue;
		}
		mhp_adapt_scan(!movable, &c[i]);
		scanned++;
		if (!mhp_adapt_accept(p, action, &c[i], n, &d)) {
			if (!*refused) {
				*refusal = d;
				*refused = mem;		/* keeps the reference */
			} else {
				put_device(&mem->dev);
			}
			continue;
		}
		err = mhp_convert_block(mem, action == MHP_ADAPT_TO_MOVABLE,
					&offline);
		if (err)
			atomic_long_inc(&mhp.adapt.failed);
		else
			mhp_adapt_count(c[i].block, action);
		if (offline)
			*left = c[i].block;
		mhp_adapt_log(nid, mem, action, &d, err);
		put_device(&mem->dev);
		return true;
	}
	return false;
}

/* What became of a block a conversion left offline. */
enum mhp_adapt_fate {
	MHP_ADAPT_FATE_OFFLINE,		/* still there, offline */
	MHP_ADAPT_FATE_ONLINE,		/* someone onlined it since */
	MHP_ADAPT_FATE_REMOVED,		/* its driver removed it */
};

/*
 * Set *fate to what block is now; false (and *fate unchanged) if the
 * module is going away before the device hotplug lock came free.
 */
static bool mhp_adapt_fate_of(unsigned long block, enum mhp_adapt_fate *fate)
{
	struct memory_block *mem;

	if (!mhp_adapt_lock())
		return false;
	*fate = MHP_ADAPT_FATE_REMOVED;
	mem = mhp_find_memory_block(block);
	if (mem) {
		*fate = mem->state == MEM_ONLINE ? MHP_ADAPT_FATE_ONLINE :
						   MHP_ADAPT_FATE_OFFLINE;
		put_device(&mem->dev);
	}
	mhp_unlock_device_hotplug();
	return true;
}

/*
 * A conversion left block offline, and the device hotplug lock is
 * released: give its driver the time to remove it (a driver that refused
 * the onlining for that reason waits for the lock) before calling it
 * stranded. Module exit ends the wait; what the block is then decides.
 */
static void mhp_adapt_settle(unsigned long block)
{
	unsigned long end = jiffies + msecs_to_jiffies(MHP_ADAPT_SETTLE_MS);
	enum mhp_adapt_fate fate = MHP_ADAPT_FATE_OFFLINE;

	for (;;) {
		if (!mhp_adapt_fate_of(block, &fate) ||
		    fate != MHP_ADAPT_FATE_OFFLINE ||
		    READ_ONCE(mhp_adapt_stopping) || time_after(jiffies, end))
			break;
		schedule_timeout_interruptible(MHP_ADAPT_SETTLE_STEP);
	}
	flush_signals(current);

	switch (fate) {
	case MHP_ADAPT_FATE_REMOVED:
		atomic_long_inc(&mhp.adapt.taken);
		pr_info("memory block %lu, left offline by a conversion, was removed by its driver\n",
			block);
		break;
	case MHP_ADAPT_FATE_ONLINE:
		pr_info("memory block %lu, left offline by a conversion, is online again\n",
			block);
		break;
	case MHP_ADAPT_FATE_OFFLINE:
		atomic_long_inc(&mhp.adapt.stranded);
		if (READ_ONCE(mhp_adapt_stopping))
			pr_err("memory block %lu went offline for a conversion and is still offline as the module unloads\n",
			       block);
		else
			pr_err("memory block %lu went offline for a conversion and cannot come online again: it stays offline\n",
			       block);
		break;
	}
}

static void mhp_adapt_act(int nid, enum mhp_adapt_action action,
			  const struct mhp_adapt_params *p,
			  const struct mhp_adapt_node *n,
			  struct mhp_adapt_nodestate *ns)
{
	struct memory_block *refused = NULL;
	struct mhp_policy_decision refusal;
	struct mhp_adapt_cand *c;
	long left = -1;
	int nr;

	c = kvmalloc_array(MHP_ADAPT_CANDS_MAX, sizeof(*c), GFP_KERNEL);
	if (!c)
		return;
	if (!mhp_adapt_lock()) {
		kvfree(c);
		return;
	}
	nr = mhp_adapt_gather(nid, action, c, MHP_ADAPT_CANDS_MAX);
	if (mhp_adapt_try(nid, action, p, n, c, nr, &refusal, &refused,
			  &left)) {
		ns->clock.last_conversion = mhp_adapt_now_ms();
		ns->refusal_logged = false;
	} else if (refused && !ns->refusal_logged) {
		/* Say once why the need could not be met, not every look. */
		mhp_adapt_log(nid, refused, action, &refusal, 0);
		ns->refusal_logged = true;
	}
	if (refused)
		put_device(&refused->dev);
	mhp_unlock_device_hotplug();
	kvfree(c);
	if (left >= 0)
		mhp_adapt_settle(left);
}

static void mhp_adapt_look(void)
{
	struct mhp_adapt_params p;
	struct mhp_adapt_node n;
	enum mhp_adapt_action action;
	int nid;

	rcu_read_lock();
	p = rcu_dereference(mhp.config)->adapt;
	rcu_read_unlock();
	atomic_long_inc(&mhp.adapt.looks);

	for_each_online_node(nid) {
		if (READ_ONCE(mhp_adapt_stopping))
			return;
		memset(&n, 0, sizeof(n));
		mhp_adapt_read_node(nid, &n);
		mhp_adapt_count_ours(nid, &n);
		action = mhp_adapt_assess(&p, &n, &mhp_adapt_nodes[nid].clock,
					  mhp_adapt_now_ms());
		if (action == MHP_ADAPT_NONE) {
			mhp_adapt_nodes[nid].refusal_logged = false;
			continue;
		}
		mhp_adapt_act(nid, action, &p, &n, &mhp_adapt_nodes[nid]);
	}
}

static int mhp_adapt_thread(void *unused)
{
	struct mhp_adapt *a = &mhp.adapt;
	long timeout;

	allow_signal(SIGKILL);
	for (;;) {
		timeout = mhp_adapt_active() ?
			  msecs_to_jiffies(MHP_ADAPT_LOOK_MS) :
			  MAX_SCHEDULE_TIMEOUT;
		wait_event_interruptible_timeout(a->wq, kthread_should_stop() ||
						 test_bit(MHP_ADAPT_KICK, &a->flags),
						 timeout);
		clear_bit(MHP_ADAPT_KICK, &a->flags);
		flush_signals(current);
		if (kthread_should_stop() || READ_ONCE(mhp_adapt_stopping))
			break;
		if (!mhp_adapt_active())
			continue;
		mhp_adapt_look();
		/* Kicks come with every slow-path allocation: pace the looks. */
		schedule_timeout_interruptible(msecs_to_jiffies(MHP_ADAPT_REST_MS));
	}
	return 0;
}

/* Wake the watcher: the policy or its parameters changed. */
void mhp_adapt_wake(void)
{
	set_bit(MHP_ADAPT_KICK, &mhp.adapt.flags);
	wake_up(&mhp.adapt.wq);
}

static_assert(__same_type(&wakeup_kswapd,
			  void (*)(struct zone *, gfp_t, int, enum zone_type)));

/*
 * kswapd is woken for an allocation whose highest usable zone is below
 * ZONE_MOVABLE: the kernel zones are running low. Atomic context.
 */
static int mhp_adapt_kswapd_pre(struct kprobe *kp, struct pt_regs *regs)
{
	enum zone_type highest = regs_get_kernel_argument(regs, 3);
	struct mhp_adapt *a = &mhp.adapt;
	bool adaptive;

	if (highest >= ZONE_MOVABLE || test_bit(MHP_ADAPT_KICK, &a->flags))
		return 0;
	rcu_read_lock();
	adaptive = rcu_dereference(mhp.config)->zone_policy ==
		   MHP_ZONE_POLICY_ADAPTIVE;
	rcu_read_unlock();
	if (adaptive && !test_and_set_bit(MHP_ADAPT_KICK, &a->flags)) {
		atomic_long_inc(&a->kicks);
		wake_up(&a->wq);
	}
	return 0;
}

int mhp_adapt_init(void)
{
	struct mhp_adapt *a = &mhp.adapt;
	struct task_struct *t;
	int ret;

	mhp_adapt_nodes = kcalloc(nr_node_ids, sizeof(*mhp_adapt_nodes),
				  GFP_KERNEL);
	if (!mhp_adapt_nodes)
		return -ENOMEM;
	timer_setup(&a->watchdog, mhp_convert_watchdog_fire, 0);

	if (!mhp_kfuncs_can_convert())
		pr_warn("zone_policy=adaptive cannot convert blocks: %s not found\n",
			mhp_kfuncs_missing());

	a->kswapd_probe.symbol_name = "wakeup_kswapd";
	a->kswapd_probe.pre_handler = mhp_adapt_kswapd_pre;
	ret = register_kprobe(&a->kswapd_probe);
	a->kswapd_probed = !ret;
	if (ret)
		pr_info("no kprobe on wakeup_kswapd (%d): the adaptive policy looks every %d ms only\n",
			ret, MHP_ADAPT_LOOK_MS);

	t = kthread_run(mhp_adapt_thread, NULL, "mhp_adapt");
	if (IS_ERR(t)) {
		ret = PTR_ERR(t);
		goto err_probe;
	}
	WRITE_ONCE(a->task, t);
	return 0;

err_probe:
	if (a->kswapd_probed)
		unregister_kprobe(&a->kswapd_probe);
	kfree(mhp_adapt_nodes);
	return ret;
}

void mhp_adapt_exit(void)
{
	struct mhp_adapt *a = &mhp.adapt;

	WRITE_ONCE(mhp_adapt_stopping, true);
	/* Ends a conversion's offlining at once: it stays online, unchanged. */
	smp_mb();
	send_sig(SIGKILL, a->task, 1);
	kthread_stop(a->task);
	timer_delete_sync(&a->watchdog);
	if (a->kswapd_probed)
		unregister_kprobe(&a->kswapd_probe);
	kfree(mhp_adapt_nodes);
}
