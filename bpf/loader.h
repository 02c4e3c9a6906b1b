/* SPDX-License-Identifier: GPL-2.0 */
/* memmap-chains: loading, attaching, pinning, and the pinned maps (loader.c). */
#ifndef __LOADER_H
#define __LOADER_H

#include <stdbool.h>

#include "graph.h"
#include "ksyms.h"
#include "output.h"

#define MC_LINKS_DIR		MC_PIN_ROOT "/links"

struct memmap_chains_bpf;

/* The BPF state a report reads: map and program fds, and the counters. */
struct state {
	int blocks_fd, pages_fd, stats_fd;
	int hook_fd[MC_NR_HOOKS];	/* the hooks' programs; -1 when not attached */
	struct mc_counts counts;	/* what the report shows of the maps */
};

/* How to load the programs (from the command line and the block size). */
struct mc_load_opts {
	bool fentry;			/* fentry/fexit, else kprobes */
	unsigned long max_blocks;	/* map size asked for; 0: default or pinned */
	unsigned int block_pfn_shift;	/* pfn -> memory block id */
	bool printk;			/* bpf_printk lines in the trace buffer */
	bool events;			/* live lines through the ring buffer */
	bool verbose;
};

/* Each of these says what is wrong (err_msg()) before it fails. */
int preflight_root(void);
int check_kprobes(void);
int preflight_attach(struct mc_ksyms *ksyms);
bool links_pinned(void);
int unpin_dir(const char *dir);
int open_pinned(struct state *st);
struct memmap_chains_bpf *open_load(const struct mc_load_opts *o, const struct mc_ksyms *ksyms,
				    int *errp);
int attach_all(struct memmap_chains_bpf *skel, bool fentry, const struct mc_ksyms *ksyms);
int pin_links(struct memmap_chains_bpf *skel);
/* The pinned records and counters into g (holding the sysfs blocks) and st. */
int read_records(struct state *st, struct mc_graph *g);

#endif /* __LOADER_H */
