/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memmap-chains: the report printers (output.c). They read only what
 * struct mc_report hands them: the analysed graph, the counters of the BPF
 * side, and how the report was asked for.
 */
#ifndef __OUTPUT_H
#define __OUTPUT_H

#include <stdio.h>

#include "graph.h"

/* What the BPF side counted, as the report shows it. */
struct mc_counts {
	__u64 stats[MC_NR_STATS];
	/* events neither a hook nor its nested copy saw; -1 when unknown */
	long long missed[MC_NR_HOOKS];
	unsigned long long max_blocks;	/* entries of the "blocks" map */
};

struct mc_report {
	const struct mc_graph *g;	/* analysed (graph_analyse()) */
	const struct mc_counts *counts;
	const char *mode;		/* fentry, kprobe, pinned or stopped */
	unsigned long long block_size;	/* bytes per memory block */
	int max_chains;			/* chains listed in the text summary */
};

/* Records the BPF side could not keep (maps full). */
unsigned long long dropped_total(const struct mc_counts *c);
void print_text(FILE *f, const struct mc_report *r);
void print_json(FILE *f, const struct mc_report *r);
void print_dot(FILE *f, const struct mc_report *r);
/* v bytes as "1.5 MiB" in buf. */
const char *human(unsigned long long v, char *buf, size_t len);

#endif /* __OUTPUT_H */
