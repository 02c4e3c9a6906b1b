/* SPDX-License-Identifier: GPL-2.0 */
/* memmap-chains: kernel functions from kallsyms (ksyms.c). */
#ifndef __KSYMS_H
#define __KSYMS_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#include "memmap-chains.h"

/* [start, end) of a function whose frames classify an allocation as kind. */
struct mc_func_range {
	unsigned long long start, end;
	int kind;			/* enum mc_kind */
};

struct mc_ksyms {
	struct mc_func_range ranges[MC_MAX_FUNCS];
	unsigned int nr_ranges;
	const char *bulk_func;		/* the bulk page allocator, NULL if none */
};

/*
 * Read kallsyms text (/proc/kallsyms) from f into k. 0; or a negative
 * errno with the reason for the user in err: -ENOENT a required function
 * is missing (not a kernel the tool can trace), -EPERM addresses are
 * hidden (kptr_restrict), -ENOMEM.
 */
int ksyms_load(struct mc_ksyms *k, FILE *f, char *err, size_t errlen);

#endif /* __KSYMS_H */
