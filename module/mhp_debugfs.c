// SPDX-License-Identifier: GPL-2.0
/*
 * mhp_online: read-only views in /sys/kernel/debug/mhp_online/.
 *
 * The column formats are an interface (documented in the README): one
 * header line starting with '#', then whitespace-separated columns; a
 * free-text column only ever comes last.
 *
 * blocks     one line per memory block seen onlined since load:
 *            block start_pfn node zone state placement pages_buddy
 *            online_us onlines offlines
 *            (online_us: last onlining, from the zone choice in
 *            zone_for_pfn_range() to MEM_ONLINE, so memmap init included)
 * decisions  the last MHP_LOG_NR zone decisions of real onlinings, oldest
 *            first:
 *            seq block start_pfn group group_id node asked zone scope
 *            movable kernel limit need reason...
 *            (sizes in pages; zone "-" and scope "-" when not decided)
 * summary    "key: value" lines: state of the callback, config, counters.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "mhp_online.h"

static int mhp_blocks_show(struct seq_file *m, void *v)
{
	struct mhp_block_rec *rec;
	unsigned long block;

	seq_puts(m, "# block start_pfn node zone state placement pages_buddy online_us onlines offlines\n");
	spin_lock(&mhp.rec_lock);
	xa_for_each(&mhp.blocks, block, rec)
		seq_printf(m, "%lu %#lx %d %s %s %s %lu %llu %u %u\n",
			   rec->block, rec->block * mhp.block_pages, rec->nid,
			   rec->zone, rec->online ? "online" : "offline",
			   mhp_placement_str(rec->placement), rec->pages_buddy,
			   rec->online_us, rec->onlines, rec->offlines);
	spin_unlock(&mhp.rec_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mhp_blocks);

static const char *mhp_group_str(enum mhp_group_kind kind)
{
	switch (kind) {
	case MHP_GROUP_STATIC:
		return "static";
	case MHP_GROUP_DYNAMIC:
		return "dynamic";
	default:
		return "none";
	}
}

static void mhp_decision_show(struct seq_file *m,
			      const struct mhp_decision_rec *r)
{
	const char *zone = "-", *scope = "-", *reason;

	if (r->decided) {
		zone = r->d.zone == MHP_ZONE_MOVABLE ? "Movable" : "Kernel";
		scope = r->d.node_scope ? "node" : "global";
		reason = mhp_policy_reason_str(r->d.reason);
	} else if (r->policy_off) {
		reason = "zone policy off: the kernel chose";
	} else {
		reason = "explicit online type: left as asked";
	}
	seq_printf(m, "%llu %lu %#lx %s %08x %d %s %s %s %lu %lu %lu %lu %s\n",
		   r->seq, r->start_pfn / mhp.block_pages, r->start_pfn,
		   mhp_group_str(r->group_kind), r->group_id, r->nid,
		   mhp_online_type_str(r->online_type), zone, scope,
		   r->d.movable, r->d.kernel, r->d.limit, r->d.need, reason);
}

static int mhp_decisions_show(struct seq_file *m, void *v)
{
	u64 seq, first;

	seq_puts(m, "# seq block start_pfn group group_id node asked zone scope movable kernel limit need reason\n");
	spin_lock_irq(&mhp.log_lock);
	first = mhp.log_seq > MHP_LOG_NR ? mhp.log_seq - MHP_LOG_NR + 1 : 1;
	for (seq = first; seq <= mhp.log_seq; seq++)
		mhp_decision_show(m, &mhp.log[seq % MHP_LOG_NR]);
	spin_unlock_irq(&mhp.log_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mhp_decisions);

static int mhp_summary_show(struct seq_file *m, void *v)
{
	const struct mhp_config *c;

	mutex_lock(&mhp.cb_lock);
	seq_printf(m, "callback: %s\n", mhp_cb_state_str(mhp.cb_state));
	seq_printf(m, "callback_aside_for: %s\n",
		   mhp.cb_aside_for[0] ? mhp.cb_aside_for : "-");
	mutex_unlock(&mhp.cb_lock);

	rcu_read_lock();
	c = rcu_dereference(mhp.config);
	seq_printf(m, "placement: %s\n", mhp_placement_str(c->placement));
	seq_printf(m, "zone_policy: %s\n", mhp_zone_mode_str(c->zone_policy));
	seq_printf(m, "ratio: %u\n", c->policy.ratio);
	seq_printf(m, "numa_aware: %d\n", c->policy.numa_aware);
	seq_printf(m, "kernel_reserve_pages: %lu\n", c->policy.kernel_reserve);
	seq_printf(m, "granule_pages: %lu\n", c->policy.granule);
	rcu_read_unlock();

	seq_printf(m, "block_pages: %lu\n", mhp.block_pages);
	seq_printf(m, "other_groups_counted: %s\n",
		   mhp.walk_groups ? "yes" : mhp.walk_groups_why);
	seq_printf(m, "blocks_onlined: %ld\n", atomic_long_read(&mhp.nr_onlined));
	seq_printf(m, "blocks_offlined: %ld\n", atomic_long_read(&mhp.nr_offlined));
	seq_printf(m, "pages_tail: %ld\n", atomic_long_read(&mhp.pages_tail));
	seq_printf(m, "pages_head: %ld\n", atomic_long_read(&mhp.pages_head));
	seq_printf(m, "pages_untracked: %ld\n",
		   atomic_long_read(&mhp.pages_untracked));
	seq_printf(m, "probe_hits: %ld\n", atomic_long_read(&mhp.probe_hits));
	seq_printf(m, "probe_rewrites: %ld\n",
		   atomic_long_read(&mhp.probe_rewrites));
	seq_printf(m, "probe_sysfs_reads: %ld\n",
		   atomic_long_read(&mhp.probe_sysfs_reads));
	seq_printf(m, "decisions_logged: %llu\n", READ_ONCE(mhp.log_seq));
	seq_printf(m, "record_alloc_failed: %ld\n",
		   atomic_long_read(&mhp.rec_alloc_failed));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mhp_summary);

/* debugfs failures are not fatal: the module works without its views. */
void mhp_debugfs_init(void)
{
	mhp.debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("blocks", 0444, mhp.debugfs, NULL,
			    &mhp_blocks_fops);
	debugfs_create_file("decisions", 0444, mhp.debugfs, NULL,
			    &mhp_decisions_fops);
	debugfs_create_file("summary", 0444, mhp.debugfs, NULL,
			    &mhp_summary_fops);
}

void mhp_debugfs_exit(void)
{
	debugfs_remove_recursive(mhp.debugfs);
}
