// SPDX-License-Identifier: GPL-2.0
/*
 * mhp_online: zone choice glue between the kernel and mhp_policy.c.
 *
 * The kernel picks the zone of a block in zone_for_pfn_range(online_type,
 * nid, group, start_pfn, nr_pages). A kprobe pre-handler on it decides for
 * online_type MMOP_ONLINE only, i.e. "online" from sysfs or auto-onlining,
 * and rewrites the argument to MMOP_ONLINE_MOVABLE or MMOP_ONLINE_KERNEL,
 * so the kernel then does exactly what an explicit request would do. An
 * explicit online_kernel/online_movable is never touched; with
 * zone_policy=off nothing is decided at all. The arguments are read with
 * regs_get_kernel_argument() and the first one is rewritten in its
 * register; a static_assert ties both to the kernel's declaration of
 * zone_for_pfn_range(), so a changed prototype fails the build.
 *
 * Without the probe (symbol absent, kprobes unavailable, another ftrace
 * user modifying that function's IP) the module still loads: placement
 * and accounting need no probe, and the summary says the zone policy is
 * unavailable. With kprobes disabled globally
 * (/sys/kernel/debug/kprobes/enabled = 0) the probe is registered but
 * never runs: a canary probe on a function of ours, called on demand,
 * tells that state apart (mhp_zone_probe_check()).
 *
 * The same function answers sysfs valid_zones, so the probe has no side
 * effect beyond a small stash (ring of MHP_STASH_NR decisions keyed by
 * start pfn). The memory notifier takes the stashed decision at
 * MEM_GOING_ONLINE of that block and commits it to the decision log at
 * MEM_ONLINE: the log shows onlinings, not sysfs reads. valid_zones may be
 * read while the same block is being onlined (lsmem during a hot-add), so
 * calls from valid_zones_show()/print_allowed_zone() are told apart by
 * their return address and are not stashed at all; they still get the
 * rewrite, so valid_zones shows what "online" would do.
 *
 * mhp_zone_gather() is the ONE place where kernel numbers (zone counters,
 * memory group fields, online sections of the decision span) are read
 * into the plain struct mhp_policy_request, filled as the kernel's
 * auto_movable_can_online_movable() sees them; the adaptive policy's
 * numbers come from mhp_adapt_gather_online(). Both run in the
 * pre-handler (preemption off): only reads, bounded loops, no sleeping.
 *
 * Other dynamic memory groups (several virtio-mem devices) are counted
 * through the kernel's walk_dynamic_memory_groups() (mhp_kfuncs.c) when a
 * block is really onlined, not for sysfs valid_zones reads: anyone may
 * read that file, and the walk dereferences groups that
 * memory_group_unregister() frees without RCU. Reads count the groups
 * from a snapshot (mhp_zone_groups_snapshot()) that the memory notifier
 * takes at every MEM_ONLINE and MEM_OFFLINE, in the onlining's context
 * like the kernel's own walk: present pages of a group change only
 * there, so a read answers as the onlining would. With more groups than
 * MHP_GROUPS_NR, reads count none (the onlining itself still walks all).
 * A read costs a bounded amount of work: the zones of the online nodes, at
 * most MHP_GROUPS_NR snapshot entries and MHP_POLICY_GRANULE_MAX_BLOCKS
 * sections of the decision span.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kallsyms.h>
#include <linux/ktime.h>
#include <linux/memory_hotplug.h>
#include <linux/mmzone.h>
#include <linux/nodemask.h>
#include <linux/random.h>

#include "mhp_online.h"

const char *mhp_online_type_str(int online_type)
{
	switch (online_type) {
	case MMOP_ONLINE:
		return "online";
	case MMOP_ONLINE_KERNEL:
		return "online_kernel";
	case MMOP_ONLINE_MOVABLE:
		return "online_movable";
	default:
		return "other";
	}
}

/* One node's zones, as auto_movable_stats_account_zone() counts them. */
static void mhp_scope_add_node(struct mhp_policy_scope *s, int nid)
{
	pg_data_t *pgdat = NODE_DATA(nid);
	struct zone *zone;
	int i;

	if (!pgdat)
		return;
	for (i = 0; i < MAX_NR_ZONES; i++) {
		zone = pgdat->node_zones + i;
		if (!populated_zone(zone))
			continue;
		if (i == ZONE_MOVABLE) {
			s->movable += zone->present_pages;
			continue;
		}
		s->kernel_early += zone->present_early_pages;
#ifdef CONFIG_CMA
		s->cma += zone->cma_pages;
#endif
	}
}

struct mhp_groups_acc {
	unsigned int ratio;
	struct mhp_policy_scope *scope;
};

static int mhp_group_account(struct memory_group *g, void *arg)
{
	struct mhp_groups_acc *acc = arg;

	acc->scope->groups_movable += g->present_movable_pages;
	acc->scope->groups_need +=
		mhp_policy_group_need(acc->ratio, g->present_movable_pages,
				      g->present_kernel_pages);
	return 0;
}

static void mhp_scope_add_groups(struct mhp_policy_scope *s, int nid,
				 struct memory_group *self, unsigned int ratio)
{
	struct mhp_groups_acc acc = { .ratio = ratio, .scope = s };

	mhp_walk_dynamic_groups(nid, mhp_group_account, self, &acc);
}

static int mhp_group_snap_one(struct memory_group *g, void *arg)
{
	struct mhp_group_snap *e;

	if (mhp.nr_groups == MHP_GROUPS_NR) {
		mhp.groups_full = true;
		return -ENOSPC;
	}
	e = &mhp.groups[mhp.nr_groups++];
	e->key = (unsigned long)g;
	e->nid = g->nid;
	e->movable = g->present_movable_pages;
	e->kernel = g->present_kernel_pages;
	return 0;
}

/*
 * Memory notifier (MEM_ONLINE, MEM_OFFLINE) and module init: copy what the
 * sysfs reads need of every dynamic group.
 */
void mhp_zone_groups_snapshot(void)
{
	unsigned long flags;

	spin_lock_irqsave(&mhp.groups_lock, flags);
	mhp.nr_groups = 0;
	mhp.groups_full = false;
	mhp_walk_dynamic_groups(NUMA_NO_NODE, mhp_group_snap_one, NULL, NULL);
	spin_unlock_irqrestore(&mhp.groups_lock, flags);
}

/* The snapshot's groups of node nid (any: NUMA_NO_NODE), self left out. */
static void mhp_scope_add_snap(struct mhp_policy_scope *s, int nid,
			       struct memory_group *self, unsigned int ratio)
{
	const struct mhp_group_snap *e;
	unsigned long flags;
	unsigned int i;

	spin_lock_irqsave(&mhp.groups_lock, flags);
	for (i = 0; i < mhp.nr_groups && !mhp.groups_full; i++) {
		e = &mhp.groups[i];
		if (e->key == (unsigned long)self ||
		    (nid != NUMA_NO_NODE && e->nid != nid))
			continue;
		s->groups_movable += e->movable;
		s->groups_need += mhp_policy_group_need(ratio, e->movable,
							e->kernel);
	}
	spin_unlock_irqrestore(&mhp.groups_lock, flags);
}

/* Online pages per zone kind in the aligned span, the block itself left out. */
static void mhp_span_count(struct mhp_policy_request *r, unsigned long span)
{
	unsigned long base = r->start_pfn - r->start_pfn % span;
	unsigned long end = r->start_pfn + r->nr_pages;
	unsigned long pfn;
	struct page *page;

	for (pfn = base; pfn < base + span; pfn += PAGES_PER_SECTION) {
		if (pfn >= r->start_pfn && pfn < end)
			continue;
		page = pfn_to_online_page(pfn);
		if (!page)
			continue;
		if (page_zonenum(page) == ZONE_MOVABLE)
			r->span_movable += PAGES_PER_SECTION;
		else
			r->span_kernel += PAGES_PER_SECTION;
	}
}

/* The other dynamic groups: walked live, or from the snapshot. */
static void mhp_scope_add_others(struct mhp_policy_scope *s, int nid,
				 struct memory_group *self, unsigned int ratio,
				 bool walk_groups)
{
	if (walk_groups)
		mhp_scope_add_groups(s, nid, self, ratio);
	else
		mhp_scope_add_snap(s, nid, self, ratio);
}

/* walk_groups: walk the live groups (never for sysfs reads). */
static void mhp_zone_gather(const struct mhp_policy_params *p, int nid,
			    struct memory_group *group, unsigned long start_pfn,
			    unsigned long nr_pages, bool walk_groups,
			    struct mhp_policy_request *r)
{
	unsigned long span;
	int n;

	memset(r, 0, sizeof(*r));
	r->start_pfn = start_pfn;
	r->nr_pages = nr_pages;

	for_each_online_node(n)
		mhp_scope_add_node(&r->global, n);
	mhp_scope_add_others(&r->global, NUMA_NO_NODE, group, p->ratio,
			     walk_groups);
	if (nid >= 0 && nid < MAX_NUMNODES) {
		mhp_scope_add_node(&r->node, nid);
		mhp_scope_add_others(&r->node, nid, group, p->ratio,
				     walk_groups);
	} else {
		r->node = r->global;
	}

	if (group) {
		r->group_kind = group->is_dynamic ? MHP_GROUP_DYNAMIC :
						    MHP_GROUP_STATIC;
		if (group->is_dynamic)
			r->group_unit_pages = group->d.unit_pages;
		else
			r->group_max_pages = group->s.max_pages;
		r->group_kernel = group->present_kernel_pages;
		r->group_movable = group->present_movable_pages;
	}

	span = mhp_policy_span_pages(p, r->group_kind, r->group_unit_pages,
				     nr_pages);
	if (span)
		mhp_span_count(r, span);
}

static void mhp_stash_put(const struct mhp_decision_rec *rec)
{
	unsigned long flags;
	unsigned int i;

	spin_lock_irqsave(&mhp.stash_lock, flags);
	/* Same block asked again (valid_zones): replace, keep the ring short. */
	for (i = 0; i < MHP_STASH_NR; i++)
		if (mhp.stash[i].nr_pages &&
		    mhp.stash[i].start_pfn == rec->start_pfn)
			break;
	if (i == MHP_STASH_NR) {
		i = mhp.stash_next;
		mhp.stash_next = (i + 1) % MHP_STASH_NR;
	}
	mhp.stash[i] = *rec;
	spin_unlock_irqrestore(&mhp.stash_lock, flags);
}

/* The decision for the block containing pfn, removed from the stash. */
bool mhp_stash_take(unsigned long pfn, struct mhp_decision_rec *out)
{
	struct mhp_decision_rec *s;
	unsigned long flags;
	bool found = false;
	unsigned int i;

	spin_lock_irqsave(&mhp.stash_lock, flags);
	for (i = 0; i < MHP_STASH_NR; i++) {
		s = &mhp.stash[i];
		if (s->nr_pages && pfn >= s->start_pfn &&
		    pfn < s->start_pfn + s->nr_pages) {
			*out = *s;
			s->nr_pages = 0;
			found = true;
			break;
		}
	}
	spin_unlock_irqrestore(&mhp.stash_lock, flags);
	return found;
}

void mhp_log_commit(struct mhp_decision_rec *rec)
{
	unsigned long flags;

	spin_lock_irqsave(&mhp.log_lock, flags);
	rec->seq = ++mhp.log_seq;
	mhp.log[rec->seq % MHP_LOG_NR] = *rec;
	spin_unlock_irqrestore(&mhp.log_lock, flags);
}

/* Return addresses seen in the probe: sysfs read or not, found by name. */
#define MHP_CALLERS_NR	8
static struct {
	spinlock_t lock;		/* guards the table and name */
	unsigned long addr[MHP_CALLERS_NR];
	bool sysfs[MHP_CALLERS_NR];
	char name[KSYM_SYMBOL_LEN];
} mhp_callers = { .lock = __SPIN_LOCK_UNLOCKED(mhp_callers.lock) };

static bool mhp_caller_is_sysfs_read(unsigned long ret)
{
	unsigned long flags;
	bool sysfs;
	unsigned int i;

	spin_lock_irqsave(&mhp_callers.lock, flags);
	for (i = 0; i < MHP_CALLERS_NR && mhp_callers.addr[i]; i++)
		if (mhp_callers.addr[i] == ret)
			goto out;
	sprint_symbol_no_offset(mhp_callers.name, ret);
	sysfs = str_has_prefix(mhp_callers.name, "valid_zones_show") ||
		str_has_prefix(mhp_callers.name, "print_allowed_zone");
	if (i == MHP_CALLERS_NR) {	/* table full: answer, do not cache */
		spin_unlock_irqrestore(&mhp_callers.lock, flags);
		return sysfs;
	}
	mhp_callers.addr[i] = ret;
	mhp_callers.sysfs[i] = sysfs;
out:
	sysfs = mhp_callers.sysfs[i];
	spin_unlock_irqrestore(&mhp_callers.lock, flags);
	return sysfs;
}

/*
 * The probe reads and rewrites the arguments of this very prototype, in
 * the x86-64 argument registers: a change of the kernel's declaration must
 * fail the build here. The kernel passes online_type with the type of
 * struct memory_block's field (int on 6.1, enum mmop on 6.12).
 */
#ifndef CONFIG_X86_64
#error "mhp_online's zone probe reads x86-64 argument registers"
#endif
#define MHP_ONLINE_TYPE typeof_member(struct memory_block, online_type)
typedef struct zone *(mhp_zone_for_pfn_range_t)(MHP_ONLINE_TYPE online_type,
	int nid, struct memory_group *group, unsigned long start_pfn,
	unsigned long nr_pages);
static_assert(__same_type(&zone_for_pfn_range, mhp_zone_for_pfn_range_t *));

/* Keyed: the id is stable within a boot and tells nothing of the address. */
u32 mhp_group_id(const struct memory_group *group)
{
	if (!group)
		return 0;
	return (u32)siphash_1u64((u64)(unsigned long)group, &mhp.group_key) | 1;
}

/* Decide under the policy in force; false if it is not ours to decide. */
static bool mhp_zone_decide(const struct mhp_config *c,
			    struct memory_group *group, bool sysfs_read,
			    struct mhp_decision_rec *rec)
{
	struct mhp_adapt_online_req areq = {};
	struct mhp_policy_request req;

	switch (c->zone_policy) {
	case MHP_ZONE_POLICY_RATIO:
		mhp_zone_gather(&c->policy, rec->nid, group, rec->start_pfn,
				rec->nr_pages, !sysfs_read, &req);
		mhp_policy_decide(&c->policy, &req, &rec->d);
		return true;
	case MHP_ZONE_POLICY_ADAPTIVE:
		mhp_adapt_gather_online(rec->nid, &areq);
		areq.group_kind = rec->group_kind;
		if (group)
			areq.group_kernel = group->present_kernel_pages;
		mhp_adapt_online_decide(&c->adapt, &areq, &rec->d);
		return true;
	case MHP_ZONE_POLICY_OFF:
		break;
	}
	return false;
}

static int mhp_zone_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct memory_group *group =
		(struct memory_group *)regs_get_kernel_argument(regs, 2);
	const struct mhp_config *c;
	bool sysfs_read;
	struct mhp_decision_rec rec = {
		.online_type = (int)regs_get_kernel_argument(regs, 0),
		.nid = (int)regs_get_kernel_argument(regs, 1),
		.start_pfn = regs_get_kernel_argument(regs, 3),
		.nr_pages = regs_get_kernel_argument(regs, 4),
		.group_id = mhp_group_id(group),
		.t_ns = ktime_get_ns(),
		/* The adaptive watcher onlines its conversions itself. */
		.conversion = current == READ_ONCE(mhp.adapt.task),
	};

	atomic_long_inc(&mhp.probe_hits);
	if (group)
		rec.group_kind = group->is_dynamic ? MHP_GROUP_DYNAMIC :
						     MHP_GROUP_STATIC;
	/* At function entry the return address is on top of the stack. */
	sysfs_read = mhp_caller_is_sysfs_read(regs_get_kernel_stack_nth(regs, 0));

	rcu_read_lock();
	c = rcu_dereference(mhp.config);
	rec.mode = c->zone_policy;
	if (rec.online_type == MMOP_ONLINE)
		rec.decided = mhp_zone_decide(c, group, sysfs_read, &rec);
	rcu_read_unlock();

	if (rec.decided) {
		regs->di = rec.d.zone == MHP_ZONE_MOVABLE ?
			   MMOP_ONLINE_MOVABLE : MMOP_ONLINE_KERNEL;
		atomic_long_inc(&mhp.probe_rewrites);
	}
	if (sysfs_read)
		atomic_long_inc(&mhp.probe_sysfs_reads);
	else
		mhp_stash_put(&rec);
	return 0;
}

/*
 * The canary: a function of ours with a kprobe on it. If calling it does
 * not run the handler, kprobes are disabled globally and the zone probe
 * does not run either.
 */
static noinline void mhp_zone_canary(void)
{
	barrier();
}

static int mhp_zone_canary_pre(struct kprobe *kp, struct pt_regs *regs)
{
	atomic_long_inc(&mhp.canary_hits);
	return 0;
}

/* Is the zone probe in force now? Process context. */
enum mhp_probe_state mhp_zone_probe_check(void)
{
	enum mhp_probe_state state, old = READ_ONCE(mhp.probe_state);
	long hits;

	if (old == MHP_PROBE_NONE)
		return old;
	hits = atomic_long_read(&mhp.canary_hits);
	mhp_zone_canary();
	state = atomic_long_read(&mhp.canary_hits) != hits ?
		MHP_PROBE_ARMED : MHP_PROBE_DISARMED;
	if (state != old && cmpxchg(&mhp.probe_state, old, state) == old) {
		if (state == MHP_PROBE_DISARMED)
			pr_warn("kprobes are disabled (debugfs kprobes/enabled): the zone policy does not apply to blocks onlined now\n");
		else
			pr_info("kprobes are enabled again: the zone policy applies\n");
	}
	return state;
}

int mhp_zone_init(void)
{
	int ret;

	get_random_bytes(&mhp.group_key, sizeof(mhp.group_key));
	if (!mhp_kfuncs_can_walk_groups())
		pr_warn("other dynamic memory groups are not counted by the ratio policy\n");
	/*
	 * The same walk as the kernel's at every onlining, once more here:
	 * memory_group_unregister() takes no lock a walker could take, and
	 * frees only groups without memory blocks, of a driver going away.
	 */
	mhp_zone_groups_snapshot();

	mhp.canary_probe.addr = (kprobe_opcode_t *)mhp_zone_canary;
	mhp.canary_probe.pre_handler = mhp_zone_canary_pre;
	ret = register_kprobe(&mhp.canary_probe);
	if (ret) {
		pr_warn("cannot probe our own canary (%d): kprobes look unavailable\n",
			ret);
		goto no_probe;
	}

	mhp.zone_probe.symbol_name = "zone_for_pfn_range";
	mhp.zone_probe.pre_handler = mhp_zone_pre;
	ret = register_kprobe(&mhp.zone_probe);
	if (ret) {
		unregister_kprobe(&mhp.canary_probe);
		goto no_probe;
	}
	mhp.probe_state = MHP_PROBE_ARMED;
	mhp_zone_probe_check();
	return 0;

no_probe:
	mhp.probe_state = MHP_PROBE_NONE;
	mhp.probe_err = ret;
	pr_warn("cannot probe zone_for_pfn_range (%d): the zone policy is unavailable; placement and accounting work\n",
		ret);
	return 0;
}

void mhp_zone_exit(void)
{
	if (mhp.probe_state == MHP_PROBE_NONE)
		return;
	unregister_kprobe(&mhp.zone_probe);
	unregister_kprobe(&mhp.canary_probe);
}
