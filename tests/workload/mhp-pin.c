// SPDX-License-Identifier: GPL-2.0
/*
 * mhp-pin: keep a page of a given physical range busy, so that offlining
 * the memory block it lies in keeps retrying.
 *
 * offline_pages() migrates every page off a block and retries, holding the
 * device hotplug lock, until the migration succeeds or the writer gets a
 * signal. A page that is movable but cannot be migrated now (an anonymous
 * page with an extra reference: the kernel's page migration wants the
 * reference count it expects) makes that an endless retry. A vmsplice()
 * into a pipe that nobody reads holds exactly such a reference, as long
 * as the pipe is open. Guest tests use this to hold the kernel's lock for
 * as long as they like, the way a busy page did under stress.
 *
 * Usage: mhp-pin START_PFN NR_PAGES [MIB]
 * Touches MIB (default 64) of anonymous memory, finds one of its pages in
 * [START_PFN, START_PFN + NR_PAGES) through /proc/self/pagemap (root sees
 * the frame numbers), splices it into a pipe, prints "pinned PFN", and
 * waits for a signal. Exit 1 if no page landed in the range.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define MHP_PAGE		4096UL
#define MHP_PM_PRESENT		(1ULL << 63)
#define MHP_PM_PFN_MASK		((1ULL << 55) - 1)

/* The first page of buf (len bytes) whose frame is in [lo, hi); -1 if none. */
static long mhp_find_page(const char *buf, unsigned long len, uint64_t lo, uint64_t hi,
			  uint64_t *pfn)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	unsigned long i;
	uint64_t e;

	if (fd < 0) {
		perror("mhp-pin: /proc/self/pagemap");
		return -1;
	}
	for (i = 0; i < len / MHP_PAGE; i++) {
		off_t off = (off_t)((uintptr_t)buf / MHP_PAGE + i) * sizeof(e);

		if (pread(fd, &e, sizeof(e), off) != sizeof(e))
			break;
		if (!(e & MHP_PM_PRESENT))
			continue;
		*pfn = e & MHP_PM_PFN_MASK;
		if (*pfn >= lo && *pfn < hi) {
			close(fd);
			return (long)i;
		}
	}
	close(fd);
	return -1;
}

int main(int argc, char **argv)
{
	unsigned long mib, len, i;
	uint64_t lo, nr, pfn = 0;
	struct iovec iov;
	int pipefd[2];
	long page;
	char *buf;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: mhp-pin START_PFN NR_PAGES [MIB]\n");
		return 2;
	}
	lo = strtoull(argv[1], NULL, 0);
	nr = strtoull(argv[2], NULL, 0);
	mib = argc > 3 ? strtoul(argv[3], NULL, 0) : 64;
	len = mib << 20;
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("mhp-pin: mmap");
		return 1;
	}
	for (i = 0; i < len; i += MHP_PAGE)
		buf[i] = 1;
	page = mhp_find_page(buf, len, lo, lo + nr, &pfn);
	if (page < 0) {
		fprintf(stderr, "mhp-pin: none of %lu MiB landed in pfn %#llx+%#llx\n", mib,
			(unsigned long long)lo, (unsigned long long)nr);
		return 1;
	}
	if (pipe(pipefd)) {
		perror("mhp-pin: pipe");
		return 1;
	}
	iov.iov_base = buf + page * MHP_PAGE;
	iov.iov_len = MHP_PAGE;
	if (vmsplice(pipefd[1], &iov, 1, 0) != (ssize_t)MHP_PAGE) {
		perror("mhp-pin: vmsplice");
		return 1;
	}
	printf("pinned %#llx\n", (unsigned long long)pfn);
	fflush(stdout);
	pause();
	return 0;
}
