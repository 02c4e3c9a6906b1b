// SPDX-License-Identifier: GPL-2.0
/*
 * mhp-workload: a guest workload that uses memory the way servers do.
 *
 * Hot-unplug and zone-balance results mean little on an idle guest. This
 * program makes the kinds of allocations that decide them:
 *  - anonymous memory, touched and rewritten (movable: it can migrate away
 *    from a block being offlined);
 *  - many small files in a tmpfs: shmem pages (movable) plus one dentry and
 *    one inode each (slab: unmovable kernel memory);
 *  - sparse anonymous mappings touched once every 2 MiB: one page-table page
 *    per touch (unmovable kernel memory), so the kernel zones must grow with
 *    the workload.
 * The work is split over worker processes so the OOM killer can pick one;
 * the parent reports how many workers were killed, and how much of each
 * kind the workers really got, as one "key=value" line. Its throughput is
 * the pages the workers wrote (anonymous pages rewritten, file pages
 * written) per second: a zone policy that starves the kernel, or migrates
 * under the workload's feet, shows up there. Workers count into a shared
 * page, so a killed worker's work still counts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MHP_PAGE	4096UL
#define MHP_PMD_SPAN	(2UL << 20)	/* memory one page-table page maps */
/* Look at the clock once per MiB of anonymous memory rewritten. */
#define MHP_CHECK_MASK	((1UL << 20) - 1)

struct mhp_workload {
	unsigned long anon_mb;		/* anonymous memory, all workers together */
	unsigned long files;		/* small tmpfs files, all workers together */
	unsigned long tables_mb;	/* page-table memory to provoke */
	unsigned int procs;		/* worker processes */
	unsigned int seconds;		/* how long to keep rewriting */
	const char *dir;		/* tmpfs folder for the files */
};

static double mhp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void mhp_usage(FILE *f)
{
	fprintf(f,
		"usage: mhp-workload [--anon-mb N] [--files N] [--tables-mb N]\n"
		"                    [--procs N] [--seconds S] [--dir DIR]\n"
		"Allocates anonymous memory, tmpfs files (dentry/inode slab) and page\n"
		"tables, split over --procs workers, keeps rewriting until --seconds\n"
		"have passed (the first round, which allocates, always completes), then\n"
		"prints: workload anon_mb=.. files=.. tables_mb=.. procs=.. seconds=..\n"
		"        killed=.. failed=.. pages=.. pages_per_s=..\n"
		"(pages: 4 KiB pages the workers wrote, anonymous and file)\n"
		"Exit 0 when every worker finished, 3 when any was killed or failed.\n");
}

/*
 * One worker's share; returns 0, or 1 when an allocation was refused.
 * Counts the pages it writes in *pages (shared with the parent).
 */
static int mhp_worker(const struct mhp_workload *w, unsigned int id,
		      volatile unsigned long *pages)
{
	unsigned long anon = (w->anon_mb << 20) / w->procs;
	unsigned long files = w->files / w->procs;
	unsigned long touches = ((w->tables_mb << 20) / MHP_PAGE) / w->procs;
	char path[256], buf[MHP_PAGE];
	unsigned char *a = NULL, *t = NULL;
	double end = mhp_now() + w->seconds;
	unsigned long i, round = 0;
	int fd;

	memset(buf, 'w', sizeof(buf));
	if (anon) {
		a = mmap(NULL, anon, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (a == MAP_FAILED)
			return 1;
	}
	if (touches) {
		t = mmap(NULL, touches * MHP_PMD_SPAN, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (t == MAP_FAILED)
			return 1;
		/* A touch must cost a page-table page, not a 2 MiB THP. */
		madvise(t, touches * MHP_PMD_SPAN, MADV_NOHUGEPAGE);
		for (i = 0; i < touches; i++)
			t[i * MHP_PMD_SPAN] = 1;
	}
	snprintf(path, sizeof(path), "%s/w%u", w->dir, id);
	if (files && mkdir(path, 0700) && errno != EEXIST)
		return 1;
	do {
		/*
		 * The first round allocates everything and always completes;
		 * later rounds stop at the deadline, not at their end: one
		 * round over gigabytes takes minutes in an emulated guest, and
		 * --seconds is what callers budget for.
		 */
		for (i = 0; i < anon; i += MHP_PAGE) {
			a[i] = (unsigned char)(i + round);
			(*pages)++;
			if (round && !(i & MHP_CHECK_MASK) && mhp_now() >= end)
				return 0;
		}
		for (i = 0; i < files; i++) {
			if (round && !(i & 63) && mhp_now() >= end)
				return 0;
			snprintf(path, sizeof(path), "%s/w%u/f%lu.%lu", w->dir, id,
				 i, round & 1);
			fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
			if (fd < 0 || write(fd, buf, sizeof(buf)) < 0) {
				if (fd >= 0)
					close(fd);
				return 1;
			}
			close(fd);
			(*pages)++;
			/* Churn the slab: the other generation's name goes. */
			snprintf(path, sizeof(path), "%s/w%u/f%lu.%lu", w->dir,
				 id, i, (round + 1) & 1);
			unlink(path);
		}
		round++;
	} while (mhp_now() < end);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "anon-mb", required_argument, NULL, 'a' },
		{ "files", required_argument, NULL, 'f' },
		{ "tables-mb", required_argument, NULL, 't' },
		{ "procs", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 's' },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mhp_workload w = { 64, 1000, 8, 4, 10, "/tmp/mhp-workload" };
	unsigned int i, killed = 0, failed = 0;
	volatile unsigned long *pages;
	unsigned long total = 0;
	double start, secs;
	char *end;
	int c, status;
	pid_t pid;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		unsigned long v;

		if (c == 'h') {
			mhp_usage(stdout);
			return 0;
		}
		if (c == 'd') {
			w.dir = optarg;
			continue;
		}
		if (c == '?') {
			mhp_usage(stderr);
			return 2;
		}
		errno = 0;
		v = strtoul(optarg, &end, 10);
		if (errno || *end || *optarg == '-') {
			fprintf(stderr, "mhp-workload: not a number: %s\n", optarg);
			return 2;
		}
		switch (c) {
		case 'a': w.anon_mb = v; break;
		case 'f': w.files = v; break;
		case 't': w.tables_mb = v; break;
		case 'p': w.procs = v; break;
		case 's': w.seconds = v; break;
		}
	}
	if (w.procs == 0) {
		fprintf(stderr, "mhp-workload: --procs must be at least 1\n");
		return 2;
	}
	if (mkdir(w.dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "mhp-workload: %s: %s\n", w.dir, strerror(errno));
		return 2;
	}
	/* One counter per worker, each on its own cache line. */
	pages = mmap(NULL, (size_t)w.procs * 64, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED) {
		fprintf(stderr, "mhp-workload: counters: %s\n", strerror(errno));
		return 2;
	}
	start = mhp_now();
	for (i = 0; i < w.procs; i++) {
		pid = fork();
		if (pid < 0) {
			failed++;
			continue;
		}
		if (pid == 0)
			_exit(mhp_worker(&w, i, pages + i * 8));
	}
	while ((pid = wait(&status)) > 0) {
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			killed++;
		else if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	}
	secs = mhp_now() - start;
	for (i = 0; i < w.procs; i++)
		total += pages[i * 8];
	printf("workload anon_mb=%lu files=%lu tables_mb=%lu procs=%u seconds=%u killed=%u failed=%u pages=%lu pages_per_s=%.0f\n",
	       w.anon_mb, w.files, w.tables_mb, w.procs, w.seconds, killed,
	       failed, total, secs > 0 ? total / secs : 0.0);
	return killed || failed ? 3 : 0;
}
