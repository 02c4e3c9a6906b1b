// SPDX-License-Identifier: GPL-2.0
/*
 * mhp_online: read-only views in /sys/kernel/debug/mhp_online/.
 *
 * The column formats are an interface (documented in docs/module.md): one
 * header line starting with '#', then whitespace-separated columns; a
 * free-text column only ever comes last.
 *
 * blocks     one line per memory block seen onlined since load:
 *            block start_pfn node zone state placement pages_buddy
 *            online_us onlines offlines owner to_kernel to_movable
 *            pages_offline pages_unmovable
 *            (online_us: last onlining, from the zone choice in
 *            zone_for_pfn_range() to MEM_ONLINE, so memmap init included;
 *            owner: who chose the zone; to_kernel/to_movable: conversions
 *            by the adaptive policy; pages_offline: PageOffline pages of an
 *            online block now, the parts virtio-mem has not plugged or a
 *            balloon holds; pages_unmovable: pages that would make
 *            offlining it fail now (mhp_census.c); both -1 for an offline
 *            block, or for all blocks when the memmap cannot be read
 *            safely: the device hotplug lock not found or held by the
 *            kernel for longer than MHP_CENSUS_LOCK_WAIT_MS)
 * decisions  the last MHP_LOG_NR zone decisions of real onlinings and of
 *            the adaptive policy's conversions, oldest first:
 *            seq block start_pfn group group_id node asked zone scope
 *            movable kernel limit need reason...
 *            (sizes in pages; zone "-" and scope "-" when not decided;
 *            asked "convert" for a conversion)
 * summary    "key: value" lines: state of the callback and the probe,
 *            config, counters.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/memory_hotplug.h>
#include <linux/seq_file.h>

#include "mhp_online.h"

/*
 * How long a read of blocks waits for the device hotplug lock before it
 * shows no census. The kernel holds the lock while it onlines or offlines
 * a block, and as long as an offline_pages() keeps retrying (seconds under
 * load): a reader must not hang there with its file, and so the module,
 * held.
 */
#define MHP_CENSUS_LOCK_WAIT_MS	200

static int mhp_blocks_show(struct seq_file *m, void *v)
{
	struct mhp_block_rec *rec, r;
	struct mhp_census c;
	unsigned long block;
	long offline, unmovable;
	bool locked;

	seq_puts(m, "# block start_pfn node zone state placement pages_buddy online_us onlines offlines owner to_kernel to_movable pages_offline pages_unmovable\n");
	/* Without the lock the memmap cannot be read safely. */
	locked = mhp_trylock_device_hotplug(MHP_CENSUS_LOCK_WAIT_MS);
	xa_for_each(&mhp.blocks, block, rec) {
		spin_lock(&mhp.rec_lock);
		r = *rec;
		spin_unlock(&mhp.rec_lock);
		offline = -1;
		unmovable = -1;
		if (locked && r.online) {
			mhp_block_census(r.start_pfn, r.nr_pages, &c);
			offline = c.offline;
			unmovable = c.unmovable;
		}
		seq_printf(m, "%lu %#lx %d %s %s %s %lu %llu %u %u %s %u %u %ld %ld\n",
			   r.block, r.block * mhp.block_pages, r.nid, r.zone,
			   r.online ? "online" : "offline",
			   mhp_placement_str(r.placement), r.pages_buddy,
			   r.online_us, r.onlines, r.offlines,
			   mhp_block_owner_str(r.owner), r.to_kernel,
			   r.to_movable, offline, unmovable);
		cond_resched();
	}
	if (locked)
		mhp_unlock_device_hotplug();
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

/* The adaptive policy's reasons that name the node. */
static bool mhp_reason_names_node(enum mhp_policy_reason reason)
{
	return reason == MHP_REASON_HEADROOM_LOW ||
	       reason == MHP_REASON_HEADROOM_BACK;
}

/* A conversion the policy wanted but refused for every candidate. */
static bool mhp_reason_is_refusal(enum mhp_policy_reason reason)
{
	return reason == MHP_REASON_NO_ROOM_TO_MIGRATE ||
	       reason == MHP_REASON_HAS_UNMOVABLE ||
	       reason == MHP_REASON_HEADROOM_WOULD_DROP;
}

static void mhp_decision_reason(struct seq_file *m,
				const struct mhp_decision_rec *r)
{
	const char *reason = mhp_policy_reason_str(r->d.reason);

	if (r->cancelled)
		seq_puts(m, "onlining cancelled by a memory notifier: ");
	if (!r->decided) {
		seq_puts(m, r->mode == MHP_ZONE_POLICY_OFF ?
			 "zone policy off: the kernel chose" :
			 "explicit online type: left as asked");
		return;
	}
	if (r->conversion && mhp_reason_is_refusal(r->d.reason)) {
		seq_printf(m, "no block converted, the best candidate refused: %s",
			   reason);
		return;
	}
	if (r->err)
		seq_printf(m, "conversion failed (%d): ", r->err);
	seq_puts(m, reason);
	if (mhp_reason_names_node(r->d.reason))
		seq_printf(m, " %d", r->nid);
}

static void mhp_decision_show(struct seq_file *m,
			      const struct mhp_decision_rec *r)
{
	const char *zone = "-", *scope = "-";

	if (r->decided) {
		zone = r->d.zone == MHP_ZONE_MOVABLE ? "Movable" : "Kernel";
		scope = r->d.node_scope ? "node" : "global";
	}
	seq_printf(m, "%llu %lu %#lx %s %08x %d %s %s %s %lu %lu %lu %lu ",
		   r->seq, r->start_pfn / mhp.block_pages, r->start_pfn,
		   mhp_group_str(r->group_kind), r->group_id, r->nid,
		   r->conversion ? "convert" :
		   mhp_online_type_str(r->online_type), zone, scope,
		   r->d.movable, r->d.kernel, r->d.limit, r->d.need);
	mhp_decision_reason(m, r);
	seq_putc(m, '\n');
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

static void mhp_summary_counter(struct seq_file *m, const char *key,
				atomic_long_t *v)
{
	seq_printf(m, "%s: %ld\n", key, atomic_long_read(v));
}

static int mhp_summary_show(struct seq_file *m, void *v)
{
	enum mhp_probe_state probe = mhp_zone_probe_check();
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
	seq_printf(m, "kernel_headroom_pages: %lu\n", c->adapt.headroom);
	seq_printf(m, "adaptive_calm_ms: %u\n", c->adapt.calm_ms);
	seq_printf(m, "adaptive_gap_ms: %u\n", c->adapt.gap_ms);
	seq_printf(m, "fresh_reported: %d\n", c->fresh_reported);
	rcu_read_unlock();

	seq_printf(m, "zone_probe: %s\n", mhp_probe_state_str(probe));
	seq_printf(m, "zone_probe_error: %d\n", mhp.probe_err);
	seq_printf(m, "block_pages: %lu\n", mhp.block_pages);
	seq_printf(m, "other_groups_counted: %s\n",
		   mhp_kfuncs_can_walk_groups() ? "yes" :
		   "no: walk_dynamic_memory_groups not found");
	seq_printf(m, "adaptive_converts: %s\n",
		   mhp_kfuncs_can_convert() ? "yes" : mhp_kfuncs_missing());
	seq_printf(m, "adaptive_kswapd_probe: %s\n",
		   mhp.adapt.kswapd_probed ? "yes" : "no");
	mhp_summary_counter(m, "blocks_onlined", &mhp.nr_onlined);
	mhp_summary_counter(m, "blocks_offlined", &mhp.nr_offlined);
	mhp_summary_counter(m, "pages_tail", &mhp.pages_tail);
	mhp_summary_counter(m, "pages_head", &mhp.pages_head);
	mhp_summary_counter(m, "pages_untracked", &mhp.pages_untracked);
	mhp_summary_counter(m, "pages_released_late", &mhp.pages_released_late);
	seq_printf(m, "page_reporting: %s\n",
		   mhp_report_state_str(mhp_report_state()));
	mhp_summary_counter(m, "pages_fresh_reported", &mhp.pages_fresh_reported);
	mhp_summary_counter(m, "probe_hits", &mhp.probe_hits);
	mhp_summary_counter(m, "probe_rewrites", &mhp.probe_rewrites);
	mhp_summary_counter(m, "probe_sysfs_reads", &mhp.probe_sysfs_reads);
	seq_printf(m, "decisions_logged: %llu\n", READ_ONCE(mhp.log_seq));
	mhp_summary_counter(m, "record_alloc_failed", &mhp.rec_alloc_failed);
	mhp_summary_counter(m, "adaptive_to_kernel", &mhp.adapt.to_kernel);
	mhp_summary_counter(m, "adaptive_to_movable", &mhp.adapt.to_movable);
	mhp_summary_counter(m, "adaptive_failed", &mhp.adapt.failed);
	mhp_summary_counter(m, "adaptive_taken_by_driver", &mhp.adapt.taken);
	mhp_summary_counter(m, "adaptive_stranded", &mhp.adapt.stranded);
	mhp_summary_counter(m, "adaptive_looks", &mhp.adapt.looks);
	mhp_summary_counter(m, "adaptive_kicks", &mhp.adapt.kicks);
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
