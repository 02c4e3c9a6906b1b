// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of memmap-chains' kallsyms reader (bpf/ksyms.c, compiled
 * as is) on made-up /proc/kallsyms texts: function ranges end at the next
 * text symbol, module and data symbols do not count as function starts of
 * ours, the bulk allocator is found under either name, and a kernel the
 * tool cannot trace (a required function missing) or hidden addresses
 * (kptr_restrict) are refused with the reason.
 *
 * Output is KTAP, "N passed, N failed" at the end, non-zero exit status on
 * a failure. MHP_TEST_BREAK adds one wrong expectation (make can-fail).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ktap.h"
#include "ksyms.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* The required functions, with room for what a case adds or leaves out. */
static const char required[] =
	"ffffffff81000000 T _stext\n"
	"ffffffff81100000 T add_memory_resource\n"
	"ffffffff81100400 T arch_add_memory\n"
	"ffffffff81100800 T arch_remove_memory\n"
	"ffffffff81200000 T vmemmap_alloc_block_buf\n"
	"ffffffff81200100 d some_data\n"
	"ffffffff81200200 t next_after_buf\n"
	"ffffffff81300000 T vmemmap_populate\n"
	"ffffffff81300500 T init_memory_mapping\n"
	"ffffffff81300900 t static_helper\n";

static int load(struct mc_ksyms *k, const char *text, char *err, size_t len)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	if (!f)
		return -errno;
	ret = ksyms_load(k, f, err, len);
	fclose(f);
	return ret;
}

static const struct mc_func_range *range_at(const struct mc_ksyms *k, unsigned long long start)
{
	for (unsigned int i = 0; i < k->nr_ranges; i++)
		if (k->ranges[i].start == start)
			return &k->ranges[i];
	return NULL;
}

static void case_ranges(void)
{
	char text[2048], err[256] = "";
	struct mc_ksyms k;
	const struct mc_func_range *r;

	snprintf(text, sizeof(text), "%s%s", required,
		 "ffffffff81400000 T __alloc_pages_bulk\n"
		 "ffffffffc0001000 t vmemmap_pmd_populate\t[some_module]\n");
	ktap_expect(!load(&k, text, err, sizeof(err)), "load: %s", err);
	/* Classifiers: buf, populate, init_memory_mapping; hooks are not. */
	ktap_expect(k.nr_ranges == 3, "3 ranges, got %u", k.nr_ranges);
	r = range_at(&k, 0xffffffff81200000ULL);
	ktap_expect(r && r->kind == MC_KIND_MEMMAP && r->end == 0xffffffff81200200ULL,
	       "vmemmap_alloc_block_buf ends at the next text symbol, not at data");
	r = range_at(&k, 0xffffffff81300500ULL);
	ktap_expect(r && r->kind == MC_KIND_PGTABLE && r->end == 0xffffffff81300900ULL,
	       "init_memory_mapping: pgtable, ends at the static helper");
	ktap_expect(!range_at(&k, 0xffffffffc0001000ULL), "a module's symbol of that name is not ours");
	ktap_expect(k.bulk_func && !strcmp(k.bulk_func, "__alloc_pages_bulk"), "bulk: %s",
	       k.bulk_func ? k.bulk_func : "none");
}

static void case_bulk_renamed_or_missing(void)
{
	char text[2048], err[256] = "";
	struct mc_ksyms k;

	snprintf(text, sizeof(text), "%s%s", required,
		 "ffffffff81400000 T alloc_pages_bulk_noprof\n");
	ktap_expect(!load(&k, text, err, sizeof(err)), "load: %s", err);
	ktap_expect(k.bulk_func && !strcmp(k.bulk_func, "alloc_pages_bulk_noprof"),
	       "6.10+ name found");
	ktap_expect(!load(&k, required, err, sizeof(err)) && !k.bulk_func, "none: NULL, not an error");
	/* The last function's range ends one page on when no symbol follows. */
	ktap_expect(range_at(&k, 0xffffffff81300500ULL)->end == 0xffffffff81300900ULL, "end");
}

static void case_refused(void)
{
	char text[2048], err[256] = "";
	struct mc_ksyms k;
	const char *cut = strstr(required, "ffffffff81300000 T vmemmap_populate\n");

	snprintf(text, sizeof(text), "%.*s%s", (int)(cut - required), required,
		 cut + strlen("ffffffff81300000 T vmemmap_populate\n"));
	ktap_expect(load(&k, text, err, sizeof(err)) == -ENOENT && strstr(err, "vmemmap_populate()"),
	       "missing required function named: %s", err);
	/* What an unprivileged reader sees: every address 0. */
	snprintf(text, sizeof(text), "%s", required);
	for (char *p = text; *p; p = strchr(p, '\n') + 1)
		memset(p, '0', 16);
	ktap_expect(load(&k, text, err, sizeof(err)) == -EPERM && strstr(err, "kptr_restrict"),
	       "hidden addresses refused: %s", err);
}

static const struct ktap_case cases[] = {
	{ "ksyms_ranges", case_ranges },
	{ "ksyms_bulk_renamed_or_missing", case_bulk_renamed_or_missing },
	{ "ksyms_refused", case_refused },
};

int main(void)
{
	return ktap_run(cases, ARRAY_SIZE(cases));
}
